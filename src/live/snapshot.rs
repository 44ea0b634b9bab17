//! Live state from files: a YAML or JSON file, or a folder of them (e.g. a saved
//! `kubectl get -o yaml` List).

use super::{flatten_into, Identified, Keep, LiveObject, LiveSource, OwnedQuery, TailHelp, Wanted};
use crate::manifest::ResourceId;
use crate::yaml::Limits;
use anyhow::{bail, Context, Result};
use foldhash::{HashMap, HashMapExt};
use serde_yaml::Value;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Objects are handed out (moved, not copied) once each: 10,000 live objects are not cloned.
#[derive(Debug, Default)]
pub struct Snapshot {
    objects: RefCell<Vec<Option<LiveObject>>>,
    /// Identities are moved out with their objects (each is handed out once), not copied.
    by_id: RefCell<HashMap<ResourceId, usize>>,
}

impl Snapshot {
    /// Loads every `.yaml`/`.yml`/`.json` file (folders recursively, in name order).
    /// YAML files are read under `limits` and whole; JSON under the reader's own fixed depth,
    /// leaving out what `keep` says.
    pub fn load(path: &Path, limits: Limits, keep: Keep) -> Result<Snapshot> {
        Snapshot::load_helped(path, limits, keep, None)
    }

    /// [`Snapshot::load`], where another thread may read part of a JSON List's items
    /// ([`TailHelp::lend`]).
    pub fn load_helped(
        path: &Path,
        limits: Limits,
        keep: Keep,
        help: Option<Arc<TailHelp>>,
    ) -> Result<Snapshot> {
        let files = files_of(path)?;
        let mut objects = Vec::new();
        let mut help = help;
        for f in files {
            parse_file(&f, limits, keep, &mut objects, &mut help)?;
        }
        if let Some(h) = help {
            // No List to help with: a helper asking now finds nothing to do.
            h.close();
        }
        Ok(Snapshot::from_live(objects))
    }

    pub fn from_objects(objects: Vec<Value>) -> Snapshot {
        Snapshot::from_live(objects.into_iter().map(LiveObject::whole).collect())
    }

    fn from_live(objects: Vec<LiveObject>) -> Snapshot {
        let mut by_id = HashMap::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            if let Some(id) = o.id() {
                by_id.entry(id).or_insert(i);
            }
        }
        Snapshot {
            objects: RefCell::new(objects.into_iter().map(Some).collect()),
            by_id: RefCell::new(by_id),
        }
    }

    /// The objects not handed out yet, whole.
    pub fn into_objects(self) -> Result<Vec<Value>> {
        self.objects
            .into_inner()
            .into_iter()
            .flatten()
            .map(LiveObject::into_value)
            .collect()
    }

    /// How many objects were loaded.
    pub fn len(&self) -> usize {
        self.objects.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn files_of(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        bail!("live snapshot {} does not exist", path.display());
    }
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(path).sort_by_file_name() {
        let e = e.with_context(|| format!("reading live snapshot folder {}", path.display()))?;
        let p = e.path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or_default();
        if e.file_type().is_file() && matches!(ext, "yaml" | "yml" | "json") {
            files.push(p.to_path_buf());
        }
    }
    Ok(files)
}

/// JSON files may hold several concatenated values; YAML files several documents. JSON is
/// read in chunks as it is parsed (snapshots are large); YAML whole.
fn parse_file(
    file: &Path,
    limits: Limits,
    keep: Keep,
    out: &mut Vec<LiveObject>,
    help: &mut Option<Arc<TailHelp>>,
) -> Result<()> {
    use std::io::Read;
    let what = || format!("reading live snapshot {}", file.display());
    let mut f = std::fs::File::open(file).with_context(what)?;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]).with_context(what)? {
            0 => break,
            k => n += k,
        }
    }
    let head = &head[..n];
    let first = head
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(head)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if file.extension().is_some_and(|e| e == "json") || first == Some(&b'{') {
        // The first JSON file's first List may be helped.
        let helped = match (help.take(), f.metadata()) {
            (Some(help), Ok(m)) => Some(super::lean::Helped {
                help,
                path: file.to_path_buf(),
                len: m.len(),
                file: f.try_clone().ok(),
            }),
            _ => None,
        };
        return super::lean::parse_json_objects_helped(
            head.chain(f),
            &file.display(),
            keep,
            out,
            helped,
        );
    }
    let mut bytes = head.to_vec();
    f.read_to_end(&mut bytes).with_context(what)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: live snapshot is not UTF-8 text", file.display()))?;
    parse_into(&text, file, limits, out)
}

