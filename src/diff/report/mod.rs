//! Report writers: kapp-like text, a summary table, JSON and Markdown. The only place the diff
//! library writes output.

mod json;
mod markdown;
mod table;
mod text;

use super::config::PathRule;
use super::mask::Masker;
use super::text::{added, diff, removed, sorted_yaml, with_context, Delta, Line};
use super::{par_map, Change, DiffResult, Op};
use serde_yaml::Value;
use std::borrow::Cow;
use std::io::{self, Write};

/// Which report to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Table,
    Json,
    Markdown,
}

/// How to write it.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// kapp's context rule (N-1 lines before a change, N after); negative shows everything.
    pub context: i64,
    pub show_secrets: bool,
    pub color: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            context: 2,
            show_secrets: false,
            color: false,
        }
    }
}

/// Writes the report.
pub fn write(
    result: &DiffResult,
    format: Format,
    opts: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    // The table shows no diff text: skip rendering and masking it.
    let prepared = match format {
        Format::Table => Vec::new(),
        Format::Markdown => prepare(result, opts, markdown::CONTEXT, false)?,
        Format::Text | Format::Json => prepare(result, opts, opts.context, true)?,
    };
    // The writers go a line at a time, and stdout passes each line on as it ends (a report of
    // 10,000 resources took 7,966 writes): gathered here, passed on in large blocks.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    match format {
        Format::Text => text::write(result, &prepared, opts, &mut out),
        Format::Table => table::write(result, &mut out),
        Format::Json => json::write(result, &prepared, &mut out),
        Format::Markdown => markdown::write(result, &prepared, &mut out),
    }?;
    out.flush()
}

/// Both sides of a change as YAML text, masked unless secrets are shown, and the lines of its
/// block ([`block_lines`]).
pub(crate) struct Texts<'a> {
    pub left: Cow<'a, str>,
    pub right: Cow<'a, str>,
    pub lines: Vec<Styled>,
}

/// Both sides of every shown change as text. Masking numbers values in kapp's order
/// (sessions, changes, existing side before new side), so it runs first, in that order, and only
/// on sides a mask rule matches (a side no rule matches as given is left alone by masking).
/// Writing the sides as text and diffing their lines, most of the work, then runs in
/// parallel, on the objects themselves where nothing was masked; a side the diff already wrote
/// to decide is taken as it is, unless it was masked. Blocks keep `context` lines around
/// changes, numbered when `numbers` says.
fn prepare<'a>(
    result: &'a DiffResult,
    opts: &Options,
    context: i64,
    numbers: bool,
) -> io::Result<Vec<Vec<Option<Texts<'a>>>>> {
    /// A side as written: its text already written, the object itself, or its masked copy.
    enum Side<'a> {
        Written(&'a str),
        Object(Cow<'a, Value>),
    }
    fn side<'a>(
        v: Option<&'a Value>,
        written: Option<&'a String>,
        rules: &[PathRule],
        opts: &Options,
        masker: &mut Masker,
    ) -> Option<Side<'a>> {
        let v = v?;
        if opts.show_secrets || !Masker::applies(v, rules) {
            return Some(match written {
                Some(t) => Side::Written(t),
                None => Side::Object(Cow::Borrowed(v)),
            });
        }
        let mut v = v.clone();
        masker.mask(&mut v, rules);
        Some(Side::Object(Cow::Owned(v)))
    }
    let mut masker = Masker::new();
    /// A shown change and its two sides.
    type Shown<'a> = Option<(&'a Change, [Option<Side<'a>>; 2])>;
    let mut shown: Vec<Shown> = Vec::new();
    for s in &result.sessions {
        for c in &s.changes {
            if !shows_diff(c.op) {
                shown.push(None);
                continue;
            }
            let [l, r] = match c.texts.as_deref() {
                Some([l, r]) => [Some(l), Some(r)],
                None => [None, None],
            };
            let left = side(c.existing.as_ref(), l, &s.mask_rules, opts, &mut masker);
            let right = side(c.new.as_ref(), r, &s.mask_rules, opts, &mut masker);
            shown.push(Some((c, [left, right])));
        }
    }
    // Writing into strings cannot fail; only a worker thread's panic comes back as an error.
    let mut texts = par_map(shown, |sides| {
        let text = |s: Option<Side<'a>>| match s {
            Some(Side::Written(t)) => Cow::Borrowed(t),
            Some(Side::Object(v)) => Cow::Owned(sorted_yaml(&v)),
            None => Cow::Borrowed(""),
        };
        Ok(sides.map(|(c, [left, right])| {
            let mut t = Texts {
                left: text(left),
                right: text(right),
                lines: Vec::new(),
            };
            t.lines = block_lines(c, &t, context, numbers);
            t
        }))
    })
    .map_err(|e| io::Error::other(format!("{e:#}")))?
    .into_iter();
    Ok(result
        .sessions
        .iter()
        .map(|s| texts.by_ref().take(s.changes.len()).collect())
        .collect())
}

