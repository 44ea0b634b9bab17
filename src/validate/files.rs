//! `kpipe lint --files`: plain manifests (not rendered by kpipe), located by their own lines.

use super::{check_objects, Finding, Loc, Options, Resolver, Severity, Subject};
use crate::lookup::Lookup;
use crate::yaml::{self, Doc, PathSeg, Pos};
use anyhow::{Context, Result};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// One parsed input file.
pub struct LoadedFile {
    pub name: String,
    pub text: String,
    pub docs: Vec<(Doc, Pos)>,
}

/// Expands folders to their `*.yaml`/`*.yml`/`*.json` files (sorted), keeping files as given.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yaml" | "yml" | "json")
                    )
                })
                .collect();
            out.append(&mut found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads and parses files; YAML errors become `yaml-parse` findings.
pub fn load(paths: &[PathBuf], findings: &mut Vec<Finding>) -> Result<Vec<LoadedFile>> {
    let mut files = Vec::with_capacity(paths.len());
    for p in expand(paths)? {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(&p).with_context(|| format!("{name}: cannot read"))?;
        let docs = match yaml::parse_stream_with_positions(&text, yaml::Limits::default()) {
            Ok(d) => d,
            Err(e) => match fallback_parse(&text) {
                // yaml-rust2 is stricter than libyaml (kubectl's go-yaml) about some flow
                // scalars; when libyaml reads the file, lint it with document-level positions.
                Some(docs) => docs,
                None => {
                    findings.push(Finding {
                        severity: Severity::Error,
                        code: "yaml-parse",
                        message: e.message.clone(),
                        subject: Subject::File(name.clone()),
                        path: Vec::new(),
                        resource: None,
                        loc: Some(Loc {
                            file: name.clone(),
                            line: e.line,
                            col: e.col,
                        }),
                    });
                    Vec::new()
                }
            },
        };
        files.push(LoadedFile { name, text, docs });
    }
    Ok(files)
}

/// Parses with serde_yaml (libyaml) when the positional parser refuses a file; every node
/// of a document is placed at the document's first line.
fn fallback_parse(text: &str) -> Option<Vec<(Doc, Pos)>> {
    use serde::Deserialize;
    let mut starts = vec![1usize];
    for (i, l) in text.lines().enumerate() {
        if l.starts_with("---") {
            starts.push(i + 2);
        }
    }
    let mut out = Vec::new();
    for (n, d) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(d).ok()?;
        // A leading `---` opens the first document rather than separating two.
        let skip = usize::from(text.trim_start().starts_with("---"));
        let line = starts.get(n + skip).or(starts.last()).copied().unwrap_or(1);
        let empty = value.is_null();
        out.push((
            Doc { value, line, empty },
            Pos {
                line,
                col: 1,
                ..Pos::default()
            },
        ));
    }
    Some(out)
}

/// One object to check and where it sits.
struct Entry<'a> {
    file: usize,
    value: &'a Value,
    pos: &'a Pos,
}

struct FileResolver<'a> {
    files: &'a [LoadedFile],
    entries: Vec<Entry<'a>>,
}

impl Resolver for FileResolver<'_> {
    fn locate(&self, subject: &Subject, path: &[PathSeg]) -> Option<Loc> {
        let Subject::Resource(i) = subject else {
            return None;
        };
        let e = self.entries.get(*i)?;
        let file = self.files.get(e.file)?;
        let (line, col) = locate_in(&file.text, e.pos, path);
        Some(Loc {
            file: file.name.clone(),
            line,
            col,
        })
    }
}

/// Line and column of the node at `path`. Empty plain scalars (`key:` or `- #@ expr` read as
/// YAML) have no text of their own; they are placed at their `-` or key line instead.
pub fn locate_in(text: &str, root: &Pos, path: &[PathSeg]) -> (usize, usize) {
    let node = root.find(path);
    if node.col != 0 {
        return (node.line, node.col);
    }
    // Find the parent collection and our place in it.
    let Some((last, parent_path)) = path.split_last() else {
        return (node.line.max(1), 1);
    };
    let parent = root.find(parent_path);
    let idx = match last {
        PathSeg::Index(i) if parent.keys.is_empty() => Some(*i),
        PathSeg::Key(k) => parent.keys.iter().position(|x| x == k),
        _ => None,
    };
    let Some(idx) = idx else {
        return (node.line.max(1), 1);
    };
    // Start after the previous sibling (or at the parent), stop before the node's marker.
    let from = if idx == 0 {
        parent.line
    } else {
        match parent.items.get(idx - 1) {
            Some(prev) => prev.line.max(parent.line),
            None => return (node.line.max(1), 1),
        }
    };
    let from = if idx == 0 { from } else { from + 1 };
    let to = node.line.max(from);
    let lines: Vec<&str> = text.lines().collect();
    let want_col = parent.col;
    for ln in from..=to {
        let Some(l) = lines.get(ln.saturating_sub(1)) else {
            break;
        };
        let indent = l.len() - l.trim_start().len();
        let t = l.trim_start();
        let hit = match last {
            PathSeg::Index(_) => t.starts_with('-') && indent + 1 == want_col,
            PathSeg::Key(k) => {
                t.starts_with(k.as_str()) && t[k.len()..].trim_start().starts_with(':')
            }
        };
        if hit {
            return (ln, indent + 1);
        }
    }
    (from.max(1), want_col.max(1))
}

