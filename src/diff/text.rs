//! Line diff the way kapp shows it: YAML with sorted keys, prefix/suffix stripped, an LCS over
//! the middle that lists removals before additions, 0-based line numbers, asymmetric context.

use serde_yaml::{Mapping, Number, Value};
use std::fmt::Write as _;

/// A YAML text with keys sorted at every level (kapp renders through JSON, which sorts).
pub fn sorted_yaml(v: &Value) -> String {
    let mut out = String::with_capacity(1024);
    emit_sorted(v, &mut out);
    out
}

/// Appends `v` as a sorted-key YAML document (ends with a newline) to `out`, without building
/// a sorted copy: keys are sorted per map as it is written.
pub fn emit_sorted(v: &Value, out: &mut String) {
    match untag(v) {
        Value::Mapping(m) if !m.is_empty() => emit_map(m, 0, false, out),
        Value::Sequence(s) if !s.is_empty() => emit_seq(s, 0, false, out),
        other => {
            emit_inline(other, out);
            out.push('\n');
        }
    }
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

/// Orders keys by their text; string keys (nearly all) compare without allocating.
fn cmp_keys(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => crate::yaml::key_text(a).cmp(&crate::yaml::key_text(b)),
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// `inline`: the first entry continues a `- ` line.
fn emit_map(m: &Mapping, indent: usize, inline: bool, out: &mut String) {
    let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
    if !entries.is_sorted_by(|a, b| cmp_keys(a.0, b.0).is_le()) {
        entries.sort_by(|a, b| cmp_keys(a.0, b.0));
    }
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 || !inline {
            pad(out, indent);
        }
        emit_key(k, out);
        out.push(':');
        emit_child(untag(v), indent, true, out);
    }
}

fn emit_seq(s: &[Value], indent: usize, inline: bool, out: &mut String) {
    for (i, v) in s.iter().enumerate() {
        if i > 0 || !inline {
            pad(out, indent);
        }
        out.push('-');
        emit_child(untag(v), indent, false, out);
    }
}

/// The value after `key:` or `-`: nested collections go on the following lines (a list in a
/// map at the key's indent, go-yaml style).
fn emit_child(v: &Value, indent: usize, in_map: bool, out: &mut String) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push(if in_map { '\n' } else { ' ' });
            emit_map(m, indent + 2, !in_map, out);
        }
        Value::Sequence(s) if !s.is_empty() => {
            if in_map {
                out.push('\n');
                emit_seq(s, indent, false, out);
            } else {
                out.push(' ');
                emit_seq(s, indent + 2, true, out);
            }
        }
        Value::String(s) if block_literal_ok(s) => {
            out.push(' ');
            emit_block_literal(s, indent + 2, out);
        }
        other => {
            out.push(' ');
            emit_inline(other, out);
            out.push('\n');
        }
    }
}

fn emit_key(k: &Value, out: &mut String) {
    match k {
        Value::String(s) if s.contains('\n') => emit_double_quoted(s, out),
        other => emit_inline(other, out),
    }
}

fn emit_inline(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => emit_number(n, out),
        Value::String(s) => emit_string(s, out),
        Value::Mapping(m) if m.is_empty() => out.push_str("{}"),
        Value::Sequence(s) if s.is_empty() => out.push_str("[]"),
        Value::Mapping(_) | Value::Sequence(_) => {
            out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
        }
        Value::Tagged(t) => emit_inline(&t.value, out),
    }
}

fn emit_number(n: &Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        out.push_str(&crate::yaml::format_float(n.as_f64().unwrap_or(0.0)));
    }
}

fn emit_string(s: &str, out: &mut String) {
    if crate::yaml::plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                out.push_str("''");
            }
            out.push_str(part);
        }
        out.push('\'');
    } else {
        emit_double_quoted(s, out);
    }
}

