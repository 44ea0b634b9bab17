//! Live objects from JSON (`kubectl get -o json`, saved snapshots), read straight into the
//! values the diff uses, without the parts it always drops: `metadata.managedFields` and
//! `status` are skipped while reading (never allocated). kapp removes `status` from both sides
//! (the default `diffAgainstExistingFieldExclusionRules` rule, applied first, for every
//! resource) and kpipe drops server metadata before any rule sees the live copy, so the result
//! of a diff is the same; a 10,000-object snapshot is mostly managedFields and status.
//!
//! The input is read in chunks, so a 70 MB snapshot never sits in memory whole: only the
//! objects kept are. Skipped parts are checked for balanced brackets and closed strings only.

use super::head::{Field, HeadBuilder, Map, TooLarge};
use super::tail::{Offer, TailHelp};
use super::{flatten_into, flatten_items, Keep, LiveObject, HISTORY_ANNOTATIONS, SERVER_METADATA};
use anyhow::{bail, Result};
use serde_yaml::{Mapping, Number, Value};
use std::fmt;
use std::io::{Read, Seek};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Parses every JSON value in `src` (several may be concatenated) and appends the objects,
/// `List`s flattened, to `out`, leaving out what `keep` says. A List's items come out split
/// ([`LiveObject`]): their `spec`s and the like stay compact JSON until compared. `what`
/// names the input in errors.
pub fn parse_json_objects(
    src: impl Read,
    what: &dyn fmt::Display,
    keep: Keep,
    out: &mut Vec<LiveObject>,
) -> Result<()> {
    parse_json_objects_helped(src, what, keep, out, None)
}

/// [`parse_json_objects`] over a file's bytes (`src` reads them from the start), where a List's
/// items may be read in part by a helper ([`TailHelp`]).
pub(super) fn parse_json_objects_helped(
    src: impl Read,
    what: &dyn fmt::Display,
    keep: Keep,
    out: &mut Vec<LiveObject>,
    help: Option<Helped>,
) -> Result<()> {
    let mut r = Reader::new(src, keep);
    r.source = what.to_string().into();
    if let Some(mut h) = help {
        r.seek = h.file.take();
        r.help = Some(h);
    }
    let mut i = 0;
    loop {
        r.skip_ws().map_err(|e| r.error(what, i + 1, e))?;
        if r.at_eof() {
            return Ok(());
        }
        i += 1;
        let mut skipped_in_items = false;
        let v = r
            .value(Mode::Top, 0, &mut skipped_in_items)
            .map_err(|e| r.error(what, i, e))?;
        let Some(items) = r.items_read.take() else {
            let mut whole = Vec::new();
            flatten_into(v, &mut whole);
            out.extend(whole.into_iter().map(LiveObject::whole));
            continue;
        };
        if is_list(&v) {
            flatten_items(&v, items, out)?;
            continue;
        }
        if skipped_in_items {
            // `items` of an object that is not a List are not objects: nothing may be dropped.
            bail!("{what}: JSON value {i}: an object that is not a List has `items` holding objects with parts the reader leaves out (status, managedFields, server metadata); save it as YAML to diff it");
        }
        // Not a List after all: the object is kept whole, its `items` put back.
        let mut v = v;
        if let Value::Mapping(m) = &mut v {
            let items: Result<Vec<Value>> = items.into_iter().map(LiveObject::into_value).collect();
            m.insert("items".into(), Value::Sequence(items?));
        }
        out.push(LiveObject::whole(v));
    }
}

/// The other top-level fields of an object the reader split (see [`LiveObject`]): compact
/// JSON it wrote itself.
pub(super) fn parse_rest(text: &str) -> Result<Value> {
    parse_bytes(text.as_bytes().to_vec())
}

/// A split object's head entries (`json[..head_end]`: `{` and the entries), built as a map.
pub(super) fn parse_head(json: &str, head_end: usize) -> Result<Value> {
    let head = json.as_bytes().get(..head_end).unwrap_or(b"{");
    let mut bytes = Vec::with_capacity(head.len() + 1);
    bytes.extend_from_slice(head);
    bytes.push(b'}');
    parse_bytes(bytes)
}

fn parse_bytes(bytes: Vec<u8>) -> Result<Value> {
    let mut r = Reader::from_vec(bytes);
    let mut skipped = false;
    r.value(Mode::Plain, 0, &mut skipped)
        .map_err(|e| anyhow::anyhow!("a live object's spec, data or other fields: {}", e.0))
}

/// The fields built (a map), and the others' keys and JSON texts.
pub(super) type Split<'j> = (Value, Vec<(String, &'j str)>);

/// A split object's JSON built in part: the top-level entries `build` picks, as a map, and
/// the others as their JSON text (to be compared where they are, see [`equals`]). `None` when
/// a key repeats: only the whole build reports that.
pub(super) fn parse_split<'j>(
    json: &'j str,
    build: &dyn Fn(&str) -> bool,
) -> Result<Option<Split<'j>>> {
    let mut r = Reader::from_slice(json.as_bytes());
    let split = r
        .split_top(build)
        .map_err(|e| anyhow::anyhow!("a live object's spec, data or other fields: {}", e.0))?;
    // Positions index `json` only while the reader never moved its buffer (it does so only at
    // the end of the input, which a closed object never reaches).
    if r.end != json.len() {
        return Ok(None);
    }
    let Some((built, spans)) = split else {
        return Ok(None);
    };
    let mut raw = Vec::with_capacity(spans.len());
    for (k, (start, end)) in spans {
        let Some(text) = json.get(start..end) else {
            return Ok(None);
        };
        raw.push((k, text));
    }
    Ok(Some((built, raw)))
}

fn is_list(v: &Value) -> bool {
    v.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A top-level value: an object, or a List whose `items` are objects.
    Top,
    /// `metadata`: `managedFields` skipped (and server metadata under [`Keep::Compared`]).
    Metadata,
    /// `metadata.annotations` under [`Keep::Compared`]: kapp's history annotations skipped.
    Annotations,
    /// Anything else: read whole.
    Plain,
}

/// Deeper nesting is refused (serde_json's own limit is 128).
const MAX_DEPTH: usize = 512;
const CHUNK: usize = 256 * 1024;
const TOO_LARGE: &str = "an object's metadata is over 4 GiB";

/// What went wrong, positioned where the reader stood.
struct Error(String);

type Res<T> = std::result::Result<T, Error>;

fn err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Error(msg.into()))
}

struct Reader<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Newlines in the bytes already dropped from the front of `buf` (for error positions).
    lines: usize,
    /// Bytes since the last newline among the dropped ones.
    col_base: usize,
    io_error: Option<std::io::Error>,
    started: bool,
    /// Entries of the objects and items of the arrays being read, innermost last.
    entries: Vec<(Value, Value)>,
    items: Vec<Value>,
    keep: Keep,
    /// A top-level value's `items`, read apart as objects (one List per top-level value).
    items_read: Option<Vec<LiveObject>>,
    /// What the input is called, handed to split objects for later errors.
    source: std::sync::Arc<str>,
    /// The head of the item being read (its buffers reused from item to item).
    heads: HeadBuilder,
    /// Bytes dropped from the front of `buf` so far: `consumed + pos` is the offset in the input.
    consumed: u64,
    /// Who may read the rest of a List's items alongside, and what file they are in.
    help: Option<Helped>,
    /// The file the input reads from at its offset, when it has one: moved on past a helper's
    /// part rather than read through.
    seek: Option<std::fs::File>,
}

/// A helper for a file's List ([`TailHelp`]), the file and its length.
pub(super) struct Helped {
    pub help: Arc<TailHelp>,
    pub path: std::path::PathBuf,
    pub len: u64,
    /// The file the input reads from, at the input's offset (a handle sharing its offset).
    pub file: Option<std::fs::File>,
}

/// Items a helper read ([`read_items_from`]): from its start up to the List's `]`, at `end`.
pub(super) struct Part {
    items: Vec<LiveObject>,
    skipped: bool,
    end: u64,
    /// Newlines between the start and `end`.
    lines: usize,
    /// Bytes between the last of those newlines (if any) and `end`.
    col: usize,
}

impl Reader<&'static [u8]> {
    /// A reader over bytes already in memory.
    fn from_slice(bytes: &[u8]) -> Self {
        Reader::from_vec(bytes.to_vec())
    }

    /// A reader over bytes handed over.
    fn from_vec(bytes: Vec<u8>) -> Self {
        Reader {
            src: &[],
            end: bytes.len(),
            buf: bytes,
            pos: 0,
            eof: true,
            lines: 0,
            col_base: 0,
            io_error: None,
            started: true,
            entries: Vec::new(),
            items: Vec::new(),
            keep: Keep::Metadata,
            items_read: None,
            source: std::sync::Arc::from(""),
            heads: HeadBuilder::default(),
            consumed: 0,
            help: None,
            seek: None,
        }
    }
}

impl<R: Read> Reader<R> {
    fn new(src: R, keep: Keep) -> Self {
        Reader {
            src,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            lines: 0,
            col_base: 0,
            io_error: None,
            started: false,
            entries: Vec::new(),
            items: Vec::new(),
            keep,
            items_read: None,
            source: std::sync::Arc::from(""),
            heads: HeadBuilder::default(),
            consumed: 0,
            help: None,
            seek: None,
        }
    }

