//! kapp ownership: the app label and association label kapp puts on what it deploys, who owns
//! a live object, and which live objects are kapp's own leftovers (deletes) or transient.

use super::config::Config;
use crate::live::Meta;
use crate::manifest::ResourceId;
use md5::{Digest, Md5};
use serde_yaml::{Mapping, Value};

pub const APP_LABEL: &str = "kapp.k14s.io/app";
pub const ASSOCIATION_LABEL: &str = "kapp.k14s.io/association";

/// Who "we" are, as far as ownership labels go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// An app was named: its label key, and value when the app already exists (a new app has
    /// none yet, so every labelled live object belongs to someone else).
    App { key: String, value: Option<String> },
    /// No app named: each live object's own app label is taken as ours (no conflicts can be
    /// told apart), and deletes cover the label values found on rendered objects.
    Inferred,
    /// Plain label ownership (kpipe's kubectl deployer: `kpipe.dev/app=<app>`, see
    /// `crate::deploy::APP_LABEL`): the rendered objects already carry the label, nothing
    /// kapp-specific is inserted, the nonce is an ordinary annotation, and every live object
    /// with the label that is no longer rendered is a delete (no kapp identity needed).
    Labels { key: String, value: String },
}

impl Ownership {
    pub fn key(&self) -> &str {
        match self {
            Ownership::App { key, .. } | Ownership::Labels { key, .. } => key,
            Ownership::Inferred => APP_LABEL,
        }
    }
}

/// kapp's identity key `ns/group/Kind/name` (empty namespace for cluster-scoped).
pub fn identity_key(id: &ResourceId) -> String {
    // Built by hand, not with `format!`: every rendered object needs one (about 1,000
    // instructions each through the formatting machinery).
    let ns = id.namespace.as_deref().unwrap_or("");
    let parts = [ns, id.group.as_str(), id.kind.as_str(), id.name.as_str()];
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            key.push('/');
        }
        key.push_str(part);
    }
    key
}

/// `v1.` + md5 hex of the identity key.
pub fn association_value(id: &ResourceId) -> String {
    let d = Md5::digest(identity_key(id).as_bytes());
    let mut value = String::with_capacity(3 + 2 * d.len());
    value.push_str("v1.");
    crate::manifest::push_hex(&mut value, &d);
    value
}

pub fn label<'a, M: Meta + ?Sized>(obj: &'a M, key: &str) -> Option<&'a str> {
    obj.label(key)
}

pub fn has_annotation<M: Meta + ?Sized>(obj: &M, key: &str) -> bool {
    obj.has_annotation(key)
}

/// The owner label value of a live object under `key` (or kapp's default key).
pub fn owner_of<'a, M: Meta + ?Sized>(obj: &'a M, key: &str) -> Option<&'a str> {
    obj.label(key).or_else(|| obj.label(APP_LABEL))
}

/// A labelled object without a valid identity annotation was made by a controller (pods of a
/// Deployment...): kapp ignores its deletion.
pub fn is_transient<M: Meta + ?Sized>(obj: &M, id: &ResourceId) -> bool {
    let Some(ann) = obj.annotation(super::normalize::IDENTITY_ANNOTATION) else {
        return true;
    };
    let parts: Vec<&str> = ann.split(';').collect();
    !(parts.len() == 3 && parts[0] == "v1" && parts[1] == identity_key(id))
}

