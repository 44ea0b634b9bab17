//! YAML streams read head first: each document's `apiVersion`, `kind` and `metadata` (all that
//! identity, placement, ownership and versioning look at) are parsed as the stream is read; the
//! other top-level entries (`spec`, `data`, ...) stay text until the object is needed whole, in
//! the diff thread that compares it. So the documents of a 10,000-object stream are never all in
//! memory as values at once (`live::LiveObject` does the same for JSON).
//!
//! A document is cut only between top-level entries, at column-0 lines that start a plain key;
//! those can be nothing else in a block mapping at column 0 (block scalars and nested
//! collections are indented, and `- ` items at column 0 belong to the entry above). A text with
//! anything outside that shape (directives, `...`, content after `---`, an indented or flow or
//! sequence document, tabs or CRs at line starts, a head key after another key, a repeated
//! key) is not cut at all: [`read`] returns `None` and the caller parses it whole, as before.
//! A piece that does not parse alone (an alias of an anchor in another piece, a quoted scalar
//! continued at column 0) is parsed again as its whole document, which gives the value or the
//! error the whole stream would have given.

// Pieces of a text `read` checked whole (no BOM, no control characters) are not checked again.
use super::{parse_one_checked, resolve_plain, Limits, YamlError};
use serde_yaml::Value;
use std::ops::Range;
use std::sync::Arc;

/// The top-level keys parsed when the stream is read.
const HEAD_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// One document: its head parsed, the rest as text.
#[derive(Debug)]
pub struct HeadDoc {
    /// A mapping of the head keys the document has.
    pub head: Value,
    /// 1-based line of the document's first key (as [`super::Doc::line`]).
    pub line: usize,
    /// Index in the stream, empty documents counted (as [`super::parse_stream`] lists them).
    pub index: usize,
    /// The other top-level entries; `None` when there are none.
    pub rest: Option<Rest>,
}

/// The unparsed top-level entries of a document read by [`read`].
#[derive(Debug, Clone)]
pub struct Rest {
    /// The whole stream.
    text: Arc<String>,
    /// The entries after the head.
    rest: Range<usize>,
    /// The whole document, parsed when the rest does not parse alone.
    doc: Range<usize>,
    /// 1-based line where `doc` starts in `text`.
    doc_line: usize,
    limits: Limits,
    /// The head's `metadata` lost its maps and lists ([`HeadDoc::trim`]): they are parsed
    /// again from the whole document.
    trimmed: bool,
}

impl Rest {
    /// Whether the head lost its `metadata` maps and lists ([`HeadDoc::trim`]): completing
    /// then parses the whole document again and takes nothing from the head, which may have
    /// been let go of (`null`); what placement set there is the caller's to set again
    /// ([`crate::manifest::Resource::complete`]).
    pub fn is_trimmed(&self) -> bool {
        self.trimmed
    }

    /// The whole document: `head` with the rest's entries after its own (for a trimmed head,
    /// the whole document as its text says). Errors carry their line in the whole stream.
    pub fn complete(&self, head: Value) -> Result<Value, YamlError> {
        if self.trimmed {
            return self.whole();
        }
        let text = self.text.get(self.rest.clone()).unwrap_or_default();
        match (head, parse_one_checked(text, self.limits)) {
            // Keys differ from the head's: `read` checked that they do.
            (Value::Mapping(mut head), Ok(Value::Mapping(rest))) => {
                head.extend(rest);
                Ok(Value::Mapping(head))
            }
            _ => self.whole(),
        }
    }

    fn whole(&self) -> Result<Value, YamlError> {
        let text = self.text.get(self.doc.clone()).unwrap_or_default();
        parse_one_checked(text, self.limits).map_err(|mut e| {
            e.line += self.doc_line - 1;
            e
        })
    }
}

