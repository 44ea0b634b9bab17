//! Live state from the user's `kubectl` ([`Kube`] runs it).

use super::{Identified, Keep, LiveSource, OwnedQuery, Wanted};
use crate::kube::Kube;
use crate::manifest::{group_of, ResourceId};
use anyhow::{Context, Result};
use foldhash::HashSet;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Above this many wanted objects, LIST per namespace instead of one GET each.
const GET_LIMIT: usize = 50;

/// The cluster as a live source: the user's kubectl, objects read as `keep` says.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub kube: Kube,
    pub keep: Keep,
}

/// Runs a kubectl command printing JSON and reads the objects the way the diff wants them
/// (`status` and `managedFields` skipped unbuilt, Lists flattened), with their identities.
fn get_diffable(c: &Cluster, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<Identified>> {
    let out = c.kube.run(args, stdin)?;
    let mut objects = Vec::new();
    super::lean::parse_json_objects(out.as_slice(), &"kubectl output", c.keep, &mut objects)
        .context("kubectl printed invalid JSON")?;
    Ok(objects
        .into_iter()
        .filter_map(|o| Some((o.id()?, o)))
        .collect())
}

/// `Kind.version.group` (`Kind` for the core group): what kubectl resolves without guessing.
fn type_arg(api_version: &str, kind: &str) -> String {
    match api_version.split_once('/') {
        Some((group, version)) => format!("{kind}.{version}.{group}"),
        None => kind.to_string(),
    }
}

impl LiveSource for Cluster {
    fn fetch(&self, wanted: &[Wanted<'_>]) -> Result<Vec<Identified>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        if wanted.len() <= GET_LIMIT {
            // One call: kubectl GETs each object named in the stream.
            let mut stream = String::new();
            for w in wanted {
                let mut meta = Mapping::new();
                meta.insert("name".into(), Value::from(w.id.name.as_str()));
                if let Some(ns) = &w.id.namespace {
                    meta.insert("namespace".into(), Value::from(ns.as_str()));
                }
                let mut m = Mapping::new();
                m.insert("apiVersion".into(), Value::from(w.api_version));
                m.insert("kind".into(), Value::from(w.id.kind.as_str()));
                m.insert("metadata".into(), Value::Mapping(meta));
                stream.push_str("---\n");
                stream.push_str(&crate::yaml::to_string(&Value::Mapping(m)));
            }
            let args = ["get", "-f", "-", "-o", "json", "--ignore-not-found"].map(String::from);
            return get_diffable(self, &args, Some(stream.as_bytes()));
        }
        // Many objects: LIST each namespace's kinds in one call and keep the wanted names.
        let mut by_ns: BTreeMap<Option<&str>, BTreeSet<String>> = BTreeMap::new();
        for w in wanted {
            by_ns
                .entry(w.id.namespace.as_deref())
                .or_default()
                .insert(type_arg(w.api_version, &w.id.kind));
        }
        let want: HashSet<&ResourceId> = wanted.iter().map(|w| w.id).collect();
        let mut out = Vec::new();
        for (ns, kinds) in by_ns {
            let mut args = vec![
                "get".to_string(),
                kinds.into_iter().collect::<Vec<_>>().join(","),
            ];
            if let Some(ns) = ns {
                args.push(format!("--namespace={ns}"));
            }
            args.extend(["-o", "json", "--ignore-not-found"].map(String::from));
            out.extend(
                get_diffable(self, &args, None)?
                    .into_iter()
                    .filter(|(id, _)| want.contains(id)),
            );
        }
        Ok(out)
    }

    fn list_owned(&self, q: &OwnedQuery) -> Result<Vec<Identified>> {
        if q.values.is_empty() || q.group_kinds.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: BTreeSet<String> = q
            .group_kinds
            .iter()
            .map(|(g, k)| {
                if g.is_empty() {
                    k.clone()
                } else {
                    format!("{k}.{g}")
                }
            })
            .collect();
        let selector = format!("{} in ({})", q.label_key, q.values.join(","));
        let args = vec![
            "get".to_string(),
            kinds.into_iter().collect::<Vec<_>>().join(","),
            "--all-namespaces".into(),
            format!("--selector={selector}"),
            "-o".into(),
            "json".into(),
            "--ignore-not-found".into(),
        ];
        get_diffable(self, &args, None)
    }

    fn context_namespace(&self) -> Result<Option<String>> {
        self.kube.context_namespace()
    }

    fn scopes(&self) -> Result<Vec<(String, String, bool)>> {
        let out = self.kube.run(
            &["api-resources".to_string(), "--no-headers".to_string()],
            None,
        )?;
        let text = String::from_utf8_lossy(&out);
        let mut scopes = Vec::new();
        // Columns: NAME [SHORTNAMES] APIVERSION NAMESPACED KIND; read from the right.
        for line in text.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 {
                continue;
            }
            let n = cols.len();
            let (api_version, namespaced, kind) = (cols[n - 3], cols[n - 2], cols[n - 1]);
            scopes.push((
                group_of(api_version).to_string(),
                kind.to_string(),
                namespaced == "true",
            ));
        }
        Ok(scopes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_masked() {
        assert_eq!(
            crate::redact::mask_credentials(
                "GET https://x -H \"Authorization: Bearer abc.def\" --token=s3cr3t ok"
            ),
            "GET https://x -H \"Authorization: Bearer ***\" --token=*** ok"
        );
        assert_eq!(crate::redact::mask_credentials("no secrets"), "no secrets");
    }

    #[test]
    fn type_args() {
        assert_eq!(type_arg("apps/v1", "Deployment"), "Deployment.v1.apps");
        assert_eq!(type_arg("v1", "ConfigMap"), "ConfigMap");
    }

    #[test]
    fn missing_kubectl_is_an_environment_error() {
        let k = Cluster {
            kube: Kube {
                bin: "/nonexistent/kubectl".into(),
                kubeconfig: None,
                context: None,
            },
            keep: Keep::Compared,
        };
        let e = k
            .fetch(&[Wanted {
                api_version: "v1",
                id: &ResourceId {
                    group: String::new(),
                    kind: "ConfigMap".into(),
                    namespace: Some("d".into()),
                    name: "c".into(),
                },
            }])
            .unwrap_err();
        assert_eq!(crate::exit::code_for(&e), crate::exit::ENVIRONMENT);
        assert!(e.to_string().contains("kubectl not found"));
    }

    #[test]
    fn failing_kubectl_carries_stderr() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("kubectl");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'Error from server (Forbidden): Bearer abc123 denied' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let k = Cluster {
            kube: Kube {
                bin: fake,
                kubeconfig: None,
                context: None,
            },
            keep: Keep::Compared,
        };
        let e = k.scopes().unwrap_err();
        assert_eq!(crate::exit::code_for(&e), crate::exit::ENVIRONMENT);
        let m = e.to_string();
        assert!(
            m.contains("Forbidden") && m.contains("Bearer ***") && !m.contains("abc123"),
            "{m}"
        );
    }
}
