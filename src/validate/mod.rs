//! The lint stage: checks on rendered (or plain) manifests and on values, as findings.
//!
//! Checks never stop at the first problem and never panic: every check reads a
//! `serde_yaml::Value` defensively and reports what it finds as a [`Finding`] that names a
//! subject (a resource of the checked set, the values, or a file) and a path inside it. The
//! location (`file:line:col`) is resolved afterwards by a [`Resolver`], so the happy path never
//! computes positions: render resolves paths to template lines, `--files` to the lines of the
//! parsed files, and values findings to the values file.
//!
//! Modules: `k8s` (generic object rules), `argo` (what `argo lint` checks offline), `appcr`
//! (kapp-controller App CR), `kapp` (change rules, kapp `Config`), `schema` (values schema and
//! `--crd` schemas), `report` (text and JSON output), `files` (`kpipe lint --files`), `cli`.

pub mod appcr;
pub mod argo;
pub mod cli;
pub mod files;
pub mod k8s;
pub mod kapp;
pub mod pipeline;
pub mod report;
pub mod schema;
pub mod tz;

use crate::manifest::ManifestSet;
use crate::yaml::PathSeg;
use serde::Serialize;
use serde_yaml::Value;
use std::fmt;

/// How bad a finding is. `--strict` turns warnings into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// What a finding is about; its `path` is relative to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The object at this index of the checked set (`ManifestSet::resources` or the objects
    /// given to [`check_objects`]).
    Resource(usize),
    /// The merged values (path = value path).
    Values,
    /// A file as text; the finding carries its own `loc`.
    File(String),
}

/// A resolved location: 1-based line and column in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Loc {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// Short stable code, e.g. `argo-entrypoint` (see `CODES`).
    pub code: &'static str,
    pub message: String,
    pub subject: Subject,
    /// Path of the offending node inside the subject.
    pub path: Vec<PathSeg>,
    /// `Kind/name` of the resource, when the subject is one (for messages and reports).
    pub resource: Option<String>,
    /// Filled by [`resolve`] (or directly by text-level checks).
    pub loc: Option<Loc>,
}

/// Maps a (subject, path) to the source location that produced that node.
pub trait Resolver {
    fn locate(&self, subject: &Subject, path: &[PathSeg]) -> Option<Loc>;
}

/// A resolver that knows only each resource's document start (`Resource::source`).
pub struct SourceResolver<'a>(pub &'a ManifestSet);

impl Resolver for SourceResolver<'_> {
    fn locate(&self, subject: &Subject, _path: &[PathSeg]) -> Option<Loc> {
        match subject {
            Subject::Resource(i) => self.0.resources.get(*i).map(|r| Loc {
                file: r.source.file.clone(),
                line: r.source.line,
                col: 1,
            }),
            _ => None,
        }
    }
}

/// Fills `loc` of every finding that has none, and applies `--strict`.
pub fn resolve(findings: &mut [Finding], resolver: &dyn Resolver, strict: bool) {
    for f in findings.iter_mut() {
        if f.loc.is_none() {
            f.loc = resolver.locate(&f.subject, &f.path);
        }
        if strict {
            f.severity = Severity::Error;
        }
    }
}

/// Orders findings by file, line, column, then code (stable, for output).
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let ka = a.loc.as_ref().map(|l| (l.file.as_str(), l.line, l.col));
        let kb = b.loc.as_ref().map(|l| (l.file.as_str(), l.line, l.col));
        ka.cmp(&kb)
            .then(a.code.cmp(b.code))
            .then(a.message.cmp(&b.message))
    });
}

/// True when any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// Options for the checks.
#[derive(Debug, Default)]
pub struct Options {
    /// Schemas from `--crd` files, keyed by (group, kind).
    pub crds: Vec<schema::CrdSchema>,
}

/// Checks every resource of a rendered set. Findings carry `Subject::Resource(index)` and a
/// path; resolve them with the set's resolver.
pub fn check_set(set: &ManifestSet, opts: &Options) -> Vec<Finding> {
    let objs: Vec<&Value> = set.resources.iter().map(|r| &r.object).collect();
    check_objects(&objs, opts)
}

