//! kapp-compatible diff of rendered manifests against live objects.
//!
//! Flow: split kapp `Config` documents from each rendered set ([`config`]), pair rendered and
//! live objects by identity and decide an op per resource ([`ops`]), normalizing both sides
//! the way kapp does ([`normalize`], [`ownership`]); report writers ([`report`]) render line
//! diffs ([`text`]) with Secret values masked ([`mask`]). Objects annotated
//! `kapp.k14s.io/versioned` are named, diffed and referenced as kapp versions them
//! ([`versioned`]).

pub mod cmd;
pub mod config;
pub mod filter;
pub mod mask;
pub mod matcher;
pub mod normalize;
pub mod ops;
pub mod ownership;
pub mod path;
pub mod report;
pub mod text;
pub mod versioned;

use crate::manifest::{ResourceId, SourceLoc};

/// `a == b`, without a hash lookup per map entry where both maps list their keys in the same
/// order (the usual case: both sides of a diff come from the same object). A map whose order
/// differs is compared by lookups, as `==` does (order does not count).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            if x.len() != y.len() {
                return false;
            }
            if x.keys().zip(y.keys()).all(|(k, l)| k == l) {
                x.values().zip(y.values()).all(|(v, w)| same(v, w))
            } else {
                // Live objects list keys sorted (kubectl), rendered ones as written.
                x.iter()
                    .all(|(k, v)| crate::lookup::find(y, k).is_some_and(|w| same(v, w)))
            }
        }
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        (Value::Tagged(x), Value::Tagged(y)) => x.tag == y.tag && same(&x.value, &y.value),
        _ => a == b,
    }
}

/// Rendered sets for the diff's unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::diff::config::partition_configs;
    use crate::manifest::{build_set, BuildOptions, ManifestSet, Scopes, SourceLoc, SourcedDoc};

    /// Session `s1` from YAML documents (namespace `demo`), and its kapp Config documents.
    pub fn set(docs: &[&str]) -> (ManifestSet, Vec<SourcedDoc>) {
        let docs = docs
            .iter()
            .enumerate()
            .map(|(i, d)| SourcedDoc {
                rest: None,
                value: serde_yaml::from_str(d).unwrap(),
                source: SourceLoc {
                    file: "t.yaml".into(),
                    line: i + 1,
                    doc: i,
                },
            })
            .collect();
        let opts = BuildOptions {
            namespace: Some("demo".into()),
            scopes: Scopes::new(&[]),
        };
        let (configs, docs) = partition_configs(docs);
        (build_set("s1", docs, &opts).unwrap(), configs)
    }
}
use serde::Serialize;
use serde_yaml::Value;

/// Maps `f` over `items` in parallel, keeping the order ([`crate::par::map`]); fewer than 64
/// items per extra thread stay on the calling thread.
pub fn par_map<T: Send, U: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> anyhow::Result<U> + Sync,
) -> anyhow::Result<Vec<U>> {
    crate::par::map(items, 64, f)
}

/// [`par_map`] with room for `room` more results ([`crate::par::map_with_room`]).
pub fn par_map_with_room<T: Send, U: Send>(
    items: Vec<T>,
    room: usize,
    f: impl Fn(T) -> anyhow::Result<U> + Sync,
) -> anyhow::Result<Vec<U>> {
    crate::par::map_with_room(items, 64, room, f)
}

/// What applying the rendered set would do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    Delete,
    /// Nothing to do (unchanged, or `kapp.k14s.io/noop`, or `exists` and present).
    Noop,
    /// `kapp.k14s.io/exists` and absent: kapp waits for someone else to create it.
    Exists,
    /// The live object belongs to another kapp app: kapp would refuse to deploy.
    Conflict,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Noop => "noop",
            Op::Exists => "exists",
            Op::Conflict => "conflict",
        }
    }

    /// Everything but noop counts as a pending change (kapp's diff exit status).
    pub fn is_change(self) -> bool {
        self != Op::Noop
    }

    pub const ALL: [Op; 6] = [
        Op::Create,
        Op::Update,
        Op::Delete,
        Op::Noop,
        Op::Exists,
        Op::Conflict,
    ];
}

/// One resource's change, with both normalized sides (unmasked) for the report writers.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: ResourceId,
    pub api_version: String,
    pub op: Op,
    /// Live side after normalization (`None` for creates).
    pub existing: Option<Value>,
    /// New side after rebasing (`None` for deletes).
    pub new: Option<Value>,
    /// Where the rendered document came from (`None` for deletes).
    pub source: Option<SourceLoc>,
    /// `kapp.k14s.io/change-group*` annotation values.
    pub change_groups: Vec<String>,
    /// Dotted paths whose values differ between the sides (for update/conflict).
    pub changed_paths: Vec<String>,
    /// Why (conflicts, noop/exists annotations).
    pub reason: Option<String>,
    /// `existing` and `new` as sorted YAML, when the diff wrote them to decide (an update or
    /// a conflict): the report shows them as they are where nothing is masked.
    pub texts: Option<Box<[String; 2]>>,
}