    /// Reads more input, keeping `buf[keep..end]` (moved to the front). False at the end.
    /// Positions at or after `keep` move down by `keep` (callers re-base what they hold).
    fn fill(&mut self, keep: usize) -> Res<bool> {
        if keep > 0 {
            let dropped = &self.buf[..keep];
            match memchr::memrchr(b'\n', dropped) {
                Some(last) => {
                    self.lines += memchr::memchr_iter(b'\n', dropped).count();
                    self.col_base = keep - last - 1;
                }
                None => self.col_base += keep,
            }
            self.buf.copy_within(keep..self.end, 0);
            self.end -= keep;
            self.pos -= keep;
            self.consumed += keep as u64;
        }
        if self.eof {
            return Ok(false);
        }
        if self.end == self.buf.len() {
            // One token longer than the buffer (a huge string): grow.
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let msg = format!("read failed: {e}");
                    self.io_error = Some(e);
                    return err(msg);
                }
            }
        }
    }

    fn at_eof(&self) -> bool {
        self.pos >= self.end && self.eof
    }

    /// The next byte, reading more as needed; `None` at the end of input.
    #[inline]
    fn peek(&mut self) -> Res<Option<u8>> {
        if self.pos < self.end {
            return Ok(Some(self.buf[self.pos]));
        }
        let keep = self.pos;
        if self.fill(keep)? {
            Ok(Some(self.buf[self.pos]))
        } else {
            Ok(None)
        }
    }

    /// Moves past whitespace. Most calls stand on a token already, or one space before it
    /// (`"key": value`): those are settled here, inline.
    #[inline]
    fn skip_ws(&mut self) -> Res<()> {
        if self.started && self.pos + 1 < self.end {
            match (self.buf[self.pos], self.buf[self.pos + 1]) {
                (b, _) if b > b' ' => return Ok(()),
                (b' ', b) if b > b' ' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => {}
            }
        }
        self.skip_ws_run()
    }

    #[inline(never)]
    fn skip_ws_run(&mut self) -> Res<()> {
        if !self.started {
            // A byte-order mark some editors write.
            self.started = true;
            while self.end < 3 && self.fill(0)? {}
            if self.buf[..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.pos = 3;
            }
        }
        loop {
            let rest = &self.buf[self.pos..self.end];
            match ws_len(rest) {
                Some(at) => {
                    self.pos += at;
                    return Ok(());
                }
                None => {
                    self.pos = self.end;
                    let keep = self.pos;
                    if !self.fill(keep)? {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn expect_byte(&mut self, want: u8, what: &str) -> Res<()> {
        self.skip_ws()?;
        match self.peek()? {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => err(format!("expected {what}, found `{}`", b as char)),
            None => err(format!("expected {what}, found the end of the input")),
        }
    }

    fn value(&mut self, mode: Mode, depth: usize, skipped: &mut bool) -> Res<Value> {
        if depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        self.skip_ws()?;
        match self.peek()? {
            Some(b'{') => {
                self.pos += 1;
                self.object(mode, depth, skipped)
            }
            Some(b'[') => {
                self.pos += 1;
                self.array(depth, skipped)
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b) => err(format!("expected a JSON value, found `{}`", b as char)),
            None => err("expected a JSON value, found the end of the input"),
        }
    }

    fn object(&mut self, mode: Mode, depth: usize, skipped: &mut bool) -> Res<Value> {
        self.skip_ws()?;
        if self.peek()? == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Mapping(Mapping::new()));
        }
        // Entries gather on a shared stack; the map is then built at its exact size (grown
        // maps carry up to twice the room they need, for 10,000 objects held at once).
        let base = self.entries.len();
        loop {
            self.skip_ws()?;
            if self.peek()? != Some(b'"') {
                return err("expected a string key");
            }
            let key = self.string()?;
            self.expect_byte(b':', "`:`")?;
            let compared = self.keep == Keep::Compared;
            let child = match (mode, key.as_str()) {
                (Mode::Top, "status") | (Mode::Metadata, "managedFields") => {
                    self.skip_value()?;
                    // Dropping a top-level object's own status is right whatever its kind.
                    *skipped |= mode != Mode::Top;
                    None
                }
                (Mode::Metadata, k) if compared && SERVER_METADATA.contains(&k) => {
                    self.skip_value()?;
                    *skipped = true;
                    None
                }
                (Mode::Annotations, k) if HISTORY_ANNOTATIONS.contains(&k) => {
                    self.skip_value()?;
                    *skipped = true;
                    None
                }
                (Mode::Metadata, "annotations") if compared => Some(Mode::Annotations),
                (Mode::Top, "metadata") => Some(Mode::Metadata),
                (Mode::Top, "items") if self.next_is(b'[')? => {
                    if self.items_read.is_some() {
                        return err("duplicate key in a JSON object");
                    }
                    let items = self.split_items(depth + 1, skipped)?;
                    self.items_read = Some(items);
                    None
                }
                _ => Some(Mode::Plain),
            };
            if let Some(child) = child {
                // Of a top-level object, only what is dropped inside `items` matters.
                let mut inner = false;
                let v = self.value(child, depth + 1, &mut inner)?;
                if mode != Mode::Top {
                    *skipped |= inner;
                }
                // Annotations left empty by dropping kapp's are dropped whole, as the diff's
                // own clean-up does (`normalize::strip_history`).
                let emptied = child == Mode::Annotations
                    && inner
                    && v.as_mapping().is_some_and(Mapping::is_empty);
                if !emptied {
                    self.entries.push((Value::String(key), v));
                }
            }
            self.skip_ws()?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    let mut m = Mapping::with_capacity(self.entries.len() - base);
                    for (k, v) in self.entries.drain(base..) {
                        if m.insert(k, v).is_some() {
                            return err("duplicate key in a JSON object");
                        }
                    }
                    return Ok(Value::Mapping(m));
                }
                _ => return err("expected `,` or `}` in an object"),
            }
        }
    }

    /// The top-level object of [`parse_split`]: the entries `build` picks, and the byte spans
    /// of the others. `None` when a key repeats.
    #[allow(clippy::type_complexity)]
    fn split_top(
        &mut self,
        build: &dyn Fn(&str) -> bool,
    ) -> Res<Option<(Value, Vec<(String, (usize, usize))>)>> {
        self.expect_byte(b'{', "`{`")?;
        let mut built = Mapping::new();
        let mut spans: Vec<(String, (usize, usize))> = Vec::new();
        if self.next_is(b'}')? {
            self.pos += 1;
            return Ok(Some((Value::Mapping(built), spans)));
        }
        loop {
            if !self.next_is(b'"')? {
                return err("expected a string key");
            }
            let key = self.string()?;
            self.expect_byte(b':', "`:`")?;
            if spans.iter().any(|(k, _)| *k == key) || built.contains_key(key.as_str()) {
                return Ok(None);
            }
            if build(&key) {
                let mut skipped = false;
                let v = self.value(Mode::Plain, 1, &mut skipped)?;
                built.insert(Value::String(key), v);
            } else {
                self.skip_ws()?;
                let start = self.pos;
                self.skip_value()?;
                spans.push((key, (start, self.pos)));
            }
            self.skip_ws()?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Some((Value::Mapping(built), spans)));
                }
                _ => return err("expected `,` or `}` in an object"),
            }
        }
    }

    /// Whether the next value starts with `b`.
    fn next_is(&mut self, b: u8) -> Res<bool> {
        self.skip_ws()?;
        Ok(self.peek()? == Some(b))
    }

    /// A List's `items` (the reader stands on `[`), each object split (see [`LiveObject`]).
    fn split_items(&mut self, depth: usize, skipped: &mut bool) -> Res<Vec<LiveObject>> {
        self.pos += 1;
        // In the input, not the buffer: reading on may refill it.
        let gap_at = self.consumed + self.pos as u64;
        let mut out = Vec::new();
        if self.next_is(b']')? {
            self.pos += 1;
            return Ok(out);
        }
        // The first List of a file may be helped; the help ends with it however it ends.
        struct Closing(Arc<TailHelp>);
        impl Drop for Closing {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        let mut help = None;
        if let Some(h) = self.help.take() {
            // Items a line apart (as kubectl writes them): the gap finds the next ones.
            let gap = gap_at
                .checked_sub(self.consumed)
                .and_then(|at| self.buf.get(at as usize..self.pos))
                .unwrap_or_default();
            if gap.contains(&b'\n') {
                h.help.offer(Offer {
                    path: h.path,
                    len: h.len,
                    depth: depth + 1,
                    keep: self.keep,
                    gap: gap.to_vec(),
                    source: Arc::clone(&self.source),
                });
                help = Some(Closing(h.help));
            }
        }
        loop {
            let part = match &help {
                Some(h) => {
                    self.skip_ws()?;
                    h.0.at_item(self.consumed + self.pos as u64)
                }
                None => None,
            };
            match part {
                Some(part) => {
                    self.jump(&part)?;
                    out.extend(part.items);
                    *skipped |= part.skipped;
                }
                None => out.push(self.split_object(depth + 1, skipped)?),
            }
            self.skip_ws()?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return err("expected `,` or `]` in an array"),
            }
        }
    }

    /// Moves past a helper's part: to its `end`, its newlines and column further on.
    fn jump(&mut self, part: &Part) -> Res<()> {
        let (here_lines, here_col) = self.line_col();
        let here = self.consumed + self.pos as u64;
        let Some(ahead) = part.end.checked_sub(here) else {
            return err("internal error: a helper's items end before they start");
        };
        let held = (self.end - self.pos) as u64;
        if ahead < held {
            // In the buffer: what is before `end` is dropped, so it counts for no line.
            let at = self.pos + ahead as usize;
            self.buf.copy_within(at..self.end, 0);
            self.end -= at;
        } else if let Some(file) = self.seek.as_mut() {
            // Past it: the file moves on to `end` (the input reads from the file's offset).
            file.seek(std::io::SeekFrom::Start(part.end))
                .map_err(|e| Error(format!("read failed: {e}")))?;
            self.end = 0;
        } else {
            // No file to move on: read through.
            let mut skip = ahead - held;
            loop {
                self.pos = self.end;
                let keep = self.pos;
                if !self.fill(keep)? {
                    return err("internal error: a helper's items end past the input");
                }
                let held = self.end as u64;
                if skip < held {
                    let at = skip as usize;
                    self.buf.copy_within(at..self.end, 0);
                    self.end -= at;
                    break;
                }
                skip -= held;
            }
        }
        self.pos = 0;
        self.consumed = part.end;
        self.lines = here_lines + part.lines;
        self.col_base = if part.lines == 0 {
            here_col + ahead as usize
        } else {
            part.col
        };
        Ok(())
    }

    /// One item, kept as compact JSON without `status` (and, in `metadata`, without what
    /// [`Mode::Metadata`] leaves out), `apiVersion`, `kind` and `metadata` first; the strings
    /// the diff asks for before building it are noted in a [`Head`]. Anything but an object,
    /// and an object whose `apiVersion` or `kind` is not a string, is read whole.
    fn split_object(&mut self, depth: usize, skipped: &mut bool) -> Res<LiveObject> {
        if depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        if !self.next_is(b'{')? {
            return Ok(LiveObject::whole(self.value(
                Mode::Plain,
                depth,
                skipped,
            )?));
        }
        self.pos += 1;
        if self.next_is(b'}')? {
            self.pos += 1;
            return Ok(LiveObject::whole(Value::Mapping(Mapping::new())));
        }
        let mut head: Vec<u8> = Vec::with_capacity(512);
        head.push(b'{');
        let mut rest: Vec<u8> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut odd = false;
        self.entries(|r, key| {
            if keys.contains(&key) {
                return err("duplicate key in a JSON object");
            }
            match key.as_str() {
                "status" => {
                    r.skip_value()?;
                    *skipped = true;
                }
                "apiVersion" | "kind" | "metadata" => {
                    if head.len() > 1 {
                        head.push(b',');
                    }
                    write_json_string(&mut head, &key);
                    head.push(b':');
                    if key == "metadata" {
                        r.copy_metadata(&mut head, depth + 1, skipped)?;
                    } else if r.next_is(b'"')? {
                        let v = r.string()?;
                        write_json_string(&mut head, &v);
                        let f = if key == "kind" {
                            Field::Kind
                        } else {
                            Field::ApiVersion
                        };
                        r.note(|h| h.field(f, &v))?;
                    } else {
                        odd = true;
                        r.copy_value(&mut head, depth + 1)?;
                    }
                }
                _ => {
                    rest.push(b',');
                    write_json_string(&mut rest, &key);
                    rest.push(b':');
                    r.copy_value(&mut rest, depth + 1)?;
                }
            }
            keys.push(key);
            Ok(())
        })?;
        let head_end = head.len();
        if head_end == 1 {
            // No head entries: the rest's leading comma goes.
            head.extend_from_slice(rest.get(1..).unwrap_or_default());
        } else {
            head.extend_from_slice(&rest);
        }
        head.push(b'}');
        // Only whole UTF-8 strings and ASCII were written.
        let json = String::from_utf8(head)
            .map_err(|_| Error("invalid UTF-8 in a string".into()))?
            .into_boxed_str();
        let facts = self.heads.finish();
        if odd {
            return parse_rest(&json)
                .map(LiveObject::whole)
                .map_err(|e| Error(e.to_string()));
        }
        let head_end = u32::try_from(head_end).map_err(|_| Error(TOO_LARGE.into()))?;
        Ok(LiveObject::json(facts, json, head_end, self.source.clone()))
    }

    /// Reads the entries of an object (the reader stands after its `{`), handing each key to
    /// `each`, which reads its value; the closing `}` is read too.
    fn entries(&mut self, mut each: impl FnMut(&mut Self, String) -> Res<()>) -> Res<()> {
        if self.next_is(b'}')? {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if !self.next_is(b'"')? {
                return err("expected a string key");
            }
            let key = self.string()?;
            self.expect_byte(b':', "`:`")?;
            each(self, key)?;
            self.skip_ws()?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return err("expected `,` or `}` in an object"),
            }
        }
    }

    /// Notes something in the head being built.
    fn note(
        &mut self,
        f: impl FnOnce(&mut HeadBuilder) -> std::result::Result<(), TooLarge>,
    ) -> Res<()> {
        f(&mut self.heads).map_err(|_| Error(TOO_LARGE.into()))
    }

    /// Copies `metadata` as compact JSON, leaving out what [`Mode::Metadata`] does (and, like
    /// [`Reader::object`], annotations emptied by that), noting its strings in the head.
    fn copy_metadata(&mut self, out: &mut Vec<u8>, depth: usize, skipped: &mut bool) -> Res<()> {
        if depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        if !self.next_is(b'{')? {
            return self.copy_value(out, depth);
        }
        self.pos += 1;
        out.push(b'{');
        let open = out.len();
        let compared = self.keep == Keep::Compared;
        let mut keys: Vec<String> = Vec::new();
        self.entries(|r, key| {
            if keys.contains(&key) {
                return err("duplicate key in a JSON object");
            }
            if key == "managedFields" || (compared && SERVER_METADATA.contains(&key.as_str())) {
                r.skip_value()?;
                *skipped = true;
                keys.push(key);
                return Ok(());
            }
            let mark = out.len();
            if mark > open {
                out.push(b',');
            }
            write_json_string(out, &key);
            out.push(b':');
            let field = match key.as_str() {
                "name" => Some(Field::Name),
                "generateName" => Some(Field::GenerateName),
                "namespace" => Some(Field::Namespace),
                _ => None,
            };
            match key.as_str() {
                "labels" => {
                    r.copy_string_map(out, Map::Labels, false, depth + 1, skipped)?;
                }
                "annotations" => {
                    let emptied =
                        r.copy_string_map(out, Map::Annotations, compared, depth + 1, skipped)?;
                    if emptied {
                        out.truncate(mark);
                    }
                }
                _ => match field {
                    Some(f) if r.next_is(b'"')? => {
                        let v = r.string()?;
                        write_json_string(out, &v);
                        r.note(|h| h.field(f, &v))?;
                    }
                    _ => r.copy_value(out, depth + 1)?,
                },
            }
            keys.push(key);
            Ok(())
        })?;
        out.push(b'}');
        Ok(())
    }

    /// Copies `labels` or `annotations`, noting their entries in the head; with `history`,
    /// kapp's history annotations are left out. True when that left an object empty (the
    /// caller drops it whole, as `normalize::strip_history` does).
    fn copy_string_map(
        &mut self,
        out: &mut Vec<u8>,
        map: Map,
        history: bool,
        depth: usize,
        skipped: &mut bool,
    ) -> Res<bool> {
        if depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        if !self.next_is(b'{')? {
            self.copy_value(out, depth)?;
            return Ok(false);
        }
        self.pos += 1;
        out.push(b'{');
        let open = out.len();
        let from = self.heads.len(map);
        // Dropped keys count for repeats too.
        let mut dropped: Vec<String> = Vec::new();
        self.entries(|r, key| {
            if r.heads.repeated(map, from, &key) || dropped.contains(&key) {
                return err("duplicate key in a JSON object");
            }
            if history && HISTORY_ANNOTATIONS.contains(&key.as_str()) {
                r.skip_value()?;
                *skipped = true;
                dropped.push(key);
                return Ok(());
            }
            if out.len() > open {
                out.push(b',');
            }
            write_json_string(out, &key);
            out.push(b':');
            if r.next_is(b'"')? {
                // Most values have no escapes and end in the buffer: copied as they are,
                // noted from there (as `copy_string` does, without a `String` between).
                let start = r.pos + 1;
                if let Some((off, plain)) = quote_or_backslash_plain(&r.buf[start..r.end]) {
                    if r.buf[start + off] == b'"' {
                        let raw = &r.buf[start..start + off];
                        let v = checked(raw, plain)?;
                        out.push(b'"');
                        out.extend_from_slice(raw);
                        out.push(b'"');
                        r.heads
                            .entry(map, &key, Some(v))
                            .map_err(|_| Error(TOO_LARGE.into()))?;
                        r.pos = start + off + 1;
                        return Ok(());
                    }
                }
                let v = r.string()?;
                write_json_string(out, &v);
                r.note(|h| h.entry(map, &key, Some(&v)))
            } else {
                r.copy_value(out, depth + 1)?;
                r.note(|h| h.entry(map, &key, None))
            }
        })?;
        out.push(b'}');
        let emptied = !dropped.is_empty() && out.len() == open + 1;
        if emptied {
            self.heads.truncate(map, from);
        }
        Ok(emptied)
    }

    /// Copies one value to `out` as compact JSON, checking it as [`Reader::value`] would
    /// (everything but repeated keys, found when the copy is read).
    fn copy_value(&mut self, out: &mut Vec<u8>, depth: usize) -> Res<()> {
        if depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        self.skip_ws()?;
        match self.peek()? {
            Some(open @ (b'{' | b'[')) => {
                self.pos += 1;
                out.push(open);
                let close = if open == b'{' { b'}' } else { b']' };
                if self.next_is(close)? {
                    self.pos += 1;
                    out.push(close);
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        if !self.next_is(b'"')? {
                            return err("expected a string key");
                        }
                        self.copy_string(out)?;
                        self.expect_byte(b':', "`:`")?;
                        out.push(b':');
                    }
                    self.copy_value(out, depth + 1)?;
                    self.skip_ws()?;
                    match self.peek()? {
                        Some(b',') => {
                            self.pos += 1;
                            out.push(b',');
                        }
                        Some(b) if b == close => {
                            self.pos += 1;
                            out.push(close);
                            return Ok(());
                        }
                        _ if open == b'{' => return err("expected `,` or `}` in an object"),
                        _ => return err("expected `,` or `]` in an array"),
                    }
                }
            }
            Some(b'"') => self.copy_string(out),
            Some(_) => {
                let mut ignored = false;
                match self.value(Mode::Plain, depth, &mut ignored)? {
                    Value::Null => out.extend_from_slice(b"null"),
                    Value::Bool(true) => out.extend_from_slice(b"true"),
                    Value::Bool(false) => out.extend_from_slice(b"false"),
                    Value::Number(n) => write_json_number(out, &n),
                    // Strings, arrays and objects were taken above.
                    _ => return err("expected a JSON value"),
                }
                Ok(())
            }
            None => err("expected a JSON value, found the end of the input"),
        }
    }

    /// Copies a string (the reader stands on its opening quote) as JSON: as it is when it has
    /// no escapes and ends in the buffer (most do), else decoded and written again.
    fn copy_string(&mut self, out: &mut Vec<u8>) -> Res<()> {
        let start = self.pos + 1;
        if let Some((off, plain)) = quote_or_backslash_plain(&self.buf[start..self.end]) {
            if self.buf[start + off] == b'"' {
                let raw = &self.buf[start..start + off];
                checked(raw, plain)?;
                out.push(b'"');
                out.extend_from_slice(raw);
                out.push(b'"');
                self.pos = start + off + 1;
                return Ok(());
            }
        }
        let s = self.string()?;
        write_json_string(out, &s);
        Ok(())
    }

    fn array(&mut self, depth: usize, skipped: &mut bool) -> Res<Value> {
        self.skip_ws()?;
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(Value::Sequence(Vec::new()));
        }
        let base = self.items.len();
        loop {
            let v = self.value(Mode::Plain, depth + 1, skipped)?;
            self.items.push(v);
            self.skip_ws()?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Sequence(self.items.drain(base..).collect()));
                }
                _ => return err("expected `,` or `]` in an array"),
            }
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Res<Value> {
        while self.end - self.pos < word.len() {
            let keep = self.pos;
            if !self.fill(keep)? {
                break;
            }
        }
        if self.buf[self.pos..self.end].starts_with(word) {
            self.pos += word.len();
            Ok(v)
        } else {
            err("expected a JSON value")
        }
    }

    fn number(&mut self) -> Res<Value> {
        let mut start = self.pos;
        loop {
            while self.pos < self.end
                && matches!(
                    self.buf[self.pos],
                    b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                )
            {
                self.pos += 1;
            }
            if self.pos < self.end {
                break;
            }
            // The number may go on in the next chunk: keep its first digits.
            let more = self.fill(start)?;
            start = 0;
            if !more {
                break;
            }
        }
        self.number_text(start, self.pos)
    }

    fn number_text(&self, start: usize, end: usize) -> Res<Value> {
        number_value(std::str::from_utf8(&self.buf[start..end]).unwrap_or(""))
    }

    /// A string (the reader stands on its opening quote).
    fn string(&mut self) -> Res<String> {
        self.pos += 1;
        let mut start = self.pos;
        let mut search = start;
        loop {
            match quote_or_backslash_plain(&self.buf[search..self.end]) {
                Some((off, plain)) if self.buf[search + off] == b'"' => {
                    let end = search + off;
                    self.pos = end + 1;
                    // `plain` covers `search..end`, all of it unless the buffer was refilled.
                    return checked(&self.buf[start..end], plain && search == start)
                        .map(str::to_string);
                }
                Some((off, _)) => {
                    let mut out = utf8(&self.buf[start..search + off])?;
                    self.pos = search + off;
                    return self.string_escaped(&mut out).map(|()| out);
                }
                None => {
                    let done = self.end - start;
                    if !self.fill(start)? {
                        return err("unterminated string");
                    }
                    start = 0;
                    search = done;
                }
            }
        }
    }

    /// The rest of a string from its first backslash; what came before is in `out`.
    fn string_escaped(&mut self, out: &mut String) -> Res<()> {
        // Raw bytes are collected here so multi-byte characters stay whole across chunks. Runs
        // between escapes are copied whole (kapp's `original` annotation is escaped JSON).
        let mut raw: Vec<u8> = Vec::with_capacity(256);
        loop {
            let rest = &self.buf[self.pos..self.end];
            let (run, stop) = match quote_or_backslash(rest) {
                Some(off) => (&rest[..off], Some(rest[off])),
                None => (rest, None),
            };
            if run.iter().fold(false, |acc, &b| acc | (b < 0x20)) {
                return err("control character in a string");
            }
            raw.extend_from_slice(run);
            self.pos += run.len();
            match stop {
                None => {
                    let keep = self.pos;
                    if !self.fill(keep)? {
                        return err("unterminated string");
                    }
                }
                Some(b'"') => {
                    self.pos += 1;
                    out.push_str(
                        std::str::from_utf8(&raw)
                            .map_err(|_| Error("invalid UTF-8 in a string".into()))?,
                    );
                    return Ok(());
                }
                Some(_) => {
                    self.pos += 1;
                    let Some(e) = self.peek()? else {
                        return err("unterminated string");
                    };
                    self.pos += 1;
                    let c = match (e, simple_escape(e)) {
                        (_, Some(c)) => c,
                        (b'u', None) => self.unicode_escape()?,
                        (other, None) => {
                            return err(format!("invalid escape `\\{}`", other as char))
                        }
                    };
                    let mut tmp = [0u8; 4];
                    raw.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let mut n = 0u32;
        for _ in 0..4 {
            let Some(b) = self.peek()? else {
                return err("unterminated string");
            };
            self.pos += 1;
            let d = (b as char)
                .to_digit(16)
                .ok_or_else(|| Error("invalid \\u escape".into()))?;
            n = n * 16 + d;
        }
        Ok(n)
    }

    fn unicode_escape(&mut self) -> Res<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.peek()? == Some(b'\\') {
                self.pos += 1;
                if self.peek()? == Some(b'u') {
                    self.pos += 1;
                    if let Some(c) = surrogate_pair(hi, self.hex4()?) {
                        return Ok(c);
                    }
                }
            }
            return err("unpaired surrogate in a \\u escape");
        }
        char::from_u32(hi).ok_or_else(|| Error("unpaired surrogate in a \\u escape".into()))
    }

    /// Skips one value without building it: strings must close and brackets must pair.
    fn skip_value(&mut self) -> Res<()> {
        self.skip_ws()?;
        match self.peek()? {
            Some(b'{' | b'[') => {}
            Some(b'"') => {
                self.skip_string()?;
                return Ok(());
            }
            Some(_) => {
                let mut ignored = false;
                self.value(Mode::Plain, 0, &mut ignored)?;
                return Ok(());
            }
            None => return err("expected a JSON value, found the end of the input"),
        }
        let mut open: Vec<u8> = Vec::new();
        loop {
            // Jump to the next byte that matters: most of a skipped part is indentation and keys.
            let rest = &self.buf[self.pos..self.end];
            let Some(at) = structural_at(rest) else {
                self.pos = self.end;
                let keep = self.pos;
                if !self.fill(keep)? {
                    return err("unexpected end of the input inside a value");
                }
                continue;
            };
            self.pos += at;
            let b = self.buf[self.pos];
            match b {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'{' | b'[' => {
                    if open.len() >= MAX_DEPTH {
                        return err(format!("nested more than {MAX_DEPTH} levels deep"));
                    }
                    open.push(b);
                }
                _ => {
                    let want = if b == b'}' { b'{' } else { b'[' };
                    if open.pop() != Some(want) {
                        return err(format!("unexpected `{}`", b as char));
                    }
                    if open.is_empty() {
                        self.pos += 1;
                        return Ok(());
                    }
                }
            }
            self.pos += 1;
        }
    }

    fn skip_string(&mut self) -> Res<()> {
        self.pos += 1;
        loop {
            // Escapes are stepped over inside each 16-byte step ([`string_end`]); only the
            // buffer's end, or a backslash at it, comes back here.
            match string_end(&self.buf[self.pos..self.end]) {
                Ok(after) => {
                    self.pos += after;
                    return Ok(());
                }
                Err(upto) => self.pos += upto,
            }
            match quote_or_backslash(&self.buf[self.pos..self.end]) {
                Some(off) => {
                    self.pos += off + 1;
                    if self.buf[self.pos - 1] == b'"' {
                        return Ok(());
                    }
                    // A backslash: the next byte is escaped, whatever it is.
                    if self.peek()?.is_none() {
                        return err("unterminated string");
                    }
                    self.pos += 1;
                }
                None => {
                    let keep = self.end;
                    self.pos = self.end;
                    if !self.fill(keep)? {
                        return err("unterminated string");
                    }
                }
            }
        }
    }

    /// `file:line:col: JSON value N: message` for the current position.
    fn error(&self, what: &dyn fmt::Display, i: usize, e: Error) -> anyhow::Error {
        if let Some(io) = &self.io_error {
            return anyhow::anyhow!("{what}: {io}");
        }
        let (lines, col) = self.line_col();
        anyhow::anyhow!("{what}:{}:{}: JSON value {i}: {}", lines + 1, col + 1, e.0)
    }

    /// Newlines before the current position, and bytes since the last of them (or since the
    /// start of the input).
    fn line_col(&self) -> (usize, usize) {
        let seen = &self.buf[..self.pos.min(self.end)];
        let lines = self.lines + memchr::memchr_iter(b'\n', seen).count();
        let col = match memchr::memrchr(b'\n', seen) {
            Some(nl) => seen.len() - nl - 1,
            None => self.col_base + seen.len(),
        };
        (lines, col)
    }
}

