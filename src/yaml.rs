//! YAML streams in and out, the way kubectl, kapp and ytt read them.
//!
//! Parsing resolves plain scalars with go-yaml v2's YAML 1.1 rules (what `sigs.k8s.io/yaml`, and so
//! kubectl, kapp and ytt use): `0600` is octal 384, `yes`/`on`/`y` are booleans. Emitting writes
//! one canonical block style and quotes every string that either YAML 1.1 or 1.2 would read as
//! something else, so the output means the same to every consumer.
//!
//! Limits (alias expansion, nesting depth) are enforced while building values, so hostile input
//! ("billion laughs") fails with an error instead of exhausting memory.

use serde_yaml::{Mapping, Number, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Limits for one parse. Defaults sit far above real manifests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum nesting depth of collections.
    pub max_depth: usize,
    /// Maximum number of nodes a document may hold after alias expansion.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 200,
            max_nodes: 2_000_000,
        }
    }
}

/// A parse error with its 1-based line and column in the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.line, self.col
        )
    }
}

impl std::error::Error for YamlError {}

impl YamlError {
    /// The one-line error kpipe reports for a file: `FILE:LINE:COL: message`.
    pub fn in_file(&self, file: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{file}:{}:{}: {}", self.line, self.col, self.message)
    }
}

/// One document of a stream: its value and the line where its content starts.
#[derive(Debug, Clone)]
pub struct Doc {
    pub value: Value,
    /// 1-based line of the document's first node in the parsed text.
    pub line: usize,
    /// True when the document holds no node at all (only comments or `---`).
    pub empty: bool,
}

/// Where a node sits in the source: line and column (1-based) and, for collections, its children.
#[derive(Debug, Clone, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    /// Sequence items, or mapping values in order.
    pub items: Vec<Pos>,
    /// Mapping keys as strings, parallel to `items` for mappings.
    pub keys: Vec<String>,
}

impl Pos {
    /// The position of the node at `path` (map keys or sequence indexes), or the nearest ancestor.
    pub fn find(&self, path: &[PathSeg]) -> &Pos {
        let mut cur = self;
        for seg in path {
            let next = match seg {
                PathSeg::Key(k) => cur.keys.iter().position(|x| x == k).map(|i| &cur.items[i]),
                PathSeg::Index(i) if cur.keys.is_empty() => cur.items.get(*i),
                PathSeg::Index(_) => None,
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        cur
    }
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

impl std::fmt::Display for PathSeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathSeg::Key(k) => f.write_str(k),
            PathSeg::Index(i) => write!(f, "{i}"),
        }
    }
}

/// The index of the first byte at or after `i` in `b` that is not a space (`b.len()` when
/// there is none). Indentation (YAML lines, pretty JSON) runs long: 8 bytes are tested at a
/// time, the first other byte found from the word's lowest set bit (little-endian), then byte
/// by byte for the last few.
#[inline(always)]
pub(crate) fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    const SPACES: u64 = u64::from_le_bytes([b' '; 8]);
    while let Some(word) = b.get(i..i + 8) {
        // A slice of 8 bytes always converts.
        let other = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ SPACES;
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Renders a path as `spec.templates[0].name`.
pub fn path_string(path: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            PathSeg::Index(i) => {
                let _ = write!(s, "[{i}]");
            }
        }
    }
    s
}

#[path = "yaml_fast.rs"]
mod fast;
#[path = "yaml_head.rs"]
pub mod head;
#[cfg(test)]
#[path = "yaml_mapping_tests.rs"]
mod mapping_tests;

pub use fast::parse_stream_fast;

/// Parses every document of a YAML stream.
///
/// The common block-style subset goes through [`parse_stream_fast`]; anything else (and every
/// error) through the full yaml-rust2 based parser, [`parse_stream_slow`]. Both give the same result.
pub fn parse_stream(text: &str, limits: Limits) -> Result<Vec<Doc>, YamlError> {
    let text = crate::limits::strip_bom(text);
    if let Some(e) = crate::limits::control_character(text) {
        return Err(e);
    }
    parse_checked(text, limits)
}

/// [`parse_stream`] for a text whose BOM is gone and that holds no control character (pieces
/// of a text already checked whole: [`head`]).
fn parse_checked(text: &str, limits: Limits) -> Result<Vec<Doc>, YamlError> {
    if let Some(result) = parse_stream_fast(text, limits) {
        FAST_PARSES.fetch_add(1, Ordering::Relaxed);
        return result;
    }
    SLOW_PARSES.fetch_add(1, Ordering::Relaxed);
    parse_stream_slow(text, limits)
}

static FAST_PARSES: AtomicUsize = AtomicUsize::new(0);
static SLOW_PARSES: AtomicUsize = AtomicUsize::new(0);

/// How many `parse_stream` calls so far took the fast path, and how many fell back.
pub fn parse_path_counts() -> (usize, usize) {
    (
        FAST_PARSES.load(Ordering::Relaxed),
        SLOW_PARSES.load(Ordering::Relaxed),
    )
}

/// Parses every document of a YAML stream with the full parser (no fast path).
pub fn parse_stream_slow(text: &str, limits: Limits) -> Result<Vec<Doc>, YamlError> {
    Ok(parse_lenient(text, limits, false)?
        .into_iter()
        .map(|(d, _)| d)
        .collect())
}

