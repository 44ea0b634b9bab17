//! What the diff asks of a live object before building it (identity, labels, annotations),
//! kept as a few strings in one buffer. A 10,000-object snapshot held as values costs about
//! 3.5 KB an object for `metadata` alone (maps of 168-byte entries); this is under 1 KB.

use crate::lookup::Lookup;
use crate::manifest::ResourceId;
use serde_yaml::Value;

/// The labels and annotations of an object, as the diff reads them: `label` and `annotation`
/// are string values (`None` for a missing key or a value that is not a string),
/// `has_annotation` any value.
pub trait Meta {
    fn label(&self, key: &str) -> Option<&str>;
    fn annotation(&self, key: &str) -> Option<&str>;
    fn has_annotation(&self, key: &str) -> bool;
}

impl Meta for Value {
    fn label(&self, key: &str) -> Option<&str> {
        self.at("metadata")?.at("labels")?.at(key)?.as_str()
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.at("metadata")?.at("annotations")?.at(key)?.as_str()
    }
    fn has_annotation(&self, key: &str) -> bool {
        self.at("metadata")
            .and_then(|m| m.at("annotations"))
            .and_then(|a| a.at(key))
            .is_some()
    }
}

/// A range of [`Head::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// One entry of `labels` or `annotations`: the value is `None` when it is not a string.
type Entry = (Span, Option<Span>);

/// `apiVersion`, `kind`, `metadata.name`, `generateName`, `namespace` (each when a string),
/// and the string-keyed maps `metadata.labels` and `metadata.annotations`.
#[derive(Debug, Clone, Default)]
pub struct Head {
    text: Box<str>,
    api_version: Option<Span>,
    kind: Option<Span>,
    name: Option<Span>,
    generate_name: Option<Span>,
    namespace: Option<Span>,
    labels: Box<[Entry]>,
    annotations: Box<[Entry]>,
}

/// The text of `s` in `text` (spans are made over it by the builder, on character boundaries).
fn at(text: &str, s: Span) -> &str {
    text.get(s.start as usize..(s.start + s.len) as usize)
        .unwrap_or_default()
}

impl Head {
    fn get(&self, s: Span) -> &str {
        at(&self.text, s)
    }

    fn opt(&self, s: Option<Span>) -> Option<&str> {
        s.map(|s| self.get(s))
    }

    pub fn api_version(&self) -> Option<&str> {
        self.opt(self.api_version)
    }

    pub fn kind(&self) -> Option<&str> {
        self.opt(self.kind)
    }

    /// The identity, as [`ResourceId::of`] finds it in the whole object.
    pub fn id(&self) -> Option<ResourceId> {
        let api_version = self.api_version()?;
        let kind = self.kind()?;
        let name = self
            .opt(self.name)
            .filter(|s| !s.is_empty())
            .or(self.opt(self.generate_name))
            .unwrap_or("");
        let namespace = self.opt(self.namespace).filter(|s| !s.is_empty());
        Some(ResourceId {
            group: crate::manifest::group_of(api_version).to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        })
    }

    fn find(&self, entries: &[Entry], key: &str) -> Option<Option<&str>> {
        entries
            .iter()
            .find(|(k, _)| self.get(*k) == key)
            .map(|(_, v)| self.opt(*v))
    }
}

impl Meta for Head {
    fn label(&self, key: &str) -> Option<&str> {
        self.find(&self.labels, key).flatten()
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.find(&self.annotations, key).flatten()
    }
    fn has_annotation(&self, key: &str) -> bool {
        self.find(&self.annotations, key).is_some()
    }
}

/// Which field of a head a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ApiVersion,
    Kind,
    Name,
    GenerateName,
    Namespace,
}

/// Which map an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Map {
    Labels,
    Annotations,
}

/// Builds a [`Head`] while an object is read.
#[derive(Debug, Default)]
pub struct HeadBuilder {
    text: String,
    head: Head,
    labels: Vec<Entry>,
    annotations: Vec<Entry>,
}

/// A head too large for 32-bit offsets (4 GiB of metadata).
#[derive(Debug)]
pub struct TooLarge;

impl HeadBuilder {
    fn push(&mut self, s: &str) -> Result<Span, TooLarge> {
        let start = u32::try_from(self.text.len()).map_err(|_| TooLarge)?;
        let len = u32::try_from(s.len()).map_err(|_| TooLarge)?;
        start.checked_add(len).ok_or(TooLarge)?;
        self.text.push_str(s);
        Ok(Span { start, len })
    }

