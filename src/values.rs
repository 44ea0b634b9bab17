//! Values: files (plain YAML or ytt `#@data/values`), deep merge, `--set` family, `--values-env`.
//!
//! Merge rule: maps merge deeply; lists and scalars are replaced (helm, and ytt's
//! `--data-values-file`). Order, lowest first: `values.yaml`, `--values` files in order,
//! `--values-env`, `--set`, `--set-string`, `--set-yaml`.

use crate::yaml::{self, Limits};
use anyhow::{bail, Context, Result};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// A values file as read from disk.
#[derive(Debug, Clone)]
pub struct ValuesFile {
    pub path: PathBuf,
    /// How the file is named in messages (relative to the pipeline folder when inside it).
    pub display: String,
    pub text: String,
    /// True when the text holds `${…}` or Jinja markup and must be rendered per session.
    pub templated: bool,
}

impl ValuesFile {
    pub fn read(path: &Path, display: String) -> Result<ValuesFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{display}: cannot read values file"))?;
        let templated = text.contains("${") || text.contains("{{") || text.contains("{%");
        Ok(ValuesFile {
            path: path.to_path_buf(),
            display,
            text,
            templated,
        })
    }
}

/// Parses a values text (already rendered for a session) into one merged map. Every document
/// merges in order; the ytt `#@data/values` header is a comment and needs no special case.
pub fn parse_values(display: &str, text: &str, limits: Limits) -> Result<Value> {
    let docs = yaml::parse_stream(text, limits)
        .map_err(|e| anyhow::anyhow!("{display}:{}: {}", e.line, e.message))?;
    let mut out = Value::Mapping(Mapping::new());
    for d in docs {
        match d.value {
            Value::Null => {}
            v @ Value::Mapping(_) => merge(&mut out, v),
            other => bail!(
                "{display}:{}: values must be a map, found a {}",
                d.line,
                crate::manifest::type_name(&other)
            ),
        }
    }
    Ok(out)
}

/// Deep-merges `over` into `base`: maps merge key by key; anything else replaces.
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        // Into an empty map (the first file of a session): taken whole, not rebuilt entry by entry.
        (Value::Mapping(b), Value::Mapping(o)) if b.is_empty() => *b = o,
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// How a `--set` value is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: true/false/null/integers/floats are inferred, as helm does.
    Infer,
    /// `--set-string`: always a string.
    String,
    /// `--set-yaml`: the value is parsed as YAML.
    Yaml,
}

/// The deepest `--set` / `--values-env` path (as deep as YAML nesting may go by default):
/// deeper values would overflow the stack when merged, rendered or dropped.
pub const MAX_PATH_DEPTH: usize = 200;

/// The largest list index in a `--set`-style path (helm has no limit; this keeps a typo such as
/// `a[100000000]` from allocating gigabytes of nulls).
pub const MAX_LIST_INDEX: usize = 10_000;

/// The most list padding (null items) one `--set`-style argument may create: its list indexes
/// added up. Ten times one index, so ordinary arguments never meet it.
pub const MAX_LIST_PADDING: usize = 10 * MAX_LIST_INDEX;

/// One parsed assignment: a path into the values and the value to put there.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub path: Vec<PathStep>,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parses one `--set`-style argument (`a.b=v,c[0]=w`; `\` escapes `,` `.` `=` `[`).
pub fn parse_set(flag: &str, arg: &str, kind: SetKind) -> Result<Vec<Assignment>> {
    let err = |m: &str| anyhow::anyhow!("{flag} {arg:?}: {m}");
    // --set-yaml takes one assignment whose value may hold commas.
    let parts = if kind == SetKind::Yaml {
        vec![arg.to_string()]
    } else {
        split_unescaped(arg, ',')
    };
    let mut out = Vec::new();
    let mut pending_list: Option<(Vec<PathStep>, Vec<Value>)> = None;
    for part in parts {
        if let Some((path, items)) = pending_list.as_mut() {
            // Inside `a={x,y,z}`: items until the closing brace.
            if let Some(last) = part.strip_suffix('}') {
                items.push(typed(&unescape(last), kind));
                out.push(Assignment {
                    path: std::mem::take(path),
                    value: Value::Sequence(std::mem::take(items)),
                });
                pending_list = None;
            } else {
                items.push(typed(&unescape(&part), kind));
            }
            continue;
        }
        let Some(eq) = find_unescaped(&part, '=') else {
            return Err(err("expected KEY=VALUE"));
        };
        let (key, raw) = (&part[..eq], &part[eq + 1..]);
        let path = parse_key(key).map_err(|m| err(&m))?;
        let value = match kind {
            SetKind::Yaml => yaml::parse_one(raw, Limits::default())
                .map_err(|e| err(&format!("value is not YAML: {}", e.message)))?,
            _ if raw.starts_with('{') => {
                let inner = &raw[1..];
                if let Some(body) = inner.strip_suffix('}') {
                    let items = if body.is_empty() {
                        vec![]
                    } else {
                        vec![typed(&unescape(body), kind)]
                    };
                    Value::Sequence(items)
                } else {
                    pending_list = Some((path, vec![typed(&unescape(inner), kind)]));
                    continue;
                }
            }
            _ => typed(&unescape(raw), kind),
        };
        out.push(Assignment { path, value });
    }
    if pending_list.is_some() {
        return Err(err("list value `{…` is not closed with `}`"));
    }
    // Lists are padded with nulls up to each index: bound the padding one argument can ask
    // for, or `a1[9999][9999]…=1,a2[9999]…` makes gigabytes of nulls from a short argument.
    let padding: usize = out
        .iter()
        .flat_map(|a| &a.path)
        .map(|s| match s {
            PathStep::Index(i) => *i,
            PathStep::Key(_) => 0,
        })
        .sum();
    if padding > MAX_LIST_PADDING {
        return Err(err(&format!(
            "list indexes add up to {padding}; at most {MAX_LIST_PADDING} in one argument"
        )));
    }
    Ok(out)
}