/// Parses every document of a YAML stream and keeps each node's position.
pub fn parse_stream_with_positions(
    text: &str,
    limits: Limits,
) -> Result<Vec<(Doc, Pos)>, YamlError> {
    let text = crate::limits::strip_bom(text);
    if let Some(e) = crate::limits::control_character(text) {
        return Err(e);
    }
    parse_lenient(text, limits, true)
}

const QUOTED_INDENT: &str = "invalid indentation in quoted scalar";

/// yaml-rust2 rejects a multi-line quoted scalar whose continuation lines sit at the parent's
/// indentation (`args: ['` … `']`, as in Argo's own examples); go-yaml, which kubectl uses,
/// accepts it. Continuation lines of a quoted scalar lose their leading blanks anyway, so
/// indenting them further changes no value and no line number: do that and parse again.
fn parse_lenient(
    text: &str,
    limits: Limits,
    positions: bool,
) -> Result<Vec<(Doc, Pos)>, YamlError> {
    let mut current = std::borrow::Cow::Borrowed(text);
    for _ in 0..64 {
        match Builder::new(&current, limits, positions).run() {
            Err(e) if e.message == QUOTED_INDENT => match indent_quoted(&current, e.line, e.col) {
                Some(fixed) => current = std::borrow::Cow::Owned(fixed),
                None => return Err(e),
            },
            other => return other,
        }
    }
    Builder::new(&current, limits, positions).run()
}

/// Indents the continuation lines of the quoted scalar starting at `line`:`col` (1-based) to
/// one column past its opening quote. `None` when nothing can be fixed.
fn indent_quoted(text: &str, line: usize, col: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let first = lines.get(line.checked_sub(1)?)?;
    let start = first
        .char_indices()
        .nth(col.checked_sub(1)?)
        .map(|(i, _)| i)?;
    let quote = first[start..]
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')?;
    // Find the closing quote, honouring '' in single quotes and \ escapes in double quotes.
    let close_line;
    let mut rest = &first[start + 1..];
    let mut row = line - 1;
    'outer: loop {
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if quote == '"' && c == '\\' {
                chars.next();
            } else if c == quote {
                if quote == '\'' && chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    close_line = row;
                    break 'outer;
                }
            }
        }
        row += 1;
        rest = lines.get(row)?;
    }
    if close_line == line - 1 {
        return None;
    }
    let pad = " ".repeat(col);
    let mut out = String::with_capacity(text.len() + pad.len() * (close_line - line + 1));
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if i >= line && i <= close_line {
            out.push_str(&pad);
        }
        out.push_str(l);
    }
    Some(out)
}

/// Parses a text that must hold at most one document; an empty text gives `Value::Null`.
pub fn parse_one(text: &str, limits: Limits) -> Result<Value, YamlError> {
    single(parse_stream(text, limits)?)
}

/// [`parse_one`] for a piece of a text already checked whole (see [`parse_checked`]).
fn parse_one_checked(text: &str, limits: Limits) -> Result<Value, YamlError> {
    single(parse_checked(text, limits)?)
}

/// The one non-empty document of a stream, or `Value::Null`.
fn single(docs: Vec<Doc>) -> Result<Value, YamlError> {
    let mut non_empty = docs.into_iter().filter(|d| !d.empty);
    let first = non_empty.next();
    if let Some(second) = non_empty.next() {
        return Err(YamlError {
            line: second.line,
            col: 1,
            message: "expected a single YAML document, found several".into(),
        });
    }
    Ok(first.map(|d| d.value).unwrap_or(Value::Null))
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    limits: Limits,
    positions: bool,
    anchors: HashMap<usize, (Value, Pos, usize)>,
    nodes: usize,
}