/// Inserts the ownership labels (app, association, additionalLabels) where the Config's
/// ownership rules say, and the app label into selectors per label-scoping rules.
pub fn insert_labels(obj: &mut Value, id: &ResourceId, key: &str, value: &str, cfg: &Config) {
    let mut labels = Mapping::new();
    labels.insert(Value::from(key), Value::from(value));
    labels.insert(
        Value::from(ASSOCIATION_LABEL),
        Value::from(association_value(id)),
    );
    for (k, v) in &cfg.additional_labels {
        labels.insert(k.clone(), v.clone());
    }
    // Rules match the object as rendered, before any insertion.
    let plan = cfg.plan(obj);
    let (owns, scopes) = (
        plan.list(super::config::PLAN_OWNERSHIP_LABELS),
        plan.list(super::config::PLAN_LABEL_SCOPING),
    );
    let owning: Vec<&super::config::PathRule> = (cfg.ownership_label_rules.iter().enumerate())
        .filter(|(i, r)| owns.matches(*i, &r.matchers, obj))
        .map(|(_, r)| r)
        .collect();
    let scoping: Vec<&super::config::PathRule> = (cfg.label_scoping_rules.iter().enumerate())
        .filter(|(i, r)| scopes.matches(*i, &r.matchers, obj))
        .map(|(_, r)| r)
        .collect();
    for r in owning {
        for p in &r.paths {
            p.insert_entries(obj, &labels, true);
        }
    }
    let mut scope = Mapping::new();
    scope.insert(Value::from(key), Value::from(value));
    for r in scoping {
        for p in &r.paths {
            // Scoping is skipped where the selector does not exist.
            p.insert_entries(obj, &scope, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::Lookup;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn id(ns: Option<&str>, group: &str, kind: &str, name: &str) -> ResourceId {
        ResourceId {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.map(Into::into),
            name: name.into(),
        }
    }

    #[test]
    fn association_matches_kapp_example() {
        // kapp-diff-semantics.md §1.2: md5 of "demo//ConfigMap/app-config".
        let i = id(Some("demo"), "", "ConfigMap", "app-config");
        assert_eq!(identity_key(&i), "demo//ConfigMap/app-config");
        assert_eq!(
            association_value(&i),
            format!("v1.{:x}", Md5::digest(b"demo//ConfigMap/app-config"))
        );
    }

    #[test]
    fn labels_inserted_in_metadata_templates_and_selectors() {
        let mut d = y("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo}\nspec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}");
        let i = id(Some("demo"), "apps", "Deployment", "web");
        insert_labels(&mut d, &i, APP_LABEL, "123", &Config::defaults());
        assert_eq!(label(&d, APP_LABEL), Some("123"));
        let tl = d
            .at("spec")
            .unwrap()
            .at("template")
            .unwrap()
            .at("metadata")
            .unwrap()
            .at("labels")
            .unwrap();
        assert_eq!(tl.get(APP_LABEL), Some(&y("'123'")));
        assert!(tl.get(ASSOCIATION_LABEL).is_some());
        let sel = d
            .at("spec")
            .unwrap()
            .at("selector")
            .unwrap()
            .at("matchLabels")
            .unwrap();
        assert_eq!(sel.get(APP_LABEL), Some(&y("'123'")));
        assert!(sel.get(ASSOCIATION_LABEL).is_none());
        // A ConfigMap without labels gets a labels map.
        let mut c = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}");
        insert_labels(
            &mut c,
            &id(None, "", "ConfigMap", "c"),
            APP_LABEL,
            "1",
            &Config::defaults(),
        );
        assert_eq!(label(&c, APP_LABEL), Some("1"));
    }

    #[test]
    fn statefulset_claim_templates_all_indexes() {
        let mut s = y("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {volumeClaimTemplates: [{metadata: {name: a}}, {metadata: {name: b}}], template: {}}");
        insert_labels(
            &mut s,
            &id(None, "apps", "StatefulSet", "s"),
            APP_LABEL,
            "1",
            &Config::defaults(),
        );
        let vct = s.at("spec").unwrap().at("volumeClaimTemplates").unwrap();
        assert_eq!(
            vct.get(1)
                .unwrap()
                .at("metadata")
                .unwrap()
                .at("labels")
                .unwrap()
                .get(APP_LABEL),
            Some(&y("'1'"))
        );
    }

    #[test]
    fn ownership_and_transience() {
        let i = id(Some("demo"), "", "ConfigMap", "c");
        let owned = y("metadata: {labels: {kapp.k14s.io/app: '9'}, annotations: {kapp.k14s.io/identity: v1;demo//ConfigMap/c;v1}}");
        assert_eq!(owner_of(&owned, APP_LABEL), Some("9"));
        assert!(!is_transient(&owned, &i));
        let pod = y("metadata: {labels: {kapp.k14s.io/app: '9'}}");
        assert!(is_transient(&pod, &i));
        let wrong = y("metadata: {annotations: {kapp.k14s.io/identity: v1;other//ConfigMap/c;v1}}");
        assert!(is_transient(&wrong, &i));
        assert_eq!(
            owner_of(
                &y("metadata: {labels: {kapp.k14s.io/app: '7'}}"),
                "custom/app"
            ),
            Some("7")
        );
    }
}