fn typed(s: &str, kind: SetKind) -> Value {
    if kind == SetKind::String {
        return Value::String(s.to_string());
    }
    match s {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "null" => return Value::Null,
        _ => {}
    }
    let leading_zero =
        s.len() > 1 && (s.starts_with('0') || s.starts_with("-0")) && !s.contains('.');
    if !leading_zero {
        if let Ok(i) = s.parse::<i64>() {
            return Value::from(i);
        }
        let floaty = s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
            && s.bytes().any(|b| b.is_ascii_digit());
        if floaty {
            if let Ok(f) = s.parse::<f64>() {
                if f.is_finite() {
                    return Value::from(f);
                }
            }
        }
    }
    Value::String(s.to_string())
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn find_unescaped(s: &str, target: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == target {
            return Some(i);
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `a.b[0].c` → steps; `\.` keeps a dot inside a key.
fn parse_key(key: &str) -> std::result::Result<Vec<PathStep>, String> {
    if key.is_empty() {
        return Err("empty key".into());
    }
    let mut steps = Vec::new();
    let mut cur = String::new();
    let mut chars = key.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '.' => {
                if cur.is_empty() && !after_index {
                    return Err(format!("empty key segment in {key:?}"));
                }
                if !cur.is_empty() {
                    steps.push(PathStep::Key(std::mem::take(&mut cur)));
                }
                after_index = false;
            }
            '[' => {
                if !cur.is_empty() {
                    steps.push(PathStep::Key(std::mem::take(&mut cur)));
                }
                let mut num = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) if d.is_ascii_digit() => num.push(d),
                        _ => return Err(format!("bad list index in {key:?}")),
                    }
                }
                let i: usize = num
                    .parse()
                    .map_err(|_| format!("bad list index in {key:?}"))?;
                if i > MAX_LIST_INDEX {
                    return Err(format!("list index {i} too large in {key:?}"));
                }
                steps.push(PathStep::Index(i));
                after_index = true;
            }
            c => {
                cur.push(c);
                after_index = false;
            }
        }
    }
    if !cur.is_empty() {
        steps.push(PathStep::Key(cur));
    } else if !after_index {
        return Err(format!("empty key segment in {key:?}"));
    }
    if !matches!(steps.first(), Some(PathStep::Key(_))) {
        return Err(format!("key {key:?} must start with a name"));
    }
    if steps.len() > MAX_PATH_DEPTH {
        return Err(format!(
            "key is {} levels deep; at most {MAX_PATH_DEPTH} are allowed",
            steps.len()
        ));
    }
    Ok(steps)
}

/// Puts `value` at `path`, creating maps and lists on the way (lists are padded with null).
pub fn apply(values: &mut Value, a: &Assignment) -> Result<()> {
    if a.path.len() > MAX_PATH_DEPTH {
        let first = match a.path.first() {
            Some(PathStep::Key(k)) => k.as_str(),
            _ => "",
        };
        bail!(
            "value path {first:?}… is {} levels deep; at most {MAX_PATH_DEPTH} are allowed",
            a.path.len()
        );
    }
    let mut cur = values;
    for (i, step) in a.path.iter().enumerate() {
        let last = i + 1 == a.path.len();
        match step {
            PathStep::Key(k) => {
                if !cur.is_mapping() {
                    *cur = Value::Mapping(Mapping::new());
                }
                let Value::Mapping(m) = cur else {
                    return Err(kind_changed());
                };
                let key = Value::String(k.clone());
                if last {
                    m.insert(key, a.value.clone());
                    return Ok(());
                }
                if !m.contains_key(&key) {
                    m.insert(key.clone(), Value::Null);
                }
                cur = m
                    .get_mut(&key)
                    .ok_or_else(|| anyhow::anyhow!("internal: key vanished"))?;
            }
            PathStep::Index(idx) => {
                if !cur.is_sequence() {
                    *cur = Value::Sequence(Vec::new());
                }
                let Value::Sequence(s) = cur else {
                    return Err(kind_changed());
                };
                while s.len() <= *idx {
                    s.push(Value::Null);
                }
                if last {
                    s[*idx] = a.value.clone();
                    return Ok(());
                }
                cur = &mut s[*idx];
            }
        }
    }
    Ok(())
}

