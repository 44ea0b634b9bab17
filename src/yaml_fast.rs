//! A fast path for the block-style YAML that kpipe renders and emits.
//!
//! `parse_stream_fast` reads a strict subset of YAML straight from the bytes and builds the same
//! `serde_yaml::Value` trees as the yaml-rust2 based parser in `yaml.rs`. It returns `None` as
//! soon as it meets anything outside its subset (anchors, aliases, tags, multi-line plain or quoted
//! scalars, multi-line flow collections, complex keys, directives, tabs outside scalars, merge keys,
//! duplicate keys, anything malformed, ...), and the caller then parses the whole text with the
//! slow path, which also produces every error message.
//!
//! The rules below mirror yaml-rust2 0.13's scanner (see the comments on each construct): a
//! block collection owns the lines indented exactly at its column; a line indented deeper than the
//! innermost collection, after a complete entry, is a continuation (multi-line scalar) or an error
//! there, so it sends us to the slow path.

use super::{resolve_plain, Doc, Limits, YamlError};
use serde_yaml::{Mapping, Value};

/// Deepest nesting handled here (the recursion stays shallow); deeper documents use the slow path.
const MAX_DEPTH: usize = 128;
/// yaml-rust2 forgets a simple key 1024 characters after its start; stay well below.
const MAX_KEY_LEN: usize = 1000;

/// Parses `text` if it lies in the fast subset; `None` means "use the full parser".
///
/// Only `Some(Ok(_))` is ever returned today: errors are left to the slow path, which knows
/// how to word them.
pub fn parse_stream_fast(text: &str, limits: Limits) -> Option<Result<Vec<Doc>, YamlError>> {
    let b = text.as_bytes();
    // yaml-rust2 reads `\0` as end of input and treats `\r` as a line break; a BOM is not skipped.
    if memchr::memchr2(b'\r', 0, b).is_some() || text.contains('\u{feff}') {
        return None;
    }
    let mut p = Fast {
        t: text,
        b,
        pos: 0,
        line: 1,
        limits,
        nodes: 0,
        // Room for a typical document's widest mapping and list, so the scratch stacks of a
        // parse (one per document in a diff) are not grown entry by entry.
        entries: Vec::with_capacity(32),
        items: Vec::with_capacity(16),
        eol_cache: std::cell::Cell::new((usize::MAX, 0)),
    };
    p.stream().map(Ok)
}

enum Peek {
    Eof,
    /// `---` at column 0.
    DocStart,
    /// `...` at column 0.
    DocEnd,
    /// A content line indented by this many spaces.
    Content(usize),
}

struct Fast<'a> {
    t: &'a str,
    b: &'a [u8],
    /// Start of the current line.
    pos: usize,
    /// 1-based number of the current line.
    line: usize,
    limits: Limits,
    nodes: usize,
    /// Scratch stacks for the entries of the mappings and sequences being read, so each finished
    /// collection is allocated once at its exact size.
    entries: Vec<(Value, Value)>,
    items: Vec<Value>,
    /// `(from, end)`: no newline in `from..end`, and `end` is a newline or the text's end.
    eol_cache: std::cell::Cell<(usize, usize)>,
}

/// A block mapping key found by `Fast::key_at`.
enum Key<'a> {
    /// A plain key, without trailing blanks.
    Plain(&'a str),
    /// A quoted key, unescaped.
    Quoted(String),
}

/// The first `:`, `#` or tab in `b[i..end]` (`end` at most `b.len()`): the bytes that can
/// end or spoil a plain key (a key such as `app.kubernetes.io/name` is one or two steps).
#[inline(always)]
fn key_stop(b: &[u8], i: usize, end: usize) -> Option<usize> {
    crate::scan::first(b, i, end, [b':', b'#', b'\t'], true)
}

/// The index of the first `\n` at or after `i` in `b`, or `b.len()`.
#[inline(always)]
pub(crate) fn newline_at_or_after(b: &[u8], i: usize) -> usize {
    crate::scan::first(b, i, b.len(), [b'\n'], true).unwrap_or(b.len())
}

