//! The changes a deploy applies, taken from the diff it showed (`crate::diff`): which
//! resources are created, updated, deleted or left alone, with the live `resourceVersion` each
//! update was computed against. Live objects come from one `kubectl get -f - -o json
//! --ignore-not-found` per session plus one labelled listing for deletes; the diff itself is
//! `crate::diff::ops::diff_session`, printed by `crate::diff::report` exactly as `kpipe diff`.

use crate::diff::{Op as DiffOp, SessionDiff};
use crate::kube::Kube;
use crate::live::{Cluster, Keep, LiveSource, Wanted};
use crate::lookup::Lookup;
use crate::manifest::ResourceId;
use anyhow::Result;
use serde_yaml::Value;
use std::collections::{BTreeSet, HashMap};

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
    /// The live object the diff saw, without server-managed fields.
    pub existing: Option<Value>,
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

/// The live objects named by `wanted` `(apiVersion, id)` that exist, read as `kpipe diff`
/// reads them.
pub fn fetch(kube: &Kube, wanted: &[(String, ResourceId)]) -> Result<Vec<Value>> {
    let wanted: Vec<Wanted> = wanted
        .iter()
        .map(|(api_version, id)| Wanted { api_version, id })
        .collect();
    let cluster = Cluster {
        kube: kube.clone(),
        // The plan reads `resourceVersion`.
        keep: Keep::Metadata,
    };
    cluster
        .fetch(&wanted)?
        .into_iter()
        .map(|(_, o)| o.into_value())
        .collect()
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

pub fn resource_version(obj: &Value) -> Option<String> {
    obj.at("metadata")?
        .at("resourceVersion")?
        .as_str()
        .map(str::to_string)
}

/// A live object without the fields the server manages (for showing deletes).
pub fn strip_server_fields(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Value::Mapping(m) = &mut o {
        m.remove("status");
        if let Some(Value::Mapping(meta)) = m.at_mut("metadata") {
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

/// The plan of one session from its diff: ops, and the live `resourceVersion` of every
/// object the diff saw (`live`). Conflicts (objects owned by another app) are returned as
/// messages; `exists` (kapp's "someone else creates it") needs nothing applied.
pub fn from_diff(diff: &SessionDiff, live: &[Value]) -> (SessionPlan, Vec<String>) {
    let by_id: HashMap<ResourceId, &Value> = live
        .iter()
        .filter_map(|o| Some((ResourceId::of(o)?, o)))
        .collect();
    let mut conflicts = Vec::new();
    let mut changes = Vec::with_capacity(diff.changes.len());
    for c in &diff.changes {
        let op = match c.op {
            DiffOp::Create => Op::Create,
            DiffOp::Update => Op::Update,
            DiffOp::Delete => Op::Delete,
            DiffOp::Noop | DiffOp::Exists => Op::Noop,
            DiffOp::Conflict => {
                conflicts.push(format!(
                    "{}: {}",
                    c.id,
                    c.reason.as_deref().unwrap_or("owned by another app")
                ));
                Op::Noop
            }
        };
        let live = by_id.get(&c.id);
        changes.push(Planned {
            id: c.id.clone(),
            api_version: c.api_version.clone(),
            op,
            live_rv: live.and_then(|l| resource_version(l)),
            existing: live.map(|l| strip_server_fields(l)),
        });
    }
    (
        SessionPlan {
            session: diff.session.clone(),
            changes,
        },
        conflicts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Change;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn change(live: &Value, op: DiffOp) -> Change {
        Change {
            id: ResourceId::of(live).unwrap(),
            api_version: "v1".into(),
            op,
            existing: None,
            new: None,
            source: None,
            change_groups: Vec::new(),
            changed_paths: Vec::new(),
            reason: Some("owned by another app".into()),
            texts: None,
        }
    }

    #[test]
    fn plan_keeps_the_live_resource_versions_the_diff_saw() {
        let a = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n, resourceVersion: '7', uid: u}");
        let b = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: n, resourceVersion: '8'}");
        let diff = SessionDiff {
            session: "s".into(),
            changes: vec![change(&a, DiffOp::Update), change(&b, DiffOp::Conflict)],
            warnings: Vec::new(),
            mask_rules: Vec::new(),
        };
        let (plan, conflicts) = from_diff(&diff, &[a, b]);
        assert_eq!(plan.changes[0].op, Op::Update);
        assert_eq!(plan.changes[0].live_rv.as_deref(), Some("7"));
        let existing = plan.changes[0].existing.as_ref().unwrap();
        assert!(existing["metadata"].at("uid").is_none());
        assert_eq!(plan.changes[1].op, Op::Noop);
        assert_eq!(
            conflicts,
            vec!["ConfigMap/b namespace: n: owned by another app".to_string()]
        );
    }
}
