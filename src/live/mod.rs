//! Where live objects come from: the user's `kubectl`, or a saved snapshot.

mod head;
mod kubectl;
mod lean;
mod snapshot;
mod tail;

pub use head::Meta;
use head::{Head, HeadBuilder};
pub use kubectl::Cluster;
pub use snapshot::Snapshot;
pub use tail::TailHelp;

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

/// A live object as sources hand it out. Objects read from JSON are kept as the compact JSON
/// of what the reader keeps of them, with the few strings identity, ownership and versioning
/// look at beside it ([`Head`]); each is built into a value only when it is compared, in the
/// diff thread that compares it, whose memory is then reused for the next. So the 10,000
/// objects of a large snapshot are never all in memory as values at once.
#[derive(Debug, Clone)]
pub struct LiveObject {
    repr: Repr,
    /// Where it was read (a file, kubectl's output), for an error found when it is built.
    source: Option<std::sync::Arc<str>>,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Boxed: most objects are held as JSON, and the list of them is as wide as its widest.
    Whole(Box<Value>),
    /// `json` holds the object's entries, `apiVersion`, `kind` and `metadata` first (they end
    /// at byte `head_end`), then the rest.
    Json {
        head: Box<Head>,
        json: Box<str>,
        head_end: u32,
    },
}

impl Default for LiveObject {
    fn default() -> Self {
        LiveObject::whole(Value::Null)
    }
}

impl LiveObject {
    /// An object held whole (YAML snapshots, tests).
    pub fn whole(v: Value) -> LiveObject {
        LiveObject {
            repr: Repr::Whole(Box::new(v)),
            source: None,
        }
    }

    /// An object the JSON reader kept as text: `json` is a JSON object whose head entries
    /// end at byte `head_end`.
    pub(crate) fn json(
        head: Head,
        json: Box<str>,
        head_end: u32,
        source: std::sync::Arc<str>,
    ) -> LiveObject {
        LiveObject {
            repr: Repr::Json {
                head: Box::new(head),
                json,
                head_end,
            },
            source: Some(source),
        }
    }

    /// The identity, as [`ResourceId::of`] finds it in the whole object.
    pub fn id(&self) -> Option<ResourceId> {
        match &self.repr {
            Repr::Whole(v) => ResourceId::of(v),
            Repr::Json { head, .. } => head.id(),
        }
    }

    /// `kind`, when a string.
    pub fn kind(&self) -> Option<&str> {
        match &self.repr {
            Repr::Whole(v) => v.at("kind").and_then(Value::as_str),
            Repr::Json { head, .. } => head.kind(),
        }
    }

    /// Whether it is held as JSON text (read from JSON), not as a value.
    pub fn is_split(&self) -> bool {
        matches!(&self.repr, Repr::Json { .. })
    }

    fn is_null(&self) -> bool {
        matches!(&self.repr, Repr::Whole(v) if v.is_null())
    }

    /// The whole object.
    pub fn into_value(self) -> Result<Value> {
        match self.repr {
            Repr::Whole(v) => Ok(*v),
            Repr::Json { json, .. } => built(&json, self.source.as_deref()),
        }
    }