fn err(mark: &Marker, message: impl Into<String>) -> YamlError {
    YamlError {
        line: mark.line(),
        col: mark.col() + 1,
        message: message.into(),
    }
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, limits: Limits, positions: bool) -> Self {
        Builder {
            parser: Parser::new_from_str(text).keep_tags(true),
            limits,
            positions,
            anchors: HashMap::new(),
            nodes: 0,
        }
    }

    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser.next_token().map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })
    }

    fn run(mut self) -> Result<Vec<(Doc, Pos)>, YamlError> {
        let mut docs = Vec::new();
        loop {
            let (ev, mark) = self.next()?;
            match ev {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart => {
                    self.anchors.clear();
                    self.nodes = 0;
                    let (ev, mark) = self.next()?;
                    if ev == Event::DocumentEnd {
                        docs.push((
                            Doc {
                                value: Value::Null,
                                line: mark.line(),
                                empty: true,
                            },
                            Pos::default(),
                        ));
                        continue;
                    }
                    let (value, pos) = self.node(ev, mark, 0)?;
                    let empty = matches!(value, Value::Null) && is_empty_scalar_doc(&pos);
                    docs.push((
                        Doc {
                            value,
                            line: pos.line,
                            empty,
                        },
                        pos,
                    ));
                }
                other => return Err(err(&mark, format!("unexpected YAML event {other:?}"))),
            }
        }
    }

    fn count(&mut self, mark: &Marker, n: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(err(
                mark,
                format!(
                    "document too large: more than {} nodes after alias expansion (raise with --max-yaml-nodes)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<(Value, Pos), YamlError> {
        if depth > self.limits.max_depth {
            return Err(err(
                &mark,
                format!(
                    "nesting deeper than {} levels (raise with --max-yaml-depth)",
                    self.limits.max_depth
                ),
            ));
        }
        let base = Pos {
            line: mark.line(),
            col: mark.col() + 1,
            ..Pos::default()
        };
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(&mark, 1)?;
                let value = resolve_scalar(text, style, tag.as_ref()).map_err(|m| err(&mark, m))?;
                if anchor > 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), base.clone(), 1));
                }
                // A plain empty scalar has no text of its own: mark it so empty documents are known.
                let mut pos = base;
                if style == TScalarStyle::Plain && value.is_null() {
                    pos.col = 0;
                }
                Ok((value, pos))
            }
            Event::Alias(id) => {
                let (value, pos, size) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err(&mark, "alias to an unknown anchor"))?;
                self.count(&mark, size)?;
                Ok((value, pos))
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq").map_err(|m| err(&mark, m))?;
                let start = self.nodes;
                self.count(&mark, 1)?;
                let mut seq = Vec::new();
                let mut pos = base;
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    let (v, p) = self.node(ev, m, depth + 1)?;
                    seq.push(v);
                    if self.positions {
                        pos.items.push(p);
                    }
                }
                let value = Value::Sequence(seq);
                if anchor > 0 {
                    let size = self.nodes - start;
                    self.anchors
                        .insert(anchor, (value.clone(), pos.clone(), size));
                }
                Ok((value, pos))
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map").map_err(|m| err(&mark, m))?;
                let start = self.nodes;
                self.count(&mark, 1)?;
                let mut map = Mapping::new();
                let mut pos = base;
                let mut merges: Vec<(Value, Marker)> = Vec::new();
                loop {
                    let (ev, kmark) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let is_merge =
                        matches!(&ev, Event::Scalar(s, TScalarStyle::Plain, _, None) if s == "<<");
                    // Keys stay strings as written: JSON (and so the API server) has only string
                    // keys, and reading `on:` or `y:` as booleans is a YAML 1.1 trap, not intent.
                    let key = match ev {
                        Event::Scalar(text, _, anchor, _) => {
                            self.count(&kmark, 1)?;
                            let k = Value::String(text);
                            if anchor > 0 {
                                self.anchors.insert(anchor, (k.clone(), Pos::default(), 1));
                            }
                            k
                        }
                        ev => self.node(ev, kmark, depth + 1)?.0,
                    };
                    let (vev, vmark) = self.next()?;
                    let (value, vpos) = self.node(vev, vmark, depth + 1)?;
                    if is_merge {
                        merges.push((value, kmark));
                        continue;
                    }
                    let key = match key {
                        Value::Mapping(_) | Value::Sequence(_) => {
                            return Err(err(&kmark, "complex mapping keys are not supported"))
                        }
                        k => k,
                    };
                    if map.contains_key(&key) {
                        return Err(err(
                            &kmark,
                            format!("duplicate mapping key {}", key_text(&key)),
                        ));
                    }
                    if self.positions {
                        pos.keys.push(key_text(&key));
                        pos.items.push(vpos);
                    }
                    map.insert(key, value);
                }
                // YAML 1.1 merge keys (`<<: *base`): explicit keys win over merged ones.
                for (merged, mmark) in merges {
                    let sources = match merged {
                        Value::Mapping(m) => vec![m],
                        Value::Sequence(items) => items
                            .into_iter()
                            .map(|i| match i {
                                Value::Mapping(m) => Ok(m),
                                _ => Err(err(&mmark, "merge key `<<` needs mappings")),
                            })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(err(&mmark, "merge key `<<` needs a mapping")),
                    };
                    for src in sources {
                        for (k, v) in src {
                            if !map.contains_key(&k) {
                                map.insert(k, v);
                            }
                        }
                    }
                }
                let value = Value::Mapping(map);
                if anchor > 0 {
                    let size = self.nodes - start;
                    self.anchors
                        .insert(anchor, (value.clone(), pos.clone(), size));
                }
                Ok((value, pos))
            }
            other => Err(err(&mark, format!("unexpected YAML event {other:?}"))),
        }
    }
}

fn is_empty_scalar_doc(pos: &Pos) -> bool {
    pos.col == 0
}

/// The text of a mapping key, for messages and position lookups.
pub fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "tag:yaml.org,2002:" || t.handle == "!!" => {
            if t.suffix == kind || (kind == "map" && t.suffix == "omap") {
                Ok(())
            } else {
                Err(format!("tag !!{} does not fit a {kind}", t.suffix))
            }
        }
        Some(t) => Err(format!(
            "unsupported YAML tag {}{} (Kubernetes manifests use none)",
            t.handle, t.suffix
        )),
    }
}

fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(t) = tag {
        if t.handle == "!" && t.suffix.is_empty() {
            return Ok(Value::String(text));
        }
        if t.handle != "tag:yaml.org,2002:" && t.handle != "!!" {
            return Err(format!(
                "unsupported YAML tag {}{} (Kubernetes manifests use none)",
                t.handle, t.suffix
            ));
        }
        return match t.suffix.as_str() {
            "str" | "binary" | "timestamp" => Ok(Value::String(text)),
            "null" => Ok(Value::Null),
            "bool" => match resolve_plain(&text) {
                v @ Value::Bool(_) => Ok(v),
                _ => Err(format!("{text:?} is not a !!bool")),
            },
            "int" => match resolve_plain(&text) {
                v @ Value::Number(_) if v.as_i64().is_some() || v.as_u64().is_some() => Ok(v),
                _ => Err(format!("{text:?} is not an !!int")),
            },
            "float" => match resolve_plain(&text) {
                Value::Number(n) => Ok(Value::Number(Number::from(n.as_f64().unwrap_or(0.0)))),
                _ => Err(format!("{text:?} is not a !!float")),
            },
            other => Err(format!("unsupported YAML tag !!{other}")),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    Ok(resolve_plain(&text))
}

/// The plain words YAML 1.1 reads as null or a boolean (the non-numeric part of `resolve_plain`).
fn is_null_or_bool_word(s: &str) -> bool {
    matches!(resolve_word(s), Some(Value::Null | Value::Bool(_)))
}

/// go-yaml v2's resolution of a plain scalar (what kubectl applies).
pub fn resolve_plain(s: &str) -> Value {
    // The words below are at most 5 bytes and start with one of these (or are empty): most
    // scalars (names, labels, images) skip the 40 comparisons.
    let word = s.len() <= 5
        && s.as_bytes().first().is_none_or(|c| {
            matches!(
                c,
                b'~' | b'n'
                    | b'N'
                    | b'y'
                    | b'Y'
                    | b't'
                    | b'T'
                    | b'o'
                    | b'O'
                    | b'f'
                    | b'F'
                    | b'.'
                    | b'+'
                    | b'-'
            )
        });
    if word {
        if let Some(v) = resolve_word(s) {
            return v;
        }
    }
    // Not empty: the empty word is null.
    let Some(&first) = s.as_bytes().first() else {
        return Value::Null;
    };
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::String(s.to_string());
    }
    if let Some(n) = parse_int(s) {
        return Value::Number(n);
    }
    if is_float(s) {
        if let Ok(f) = s.replace('_', "").parse::<f64>() {
            return Value::Number(Number::from(f));
        }
    }
    Value::String(s.to_string())
}

/// The null, bool and special float words of YAML 1.1's core schema.
fn resolve_word(s: &str) -> Option<Value> {
    Some(match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            Value::Number(Number::from(f64::INFINITY))
        }
        "-.inf" | "-.Inf" | "-.INF" => Value::Number(Number::from(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => Value::Number(Number::from(f64::NAN)),
        _ => return None,
    })
}

/// `s` without YAML 1.1's digit separators (copied only when it has some).
fn without_underscores(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    }
}

fn parse_int(s: &str) -> Option<Number> {
    let plain = without_underscores(s);
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, &plain[..]),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(body, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some(Number::from((mag as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(Number::from(mag as i64))
    } else {
        Some(Number::from(mag))
    }
}

fn is_float(s: &str) -> bool {
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?  (underscores allowed, as in YAML 1.1)
    let plain = without_underscores(s);
    let b = plain.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

// ---------------------------------------------------------------------------------------------
// Emitting

/// Emits one document (no `---`), ending with a newline.
pub fn emit_doc(value: &Value, out: &mut String) {
    emit_doc_with(value, Keys::AsWritten, out);
}

/// As [`emit_doc`], with keys sorted at every level and tags dropped: the form kapp shows in a
/// diff (it renders through JSON, which sorts). Each map is sorted as it is written; no sorted
/// copy of the value is built.
pub fn emit_doc_sorted(value: &Value, out: &mut String) {
    emit_doc_with(value, Keys::Sorted, out);
}

/// The key order of an emitted map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keys {
    AsWritten,
    Sorted,
}

impl Keys {
    /// The value as this mode writes it: sorted output drops tags at every level.
    fn view(self, v: &Value) -> &Value {
        match (self, v) {
            (Keys::Sorted, Value::Tagged(t)) => self.view(&t.value),
            _ => v,
        }
    }
}

/// Orders keys by their text; string keys (nearly all) compare without allocating.
pub(crate) fn cmp_keys(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => key_text(a).cmp(&key_text(b)),
    }
}

fn emit_doc_with(value: &Value, keys: Keys, out: &mut String) {
    match keys.view(value) {
        Value::Mapping(m) if !m.is_empty() => emit_map(m, 0, keys, out),
        Value::Sequence(s) if !s.is_empty() => emit_seq(s, 0, keys, out),
        other => {
            emit_inline(other, keys, out);
            out.push('\n');
        }
    }
}

/// Emits a value as a standalone YAML text (used by the `to_yaml` filter).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    emit_doc(value, &mut out);
    out
}

/// Emits a stream of documents separated by `---` lines.
pub fn emit_stream<'a>(docs: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit_doc(d, &mut out);
    }
    out
}

