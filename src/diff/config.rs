//! kapp `Config` documents (`kapp.k14s.io/v1alpha1`): parsed from the rendered set, combined
//! after kapp's built-in defaults. They are instructions to kapp, never resources to apply.

use super::matcher::{KindPlan, Matcher, Plans};
use super::path::Path;
use crate::lookup::Lookup;
use anyhow::{bail, Context, Result};
use serde_yaml::{Mapping, Value};

pub const CONFIG_API_VERSION: &str = "kapp.k14s.io/v1alpha1";
/// Label on a ConfigMap whose `data["config.yml"]` holds a Config (the ConfigMap is still applied).
pub const CONFIG_MAP_LABEL: &str = "kapp.k14s.io/config";

/// Where a `copy` rule takes values from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The new (rendered) object before any rebasing.
    New,
    /// The live object.
    Existing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebaseKind {
    Copy(Vec<Source>),
    Remove,
    /// kapp's default ServiceAccount rule is a ytt overlay; kpipe implements that one natively:
    /// keep token-controller entries in `secrets` / `imagePullSecrets`.
    ServiceAccountTokens,
}

#[derive(Debug, Clone)]
pub struct RebaseRule {
    pub paths: Vec<Path>,
    pub kind: RebaseKind,
    pub matchers: Vec<Matcher>,
}

/// A rule that names paths for some resources (exclusions, masks, ownership labels, scoping).
#[derive(Debug, Clone)]
pub struct PathRule {
    pub paths: Vec<Path>,
    pub matchers: Vec<Matcher>,
}

/// A `templateRules` entry: when a versioned object matching `matchers` gets a new name, the
/// references `refs` describe are rewritten to it (kapp-diff-semantics.md §1.5).
#[derive(Debug, Clone)]
pub struct TemplateRule {
    pub matchers: Vec<Matcher>,
    pub refs: Vec<ObjectRefRule>,
}

/// One `affectedResources.objectReferences` entry: the maps at `path` in objects matching
/// `matchers` are object references (`{name, namespace?, kind?, apiVersion?}`).
#[derive(Debug, Clone)]
pub struct ObjectRefRule {
    pub path: Path,
    pub matchers: Vec<Matcher>,
    /// The key holding the name when it is not `name` (`secretName` in Secret volumes).
    pub name_key: Option<String>,
}

/// The effective Config: defaults first, then user Configs in input order (lists concatenate).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub rebase_rules: Vec<RebaseRule>,
    /// Removed from both sides before diffing against the live object (default: `status`).
    pub existing_exclusions: Vec<PathRule>,
    /// Removed from the live copy when comparing with the stored original.
    pub last_applied_exclusions: Vec<PathRule>,
    pub mask_rules: Vec<PathRule>,
    pub ownership_label_rules: Vec<PathRule>,
    pub label_scoping_rules: Vec<PathRule>,
    pub additional_labels: Mapping,
    pub template_rules: Vec<TemplateRule>,
    /// Rules kpipe cannot evaluate (ytt overlays in user Configs), described for the report.
    pub unsupported: Vec<String>,
    /// The rules above decided per apiVersion and kind ([`Config::plan`]); started anew
    /// whenever rules are added.
    plans: Plans,
}

/// Rule lists in a [`Config::plan`].
pub const PLAN_REBASE: usize = 0;
pub const PLAN_OWNERSHIP_LABELS: usize = 1;
pub const PLAN_LABEL_SCOPING: usize = 2;

/// True for a document that is kapp configuration rather than a resource.
pub fn is_config_doc(obj: &Value) -> bool {
    obj.at("apiVersion").and_then(Value::as_str) == Some(CONFIG_API_VERSION)
}

/// Separates kapp Config documents from the resources (Configs need no name).
pub fn partition_configs(
    docs: Vec<crate::manifest::SourcedDoc>,
) -> (
    Vec<crate::manifest::SourcedDoc>,
    Vec<crate::manifest::SourcedDoc>,
) {
    docs.into_iter().partition(|d| is_config_doc(&d.value))
}

/// A ConfigMap carrying a Config in `data["config.yml"]`.
pub fn config_map_payload(obj: &Value) -> Option<&str> {
    if obj.at("kind").and_then(Value::as_str) != Some("ConfigMap")
        || obj.at("apiVersion").and_then(Value::as_str) != Some("v1")
    {
        return None;
    }
    obj.at("metadata")?.at("labels")?.at(CONFIG_MAP_LABEL)?;
    obj.at("data")?.at("config.yml")?.as_str()
}