/// The items of `offer`'s List from byte `start` (a helper's guess: a `{` after a `,`) to the
/// List's `]`, read as the reader in charge reads them; `None` on any error, or when `stop` is
/// set between items (the reader no longer waits for them).
pub(super) fn read_items_from(
    offer: &Offer,
    mut file: std::fs::File,
    start: u64,
    stop: &AtomicBool,
) -> Option<Part> {
    file.seek(std::io::SeekFrom::Start(start)).ok()?;
    let mut r = Reader::new(file, offer.keep);
    // Not the start of the input: no byte-order mark to look for.
    r.started = true;
    r.consumed = start;
    r.source = Arc::clone(&offer.source);
    let mut items = Vec::new();
    let mut skipped = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        items.push(r.split_object(offer.depth, &mut skipped).ok()?);
        r.skip_ws().ok()?;
        match r.peek().ok()? {
            Some(b',') => r.pos += 1,
            Some(b']') => break,
            _ => return None,
        }
    }
    let (lines, col) = r.line_col();
    Some(Part {
        items,
        skipped,
        end: r.consumed + r.pos as u64,
        lines,
        col,
    })
}

/// Bytes that open or close something while skipping.
const STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'}' as usize] = true;
    t[b'[' as usize] = true;
    t[b']' as usize] = true;
    t
};

