//! Rendered documents become `Resource`s: identity, source location, canonical bytes (and
//! their digest, on demand).

use crate::lookup::Lookup;
use crate::yaml;
use anyhow::{bail, Result};
use foldhash::HashSet;
use serde::Serialize;
use serde_yaml::{Mapping, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::hash::BuildHasher;

/// Identity of a resource, as kapp matches it: API group, kind, namespace, name (no version).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ResourceId {
    /// API group; empty for the core group (`v1`).
    pub group: String,
    pub kind: String,
    /// `None` for cluster-scoped kinds and for namespaced ones not yet placed.
    pub namespace: Option<String>,
    /// `metadata.name`, or `metadata.generateName` when only that is set.
    pub name: String,
}

impl ResourceId {
    /// Builds the identity of an object; `None` when apiVersion or kind is missing.
    pub fn of(obj: &Value) -> Option<ResourceId> {
        let api_version = obj.at("apiVersion")?.as_str()?;
        let kind = obj.at("kind")?.as_str()?;
        let empty = Value::Null;
        let meta = obj.at("metadata").unwrap_or(&empty);
        let name = meta
            .at("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| meta.at("generateName").and_then(Value::as_str))
            // A missing name is left to lint to report (kapp `Config` documents need none).
            .unwrap_or("");
        let namespace = meta
            .at("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        Some(ResourceId {
            group: group_of(api_version).to_string(),
            kind: kind.to_string(),
            namespace,
            name: name.to_string(),
        })
    }
}

impl fmt::Display for ResourceId {
    /// `kind/name (group) namespace: ns`, the way kapp names resources.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)?;
        if !self.group.is_empty() {
            write!(f, " ({})", self.group)?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " namespace: {ns}"),
            None => write!(f, " cluster"),
        }
    }
}

/// True for a kapp `Config` document (`kapp.k14s.io/v1alpha1`, kind `Config`).
pub fn is_kapp_config(obj: &Value) -> bool {
    obj.at("kind").and_then(Value::as_str) == Some("Config")
        && obj
            .at("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| group_of(v) == "kapp.k14s.io")
}

/// The group part of an apiVersion (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// Where a document came from: the template file (relative to the pipeline folder) and line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourceLoc {
    pub file: String,
    pub line: usize,
    /// Index of the document in its file's rendered stream (to find it again).
    #[serde(skip)]
    pub doc: usize,
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One rendered Kubernetes object.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ResourceId,
    pub api_version: String,
    pub object: Value,
    pub source: SourceLoc,
    /// Canonical YAML of `object` (one document, no `---`).
    pub yaml: String,
    /// Top-level entries not parsed yet (`kpipe diff --files`): `object` holds only the head
    /// (`apiVersion`, `kind`, `metadata`) until [`Resource::complete`] adds them.
    pub rest: Option<Box<crate::yaml::head::Rest>>,
}

impl Resource {
    /// Builds a resource from a parsed object, computing its canonical bytes.
    pub fn new(object: Value, source: SourceLoc) -> Result<Resource> {
        let mut r = Resource::bare(object, source)?;
        r.yaml = yaml::to_string(&r.object);
        Ok(r)
    }

    /// sha256 of the canonical bytes, hex; computed when asked (only `-o json` shows it).
    pub fn digest(&self) -> String {
        sha256_hex(self.yaml.as_bytes())
    }

    /// A resource without canonical bytes (empty), for callers that only need
    /// the object (`kpipe diff --files`).
    pub fn bare(object: Value, source: SourceLoc) -> Result<Resource> {
        let Some(id) = ResourceId::of(&object) else {
            bail!("{source}: document is not a Kubernetes object: it needs apiVersion and kind");
        };
        let api_version = object
            .at("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Ok(Resource {
            id,
            api_version,
            object,
            source,
            yaml: String::new(),
            rest: None,
        })
    }

    /// `head` (this resource's object, taken out of it) with the entries of [`Resource::rest`]
    /// added: the whole object.
    pub fn complete(&self, head: Value) -> Result<Value> {
        let Some(rest) = &self.rest else {
            return Ok(head);
        };
        let mut whole = rest
            .complete(head)
            .map_err(|e| e.in_file(&self.source.file))?;
        // A trimmed head (kept or let go of) is not merged back: placement is set again.
        if let (true, Some(ns)) = (rest.is_trimmed(), &self.id.namespace) {
            place(&mut whole, ns);
        }
        Ok(whole)
    }

    /// Lets go of the head of an object read head first whose labels and annotations were
    /// trimmed ([`crate::yaml::head::HeadDoc::trim`]): it holds nothing the identity does not
    /// (kind, name, namespace), and [`Resource::complete`] parses the whole object again
    /// without it. A 10,000-object `--files` diff frees about 16 MB before it compares.
    pub fn drop_trimmed_head(&mut self) {
        if self.rest.as_ref().is_some_and(|r| r.is_trimmed()) {
            self.object = Value::Null;
        }
    }

    /// Places a namespace-less namespaced resource into `ns` (object and identity).
    pub fn set_namespace(&mut self, ns: &str) {
        place(&mut self.object, ns);
        self.id.namespace = Some(ns.to_string());
        if !self.yaml.is_empty() {
            self.yaml = yaml::to_string(&self.object);
        }
    }
}