fn is_flow(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Fast<'a> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// End of the line holding `i` (index of its `\n`, or the text length). Each line is asked
    /// for several times (peek, key, value), so the last answer is kept.
    fn eol(&self, i: usize) -> usize {
        let (from, end) = self.eol_cache.get();
        if from <= i && i <= end {
            return end;
        }
        let end = newline_at_or_after(self.b, i);
        self.eol_cache.set((i, end));
        end
    }

    fn next_line(&mut self) {
        let e = self.eol(self.pos);
        if e < self.b.len() {
            self.pos = e + 1;
            self.line += 1;
        } else {
            self.pos = self.b.len();
        }
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= self.limits.max_nodes).then_some(())
    }

    fn depth_ok(&self, depth: usize) -> Option<()> {
        (depth <= self.limits.max_depth && depth <= MAX_DEPTH).then_some(())
    }

    /// Skips blank and comment lines and tells what the next line holds.
    fn peek(&mut self) -> Option<Peek> {
        loop {
            if self.pos >= self.b.len() {
                return Some(Peek::Eof);
            }
            let e = self.eol(self.pos);
            let i = super::skip_spaces(self.b.get(..e).unwrap_or_default(), self.pos);
            if i == e || self.b[i] == b'#' {
                self.next_line();
                continue;
            }
            if self.b[i] == b'\t' {
                return None;
            }
            if i == self.pos && e - i >= 3 {
                let head = &self.b[i..i + 3];
                let after = self.byte(i + 3);
                if matches!(after, None | Some(b' ' | b'\t' | b'\n')) {
                    if head == b"---" {
                        return Some(Peek::DocStart);
                    }
                    if head == b"..." {
                        return Some(Peek::DocEnd);
                    }
                }
            }
            return Some(Peek::Content(i - self.pos));
        }
    }

    /// The line of the stream end as yaml-rust2 reports it.
    fn stream_end_line(&self) -> usize {
        let newlines = self.b.iter().filter(|&&c| c == b'\n').count();
        let last_len = self.b.len()
            - self
                .b
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |k| k + 1);
        newlines + 1 + usize::from(last_len > 0)
    }

    fn stream(&mut self) -> Option<Vec<Doc>> {
        let mut docs = Vec::new();
        let mut pending = false;
        loop {
            match self.peek()? {
                Peek::Eof => {
                    if pending {
                        docs.push(empty_doc(self.stream_end_line()));
                    }
                    return Some(docs);
                }
                Peek::DocStart => {
                    if pending {
                        docs.push(empty_doc(self.line));
                    }
                    self.marker_rest()?;
                    pending = true;
                }
                Peek::DocEnd => {
                    if pending {
                        docs.push(empty_doc(self.line));
                        pending = false;
                    }
                    self.marker_rest()?;
                }
                Peek::Content(indent) => {
                    self.nodes = 0;
                    let line = self.line;
                    let value = self.root(indent)?;
                    if let Peek::Content(_) = self.peek()? {
                        return None;
                    }
                    let empty = value.is_null();
                    docs.push(Doc { value, line, empty });
                    pending = false;
                }
            }
        }
    }

    /// Accepts only blanks and a comment after `---` / `...`, then moves to the next line.
    fn marker_rest(&mut self) -> Option<()> {
        let e = self.eol(self.pos);
        let mut i = self.pos + 3;
        while i < e && self.b[i] == b' ' {
            i += 1;
        }
        if i < e && self.b[i] != b'#' {
            return None;
        }
        self.next_line();
        Some(())
    }

    fn is_dash(&self, s: usize) -> bool {
        self.byte(s) == Some(b'-') && matches!(self.byte(s + 1), None | Some(b' ' | b'\n'))
    }

    fn root(&mut self, indent: usize) -> Option<Value> {
        let s = self.pos + indent;
        if self.is_dash(s) {
            return self.seq_entries(indent, s, false, 0);
        }
        if self.is_key(s)? {
            return self.map_entries(indent, s, 0);
        }
        self.inline_value(s, None, 0)
    }

    /// A plain scalar may start here (block or flow context).
    fn plain_start_ok(&self, s: usize, e: usize) -> bool {
        match self.byte(s) {
            Some(b'-') => s + 1 < e && !matches!(self.b[s + 1], b' ' | b'\t'),
            Some(
                b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
                | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b' ' | b'\t' | b'\n',
            ) => false,
            Some(_) => s < e,
            None => false,
        }
    }

    fn trim_end(&self, s: usize, mut j: usize) -> &'a str {
        while j > s && self.b[j - 1] == b' ' {
            j -= 1;
        }
        self.t.get(s..j).unwrap_or("")
    }

    /// Reads a block mapping key starting at `s`: `Some(Some((key, index after ':')))` for a key,
    /// `Some(None)` when the line holds no key (a scalar or something else), `None` to bail.
    fn scan_key(&self, s: usize) -> Option<Option<(Value, usize)>> {
        Some(self.key_at(s)?.map(|(k, after)| {
            let key = match k {
                Key::Plain(k) => k.to_owned(),
                Key::Quoted(k) => k,
            };
            (Value::String(key), after)
        }))
    }

    /// Whether a block mapping key starts at `s` (as [`Self::scan_key`], building no key).
    fn is_key(&self, s: usize) -> Option<bool> {
        Some(self.key_at(s)?.is_some())
    }

    fn key_at(&self, s: usize) -> Option<Option<(Key<'a>, usize)>> {
        let e = self.eol(s);
        match self.byte(s) {
            Some(b'"' | b'\'') => {
                let (k, j) = self.quoted(s, e)?;
                let mut q = j;
                while q < e && self.b[q] == b' ' {
                    q += 1;
                }
                if q < e && self.b[q] == b':' {
                    if (q + 1 == e || self.b[q + 1] == b' ') && q - s <= MAX_KEY_LEN {
                        return Some(Some((Key::Quoted(k), q + 1)));
                    }
                    return None;
                }
                if q < e && self.b[q] == b'\t' {
                    return None;
                }
                Some(None)
            }
            _ if self.plain_start_ok(s, e) => {
                // `s` holds none of `:`, `#` or a tab (`plain_start_ok`), so `j > s` below.
                let mut from = s;
                let j = loop {
                    let Some(j) = key_stop(self.b, from, e) else {
                        return Some(None);
                    };
                    match self.b[j] {
                        b'\t' => return None,
                        b':' if j + 1 == e || self.b[j + 1] == b' ' => break j,
                        b'#' if self.b[j - 1] == b' ' => return Some(None),
                        _ => from = j + 1,
                    }
                };
                if j - s > MAX_KEY_LEN {
                    return None;
                }
                let k = self.trim_end(s, j);
                if k == "<<" {
                    return None;
                }
                Some(Some((Key::Plain(k), j + 1)))
            }
            _ => Some(None),
        }
    }

    /// A block mapping at column `col` whose first key starts at `s` on the current line.
    fn map_entries(&mut self, col: usize, mut s: usize, depth: usize) -> Option<Value> {
        self.depth_ok(depth)?;
        self.count()?;
        let base = self.entries.len();
        loop {
            let (key, after) = self.scan_key(s)??;
            self.count()?;
            let value = self.value_after_indicator(after, col, depth + 1, false)?;
            self.entries.push((key, value));
            match self.peek()? {
                Peek::Content(i) if i == col => {
                    s = self.pos + col;
                    if self.is_dash(s) {
                        return None;
                    }
                }
                Peek::Content(i) if i > col => return None,
                _ => break,
            }
        }
        let mut map = Mapping::with_capacity(self.entries.len() - base);
        for (k, v) in self.entries.drain(base..) {
            if map.insert(k, v).is_some() {
                return None;
            }
        }
        Some(Value::Mapping(map))
    }

    /// A block sequence at column `col` whose first `-` is at `s` on the current line.
    /// `indentless`: the sequence is a mapping value at the mapping's own column.
    fn seq_entries(
        &mut self,
        col: usize,
        mut s: usize,
        indentless: bool,
        depth: usize,
    ) -> Option<Value> {
        self.depth_ok(depth)?;
        self.count()?;
        let base = self.items.len();
        loop {
            let item = self.value_after_indicator(s + 1, col, depth + 1, true)?;
            self.items.push(item);
            match self.peek()? {
                Peek::Content(i) if i == col => {
                    s = self.pos + col;
                    if !self.is_dash(s) {
                        if indentless {
                            break;
                        }
                        return None;
                    }
                }
                Peek::Content(i) if i > col => return None,
                _ => break,
            }
        }
        Some(Value::Sequence(self.items.drain(base..).collect()))
    }

    /// The value after `key:` or `-` (whose following byte is at `after`), in a collection at
    /// column `col`.
    fn value_after_indicator(
        &mut self,
        after: usize,
        col: usize,
        depth: usize,
        in_seq: bool,
    ) -> Option<Value> {
        let e = self.eol(after);
        let mut v = after;
        while v < e && self.b[v] == b' ' {
            v += 1;
        }
        if v < e && self.b[v] == b'\t' {
            return None;
        }
        if v >= e || self.b[v] == b'#' {
            // Nothing more on this line: the value is on the following lines, or empty.
            self.next_line();
            return match self.peek()? {
                Peek::Content(i) if i > col => {
                    let s = self.pos + i;
                    if self.is_dash(s) {
                        self.seq_entries(i, s, false, depth)
                    } else {
                        self.map_entries(i, s, depth)
                    }
                }
                Peek::Content(i) if i == col && !in_seq && self.is_dash(self.pos + i) => {
                    let s = self.pos + i;
                    self.seq_entries(i, s, true, depth)
                }
                _ => {
                    self.depth_ok(depth)?;
                    self.count()?;
                    Some(Value::Null)
                }
            };
        }
        if in_seq {
            let c = v - self.pos;
            if self.is_dash(v) {
                return self.seq_entries(c, v, false, depth);
            }
            if self.is_key(v)? {
                return self.map_entries(c, v, depth);
            }
        }
        self.inline_value(v, Some(col), depth)
    }

    /// After a quoted scalar or flow collection: only blanks and a comment may follow.
    fn rest_ok(&self, mut j: usize, e: usize) -> Option<()> {
        let start = j;
        while j < e && self.b[j] == b' ' {
            j += 1;
        }
        if j == e || (self.b[j] == b'#' && j > start) {
            Some(())
        } else {
            None
        }
    }

    /// A scalar, flow collection or block scalar starting at `v` on the current line.
    /// `block_indent` is the column of the enclosing block collection (`None` at the root).
    fn inline_value(
        &mut self,
        v: usize,
        block_indent: Option<usize>,
        depth: usize,
    ) -> Option<Value> {
        let e = self.eol(v);
        match self.byte(v)? {
            b'"' | b'\'' => {
                self.depth_ok(depth)?;
                self.count()?;
                let (s, j) = self.quoted(v, e)?;
                self.rest_ok(j, e)?;
                self.next_line();
                Some(Value::String(s))
            }
            b'[' | b'{' => {
                let mut i = v;
                let value = self.flow(&mut i, e, depth)?;
                self.rest_ok(i, e)?;
                self.next_line();
                Some(value)
            }
            b'|' | b'>' => {
                self.depth_ok(depth)?;
                self.count()?;
                self.block_scalar(v, e, block_indent?)
            }
            _ => {
                if !self.plain_start_ok(v, e) {
                    return None;
                }
                self.depth_ok(depth)?;
                self.count()?;
                // Only `:`, `#` and tabs matter, found 16 bytes at a time; `v` holds none of
                // them (`plain_start_ok`), so `k > v` below.
                let mut from = v;
                let j = loop {
                    let Some(k) = key_stop(self.b, from, e) else {
                        break e;
                    };
                    match self.b[k] {
                        b'\t' => return None,
                        b':' if k + 1 == e || self.b[k + 1] == b' ' => return None,
                        b'#' if self.b[k - 1] == b' ' => break k,
                        _ => from = k + 1,
                    }
                };
                let text = self.trim_end(v, j);
                self.next_line();
                Some(resolve_plain(text))
            }
        }
    }

    /// A quoted scalar that must close on its line; returns its text and the index after it.
    fn quoted(&self, v: usize, e: usize) -> Option<(String, usize)> {
        let single = self.b[v] == b'\'';
        let mut out = String::new();
        let mut i = v + 1;
        let mut run = i;
        if single {
            loop {
                if i >= e {
                    return None;
                }
                if self.b[i] == b'\'' {
                    if i + 1 < e && self.b[i + 1] == b'\'' {
                        out.push_str(self.t.get(run..=i)?);
                        i += 2;
                        run = i;
                        continue;
                    }
                    out.push_str(self.t.get(run..i)?);
                    return Some((out, i + 1));
                }
                i += 1;
            }
        }
        loop {
            if i >= e {
                return None;
            }
            match self.b[i] {
                b'"' => {
                    out.push_str(self.t.get(run..i)?);
                    return Some((out, i + 1));
                }
                b'\\' => {
                    out.push_str(self.t.get(run..i)?);
                    if i + 1 >= e {
                        return None;
                    }
                    let (c, len) = match self.b[i + 1] {
                        b'0' => ('\0', 0),
                        b'a' => ('\x07', 0),
                        b'b' => ('\x08', 0),
                        b't' | b'\t' => ('\t', 0),
                        b'n' => ('\n', 0),
                        b'v' => ('\x0b', 0),
                        b'f' => ('\x0c', 0),
                        b'r' => ('\r', 0),
                        b'e' => ('\x1b', 0),
                        b' ' => (' ', 0),
                        b'"' => ('"', 0),
                        b'/' => ('/', 0),
                        b'\\' => ('\\', 0),
                        b'N' => ('\u{85}', 0),
                        b'_' => ('\u{a0}', 0),
                        b'L' => ('\u{2028}', 0),
                        b'P' => ('\u{2029}', 0),
                        b'x' => ('\0', 2),
                        b'u' => ('\0', 4),
                        b'U' => ('\0', 8),
                        _ => return None,
                    };
                    i += 2;
                    if len == 0 {
                        out.push(c);
                    } else {
                        if i + len > e {
                            return None;
                        }
                        let hex = self.t.get(i..i + len)?;
                        if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                            return None;
                        }
                        let code = u32::from_str_radix(hex, 16).ok()?;
                        out.push(char::from_u32(code)?);
                        i += len;
                    }
                    run = i;
                }
                _ => i += 1,
            }
        }
    }

    /// A flow collection that must close on its line; `i` moves past it.
    fn flow(&mut self, i: &mut usize, e: usize, depth: usize) -> Option<Value> {
        self.depth_ok(depth)?;
        self.count()?;
        let open = self.b[*i];
        *i += 1;
        self.skip_spaces(i, e)?;
        let close = if open == b'[' { b']' } else { b'}' };
        if *i < e && self.b[*i] == close {
            *i += 1;
            return Some(if open == b'[' {
                Value::Sequence(Vec::new())
            } else {
                Value::Mapping(Mapping::new())
            });
        }
        let mut items = Vec::new();
        let mut map = Mapping::new();
        loop {
            if open == b'[' {
                items.push(self.flow_item(i, e, depth + 1)?);
            } else {
                let (key, quoted) = match self.byte(*i)? {
                    b'"' | b'\'' => {
                        let (k, j) = self.quoted(*i, e)?;
                        *i = j;
                        (k, true)
                    }
                    _ => (self.flow_plain(i, e)?.to_owned(), false),
                };
                self.count()?;
                self.skip_spaces(i, e)?;
                if self.byte(*i) != Some(b':') || *i >= e {
                    return None;
                }
                *i += 1;
                if !quoted && (*i >= e || self.b[*i] != b' ') {
                    return None;
                }
                self.skip_spaces(i, e)?;
                if key == "<<" {
                    return None;
                }
                let value = self.flow_item(i, e, depth + 1)?;
                if map.insert(Value::String(key), value).is_some() {
                    return None;
                }
            }
            self.skip_spaces(i, e)?;
            if *i >= e {
                return None;
            }
            let c = self.b[*i];
            *i += 1;
            if c == close {
                break;
            }
            if c != b',' {
                return None;
            }
            self.skip_spaces(i, e)?;
            if *i >= e || self.b[*i] == close {
                return None;
            }
        }
        Some(if open == b'[' {
            Value::Sequence(items)
        } else {
            Value::Mapping(map)
        })
    }

    fn skip_spaces(&self, i: &mut usize, e: usize) -> Option<()> {
        while *i < e && self.b[*i] == b' ' {
            *i += 1;
        }
        if *i < e && self.b[*i] == b'\t' {
            return None;
        }
        Some(())
    }

    fn flow_item(&mut self, i: &mut usize, e: usize, depth: usize) -> Option<Value> {
        match self.byte(*i)? {
            b'[' | b'{' => self.flow(i, e, depth),
            b'"' | b'\'' => {
                self.depth_ok(depth)?;
                self.count()?;
                let (s, j) = self.quoted(*i, e)?;
                *i = j;
                Some(Value::String(s))
            }
            _ => {
                self.depth_ok(depth)?;
                self.count()?;
                let text = self.flow_plain(i, e)?;
                Some(resolve_plain(text))
            }
        }
    }

    /// A plain scalar inside a flow collection.
    fn flow_plain(&self, i: &mut usize, e: usize) -> Option<&'a str> {
        let s = *i;
        if s >= e {
            return None;
        }
        if self.b[s] == b'-' {
            if s + 1 >= e || matches!(self.b[s + 1], b' ' | b'\t') || is_flow(self.b[s + 1]) {
                return None;
            }
        } else if !self.plain_start_ok(s, e) {
            return None;
        }
        let mut j = s;
        while j < e {
            match self.b[j] {
                c if is_flow(c) => break,
                b':' if j + 1 == e || self.b[j + 1] == b' ' || is_flow(self.b[j + 1]) => break,
                b'#' if self.b[j - 1] == b' ' => return None,
                b'\t' => return None,
                _ => j += 1,
            }
        }
        *i = j;
        let text = self.trim_end(s, j);
        if text.is_empty() {
            return None;
        }
        Some(text)
    }

    /// A literal (`|`) or folded (`>`) block scalar whose indicator is at `v`; `parent` is the
    /// column of the enclosing block collection. Ported from yaml-rust2's `scan_block_scalar`.
    fn block_scalar(&mut self, v: usize, e: usize, parent: usize) -> Option<Value> {
        #[derive(PartialEq)]
        enum Chomp {
            Strip,
            Clip,
            Keep,
        }
        let b = self.b;
        let n = b.len();
        let literal = b[v] == b'|';
        let mut chomp = Chomp::Clip;
        let mut increment = 0usize;
        let mut i = v + 1;
        let chomp_of = |c: u8| if c == b'+' { Chomp::Keep } else { Chomp::Strip };
        match self.byte(i) {
            Some(c @ (b'+' | b'-')) => {
                chomp = chomp_of(c);
                i += 1;
                if let Some(d @ b'0'..=b'9') = self.byte(i) {
                    if d == b'0' {
                        return None;
                    }
                    increment = usize::from(d - b'0');
                    i += 1;
                }
            }
            Some(d @ b'0'..=b'9') => {
                if d == b'0' {
                    return None;
                }
                increment = usize::from(d - b'0');
                i += 1;
                if let Some(c @ (b'+' | b'-')) = self.byte(i) {
                    chomp = chomp_of(c);
                    i += 1;
                }
            }
            _ => {}
        }
        let mut ws = false;
        while i < e && matches!(b[i], b' ' | b'\t') {
            ws = true;
            i += 1;
        }
        if i < e && !(b[i] == b'#' && ws) {
            return None;
        }
        if e >= n {
            // End of input right after the header.
            self.pos = n;
            return Some(Value::String(String::new()));
        }
        // The break after the header is the "chomping break".
        let mut line = self.line + 1;
        let mut i = e + 1;
        let mut ls = i;
        if self.byte(i) == Some(b'\t') {
            return None;
        }
        let mut trailing = 0usize;
        let mut indent = if increment > 0 { parent + increment } else { 0 };
        if indent == 0 {
            let mut max = 0;
            loop {
                while i < n && b[i] == b' ' {
                    i += 1;
                }
                max = max.max(i - ls);
                if i < n && b[i] == b'\n' {
                    trailing += 1;
                    i += 1;
                    ls = i;
                    line += 1;
                    continue;
                }
                break;
            }
            indent = max.max(parent + 1);
        } else {
            skip_indent(b, indent, &mut i, &mut ls, &mut line, &mut trailing);
        }
        let mut out = String::new();
        if i >= n {
            let nl = match chomp {
                Chomp::Strip => 0,
                Chomp::Clip => 1,
                Chomp::Keep if trailing == 0 => 1,
                Chomp::Keep => trailing,
            };
            push_breaks(&mut out, nl);
            self.pos = n;
            self.line = line;
            return Some(Value::String(out));
        }
        let col = i - ls;
        if col < indent && col > parent {
            return None;
        }
        let mut leading = 0usize;
        let mut leading_blank = false;
        while i - ls == indent && i < n {
            let trailing_blank = matches!(b[i], b' ' | b'\t');
            if !literal && leading > 0 && !leading_blank && !trailing_blank {
                push_breaks(&mut out, trailing);
                if trailing == 0 {
                    out.push(' ');
                }
            } else {
                push_breaks(&mut out, leading + trailing);
            }
            leading = 0;
            trailing = 0;
            leading_blank = trailing_blank;
            let end = self.eol(i);
            out.push_str(self.t.get(i..end)?);
            i = end;
            if i >= n {
                break;
            }
            leading = 1;
            i += 1;
            ls = i;
            line += 1;
            skip_indent(b, indent, &mut i, &mut ls, &mut line, &mut trailing);
        }
        if chomp != Chomp::Strip {
            push_breaks(&mut out, leading);
            if i >= n && i - ls >= indent.max(1) {
                out.push('\n');
            }
        }
        if chomp == Chomp::Keep {
            push_breaks(&mut out, trailing);
        }
        self.pos = if i >= n { n } else { ls };
        self.line = line;
        Some(Value::String(out))
    }
}

