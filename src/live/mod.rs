//! Where live objects come from: the user's `kubectl`, or a saved snapshot.

mod kubectl;
mod lean;
mod snapshot;

pub use kubectl::Cluster;
pub use snapshot::Snapshot;

use crate::manifest::ResourceId;
use anyhow::Result;
use serde_yaml::Value;

/// Metadata the API server owns. kapp copies all live metadata into the new side, so these are
/// equal on both sides of a diff; kpipe drops them from both for readable reports.
pub const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// kapp's history annotations, removed from both sides before diffing.
pub const HISTORY_ANNOTATIONS: &[&str] = &[
    "kapp.k14s.io/original",
    "kapp.k14s.io/original-diff-md5",
    "kapp.k14s.io/original-diff",
    "kapp.k14s.io/original-diff-full",
];

/// How much of each live object a source reads from JSON. `status` and
/// `metadata.managedFields` are never read: kapp's diff drops both first thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Keep {
    /// Everything else (`deploy` reads `resourceVersion`, `--diff-against-last-applied` kapp's
    /// `original` annotation).
    #[default]
    Metadata,
    /// Only what a diff compares: [`SERVER_METADATA`] and [`HISTORY_ANNOTATIONS`] are left out
    /// too, as the diff removes them from both sides anyway (kapp's `original` copy alone is a
    /// sixth of a 10,000-object snapshot's data).
    Compared,
}

/// A live object wanted by identity (enough for kubectl to GET it).
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub api_version: &'a str,
    pub id: &'a ResourceId,
}

/// A live object with its identity, worked out once where the object is read.
pub type Identified = (ResourceId, Value);

/// Objects carrying an app's ownership label (candidates for deletes).
#[derive(Debug, Clone)]
pub struct OwnedQuery {
    pub label_key: String,
    pub values: Vec<String>,
    /// `(group, kind)` pairs to list: kapp lists the kinds the app has used (its app record's
    /// `usedGKs`) plus the rendered ones.
    pub group_kinds: Vec<(String, String)>,
}

/// A source of live state. A source may hand each object out only once: objects returned by
/// an earlier call can be missing from later ones (callers keep what they got).
pub trait LiveSource {
    /// The wanted objects that exist (missing ones are simply absent).
    fn fetch(&self, wanted: &[Wanted<'_>]) -> Result<Vec<Identified>>;
    /// Every object carrying one of the query's label values (objects without an identity,
    /// which nothing can match, are left out).
    fn list_owned(&self, query: &OwnedQuery) -> Result<Vec<Identified>>;
    /// The namespace of the current kube context, if any.
    fn context_namespace(&self) -> Result<Option<String>> {
        Ok(None)
    }
    /// Scopes the server reports: `(group, kind, namespaced)`.
    fn scopes(&self) -> Result<Vec<(String, String, bool)>> {
        Ok(Vec::new())
    }
}

/// Appends the objects of `v` to `out`, expanding `List`s (`kind: List`, `ConfigMapList`...).
pub fn flatten_into(v: Value, out: &mut Vec<Value>) {
    let is_list = v
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && matches!(v.get("items"), Some(Value::Sequence(_)));
    if is_list {
        if let Value::Mapping(mut m) = v {
            if let Some(Value::Sequence(items)) = m.remove("items") {
                let list_version = m.get("apiVersion").cloned();
                let list_kind = m.get("kind").and_then(Value::as_str).map(str::to_string);
                out.reserve(items.len());
                for mut item in items {
                    // Items of a typed list (`ConfigMapList` from the API) omit apiVersion/kind.
                    if let (Value::Mapping(im), Some(lk)) = (&mut item, &list_kind) {
                        if !im.contains_key("kind") && lk != "List" {
                            im.insert("kind".into(), Value::from(lk.trim_end_matches("List")));
                            if let Some(av) = &list_version {
                                im.insert("apiVersion".into(), av.clone());
                            }
                        }
                    }
                    flatten_into(item, out);
                }
            }
        }
    } else if !v.is_null() {
        out.push(v);
    }
}