    /// The object built in part: the top-level fields `build` picks, as a map; the others
    /// left as JSON text, compared where they are ([`Partial::equal`]). `None` for an object
    /// held whole, or one only the whole build can tell about (a repeated key).
    pub fn partial(&self, build: &dyn Fn(&str) -> bool) -> Result<Option<Partial<'_>>> {
        let Repr::Json { json, .. } = &self.repr else {
            return Ok(None);
        };
        Ok(lean::parse_split(json, build)
            .map_err(|e| self.sourced(e))?
            .map(|(value, fields)| Partial {
                value,
                rest: Rest::Fields(fields),
            }))
    }

    /// [`LiveObject::partial`] with only `apiVersion`, `kind` and `metadata` built: the other
    /// fields (never `status`: the reader drops it) stay one text, compared in one pass.
    pub fn head(&self) -> Result<Option<Partial<'_>>> {
        let Repr::Json { json, head_end, .. } = &self.repr else {
            return Ok(None);
        };
        let at = *head_end as usize;
        let Some(rest) = json.get(at..) else {
            return Ok(None);
        };
        let value = lean::parse_head(json, at).map_err(|e| self.sourced(e))?;
        Ok(Some(Partial {
            value,
            rest: Rest::Text(rest),
        }))
    }

    /// An error building the object, named after where it was read.
    fn sourced(&self, e: anyhow::Error) -> anyhow::Error {
        match self.source.as_deref() {
            Some(source) => anyhow::anyhow!("{source}: {e}"),
            None => e,
        }
    }

    /// The whole object, copied.
    pub fn to_value(&self) -> Result<Value> {
        match &self.repr {
            Repr::Whole(v) => Ok(v.as_ref().clone()),
            Repr::Json { json, .. } => built(json, self.source.as_deref()),
        }
    }

    /// Gives an item of a typed List (`ConfigMapList` from the API) the `kind` and
    /// `apiVersion` its items omit, as [`typed_list_item`] does for a value.
    fn typed(&mut self, list_kind: Option<&str>, list_version: Option<&Value>) -> Result<()> {
        let Repr::Json {
            head,
            json,
            head_end,
        } = &mut self.repr
        else {
            if let Repr::Whole(v) = &mut self.repr {
                typed_list_item(v, list_kind, list_version);
            }
            return Ok(());
        };
        let Some(lk) = list_kind.filter(|lk| *lk != "List") else {
            return Ok(());
        };
        // A `kind` that is not a string makes the reader keep the object whole.
        if head.kind().is_some() {
            return Ok(());
        }
        let av = match list_version {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            // Rare enough to build whole.
            Some(_) => {
                let mut v = std::mem::take(self).into_value()?;
                typed_list_item(&mut v, list_kind, list_version);
                *self = LiveObject::whole(v);
                return Ok(());
            }
        };
        let kind = lk.trim_end_matches("List");
        let at = *head_end as usize;
        let mut added = Vec::new();
        if at > 1 {
            added.push(b',');
        }
        added.extend_from_slice(b"\"kind\":");
        lean::write_json_string(&mut added, kind);
        if let Some(av) = av {
            added.extend_from_slice(b",\"apiVersion\":");
            lean::write_json_string(&mut added, av);
        }
        if at == 1 && json.len() > 2 {
            added.push(b',');
        }
        // Only ASCII and whole strings were written.
        let added = String::from_utf8(added).unwrap_or_default();
        let mut text = String::with_capacity(json.len() + added.len());
        text.push_str(json.get(..at).unwrap_or_default());
        text.push_str(&added);
        text.push_str(json.get(at..).unwrap_or_default());
        let new_head = HeadBuilder::with_type(head, kind, av)
            .map_err(|_| anyhow::anyhow!("a live object's metadata is over 4 GiB"))?;
        let end = u32::try_from(at + added.len())
            .map_err(|_| anyhow::anyhow!("a live object's metadata is over 4 GiB"))?;
        **head = new_head;
        *json = text.into_boxed_str();
        *head_end = end;
        Ok(())
    }
}

impl Meta for LiveObject {
    fn label(&self, key: &str) -> Option<&str> {
        match &self.repr {
            Repr::Whole(v) => v.label(key),
            Repr::Json { head, .. } => head.label(key),
        }
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        match &self.repr {
            Repr::Whole(v) => v.annotation(key),
            Repr::Json { head, .. } => head.annotation(key),
        }
    }
    fn has_annotation(&self, key: &str) -> bool {
        match &self.repr {
            Repr::Whole(v) => v.has_annotation(key),
            Repr::Json { head, .. } => head.has_annotation(key),
        }
    }
}

/// A live object built in part ([`LiveObject::partial`], [`LiveObject::head`]).
#[derive(Debug)]
pub struct Partial<'a> {
    /// The fields built, as a map.
    pub value: Value,
    rest: Rest<'a>,
}

/// The fields of a [`Partial`] left as JSON text.
#[derive(Debug)]
enum Rest<'a> {
    /// Everything after the head entries, as the object's text has it.
    Text(&'a str),
    /// Each field apart: key and text.
    Fields(Vec<(String, &'a str)>),
}

impl Partial<'_> {
    /// Whether `whole`, a map, equals the live object with `value`'s fields replaced by
    /// `built` (a map): its other fields compared with their JSON text. `None` when only
    /// building them can tell.
    pub fn equal(&self, built: &Value, whole: &Value) -> Option<bool> {
        let (Value::Mapping(b), Value::Mapping(w)) = (built, whole) else {
            return Some(false);
        };
        let taken = |k: &str| b.at(k).is_some();
        let n = match &self.rest {
            Rest::Text(text) => match lean::rest_equals(text, w, &taken)? {
                Some(n) => n,
                None => return Some(false),
            },
            Rest::Fields(fields) => {
                for (k, text) in fields {
                    let Some(v) = w.at(k) else {
                        return Some(false);
                    };
                    if taken(k) || !lean::equals(text, v)? {
                        return Some(false);
                    }
                }
                fields.len()
            }
        };
        Some(
            w.len() == b.len() + n
                && b.iter().all(|(k, v)| {
                    crate::lookup::find(w, k).is_some_and(|x| crate::diff::same(v, x))
                }),
        )
    }
}

/// The object in `json`, which the reader wrote itself.
fn built(json: &str, source: Option<&str>) -> Result<Value> {
    // It was checked while copied; this fails only on a repeated key below `metadata`, which
    // is not looked for while copying.
    lean::parse_rest(json).map_err(|e| match source {
        Some(source) => anyhow::anyhow!("{source}: {e}"),
        None => e,
    })
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
        item.typed(list_kind, list_version)?;
        let nested = item.kind().is_some_and(|k| k.ends_with("List"));
        if nested || item.is_null() {
            let mut whole = Vec::new();
            flatten_into(item.into_value()?, &mut whole);
            out.extend(whole.into_iter().map(LiveObject::whole));
        } else {
            out.push(item);
        }
    }
    Ok(())
}