fn shows_diff(op: Op) -> bool {
    matches!(op, Op::Create | Op::Update | Op::Delete | Op::Conflict)
}

/// kapp's block header: `update configmap/name (v1) namespace: ns` / `... cluster`.
pub(crate) fn description(c: &Change) -> String {
    let place = match &c.id.namespace {
        Some(ns) => format!("namespace: {ns}"),
        None => "cluster".to_string(),
    };
    format!(
        "{} {}/{} ({}) {}",
        c.op.as_str(),
        c.id.kind.to_ascii_lowercase(),
        c.id.name,
        c.api_version,
        place
    )
}

/// One displayed line of a block, styled by kind.
pub(crate) enum Styled {
    Common(String),
    Removed(String),
    Added(String),
    Gap,
}

/// The block's lines with kapp's numbering and context.
fn block_lines(c: &Change, t: &Texts, context: i64, numbers: bool) -> Vec<Styled> {
    // By the sides present: a versioned object's next version is a create shown as its diff
    // against the latest version, as kapp shows it.
    let records = match (&c.existing, &c.new) {
        (None, _) => added(&t.right),
        (_, None) => removed(&t.left),
        _ => diff(&t.left, &t.right),
    };
    with_context(&records, context)
        .into_iter()
        .map(|l| match l {
            Line::Gap => Styled::Gap,
            Line::Record(r) => match (r.delta, numbers) {
                (Delta::Common, true) => {
                    Styled::Common(format!("{:>3},{:>3}   {}", r.left, r.right, r.text))
                }
                (Delta::Left, true) => Styled::Removed(format!("{:>3}     - {}", r.left, r.text)),
                (Delta::Right, true) => Styled::Added(format!("    {:>3} + {}", r.right, r.text)),
                (Delta::Common, false) => Styled::Common(format!(" {}", r.text)),
                (Delta::Left, false) => Styled::Removed(format!("-{}", r.text)),
                (Delta::Right, false) => Styled::Added(format!("+{}", r.text)),
            },
        })
        .collect()
}

/// A block as plain text (JSON `diff` field).
pub(crate) fn block_plain(t: &Texts) -> String {
    let mut s = String::new();
    for l in &t.lines {
        match l {
            Styled::Common(x) | Styled::Removed(x) | Styled::Added(x) => s.push_str(x),
            Styled::Gap => s.push_str("  ..."),
        }
        s.push('\n');
    }
    s
}

/// Namespace cell: `(cluster)` for cluster-scoped objects, as kapp prints it.
pub(crate) fn namespace_cell(c: &Change) -> &str {
    c.id.namespace.as_deref().unwrap_or("(cluster)")
}

/// Table rows sort by namespace, name, kind, apiVersion (kapp's order).
pub(crate) fn sorted_rows(changes: &[Change]) -> Vec<&Change> {
    let mut rows: Vec<&Change> = changes.iter().filter(|c| c.op.is_change()).collect();
    rows.sort_by(|a, b| {
        (namespace_cell(a), &a.id.name, &a.id.kind, &a.api_version).cmp(&(
            namespace_cell(b),
            &b.id.name,
            &b.id.kind,
            &b.api_version,
        ))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::SessionDiff;
    use crate::manifest::ResourceId;

    /// Counts the writes it is handed.
    struct Counting {
        writes: usize,
        bytes: Vec<u8>,
    }

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn reports_reach_their_writer_in_large_blocks() {
        let changes: Vec<Change> = (0..300)
            .map(|i| {
                let name = format!("cm-{i}");
                let new: Value = serde_yaml::from_str(&format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: demo}}\ndata: {{a: '1', b: '2', c: '3'}}"
                ))
                .unwrap();
                Change {
                    id: ResourceId {
                        group: String::new(),
                        kind: "ConfigMap".into(),
                        namespace: Some("demo".into()),
                        name,
                    },
                    api_version: "v1".into(),
                    op: Op::Create,
                    existing: None,
                    new: Some(new),
                    source: None,
                    change_groups: Vec::new(),
                    changed_paths: Vec::new(),
                    reason: None,
                    texts: None,
                }
            })
            .collect();
        let result = DiffResult {
            sessions: vec![SessionDiff {
                session: "s1".into(),
                changes,
                warnings: Vec::new(),
                mask_rules: Vec::new(),
            }],
        };
        for format in [Format::Text, Format::Table, Format::Json, Format::Markdown] {
            let mut out = Counting {
                writes: 0,
                bytes: Vec::new(),
            };
            write(&result, format, &Options::default(), &mut out).unwrap();
            let text = String::from_utf8(out.bytes).unwrap();
            assert!(text.contains("cm-299"), "{format:?}");
            // Thousands of lines, in blocks of 64 KiB.
            assert!(text.lines().count() > 300, "{format:?}");
            assert!(
                out.writes <= text.len() / (1 << 16) + 1,
                "{format:?}: {} writes for {} bytes",
                out.writes,
                text.len()
            );
        }
    }
}