/// kapp's built-in default Config, read once per process ([`Config::defaults`]).
static DEFAULTS: std::sync::OnceLock<Config> = std::sync::OnceLock::new();

impl Config {
    /// kapp's built-in default Config (diff-relevant parts): a copy of the one read once.
    pub fn defaults() -> Config {
        Config::read_defaults().clone()
    }

    /// Reads kapp's built-in default Config now, if no thread has yet: the diff asks for it
    /// on the thread that has read the desired state while the live side still loads, so
    /// reading it (about 5 M instructions) is not left to the step between the two, when the
    /// other core waits.
    pub fn read_defaults() -> &'static Config {
        DEFAULTS.get_or_init(Config::parse_defaults)
    }

    fn parse_defaults() -> Config {
        let mut c = Config::default();
        // The built-in text is fixed and covered by `defaults_parse_in_kapp_order`.
        let _ = c.add_doc(&default_doc());
        c.rebase_rules.insert(
            // After the metadata rules, in kapp's order: the SA rule is #15 of 17.
            c.rebase_rules
                .iter()
                .position(|r| r.kind == RebaseKind::Copy(vec![Source::Existing, Source::New]))
                .unwrap_or(c.rebase_rules.len()),
            RebaseRule {
                paths: vec![Path::keys(&["secrets"]), Path::keys(&["imagePullSecrets"])],
                kind: RebaseKind::ServiceAccountTokens,
                matchers: vec![Matcher::ApiVersionKind {
                    api_version: "v1".into(),
                    kind: "ServiceAccount".into(),
                }],
            },
        );
        c.plans = Plans::default();
        c
    }

    /// The rebase, ownership-label and label-scoping rules decided for `obj`'s apiVersion
    /// and kind, where those decide them ([`PLAN_REBASE`] and the others name the lists).
    /// Rebase rules are left undecided when one of them may change apiVersion or kind.
    pub fn plan(&self, obj: &Value) -> std::sync::Arc<KindPlan> {
        self.plans.get(obj, || {
            fn matchers<'a>(
                m: impl Iterator<Item = &'a Vec<Matcher>>,
            ) -> Option<Vec<&'a [Matcher]>> {
                Some(m.map(Vec::as_slice).collect())
            }
            vec![
                if !self.rebase_may_change_kind() {
                    matchers(self.rebase_rules.iter().map(|r| &r.matchers))
                } else {
                    None
                },
                matchers(self.ownership_label_rules.iter().map(|r| &r.matchers)),
                matchers(self.label_scoping_rules.iter().map(|r| &r.matchers)),
            ]
        })
    }

    /// Whether a rebase rule may change `apiVersion` or `kind`: matchers, which look at
    /// those, are then not decided ahead of rebasing.
    pub fn rebase_may_change_kind(&self) -> bool {
        self.rebase_rules.iter().any(|r| {
            r.paths
                .iter()
                .any(|p| matches!(p.first_key(), Some("apiVersion" | "kind")))
        })
    }

    /// Appends one user Config document's rules.
    pub fn add_doc(&mut self, doc: &Value) -> Result<()> {
        self.plans = Plans::default();
        let kind = doc.at("kind").and_then(Value::as_str).unwrap_or_default();
        if kind != "Config" {
            bail!("{CONFIG_API_VERSION} documents must be `kind: Config`, found `{kind}`");
        }
        let Value::Mapping(m) = doc else {
            bail!("Config must be a map")
        };
        for (k, v) in m {
            // kapp decodes Config fields case-insensitively (Go's JSON decoder).
            let key = k.as_str().unwrap_or_default().to_ascii_lowercase();
            match key.as_str() {
                "rebaserules" => {
                    for (i, r) in seq(v).iter().enumerate() {
                        if let Some(rule) =
                            parse_rebase(r).with_context(|| format!("rebaseRules[{i}]"))?
                        {
                            self.rebase_rules.push(rule);
                        } else {
                            self.unsupported.push(format!(
                                "rebaseRules[{i}] is a ytt overlay rule, which kpipe does not evaluate: fields it would keep from the live object may show as changes"
                            ));
                        }
                    }
                }
                "diffagainstexistingfieldexclusionrules" => push_path_rules(
                    &mut self.existing_exclusions,
                    v,
                    "diffAgainstExistingFieldExclusionRules",
                )?,
                "diffagainstlastappliedfieldexclusionrules" => push_path_rules(
                    &mut self.last_applied_exclusions,
                    v,
                    "diffAgainstLastAppliedFieldExclusionRules",
                )?,
                "diffmaskrules" => push_path_rules(&mut self.mask_rules, v, "diffMaskRules")?,
                "ownershiplabelrules" => {
                    push_path_rules(&mut self.ownership_label_rules, v, "ownershipLabelRules")?
                }
                "labelscopingrules" => {
                    push_path_rules(&mut self.label_scoping_rules, v, "labelScopingRules")?
                }
                "templaterules" => {
                    for (i, r) in seq(v).iter().enumerate() {
                        self.template_rules.push(
                            parse_template(r).with_context(|| format!("templateRules[{i}]"))?,
                        );
                    }
                }
                "additionallabels" => {
                    if let Value::Mapping(l) = v {
                        for (lk, lv) in l {
                            self.additional_labels.insert(lk.clone(), lv.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn seq(v: &Value) -> &[Value] {
    match v {
        Value::Sequence(s) => s,
        _ => &[],
    }
}

fn paths_of(r: &Value) -> Result<Vec<Path>> {
    match (r.at("path"), r.at("paths")) {
        (Some(p), None) => Ok(vec![Path::parse(p).context("path")?]),
        (None, Some(ps)) => seq(ps)
            .iter()
            .enumerate()
            .map(|(i, p)| Path::parse(p).with_context(|| format!("paths[{i}]")))
            .collect(),
        _ => bail!("exactly one of `path` or `paths` must be set"),
    }
}

fn matchers_of(r: &Value) -> Result<Vec<Matcher>> {
    seq(r.at("resourceMatchers").unwrap_or(&Value::Null))
        .iter()
        .enumerate()
        .map(|(i, m)| Matcher::parse(m).with_context(|| format!("resourceMatchers[{i}]")))
        .collect()
}

/// `None` for a ytt rule (not evaluated).
fn parse_rebase(r: &Value) -> Result<Option<RebaseRule>> {
    if r.at("ytt").is_some() {
        return Ok(None);
    }
    let kind = match r.at("type").and_then(Value::as_str) {
        Some("remove") => RebaseKind::Remove,
        Some("copy") => {
            let mut sources = Vec::new();
            for s in seq(r.at("sources").unwrap_or(&Value::Null)) {
                sources.push(match s.as_str() {
                    Some("new") => Source::New,
                    Some("existing") => Source::Existing,
                    _ => bail!("copy sources must be `new` or `existing`"),
                });
            }
            RebaseKind::Copy(sources)
        }
        other => bail!("rebase rule type must be `copy` or `remove`, got {other:?}"),
    };
    Ok(Some(RebaseRule {
        paths: paths_of(r)?,
        kind,
        matchers: matchers_of(r)?,
    }))
}

/// `key` of a map, matched case-insensitively as Go's JSON decoder does.
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let Value::Mapping(m) = v else { return None };
    m.iter()
        .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(key)))
        .map(|(_, v)| v)
}

fn parse_template(r: &Value) -> Result<TemplateRule> {
    let refs = seq(field(r, "affectedResources")
        .and_then(|a| field(a, "objectReferences"))
        .unwrap_or(&Value::Null))
    .iter()
    .enumerate()
    .filter_map(|(i, o)| {
        parse_object_ref(o)
            .with_context(|| format!("affectedResources.objectReferences[{i}]"))
            .transpose()
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(TemplateRule {
        matchers: matchers_of(r)?,
        refs,
    })
}

/// `None` without a path: kapp then looks at the object's top level, which holds no reference.
fn parse_object_ref(o: &Value) -> Result<Option<ObjectRefRule>> {
    let Some(p) = field(o, "path") else {
        return Ok(None);
    };
    let name_key = match field(o, "nameKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if k.is_empty() => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => bail!("nameKey must be a string"),
    };
    Ok(Some(ObjectRefRule {
        path: Path::parse(p).context("path")?,
        matchers: matchers_of(o)?,
        name_key,
    }))
}

fn push_path_rules(out: &mut Vec<PathRule>, v: &Value, what: &str) -> Result<()> {
    for (i, r) in seq(v).iter().enumerate() {
        let ctx = || format!("{what}[{i}]");
        out.push(PathRule {
            paths: paths_of(r).with_context(ctx)?,
            matchers: matchers_of(r).with_context(ctx)?,
        });
    }
    Ok(())
}

/// kapp's default Config, diff-relevant rules only, written as a Config document so the
/// same parser reads it (kapp-diff-semantics.md §2.6).
fn default_doc() -> Value {
    // kpipe's own parser (yaml-rust2: the text's anchor keeps it off the fast path): every
    // diff reads this before the comparing starts, and serde_yaml's libyaml took 9.5 M
    // instructions over it (this parser: 5.2 M).
    crate::yaml::parse_one(DEFAULT_CONFIG, crate::yaml::Limits::default()).unwrap_or(Value::Null)
}

const DEFAULT_CONFIG: &str = r#"
apiVersion: kapp.k14s.io/v1alpha1
kind: Config
rebaseRules:
- path: [metadata]
  type: copy
  sources: [existing]
  resourceMatchers: [{allMatcher: {}}]
- path: [metadata, labels]
  type: remove
  resourceMatchers: [{allMatcher: {}}]
- path: [metadata, labels]
  type: copy
  sources: [new]
  resourceMatchers: [{allMatcher: {}}]
- path: [metadata, annotations]
  type: remove
  resourceMatchers: [{allMatcher: {}}]
- path: [metadata, annotations]
  type: copy
  sources: [new]
  resourceMatchers: [{allMatcher: {}}]
- paths: [[spec, clusterIP], [spec, healthCheckNodePort]]
  type: copy
  sources: [new, existing]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Service}}]
- path: [spec, finalizers]
  type: copy
  sources: [new, existing]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Namespace}}]