/// The first [`STRUCTURAL`] byte of `rest`, looked for 8 bytes at a time: a skipped part is
/// mostly indentation and keys. `{`/`[` and `}`/`]` differ only in bit 0x20, so setting it
/// leaves three bytes to find.
#[inline]
fn structural_at(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const CASE: u64 = u64::from_ne_bytes([0x20; 8]);
    // Bit 7 of each byte of `w` that is zero (exact for the lowest such byte).
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let mut i = 0;
    while let Some(chunk) = rest.get(i..i + 8) {
        // An 8-byte slice always converts.
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let folded = w | CASE;
        let hits = zero(w ^ u64::from_ne_bytes([b'"'; 8]))
            | zero(folded ^ u64::from_ne_bytes([b'{'; 8]))
            | zero(folded ^ u64::from_ne_bytes([b'}'; 8]));
        if hits != 0 {
            // Little-endian load: the lowest set bit is the first byte; a false hit can only
            // sit above a true one, so scan from the first hit's byte.
            let first = i + (hits.trailing_zeros() / 8) as usize;
            return rest[first..]
                .iter()
                .position(|&b| STRUCTURAL[b as usize])
                .map(|p| first + p);
        }
        i += 8;
    }
    rest[i..]
        .iter()
        .position(|&b| STRUCTURAL[b as usize])
        .map(|p| i + p)
}