fn emit_double_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Multi-line strings are written as literal blocks when that keeps them exact.
fn block_literal_ok(s: &str) -> bool {
    if !s.contains('\n') || s.trim_matches('\n').is_empty() {
        return false;
    }
    if s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || c == '\u{feff}'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
    }) {
        return false;
    }
    !s.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t')) && !s.starts_with('\n')
}

fn emit_block_literal(s: &str, indent: usize, out: &mut String) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\t') {
        out.push('2');
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Common,
    /// Only on the existing (left) side: removed.
    Left,
    /// Only on the new (right) side: added.
    Right,
}

/// One diff record; `left`/`right` are the 0-based positions in each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub delta: Delta,
    pub left: usize,
    pub right: usize,
    pub text: &'a str,
}

/// Above this many LCS cells the middle part is diffed with Myers (linear memory) instead.
const MAX_LCS_CELLS: usize = 4_000_000;

/// Diffs two texts split on `\n` (a trailing newline yields a final empty line, as in kapp).
pub fn diff<'a>(left: &'a str, right: &'a str) -> Vec<Record<'a>> {
    let a: Vec<&str> = left.split('\n').collect();
    let b: Vec<&str> = right.split('\n').collect();
    diff_lines(&a, &b)
}

pub fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Record<'a>> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        out.push(Record {
            delta: Delta::Common,
            left: pre,
            right: pre,
            text: a[pre],
        });
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let am = &a[pre..a.len() - suf];
    let bm = &b[pre..b.len() - suf];
    if am.len().saturating_mul(bm.len()) <= MAX_LCS_CELLS {
        lcs_middle(am, bm, pre, &mut out);
    } else {
        myers_middle(am, bm, pre, &mut out);
    }
    for k in 0..suf {
        let (l, r) = (a.len() - suf + k, b.len() - suf + k);
        out.push(Record {
            delta: Delta::Common,
            left: l,
            right: r,
            text: a[l],
        });
    }
    out
}

fn lcs_middle<'a>(a: &[&'a str], b: &[&'a str], base: usize, out: &mut Vec<Record<'a>>) {
    let (n, m) = (a.len(), b.len());
    // t[i][j] = LCS of the last i lines of a and the last j lines of b.
    let w = m + 1;
    let mut t = vec![0u32; (n + 1) * w];
    for i in 1..=n {
        for j in 1..=m {
            t[i * w + j] = if a[n - i] == b[m - j] {
                t[(i - 1) * w + j - 1] + 1
            } else {
                t[(i - 1) * w + j].max(t[i * w + j - 1])
            };
        }
    }
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let (l, r) = (base + n - i, base + m - j);
        if i > 0 && t[i * w + j] == t[(i - 1) * w + j] {
            out.push(Record {
                delta: Delta::Left,
                left: l,
                right: r,
                text: a[n - i],
            });
            i -= 1;
        } else if j > 0 && (i == 0 || t[i * w + j] == t[i * w + j - 1]) {
            out.push(Record {
                delta: Delta::Right,
                left: l,
                right: r,
                text: b[m - j],
            });
            j -= 1;
        } else {
            out.push(Record {
                delta: Delta::Common,
                left: l,
                right: r,
                text: a[n - i],
            });
            i -= 1;
            j -= 1;
        }
    }
}

/// Huge resources: Myers via `similar`, each changed run reordered removals-first like kapp.
fn myers_middle<'a>(a: &[&'a str], b: &[&'a str], base: usize, out: &mut Vec<Record<'a>>) {
    use similar::{capture_diff_slices, Algorithm, DiffOp};
    // Removed lines sit at the new side's position `right`; added ones at the old side's `left`.
    let removed = |out: &mut Vec<Record<'a>>, from: usize, len: usize, right: usize| {
        out.extend((from..from + len).map(|i| Record {
            delta: Delta::Left,
            left: base + i,
            right: base + right,
            text: a[i],
        }));
    };
    let added = |out: &mut Vec<Record<'a>>, from: usize, len: usize, left: usize| {
        out.extend((from..from + len).map(|i| Record {
            delta: Delta::Right,
            left: base + left,
            right: base + i,
            text: b[i],
        }));
    };
    for op in capture_diff_slices(Algorithm::Myers, a, b) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => out.extend((0..len).map(|k| Record {
                delta: Delta::Common,
                left: base + old_index + k,
                right: base + new_index + k,
                text: a[old_index + k],
            })),
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => removed(out, old_index, old_len, new_index),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => added(out, new_index, new_len, old_index),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                removed(out, old_index, old_len, new_index);
                added(out, new_index, new_len, old_index + old_len);
            }
        }
    }
}