- paths:
  - [metadata, annotations, openshift.io/sa.scc.mcs]
  - [metadata, annotations, openshift.io/sa.scc.supplemental-groups]
  - [metadata, annotations, openshift.io/sa.scc.uid-range]
  type: copy
  sources: [new, existing]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Namespace}}]
- paths:
  - [metadata, annotations, pv.kubernetes.io/bind-completed]
  - [metadata, annotations, pv.kubernetes.io/bound-by-controller]
  - [metadata, annotations, pv.kubernetes.io/migrated-to]
  - [metadata, annotations, volume.beta.kubernetes.io/storage-provisioner]
  - [spec, storageClassName]
  - [spec, volumeMode]
  - [spec, volumeName]
  type: copy
  sources: [new, existing]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: PersistentVolumeClaim}}]
- path: [metadata, annotations, deployment.kubernetes.io/revision]
  type: copy
  sources: [new, existing]
  resourceMatchers: &deployments
  - apiVersionKindMatcher: {apiVersion: apps/v1, kind: Deployment}
  - apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: Deployment}
  - apiVersionKindMatcher: {apiVersion: apps/v1beta2, kind: Deployment}
  - apiVersionKindMatcher: {apiVersion: extensions/v1beta1, kind: Deployment}
- path: [webhooks, {allIndexes: true}, clientConfig, caBundle]
  type: copy
  sources: [new, existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: admissionregistration.k8s.io/v1beta1, kind: MutatingWebhookConfiguration}
  - apiVersionKindMatcher: {apiVersion: admissionregistration.k8s.io/v1, kind: MutatingWebhookConfiguration}
  - apiVersionKindMatcher: {apiVersion: admissionregistration.k8s.io/v1beta1, kind: ValidatingWebhookConfiguration}
  - apiVersionKindMatcher: {apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingWebhookConfiguration}
