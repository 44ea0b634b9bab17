//! The diff a deploy shows and then applies: which resources are created, updated, deleted or
//! left alone, with the live `resourceVersion` each update was computed against.
//!
//! INTERIM: this is kpipe deploy's own minimal create/update/delete/noop computation, used
//! until the kapp-compatible diff stage (`src/diff`, `kpipe diff`) lands on main; `plan` is the
//! seam to replace with the diff module's `ChangeSet`. Live objects come from one
//! `kubectl get -f - -o json --ignore-not-found` per session; a rendered resource is unchanged
//! when every field it sets has that value live (server-managed and server-defaulted fields are
//! therefore ignored); deletes are live objects carrying the session's ownership label that
//! are no longer rendered.

use super::kube::Kube;
use crate::manifest::ResourceId;
use anyhow::{Context, Result};
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;

/// What applying would do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Create,
    Update,
    Delete,
    Noop,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Noop => "noop",
        }
    }
}

/// One resource's planned change.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: ResourceId,
    pub api_version: String,
    pub op: Op,
    /// `metadata.resourceVersion` of the live object the diff saw (updates and deletes).
    pub live_rv: Option<String>,
    /// Live side as compared (only the fields the rendered object sets; whole for deletes).
    pub existing: Option<Value>,
    /// Rendered side (`None` for deletes).
    pub new: Option<Value>,
}

/// One session's plan, in rendered order, then deletes.
#[derive(Debug, Clone, Default)]
pub struct SessionPlan {
    pub session: String,
    pub changes: Vec<Planned>,
}

impl SessionPlan {
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.op != Op::Noop)
    }

    pub fn count(&self, op: Op) -> usize {
        self.changes.iter().filter(|c| c.op == op).count()
    }
}

/// Which live objects belong to a session (its deletes): those whose label `key` is `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub key: String,
    pub value: String,
    /// kapp's rule: an object without a valid `kapp.k14s.io/identity` was made by a controller
    /// and is not deleted; kapp's app-record ConfigMaps are never resources.
    pub kapp: bool,
}

/// A skeleton object naming `id` (enough for `kubectl get -f -`).
fn skeleton(api_version: &str, id: &ResourceId) -> Value {
    let mut meta = Mapping::new();
    meta.insert("name".into(), Value::from(id.name.as_str()));
    if let Some(ns) = &id.namespace {
        meta.insert("namespace".into(), Value::from(ns.as_str()));
    }
    let mut m = Mapping::new();
    m.insert("apiVersion".into(), Value::from(api_version));
    m.insert("kind".into(), Value::from(id.kind.as_str()));
    m.insert("metadata".into(), Value::Mapping(meta));
    Value::Mapping(m)
}

/// The live objects named by `wanted` `(apiVersion, id)` that exist: one kubectl call.
pub fn fetch(kube: &Kube, wanted: &[(String, ResourceId)]) -> Result<Vec<Value>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let docs: Vec<Value> = wanted.iter().map(|(av, id)| skeleton(av, id)).collect();
    let stream = crate::yaml::emit_stream(docs.iter());
    let args = ["get", "-f", "-", "-o", "json", "--ignore-not-found"].map(String::from);
    kube.get_json(&args, Some(stream.as_bytes()))
}

/// Every live object whose label `key` has one of `values`, across all listable kinds
/// (`kubectl api-resources`), so a kind no longer rendered at all is still found.
pub fn list_labelled(kube: &Kube, key: &str, values: &[String]) -> Result<Vec<Value>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let names = kube.run(
        &["api-resources", "--verbs=list,delete", "-o", "name"].map(String::from),
        None,
    )?;
    let kinds: BTreeSet<String> = String::from_utf8_lossy(&names)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "events" && !l.starts_with("events."))
        .map(str::to_string)
        .collect();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let args = vec![
        "get".to_string(),
        kinds.into_iter().collect::<Vec<_>>().join(","),
        "--all-namespaces".into(),
        format!("--selector={key} in ({})", values.join(",")),
        "-o".into(),
        "json".into(),
        "--ignore-not-found".into(),
    ];
    kube.get_json(&args, None)
}

pub fn label<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

pub fn resource_version(obj: &Value) -> Option<String> {
    obj.get("metadata")?
        .get("resourceVersion")?
        .as_str()
        .map(str::to_string)
}

/// The live value restricted to the shape of `want`: map keys `want` does not set are left
/// out (server-managed and defaulted fields), lists of the same length compared item by item.
pub fn project(live: &Value, want: &Value) -> Value {
    match (live, want) {
        (Value::Mapping(l), Value::Mapping(w)) => {
            let mut out = Mapping::new();
            for (k, wv) in w {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), project(lv, wv));
                }
            }
            Value::Mapping(out)
        }
        (Value::Sequence(l), Value::Sequence(w)) if l.len() == w.len() => {
            Value::Sequence(l.iter().zip(w).map(|(a, b)| project(a, b)).collect())
        }
        _ => live.clone(),
    }
}

