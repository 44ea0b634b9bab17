//! `--diff-filter`: keep only the changes that match, as kapp's `--diff-filter` does.
//!
//! The value is kapp's JSON filter (`{"and":[{"ops":["update"]},{"existingResource":{"kinds":
//! ["Deployment"]}}]}`): `and`, `or`, `not`, `ops`, `newResource`, `existingResource`, with
//! resource filters over `kinds`, `namespaces`, `names` (a leading or trailing `*` or `%` is a
//! wildcard), `kindNames` (`Kind/name`), `kindNamespaces` (`Kind/ns`), `kindNsNames`
//! (`Kind/ns/name`) and `labels` (label selectors). Op names are kapp's (`add`, `update`,
//! `delete`, `keep`, `noop`, `exists`) or kpipe's (`create`, `conflict`). A value that is not
//! JSON is a comma-separated list of ops: `--diff-filter create,update`.
//!
//! Evaluation follows kapp: the first key present of `and`, `or`, `not`, `newResource`,
//! `existingResource`, `ops` decides (a resource filter on an absent side does not match); an
//! empty filter matches everything. One deliberate difference: kapp matches `ops` only when
//! the change's op equals every listed op (so `["add","update"]` matches nothing); kpipe
//! matches any listed op.

use super::Op;
use crate::lookup::Lookup;
use anyhow::{bail, Context, Result};
use serde_json::Value as Json;
use serde_yaml::Value;

/// A parsed `--diff-filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    NewResource(ResourceFilter),
    ExistingResource(ResourceFilter),
    Ops(Vec<Op>),
    /// `{}`: everything.
    All,
}

/// kapp's resource filter (every field set must match).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceFilter {
    pub kinds: Vec<String>,
    pub namespaces: Vec<String>,
    pub names: Vec<String>,
    pub kind_names: Vec<String>,
    pub kind_namespaces: Vec<String>,
    pub kind_ns_names: Vec<String>,
    pub labels: Vec<Selector>,
}

/// What a filter looks at in one change.
pub struct Subject<'a> {
    pub op: Op,
    pub kind: &'a str,
    /// Empty for cluster-scoped resources (kapp's namespace text).
    pub namespace: &'a str,
    pub name: &'a str,
    /// The rendered object (absent for deletes).
    pub new: Option<&'a Value>,
    /// The live object (absent for creates).
    pub existing: Option<&'a Value>,
}

impl Filter {
    /// Parses kapp's JSON form, or a comma-separated list of ops.
    pub fn parse(text: &str) -> Result<Filter> {
        let t = text.trim();
        if !t.starts_with('{') {
            let ops = t
                .split(',')
                .map(|s| op_named(s.trim()))
                .collect::<Result<Vec<Op>>>()
                .context("--diff-filter: expected kapp's JSON filter or a list of ops like `create,update`")?;
            return Ok(Filter::Ops(ops));
        }
        let json: Json = serde_json::from_str(t).context("--diff-filter is not valid JSON")?;
        parse_node(&json).context("--diff-filter")
    }

    pub fn matches(&self, s: &Subject) -> bool {
        match self {
            Filter::All => true,
            Filter::And(fs) => fs.iter().all(|f| f.matches(s)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(s)),
            Filter::Not(f) => !f.matches(s),
            Filter::NewResource(rf) => s.new.is_some_and(|o| rf.matches(s, o)),
            Filter::ExistingResource(rf) => s.existing.is_some_and(|o| rf.matches(s, o)),
            Filter::Ops(ops) => ops.contains(&s.op),
        }
    }
}

fn op_named(name: &str) -> Result<Op> {
    Ok(match name {
        "create" | "add" => Op::Create,
        "update" => Op::Update,
        "delete" => Op::Delete,
        "noop" | "keep" => Op::Noop,
        "exists" => Op::Exists,
        "conflict" => Op::Conflict,
        other => bail!(
            "unknown op {other:?} (ops: add/create, update, delete, keep/noop, exists, conflict)"
        ),
    })
}