- path: [spec, caBundle]
  type: copy
  sources: [new, existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: apiregistration.k8s.io/v1beta1, kind: APIService}
  - apiVersionKindMatcher: {apiVersion: apiregistration.k8s.io/v1, kind: APIService}
- path: [spec, conversion, webhookClientConfig, caBundle]
  type: copy
  sources: [new, existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: apiextensions.k8s.io/v1beta1, kind: CustomResourceDefinition}
- path: [spec, conversion, webhook, clientConfig, caBundle]
  type: copy
  sources: [new, existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition}
- path: [spec, nodeName]
  type: copy
  sources: [new, existing]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Pod}}]
- paths:
  - [data, .dockerconfigjson]
  - [metadata, annotations, secretgen.carvel.dev/status]
  type: copy
  sources: [existing, new]
  resourceMatchers:
  - andMatcher:
      matchers:
      - apiVersionKindMatcher: {apiVersion: v1, kind: Secret}
      - hasAnnotationMatcher: {keys: [secretgen.carvel.dev/image-pull-secret]}
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-secretgen-rebase-rules]}}}
- path: [rules]
  type: copy
  sources: [existing]
  resourceMatchers:
  - andMatcher:
      matchers:
      - anyMatcher:
          matchers:
          - apiVersionKindMatcher: {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole}
          - apiVersionKindMatcher: {apiVersion: rbac.authorization.k8s.io/v1alpha1, kind: ClusterRole}
          - apiVersionKindMatcher: {apiVersion: rbac.authorization.k8s.io/v1beta1, kind: ClusterRole}
      - notMatcher: {matcher: {emptyFieldMatcher: {path: [aggregationRule]}}}