/// A live object without the fields the server manages (for showing deletes).
pub fn strip_server_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Value::Mapping(m) = &mut o {
        m.remove("status");
        if let Some(Value::Mapping(meta)) = m.get_mut("metadata") {
            for k in [
                "managedFields",
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "selfLink",
            ] {
                meta.remove(k);
            }
        }
    }
    o
}

/// Plans one session: `desired` in rendered order, `live` the fetched objects, `owned` the
/// labelled objects (candidates for deletes).
pub fn plan_session(
    session: &str,
    desired: &[(ResourceId, String, Value)],
    live: &[Value],
    owned: &[Value],
    owner: Option<&Owner>,
) -> SessionPlan {
    let by_id: HashMap<ResourceId, &Value> = live
        .iter()
        .chain(owned)
        .filter_map(|o| Some((ResourceId::of(o)?, o)))
        .collect();
    let mut changes = Vec::new();
    let mut rendered = HashSet::new();
    for (id, api_version, want) in desired {
        rendered.insert(id.clone());
        let (op, existing, live_rv) = match by_id.get(id) {
            None => (Op::Create, None, None),
            Some(l) => {
                let projected = project(l, want);
                let op = if &projected == want {
                    Op::Noop
                } else {
                    Op::Update
                };
                (op, Some(projected), resource_version(l))
            }
        };
        changes.push(Planned {
            id: id.clone(),
            api_version: api_version.clone(),
            op,
            live_rv,
            existing,
            new: Some(want.clone()),
        });
    }
    let Some(owner) = owner else {
        return SessionPlan {
            session: session.to_string(),
            changes,
        };
    };
    let mut seen = HashSet::new();
    for o in owned {
        let Some(id) = ResourceId::of(o) else {
            continue;
        };
        if rendered.contains(&id)
            || !seen.insert(id.clone())
            || label(o, &owner.key) != Some(owner.value.as_str())
        {
            continue;
        }
        if owner.kapp {
            let ns = id.namespace.as_deref().unwrap_or("");
            let key = format!("{ns}/{}/{}/{}", id.group, id.kind, id.name);
            let valid = annotation(o, "kapp.k14s.io/identity")
                .is_some_and(|a| a.split(';').nth(1) == Some(key.as_str()));
            if !valid || label(o, "kapp.k14s.io/is-app").is_some() {
                continue;
            }
        }
        changes.push(Planned {
            api_version: o
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            id,
            op: Op::Delete,
            live_rv: resource_version(o),
            existing: Some(strip_server_fields(o)),
            new: None,
        });
    }
    SessionPlan {
        session: session.to_string(),
        changes,
    }
}

/// Secret `data`/`stringData` values replaced by `<-- value not shown (#N)>`, the same value
/// getting the same number on both sides.
fn mask_secret(v: &Value, numbers: &mut Vec<Value>) -> Value {
    let mut v = v.clone();
    if v.get("kind").and_then(Value::as_str) != Some("Secret") {
        return v;
    }
    for field in ["data", "stringData"] {
        if let Some(Value::Mapping(m)) = v.get_mut(field) {
            for (_, val) in m.iter_mut() {
                let n = match numbers.iter().position(|x| x == val) {
                    Some(i) => i + 1,
                    None => {
                        numbers.push(val.clone());
                        numbers.len()
                    }
                };
                *val = Value::from(format!("<-- value not shown (#{n})"));
            }
        }
    }
    v
}

fn id_line(c: &Planned) -> String {
    let ns = match &c.id.namespace {
        Some(ns) => format!("namespace: {ns}"),
        None => "cluster".into(),
    };
    format!(
        "{} {}/{} ({}) {ns}",
        c.op.as_str(),
        c.id.kind.to_lowercase(),
        c.id.name,
        c.api_version
    )
}