/// Checks a list of objects as one set (cross-object rules: change groups, template refs).
pub fn check_objects(objs: &[&Value], opts: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let index = SetIndex::build(objs);
    for (i, obj) in objs.iter().enumerate() {
        let mut sink = Sink::new(&mut out, i, obj);
        let api = obj
            .field("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = obj.field("kind").and_then(Value::as_str).unwrap_or("");
        k8s::check(obj, api, kind, &mut sink);
        kapp::check_annotations(obj, &index, &mut sink);
        match (crate::manifest::group_of(api), kind) {
            (
                "argoproj.io",
                "Workflow" | "WorkflowTemplate" | "ClusterWorkflowTemplate" | "CronWorkflow",
            ) => argo::check(obj, kind, &index, &mut sink),
            ("kappctrl.k14s.io", "App") => {
                if let Some(spec) = obj.field("spec") {
                    appcr::check_spec(spec, &["spec"], &mut sink);
                } else {
                    sink.error("app-missing-field", path(&[]), "App has no spec");
                }
            }
            ("data.packaging.carvel.dev", "Package") => {
                if let Some(spec) = obj
                    .field("spec")
                    .and_then(|s| s.field("template"))
                    .and_then(|t| t.field("spec"))
                {
                    appcr::check_spec(spec, &["spec", "template", "spec"], &mut sink);
                }
            }
            ("kapp.k14s.io", "Config") => kapp::check_config(obj, &mut sink),
            _ => {}
        }
        schema::check_crds(obj, api, kind, &opts.crds, &mut sink);
    }
    out
}

/// Facts about the whole set that single-object checks need.
pub(crate) struct SetIndex<'a> {
    /// (kind, name, spec) of WorkflowTemplates and ClusterWorkflowTemplates in the set.
    pub templates: Vec<(&'a str, &'a str, &'a Value)>,
    /// Change groups declared by annotations or Config bindings (placeholders resolved).
    pub groups: Vec<std::borrow::Cow<'a, str>>,
}

impl<'a> SetIndex<'a> {
    fn build(objs: &[&'a Value]) -> SetIndex<'a> {
        let mut templates = Vec::new();
        let mut groups = Vec::new();
        for obj in objs {
            let kind = obj.field("kind").and_then(Value::as_str).unwrap_or("");
            if matches!(kind, "WorkflowTemplate" | "ClusterWorkflowTemplate") {
                let name = obj
                    .field("metadata")
                    .and_then(|m| m.field("name"))
                    .and_then(Value::as_str);
                if let (Some(name), Some(spec)) = (name, obj.field("spec")) {
                    templates.push((kind, name, spec));
                }
            }
            kapp::collect_groups(obj, &mut groups);
        }
        SetIndex { templates, groups }
    }
}

/// Collects findings for one subject.
pub(crate) struct Sink<'o> {
    out: &'o mut Vec<Finding>,
    subject: Subject,
    /// The object, to name it (`Kind/name`) when a finding is pushed.
    obj: Option<&'o Value>,
}

/// `Kind/name` of an object, for messages.
fn resource_name(obj: &Value) -> Option<String> {
    let kind = obj.field("kind").and_then(Value::as_str);
    let meta = obj.field("metadata");
    let name = meta
        .and_then(|m| m.field("name"))
        .and_then(Value::as_str)
        .or_else(|| {
            meta.and_then(|m| m.field("generateName"))
                .and_then(Value::as_str)
        });
    match (kind, name) {
        (Some(k), Some(n)) => Some(format!("{k}/{n}")),
        (Some(k), None) => Some(k.to_string()),
        _ => None,
    }
}

impl<'o> Sink<'o> {
    pub(crate) fn new(out: &'o mut Vec<Finding>, index: usize, obj: &'o Value) -> Sink<'o> {
        Sink {
            out,
            subject: Subject::Resource(index),
            obj: Some(obj),
        }
    }

    pub(crate) fn for_subject(out: &'o mut Vec<Finding>, subject: Subject) -> Sink<'o> {
        Sink {
            out,
            subject,
            obj: None,
        }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        path: Vec<PathSeg>,
        message: impl Into<String>,
    ) {
        self.out.push(Finding {
            severity,
            code,
            message: message.into(),
            subject: self.subject.clone(),
            path,
            resource: self.obj.and_then(resource_name),
            loc: None,
        });
    }

    pub(crate) fn error(
        &mut self,
        code: &'static str,
        path: Vec<PathSeg>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Error, code, path, message)
    }

    pub(crate) fn warn(
        &mut self,
        code: &'static str,
        path: Vec<PathSeg>,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, code, path, message)
    }
}