fn pad(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

fn emit_map(m: &Mapping, indent: usize, keys: Keys, out: &mut String) {
    match keys {
        Keys::AsWritten => emit_entries(m.iter(), indent, keys, out),
        Keys::Sorted => {
            let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
            if !entries.is_sorted_by(|a, b| cmp_keys(a.0, b.0).is_le()) {
                entries.sort_by(|a, b| cmp_keys(a.0, b.0));
            }
            emit_entries(entries.into_iter(), indent, keys, out)
        }
    }
}

fn emit_entries<'a>(
    entries: impl Iterator<Item = (&'a Value, &'a Value)>,
    indent: usize,
    keys: Keys,
    out: &mut String,
) {
    for (i, (k, v)) in entries.enumerate() {
        // The first entry of a map inside a sequence item continues the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        emit_key(k, keys, out);
        out.push(':');
        emit_child(keys.view(v), indent, true, keys, out);
    }
}

fn emit_seq(s: &[Value], indent: usize, keys: Keys, out: &mut String) {
    for (i, v) in s.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push('-');
        emit_child(keys.view(v), indent, false, keys, out);
    }
}

/// Emits the value after `key:` or `-`: nested collections go on the following lines.
fn emit_child(v: &Value, indent: usize, in_map: bool, keys: Keys, out: &mut String) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            out.push(if in_map { '\n' } else { ' ' });
            emit_map(m, indent + 2, keys, out);
        }
        Value::Sequence(s) if !s.is_empty() => {
            if in_map {
                // kubectl / go-yaml style: items of a sequence in a map sit at the key's indent.
                out.push('\n');
                emit_seq(s, indent, keys, out);
            } else {
                out.push(' ');
                emit_seq(s, indent + 2, keys, out);
            }
        }
        Value::String(s) if block_literal_ok(s) => {
            out.push(' ');
            emit_block_literal(s, indent + 2, out);
        }
        other => {
            out.push(' ');
            emit_inline(other, keys, out);
            out.push('\n');
        }
    }
}

fn emit_key(k: &Value, keys: Keys, out: &mut String) {
    match k {
        Value::String(s) if s.contains('\n') => emit_double_quoted(s, out),
        other => emit_inline(other, keys, out),
    }
}

fn emit_inline(v: &Value, keys: Keys, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => emit_number(n, out),
        Value::String(s) if keys == Keys::Sorted && go_yaml_double_quotes(s) => {
            emit_double_quoted(s, out)
        }
        Value::String(s) => emit_string(s, out),
        Value::Mapping(m) if m.is_empty() => out.push_str("{}"),
        Value::Sequence(s) if s.is_empty() => out.push_str("[]"),
        Value::Mapping(_) | Value::Sequence(_) => {
            // Only reached for a non-empty collection as a top-level scalar slot: use flow JSON.
            out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
        }
        Value::Tagged(t) => emit_inline(&t.value, keys, out),
    }
}

fn emit_number(n: &Number, out: &mut String) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        out.push_str(&format_float(f));
    }
}

/// A float text that both YAML 1.1 and 1.2 read back as the same float.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{f:e}");
        // `1e300` → `1.0e+300`: a mantissa with a dot and a signed exponent is a float everywhere.
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') {
            m.to_string()
        } else {
            format!("{m}.0")
        };
        let e = if e.starts_with('-') {
            e.to_string()
        } else {
            format!("+{e}")
        };
        return format!("{m}e{e}");
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// go-yaml v2 (how kapp prints a diff) double-quotes a string that would read back as another
/// type: a number, bool, null, timestamp or base-60 float (`"1"`, `"true"`,
/// `"2021-09-29T17:27:34Z"`, `"1:20"`); other strings that cannot be plain get single quotes.
fn go_yaml_double_quotes(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return true;
    };
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return b.len() <= 5 && is_null_or_bool_word(s);
    }
    if !matches!(resolve_plain(s), Value::String(_)) {
        return true;
    }
    let digits = b.strip_prefix(b"-").or(b.strip_prefix(b"+")).unwrap_or(b);
    // Integers beyond 64 bits still read as floats.
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
        || go_yaml_timestamp(b)
        || base60_float(digits)
}

/// `2006-1-2`, optionally followed by `T`/`t`/space and a time (go-yaml v2's timestamp forms).
fn go_yaml_timestamp(b: &[u8]) -> bool {
    let digits = |b: &[u8], min: usize, max: usize| -> usize {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if (min..=max).contains(&n) {
            n
        } else {
            0
        }
    };
    let y = digits(b, 4, 4);
    if y == 0 || b.get(y) != Some(&b'-') {
        return false;
    }
    let rest = &b[y + 1..];
    let m = digits(rest, 1, 2);
    if m == 0 || rest.get(m) != Some(&b'-') {
        return false;
    }
    let rest = &rest[m + 1..];
    let d = digits(rest, 1, 2);
    if d == 0 {
        return false;
    }
    match rest.get(d) {
        None => true,
        Some(b'T' | b't' | b' ') => {
            let time = &rest[d + 1..];
            let h = digits(time, 1, 2);
            h > 0
                && time.get(h) == Some(&b':')
                && time[h..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || b":.Z+- ".contains(c))
        }
        Some(_) => false,
    }
}