/// yaml-rust2's `skip_block_scalar_indent`: eats up to `indent` spaces per line and empty lines.
fn skip_indent(
    b: &[u8],
    indent: usize,
    i: &mut usize,
    ls: &mut usize,
    line: &mut usize,
    breaks: &mut usize,
) {
    loop {
        while *i < b.len() && *i - *ls < indent && b[*i] == b' ' {
            *i += 1;
        }
        if *i < b.len() && b[*i] == b'\n' {
            *breaks += 1;
            *i += 1;
            *ls = *i;
            *line += 1;
        } else {
            break;
        }
    }
}

fn push_breaks(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('\n');
    }
}

fn empty_doc(line: usize) -> Doc {
    Doc {
        value: Value::Null,
        line,
        empty: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_stream_slow;

    /// The fast path takes `text` and agrees with the slow path.
    fn same(text: &str) -> Vec<Doc> {
        let fast = parse_stream_fast(text, Limits::default())
            .unwrap_or_else(|| panic!("fell back on {text:?}"))
            .unwrap();
        let slow = parse_stream_slow(text, Limits::default()).unwrap();
        assert_eq!(fast.len(), slow.len(), "{text:?}");
        for (a, b) in fast.iter().zip(&slow) {
            assert_eq!(a.value, b.value, "{text:?}");
            assert_eq!((a.line, a.empty), (b.line, b.empty), "{text:?}");
        }
        fast
    }

    fn falls_back(text: &str) {
        assert!(
            parse_stream_fast(text, Limits::default()).is_none(),
            "should fall back: {text:?}"
        );
    }

    #[test]
    fn newlines_found_at_every_place() {
        for len in 0..50 {
            for at in 0..=len {
                let mut b = vec![b'a'; len];
                if at < len {
                    b[at] = b'\n';
                    if at + 3 < len {
                        b[len - 1] = b'\n';
                    }
                }
                for from in 0..=len {
                    let want = b[from..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(len, |k| from + k);
                    assert_eq!(newline_at_or_after(&b, from), want, "{len} {at} {from}");
                }
            }
        }
        assert_eq!(newline_at_or_after(b"abc", 7), 3);
    }

    #[test]
    fn block_collections() {
        same("a: 1\nb:\n  c: x\n  d:\n  - 1\n  - 2\ne:\n- f: 1\n  g: 2\n- - x\n  - y\n-\n");
        same("- a\n-\n  b: 1\n- - - deep\n-   spaced: 1\n    more: 2\n");
        same("  indented: root\n  other: 1\n");
        same("k:\n    - a\n    - b\nnext: 1\n");
    }

    #[test]
    fn scalars_resolve_like_the_slow_path() {
        same(
            "a: 0600\nb: yes\nc: on\nd: y\ne: ~\nf:\ng: 1e3\nh: 0x1F\ni: -.inf\nj: 12:30\nk: a#b\n",
        );
        same("a: 'it''s'\nb: \"a#b\"\nc: \"a: b\"\nd: '- x'\ne: x # comment\nf: \"\" # c\n");
        same("a: \"\\\" \\\\ \\n \\t \\r \\0 \\x41 \\u00e9 \\U0001F600 \\/ \\  \\e \\N \\_ \\L \\P\"\n");
        same("a: mlflow_entry=\"{{inputs.parameters.x}}\"\nb: -c\nc: a b  c   \n");
        same("é ü: ünïcode\n");
    }

    #[test]
    fn block_scalars() {
        for h in [
            "|", "|-", "|+", ">", ">-", ">+", "|2", "|1-", ">2+", "|+2", "| # c",
        ] {
            same(&format!("a: {h}\n  line1\n   more\n\n  line2\n\n\nb: 1\n"));
            same(&format!("- {h}\n   x\n   y\n- z\n"));
            same(&format!("a: {h}\n  x\n  "));
            same(&format!("a: {h}\n  x"));
            same(&format!("a: {h}"));
            same(&format!("a: {h}\n\n  \nb: 2\n"));
        }
        same("a: >\n  folded\n  text\n\n   more\n  last\n");
        same("a: |\n  tab\tinside\n");
    }

    #[test]
    fn flow_collections() {
        same("a: [a, b]\nb: {a: 1, b: \"x\"}\nc: []\nd: {}\ne: [1, [2, [3]], {k: v}]\n");
        same("a: {\"k\":1, 'q': [x y, -1]}\n");
        same("[a, b]\n");
    }

    #[test]
    fn documents_lines_and_empty_flags() {
        let docs = same("# c\n---\na: 1\n---\n# only\n---\n- x\n...\n---\n~\n---\n");
        assert_eq!(docs.len(), 5);
        assert_eq!(docs[0].line, 3);
        assert!(docs[1].empty && docs[3].empty && docs[4].empty);
        same("");
        same("# only a comment\n");
        same("---");
        same("a: 1\n...\nb: 2\n");
        same("--- # c\n...\n...\n");
    }

    /// Plain keys of 1 to 39 bytes, with a `:`, `#` or tab inside or after them at
    /// every position, either side of the 16-byte steps of `key_stop`: the fast path reads
    /// them as the slow path does, or leaves them to it.
    #[test]
    fn keys_found_at_every_length_and_position() {
        let mut texts = Vec::new();
        for n in 1..40 {
            let key: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            for tail in [": v", ":", ":x: v", " # c", "#x: v", " :v"] {
                texts.push(format!("{key}{tail}\n"));
                texts.push(format!("- {key}{tail}\n"));
                texts.push(format!("top:\n  {key}{tail}\n  z: 1\n"));
            }
            for at in 1..n {
                for c in [":", "#", "\t", " #", ": "] {
                    let (a, b) = key.split_at(at);
                    texts.push(format!("{a}{c}{b}: v\nq: 1\n"));
                }
            }
        }
        for t in texts {
            let slow = parse_stream_slow(&t, Limits::default());
            match parse_stream_fast(&t, Limits::default()) {
                None => {}
                Some(fast) => {
                    let (fast, slow) = (fast.unwrap(), slow.expect(&t));
                    let values = |d: &[Doc]| d.iter().map(|d| d.value.clone()).collect::<Vec<_>>();
                    assert_eq!(values(&fast), values(&slow), "{t:?}");
                }
            }
        }
        // The common shapes stay on the fast path.
        same("app.kubernetes.io/part-of-a-very-long-name: x\nb: 1\n");
        same("- name: a:b#c\n  value: '1'\n");
    }

    #[test]
    fn falls_back_outside_the_subset() {
        for t in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "a: multi\n  line\n",
            "a: \"multi\n  line\"\n",
            "a: [1,\n  2]\n",
            "? complex\n: key\n",
            "%YAML 1.1\n---\na: 1\n",
            "a:\n\t- x\n",
            "\u{feff}a: 1\n",
            "a: 1\r\n",
            "a: |\n  x\n y: 1\n",
            "a: b: c\n",
            "a: - x\n",
            "|\n  root block\n",
            "a: 1\n b: 2\n",
            "[a]: b\n",
            "a: \"\\q\"\n",
            "a: {b:1}\n",
            "a: [b: c]\n",
            "a: [b, ]\n",
            "a: |0\n  x\n",
            "a: \"x\"#c\n",
            "- a\nb: 1\n",
            "a:\n  b\n",
        ] {
            falls_back(t);
        }
    }

    #[test]
    fn limits_send_us_to_the_slow_path() {
        let deep = "a:\n  b:\n    c:\n      d: 1\n";
        let tight = Limits {
            max_depth: 2,
            max_nodes: 100,
        };
        assert!(parse_stream_fast(deep, tight).is_none());
        let few = Limits {
            max_depth: 100,
            max_nodes: 3,
        };
        assert!(parse_stream_fast(deep, few).is_none());
        assert!(parse_stream_fast(deep, Limits::default()).is_some());
    }

    #[test]
    fn truncated_inputs_never_panic() {
        let text = "a: \"\\u00e9x\"\nb: |+2\n   x\n\nc: [1, {d: 'e''f'}]\n- - x\n\u{e9}: >-\n";
        for (i, _) in text.char_indices() {
            let _ = parse_stream_fast(&text[..i], Limits::default());
        }
    }
}