/// A borrowed path segment, turned into a `PathSeg` only when a finding needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    K(&'a str),
    I(usize),
}

impl From<&Seg<'_>> for PathSeg {
    fn from(s: &Seg<'_>) -> PathSeg {
        match s {
            Seg::K(k) => PathSeg::Key((*k).to_string()),
            Seg::I(i) => PathSeg::Index(*i),
        }
    }
}

impl<'a> From<&'a str> for Seg<'a> {
    fn from(s: &'a str) -> Seg<'a> {
        Seg::K(s)
    }
}

impl From<usize> for Seg<'_> {
    fn from(i: usize) -> Self {
        Seg::I(i)
    }
}

/// Builds an owned path from borrowed segments.
pub(crate) fn path(segs: &[Seg<'_>]) -> Vec<PathSeg> {
    segs.iter().map(PathSeg::from).collect()
}

/// Builds an owned path from a base of keys and more segments.
pub(crate) fn path_in(base: &[&str], more: &[Seg<'_>]) -> Vec<PathSeg> {
    base.iter()
        .map(|k| PathSeg::Key((*k).to_string()))
        .chain(more.iter().map(PathSeg::from))
        .collect()
}

/// `path!["spec", "templates", i]`: an owned path from keys and indexes.
#[macro_export]
#[doc(hidden)]
macro_rules! lint_path {
    ($($s:expr),* $(,)?) => {
        $crate::validate::path(&[$($crate::validate::Seg::from($s)),*])
    };
}

/// The value of `key` in a mapping (`None` for anything else). Kubernetes maps are small: a
/// scan comparing key strings beats hashing a `Value` key (serde_yaml's `get` SipHashes it).
#[inline]
pub(crate) fn get<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    match v {
        Value::Mapping(m) => map_get(m, key),
        Value::Tagged(t) => get(&t.value, key),
        _ => None,
    }
}

/// [`get`] on a mapping.
#[inline]
pub(crate) fn map_get<'v>(m: &'v serde_yaml::Mapping, key: &str) -> Option<&'v Value> {
    if m.len() <= 24 {
        m.iter()
            .find_map(|(k, v)| (k.as_str() == Some(key)).then_some(v))
    } else {
        m.get(key)
    }
}

/// [`get`] as a method, for chains (`obj.field("spec").and_then(|s| s.field("x"))`).
pub(crate) trait Field {
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Field for Value {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        get(self, key)
    }
}

impl Field for serde_yaml::Mapping {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        map_get(self, key)
    }
}

/// A string value, or `None` for any other type.
pub(crate) fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    get(v, key).and_then(Value::as_str)
}

/// The items of a list value (empty for anything else).
pub(crate) fn seq_of(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Sequence(s)) => s.as_slice(),
        _ => &[],
    }
}