/// `s` as a JSON string.
pub(super) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run = 0;
    // Runs without anything to escape are found 16 bytes at a time (most strings are one).
    while let Some(at) = to_escape(&bytes[run..]) {
        let i = run + at;
        let b = bytes[i];
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\t' => b"\\t",
            b'\r' => b"\\r",
            _ => b"",
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        if esc.is_empty() {
            let hex = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(hex[(b >> 4) as usize]);
            out.push(hex[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// A number as JSON; floats in Rust's shortest round-trip form (read back to the same value).
fn write_json_number(out: &mut Vec<u8>, n: &Number) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = if let Some(i) = n.as_i64() {
        write!(out, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(out, "{u}")
    } else {
        write!(out, "{:?}", n.as_f64().unwrap_or(0.0))
    };
}

fn utf8(bytes: &[u8]) -> Res<String> {
    text(bytes).map(str::to_string)
}

/// [`text`], unless `plain` says the bytes are known to be printable ASCII already.
#[inline]
fn checked(bytes: &[u8], plain: bool) -> Res<&str> {
    if plain {
        // SAFETY: every byte is below 0x80 (`quote_or_backslash_plain`), and ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    text(bytes)
}

/// The raw bytes of a string without escapes, checked as JSON requires.
fn text(bytes: &[u8]) -> Res<&str> {
    // One pass for control characters and non-ASCII bytes; no early exit, so it vectorises.
    let (control, high) = bytes.iter().fold((false, false), |(c, h), &b| {
        (c | (b < 0x20), h | (b >= 0x80))
    });
    if !high && !control {
        // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8. (Most strings of a
        // snapshot are ASCII; `from_utf8` would walk them a second time.)
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if !control => Ok(s),
        Ok(_) => err("control character in a string"),
        Err(_) => err("invalid UTF-8 in a string"),
    }
}

/// The first byte of `hay` a JSON string writes escaped: `"`, `\` or a control character.
#[inline]
fn to_escape(hay: &[u8]) -> Option<usize> {
    scan_string(hay, true).map(|(i, _)| i)
}

/// [`quote_or_backslash`], and whether every byte before the one found is printable ASCII
/// (neither a control character nor above 0x7f): a string that is needs no other check. False
/// where that was not looked at (bytes after the last 16-byte step): the caller checks them.
#[inline]
fn quote_or_backslash_plain(hay: &[u8]) -> Option<(usize, bool)> {
    scan_string(hay, false)
}

/// The first `"` or `\` in `hay`: where a JSON string ends or has an escape. Inline and 16
/// bytes at a time: the runs between escapes are short (kapp's `original` annotation is JSON
/// escaped every few bytes), and `memchr2`'s call and dispatch cost more than such a run.
#[inline]
fn quote_or_backslash(hay: &[u8]) -> Option<usize> {
    scan_string(hay, false).map(|(i, _)| i)
}

/// The first `"` or `\` in `hay` (or control character, with `control`), and whether the
/// bytes before it are printable ASCII as far as the 16-byte steps saw them (see
/// [`quote_or_backslash_plain`]). Callers that do not ask for the second lose its work when
/// this is inlined.
#[inline(always)]
fn scan_string(hay: &[u8], control: bool) -> Option<(usize, bool)> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes inside `hay` (unaligned).
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let top_control = _mm_set1_epi8(0x1f);
            let mut plain = true;
            while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i).cast::<__m128i>());
                // Unsigned `v <= 0x1f` is `max(v, 0x1f) == 0x1f`.
                let low = _mm_cmpeq_epi8(_mm_max_epu8(v, top_control), top_control);
                let mut hits = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
                if control {
                    hits = _mm_or_si128(hits, low);
                }
                let mask = _mm_movemask_epi8(hits) as u32;
                // Top bits: bytes above 0x7f, and (all ones) those up to 0x1f.
                let odd = _mm_movemask_epi8(_mm_or_si128(v, low)) as u32;
                if mask != 0 {
                    let at = mask.trailing_zeros();
                    let before = (1u32 << at) - 1;
                    return Some((i + at as usize, plain && odd & before == 0));
                }
                plain &= odd == 0;
                i += 16;
            }
        }
    }
    hay[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || (control && b < 0x20))
        .map(|p| (i + p, false))
}

/// Where the JSON string whose text starts `hay` (after its opening quote) ends: `Ok` with the
/// index after its closing quote, or `Err` with how far it surely goes on (all of `hay`, or up
/// to a backslash whose escaped byte is not in `hay`). Escapes are stepped over within each
/// 16-byte step: kapp's `original` annotation, which a diff skips, is escaped every few bytes.
#[inline]
fn string_end(hay: &[u8]) -> Result<usize, usize> {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; each load reads 16 bytes inside `hay` (unaligned).
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            'steps: while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i).cast::<__m128i>());
                let quotes = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u32;
                let mut hits = quotes | _mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u32;
                while hits != 0 {
                    let t = hits.trailing_zeros();
                    if quotes & (1 << t) != 0 {
                        return Ok(i + t as usize + 1);
                    }
                    // A backslash: the byte after it is escaped, whatever it is.
                    if t >= 14 {
                        let next = i + t as usize + 2;
                        if next > hay.len() {
                            return Err(i + t as usize);
                        }
                        i = next;
                        continue 'steps;
                    }
                    hits &= !((1u32 << (t + 2)) - 1);
                }
                i += 16;
            }
        }
    }
    while let Some(&b) = hay.get(i) {
        match b {
            b'"' => return Ok(i + 1),
            b'\\' if i + 1 < hay.len() => i += 2,
            b'\\' => return Err(i),
            _ => i += 1,
        }
    }
    Err(i)
}

/// How many whitespace bytes `rest` starts with; `None` when it is all whitespace. Pretty
/// JSON (`kubectl get -o json`) is half indentation: a newline and its indentation are
/// measured 16 bytes at a time.
#[inline]
fn ws_len(rest: &[u8]) -> Option<usize> {
    crate::scan::first(rest, 0, rest.len(), [b' ', b'\n', b'\r', b'\t'], false)
}

/// Whether compact JSON `json` (a split object's, see [`parse_split`]) builds into a value
/// equal to `v` (as `==` and the diff's comparison count it: map order aside), found without
/// building it. `None` when that build would fail, or could not be told apart from one that
/// does (a key repeated in a map that matches otherwise): the caller builds it then.
pub(super) fn equals(json: &str, v: &Value) -> Option<bool> {
    let mut c = Cursor {
        b: json.as_bytes(),
        i: 0,
    };
    let same = c.value_eq(v, 0)?;
    c.ws();
    match (same, c.i == c.b.len()) {
        (true, true) => Some(true),
        (true, false) => None,
        (false, _) => Some(false),
    }
}

/// The entries after a split object's head (`,"key":value…}`, or `"key":value…}` after an
/// empty head, or `}`), each compared with the entry of `whole` under its key: the number of
/// entries when all are equal, `Some(None)` as soon as one differs or is missing from
/// `whole` or is a key `taken` says the head has. `None` when only building them can tell.
pub(super) fn rest_equals(
    rest: &str,
    whole: &Mapping,
    taken: &dyn Fn(&str) -> bool,
) -> Option<Option<usize>> {
    let mut c = Cursor {
        b: rest.as_bytes(),
        i: 0,
    };
    c.ws();
    if c.b.get(c.i) == Some(&b',') {
        c.i += 1;
    }
    let mut n = 0;
    loop {
        match c.byte()? {
            b'}' => break,
            b'"' => c.i -= 1,
            _ => return None,
        }
        let key = c.string()?;
        let key = std::str::from_utf8(&key).ok()?;
        if c.byte()? != b':' {
            return None;
        }
        if taken(key) {
            return Some(None);
        }
        let Some(v) = crate::lookup::Lookup::at(whole, key) else {
            return Some(None);
        };
        if !c.value_eq(v, 1)? {
            return Some(None);
        }
        n += 1;
        match c.byte()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    c.ws();
    (c.i == c.b.len()).then_some(Some(n))
}

/// A position in compact JSON the reader wrote (so well formed up to repeated keys).
struct Cursor<'j> {
    b: &'j [u8],
    i: usize,
}

/// Maps compared in place are looked up key by key; larger ones are built instead.
const EQ_MAP_MAX: usize = 64;

impl<'j> Cursor<'j> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }

    fn byte(&mut self) -> Option<u8> {
        self.ws();
        let b = *self.b.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    /// `Some(false)` as soon as anything differs: the rest need not be read.
    fn value_eq(&mut self, v: &Value, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                match v {
                    Value::Mapping(m) => self.map_eq(m, depth),
                    _ => Some(false),
                }
            }
            b'[' => {
                self.i += 1;
                match v {
                    Value::Sequence(s) => self.seq_eq(s, depth),
                    _ => Some(false),
                }
            }
            b'"' => {
                let s = self.string()?;
                Some(matches!(v, Value::String(x) if x.as_bytes() == &*s))
            }
            b't' => self.word(b"true", v, &Value::Bool(true)),
            b'f' => self.word(b"false", v, &Value::Bool(false)),
            b'n' => self.word(b"null", v, &Value::Null),
            _ => {
                let start = self.i;
                while matches!(
                    self.b.get(self.i),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
                let n = number_value(text).ok()?;
                Some(*v == n)
            }
        }
    }

    fn word(&mut self, w: &[u8], v: &Value, is: &Value) -> Option<bool> {
        if !self.b[self.i..].starts_with(w) {
            return None;
        }
        self.i += w.len();
        Some(v == is)
    }

    fn map_eq(&mut self, m: &Mapping, depth: usize) -> Option<bool> {
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(m.is_empty());
        }
        if m.len() > EQ_MAP_MAX {
            return None;
        }
        // Which entries of `m` a key found: a key met twice is a repeated key.
        let mut seen: u64 = 0;
        loop {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let key = self.string()?;
            if self.byte()? != b':' {
                return None;
            }
            let Some((at, w)) = m
                .values()
                .zip(m.keys())
                .enumerate()
                .find(|(_, (_, k))| matches!(k, Value::String(s) if s.as_bytes() == &*key))
                .map(|(at, (w, _))| (at, w))
            else {
                return Some(false);
            };
            if seen & (1 << at) != 0 {
                return None;
            }
            seen |= 1 << at;
            if !self.value_eq(w, depth + 1)? {
                return Some(false);
            }
            match self.byte()? {
                b',' => {}
                b'}' => return Some(seen.count_ones() as usize == m.len()),
                _ => return None,
            }
        }
    }

    fn seq_eq(&mut self, s: &[Value], depth: usize) -> Option<bool> {
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(s.is_empty());
        }
        let mut n = 0;
        loop {
            let Some(w) = s.get(n) else {
                return Some(false);
            };
            if !self.value_eq(w, depth + 1)? {
                return Some(false);
            }
            n += 1;
            match self.byte()? {
                b',' => {}
                b']' => return Some(n == s.len()),
                _ => return None,
            }
        }
    }

    /// A string's UTF-8 bytes (standing on its opening quote), borrowed when it has no
    /// escapes (the text is a `str`: bytes between two quotes are whole characters).
    fn string(&mut self) -> Option<std::borrow::Cow<'j, [u8]>> {
        let b: &'j [u8] = self.b;
        self.i += 1;
        let start = self.i;
        let off = quote_or_backslash(&b[start..])?;
        if b[start + off] == b'"' {
            self.i = start + off + 1;
            return Some(std::borrow::Cow::Borrowed(&b[start..start + off]));
        }
        let mut out: Vec<u8> = self.b[start..start + off].to_vec();
        self.i = start + off;
        loop {
            let b = *self.b.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return Some(std::borrow::Cow::Owned(out)),
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    let c = match (e, simple_escape(e)) {
                        (_, Some(c)) => c,
                        (b'u', None) => self.unicode()?,
                        _ => return None,
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
                _ => out.push(b),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        self.i += 4;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    }

    /// A `\u` escape (after `\u`), a surrogate pair taken whole.
    fn unicode(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.b.get(self.i..self.i + 2)? != b"\\u" {
                return None;
            }
            self.i += 2;
            return surrogate_pair(hi, self.hex4()?);
        }
        char::from_u32(hi)
    }
}

