//! Differential tests: whenever the fast YAML path accepts a text, its result must equal the
//! full parser's (values, document lines, empty flags, and error-ness).

use kpipe::yaml::{parse_stream_fast, parse_stream_slow, Limits};
use std::path::Path;

mod common;
use common::{corpus as corpus_dir, yaml_files};

/// Compares both paths on `text`; returns the number of documents when the fast path took it.
fn check(text: &str, limits: Limits) -> Option<usize> {
    let fast = parse_stream_fast(text, limits)?;
    let slow = parse_stream_slow(text, limits);
    match (&fast, &slow) {
        (Ok(f), Ok(s)) => {
            assert_eq!(f.len(), s.len(), "document count differs for {text:?}");
            for (i, (a, b)) in f.iter().zip(s).enumerate() {
                assert_eq!(a.value, b.value, "doc {i} value differs for {text:?}");
                assert_eq!(a.line, b.line, "doc {i} line differs for {text:?}");
                assert_eq!(a.empty, b.empty, "doc {i} empty flag differs for {text:?}");
            }
            Some(f.len())
        }
        (Err(_), Err(_)) => Some(0),
        _ => panic!("fast {fast:?} vs slow {slow:?} for {text:?}"),
    }
}

#[test]
fn corpus_and_fixtures_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join("fixtures"), &mut files);
    if let Some(dir) = corpus_dir() {
        yaml_files(&dir, &mut files);
    }
    let (mut fast_files, mut fast_docs, mut slow_files) = (0, 0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        match check(&text, Limits::default()) {
            Some(n) => {
                fast_files += 1;
                fast_docs += n;
            }
            None => {
                slow_files += 1;
                println!("slow path: {}", f.display());
            }
        }
        // Every prefix cut at a line end must agree too (truncated files, partial documents).
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        for k in (0..ends.len()).step_by(ends.len() / 16 + 1) {
            check(&text[..ends[k]], Limits::default());
            check(&text[..ends[k] + 1], Limits::default());
        }
    }
    println!(
        "{} files: {fast_files} on the fast path ({fast_docs} documents), {slow_files} fell back",
        files.len()
    );
    assert!(fast_files > 0);
}

#[test]
fn rendered_example_takes_the_fast_path() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions.yaml");
    let mut s = String::new();
    for i in 0..50 {
        s.push_str(&format!(
            "- session_name: user{i:04}\n  ingress_domain: ml.example.com\n"
        ));
    }
    std::fs::write(&sessions, s).unwrap();
    let out = assert_cmd::Command::cargo_bin("kpipe")
        .unwrap()
        .arg("render")
        .arg(root.join("fixtures/ml-pipeline"))
        .arg("--sessions")
        .arg(&sessions)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = check(&text, Limits::default()).expect("rendered output must take the fast path");
    println!("rendered example: {docs} documents on the fast path");
    assert_eq!(docs, 200, "four documents per session");
}

// ---------------------------------------------------------------------------------------------
// Generated texts

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "on",
    "y",
    "no",
    "0600",
    "1e3",
    "key with space",
    "\"quoted key\"",
    "'single'",
    "\"a: b\"",
    "a:b",
    "http://x",
    "-dash",
    "é",
    "a#b",
    "~",
    "null",
    "\"\"",
    "x.y/z",
    "app.kubernetes.io/name",
    "<<",
    "a ",
    "'it''s'",
];

const SCALARS: &[&str] = &[
    "x",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "~",
    "null",
    "0600",
    "09",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "-1",
    "+1",
    "1e3",
    "1.5",
    ".5",
    "-.inf",
    ".NaN",
    "12:30",
    "2001-12-14",
    "\"a#b\"",
    "a#b",
    "'it''s'",
    "\"a: b\"",
    "'- x'",
    "\"\\t\\n\\\\ \\\" \\x41 \\u00e9 \\U0001F600 \\/ \\ \\e \\0\"",
    "\"\\q\"",
    "\"\\ud800\"",
    "'unterminated",
    "\"\"",
    "''",
    "-c",
    "--flag=1",
    "mlflow_entry=\"{{inputs.parameters.x}}\"",
    "a b  c",
    "a: b",
    "a:",
    "a - b",
    "- x",
    "[a, b]",
    "[]",
    "{}",
    "{a: 1, b: \"x\"}",
    "[1, [2, [3]], {k: v}]",
    "{\"a\":1}",
    "{a:1}",
    "[a: b]",
    "[a, ]",
    "[-1, -x]",
    "[a b, 'c d']",
    "{a: [1, 2], b: {c: d}}",
    "[a",
    "&anchor x",
    "*alias",
    "!tag x",
    "!!str 12",
    "%x",
    "@x",
    "`x",
    "|x",
    "?x",
    ":x",
    "é ü",
    "trailing   ",
    "x\t",
    "a\tb",
    "\"tab\tin\"",
    "---",
    "...",
    "<<",
    "=",
    ",x",
];

