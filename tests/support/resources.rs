//! The resource types the emulator serves (what discovery advertises).
//!
//! To serve another kind: add a row to [`BUILTIN`], or pass a [`ResourceType`] to
//! `EmulatorBuilder::resource`, or load a `CustomResourceDefinition` into the store (its served
//! versions are advertised while it exists), or just load an object of an unknown kind (it is
//! registered with a naive plural, see [`ResourceType::guess`]).

use serde_json::{json, Value};

/// One served resource: a kind in one group/version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Plural resource name used in URLs, e.g. `configmaps`.
    pub plural: String,
    /// Lower-case singular, e.g. `configmap`.
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `(group, version, kind, plural, namespaced, short names)`.
pub type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
);

/// Built-in resource table. Extend by adding a row.
pub const BUILTIN: &[Row] = &[
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    ("", "v1", "Secret", "secrets", true, &[]),
    ("", "v1", "Service", "services", true, &["svc"]),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    ("", "v1", "Namespace", "namespaces", false, &["ns"]),
    ("", "v1", "Pod", "pods", true, &["po"]),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
    ),
    ("", "v1", "Event", "events", true, &["ev"]),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"]),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"]),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
    ("batch", "v1", "Job", "jobs", true, &[]),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"]),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
    ),
    (
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    ),
    (
        "argoproj.io",
        "v1alpha1",
        "Workflow",
        "workflows",
        true,
        &["wf"],
    ),
    (
        "argoproj.io",
        "v1alpha1",
        "WorkflowTemplate",
        "workflowtemplates",
        true,
        &["wftmpl"],
    ),
    (
        "argoproj.io",
        "v1alpha1",
        "ClusterWorkflowTemplate",
        "clusterworkflowtemplates",
        false,
        &["clusterwftmpl", "cwft"],
    ),
    (
        "argoproj.io",
        "v1alpha1",
        "CronWorkflow",
        "cronworkflows",
        true,
        &["cwf", "cronwf"],
    ),
    ("kappctrl.k14s.io", "v1alpha1", "App", "apps", true, &[]),
    (
        "packaging.carvel.dev",
        "v1alpha1",
        "PackageInstall",
        "packageinstalls",
        true,
        &["pkgi"],
    ),
];

impl ResourceType {
    pub fn new(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        short_names: &[&str],
    ) -> ResourceType {
        ResourceType {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            singular: kind.to_ascii_lowercase(),
            namespaced,
            short_names: short_names.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A type for a kind the table does not know: plural by English rules of thumb
    /// (`Policy` → `policies`, `Ingress` → `ingresses`, else `+s`).
    pub fn guess(group: &str, version: &str, kind: &str, namespaced: bool) -> ResourceType {
        let lower = kind.to_ascii_lowercase();
        let plural = if let Some(stem) = lower
            .strip_suffix('y')
            .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
        {
            format!("{stem}ies")
        } else if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") {
            format!("{lower}es")
        } else {
            format!("{lower}s")
        };
        ResourceType::new(group, version, kind, &plural, namespaced, &[])
    }

    /// The types a CustomResourceDefinition object serves (one per served version).
    pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            return Vec::new();
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let short: Vec<&str> = spec["names"]["shortNames"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let singular = spec["names"]["singular"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_ascii_lowercase());
        spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"].as_bool().unwrap_or(true))
            .filter_map(|v| v["name"].as_str())
            .map(|version| ResourceType {
                singular: singular.clone(),
                ..ResourceType::new(group, version, kind, plural, namespaced, &short)
            })
            .collect()
    }

    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `configmaps` or `workflows.argoproj.io`, as the API server names a resource in messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// URL prefix of this group/version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The `APIResource` entry for discovery.
    pub fn api_resource(&self) -> Value {
        let mut r = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ALL_VERBS,
        });
        if !self.short_names.is_empty() {
            r["shortNames"] = json!(self.short_names);
        }
        r
    }
}

pub fn builtin() -> Vec<ResourceType> {
    BUILTIN
        .iter()
        .map(|(g, v, k, p, ns, short)| ResourceType::new(g, v, k, p, *ns, short))
        .collect()
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> (String, String) {
    match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    }
}