/// Sets `metadata.namespace` of an object that names none (kapp's placement): in place of an
/// empty or null one, else right after `metadata.name`.
fn place(object: &mut Value, ns: &str) {
    let Some(Value::Mapping(meta)) = object.at_mut("metadata") else {
        return;
    };
    match meta.get_mut("namespace") {
        Some(Value::String(own)) if !own.is_empty() => {}
        Some(slot) => *slot = Value::from(ns),
        None => insert_after(meta, "namespace", Value::from(ns), "name"),
    }
}

/// Inserts `key` right after `after` (or at the end), keeping the other keys in order.
fn insert_after(map: &mut Mapping, key: &str, value: Value, after: &str) {
    let mut out = Mapping::with_capacity(map.len() + 1);
    let mut placed = false;
    for (k, v) in std::mem::take(map) {
        let is_after = k.as_str() == Some(after);
        out.insert(k, v);
        if is_after {
            out.insert(Value::from(key), value.clone());
            placed = true;
        }
    }
    if !placed {
        out.insert(Value::from(key), value);
    }
    *map = out;
}

/// sha256 of bytes as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes as lower-case hex (digests).
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    push_hex(&mut s, bytes);
    s
}

/// Appends the lower-case hex digits of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// The resources rendered for one session, in output order.
#[derive(Debug, Clone)]
pub struct ManifestSet {
    /// Session name (`session_name`), or `default` when rendering without a session.
    pub session: String,
    pub resources: Vec<Resource>,
}

impl ManifestSet {
    /// The canonical YAML stream of the whole set.
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            out.push_str(&r.yaml);
        }
        out
    }

    /// sha256 of the session's whole canonical stream (`to_yaml`), hashed piecewise so the
    /// stream is never built just to be hashed.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (i, r) in self.resources.iter().enumerate() {
            if i > 0 {
                h.update(b"---\n");
            }
            h.update(r.yaml.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// Which kinds are cluster-scoped: a built-in table, user additions, and CRDs in the set.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    cluster: HashSet<(String, String)>,
    namespaced: HashSet<(String, String)>,
    /// Kinds named without a group (`--cluster-scoped Foo`), matched in any group.
    cluster_kinds: HashSet<String>,
}

/// Kubernetes' built-in cluster-scoped kinds (group, kind).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("argoproj.io", "ClusterWorkflowTemplate"),
    ("packaging.carvel.dev", "PackageRepository"),
    ("kapp.k14s.io", "Config"),
];

impl Scopes {
    /// The built-in table plus kinds given by the user (`Kind` or `Kind.group`).
    pub fn new(extra: &[String]) -> Scopes {
        let mut s = Scopes::default();
        for (g, k) in CLUSTER_SCOPED {
            s.cluster.insert((g.to_string(), k.to_string()));
        }
        for e in extra {
            match e.split_once('.') {
                Some((k, g)) => {
                    s.cluster.insert((g.to_string(), k.to_string()));
                }
                None => {
                    s.cluster_kinds.insert(e.clone());
                }
            }
        }
        s
    }