const BLOCK_HEADERS: &[&str] = &[
    "|", "|-", "|+", ">", ">-", ">+", "|2", "|1-", ">2+", "|+2", "|0", "| # c", "|#c", "|\t", ">9",
];

const BLOCK_LINES: &[&str] = &[
    "text",
    "more text",
    "  indented",
    "",
    "   ",
    "a # not a comment",
    "\ttab first",
    "x\ty",
    "- not a list",
    "key: not a map",
    "#hash",
];

/// Keys and scalars the fast path accepts, so that clean texts exercise deep structures.
const CLEAN_KEYS: &[&str] = &[
    "a",
    "b",
    "name",
    "on",
    "y",
    "0600",
    "key with space",
    "\"quoted key\"",
    "'single'",
    "\"a: b\"",
    "a:b",
    "-dash",
    "é",
    "a#b",
    "~",
    "x.y/z",
    "'it''s'",
];
const CLEAN_SCALARS: &[&str] = &[
    "x",
    "yes",
    "No",
    "~",
    "null",
    "0600",
    "09",
    "0x1F",
    "1_000",
    "-1",
    "1e3",
    ".5",
    "-.inf",
    ".NaN",
    "12:30",
    "\"a#b\"",
    "a#b",
    "'it''s'",
    "\"a: b\"",
    "'- x'",
    "\"\\t\\n \\x41 \\u00e9 \\U0001F600 \\/ \\ \\e\"",
    "\"\"",
    "''",
    "-c",
    "a b  c",
    "[a, b]",
    "[]",
    "{}",
    "{a: 1, b: \"x\"}",
    "[1, [2, [3]], {k: v}]",
    "{\"a\":1}",
    "[-1, -x]",
    "[a b, 'c d']",
    "{a: [1, 2], b: {c: d}}",
    "é ü",
    "trailing   ",
    "\"tab\tin\"",
];
const CLEAN_HEADERS: &[&str] = &[
    "|", "|-", "|+", ">", ">-", ">+", "|2", "|1-", ">2+", "| # c",
];
const CLEAN_LINES: &[&str] = &[
    "text",
    "more text",
    "  indented",
    "",
    "   ",
    "a # b",
    "x\ty",
    "#h",
];

struct Gen<'r> {
    rng: &'r mut Rng,
    out: String,
    clean: bool,
}

impl Gen<'_> {
    fn pad(&mut self, n: usize) {
        for _ in 0..n {
            self.out.push(' ');
        }
    }

    fn comment(&mut self) {
        if self.rng.chance(15) {
            self.out.push_str(" # c");
        }
    }

    fn noise_lines(&mut self, indent: usize) {
        while self.rng.chance(12) {
            match self.rng.below(4) {
                0 => self.out.push('\n'),
                1 => {
                    let n = self.rng.below(indent + 3);
                    self.pad(n);
                    self.out.push_str("# full-line comment\n");
                }
                2 => {
                    let n = self.rng.below(6);
                    self.pad(n);
                    self.out.push('\n');
                }
                _ => {
                    self.pad(indent);
                    self.out.push_str("#x\n");
                }
            }
        }
    }

    fn block_scalar(&mut self, indent: usize) {
        let h = self.rng.pick(if self.clean {
            CLEAN_HEADERS
        } else {
            BLOCK_HEADERS
        });
        self.out.push_str(h);
        self.out.push('\n');
        let n = self.rng.below(4);
        let ind = indent + 1 + self.rng.below(3);
        for _ in 0..n {
            let l = self
                .rng
                .pick(if self.clean { CLEAN_LINES } else { BLOCK_LINES });
            if !l.is_empty() {
                self.pad(ind);
            }
            self.out.push_str(l);
            self.out.push('\n');
        }
        for _ in 0..self.rng.below(3) {
            let n = self.rng.below(ind + 2);
            self.pad(n);
            self.out.push('\n');
        }
    }

    /// A value after `key:` or `- ` on the current line (plus following lines).
    fn value(&mut self, indent: usize, depth: usize, in_map: bool) {
        match self.rng.below(if depth > 3 { 3 } else { 8 }) {
            0 | 1 => {
                self.out.push(' ');
                let s = self
                    .rng
                    .pick(if self.clean { CLEAN_SCALARS } else { SCALARS });
                self.out.push_str(s);
                self.comment();
                self.out.push('\n');
            }
            2 => {
                self.comment();
                self.out.push('\n');
            }
            3 => {
                self.out.push(' ');
                self.block_scalar(indent);
            }
            4 | 5 => {
                self.comment();
                self.out.push('\n');
                self.noise_lines(indent);
                let step = self.rng.below(4) + usize::from(!in_map || self.rng.chance(60));
                self.map(indent + step.max(1), depth + 1);
            }
            _ => {
                self.comment();
                self.out.push('\n');
                self.noise_lines(indent);
                // Sequences in maps may sit at the key's own indent.
                let step = if in_map && self.rng.chance(50) {
                    0
                } else {
                    1 + self.rng.below(3)
                };
                self.seq(indent + step, depth + 1);
            }
        }
    }

    fn map(&mut self, indent: usize, depth: usize) {
        let n = 1 + self.rng.below(4);
        for i in 0..n {
            if i > 0 || !self.out.ends_with("- ") {
                self.pad(indent);
            }
            let k = self.rng.pick(if self.clean { CLEAN_KEYS } else { KEYS });
            self.out.push_str(k);
            self.out.push(':');
            self.value(indent, depth, true);
            self.noise_lines(indent);
        }
    }

    fn seq(&mut self, indent: usize, depth: usize) {
        let n = 1 + self.rng.below(4);
        for i in 0..n {
            if i > 0 || !self.out.ends_with("- ") {
                self.pad(indent);
            }
            self.out.push('-');
            match self.rng.below(if depth > 3 { 2 } else { 5 }) {
                0 | 1 => self.value(indent, depth, false),
                2 => {
                    // compact mapping `- k: v`
                    let extra = self.rng.below(2);
                    self.out.push(' ');
                    self.pad(extra);
                    self.map(indent + 2 + extra, depth + 1);
                }
                3 => {
                    self.out.push(' ');
                    self.seq(indent + 2, depth + 1);
                }
                _ => {
                    self.out.push('\n');
                    self.noise_lines(indent);
                    self.map(indent + 2, depth + 1);
                }
            }
            self.noise_lines(indent);
        }
    }

    fn stream(&mut self) {
        let docs = 1 + self.rng.below(3);
        for d in 0..docs {
            if d > 0 || self.rng.chance(30) {
                self.out
                    .push_str(self.rng.pick(&["---\n", "--- # c\n", "---\n---\n"]));
            }
            self.noise_lines(0);
            let indent = if self.rng.chance(10) { 2 } else { 0 };
            match self.rng.below(6) {
                0 => self.seq(indent, 0),
                1 => {
                    let s = self
                        .rng
                        .pick(if self.clean { CLEAN_SCALARS } else { SCALARS });
                    self.out.push_str(s);
                    self.out.push('\n');
                }
                _ => self.map(indent, 0),
            }
            if self.rng.chance(10) {
                self.out.push_str("...\n");
            }
        }
        if self.rng.chance(10) {
            self.out.push_str("---\n");
        }
    }
}