/// Every line of a created object, as additions (kapp shows the final empty line too).
pub fn added(text: &str) -> Vec<Record<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, t)| Record {
            delta: Delta::Right,
            left: 0,
            right: i,
            text: t,
        })
        .collect()
}

/// Every line of a deleted object, as removals.
pub fn removed(text: &str) -> Vec<Record<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, t)| Record {
            delta: Delta::Left,
            left: i,
            right: 0,
            text: t,
        })
        .collect()
}

/// A line of the rendered block: a record, or the `...` gap marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Record(Record<'a>),
    Gap,
}

/// kapp's context rule: a common record at position p is shown iff a changed record lies in
/// `[p-N, p+N-1]` (N-1 lines before a change, N after); negative N shows everything. `...`
/// precedes a shown common record that follows hidden ones (never at position 0).
pub fn with_context<'a>(records: &[Record<'a>], n: i64) -> Vec<Line<'a>> {
    if n < 0 {
        return records.iter().cloned().map(Line::Record).collect();
    }
    let len = records.len();
    // Distance to the nearest changed record at or after / before each position.
    let mut next_change = vec![usize::MAX; len + 1];
    for p in (0..len).rev() {
        next_change[p] = if records[p].delta != Delta::Common {
            p
        } else {
            next_change[p + 1]
        };
    }
    let mut prev_change: Option<usize> = None;
    let mut out = Vec::new();
    let mut hidden = false;
    let n = n as usize;
    for (p, r) in records.iter().enumerate() {
        if r.delta != Delta::Common {
            prev_change = Some(p);
            out.push(Line::Record(r.clone()));
            hidden = false;
            continue;
        }
        // A change in [p-N, p+N-1]: before p within N, or after p within N-1.
        let before = prev_change.is_some_and(|c| p - c <= n);
        let after = n >= 1 && next_change[p] != usize::MAX && next_change[p] - p < n;
        if before || after {
            if hidden && p > 0 {
                out.push(Line::Gap);
            }
            out.push(Line::Record(r.clone()));
            hidden = false;
        } else {
            hidden = true;
        }
    }
    out
}