/// `#@` comments outside string values: warnings (the file is read as YAML, not by ytt).
pub fn ytt_annotations(name: &str, text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut block: Option<usize> = None; // indent of the line that opened a block scalar
    for (i, l) in text.lines().enumerate() {
        let indent = l.len() - l.trim_start().len();
        if let Some(b) = block {
            if l.trim().is_empty() || indent > b {
                continue;
            }
            block = None;
        }
        let (content, comment) = split_comment(l);
        if let Some(c) = comment {
            if l[c..].starts_with("#@") {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: "ytt-annotation",
                    message: format!(
                        "ytt annotation {:?} in a file that is not rendered by ytt: YAML reads it as a comment{}",
                        truncate(l[c..].trim_end(), 40),
                        if content.trim_end().ends_with(':') || content.trim() == "-" { " (leaving a null value)" } else { "" }
                    ),
                    subject: Subject::File(name.to_string()),
                    path: Vec::new(),
                    resource: None,
                    loc: Some(Loc {
                        file: name.to_string(),
                        line: i + 1,
                        col: c + 1,
                    }),
                });
            }
        }
        let c = content.trim_end();
        let ind = c.trim_end_matches(|ch: char| ch == '+' || ch == '-' || ch.is_ascii_digit());
        if (ind.ends_with('|') || ind.ends_with('>')) && {
            let before = ind[..ind.len() - 1].trim_end();
            before.ends_with(':')
                || before.ends_with('-')
                || before.is_empty()
                || before.ends_with("---")
        } {
            block = Some(indent);
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n).collect();
        format!("{t}…")
    }
}

/// Splits a line into content and the byte offset of a comment (`#` at line start or after
/// whitespace, outside quotes).
fn split_comment(l: &str) -> (&str, Option<usize>) {
    let b = l.as_bytes();
    let mut quote: Option<u8> = None;
    let mut prev_sig: u8 = b'\n'; // previous non-space byte, '\n' at line start
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 1;
                    } else {
                        quote = None;
                    }
                }
            }
            None => {
                if (c == b'"' || c == b'\'')
                    && matches!(prev_sig, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?')
                    && (i == 0
                        || b[i - 1] == b' '
                        || b[i - 1] == b'['
                        || b[i - 1] == b'{'
                        || b[i - 1] == b',')
                {
                    quote = Some(c);
                } else if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
                    return (&l[..i], Some(i));
                }
            }
        }
        if !c.is_ascii_whitespace() {
            prev_sig = c;
        }
        i += 1;
    }
    (l, None)
}

/// Lints plain files: returns findings (resolved, sorted) and the number of objects checked.
pub fn lint_files(
    paths: &[PathBuf],
    opts: &Options,
    strict: bool,
) -> Result<(Vec<Finding>, usize)> {
    let mut findings = Vec::new();
    let files = load(paths, &mut findings)?;
    for f in &files {
        if Path::new(&f.name).extension().is_none_or(|e| e != "json") && f.text.contains("#@") {
            findings.extend(ytt_annotations(&f.name, &f.text));
        }
    }
    let mut entries = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for (doc, pos) in &f.docs {
            if doc.empty || doc.value.is_null() {
                continue;
            }
            push_entries(fi, &doc.value, pos, &mut entries);
        }
    }
    let objs: Vec<&Value> = entries.iter().map(|e| e.value).collect();
    findings.extend(check_objects(&objs, opts));
    let count = objs.len();
    let resolver = FileResolver {
        files: &files,
        entries,
    };
    super::resolve(&mut findings, &resolver, strict);
    super::sort(&mut findings);
    Ok((findings, count))
}

fn push_entries<'a>(file: usize, v: &'a Value, pos: &'a Pos, out: &mut Vec<Entry<'a>>) {
    let is_list = v.at("kind").and_then(Value::as_str) == Some("List")
        && v.at("apiVersion").and_then(Value::as_str) == Some("v1");
    if is_list {
        if let Some(Value::Sequence(items)) = v.at("items") {
            let ipos = pos.find(&[PathSeg::Key("items".into())]);
            for (i, it) in items.iter().enumerate() {
                let p = ipos.items.get(i).unwrap_or(ipos);
                push_entries(file, it, p, out);
            }
            return;
        }
    }
    out.push(Entry {
        file,
        value: v,
        pos,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ytt_comments_only_outside_strings() {
        let text = "#@ load(\"@ytt:data\", \"data\")\n---\na: #@ data.values.x\nb: |\n  #@ inside a block\n  x\nc: \"#@ in quotes\"\nd: x #@ trailing\nlist:\n- #@ expr\n";
        let f = ytt_annotations("f.yaml", text);
        let lines: Vec<usize> = f.iter().map(|f| f.loc.as_ref().unwrap().line).collect();
        assert_eq!(lines, [1, 3, 8, 10]);
    }

    #[test]
    fn null_items_located_at_their_dash() {
        let text = "spec:\n  paths:\n  - a\n  - #@ x\n\n  deploy:\n  - kapp: {}\n";
        let docs = yaml::parse_stream_with_positions(text, yaml::Limits::default()).unwrap();
        let p = [
            PathSeg::Key("spec".into()),
            PathSeg::Key("paths".into()),
            PathSeg::Index(1),
        ];
        assert_eq!(locate_in(text, &docs[0].1, &p).0, 4);
        let text2 = "a:\n  b: #@ x\n  c: 1\n";
        let docs = yaml::parse_stream_with_positions(text2, yaml::Limits::default()).unwrap();
        let p = [PathSeg::Key("a".into()), PathSeg::Key("b".into())];
        assert_eq!(locate_in(text2, &docs[0].1, &p).0, 2);
    }
}