/// `190:20:30.15`: digits, then `:`-separated groups of up to two digits, an optional fraction.
fn base60_float(b: &[u8]) -> bool {
    let head = b
        .iter()
        .take_while(|c| c.is_ascii_digit() || **c == b'_')
        .count();
    if head == 0 || !b[0].is_ascii_digit() || b.get(head) != Some(&b':') {
        return false;
    }
    let (body, frac) = match b[head..].iter().position(|&c| c == b'.') {
        Some(p) => (&b[head..head + p], &b[head + p + 1..]),
        None => (&b[head..], &b[..0]),
    };
    body.split(|&c| c == b':').skip(1).all(|g| {
        (1..=2).contains(&g.len())
            && g.iter().all(u8::is_ascii_digit)
            && (g.len() == 1 || g[0] <= b'5')
    }) && frac.iter().all(|c| c.is_ascii_digit() || *c == b'_')
}

fn emit_string(s: &str, out: &mut String) {
    if plain_ok(s) {
        out.push_str(s);
    } else if s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        emit_double_quoted(s, out);
    }
}

fn emit_double_quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Bytes the scan in `plain_ok` must look at more closely; every other byte is fine anywhere.
const PLAIN_NEEDS_LOOK: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c <= 0x20 || c == 0x7f || c == b':' as usize || c == 0xc2 || c == 0xe2 || c == 0xef;
        c += 1;
    }
    t
};

/// True when `s` can be written as a plain scalar and read back as the same string by YAML 1.1
/// (go-yaml v2) and YAML 1.2 parsers alike.
pub fn plain_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t' | b':') {
        return false;
    }
    let second = b.get(1).copied();
    match first {
        b'-' | b'?' | b':' if matches!(second, None | Some(b' ' | b'\t')) => return false,
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => return false,
        _ => {}
    }
    // One pass: `: ` and ` #` (and their tab forms), control characters, and the Unicode
    // line/byte-order marks (U+0085, U+2028, U+2029, U+FEFF) that YAML treats specially.
    for (i, &c) in b.iter().enumerate() {
        if !PLAIN_NEEDS_LOOK[usize::from(c)] {
            continue;
        }
        let next = b.get(i + 1).copied();
        match c {
            b':' if matches!(next, Some(b' ' | b'\t')) => return false,
            b' ' | b'\t' if next == Some(b'#') => return false,
            0..=0x1f | 0x7f => return false,
            0xc2 if matches!(next, Some(0x80..=0x9f)) => return false,
            0xe2 if next == Some(0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)) => {
                return false
            }
            0xef if next == Some(0xbb) && b.get(i + 2) == Some(&0xbf) => return false,
            _ => {}
        }
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // Only texts that start like a number can resolve to a number; everything else resolves to
    // something other than a string only as one of a few words (null, yes, off, …), `=` or `<<`.
    // Checked without allocating: keys like `name` or `kind` land here on every emit.
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return b.len() > 5 || !(is_null_or_bool_word(s) || s == "=" || s == "<<");
    }
    if !matches!(resolve_plain(s), Value::String(_)) {
        return false;
    }
    !looks_special_elsewhere(s)
}

/// Strings that some other YAML reader (1.2 core, timestamps, sexagesimal, `=`) would not keep as
/// a plain string.
fn looks_special_elsewhere(s: &str) -> bool {
    let b = s.as_bytes();
    if s == "=" || s == "<<" {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | "-.inf" | "+.inf" | ".nan") {
        return true;
    }
    // Anything that starts like a number (digits, sign, dot) and is only number-ish characters.
    let numberish = |c: u8| {
        c.is_ascii_hexdigit()
            || b"+-._:xXoObB".contains(&c)
            || c == b' '
            || c == b'T'
            || c == b't'
            || c == b'Z'
            || c == b'z'
    };
    if (b[0].is_ascii_digit()
        || (b.len() > 1 && matches!(b[0], b'-' | b'+' | b'.') && b[1].is_ascii_digit()))
        && b.iter().all(|&c| numberish(c))
    {
        return true;
    }
    false
}

/// Multi-line strings are written as literal blocks when that keeps them exact.
fn block_literal_ok(s: &str) -> bool {
    if !s.contains('\n') || s.trim_matches('\n').is_empty() {
        return false;
    }
    if s.chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t')
            || c == '\u{feff}'
            || c == '\u{85}'
            || c == '\u{2028}'
            || c == '\u{2029}'
    }) {
        return false;
    }
    // Lines of only blanks or with trailing blanks do not survive a literal block exactly.
    !s.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t')) && !s.starts_with('\n')
}