impl HeadDoc {
    /// Drops the maps and lists of the head's `metadata` (labels, annotations, owner
    /// references...), leaving `null` in their place, when the document has a rest to be parsed
    /// with: [`Rest::complete`] then parses the whole document and takes them from it. Scalars
    /// (name, namespace) stay. For a head kept until its object is compared, whose labels and
    /// annotations nothing reads before: a `metadata` map of 10 entries is over 2 KB as values.
    pub fn trim(&mut self) {
        let (Some(rest), Some(Value::Mapping(meta))) = (
            self.rest.as_mut(),
            self.head
                .as_mapping_mut()
                .and_then(|h| h.get_mut("metadata")),
        ) else {
            return;
        };
        for v in meta.values_mut() {
            if matches!(v, Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_)) {
                *v = Value::Null;
                rest.trimmed = true;
            }
        }
    }
}

/// The non-empty documents of `text`, heads parsed; `None` when the text is not cut (see the
/// module's comment): the caller parses it whole.
pub fn read(text: Arc<String>, limits: Limits) -> Option<Vec<HeadDoc>> {
    read_with(text, limits, |_| {})
}

/// [`read`], handing each document to `each` as soon as it is read (to [`HeadDoc::trim`] it
/// before the next one is parsed, say: the memory it frees then serves the next).
pub fn read_with(
    text: Arc<String>,
    limits: Limits,
    mut each: impl FnMut(&mut HeadDoc),
) -> Option<Vec<HeadDoc>> {
    let b = text.as_bytes();
    if b.starts_with("\u{feff}".as_bytes())
        || memchr::memchr(b'\r', b).is_some()
        || crate::limits::control_character(&text).is_some()
    {
        return None;
    }
    let mut docs = Vec::new();
    let mut doc = Cut::new(0, 1, 0, false);
    let (mut pos, mut line) = (0, 1);
    while pos < b.len() {
        let end = super::fast::newline_at_or_after(b, pos);
        let l = &b[pos..end];
        match l.first() {
            None | Some(b'#') => {}
            Some(b' ') => {
                // Indented content before the first key: not a block mapping at column 0.
                if doc.pieces.is_empty()
                    && l.iter().find(|c| **c != b' ').is_some_and(|c| *c != b'#')
                {
                    return None;
                }
            }
            Some(b'-')
                if l.starts_with(b"---") && matches!(l.get(3), None | Some(b' ' | b'\t')) =>
            {
                let after = l[3..].iter().find(|c| !matches!(c, b' ' | b'\t'));
                if after.is_some_and(|c| *c != b'#') {
                    return None;
                }
                // Text before the first `---` is a document only if it has content.
                let index = doc.index + usize::from(doc.explicit || !doc.pieces.is_empty());
                docs.extend(doc.finish(&text, pos, limits)?.map(|mut d| {
                    each(&mut d);
                    d
                }));
                doc = Cut::new(end + 1, line + 1, index, true);
            }
            // An item of the sequence the entry above holds.
            Some(b'-') if matches!(l.get(1), None | Some(b' ')) => {
                if doc.pieces.is_empty() {
                    return None;
                }
            }
            _ => {
                let key = key_of(l)?;
                if doc.pieces.iter().any(|p| p.key == key) {
                    return None;
                }
                doc.pieces.push(Piece { key, at: pos, line });
            }
        }
        pos = end + 1;
        line += 1;
    }
    docs.extend(doc.finish(&text, b.len(), limits)?.map(|mut d| {
        each(&mut d);
        d
    }));
    Some(docs)
}

/// A top-level entry: its key, and where its line starts.
struct Piece<'a> {
    key: &'a str,
    at: usize,
    line: usize,
}

/// A document being cut.
struct Cut<'a> {
    start: usize,
    line: usize,
    index: usize,
    /// Started by `---` (a document even when empty).
    explicit: bool,
    pieces: Vec<Piece<'a>>,
}

