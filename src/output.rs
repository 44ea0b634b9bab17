//! Where rendered sets go: one YAML stream, JSON, or a folder of files (written atomically, or
//! compared with `--check`).

use crate::manifest::{ManifestSet, Resource, SourceLoc};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One session's rendered output, without the object trees (kept small for many sessions).
#[derive(Debug, Clone, Serialize)]
pub struct SessionOutput {
    pub name: String,
    pub digest: String,
    pub resources: Vec<ResourceOutput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceOutput {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub digest: String,
    pub source: SourceLoc,
    /// The object as JSON, only when JSON output was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<serde_json::Value>,
    #[serde(skip)]
    pub yaml: String,
}

impl SessionOutput {
    /// Keeps what output needs from a set; `json` adds the objects and digests `-o json` shows
    /// (YAML output shows neither, so it hashes nothing).
    pub fn from_set(set: ManifestSet, json: bool) -> Result<SessionOutput> {
        let digest = if json { set.digest() } else { String::new() };
        let resources = set
            .resources
            .into_iter()
            .map(|r| ResourceOutput::from_resource(r, json))
            .collect::<Result<_>>()?;
        Ok(SessionOutput {
            name: set.session,
            digest,
            resources,
        })
    }
}

impl ResourceOutput {
    fn from_resource(r: Resource, json: bool) -> Result<ResourceOutput> {
        let (object, digest) = if json {
            let digest = r.digest();
            let object = serde_json::to_value(&r.object)
                .with_context(|| format!("{}: {} cannot be written as JSON", r.source, r.id))?;
            (Some(object), digest)
        } else {
            (None, String::new())
        };
        Ok(ResourceOutput {
            api_version: r.api_version,
            kind: r.id.kind,
            namespace: r.id.namespace,
            name: r.id.name,
            digest,
            source: r.source,
            object,
            yaml: r.yaml,
        })
    }
}

/// All sessions as one YAML stream (`---` between documents).
pub fn to_stream(sessions: &[SessionOutput]) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_stream(&mut out, sessions);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the stream of `to_stream` piece by piece (no copy of the whole output in memory).
pub fn write_stream(
    out: &mut impl std::io::Write,
    sessions: &[SessionOutput],
) -> std::io::Result<()> {
    for (i, r) in sessions.iter().flat_map(|s| &s.resources).enumerate() {
        if i > 0 {
            out.write_all(b"---\n")?;
        }
        out.write_all(r.yaml.as_bytes())?;
    }
    Ok(())
}

/// `{"sessions":[{"name","digest","resources":[…]}]}`, pretty-printed.
pub fn to_json(sessions: &[SessionOutput]) -> Result<String> {
    #[derive(Serialize)]
    struct Doc<'a> {
        sessions: &'a [SessionOutput],
    }
    let mut s = serde_json::to_string_pretty(&Doc { sessions })?;
    s.push('\n');
    Ok(s)
}

/// `NN-<kind>-<name>.yaml`: stable names, in output order.
pub fn file_name(index: usize, total: usize, r: &ResourceOutput) -> String {
    let width = total.to_string().len().max(2);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    let name = clean(r.name.trim_end_matches('-'));
    if name.is_empty() {
        // Unnamed kapp Config documents.
        format!("{:0width$}-{}.yaml", index + 1, clean(&r.kind))
    } else {
        format!("{:0width$}-{}-{name}.yaml", index + 1, clean(&r.kind))
    }
}

/// The files a render produces under the output folder: relative path → content.
pub fn planned_files(sessions: &[SessionOutput]) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    for s in sessions {
        let total = s.resources.len();
        for (i, r) in s.resources.iter().enumerate() {
            files.insert(
                Path::new(&s.name).join(file_name(i, total, r)),
                r.yaml.clone(),
            );
        }
    }
    files
}

/// True for names kpipe writes (`NN-…yaml`), the only files it removes or calls extra.
fn is_ours(name: &str) -> bool {
    let digits = name.chars().take_while(char::is_ascii_digit).count();
    digits >= 2 && name[digits..].starts_with('-') && name.ends_with(".yaml")
}

/// Files of ours present under `dir` (one level of session folders).
fn existing_files(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut out = BTreeSet::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for session in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot read", dir.display()))?
    {
        let session = session?;
        if !session.file_type()?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(session.path())? {
            let f = f?;
            let name = f.file_name().to_string_lossy().to_string();
            if f.file_type()?.is_file() && is_ours(&name) {
                out.insert(PathBuf::from(session.file_name()).join(name));
            }
        }
    }
    Ok(out)
}