/// Small random edits: a space more or less, a tab, a line dropped or doubled, a cut.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let i = rng.below(lines.len());
    match rng.below(6) {
        0 => lines[i].insert(0, ' '),
        1 => {
            if lines[i].starts_with(' ') {
                lines[i].remove(0);
            }
        }
        2 => {
            let at = rng.below(lines[i].len() + 1);
            if lines[i].is_char_boundary(at) {
                lines[i].insert(at, '\t');
            }
        }
        3 => {
            lines.remove(i);
        }
        4 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        _ => {
            let at = rng.below(lines[i].len() + 1);
            if lines[i].is_char_boundary(at) {
                lines[i].truncate(at);
            }
        }
    }
    lines.join("\n")
}

#[test]
fn generated_texts_agree() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let total = 20_000;
    let (mut fast, mut fast_docs, mut mutated_fast) = (0, 0, 0);
    for i in 0..total {
        let mut g = Gen {
            clean: i % 2 == 0,
            rng: &mut rng,
            out: String::new(),
        };
        g.stream();
        let text = g.out;
        if let Some(n) = check(&text, Limits::default()) {
            fast += 1;
            fast_docs += n;
        } else if i % 2 == 0
            && std::env::var_os("SHOW_FALLBACKS").is_some()
            && parse_stream_slow(&text, Limits::default()).is_ok()
        {
            println!("FALLBACK {text:?}");
        }
        // Without the final line break (scalars and block scalars ending at end of input).
        check(text.strip_suffix('\n').unwrap_or(&text), Limits::default());
        let m = mutate(&mut rng, &text);
        if check(&m, Limits::default()).is_some() {
            mutated_fast += 1;
        }
        // Tight limits must be honoured (or left to the slow path) the same way.
        if i % 10 == 0 {
            let tight = Limits {
                max_depth: 2,
                max_nodes: 12,
            };
            check(&text, tight);
        }
    }
    println!(
        "{total} generated texts: {fast} on the fast path ({fast_docs} documents); \
         {mutated_fast} of {total} mutated texts on the fast path"
    );
    assert!(
        fast > total / 10,
        "only {fast} generated texts took the fast path"
    );
    assert!(mutated_fast > total / 20);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(42);
    let alphabet: &[u8] = b" \n\t-:#'\"[]{},|>+-0123456789abcyesno.\\!&*?%@`~e";
    for _ in 0..50_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let text = String::from_utf8(bytes).unwrap();
        check(&text, Limits::default());
    }
    // Arbitrary (valid UTF-8) bytes too.
    for _ in 0..20_000 {
        let len = rng.below(30);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_stream_fast(&text, Limits::default());
    }
}