fn emit_block_literal(s: &str, indent: usize, out: &mut String) {
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\t') {
        out.push('2');
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are looked for only in short scalars with the right first byte: each of
    /// them must still resolve, and numbers and strings around them as before.
    #[test]
    fn plain_words_numbers_and_strings_resolve() {
        for w in [
            "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
            "on", "On", "ON", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off",
            "OFF", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
            ".nan", ".NaN", ".NAN",
        ] {
            assert!(
                !matches!(resolve_plain(w), Value::String(_)),
                "{w:?} resolved as a string"
            );
            assert!(resolve_word(w).is_some(), "{w:?}");
        }
        let n = |s: &str| resolve_plain(s);
        assert_eq!(n("8080"), Value::Number(8080.into()));
        assert_eq!(n("1_000"), Value::Number(1000.into()));
        assert_eq!(n("-0x1F"), Value::Number((-31).into()));
        assert_eq!(n("0o17"), Value::Number(15.into()));
        assert_eq!(n("1_0.5e1"), Value::Number(105.0.into()));
        assert_eq!(n(".5"), Value::Number(0.5.into()));
        for s in [
            "10.0.0.1",
            "nginx:1.25",
            "yess",
            "Nul",
            "truE",
            "-",
            "+",
            "offf",
            "n/a",
        ] {
            assert_eq!(n(s), Value::String(s.into()), "{s:?}");
        }
    }

    /// Runs of 0 to 20 spaces, from 0 to 2 bytes in, ended by another byte or by the end,
    /// across the 8-byte steps.
    #[test]
    fn skip_spaces_finds_the_end_of_every_run() {
        for n in 0..21 {
            for at in 0..3 {
                let run = format!("{}{}", "x".repeat(at), " ".repeat(n));
                assert_eq!(skip_spaces(run.as_bytes(), at), at + n);
                for end in ["x", "\t", "\n", "#"] {
                    let text = format!("{run}{end}   ");
                    assert_eq!(skip_spaces(text.as_bytes(), at), at + n, "{text:?}");
                }
            }
        }
    }

    fn p(s: &str) -> Value {
        parse_one(s, Limits::default()).unwrap()
    }

    #[test]
    fn resolves_like_go_yaml_v2() {
        assert_eq!(p("a: 0600")["a"], Value::from(384));
        assert_eq!(p("a: yes")["a"], Value::Bool(true));
        assert_eq!(p("a: off")["a"], Value::Bool(false));
        assert_eq!(p("a: '0600'")["a"], Value::from("0600"));
        assert_eq!(p("a: 1_000")["a"], Value::from(1000));
        assert_eq!(p("a: 0x1F")["a"], Value::from(31));
        assert_eq!(p("a: 1.5")["a"], Value::from(1.5));
        assert_eq!(p("a: ~")["a"], Value::Null);
        assert_eq!(p("a:")["a"], Value::Null);
        assert_eq!(p("a: 09")["a"], Value::from(9.0));
        assert_eq!(p("y: 1\n200: x")["y"], Value::from(1));
        assert_eq!(p("200: x")["200"], Value::from("x"));
        assert_eq!(p("a: 1e3")["a"], Value::from(1000.0));
        assert_eq!(p("a: !!str 12")["a"], Value::from("12"));
    }

    #[test]
    fn duplicate_keys_are_errors_with_line() {
        let e = parse_one("a: 1\nb: 2\na: 3\n", Limits::default()).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("duplicate mapping key a"), "{e}");
    }

    #[test]
    fn merge_keys_and_aliases() {
        let v = p("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n");
        assert_eq!(v["c"]["x"], Value::from(1));
        assert_eq!(v["c"]["y"], Value::from(3));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let e = parse_one(&s, Limits::default()).unwrap_err();
        assert!(e.message.contains("too large"), "{e}");
    }

    #[test]
    fn depth_limit() {
        let s = "[".repeat(500) + &"]".repeat(500);
        let e = parse_one(&s, Limits::default()).unwrap_err();
        assert!(
            e.message.contains("nesting") || e.message.contains("recursion"),
            "{e}"
        );
    }

    #[test]
    fn emits_canonical_block_style() {
        let v = p("b: 1\na:\n  - x: 1\n    y: [1, 2]\n  - - q\n    - r\ns: |\n  line1\n  line2\ne: {}\nl: []\n");
        let out = to_string(&v);
        assert_eq!(
            out,
            "b: 1\na:\n- x: 1\n  'y':\n  - 1\n  - 2\n- - q\n  - r\ns: |\n  line1\n  line2\ne: {}\nl: []\n"
        );
        assert_eq!(p(&out), v);
    }

    #[test]
    fn sorted_form_quotes_like_go_yaml_v2() {
        let v: Value = serde_yaml::from_str(
            r##"{a: "1", b: "true", c: "2021-09-29T17:27:34Z", d: "1:20", e: "", f: "a: b", g: "plain", h: "12345678901234567890123", i: "on", j: "#x", k: "1.5", l: "2021-09-29", m: "0x1F", "1": "x", n: "~", o: "v1.2"}"##,
        )
        .unwrap();
        let mut out = String::new();
        emit_doc_sorted(&v, &mut out);
        assert_eq!(
            out,
            "\"1\": x\na: \"1\"\nb: \"true\"\nc: \"2021-09-29T17:27:34Z\"\nd: \"1:20\"\ne: \"\"\nf: 'a: b'\ng: plain\nh: \"12345678901234567890123\"\ni: \"on\"\nj: '#x'\nk: \"1.5\"\nl: \"2021-09-29\"\nm: \"0x1F\"\n\"n\": \"~\"\no: v1.2\n"
        );
        // The render form is unchanged: single quotes.
        let mut out = String::new();
        emit_doc(&v, &mut out);
        assert!(out.starts_with("a: '1'\nb: 'true'\n"), "{out}");
    }

    #[test]
    fn quotes_what_would_change_meaning() {
        for s in [
            "yes",
            "no",
            "on",
            "y",
            "N",
            "true",
            "null",
            "~",
            "",
            "0600",
            "1.0",
            "1e3",
            "-1",
            ".inf",
            "12:30",
            "2001-12-14",
            "- x",
            "a: b",
            "a #b",
            "#x",
            "{{x}}",
            "*a",
            "&a",
            "!t",
            "@x",
            "`x",
            "'q'",
            "\"d\"",
            "tab\tx",
            "x:",
            " lead",
            "trail ",
            "0x1F",
            "0o17",
            "+1",
            ".5",
            "---",
            "=",
            "<<",
        ] {
            let v = Value::from(s);
            let mut out = String::new();
            emit_doc(&v, &mut out);
            assert_eq!(p(&out), v, "{s:?} emitted as {out:?}");
            assert!(!plain_ok(s), "{s:?} should be quoted");
        }
        for s in [
            "x",
            "mlflow_entry=\"{{inputs.parameters.x}}\"",
            "-c",
            "a-b",
            "http://x:80/y",
            "main-user1",
        ] {
            assert!(plain_ok(s), "{s:?} should be plain");
        }
    }

    /// `plain_ok` before its allocation-free shortcut: the shortcut must not change a byte.
    fn plain_ok_reference(s: &str) -> bool {
        let b = s.as_bytes();
        let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
            return false;
        };
        if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t' | b':') {
            return false;
        }
        let second = b.get(1).copied();
        match first {
            b'-' | b'?' | b':' if matches!(second, None | Some(b' ' | b'\t')) => return false,
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`' => return false,
            _ => {}
        }
        if s.contains(": ") || s.contains(":\t") || s.contains(" #") || s.contains("\t#") {
            return false;
        }
        if s.chars()
            .any(|c| c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'))
        {
            return false;
        }
        if s.starts_with("---") || s.starts_with("...") {
            return false;
        }
        matches!(resolve_plain(s), Value::String(_)) && !looks_special_elsewhere(s)
    }

    #[test]
    fn plain_ok_shortcut_agrees_with_full_resolution() {
        let alphabet = [
            "y", "Y", "es", "n", "o", "N", "O", "true", "false", "on", "ff", "null", "~", "=", "<",
            "<<", ".", "-", "+", "0", "1", "x", "e", "inf", "nan", ":", " ", "_", "a", "T",
        ];
        let mut n = 0;
        for a in alphabet {
            for b in alphabet {
                for c in ["", "y", "es", "0", "e", "s", "f", "l"] {
                    let s = format!("{a}{b}{c}");
                    assert_eq!(plain_ok(&s), plain_ok_reference(&s), "{s:?}");
                    assert_eq!(plain_ok(a), plain_ok_reference(a), "{a:?}");
                    n += 1;
                }
            }
        }
        assert!(n > 7000);
    }

    #[test]
    fn strings_round_trip() {
        for s in [
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "  indented\nx",
            "x\n\ny",
            "trailing \nx",
            "\nlead",
            "ctl\u{1}x",
            "quote'in",
            "é ü",
            "a\r\nb",
        ] {
            let mut m = Mapping::new();
            m.insert("k".into(), Value::from(s));
            let v = Value::Mapping(m);
            let out = to_string(&v);
            assert_eq!(p(&out), v, "{s:?} emitted as {out:?}");
        }
    }

    #[test]
    fn floats_round_trip() {
        for f in [0.0, 1.0, -2.5, 1e300, 1e-7, 123456789.125, f64::INFINITY] {
            let v = Value::from(f);
            assert_eq!(p(&to_string(&v)), v, "{f}");
        }
    }

    #[test]
    fn positions_find_paths() {
        let text = "a: 1\nspec:\n  templates:\n  - name: x\n    image: y\n";
        let docs = parse_stream_with_positions(text, Limits::default()).unwrap();
        let pos = &docs[0].1;
        let path = [
            PathSeg::Key("spec".into()),
            PathSeg::Key("templates".into()),
            PathSeg::Index(0),
            PathSeg::Key("image".into()),
        ];
        let p = pos.find(&path);
        assert_eq!((p.line, p.col), (5, 12));
        assert_eq!(path_string(&path), "spec.templates[0].image");
    }

    #[test]
    fn quoted_scalar_at_parent_indent_is_accepted() {
        let v = p("a:\n  b: ['\n    x\n  ']\n  c: \"q\n  r\"\n");
        assert_eq!(v["a"]["b"][0], Value::from(" x "));
        assert_eq!(v["a"]["c"], Value::from("q r"));
    }

    #[test]
    fn empty_documents_are_marked() {
        let docs =
            parse_stream("---\n# only a comment\n---\na: 1\n---\n", Limits::default()).unwrap();
        let non_empty: Vec<_> = docs.iter().filter(|d| !d.empty).collect();
        assert_eq!(non_empty.len(), 1);
        assert_eq!(non_empty[0].line, 4);
    }
}
