//! Line diff the way kapp shows it: YAML with sorted keys, prefix/suffix stripped, an LCS over
//! the middle that lists removals before additions, 0-based line numbers, asymmetric context.

use serde_yaml::Value;

/// A YAML text with keys sorted at every level (kapp renders through JSON, which sorts).
pub fn sorted_yaml(v: &Value) -> String {
    let mut out = String::with_capacity(1024);
    crate::yaml::emit_doc_sorted(v, &mut out);
    out
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

    /// The emitter used before: a sorted copy written by the render emitter. The diff form
    /// differs only in quoting (go-yaml's double quotes for strings that look like other
    /// types), so both texts read back as the same value, line for line.
    fn same_but_quoting(v: &Value, what: &str) {
        let diff_form = sorted_yaml(v);
        let render_form = crate::yaml::to_string(&sorted_copy(v));
        let back = |t: &str| serde_yaml::from_str::<Value>(t).unwrap();
        assert_eq!(back(&diff_form), back(&render_form), "{what}");
        assert_eq!(
            diff_form.lines().count(),
            render_form.lines().count(),
            "{what}"
        );
        let unquote = |t: &str| t.replace(['"', '\''], "");
        if !render_form.contains(['"', '\\']) {
            assert_eq!(unquote(&diff_form), unquote(&render_form), "{what}");
        }
    }

    /// A sorted copy of a value.
    fn sorted_copy(v: &Value) -> Value {
        match v {
            Value::Mapping(m) => {
                let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
                entries.sort_by(|a, b| crate::yaml::cmp_keys(a.0, b.0));
                let mut out = serde_yaml::Mapping::with_capacity(entries.len());
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
            same_but_quoting(&v, t);
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/diff");
        for e in walkdir::WalkDir::new(dir) {
            let e = e.unwrap();
            if !e.file_type().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).unwrap();
            for d in crate::yaml::parse_stream(&text, Default::default()).unwrap() {
                same_but_quoting(&d.value, &e.path().display().to_string());
            }
        }
    }

    #[test]
    fn sorted_keys() {
        let v: Value = serde_yaml::from_str("b: 1\na: {d: 1, c: 2}").unwrap();
        assert_eq!(sorted_yaml(&v), "a:\n  c: 2\n  d: 1\nb: 1\n");
    }
}