    /// Learns the scope that CRDs in `objects` declare for their kinds.
    pub fn learn_crds<'a>(&mut self, objects: impl IntoIterator<Item = &'a Value>) {
        for o in objects {
            if o.at("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
                continue;
            }
            let Some(spec) = o.at("spec") else { continue };
            let group = spec.at("group").and_then(Value::as_str).unwrap_or_default();
            let kind = spec
                .at("names")
                .and_then(|n| n.at("kind"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key = (group.to_string(), kind.to_string());
            if spec.at("scope").and_then(Value::as_str) == Some("Cluster") {
                self.namespaced.remove(&key);
                self.cluster.insert(key);
            } else {
                self.cluster.remove(&key);
                self.namespaced.insert(key);
            }
        }
    }

    /// Records a scope learnt elsewhere (API discovery).
    pub fn set(&mut self, group: &str, kind: &str, namespaced: bool) {
        let key = (group.to_string(), kind.to_string());
        if namespaced {
            self.cluster.remove(&key);
            self.namespaced.insert(key);
        } else {
            self.namespaced.remove(&key);
            self.cluster.insert(key);
        }
    }

    pub fn is_cluster_scoped(&self, group: &str, kind: &str) -> bool {
        let key = (group.to_string(), kind.to_string());
        if self.namespaced.contains(&key) {
            return false;
        }
        self.cluster.contains(&key) || self.cluster_kinds.contains(kind)
    }
}

/// A parsed document with its source, before it becomes a `Resource`.
#[derive(Debug, Clone)]
pub struct SourcedDoc {
    pub value: Value,
    pub source: SourceLoc,
    /// Top-level entries not parsed yet: `value` is the head ([`Resource::rest`]).
    pub rest: Option<Box<crate::yaml::head::Rest>>,
}

/// Options for building a `ManifestSet`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Namespace for namespaced resources written without one (`--namespace`).
    pub namespace: Option<String>,
    pub scopes: Scopes,
}

/// Builds the set: flattens `List`s, drops empty documents, assigns identities, places
/// namespaces, and refuses two documents with one identity.
pub fn build_set(session: &str, docs: Vec<SourcedDoc>, opts: &BuildOptions) -> Result<ManifestSet> {
    build(session, docs, opts, Resource::new)
}

/// [`build_set`] with [`Resource::bare`] resources (no canonical bytes).
pub fn build_set_bare(
    session: &str,
    docs: Vec<SourcedDoc>,
    opts: &BuildOptions,
) -> Result<ManifestSet> {
    build(session, docs, opts, Resource::bare)
}

fn build(
    session: &str,
    docs: Vec<SourcedDoc>,
    opts: &BuildOptions,
    make: fn(Value, SourceLoc) -> Result<Resource>,
) -> Result<ManifestSet> {
    let mut flat = Vec::with_capacity(docs.len());
    for d in docs {
        flatten(d, &mut flat)?;
    }
    let mut scopes = opts.scopes.clone();
    scopes.learn_crds(flat.iter().map(|d| &d.value));
    let mut resources: Vec<Resource> = Vec::with_capacity(flat.len());
    // Positions of the named resources so far, found by their identity (not a copy of it).
    let hasher = foldhash::fast::RandomState::default();
    let mut seen: hashbrown::HashTable<usize> = hashbrown::HashTable::with_capacity(flat.len());
    for d in flat {
        let rest = d.rest;
        let mut r = make(d.value, d.source)?;
        r.rest = rest;
        if scopes.is_cluster_scoped(&r.id.group, &r.id.kind) {
            if let Some(ns) = &r.id.namespace {
                bail!(
                    "{}: {} is cluster-scoped but sets metadata.namespace {ns:?}",
                    r.source,
                    r.id.kind
                );
            }
        } else if r.id.namespace.is_none() {
            if let Some(ns) = &opts.namespace {
                r.set_namespace(ns);
            }
        }
        // Unnamed documents (kapp Configs, which kapp merges; or a missing name, which lint
        // reports) have no identity to clash on.
        if !r.id.name.is_empty() {
            let hash = hasher.hash_one(&r.id);
            let listed = &resources;
            match seen.entry(
                hash,
                |&i| listed[i].id == r.id,
                |&i| hasher.hash_one(&listed[i].id),
            ) {
                hashbrown::hash_table::Entry::Occupied(e) => bail!(
                    "{}: duplicate resource {}: already defined at {}",
                    r.source,
                    r.id,
                    listed[*e.get()].source
                ),
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert(resources.len());
                }
            }
        }
        resources.push(r);
    }
    Ok(ManifestSet {
        session: session.to_string(),
        resources,
    })
}

fn flatten(d: SourcedDoc, out: &mut Vec<SourcedDoc>) -> Result<()> {
    match &d.value {
        Value::Null => Ok(()),
        Value::Mapping(m) => {
            let is_list = m.at("kind").and_then(Value::as_str) == Some("List")
                && m.at("apiVersion").and_then(Value::as_str) == Some("v1");
            if is_list {
                if let Some(Value::Sequence(items)) = m.at("items") {
                    for item in items {
                        flatten(
                            SourcedDoc {
                                rest: None,
                                value: item.clone(),
                                source: d.source.clone(),
                            },
                            out,
                        )?;
                    }
                }
                return Ok(());
            }
            out.push(d);
            Ok(())
        }
        other => bail!(
            "{}: document is a {}, not a mapping (a Kubernetes object)",
            d.source,
            type_name(other)
        ),
    }
}