/// True when the diff has at least one changed record.
pub fn has_changes(records: &[Record<'_>]) -> bool {
    records.iter().any(|r| r.delta != Delta::Common)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(lines: &[Line<'_>]) -> String {
        let mut s = String::new();
        for l in lines {
            match l {
                Line::Gap => s.push_str("...\n"),
                Line::Record(r) => {
                    let c = match r.delta {
                        Delta::Common => ' ',
                        Delta::Left => '-',
                        Delta::Right => '+',
                    };
                    s.push_str(&format!("{}{},{} {}\n", c, r.left, r.right, r.text));
                }
            }
        }
        s
    }

    #[test]
    fn removals_before_additions_and_positions() {
        let r = diff("a\nb\nc\n", "a\nx\ny\nc\n");
        assert_eq!(
            render(&with_context(&r, -1)),
            " 0,0 a\n-1,1 b\n+2,1 x\n+2,2 y\n 2,3 c\n 3,4 \n"
        );
    }

    #[test]
    fn context_is_n_minus_one_before_and_n_after() {
        let left = "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let right = "0\n1\n2\n3\n4\nX\n6\n7\n8\n9\n";
        let r = diff(left, right);
        assert_eq!(
            render(&with_context(&r, 2)),
            "...\n 4,4 4\n-5,5 5\n+6,5 X\n 6,6 6\n 7,7 7\n"
        );
        assert_eq!(render(&with_context(&r, 0)), "-5,5 5\n+6,5 X\n");
        assert_eq!(render(&with_context(&r, 1)), "-5,5 5\n+6,5 X\n 6,6 6\n");
    }

    #[test]
    fn creates_are_all_additions() {
        let r = added("a: 1\n");
        assert_eq!(render(&with_context(&r, 2)), "+0,0 a: 1\n+0,1 \n");
        assert_eq!(render(&with_context(&removed("a\n"), 2)), "-0,0 a\n-1,0 \n");
        assert!(!has_changes(&diff("a\n", "a\n")));
    }

    #[test]
    fn myers_fallback_agrees_on_content() {
        let a: Vec<String> = (0..3000).map(|i| format!("l{i}")).collect();
        let mut b = a.clone();
        b[1500] = "changed".into();
        b.insert(10, "new".into());
        let (a, b) = (a.join("\n"), b.join("\n"));
        let (av, bv): (Vec<&str>, Vec<&str>) = (a.split('\n').collect(), b.split('\n').collect());
        let mut out = Vec::new();
        myers_middle(&av, &bv, 0, &mut out);
        let removed: Vec<_> = out
            .iter()
            .filter(|r| r.delta == Delta::Left)
            .map(|r| r.text)
            .collect();
        let added: Vec<_> = out
            .iter()
            .filter(|r| r.delta == Delta::Right)
            .map(|r| r.text)
            .collect();
        assert_eq!(removed, vec!["l1500"]);
        assert_eq!(added, vec!["new", "changed"]);
    }

    /// The emitter used before: a sorted copy written by the render emitter.
    fn sorted_copy(v: &Value) -> Value {
        match v {
            Value::Mapping(m) => {
                let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| cmp_keys(a.0, b.0));
                let mut out = Mapping::with_capacity(entries.len());
                for (k, v) in entries {
                    out.insert(k.clone(), sorted_copy(v));
                }
                Value::Mapping(out)
            }
            Value::Sequence(s) => Value::Sequence(s.iter().map(sorted_copy).collect()),
            Value::Tagged(t) => sorted_copy(&t.value),
            other => other.clone(),
        }
    }

    #[test]
    fn direct_emitter_matches_sorted_copy() {
        let texts = [
            "b: 1\na: {d: 1, c: 2}",
            "- a\n- [x, [y, {k: v, a: b}], []]\n- {}\n- {z: [1, 2], a: {}}",
            "s: [\"multi\\nline\\n\", \" lead\\nx\", \"tail\\n\\n\", \"no-nl\\nend\", \"'q'\", \"a: b\", \"\", \"true\", \"0600\", \"x\\ty\", \"\\u0001\"]",
            "? [a, b]\n: 1\n1: one\n'1': str\nnull: n\ntrue: t\n\"k\\nl\": v",
            "f: [1.5, 1e300, -0.0, .inf, .nan, 18446744073709551615, -3]",
            "- - - deep\n  - x\n- {a: [{b: [c]}]}",
            "!tag {b: !t2 [1], a: x}",
            "plain",
            "[]",
        ];
        for t in texts {
            let v: Value = serde_yaml::from_str(t).unwrap();
            assert_eq!(
                sorted_yaml(&v),
                crate::yaml::to_string(&sorted_copy(&v)),
                "{t}"
            );
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/diff");
        for e in walkdir::WalkDir::new(dir) {
            let e = e.unwrap();
            if !e.file_type().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            for d in crate::yaml::parse_stream(&text, Default::default()).unwrap() {
                assert_eq!(
                    sorted_yaml(&d.value),
                    crate::yaml::to_string(&sorted_copy(&d.value))
                );
            }
        }
    }

    #[test]
    fn sorted_keys() {
        let v: Value = serde_yaml::from_str("b: 1\na: {d: 1, c: 2}").unwrap();
        assert_eq!(sorted_yaml(&v), "a:\n  c: 2\n  d: 1\nb: 1\n");
    }
}