/// kapp decodes the filter with Go's JSON decoder: field names match case-insensitively.
fn fields(v: &Json, what: &str) -> Result<Vec<(String, Json)>> {
    let Json::Object(m) = v else {
        bail!("{what} must be a JSON object");
    };
    Ok(m.iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect())
}

fn list<'a>(v: &'a Json, what: &str) -> Result<&'a [Json]> {
    match v {
        Json::Array(a) => Ok(a),
        Json::Null => Ok(&[]),
        _ => bail!("`{what}` must be a list"),
    }
}

fn strings(v: &Json, what: &str) -> Result<Vec<String>> {
    list(v, what)?
        .iter()
        .map(|s| match s {
            Json::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => bail!("`{what}` must be a list of non-empty strings"),
        })
        .collect()
}

fn parse_node(v: &Json) -> Result<Filter> {
    let fs = fields(v, "a filter")?;
    let get = |k: &str| fs.iter().find(|(n, _)| n == k).map(|(_, v)| v);
    for (k, _) in &fs {
        if !matches!(
            k.as_str(),
            "and" | "or" | "not" | "ops" | "newresource" | "existingresource"
        ) {
            bail!(
                "unknown filter key `{k}` (keys: and, or, not, ops, newResource, existingResource)"
            );
        }
    }
    let children = |k: &str| -> Result<Vec<Filter>> {
        list(get(k).unwrap_or(&Json::Null), k)?
            .iter()
            .enumerate()
            .map(|(i, c)| parse_node(c).with_context(|| format!("{k}[{i}]")))
            .collect()
    };
    // kapp's precedence: and, or, not, newResource, existingResource, ops.
    let and = children("and")?;
    if !and.is_empty() {
        return Ok(Filter::And(and));
    }
    let or = children("or")?;
    if !or.is_empty() {
        return Ok(Filter::Or(or));
    }
    if let Some(n) = get("not").filter(|n| !n.is_null()) {
        return Ok(Filter::Not(Box::new(parse_node(n).context("not")?)));
    }
    if let Some(r) = get("newresource").filter(|n| !n.is_null()) {
        return Ok(Filter::NewResource(
            ResourceFilter::parse(r).context("newResource")?,
        ));
    }
    if let Some(r) = get("existingresource").filter(|n| !n.is_null()) {
        return Ok(Filter::ExistingResource(
            ResourceFilter::parse(r).context("existingResource")?,
        ));
    }
    if let Some(ops) = get("ops") {
        let ops = list(ops, "ops")?
            .iter()
            .map(|o| match o {
                Json::String(s) => op_named(s),
                _ => bail!("`ops` must be a list of op names"),
            })
            .collect::<Result<Vec<Op>>>()?;
        if !ops.is_empty() {
            return Ok(Filter::Ops(ops));
        }
    }
    Ok(Filter::All)
}

impl ResourceFilter {
    fn parse(v: &Json) -> Result<ResourceFilter> {
        let mut f = ResourceFilter::default();
        for (k, v) in fields(v, "a resource filter")? {
            match k.as_str() {
                "kinds" => f.kinds = strings(&v, "kinds")?,
                "namespaces" => f.namespaces = strings(&v, "namespaces")?,
                "names" => f.names = strings(&v, "names")?,
                "kindnames" => f.kind_names = strings(&v, "kindNames")?,
                "kindnamespaces" => f.kind_namespaces = strings(&v, "kindNamespaces")?,
                "kindnsnames" => f.kind_ns_names = strings(&v, "kindNsNames")?,
                "labels" => {
                    f.labels = strings(&v, "labels")?
                        .iter()
                        .map(|s| Selector::parse(s).with_context(|| format!("labels: {s:?}")))
                        .collect::<Result<_>>()?
                }
                "createdatbeforetime" | "createdataftertime" => {
                    bail!("`{k}` is not supported by kpipe (live objects are compared without their server metadata)")
                }
                other => bail!(
                    "unknown resource filter key `{other}` (keys: kinds, namespaces, names, kindNames, kindNamespaces, kindNsNames, labels)"
                ),
            }
        }
        Ok(f)
    }