impl<'a> Cut<'a> {
    fn new(start: usize, line: usize, index: usize, explicit: bool) -> Cut<'a> {
        Cut {
            start,
            line,
            index,
            explicit,
            pieces: Vec::new(),
        }
    }

    /// The document ending at `end`; `Ok(None)` when it holds no key (empty); `None` when it
    /// cannot be cut.
    fn finish(self, text: &Arc<String>, end: usize, limits: Limits) -> Option<Option<HeadDoc>> {
        let first = match self.pieces.first() {
            Some(p) => p.line,
            None => return Some(None),
        };
        let is_head = |p: &Piece| HEAD_KEYS.contains(&p.key);
        let split = self.pieces.iter().position(|p| !is_head(p));
        if let Some(i) = split {
            if self.pieces[i..].iter().any(is_head) {
                return None;
            }
        }
        let rest_at = split.map_or(end, |i| self.pieces[i].at);
        let head = parse_one_checked(text.get(self.start..rest_at)?, limits).ok()?;
        if !head.is_mapping() {
            return None;
        }
        let rest = split.map(|_| Rest {
            text: Arc::clone(text),
            rest: rest_at..end,
            doc: self.start..end,
            doc_line: self.line,
            limits,
            trimmed: false,
        });
        Some(Some(HeadDoc {
            head,
            line: first,
            index: self.index,
            rest,
        }))
    }
}