diffAgainstLastAppliedFieldExclusionRules:
- path: [metadata, annotations, deployment.kubernetes.io/revision]
  resourceMatchers: *deployments
diffAgainstExistingFieldExclusionRules:
- path: [status]
  resourceMatchers: [{allMatcher: {}}]
diffMaskRules:
- paths: [[data], [stringData]]
  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Secret}}]
ownershipLabelRules:
- path: [metadata, labels]
  resourceMatchers: [{allMatcher: {}}]
- path: [spec, template, metadata, labels]
  resourceMatchers: &podTemplates
  - andMatcher:
      matchers:
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-ownership-label-rules]}}}
      - anyMatcher:
          matchers:
          - apiGroupKindMatcher: {apiGroup: apps, kind: Deployment}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: Deployment}
          - apiGroupKindMatcher: {apiGroup: apps, kind: ReplicaSet}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: ReplicaSet}
          - apiGroupKindMatcher: {apiGroup: apps, kind: StatefulSet}
          - apiGroupKindMatcher: {apiGroup: apps, kind: DaemonSet}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: DaemonSet}
          - apiGroupKindMatcher: {apiGroup: batch, kind: Job}
- path: [spec, volumeClaimTemplates, {allIndexes: true}, metadata, labels]
  resourceMatchers:
  - andMatcher:
      matchers:
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-ownership-label-rules]}}}
      - apiGroupKindMatcher: {apiGroup: apps, kind: StatefulSet}
- path: [spec, jobTemplate, spec, template, metadata, labels]
  resourceMatchers:
  - andMatcher:
      matchers:
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-ownership-label-rules]}}}
      - apiGroupKindMatcher: {apiGroup: batch, kind: CronJob}
labelScopingRules:
- path: [spec, selector]
  resourceMatchers:
  - andMatcher:
      matchers:
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-label-scoping-rules]}}}
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-label-scoping]}}}
      - apiVersionKindMatcher: {apiVersion: v1, kind: Service}
- path: [spec, selector, matchLabels]
  resourceMatchers:
  - andMatcher:
      matchers:
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-default-label-scoping-rules]}}}
      - notMatcher: {matcher: {hasAnnotationMatcher: {keys: [kapp.k14s.io/disable-label-scoping]}}}
      - anyMatcher:
          matchers:
          - apiGroupKindMatcher: {apiGroup: apps, kind: Deployment}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: Deployment}
          - apiGroupKindMatcher: {apiGroup: apps, kind: ReplicaSet}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: ReplicaSet}
          - apiGroupKindMatcher: {apiGroup: apps, kind: StatefulSet}
          - apiGroupKindMatcher: {apiGroup: apps, kind: DaemonSet}
          - apiGroupKindMatcher: {apiGroup: extensions, kind: DaemonSet}
          - apiGroupKindMatcher: {apiGroup: batch, kind: Job}
          - apiVersionKindMatcher: {apiVersion: policy/v1beta1, kind: PodDisruptionBudget}