/// What `--check` found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub stale: Vec<PathBuf>,
    pub missing: Vec<PathBuf>,
    pub extra: Vec<PathBuf>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty() && self.extra.is_empty()
    }

    /// One line per file: `stale: DIR/…`, then a summary line.
    pub fn render(&self, dir: &Path) -> String {
        let mut out = String::new();
        for (what, list) in [
            ("stale", &self.stale),
            ("missing", &self.missing),
            ("extra", &self.extra),
        ] {
            for p in list {
                out.push_str(&format!("{what}: {}\n", dir.join(p).display()));
            }
        }
        if self.is_clean() {
            out.push_str(&format!("{}: up to date\n", dir.display()));
        } else {
            out.push_str(&format!(
                "{}: {} stale, {} missing, {} extra; run `kpipe render --output-dir {}` to update\n",
                dir.display(),
                self.stale.len(),
                self.missing.len(),
                self.extra.len(),
                dir.display()
            ));
        }
        out
    }
}

/// Compares the planned files with what is on disk.
pub fn check_dir(dir: &Path, sessions: &[SessionOutput]) -> Result<CheckReport> {
    let planned = planned_files(sessions);
    let existing = existing_files(dir)?;
    let mut report = CheckReport::default();
    for (rel, content) in &planned {
        let path = dir.join(rel);
        match std::fs::read(&path) {
            Ok(bytes) if bytes == content.as_bytes() => {}
            Ok(_) => report.stale.push(rel.clone()),
            Err(_) => report.missing.push(rel.clone()),
        }
    }
    for rel in existing {
        if !planned.contains_key(&rel) {
            report.extra.push(rel);
        }
    }
    Ok(report)
}

/// Writes the planned files: each file atomically (temp file + rename), unchanged files left
/// alone, and files of ours that are no longer rendered removed. Rendering finished before
/// this is called, so a failed render never reaches here.
pub fn write_dir(dir: &Path, sessions: &[SessionOutput]) -> Result<CheckReport> {
    let report = check_dir(dir, sessions)?;
    let planned = planned_files(sessions);
    for rel in report.stale.iter().chain(&report.missing) {
        let path = dir.join(rel);
        let content = planned.get(rel).map(String::as_str).unwrap_or_default();
        write_atomic(&path, content.as_bytes())?;
    }
    for rel in &report.extra {
        let path = dir.join(rel);
        std::fs::remove_file(&path)
            .with_context(|| format!("{}: cannot remove", path.display()))?;
        if let Some(parent) = path.parent() {
            // Only succeeds when the session folder is now empty.
            let _ = std::fs::remove_dir(parent);
        }
    }
    Ok(report)
}

/// Writes `path` through a temporary file in the same folder and a rename, so a reader (or a
/// crash) sees either the old content or the new, never half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("{}: cannot create folder", parent.display()))?;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{file_name}.kpipe-tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        f.sync_all().ok();
        std::fs::rename(&tmp, path)
            .with_context(|| format!("{}: cannot replace", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(session: &str, names: &[(&str, &str)]) -> SessionOutput {
        SessionOutput {
            name: session.into(),
            digest: String::new(),
            resources: names
                .iter()
                .map(|(n, y)| ResourceOutput {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    namespace: None,
                    name: (*n).into(),
                    digest: String::new(),
                    source: SourceLoc {
                        file: "t".into(),
                        line: 1,
                        doc: 0,
                    },
                    object: None,
                    yaml: (*y).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn write_then_check_then_prune() {
        let d = tempfile::tempdir().unwrap();
        let a = vec![out("s1", &[("a", "x: 1\n"), ("b", "x: 2\n")])];
        write_dir(d.path(), &a).unwrap();
        assert!(check_dir(d.path(), &a).unwrap().is_clean());
        assert_eq!(
            std::fs::read_to_string(d.path().join("s1/01-configmap-a.yaml")).unwrap(),
            "x: 1\n"
        );
        let b = vec![out("s1", &[("a", "x: 9\n")])];
        let r = check_dir(d.path(), &b).unwrap();
        assert_eq!(r.stale, vec![PathBuf::from("s1/01-configmap-a.yaml")]);
        assert_eq!(r.extra, vec![PathBuf::from("s1/02-configmap-b.yaml")]);
        write_dir(d.path(), &b).unwrap();
        assert!(check_dir(d.path(), &b).unwrap().is_clean());
        // Files that are not ours are never touched.
        std::fs::write(d.path().join("s1/README.md"), "keep").unwrap();
        write_dir(d.path(), &b).unwrap();
        assert!(d.path().join("s1/README.md").exists());
    }

    #[test]
    fn names_are_stable_and_safe() {
        let o = out("s", &[("My/Name", "")]);
        assert_eq!(
            file_name(0, 1, &o.resources[0]),
            "01-configmap-my-name.yaml"
        );
        assert_eq!(
            file_name(99, 100, &o.resources[0]),
            "100-configmap-my-name.yaml"
        );
    }
}