/// The key of a line starting a top-level entry: a plain word that YAML reads as a string,
/// then `:` and a blank or the line's end. `None` for anything else.
fn key_of(line: &[u8]) -> Option<&str> {
    let colon = memchr::memchr(b':', line)?;
    let key = &line[..colon];
    let word = key.first()?.is_ascii_alphabetic()
        && key
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/'));
    if !word || !matches!(line.get(colon + 1), None | Some(b' ')) {
        return None;
    }
    // ASCII: checked just above.
    let key = std::str::from_utf8(key).ok()?;
    matches!(resolve_plain(key), Value::String(_)).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream;

    /// What `read` gives, completed, against a whole parse of the same text.
    fn same_as_whole(text: &str) -> Vec<Value> {
        let docs = read(Arc::new(text.to_string()), Limits::default()).expect("cut");
        let whole: Vec<Value> = parse_stream(text, Limits::default())
            .unwrap()
            .into_iter()
            .filter(|d| !d.empty)
            .map(|d| d.value)
            .collect();
        let places: Vec<(usize, usize)> = parse_stream(text, Limits::default())
            .unwrap()
            .into_iter()
            .enumerate()
            .filter(|(_, d)| !d.empty)
            .map(|(i, d)| (d.line, i))
            .collect();
        let got: Vec<(usize, usize)> = docs.iter().map(|d| (d.line, d.index)).collect();
        assert_eq!(got, places, "{text:?}");
        let got: Vec<Value> = docs
            .into_iter()
            .map(|d| match d.rest {
                Some(r) => r.complete(d.head).unwrap(),
                None => d.head,
            })
            .collect();
        assert_eq!(got, whole);
        // Same key order too (reports keep it).
        for (g, w) in got.iter().zip(&whole) {
            let keys = |v: &Value| {
                v.as_mapping()
                    .map(|m| m.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
            };
            assert_eq!(keys(g), keys(w));
        }
        got
    }

    #[test]
    fn trimmed_heads_complete_to_the_whole_document() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: '1'}\n  annotations: {y: z}\ndata: {k: v}\n";
        let mut docs = read(Arc::new(text.to_string()), Limits::default()).unwrap();
        let mut d = docs.remove(0);
        d.trim();
        let meta = d.head.get("metadata").unwrap().as_mapping().unwrap();
        assert_eq!(meta.get("labels"), Some(&Value::Null));
        assert_eq!(meta.get("name"), Some(&Value::from("a")));
        let rest = d.rest.as_ref().unwrap();
        assert!(rest.is_trimmed());
        // The head is not needed (placement is set again by `Resource::complete`).
        let want: Value = serde_yaml::from_str(text).unwrap();
        assert_eq!(rest.complete(d.head.clone()).unwrap(), want);
        assert_eq!(rest.complete(Value::Null).unwrap(), want);
        // A document without a rest keeps its head whole.
        let mut only = read(
            Arc::new("kind: A\nmetadata: {labels: {a: b}}\n".into()),
            Limits::default(),
        )
        .unwrap()
        .remove(0);
        only.trim();
        assert!(only.head["metadata"]["labels"].is_mapping());
    }

    #[test]
    fn cuts_between_top_level_entries_and_completes_to_the_whole_document() {
        let text = "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: y}\n# between\ndata:\n  k: |\n    line\n\n    more\nimmutable: true\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        args:\n        - a\nitems:\n- 1\n- two\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n";
        let got = same_as_whole(text);
        assert_eq!(got.len(), 3);
        // Documents are counted as the whole parse counts them, empty ones included.
        for text in [
            "kind: A\n---\n---\nkind: B\n",
            "---\nkind: A\n---\n\n---\nkind: B\n",
            "# c\n\n---\nkind: A\n",
            "kind: A\n---\nkind: B\n---\n",
        ] {
            same_as_whole(text);
        }
        let docs = read(Arc::new(text.to_string()), Limits::default()).unwrap();
        // The head holds only the head keys; a document with nothing else has no rest.
        assert_eq!(docs[0].head.as_mapping().unwrap().len(), 3);
        assert!(docs[0].rest.is_some());
        assert!(docs[2].rest.is_none());
    }

    #[test]
    fn pieces_that_do_not_parse_alone_are_parsed_with_their_document() {
        // An anchor in the head used in the rest; a quoted scalar continued at column 0.
        same_as_whole(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\ndata:\n  copy: *m\n",
        );
        same_as_whole(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {k: \"one\nx: two\"}\n",
        );
    }

    #[test]
    fn errors_in_the_rest_name_their_line_in_the_stream() {
        let text = "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: b\nspec:\n  x: [1,\n";
        let docs = read(Arc::new(text.to_string()), Limits::default()).unwrap();
        let e = docs[1]
            .rest
            .as_ref()
            .unwrap()
            .complete(docs[1].head.clone())
            .unwrap_err();
        let whole = parse_stream(text, Limits::default()).unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message),
            (whole.line, whole.col, whole.message)
        );
    }

    #[test]
    fn texts_outside_the_shape_are_left_to_the_whole_parse() {
        for text in [
            "%YAML 1.1\n---\nkind: A\n",
            "--- {kind: A}\n",
            "kind: A\n...\n",
            "  kind: A\n",
            "- kind: A\n",
            "{kind: A}\n",
            "kind: A\r\nspec: 1\r\n",
            "\u{feff}kind: A\n",
            "kind: A\n\tspec: 1\n",
            "spec: 1\nkind: A\n",
            "kind: A\nspec: 1\nspec: 2\n",
            "kind: A\n\"spec\": 1\n",
            "kind: A\nyes: 1\n",
            "kind: A\nspec : 1\n",
            "kind: A\nmetadata:\n  name: [a,\nb]\n",
        ] {
            assert!(
                read(Arc::new(text.to_string()), Limits::default()).is_none(),
                "{text:?} was cut"
            );
        }
    }

    #[test]
    fn keys_are_plain_words_that_read_as_strings() {
        assert_eq!(key_of(b"spec:"), Some("spec"));
        assert_eq!(key_of(b"data: {a: 1}"), Some("data"));
        assert_eq!(key_of(b"x.y/z-w_1: 1"), Some("x.y/z-w_1"));
        for l in [
            &b"on: 1"[..],
            b"null:",
            b"1abc: 1",
            b"a b: 1",
            b"spec:x",
            b"spec",
        ] {
            assert_eq!(key_of(l), None, "{:?}", String::from_utf8_lossy(l));
        }
    }
}
