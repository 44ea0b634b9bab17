//! Label and field selectors as the API server parses them (the subset kubectl sends).
//!
//! Labels: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-joined (AND).
//! Fields: `metadata.name`, `metadata.namespace` with `=`, `==`, `!=`, comma-joined.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 317
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a label selector; `Err` carries a message for a 400 response.
pub fn parse_labels(s: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for term in split_top_level(s) {
        let term = term.trim();
        let err = || format!("unable to parse requirement: {term:?}");
        let req = if let Some(k) = term.strip_prefix('!') {
            Requirement::NotExists(k.trim().to_string())
        } else if let Some((k, v)) = term.split_once("!=") {
            Requirement::NotEq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once("==") {
            Requirement::Eq(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once('=') {
            Requirement::Eq(k.trim().into(), v.trim().into())
        } else if let Some((k, rest)) = split_set_op(term, " notin ") {
            Requirement::NotIn(k, parse_set(&rest).ok_or_else(err)?)
        } else if let Some((k, rest)) = split_set_op(term, " in ") {
            Requirement::In(k, parse_set(&rest).ok_or_else(err)?)
        } else {
            Requirement::Exists(term.to_string())
        };
        let ok = match &req {
            Requirement::Eq(k, v) | Requirement::NotEq(k, v) => valid_key(k) && valid_value(v),
            Requirement::Exists(k) | Requirement::NotExists(k) => valid_key(k),
            Requirement::In(k, vs) | Requirement::NotIn(k, vs) => {
                valid_key(k) && vs.iter().all(|v| valid_value(v))
            }
        };
        if !ok {
            return Err(err());
        }
        out.push(req);
    }
    Ok(out)
}

fn split_set_op(term: &str, op: &str) -> Option<(String, String)> {
    let i = term.find(op)?;
    Some((
        term[..i].trim().to_string(),
        term[i + op.len()..].to_string(),
    ))
}

fn parse_set(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

pub fn labels_match(reqs: &[Requirement], obj: &Value) -> bool {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    reqs.iter().all(|r| match r {
        Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
        Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
    })
}

/// Field selector: `(field, value, negated)` triples.
pub fn parse_fields(s: &str) -> Result<Vec<(String, String, bool)>, String> {
    let mut out = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (k, v, neg) = if let Some((k, v)) = term.split_once("!=") {
            (k, v, true)
        } else if let Some((k, v)) = term.split_once("==") {
            (k, v, false)
        } else if let Some((k, v)) = term.split_once('=') {
            (k, v, false)
        } else {
            return Err(format!(
                "invalid selector: '{term}'; can't understand '{term}'"
            ));
        };
        let k = k.trim();
        if !matches!(k, "metadata.name" | "metadata.namespace") {
            return Err(format!(
                "field label not supported: {k} (the emulator supports metadata.name and metadata.namespace)"
            ));
        }
        out.push((k.to_string(), v.trim().to_string(), neg));
    }
    Ok(out)
}

pub fn fields_match(reqs: &[(String, String, bool)], obj: &Value) -> bool {
    reqs.iter().all(|(k, v, neg)| {
        let ptr = format!("/{}", k.replace('.', "/"));
        let actual = obj.pointer(&ptr).and_then(Value::as_str).unwrap_or("");
        (actual == v) != *neg
    })
}