    fn matches(&self, s: &Subject, obj: &Value) -> bool {
        let any_glob =
            |pats: &[String], actual: &str| pats.is_empty() || pats.iter().any(|p| glob(p, actual));
        let any_eq =
            |keys: &[String], actual: &str| keys.is_empty() || keys.iter().any(|k| k == actual);
        any_glob(&self.kinds, s.kind)
            && any_glob(&self.namespaces, s.namespace)
            && any_glob(&self.names, s.name)
            && (self.labels.is_empty() || self.labels.iter().any(|sel| sel.matches(obj)))
            && any_eq(&self.kind_names, format!("{}/{}", s.kind, s.name).as_str())
            && any_eq(
                &self.kind_namespaces,
                format!("{}/{}", s.kind, s.namespace).as_str(),
            )
            && any_eq(
                &self.kind_ns_names,
                format!("{}/{}/{}", s.kind, s.namespace, s.name).as_str(),
            )
    }
}

/// kapp's string matcher: `*x*`/`%x%` contains, `*x` suffix, `x*` prefix, else equality.
fn glob(pattern: &str, actual: &str) -> bool {
    let is_glob = |c: char| c == '*' || c == '%';
    let starts = pattern.starts_with(is_glob);
    let ends = pattern.len() > 1 && pattern.ends_with(is_glob);
    match (starts, ends) {
        (true, true) => actual.contains(&pattern[1..pattern.len() - 1]),
        (true, false) => actual.ends_with(&pattern[1..]),
        (false, true) => actual.starts_with(&pattern[..pattern.len() - 1]),
        (false, false) => actual == pattern,
    }
}