/// The character a `\u` surrogate pair stands for (`hi` already known to be a high one);
/// `None` when `lo` is not a low surrogate.
fn surrogate_pair(hi: u32, lo: u32) -> Option<char> {
    if !(0xDC00..0xE000).contains(&lo) {
        return None;
    }
    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
}

/// The character a one-letter JSON escape (`\\n` and the like; not `\\u`) stands for.
fn simple_escape(e: u8) -> Option<char> {
    Some(match e {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// A JSON number as the reader builds it: an integer when it has no fraction or exponent and
/// fits, else a float.
fn number_value(text: &str) -> Res<Value> {
    if !valid_number(text.as_bytes()) {
        return err(format!("invalid number `{text}`"));
    }
    let float = text.contains(['.', 'e', 'E']);
    if !float {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Number(Number::from(i)));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::Number(Number::from(u)));
        }
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Value::Number(Number::from(f))),
        _ => err(format!("number out of range `{text}`")),
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn valid_number(t: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < t.len() && t[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    if t.first() == Some(&b'-') {
        i += 1;
    }
    if t.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return false;
    }
    if t.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == t.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::Lookup;

    fn parse(text: &str) -> Vec<Value> {
        read(text, Keep::Metadata)
    }

    /// Compared where it stands, JSON agrees with building it: equal exactly when the built
    /// value is (map order aside), and never equal when the build fails.
    #[test]
    fn equals_agrees_with_building() {
        let jsons = [
            r#"{"a":1,"b":[true,null,{"c":"d"}]}"#,
            r#"{"b":[true,null,{"c":"d"}],"a":1}"#,
            r#"{"a":1.0,"b":[true,null,{"c":"d"}]}"#,
            r#"{"a":"1","b":[true,null,{"c":"d"}]}"#,
            r#"{"a":1,"b":[true,null,{"c":"e"}]}"#,
            r#"{"a":1,"b":[null,true,{"c":"d"}]}"#,
            r#"{"a":1,"b":[true,null,{"c":"d"}],"x":{}}"#,
            r#"{"a":1,"b":[true,null,{"c":"d"},[]]}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"b":[true,null,{"c":"d","c":"d"}]}"#,
            r#"{"s":"line\nnext \"q\" \u00e9 \ud83d\ude00 \/"}"#,
            r#"{"s":"line\nnext \"q\" é 😀 /"}"#,
            r#"{"n":-12,"m":18446744073709551615,"f":2.5e3}"#,
            r#"[]"#,
            r#"{}"#,
            r#""x""#,
            r#"false"#,
        ];
        let yamls = [
            "{a: 1, b: [true, null, {c: d}]}",
            "{b: [true, null, {c: d}], a: 1}",
            "{a: 1.0, b: [true, null, {c: d}]}",
            "{a: '1', b: [true, null, {c: d}]}",
            "{a: 1}",
            "{a: 1, b: [true, null, {c: d}], x: {}}",
            "{a: 1, b: [true, null, {c: d}, []]}",
            "{a: !t 1, b: [true, null, {c: d}]}",
            "{s: \"line\\nnext \\\"q\\\" é 😀 /\"}",
            "{n: -12, m: 18446744073709551615, f: 2500.0}",
            "[]",
            "{}",
            "x",
            "false",
        ];
        for j in jsons {
            let built = parse_rest(j).ok();
            for y in yamls {
                let v: Value = serde_yaml::from_str(y).unwrap();
                let eq = equals(j, &v);
                match &built {
                    Some(b) => {
                        let want = crate::diff::same(b, &v);
                        assert!(eq == Some(want) || (eq.is_none() && !want), "{j} vs {y}");
                    }
                    None => assert_ne!(eq, Some(true), "{j} builds to nothing, vs {y}"),
                }
            }
        }
    }

    #[test]
    fn strings_written_escaped_at_every_place() {
        // The byte-by-byte writer this one replaced, as the reference.
        fn reference(s: &str) -> Vec<u8> {
            let mut out = vec![b'"'];
            for c in s.chars() {
                match c {
                    '"' => out.extend_from_slice(b"\\\""),
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '\n' => out.extend_from_slice(b"\\n"),
                    '\t' => out.extend_from_slice(b"\\t"),
                    '\r' => out.extend_from_slice(b"\\r"),
                    c if (c as u32) < 0x20 => {
                        out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                    }
                    c => out.extend_from_slice(c.to_string().as_bytes()),
                }
            }
            out.push(b'"');
            out
        }
        for len in 0..40 {
            for at in 0..=len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
                    let s: String = (0..len)
                        .map(|i| if i == at { special } else { 'a' })
                        .collect();
                    let mut got = Vec::new();
                    write_json_string(&mut got, &s);
                    assert_eq!(got, reference(&s), "{s:?}");
                    // What is written reads back as the same string.
                    let back: String = serde_json::from_slice(&got).unwrap();
                    assert_eq!(back, s);
                }
            }
        }
    }

    #[test]
    fn plain_strings_known_as_such() {
        // Every length around the 16-byte steps, an odd byte at every place before the end.
        for len in 0..50 {
            for odd_at in 0..=len {
                for odd in [0x01u8, 0x1f, 0x7f, 0x80, 0xC3, 0xFF, b' '] {
                    let mut hay = vec![b'a'; len];
                    if odd_at < len {
                        hay[odd_at] = odd;
                    }
                    hay.push(b'"');
                    hay.extend_from_slice(&[0xFF; 20]);
                    let (at, plain) = quote_or_backslash_plain(&hay).unwrap();
                    assert_eq!(at, len);
                    let printable = hay[..len].iter().all(|&b| (0x20..0x80).contains(&b));
                    // Never plain when it is not; plain whenever a 16-byte step saw it all.
                    assert!(!plain || printable, "{len} {odd_at} {odd}");
                    if printable && len + 16 <= hay.len() {
                        assert!(plain, "{len} {odd_at} {odd}");
                    }
                    assert_eq!(
                        quote_or_backslash_plain(&hay).map(|(i, _)| i),
                        quote_or_backslash(&hay)
                    );
                }
            }
        }
    }

    #[test]
    fn quote_or_backslash_finds_the_first_of_either() {
        // Every length around the 16-byte steps, the hit at every place or nowhere.
        for len in 0..50 {
            for at in 0..=len {
                for hit in [b'"', b'\\'] {
                    let mut hay = vec![b'a'; len];
                    if at < len {
                        hay[at] = hit;
                        // A later hit of the other kind must not win.
                        if at + 1 < len {
                            hay[len - 1] = if hit == b'"' { b'\\' } else { b'"' };
                        }
                    }
                    let want = hay.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(quote_or_backslash(&hay), want, "{len} {at}");
                }
            }
        }
        // Bytes that differ from the two only in their high bit are not hits.
        assert_eq!(quote_or_backslash(&[0xA2; 40]), None);
        assert_eq!(quote_or_backslash(&[0xDC; 40]), None);
    }

    #[test]
    fn rest_compared_in_one_pass() {
        let whole: Value = serde_yaml::from_str("{kind: K, data: {a: '1'}, spec: [1]}").unwrap();
        let whole = whole.as_mapping().unwrap();
        let none = |_: &str| false;
        assert_eq!(
            rest_equals(r#","spec":[1],"data":{"a":"1"}}"#, whole, &none),
            Some(Some(2))
        );
        assert_eq!(
            rest_equals(r#""data":{"a":"1"}}"#, whole, &none),
            Some(Some(1))
        );
        assert_eq!(rest_equals("}", whole, &none), Some(Some(0)));
        assert_eq!(
            rest_equals(r#","data":{"a":"2"}}"#, whole, &none),
            Some(None)
        );
        assert_eq!(rest_equals(r#","other":1}"#, whole, &none), Some(None));
        // A field the head holds, or one the sides read, is not compared here.
        assert_eq!(
            rest_equals(r#","data":{"a":"1"}}"#, whole, &|k| k == "data"),
            Some(None)
        );
        assert_eq!(rest_equals(r#","data":{"a":"1"}"#, whole, &none), None);
    }

    /// The objects read from `text`, whole.
    fn read(text: &str, keep: Keep) -> Vec<Value> {
        let mut out = Vec::new();
        parse_json_objects(text.as_bytes(), &"t.json", keep, &mut out).unwrap();
        whole(out)
    }

    fn whole(objects: Vec<LiveObject>) -> Vec<Value> {
        objects
            .into_iter()
            .map(|o| o.into_value().unwrap())
            .collect()
    }

    /// The error reading `text` (named `x.json`) fails with.
    fn refused(text: &str, keep: Keep) -> String {
        let mut out = Vec::new();
        parse_json_objects(text.as_bytes(), &"x.json", keep, &mut out)
            .unwrap_err()
            .to_string()
    }

    /// [`parse`], one byte per read.
    fn trickled(text: &str) -> Vec<Value> {
        let mut out = Vec::new();
        parse_json_objects(
            Trickle(text.as_bytes()),
            &"t.json",
            Keep::Metadata,
            &mut out,
        )
        .unwrap();
        whole(out)
    }

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    /// Reads one byte per call: every refill path is taken.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.split_first() {
                Some((b, rest)) if !buf.is_empty() => {
                    buf[0] = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn skips_status_and_managed_fields() {
        let got = parse(
            r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
              {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","managedFields":[{"manager":"kapp","f":{"\"}]":{}}}],"labels":{"x":"1"}},"data":{"status":"kept"},"status":{"phase":"x"}},
              {"metadata":{"name":"b"},"spec":{"items":[{"status":1}]}}]}
            {"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"status":{},"n":[1,-2,1.5,null,true]}"#,
        );
        assert_eq!(
            got,
            vec![
                y("{apiVersion: v1, kind: ConfigMap, metadata: {name: a, labels: {x: '1'}}, data: {status: kept}}"),
                y("{metadata: {name: b}, spec: {items: [{status: 1}]}}"),
                y("{apiVersion: v1, kind: Secret, metadata: {name: s}, n: [1, -2, 1.5, null, true]}"),
            ]
        );
    }

    #[test]
    fn items_of_a_non_list_are_refused_only_when_something_was_dropped() {
        let got =
            parse(r#"{"kind":"Thing","items":[{"spec":1,"metadata":{"name":"x"}}],"status":{}}"#);
        assert_eq!(
            got,
            vec![y("{kind: Thing, items: [{spec: 1, metadata: {name: x}}]}")]
        );
        let e = refused(
            r#"{"kind":"Thing","items":[{"status":1,"metadata":{"managedFields":[]}}]}"#,
            Keep::Metadata,
        );
        assert!(
            e.starts_with("x.json: JSON value 1: an object that is not a List"),
            "{e}"
        );
    }

    #[test]
    fn same_as_serde_json_otherwise() {
        let text = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","annotations":{"a":"{\"x\":1}","u":"caf\u00e9 \ud83d\ude00 \n\t\\ \/ é"}},"spec":{"replicas":2,"big":18446744073709551615,"neg":-9223372036854775808,"f":-1.5e3,"z":0,"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}],"e":[],"o":{}}]}}}}"#;
        let generic: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parse(text), vec![generic.clone()]);
        assert_eq!(trickled(text), vec![generic]);
    }

    #[test]
    fn trickled_input_skips_the_same() {
        let text = "\u{feff}{\"kind\":\"List\",\"items\":[{\"metadata\":{\"name\":\"a\",\"managedFields\":[{\"x\":\"a\\\"]}\"}]},\"status\":{\"s\":[1,{\"t\":\"}\"}]}}]}\n";
        assert_eq!(trickled(text), vec![y("{metadata: {name: a}}")]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"{\"a\":1,\"a\":2}",
                "x.json:1:14: JSON value 1: duplicate key",
            ),
            (
                b"{\"a\":",
                "x.json:1:6: JSON value 1: expected a JSON value, found the end",
            ),
            (
                b"{}\n{\n  \"a\": tru\n}",
                "x.json:3:8: JSON value 2: expected a JSON value",
            ),
            (b"{\"a\": 01}", "invalid number `01`"),
            (b"{\"a\": \"x", "unterminated string"),
            (
                b"{\"status\": [1, 2}",
                "x.json:1:17: JSON value 1: unexpected `}`",
            ),
            // A skipped part's strings must close; an escaped quote does not close one.
            (b"{\"status\": {\"a\\\"\": \"x\\\"}", "unterminated string"),
            // Brackets inside a skipped part's strings do not count: the skip ends at the real
            // close, and the outer object is then missing its own.
            (
                b"{\"status\": {\"a]\": [\"}\"]}",
                "x.json:1:25: JSON value 1: expected `,` or `}`",
            ),
            (
                b"{\"status\": [1, 2",
                "unexpected end of the input inside a value",
            ),
            (b"{\"a\": \"\\q\"}", "invalid escape `\\q`"),
            (b"{\"a\": \"\\ud800\"}", "unpaired surrogate"),
            (b"{\"a\": \"\xff\"}", "invalid UTF-8"),
            (b"{\"a\": \"\x01\"}", "control character"),
            // The same with 16 bytes and more after them (read 16 at a time), in a plain
            // value, a List item's copied body and its copied labels.
            (
                b"{\"a\": \"x\xffy\", \"padding-padding-padding\": 1}",
                "invalid UTF-8",
            ),
            (
                b"{\"a\": \"x\x1fy\", \"padding-padding-padding\": 1}",
                "control character",
            ),
            (
                b"{\"kind\": \"List\", \"items\": [{\"kind\": \"K\", \"data\": {\"a\": \"\xc3(\"}, \"padding-padding\": 1}]}",
                "invalid UTF-8",
            ),
            (
                b"{\"kind\": \"List\", \"items\": [{\"kind\": \"K\", \"metadata\": {\"labels\": {\"a\": \"\x02\"}}, \"padding-padding\": 1}]}",
                "control character",
            ),
            (
                b"{\"kind\": \"List\", \"items\": [{\"kind\": \"K\", \"metadata\": {\"labels\": {\"a\": \"\x80\"}}, \"padding-padding\": 1}]}",
                "invalid UTF-8",
            ),
            (b"{\"a\" 1}", "expected `:`"),
            (b"{\"a\": 1 \"b\": 2}", "expected `,` or `}`"),
            (b"[1 2]", "expected `,` or `]`"),
            (b"{1: 2}", "expected a string key"),
        ];
        for (text, want) in cases {
            let mut out = Vec::new();
            let e = parse_json_objects(*text, &"x.json", Keep::Metadata, &mut out).unwrap_err();
            assert!(
                e.to_string().contains(want),
                "{:?}: {e}",
                String::from_utf8_lossy(text)
            );
            let e =
                parse_json_objects(Trickle(text), &"x.json", Keep::Metadata, &mut out).unwrap_err();
            assert!(
                e.to_string().contains(want),
                "trickled {:?}: {e}",
                String::from_utf8_lossy(text)
            );
        }
        let deep = format!("{}{}", "[".repeat(600), "]".repeat(600));
        let mut out = Vec::new();
        let e =
            parse_json_objects(deep.as_bytes(), &"x.json", Keep::Metadata, &mut out).unwrap_err();
        assert!(e.to_string().contains("nested more than 512"), "{e}");
        let deep = format!("{{\"status\":{}{}}}", "[".repeat(600), "]".repeat(600));
        let e =
            parse_json_objects(deep.as_bytes(), &"x.json", Keep::Metadata, &mut out).unwrap_err();
        assert!(e.to_string().contains("nested more than 512"), "{e}");
    }

    #[test]
    fn compared_leaves_out_server_metadata_and_kapp_history() {
        let text = r#"{"kind":"List","metadata":{"resourceVersion":"1"},"items":[
          {"kind":"ConfigMap","metadata":{"name":"a","uid":"u","resourceVersion":"2","generation":3,"creationTimestamp":"t","selfLink":"/x","annotations":{"kapp.k14s.io/original":"{\"k\":1}","kapp.k14s.io/original-diff-md5":"m"}},"data":{"uid":"kept"}},
          {"kind":"ConfigMap","metadata":{"name":"b","annotations":{"kapp.k14s.io/original":"{}","team":"x"}}},
          {"kind":"ConfigMap","metadata":{"name":"c","annotations":{}}}]}"#;
        assert_eq!(
            read(text, Keep::Compared),
            vec![
                // Annotations emptied by the skip go, as `normalize::strip_history` drops them.
                y("{kind: ConfigMap, metadata: {name: a}, data: {uid: kept}}"),
                y("{kind: ConfigMap, metadata: {name: b, annotations: {team: x}}}"),
                // Annotations that were empty to begin with stay.
                y("{kind: ConfigMap, metadata: {name: c, annotations: {}}}"),
            ]
        );
        let all = read(text, Keep::Metadata);
        assert_eq!(all[0]["metadata"]["uid"], y("u"));
        assert_eq!(
            all[0]["metadata"]["annotations"]
                .as_mapping()
                .unwrap()
                .len(),
            2
        );
        // The items of an object that is not a List are its own data: nothing may be cut there.
        let e = refused(
            r#"{"kind":"Thing","items":[{"metadata":{"uid":"u"}}]}"#,
            Keep::Compared,
        );
        assert!(e.contains("not a List"), "{e}");
    }

    /// The objects read from `text` as the reader hands them out.
    fn split(text: &str) -> Vec<LiveObject> {
        let mut out = Vec::new();
        parse_json_objects(text.as_bytes(), &"t.json", Keep::Metadata, &mut out).unwrap();
        out
    }

    #[test]
    fn list_items_are_held_as_json_and_read_back_the_same() {
        // Every kind of JSON value in the part held as text, pretty-printed as kubectl does.
        let item = r#"{
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"app": "x"}},
            "data": {"q": "say \"hi\"\\ \n\t\r \u0001 \u00e9 \ud83d\ude00 é /", "e": ""},
            "spec": {
                "n": [0, 7, -12, 18446744073709551615, 1.5, -2.25e-3, 1e3, 1E+2, 0.1],
                "b": [true, false, null], "o": {}, "a": [], "deep": [[{"k": [1]}]]
            },
            "status": {"phase": "gone"},
            "type": "Opaque"
        }"#;
        let text = format!(r#"{{"apiVersion": "v1", "items": [{item}], "kind": "List"}}"#);
        let got = split(&text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind(), Some("ConfigMap"));
        assert_eq!(crate::live::Meta::label(&got[0], "app"), Some("x"));
        // Read back whole, it is what a plain JSON parser makes of the item, less `status`.
        let mut want: serde_json::Value = serde_json::from_str(item).unwrap();
        want.as_object_mut().unwrap().remove("status");
        let want: Value = serde_yaml::to_value(want).unwrap();
        let whole = got[0].clone().into_value().unwrap();
        assert_eq!(whole, want);
        // In the order the input gave.
        let keys: Vec<&str> = whole
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            keys,
            ["apiVersion", "kind", "metadata", "data", "spec", "type"]
        );
        // The same read one byte at a time.
        assert_eq!(trickled(&text), vec![want]);
    }

    #[test]
    fn list_items_answer_identity_labels_and_annotations_as_their_whole_values_do() {
        use crate::live::Meta;
        let items = [
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"","generateName":"w-","namespace":"n","uid":"u","labels":{"a":"1","n":2,"e":"\u00e9\n"},"annotations":{"kapp.k14s.io/original":"{}","x":{"y":1},"kapp.k14s.io/identity":"v1;n/apps/Deployment/w-;apps/v1"}},"spec":{"replicas":1}}"#,
            r#"{"metadata":{"annotations":{"kapp.k14s.io/original-diff-md5":"m"},"labels":7},"kind":"Secret","apiVersion":"v1","data":{}}"#,
            r#"{"kind":"ConfigMap","metadata":{"name":"c","annotations":{}}}"#,
            r#"{"kind":"ConfigMap","metadata":[1]}"#,
            r#"{"apiVersion":1,"kind":"ConfigMap","metadata":{"name":"odd","labels":{"a":"b"}}}"#,
        ];
        let keys = [
            "a",
            "n",
            "e",
            "x",
            "kapp.k14s.io/original",
            "kapp.k14s.io/identity",
            "kapp.k14s.io/original-diff-md5",
            "zz",
        ];
        for keep in [Keep::Metadata, Keep::Compared] {
            let text = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
            let mut got = Vec::new();
            parse_json_objects(text.as_bytes(), &"t.json", keep, &mut got).unwrap();
            assert_eq!(got.len(), items.len());
            for (o, item) in got.iter().zip(items) {
                let v = o.to_value().unwrap();
                assert_eq!(o.id(), crate::manifest::ResourceId::of(&v), "{item}");
                assert_eq!(o.kind(), v.at("kind").and_then(Value::as_str), "{item}");
                for k in keys {
                    assert_eq!(o.label(k), v.label(k), "{item} {k}");
                    assert_eq!(o.annotation(k), v.annotation(k), "{item} {k}");
                    assert_eq!(o.has_annotation(k), v.has_annotation(k), "{item} {k}");
                }
            }
        }
        // Repeated keys of the parts the head notes are refused where they are.
        for text in [
            r#"{"kind":"List","items":[{"metadata":{"labels":{"a":"1","a":"2"}}}]}"#,
            r#"{"kind":"List","items":[{"metadata":{"annotations":{"kapp.k14s.io/original":"1","kapp.k14s.io/original":"2"}}}]}"#,
            r#"{"kind":"List","items":[{"metadata":{"name":"a","name":"b"}}]}"#,
            r#"{"kind":"List","items":[{"kind":"A","kind":"B"}]}"#,
        ] {
            let mut out = Vec::new();
            let e = parse_json_objects(text.as_bytes(), &"t.json", Keep::Compared, &mut out)
                .unwrap_err()
                .to_string();
            assert!(e.contains("duplicate key"), "{text}: {e}");
        }
    }

    #[test]
    fn list_items_of_typed_lists_and_objects_that_are_not_lists() {
        // A typed List's items get its kind; the item without a rest is held whole.
        let got = split(
            r#"{"apiVersion":"v1","kind":"ConfigMapList","items":[{"metadata":{"name":"a"},"data":{"k":"v"}},{"metadata":{"name":"b"}}]}"#,
        );
        assert_eq!(
            whole(got),
            vec![
                y("{metadata: {name: a}, kind: ConfigMap, apiVersion: v1, data: {k: v}}"),
                y("{metadata: {name: b}, kind: ConfigMap, apiVersion: v1}"),
            ]
        );
        // Not a List: its items are its own data, put back whole.
        assert_eq!(
            parse(r#"{"kind":"Thing","items":[{"spec":{"x":1}},2,[]],"spec":{}}"#),
            vec![y("{kind: Thing, items: [{spec: {x: 1}}, 2, []], spec: {}}")]
        );
        // A List inside a List is expanded; null items are dropped; empty items are objects.
        assert_eq!(
            parse(
                r#"{"kind":"List","items":[{"kind":"List","items":[{"kind":"A","spec":1}]},null,{}]}"#
            ),
            vec![y("{kind: A, spec: 1}"), y("{}")]
        );
    }

    #[test]
    fn bad_json_in_the_part_held_as_text_is_refused_where_it_is() {
        for (text, want) in [
            (
                "{\"kind\":\"List\",\"items\":[{\"spec\":\n {\"a\": 01}}]}",
                "t.json:2:10: JSON value 1: invalid number `01`",
            ),
            (
                r#"{"kind":"List","items":[{"spec":{"a":tru}}]}"#,
                "expected a JSON value",
            ),
            (
                r#"{"kind":"List","items":[{"spec":{"a":1,}}]}"#,
                "expected a string key",
            ),
            (
                r#"{"kind":"List","items":[{"spec":[1 2]}]}"#,
                "expected `,` or `]` in an array",
            ),
            (
                r#"{"kind":"List","items":[{"spec":{},"spec":{}}]}"#,
                "duplicate key",
            ),
            (
                r#"{"kind":"List","items":[{"spec":"\x"}]}"#,
                "invalid escape",
            ),
            (r#"{"kind":"List","items":[],"items":[]}"#, "duplicate key"),
            (
                "{\"kind\":\"List\",\"items\":[{\"spec\":{\"a\u{1}\":1}}]}",
                "control character in a string",
            ),
        ] {
            let mut out = Vec::new();
            let e = parse_json_objects(text.as_bytes(), &"t.json", Keep::Metadata, &mut out)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        // A repeated key deeper inside is found when the object is built.
        let got = split(r#"{"kind":"List","items":[{"spec":{"a":1,"a":2}}]}"#);
        let e = got[0].clone().into_value().unwrap_err().to_string();
        assert_eq!(
            e,
            "t.json: a live object's spec, data or other fields: duplicate key in a JSON object"
        );
        // Too deep inside the text part, as anywhere else.
        let deep = format!(
            r#"{{"kind":"List","items":[{{"spec":{}{}}}]}}"#,
            "[".repeat(600),
            "]".repeat(600)
        );
        let mut out = Vec::new();
        let e = parse_json_objects(deep.as_bytes(), &"t.json", Keep::Metadata, &mut out)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested more than 512"), "{e}");
    }

    #[test]
    fn structural_bytes_found_like_a_plain_scan() {
        let plain = |b: &[u8]| b.iter().position(|&c| STRUCTURAL[c as usize]);
        // Every structural byte, and near misses (`;`, `=`, `{` | 0x80, `\x02`), at every offset.
        for filler in [b' ', b'a', b';', b'=', 0xfb, 0x02, 0x7f] {
            for hit in [b'"', b'{', b'}', b'[', b']', b' '] {
                for len in 0..20 {
                    for at in 0..len {
                        let mut v = vec![filler; len];
                        v[at] = hit;
                        assert_eq!(structural_at(&v), plain(&v), "{filler} {hit} {len} {at}");
                    }
                }
            }
        }
    }

    /// A string's end found 16 bytes at a time, escapes stepped over in the step, is where
    /// reading it byte by byte finds it, for escapes at every place around the steps.
    #[test]
    fn string_ends_found_by_steps_as_byte_by_byte() {
        let naive = |h: &[u8]| -> Result<usize, usize> {
            let mut i = 0;
            while i < h.len() {
                match h[i] {
                    b'"' => return Ok(i + 1),
                    b'\\' if i + 1 < h.len() => i += 2,
                    b'\\' => return Err(i),
                    _ => i += 1,
                }
            }
            Err(i)
        };
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..40_000 {
            let len = (next() % 70) as usize;
            // Mostly plain bytes, with quotes and backslashes (runs of them too).
            let h: Vec<u8> = (0..len)
                .map(|_| match next() % 10 {
                    0 | 1 => b'\\',
                    2 => b'"',
                    3 => 0xc3,
                    _ => b'a',
                })
                .collect();
            assert_eq!(
                string_end(&h),
                naive(&h),
                "{:?}",
                String::from_utf8_lossy(&h)
            );
        }
        // A backslash as the last byte of a full step, with nothing after it.
        let mut h = vec![b'a'; 15];
        h.push(b'\\');
        assert_eq!(string_end(&h), Err(15));
        h.push(b'"');
        assert_eq!(string_end(&h), Err(17));
        h.push(b'"');
        assert_eq!(string_end(&h), Ok(18));
    }

    #[test]
    fn whitespace_runs() {
        for (text, want) in [
            ("", None),
            ("   ", None),
            ("x", Some(0)),
            (" \n\t\r x", Some(5)),
            ("\n                    }", Some(21)),
            ("                 ", None),
            ("        \t        {", Some(17)),
        ] {
            assert_eq!(ws_len(text.as_bytes()), want, "{text:?}");
        }
        // Every split of spaces, other whitespace and an end byte across word boundaries.
        let naive = |b: &[u8]| {
            b.iter()
                .position(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))
        };
        for before in 0..20 {
            for after in 0..20 {
                for mid in ["", "\n", "\t", "\r\n", "x", "\u{e9}"] {
                    for end in ["", "}", "\"", " "] {
                        let t = format!("{}{mid}{}{end}", " ".repeat(before), " ".repeat(after));
                        assert_eq!(ws_len(t.as_bytes()), naive(t.as_bytes()), "{t:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn long_strings_and_numbers_across_chunks() {
        let long = "x".repeat(3 * CHUNK + 17);
        let num = format!("1{}", "0".repeat(20));
        // Escaped JSON inside a string (kapp's `original` annotation), longer than a chunk, with
        // escapes falling on every chunk boundary in turn.
        let escaped = "{\\\"k\\\":\\\"v\\u00e9\\\"},".repeat(CHUNK / 9);
        let text =
            format!("{{\"a\":\"{long}\",\"b\":{num},\"c\":\"{long}\\n\",\"d\":\"{escaped}\"}}");
        let got = parse(&text);
        let generic: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got, vec![generic]);
    }
}