/// Writes the plan as text: a line diff per changed resource, then a table of changes and a
/// totals line per session.
pub fn write_text(plans: &[SessionPlan], out: &mut dyn Write) -> Result<()> {
    let many = plans.len() > 1;
    for p in plans {
        if many {
            writeln!(out, "Session: {}\n", p.session)?;
        }
        for c in p.changes.iter().filter(|c| c.op != Op::Noop) {
            let mut numbers = Vec::new();
            let old = c
                .existing
                .as_ref()
                .map(|v| crate::yaml::to_string(&mask_secret(v, &mut numbers)))
                .unwrap_or_default();
            let new = c
                .new
                .as_ref()
                .map(|v| crate::yaml::to_string(&mask_secret(v, &mut numbers)))
                .unwrap_or_default();
            writeln!(out, "@@ {} @@", id_line(c))?;
            let diff = similar::TextDiff::from_lines(&old, &new);
            for group in diff.grouped_ops(2) {
                for op in group {
                    for change in diff.iter_changes(&op) {
                        let sign = match change.tag() {
                            similar::ChangeTag::Delete => '-',
                            similar::ChangeTag::Insert => '+',
                            similar::ChangeTag::Equal => ' ',
                        };
                        let line = change.value();
                        write!(out, "  {sign} {line}")?;
                        if !line.ends_with('\n') {
                            writeln!(out)?;
                        }
                    }
                }
            }
        }
        let rows: Vec<&Planned> = p.changes.iter().filter(|c| c.op != Op::Noop).collect();
        if !rows.is_empty() {
            let w_ns = rows
                .iter()
                .map(|c| c.id.namespace.as_deref().unwrap_or("(cluster)").len())
                .max()
                .unwrap_or(0)
                .max(9);
            let w_name = rows
                .iter()
                .map(|c| c.id.name.len())
                .max()
                .unwrap_or(0)
                .max(4);
            let w_kind = rows
                .iter()
                .map(|c| c.id.kind.len())
                .max()
                .unwrap_or(0)
                .max(4);
            writeln!(out)?;
            writeln!(
                out,
                "{:w_ns$}  {:w_name$}  {:w_kind$}  Op",
                "Namespace", "Name", "Kind"
            )?;
            for c in rows {
                writeln!(
                    out,
                    "{:w_ns$}  {:w_name$}  {:w_kind$}  {}",
                    c.id.namespace.as_deref().unwrap_or("(cluster)"),
                    c.id.name,
                    c.id.kind,
                    c.op.as_str()
                )?;
            }
        }
        writeln!(
            out,
            "Op: {} create, {} delete, {} update, {} noop",
            p.count(Op::Create),
            p.count(Op::Delete),
            p.count(Op::Update),
            p.count(Op::Noop)
        )?;
        if many {
            writeln!(out)?;
        }
    }
    out.flush().context("writing the diff")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn ops_from_live_state() {
        let want = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, labels: {kpipe.dev/app: x}}\ndata: {k: v}");
        let want_b =
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n}\ndata: {k: v}");
        let want_c =
            y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {k: v}");
        let live_a = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, resourceVersion: '7', uid: u, labels: {kpipe.dev/app: x}}\ndata: {k: v}");
        let live_b = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n, resourceVersion: '8'}\ndata: {k: old}");
        let gone = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: n, resourceVersion: '9', labels: {kpipe.dev/app: x}}");
        let other = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e, namespace: n, labels: {kpipe.dev/app: other}}");
        let desired: Vec<_> = [want, want_b, want_c]
            .into_iter()
            .map(|w| (ResourceId::of(&w).unwrap(), "v1".to_string(), w))
            .collect();
        let owner = Owner {
            key: "kpipe.dev/app".into(),
            value: "x".into(),
            kapp: false,
        };
        let p = plan_session(
            "s",
            &desired,
            &[live_a.clone(), live_b],
            &[live_a, gone, other],
            Some(&owner),
        );
        let ops: Vec<(&str, Op, Option<&str>)> = p
            .changes
            .iter()
            .map(|c| (c.id.name.as_str(), c.op, c.live_rv.as_deref()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("a", Op::Noop, Some("7")),
                ("b", Op::Update, Some("8")),
                ("c", Op::Create, None),
                ("d", Op::Delete, Some("9")),
            ]
        );
        let mut text = Vec::new();
        write_text(&[p], &mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("@@ update configmap/b (v1) namespace: n @@"),
            "{text}"
        );
        assert!(text.contains("  -   k: old\n  +   k: v\n"), "{text}");
        assert!(
            text.contains("Op: 1 create, 1 delete, 1 update, 1 noop"),
            "{text}"
        );
    }

    #[test]
    fn secret_values_are_never_shown() {
        let old = y("kind: Secret\ndata: {a: czE=, b: czI=}");
        let new = y("kind: Secret\ndata: {a: czE=, b: czM=}");
        let mut n = Vec::new();
        let o = crate::yaml::to_string(&mask_secret(&old, &mut n));
        let w = crate::yaml::to_string(&mask_secret(&new, &mut n));
        assert!(!o.contains("cz") && !w.contains("cz"));
        assert!(o.contains("(#1)") && o.contains("(#2)") && w.contains("(#3)"));
    }
}