/// The changes of one session, in kapp's order: rendered order, then deletes.
#[derive(Debug, Clone)]
pub struct SessionDiff {
    pub session: String,
    pub changes: Vec<Change>,
    /// Things kpipe could not evaluate (ytt rebase rules...).
    pub warnings: Vec<String>,
    /// The session's `diffMaskRules` (defaults plus its Configs), for the report writers.
    pub mask_rules: Vec<config::PathRule>,
}

/// The whole diff: one entry per session.
#[derive(Debug, Clone, Default)]
pub struct DiffResult {
    pub sessions: Vec<SessionDiff>,
}

impl DiffResult {
    pub fn has_changes(&self) -> bool {
        self.sessions
            .iter()
            .any(|s| s.changes.iter().any(|c| c.op.is_change()))
    }

    /// Count of changes per op over all sessions.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in &self.sessions {
            t.add(&s.changes);
        }
        t
    }
}

/// Per-op counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub noop: usize,
    pub exists: usize,
    pub conflict: usize,
}

impl Totals {
    pub fn add(&mut self, changes: &[Change]) {
        for c in changes {
            *match c.op {
                Op::Create => &mut self.create,
                Op::Update => &mut self.update,
                Op::Delete => &mut self.delete,
                Op::Noop => &mut self.noop,
                Op::Exists => &mut self.exists,
                Op::Conflict => &mut self.conflict,
            } += 1;
        }
    }

    pub fn of(changes: &[Change]) -> Totals {
        let mut t = Totals::default();
        t.add(changes);
        t
    }

    /// `Op: 1 create, 0 delete, 2 update, 5 noop, 0 exists, 0 conflict` (kapp's order).
    pub fn line(&self) -> String {
        format!(
            "Op: {} create, {} delete, {} update, {} noop, {} exists, {} conflict",
            self.create, self.delete, self.update, self.noop, self.exists, self.conflict
        )
    }
}

/// Dotted paths where two values differ (`spec.ports[0].protocol`, `metadata.labels["a/b"]`).
pub fn changed_paths(a: Option<&Value>, b: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    walk_changes(a, b, &mut String::new(), &mut out);
    out
}

fn walk_changes(a: Option<&Value>, b: Option<&Value>, path: &mut String, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Mapping(x)), Some(Value::Mapping(y))) => {
            let mut keys: Vec<&Value> = x
                .keys()
                .chain(y.keys().filter(|k| crate::lookup::find(x, k).is_none()))
                .collect();
            keys.sort_by_key(|k| crate::yaml::key_text(k));
            for k in keys {
                let len = path.len();
                push_key(path, &crate::yaml::key_text(k));
                walk_changes(
                    crate::lookup::find(x, k),
                    crate::lookup::find(y, k),
                    path,
                    out,
                );
                path.truncate(len);
            }
        }
        (Some(Value::Sequence(x)), Some(Value::Sequence(y))) => {
            for i in 0..x.len().max(y.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_changes(x.get(i), y.get(i), path, out);
                path.truncate(len);
            }
        }
        (x, y) if x != y => out.push(if path.is_empty() {
            ".".into()
        } else {
            path.clone()
        }),
        _ => {}
    }
}

fn push_key(path: &mut String, k: &str) {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(k);
    } else {
        path.push_str(&format!(
            "[{}]",
            serde_json::to_string(k).unwrap_or_default()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_map_keeps_order_and_first_error() {
        let items: Vec<usize> = (0..1000).collect();
        let doubled = par_map(items.clone(), |i| Ok(i * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let e = par_map(items, |i| {
            if i == 700 || i == 900 {
                anyhow::bail!("bad {i}")
            }
            Ok(i)
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "bad 700");
        assert!(par_map(Vec::<usize>::new(), Ok).unwrap().is_empty());
    }

    #[test]
    fn changed_paths_names_leaves() {
        let a: Value = serde_yaml::from_str("spec: {ports: [{port: 80, protocol: TCP}], type: ClusterIP}\nmetadata: {annotations: {a.b/c: x}}").unwrap();
        let b: Value = serde_yaml::from_str("spec: {ports: [{port: 80}]}\nmetadata: {}").unwrap();
        assert_eq!(
            changed_paths(Some(&a), Some(&b)),
            vec![
                "metadata.annotations",
                "spec.ports[0].protocol",
                "spec.type"
            ]
        );
        let c: Value = serde_yaml::from_str("metadata: {annotations: {a.b/c: y}}").unwrap();
        assert_eq!(
            changed_paths(Some(&a.get("metadata").unwrap().clone()), c.get("metadata")),
            vec!["annotations[\"a.b/c\"]"]
        );
    }
}