/// Parses a YAML snapshot's text.
fn parse_into(text: &str, file: &Path, limits: Limits, out: &mut Vec<LiveObject>) -> Result<()> {
    let docs = crate::yaml::parse_stream(text, limits)
        .with_context(|| format!("{}: live snapshot", file.display()))?;
    for d in docs {
        if !d.empty {
            if !matches!(d.value, Value::Mapping(_)) {
                bail!("{}:{}: a live object must be a map", file.display(), d.line);
            }
            let mut whole = Vec::new();
            flatten_into(d.value, &mut whole);
            out.extend(whole.into_iter().map(LiveObject::whole));
        }
    }
    Ok(())
}

impl LiveSource for Snapshot {
    fn fetch(&self, wanted: &[Wanted<'_>]) -> Result<Vec<Identified>> {
        let mut objects = self.objects.borrow_mut();
        let mut by_id = self.by_id.borrow_mut();
        // Sized up front: grown from empty, the list of 10,000 would be copied a dozen times.
        let mut out = Vec::with_capacity(wanted.len().min(objects.len()));
        out.extend(wanted.iter().filter_map(|w| {
            let (id, i) = by_id.remove_entry(w.id)?;
            Some((id, objects.get_mut(i)?.take()?))
        }));
        Ok(out)
    }

    fn list_owned(&self, q: &OwnedQuery) -> Result<Vec<Identified>> {
        let mut objects = self.objects.borrow_mut();
        let mut out = Vec::new();
        for slot in objects.iter_mut() {
            let Some(o) = slot.as_ref() else {
                continue;
            };
            if !crate::diff::ownership::label(o, &q.label_key)
                .is_some_and(|v| q.values.iter().any(|x| x == v))
            {
                continue;
            }
            // Same scoping as the cluster source: only the kinds asked for.
            let Some(id) = o.id() else {
                continue;
            };
            if q.group_kinds.is_empty()
                || q.group_kinds
                    .iter()
                    .any(|(g, k)| *g == id.group && *k == id.kind)
            {
                out.extend(slot.take().map(|o| (id, o)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_json_and_yaml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a, namespace: d}\n---\napiVersion: v1\nkind: ConfigMapList\nitems:\n- metadata: {name: b, namespace: d, labels: {kapp.k14s.io/app: '1'}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.json"),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"d"}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "not yaml: [").unwrap();
        let s = Snapshot::load(dir.path(), Limits::default(), Keep::Metadata).unwrap();
        assert_eq!(s.len(), 3);
        let got = s
            .fetch(&[Wanted {
                api_version: "v1",
                id: &ResourceId {
                    group: String::new(),
                    kind: "ConfigMap".into(),
                    namespace: Some("d".into()),
                    name: "b".into(),
                },
            }])
            .unwrap();
        assert_eq!(got.len(), 1);
        let owned = s
            .list_owned(&OwnedQuery {
                label_key: "kapp.k14s.io/app".into(),
                values: vec!["1".into()],
                group_kinds: vec![],
            })
            .unwrap();
        // `b` was handed out already.
        assert_eq!(owned.len(), 0);
        assert_eq!(s.into_objects().unwrap().len(), 2);
        let e = Snapshot::load(
            &dir.path().join("missing"),
            Limits::default(),
            Keep::Metadata,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"));
        std::fs::write(dir.path().join("c.yaml"), "a: [").unwrap();
        let e = format!(
            "{:#}",
            Snapshot::load(dir.path(), Limits::default(), Keep::Metadata).unwrap_err()
        );
        assert!(e.contains("c.yaml"), "{e}");
    }
}