    /// Notes a string field (a repeated one was refused by the reader already).
    pub fn field(&mut self, f: Field, s: &str) -> Result<(), TooLarge> {
        let span = Some(self.push(s)?);
        let h = &mut self.head;
        match f {
            Field::ApiVersion => h.api_version = span,
            Field::Kind => h.kind = span,
            Field::Name => h.name = span,
            Field::GenerateName => h.generate_name = span,
            Field::Namespace => h.namespace = span,
        }
        Ok(())
    }

    /// Notes an entry of `labels` or `annotations`; `value` is `None` when not a string.
    pub fn entry(&mut self, m: Map, key: &str, value: Option<&str>) -> Result<(), TooLarge> {
        let k = self.push(key)?;
        let v = value.map(|v| self.push(v)).transpose()?;
        match m {
            Map::Labels => self.labels.push((k, v)),
            Map::Annotations => self.annotations.push((k, v)),
        }
        Ok(())
    }

    /// Whether `map` already holds `key` among the entries noted since `from`.
    pub fn repeated(&self, m: Map, from: usize, key: &str) -> bool {
        let entries = match m {
            Map::Labels => &self.labels,
            Map::Annotations => &self.annotations,
        };
        entries
            .get(from..)
            .unwrap_or_default()
            .iter()
            .any(|(k, _)| at(&self.text, *k) == key)
    }

    /// How many entries `map` holds so far.
    pub fn len(&self, m: Map) -> usize {
        match m {
            Map::Labels => self.labels.len(),
            Map::Annotations => self.annotations.len(),
        }
    }

    /// Forgets the entries of `map` from `from` on (a map dropped whole).
    pub fn truncate(&mut self, m: Map, from: usize) {
        match m {
            Map::Labels => self.labels.truncate(from),
            Map::Annotations => self.annotations.truncate(from),
        }
    }

    /// The head, and the builder emptied for the next object (its buffers kept).
    pub fn finish(&mut self) -> Head {
        let mut head = std::mem::take(&mut self.head);
        head.text = self.text.as_str().into();
        head.labels = self.labels.as_slice().into();
        head.annotations = self.annotations.as_slice().into();
        self.text.clear();
        self.labels.clear();
        self.annotations.clear();
        head
    }

    /// Sets `kind` and `apiVersion` taken from a typed List (its items omit them).
    pub fn with_type(head: &Head, kind: &str, api_version: Option<&str>) -> Result<Head, TooLarge> {
        let mut b = HeadBuilder {
            text: head.text.to_string(),
            head: head.clone(),
            labels: head.labels.to_vec(),
            annotations: head.annotations.to_vec(),
        };
        b.field(Field::Kind, kind)?;
        if let Some(av) = api_version {
            b.field(Field::ApiVersion, av)?;
        }
        Ok(b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_the_whole_object_does() {
        let mut b = HeadBuilder::default();
        b.field(Field::ApiVersion, "apps/v1").unwrap();
        b.field(Field::Kind, "Deployment").unwrap();
        b.field(Field::Name, "").unwrap();
        b.field(Field::GenerateName, "web-").unwrap();
        b.field(Field::Namespace, "demo").unwrap();
        b.entry(Map::Labels, "kapp.k14s.io/app", Some("123"))
            .unwrap();
        b.entry(Map::Labels, "n", None).unwrap();
        b.entry(Map::Annotations, "a", None).unwrap();
        assert!(b.repeated(Map::Labels, 0, "n"));
        assert!(!b.repeated(Map::Labels, 2, "n"));
        let h = b.finish();
        let v: Value = serde_yaml::from_str(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: '', generateName: web-, namespace: demo, labels: {kapp.k14s.io/app: '123', n: 1}, annotations: {a: [1]}}",
        )
        .unwrap();
        assert_eq!(h.id(), ResourceId::of(&v));
        for k in ["kapp.k14s.io/app", "n", "x"] {
            assert_eq!(h.label(k), v.label(k), "{k}");
        }
        for k in ["a", "x"] {
            assert_eq!(h.annotation(k), v.annotation(k), "{k}");
            assert_eq!(h.has_annotation(k), v.has_annotation(k), "{k}");
        }
        // The builder starts empty again.
        assert!(b.finish().id().is_none());
    }
}