/// A short name of a value's type for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(_) => "tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str, line: usize) -> SourcedDoc {
        SourcedDoc {
            rest: None,
            value: yaml::parse_one(text, yaml::Limits::default()).unwrap(),
            source: SourceLoc {
                file: "templates/t.yaml".into(),
                line,
                doc: 0,
            },
        }
    }

    /// Objects read head first and trimmed, placed, then completed: with their heads kept
    /// until then, and let go of after placement. Both give the same objects, keys in order.
    #[test]
    fn dropped_heads_complete_as_kept_ones() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: '1'}\ndata: {k: v}\n---\n\
            apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {x: '1'}\n  namespace: own\n  name: b\ndata: {k: v}\n---\n\
            apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations: {y: z}\n  name: c\n  namespace: ''\ndata: {k: v}\n---\n\
            apiVersion: v1\nkind: Namespace\nmetadata:\n  name: d\n  labels: {x: '1'}\nspec: {}\n---\n\
            apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: e\ndata: {k: v}\n";
        let opts = BuildOptions {
            namespace: Some("team-a".into()),
            scopes: Scopes::new(&[]),
        };
        let set = |drop: bool| {
            let heads = yaml::head::read(
                std::sync::Arc::new(text.to_string()),
                yaml::Limits::default(),
            )
            .unwrap();
            let docs = heads
                .into_iter()
                .map(|mut d| {
                    d.trim();
                    SourcedDoc {
                        value: d.head,
                        rest: d.rest.map(Box::new),
                        source: SourceLoc {
                            file: "f.yaml".into(),
                            line: d.line,
                            doc: d.index,
                        },
                    }
                })
                .collect();
            let mut set = build_set_bare("s", docs, &opts).unwrap();
            if drop {
                set.resources
                    .iter_mut()
                    .for_each(Resource::drop_trimmed_head);
            }
            set.resources
                .iter_mut()
                .map(|r| {
                    let head = std::mem::take(&mut r.object);
                    yaml::to_string(&r.complete(head).unwrap())
                })
                .collect::<Vec<_>>()
        };
        let (kept, dropped) = (set(false), set(true));
        assert_eq!(kept, dropped);
        assert!(
            dropped[0].contains("  name: a\n  namespace: team-a\n  labels:"),
            "{}",
            dropped[0]
        );
        assert!(dropped[1].contains("  namespace: own\n"), "{}", dropped[1]);
        // An empty namespace is no namespace: placed where it stands.
        assert!(
            dropped[2].contains("  name: c\n  namespace: team-a\n"),
            "{}",
            dropped[2]
        );
        assert!(!dropped[3].contains("namespace"), "{}", dropped[3]);
    }

    #[test]
    fn identity_and_namespace_placement() {
        let opts = BuildOptions {
            namespace: Some("team-a".into()),
            scopes: Scopes::new(&[]),
        };
        let set = build_set(
            "s",
            vec![
                doc(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: {}\n",
                    1,
                ),
                doc(
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n",
                    7,
                ),
            ],
            &opts,
        )
        .unwrap();
        assert_eq!(set.resources[0].id.namespace.as_deref(), Some("team-a"));
        assert_eq!(
            set.resources[0].yaml,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: team-a\ndata: {}\n"
        );
        assert_eq!(set.resources[1].id.namespace, None);
        assert_eq!(
            set.resources[0].id.to_string(),
            "ConfigMap/c namespace: team-a"
        );
    }

    #[test]
    fn duplicates_name_both_places() {
        let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n";
        let e = build_set("s", vec![doc(d, 1), doc(d, 9)], &BuildOptions::default()).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("templates/t.yaml:9: duplicate resource Deployment/x (apps)"),
            "{m}"
        );
        assert!(m.contains("templates/t.yaml:1"), "{m}");
    }

    #[test]
    fn crd_declares_scope() {
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: foos.ex.com\nspec:\n  group: ex.com\n  scope: Cluster\n  names:\n    kind: Foo\n";
        let foo = "apiVersion: ex.com/v1\nkind: Foo\nmetadata:\n  name: f\n";
        let opts = BuildOptions {
            namespace: Some("ns".into()),
            scopes: Scopes::new(&[]),
        };
        let set = build_set("s", vec![doc(crd, 1), doc(foo, 10)], &opts).unwrap();
        assert_eq!(set.resources[1].id.namespace, None);
    }

    #[test]
    fn lists_flatten_and_scalars_fail() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n";
        let set = build_set("s", vec![doc(list, 1)], &BuildOptions::default()).unwrap();
        assert_eq!(set.resources.len(), 1);
        let e = build_set("s", vec![doc("just text", 3)], &BuildOptions::default()).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("templates/t.yaml:3: document is a string"));
    }
}