// The code above has just made `cur` the right kind, so this is never returned.
fn kind_changed() -> anyhow::Error {
    anyhow::anyhow!("internal error: value kind changed during --set")
}

/// `--values-env PREFIX`: `PREFIX_a__b=v` sets `a.b` to the string `v` (ytt's rule).
pub fn from_env(prefix: &str, env: impl Iterator<Item = (String, String)>) -> Vec<Assignment> {
    let want = format!("{prefix}_");
    let mut vars: Vec<(String, String)> = env.filter(|(k, _)| k.starts_with(&want)).collect();
    vars.sort();
    vars.into_iter()
        .filter_map(|(k, v)| {
            let rest = &k[want.len()..];
            let path: Vec<PathStep> = rest
                .split("__")
                .map(|s| PathStep::Key(s.to_string()))
                .collect();
            if rest.is_empty()
                || path
                    .iter()
                    .any(|p| matches!(p, PathStep::Key(s) if s.is_empty()))
            {
                return None;
            }
            Some(Assignment {
                path,
                value: Value::String(v),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        yaml::parse_one(s, Limits::default()).unwrap()
    }

    #[test]
    fn deep_merge_replaces_lists() {
        let mut a = y("a: {b: 1, c: [1, 2]}\nd: x");
        merge(&mut a, y("a: {c: [3], e: 2}\nd: {z: 1}"));
        assert_eq!(a, y("a: {b: 1, c: [3], e: 2}\nd: {z: 1}"));
    }

    #[test]
    fn merge_into_empty_takes_the_map_as_it_is() {
        let mut a = Value::Mapping(Mapping::new());
        merge(&mut a, y("z: 1\na: {c: 2, b: 3}"));
        assert_eq!(yaml::to_string(&a), "z: 1\na:\n  c: 2\n  b: 3\n");
        merge(&mut a, y("a: {d: 4}"));
        assert_eq!(yaml::to_string(&a), "z: 1\na:\n  c: 2\n  b: 3\n  d: 4\n");
    }

    #[test]
    fn data_values_header_is_accepted() {
        let v = parse_values(
            "v.yaml",
            "#@data/values\n---\nmodel_stage: Staging\n",
            Limits::default(),
        )
        .unwrap();
        assert_eq!(v, y("model_stage: Staging"));
        let e = parse_values("v.yaml", "a: 1\n---\n- x\n", Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "v.yaml:3: values must be a map, found a list"
        );
    }

    #[test]
    fn set_infers_types_like_helm() {
        let mut v = Value::Null;
        for a in parse_set(
            "--set",
            "a.b=true,a.c=12,a.d=1.5,a.e=null,a.f=0123,a.g=x\\,y,l[1]=z",
            SetKind::Infer,
        )
        .unwrap()
        {
            apply(&mut v, &a).unwrap();
        }
        assert_eq!(
            v,
            y("a: {b: true, c: 12, d: 1.5, e: null, f: '0123', g: 'x,y'}\nl: [null, z]")
        );
        let mut v = Value::Null;
        for a in parse_set("--set-string", "a=12", SetKind::String).unwrap() {
            apply(&mut v, &a).unwrap();
        }
        assert_eq!(v, y("a: '12'"));
        let mut v = Value::Null;
        for a in parse_set("--set-yaml", "a.b=[1, 2]", SetKind::Yaml).unwrap() {
            apply(&mut v, &a).unwrap();
        }
        assert_eq!(v, y("a: {b: [1, 2]}"));
        let mut v = Value::Null;
        for a in parse_set("--set", "t={a,b,3}", SetKind::Infer).unwrap() {
            apply(&mut v, &a).unwrap();
        }
        assert_eq!(v, y("t: [a, b, 3]"));
    }

    #[test]
    fn bad_set_arguments() {
        for bad in ["noequals", "=v", "a..b=1", "a[x]=1", "a={1,2", "[0]=1"] {
            let e = parse_set("--set", bad, SetKind::Infer)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("--set {bad:?}: ")), "{e}");
        }
    }

    #[test]
    fn env_mapping() {
        let env = vec![
            ("KP_db__port".to_string(), "5432".to_string()),
            ("KP_name".to_string(), "x".to_string()),
            ("OTHER".to_string(), "y".to_string()),
        ];
        let mut v = Value::Null;
        for a in from_env("KP", env.into_iter()) {
            apply(&mut v, &a).unwrap();
        }
        assert_eq!(v, y("db: {port: '5432'}\nname: x"));
    }
}