/// A Kubernetes label selector: comma-separated requirements, all of which must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Vec<Requirement>);

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Selector {
    /// `app=web,tier!=db,env in (a,b),!legacy,track`.
    pub fn parse(text: &str) -> Result<Selector> {
        let mut reqs = Vec::new();
        for part in split_top(text) {
            let p = part.trim();
            if p.is_empty() {
                continue;
            }
            let req = if let Some(k) = p.strip_prefix('!') {
                Requirement::NotExists(key(k)?)
            } else if let Some((k, v)) = p.split_once("!=") {
                Requirement::NotIn(key(k)?, vec![v.trim().to_string()])
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Requirement::In(key(k)?, vec![v.trim().to_string()])
            } else if let Some((k, vs)) = set_op(p, " notin ") {
                Requirement::NotIn(key(k)?, vs?)
            } else if let Some((k, vs)) = set_op(p, " in ") {
                Requirement::In(key(k)?, vs?)
            } else {
                Requirement::Exists(key(p)?)
            };
            reqs.push(req);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.at("metadata").and_then(|m| m.at("labels"));
        let label = |k: &str| labels.and_then(|l| l.at(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
            Requirement::In(k, vs) => label(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Requirement::NotIn(k, vs) => !label(k).is_some_and(|v| vs.iter().any(|x| x == v)),
        })
    }
}

fn key(k: &str) -> Result<String> {
    let k = k.trim();
    if k.is_empty() || k.contains(|c: char| c.is_whitespace() || "!=(),".contains(c)) {
        bail!("bad label key {k:?}");
    }
    Ok(k.to_string())
}

fn set_op<'a>(p: &'a str, op: &str) -> Option<(&'a str, Result<Vec<String>>)> {
    let (k, rest) = p.split_once(op)?;
    let rest = rest.trim();
    let vals = match rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(inner) => Ok(inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()),
        None => Err(anyhow::anyhow!(
            "expected a parenthesised list of values after `{}{}`",
            k.trim(),
            op.trim_end()
        )),
    };
    Some((k, vals))
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn subject<'a>(op: Op, new: Option<&'a Value>, existing: Option<&'a Value>) -> Subject<'a> {
        Subject {
            op,
            kind: "Deployment",
            namespace: "demo",
            name: "web",
            new,
            existing,
        }
    }

    #[test]
    fn kapp_example_and_ops() {
        let obj = y("metadata: {labels: {app: web, tier: front}}");
        let f = Filter::parse(
            r#"{"and":[{"ops":["update"]},{"existingResource":{"kinds":["Deployment"]}}]}"#,
        )
        .unwrap();
        assert!(f.matches(&subject(Op::Update, Some(&obj), Some(&obj))));
        assert!(!f.matches(&subject(Op::Create, Some(&obj), None)));
        // existingResource on a create (no live object) does not match.
        let f = Filter::parse(r#"{"existingResource":{"kinds":["Deploy*"]}}"#).unwrap();
        assert!(!f.matches(&subject(Op::Create, Some(&obj), None)));
        assert!(f.matches(&subject(Op::Delete, None, Some(&obj))));
        // Any listed op (kapp would need every op to be equal).
        let f = Filter::parse(r#"{"ops":["add","update"]}"#).unwrap();
        assert!(f.matches(&subject(Op::Create, Some(&obj), None)));
        assert!(!f.matches(&subject(Op::Delete, None, Some(&obj))));
        assert_eq!(
            Filter::parse("create, keep").unwrap(),
            Filter::Ops(vec![Op::Create, Op::Noop])
        );
        assert_eq!(Filter::parse("{}").unwrap(), Filter::All);
        // Go's JSON decoder ignores case in field names.
        let f = Filter::parse(r#"{"Not":{"NewResource":{"Names":["*eb"]}}}"#).unwrap();
        assert!(!f.matches(&subject(Op::Update, Some(&obj), Some(&obj))));
        assert!(f.matches(&subject(Op::Delete, None, Some(&obj))));
    }

    #[test]
    fn resource_fields_and_labels() {
        let obj = y("metadata: {labels: {app: web, tier: front}}");
        let m = |json: &str| {
            Filter::parse(json)
                .unwrap()
                .matches(&subject(Op::Update, Some(&obj), Some(&obj)))
        };
        assert!(m(
            r#"{"newResource":{"kindNsNames":["Deployment/demo/web"]}}"#
        ));
        assert!(!m(r#"{"newResource":{"kindNames":["Deployment/api"]}}"#));
        assert!(m(
            r#"{"newResource":{"kindNamespaces":["Deployment/demo"],"namespaces":["de%"]}}"#
        ));
        assert!(m(r#"{"newResource":{"names":["%e%"]}}"#));
        assert!(m(
            r#"{"newResource":{"labels":["app=web,tier in (front, back)"]}}"#
        ));
        assert!(m(r#"{"newResource":{"labels":["app!=api,!legacy,tier"]}}"#));
        assert!(!m(r#"{"newResource":{"labels":["tier notin (front)"]}}"#));
        assert!(m(
            r#"{"or":[{"newResource":{"labels":["x"]}},{"ops":["update"]}]}"#
        ));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |s: &str| format!("{:#}", Filter::parse(s).unwrap_err());
        assert!(e("create,upgrade").contains("unknown op \"upgrade\""));
        assert!(e("{\"opz\":[]}").contains("unknown filter key `opz`"));
        assert!(e("{\"and\":[{\"ops\":[\"x\"]}]}").contains("and[0]"));
        assert!(e("{\"newResource\":{\"kinds\":\"Deployment\"}}").contains("must be a list"));
        assert!(e("{\"newResource\":{\"labels\":[\"a in b\"]}}").contains("labels"));
        assert!(e("{bad").contains("not valid JSON"));
    }
}
