//! Where live objects come from: the user's `kubectl`, or a saved snapshot.

mod kubectl;
mod lean;
mod snapshot;

pub use kubectl::Cluster;
pub use snapshot::Snapshot;

use crate::lookup::Lookup;
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
pub type Identified = (ResourceId, LiveObject);

/// A live object as sources hand it out. Objects read from JSON keep `apiVersion`, `kind` and
/// `metadata` (all that identity, ownership and versioning look at) as a value, and the rest
/// (`spec`, `data`, ...) as compact JSON text, built into a value only when the object is
/// compared. So the 10,000 specs of a large snapshot are never all in memory as values at once:
/// each is built in the diff thread that compares it, whose memory is then reused for the next.
#[derive(Debug, Clone, Default)]
pub struct LiveObject {
    head: Value,
    /// A JSON object holding the other top-level fields; `None`: `head` is the whole object.
    rest: Option<Box<str>>,
    /// Where it was read (a file, kubectl's output), for an error found when `rest` is built.
    source: Option<std::sync::Arc<str>>,
}

impl LiveObject {
    /// An object held whole (YAML snapshots, tests).
    pub fn whole(v: Value) -> LiveObject {
        LiveObject {
            head: v,
            rest: None,
            source: None,
        }
    }

    /// `head` and the compact JSON of the rest, as the JSON reader splits an object.
    pub(crate) fn split(
        head: Value,
        rest: Option<Box<str>>,
        source: std::sync::Arc<str>,
    ) -> LiveObject {
        LiveObject {
            head,
            rest,
            source: Some(source),
        }
    }

    /// `apiVersion`, `kind` and `metadata`, and the rest too when held whole: for what reads
    /// only identity, labels and annotations.
    pub fn head(&self) -> &Value {
        &self.head
    }

    /// The whole object.
    pub fn into_value(self) -> Result<Value> {
        built(self.head, self.rest.as_deref(), self.source.as_deref())
    }

    /// The whole object, copied.
    pub fn to_value(&self) -> Result<Value> {
        built(
            self.head.clone(),
            self.rest.as_deref(),
            self.source.as_deref(),
        )
    }
}

/// `head` with the fields of `rest` added.
fn built(mut head: Value, rest: Option<&str>, source: Option<&str>) -> Result<Value> {
    let Some(rest) = rest else {
        return Ok(head);
    };
    // The reader wrote `rest` itself, from input it checked; this fails only on a duplicate
    // key deeper inside, which it does not look for while copying.
    let rest = lean::parse_rest(rest).map_err(|e| match source {
        Some(source) => anyhow::anyhow!("{source}: {e}"),
        None => e,
    })?;
    if let (Value::Mapping(h), Value::Mapping(r)) = (&mut head, rest) {
        for (k, v) in r {
            h.insert(k, v);
        }
    }
    Ok(head)
}

impl From<Value> for LiveObject {
    fn from(v: Value) -> LiveObject {
        LiveObject::whole(v)
    }
}

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
        .at("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && matches!(v.at("items"), Some(Value::Sequence(_)));
    if is_list {
        if let Value::Mapping(mut m) = v {
            if let Some(Value::Sequence(items)) = m.remove("items") {
                let list_version = m.at("apiVersion").cloned();
                let list_kind = m.at("kind").and_then(Value::as_str).map(str::to_string);
                out.reserve(items.len());
                for mut item in items {
                    typed_list_item(&mut item, list_kind.as_deref(), list_version.as_ref());
                    flatten_into(item, out);
                }
            }
        }
    } else if !v.is_null() {
        out.push(v);
    }
}

/// Items of a typed list (`ConfigMapList` from the API) omit apiVersion/kind: the list's apply.
fn typed_list_item(item: &mut Value, list_kind: Option<&str>, list_version: Option<&Value>) {
    if let (Value::Mapping(im), Some(lk)) = (item, list_kind) {
        if !im.contains_key("kind") && lk != "List" {
            im.insert("kind".into(), Value::from(lk.trim_end_matches("List")));
            if let Some(av) = list_version {
                im.insert("apiVersion".into(), av.clone());
            }
        }
    }
}

/// Appends a List's items, read apart from it as [`LiveObject`]s, to `out`, as
/// [`flatten_into`] does for a List read whole (nested Lists are read whole and expanded).
fn flatten_items(list: &Value, items: Vec<LiveObject>, out: &mut Vec<LiveObject>) -> Result<()> {
    let list_version = list.at("apiVersion");
    let list_kind = list.at("kind").and_then(Value::as_str);
    out.reserve(items.len());
    for mut item in items {
        typed_list_item(&mut item.head, list_kind, list_version);
        let nested = item
            .head
            .at("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"));
        if nested || item.head.is_null() {
            let mut whole = Vec::new();
            flatten_into(item.into_value()?, &mut whole);
            out.extend(whole.into_iter().map(LiveObject::whole));
        } else {
            out.push(item);
        }
    }
    Ok(())
}