/// The finding codes, with severity and meaning (for the README and `--help`).
pub const CODES: &[(&str, &str, &str)] = &[
    ("yaml-parse", "error", "a file is not valid YAML"),
    ("ytt-annotation", "warning", "`#@` ytt annotation in a file that is not rendered by ytt (`--files`)"),
    ("k8s-not-object", "error", "a document is not a mapping"),
    ("k8s-missing-field", "error", "apiVersion, kind or metadata.name/generateName missing or not a string"),
    ("k8s-name", "error", "metadata.name/generateName is not a valid DNS-1123 subdomain"),
    ("k8s-namespace", "error", "metadata.namespace is not a valid DNS-1123 label"),
    ("k8s-label", "error", "label key or value invalid"),
    ("k8s-annotation", "error", "annotation key invalid or value not a string"),
    ("argo-name", "error", "workflow, template, step, task or parameter name invalid or too long"),
    ("argo-duplicate-name", "error", "template, step or task name not unique"),
    ("argo-entrypoint", "error", "spec.entrypoint missing or names no template"),
    ("argo-template-type", "error", "template has no type or several (container, steps, dag, …)"),
    ("argo-undefined-template", "error", "step, task, onExit or hook names an undefined template (or templateRef to a template missing from a WorkflowTemplate in the set)"),
    ("argo-undefined-input", "error", "{{inputs.parameters.X}} / {{inputs.artifacts.X}} not declared in the template's inputs"),
    ("argo-missing-argument", "error", "a call does not supply an input that has no value/default"),
    ("argo-unknown-argument", "warning", "an argument names an input the template does not declare"),
    ("argo-argument-value", "error", "an argument parameter has neither value nor valueFrom"),
    ("argo-undefined-parameter", "error", "{{workflow.parameters.X}} not declared in spec.arguments.parameters"),
    ("argo-undefined-step", "error", "{{steps.S…}} names no earlier step"),
    ("argo-undefined-task", "error", "{{tasks.T…}} names no task, or one that is not a dependency"),
    ("argo-undefined-output", "error", "a steps/tasks/outputs reference names an output the template does not declare"),
    ("argo-item", "error", "{{item}} used outside a withItems/withParam/withSequence loop"),
    ("argo-dag-dependency", "error", "DAG depends/dependencies name an unknown task, or mix both forms"),
    ("argo-dag-cycle", "error", "DAG dependency cycle"),
    ("argo-loop", "error", "more than one of withItems/withParam/withSequence, or a withSequence with both or neither of count and end"),
    ("argo-image", "error", "container or script template without image (and no spec.templateDefaults image)"),
    ("argo-resource", "error", "resource template: action not get/create/apply/delete/replace/patch, manifest and manifestFrom both or neither, manifestFrom artifact not an input, manifest not valid YAML"),
    ("argo-output", "error", "output parameter without value or valueFrom, with both, with no or several valueFrom sources, or with a source its template type cannot produce"),
    ("argo-metric", "error", "prometheus metric with an invalid name or label key, no help, not exactly one of gauge/counter/histogram, or no value"),
    ("argo-cron", "error", "CronWorkflow schedule not a valid cron (5 fields or @descriptor), schedule and schedules both or neither, unknown timezone, bad concurrencyPolicy, negative startingDeadlineSeconds"),
    ("argo-expression", "error", "{{=expr}} empty, or with unbalanced brackets or quotes"),
    ("app-missing-field", "error", "App spec lacks fetch, template, deploy, or serviceAccountName/cluster, or a required field of a fetch kind"),
    ("app-kind", "error", "fetch/template/deploy entry has no known kind or several"),
    ("app-null-entry", "error", "null entry in fetch/template/deploy/paths lists (often a `- #@ …` line read without ytt)"),
    ("app-fetch-path", "error", "ytt/kbld path does not start with a fetched folder (`0/`, `1/`, or a fetch `path`) or escapes it"),
    ("app-values-from", "error", "valuesFrom entry malformed (needs exactly one of secretRef, configMapRef, path, downwardAPI)"),
    ("app-git-ref", "error", "git fetch without ref or refSelection"),
    ("app-url", "error", "a fetch URL does not parse"),
    ("app-raw-option", "error", "kapp rawOptions flag that kapp-controller refuses"),
    ("kapp-change-rule", "error", "kapp.k14s.io/change-rule value does not follow the grammar"),
    ("kapp-change-group", "error", "kapp.k14s.io/change-group value is not a valid group name"),
    ("kapp-undeclared-group", "warning", "a change-rule names a group no resource in the set declares"),
    ("kapp-annotation", "error", "kapp annotation with an invalid value (nonce, create/update/delete-strategy)"),
    ("kapp-config", "error", "kapp Config rule malformed (rebaseRules path/type/sources)"),
    ("kapp-matcher", "error", "kapp Config resourceMatchers entry of unknown kind or empty"),
    ("values-schema", "error", "a value violates values.schema.json"),
    ("crd-schema", "error", "a resource violates the openAPIV3Schema of a `--crd`"),
    ("crd-unknown-field", "warning", "a field the `--crd` schema does not declare (the API server prunes it)"),
];