templateRules:
- resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: ConfigMap}}]
  affectedResources:
    objectReferences:
    - path: [spec, template, spec, containers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, configMapKeyRef]
      resourceMatchers: &withPodTemplate
      - apiVersionKindMatcher: {apiVersion: apps/v1, kind: Deployment}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta2, kind: Deployment}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: Deployment}
      - apiVersionKindMatcher: {apiVersion: extensions/v1beta1, kind: Deployment}
      - apiVersionKindMatcher: {apiVersion: apps/v1, kind: ReplicaSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta2, kind: ReplicaSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: ReplicaSet}
      - apiVersionKindMatcher: {apiVersion: extensions/v1beta1, kind: ReplicaSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1, kind: StatefulSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta2, kind: StatefulSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: StatefulSet}
      - apiVersionKindMatcher: {apiVersion: extensions/v1beta1, kind: StatefulSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1, kind: DaemonSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta2, kind: DaemonSet}
      - apiVersionKindMatcher: {apiVersion: apps/v1beta1, kind: DaemonSet}
      - apiVersionKindMatcher: {apiVersion: extensions/v1beta1, kind: DaemonSet}
      - apiVersionKindMatcher: {apiVersion: batch/v1, kind: Job}
    - {path: [spec, template, spec, containers, {allIndexes: true}, envFrom, {allIndexes: true}, configMapRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, initContainers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, configMapKeyRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, initContainers, {allIndexes: true}, envFrom, {allIndexes: true}, configMapRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, volumes, {allIndexes: true}, projected, sources, {allIndexes: true}, configMap], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, volumes, {allIndexes: true}, configMap], resourceMatchers: *withPodTemplate}
    - path: [spec, jobTemplate, spec, template, spec, containers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, configMapKeyRef]
      resourceMatchers: &cronJob
      - apiVersionKindMatcher: {apiVersion: batch/v1, kind: CronJob}
      - apiVersionKindMatcher: {apiVersion: batch/v1beta1, kind: CronJob}
      - apiVersionKindMatcher: {apiVersion: batch/v2alpha1, kind: CronJob}
    - {path: [spec, jobTemplate, spec, template, spec, containers, {allIndexes: true}, envFrom, {allIndexes: true}, configMapRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, initContainers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, configMapKeyRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, initContainers, {allIndexes: true}, envFrom, {allIndexes: true}, configMapRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, volumes, {allIndexes: true}, projected, sources, {allIndexes: true}, configMap], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, volumes, {allIndexes: true}, configMap], resourceMatchers: *cronJob}
    - path: [spec, volumes, {allIndexes: true}, configMap]
      resourceMatchers: &pod [{apiVersionKindMatcher: {apiVersion: v1, kind: Pod}}]
    - path: [spec, fetch, {allIndexes: true}, inline, pathsFrom, {allIndexes: true}, configMapRef]
      resourceMatchers: &app [{apiVersionKindMatcher: {apiVersion: kappctrl.k14s.io/v1alpha1, kind: App}}]
    - {path: [spec, template, {allIndexes: true}, ytt, inline, pathsFrom, {allIndexes: true}, configMapRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, ytt, valuesFrom, {allIndexes: true}, configMapRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, helmTemplate, valuesFrom, {allIndexes: true}, configMapRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, cue, valuesFrom, {allIndexes: true}, configMapRef], resourceMatchers: *app}
    - path: [spec, fetch, inline, pathsFrom, {allIndexes: true}, configMapRef]
      resourceMatchers: &packageRepository [{apiVersionKindMatcher: {apiVersion: packaging.carvel.dev/v1alpha1, kind: PackageRepository}}]
- resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: Secret}}]
  affectedResources:
    objectReferences:
    - {path: [spec, template, spec, containers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, secretKeyRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, containers, {allIndexes: true}, envFrom, {allIndexes: true}, secretRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, initContainers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, secretKeyRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, initContainers, {allIndexes: true}, envFrom, {allIndexes: true}, secretRef], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, imagePullSecrets, {allIndexes: true}], resourceMatchers: *withPodTemplate}
    - {path: [spec, template, spec, volumes, {allIndexes: true}, secret], resourceMatchers: *withPodTemplate, nameKey: secretName}
    - {path: [spec, template, spec, volumes, {allIndexes: true}, projected, sources, {allIndexes: true}, secret], resourceMatchers: *withPodTemplate}
    - {path: [spec, jobTemplate, spec, template, spec, containers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, secretKeyRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, containers, {allIndexes: true}, envFrom, {allIndexes: true}, secretRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, initContainers, {allIndexes: true}, env, {allIndexes: true}, valueFrom, secretKeyRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, initContainers, {allIndexes: true}, envFrom, {allIndexes: true}, secretRef], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, imagePullSecrets, {allIndexes: true}], resourceMatchers: *cronJob}
    - {path: [spec, jobTemplate, spec, template, spec, volumes, {allIndexes: true}, secret], resourceMatchers: *cronJob, nameKey: secretName}
    - {path: [spec, jobTemplate, spec, template, spec, volumes, {allIndexes: true}, projected, sources, {allIndexes: true}, secret], resourceMatchers: *cronJob}
    - {path: [spec, volumes, {allIndexes: true}, secret], resourceMatchers: *pod, nameKey: secretName}
    - {path: [spec, imagePullSecrets, {allIndexes: true}], resourceMatchers: *pod}
    - {path: [imagePullSecrets, {allIndexes: true}], resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: ServiceAccount}}]}
    - {path: [secrets, {allIndexes: true}], resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: ServiceAccount}}]}
    - {path: [spec, cluster, kubeconfigSecretRef], resourceMatchers: *app}
    - {path: [spec, fetch, {allIndexes: true}, inline, pathsFrom, {allIndexes: true}, secretRef], resourceMatchers: *app}
    - {path: [spec, fetch, {allIndexes: true}, imgpkgBundle, secretRef], resourceMatchers: *app}
    - {path: [spec, fetch, {allIndexes: true}, http, secretRef], resourceMatchers: *app}
    - {path: [spec, fetch, {allIndexes: true}, git, secretRef], resourceMatchers: *app}
    - {path: [spec, fetch, {allIndexes: true}, helmChart, repository, secretRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, ytt, inline, pathsFrom, {allIndexes: true}, secretRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, ytt, valuesFrom, {allIndexes: true}, secretRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, helmTemplate, valuesFrom, {allIndexes: true}, secretRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, cue, valuesFrom, {allIndexes: true}, secretRef], resourceMatchers: *app}
    - {path: [spec, template, {allIndexes: true}, sops, pgp, privateKeySecretRef], resourceMatchers: *app}
    - path: [spec, values, {allIndexes: true}, secretRef]
      resourceMatchers: &packageInstall [{apiVersionKindMatcher: {apiVersion: packaging.carvel.dev/v1alpha1, kind: PackageInstall}}]
    - {path: [spec, cluster, kubeconfigSecretRef], resourceMatchers: *packageInstall}
    - {path: [spec, fetch, inline, pathsFrom, {allIndexes: true}, secretRef], resourceMatchers: *packageRepository}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn y(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    #[test]
    fn plans_answer_as_the_matchers_do() {
        use super::super::matcher::any_matches;
        let objects = [
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}",
            "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n}\nspec: {clusterIP: ''}",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: c}",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, annotations: {a: b}}",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: n}",
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec: {template: {}}",
            "kind: NoVersion\nmetadata: {name: x}",
        ];
        let mut cfg = Config::defaults();
        // A user rule whose matchers an object's own fields decide (namespace, annotation).
        cfg.add_doc(&y("apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- paths: [[spec]]\n  type: copy\n  sources: [existing]\n  resourceMatchers:\n  - hasAnnotationMatcher: {keys: [a]}\n  - kindNamespaceNameMatcher: {kind: ConfigMap, namespace: n, name: c}\nownershipLabelRules:\n- path: [spec, template, metadata, labels]\n  resourceMatchers: [{hasNamespaceMatcher: {}}]\n")).unwrap();
        let lists: [(usize, Vec<&[Matcher]>); 3] = [
            (
                PLAN_REBASE,
                cfg.rebase_rules
                    .iter()
                    .map(|r| r.matchers.as_slice())
                    .collect(),
            ),
            (
                PLAN_OWNERSHIP_LABELS,
                cfg.ownership_label_rules
                    .iter()
                    .map(|r| r.matchers.as_slice())
                    .collect(),
            ),
            (
                PLAN_LABEL_SCOPING,
                cfg.label_scoping_rules
                    .iter()
                    .map(|r| r.matchers.as_slice())
                    .collect(),
            ),
        ];
        // Twice: made, then taken from the cache.
        for _ in 0..2 {
            for o in objects.iter().map(|o| y(o)) {
                let plan = cfg.plan(&o);
                for (n, rules) in &lists {
                    for (i, ms) in rules.iter().enumerate() {
                        let d = plan.list(*n);
                        assert_eq!(d.matches(i, ms, &o), any_matches(ms, &o), "{o:?} {n} {i}");
                        // What matches may match.
                        assert!(!any_matches(ms, &o) || d.may(i, ms, &o), "{o:?} {n} {i}");
                    }
                }
            }
        }
        // Rules added after a plan was made are in the next one.
        let o = y(objects[5]);
        assert!(!cfg
            .plan(&o)
            .list(PLAN_REBASE)
            .may(cfg.rebase_rules.len(), &[], &o));
        cfg.add_doc(&y("apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- paths: [[data]]\n  type: remove\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: ConfigMap}}]\n")).unwrap();
        let last = cfg.rebase_rules.len() - 1;
        let ms = &cfg.rebase_rules[last].matchers;
        assert!(cfg.plan(&o).list(PLAN_REBASE).matches(last, ms, &o));
        // A rule that may change apiVersion or kind leaves rebase rules undecided: the
        // ServiceAccount rule (decided "no" for a ConfigMap) is then asked of the object,
        // here with a stand-in matcher that matches everything.
        let sa = cfg
            .rebase_rules
            .iter()
            .position(|r| r.kind == RebaseKind::ServiceAccountTokens)
            .unwrap();
        assert!(!cfg
            .plan(&o)
            .list(PLAN_REBASE)
            .matches(sa, &[Matcher::All], &o));
        cfg.add_doc(&y("apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- paths: [[kind]]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{allMatcher: {}}]\n")).unwrap();
        assert!(cfg
            .plan(&o)
            .list(PLAN_REBASE)
            .matches(sa, &[Matcher::All], &o));
    }

    #[test]
    fn defaults_parse_in_kapp_order() {
        let c = Config::defaults();
        assert!(c.unsupported.is_empty());
        // kapp's 17 default rules; the CRD rule is two here (one per apiVersion's path).
        assert_eq!(c.rebase_rules.len(), 18);
        assert_eq!(
            c.rebase_rules[0].kind,
            RebaseKind::Copy(vec![Source::Existing])
        );
        assert_eq!(c.rebase_rules[15].kind, RebaseKind::ServiceAccountTokens);
        assert_eq!(c.existing_exclusions.len(), 1);
        assert_eq!(c.mask_rules[0].paths.len(), 2);
        assert_eq!(c.ownership_label_rules.len(), 4);
        assert_eq!(c.label_scoping_rules.len(), 2);
        // kapp's two default template rules: ConfigMap (19 places) and Secret (32).
        assert_eq!(c.template_rules.len(), 2);
        assert_eq!(c.template_rules[0].refs.len(), 19);
        assert_eq!(c.template_rules[1].refs.len(), 32);
        let secret_volume = &c.template_rules[1].refs[5];
        assert_eq!(secret_volume.name_key.as_deref(), Some("secretName"));
        assert_eq!(secret_volume.matchers.len(), 17);
    }

    #[test]
    fn user_config_appends_and_validates() {
        let mut c = Config::defaults();
        c.add_doc(&y(
            "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nRebaseRules:\n- paths: [[spec], [metadata, labels]]\n  type: copy\n  sources: [existing]\n  resourceMatchers: [{apiVersionKindMatcher: {apiVersion: argoproj.io/v1alpha1, kind: Workflow}}]\n- ytt: {overlayContractV1: {overlay.yml: ''}}\n  resourceMatchers: [{allMatcher: {}}]\nadditionalLabels: {team: a}\n",
        ))
        .unwrap();
        assert_eq!(c.rebase_rules.len(), 19);
        assert_eq!(c.rebase_rules[18].paths.len(), 2);
        assert_eq!(c.unsupported.len(), 1);
        assert_eq!(c.additional_labels.len(), 1);
        let bad = |s: &str| c.clone().add_doc(&y(s)).unwrap_err().to_string();
        assert!(bad("kind: Other").contains("kind: Config"));
        let e = format!(
            "{:#}",
            c.clone()
                .add_doc(&y(
                    "kind: Config\nrebaseRules: [{path: [a], paths: [[b]], type: copy}]"
                ))
                .unwrap_err()
        );
        assert!(
            e.contains("rebaseRules[0]") && e.contains("exactly one"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            c.clone()
                .add_doc(&y("kind: Config\nrebaseRules: [{path: [a], type: move}]"))
                .unwrap_err()
        );
        assert!(e.contains("copy` or `remove"), "{e}");
    }

    #[test]
    fn user_template_rules_append() {
        let mut c = Config::defaults();
        c.add_doc(&y(
            "kind: Config\nTemplateRules:\n- resourceMatchers: [{apiVersionKindMatcher: {apiVersion: v1, kind: ConfigMap}}]\n  affectedResources:\n    ObjectReferences:\n    - path: [spec, configRef]\n      resourceMatchers: [{apiGroupKindMatcher: {apiGroup: x.io, kind: Thing}}]\n      NameKey: cm\n    - resourceMatchers: [{allMatcher: {}}]\n",
        ))
        .unwrap();
        assert_eq!(c.template_rules.len(), 3);
        // The entry without a path reaches no reference: dropped.
        let r = &c.template_rules[2];
        assert_eq!(r.refs.len(), 1);
        assert_eq!(r.refs[0].path, Path::keys(&["spec", "configRef"]));
        assert_eq!(r.refs[0].name_key.as_deref(), Some("cm"));
        let e = format!(
            "{:#}",
            c.clone()
                .add_doc(&y("kind: Config\ntemplateRules:\n- affectedResources: {objectReferences: [{path: [], nameKey: x}]}"))
                .unwrap_err()
        );
        assert!(
            e.contains("templateRules[0]")
                && e.contains("objectReferences[0]")
                && e.contains("path"),
            "{e}"
        );
    }

    #[test]
    fn config_map_carrier() {
        let cm = y("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {kapp.k14s.io/config: ''}}\ndata: {config.yml: 'kind: Config'}");
        assert_eq!(config_map_payload(&cm), Some("kind: Config"));
        assert!(is_config_doc(&y(
            "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config"
        )));
    }
}
