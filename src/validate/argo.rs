//! Argo Workflows checks: what `argo lint --offline` rejects, for Workflow, WorkflowTemplate,
//! ClusterWorkflowTemplate and CronWorkflow (`workflow/validate/validate.go`).

use super::{path, seq_of, str_of, Seg, SetIndex, Sink};
use serde_yaml::Value;

const TYPES: &[&str] = &[
    "container",
    "containerSet",
    "steps",
    "script",
    "resource",
    "dag",
    "suspend",
    "data",
    "http",
    "plugin",
];

/// Keys that give an input artifact its content, so a caller need not supply it.
const ARTIFACT_SOURCES: &[&str] = &[
    "from",
    "fromExpression",
    "s3",
    "git",
    "http",
    "artifactory",
    "hdfs",
    "raw",
    "oss",
    "gcs",
    "azure",
    "plugin",
];

/// Template, step and task names: `[a-zA-Z0-9][-a-zA-Z0-9]*`, at most 128.
pub fn is_template_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// Parameter and artifact names: `[-a-zA-Z0-9_]+`.
pub fn is_param_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// The simple (non-expression) `{{…}}` tags of a string, trimmed.
pub fn tags(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || loop {
        let start = rest.find("{{")?;
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let inner = after[..end].trim();
        rest = &after[end + 2..];
        if inner.starts_with('=') {
            continue;
        }
        return Some(inner);
    })
}

pub(crate) fn check<'a>(obj: &'a Value, kind: &str, index: &SetIndex<'a>, sink: &mut Sink<'_>) {
    let max = if kind == "CronWorkflow" { 52 } else { 63 };
    if let Some(name) = obj.get("metadata").and_then(|m| str_of(m, "name")) {
        if name.len() > max {
            sink.error(
                "argo-name",
                path(&["metadata".into(), "name".into()]),
                format!("{kind} name {name:?} is longer than {max} characters"),
            );
        }
    }
    let Some(spec) = obj.get("spec") else {
        sink.error("argo-entrypoint", path(&[]), format!("{kind} has no spec"));
        return;
    };
    match kind {
        "CronWorkflow" => match spec.get("workflowSpec") {
            Some(ws) => check_spec(ws, &["spec", "workflowSpec"], true, index, sink),
            None => sink.error(
                "argo-entrypoint",
                path(&["spec".into()]),
                "CronWorkflow has no spec.workflowSpec",
            ),
        },
        "Workflow" => check_spec(spec, &["spec"], true, index, sink),
        _ => check_spec(spec, &["spec"], false, index, sink),
    }
}

/// A template of the spec being checked.
struct Tmpl<'a> {
    name: &'a str,
    v: &'a Value,
}

/// Where a call (step, task, onExit, hook) leads.
enum Target<'a> {
    /// A template whose inputs can be checked.
    Known(&'a Value),
    /// Defined outside the set (cluster WorkflowTemplate) or inline: not checked.
    Unknown,
    /// Reported already.
    Missing,
}

struct Spec<'a, 'i> {
    base: &'static [&'static str],
    tmpls: Vec<Tmpl<'a>>,
    index: &'i SetIndex<'a>,
    /// Names of `spec.arguments.parameters`; `None` when global references are not checked.
    globals: Option<Vec<&'a str>>,
    wft_ref: bool,
}

fn check_spec<'a>(
    spec: &'a Value,
    base: &'static [&'static str],
    is_workflow: bool,
    index: &SetIndex<'a>,
    sink: &mut Sink<'_>,
) {
    let at = |more: &[Seg<'_>]| super::path_in(base, more);
    let templates = seq_of(spec.get("templates"));
    let wft_ref = spec.get("workflowTemplateRef").is_some();
    let global_params = seq_of(spec.get("arguments").and_then(|a| a.get("parameters")));
    let global_names: Vec<&str> = global_params
        .iter()
        .filter_map(|p| str_of(p, "name"))
        .collect();
    let mut s = Spec {
        base,
        tmpls: Vec::with_capacity(templates.len()),
        index,
        // Relaxed for templates validated alone, and for workflows whose spec comes from a
        // WorkflowTemplate (its arguments merge in).
        globals: (is_workflow && !wft_ref).then_some(global_names.clone()),
        wft_ref,
    };
    // Template names: present, valid, unique.
    for (ti, t) in templates.iter().enumerate() {
        match t.get("name") {
            Some(Value::String(n)) if !n.is_empty() => {
                if !is_template_name(n) {
                    sink.error("argo-name", at(&["templates".into(), ti.into(), "name".into()]), format!("template name {n:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]* (at most 128)"));
                }
                if s.tmpls.iter().any(|x| x.name == n) {
                    sink.error(
                        "argo-duplicate-name",
                        at(&["templates".into(), ti.into(), "name".into()]),
                        format!("template name {n:?} is not unique"),
                    );
                }
                s.tmpls.push(Tmpl { name: n, v: t });
            }
            _ => sink.error(
                "argo-name",
                at(&["templates".into(), ti.into()]),
                "template has no name",
            ),
        }
    }
    // Entrypoint.
    match spec.get("entrypoint") {
        Some(Value::String(ep)) if !ep.is_empty() => {
            if !wft_ref {
                match s.local(ep) {
                    None => sink.error(
                        "argo-entrypoint",
                        at(&["entrypoint".into()]),
                        format!(
                            "entrypoint {ep:?} names no template (defined: {})",
                            s.names()
                        ),
                    ),
                    // WorkflowTemplates get their arguments at submit time.
                    Some(t) if is_workflow => {
                        for (p, required) in input_params(t) {
                            if required && !global_names.contains(&p) {
                                sink.error(
                                    "argo-missing-argument",
                                    at(&["entrypoint".into()]),
                                    format!("entrypoint template {ep:?} needs input parameter {p:?}, which spec.arguments.parameters does not supply"),
                                );
                            }
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        _ => {
            if is_workflow && !wft_ref {
                sink.error(
                    "argo-entrypoint",
                    at(&[]),
                    "spec.entrypoint is required (or spec.workflowTemplateRef)",
                );
            }
        }
    }
    if let Some(Value::String(on_exit)) = spec.get("onExit") {
        if !wft_ref && !on_exit.is_empty() && s.local(on_exit).is_none() {
            sink.error(
                "argo-undefined-template",
                at(&["onExit".into()]),
                format!(
                    "onExit names template {on_exit:?}, which is not defined (defined: {})",
                    s.names()
                ),
            );
        }
    }
    if let Some(Value::Mapping(hooks)) = spec.get("hooks") {
        for (k, h) in hooks {
            let key = k.as_str().unwrap_or("");
            if let Some(Value::String(t)) = h.get("template") {
                if !wft_ref && s.local(t).is_none() {
                    sink.error(
                        "argo-undefined-template",
                        at(&["hooks".into(), key.into(), "template".into()]),
                        format!("hook {key:?} names template {t:?}, which is not defined"),
                    );
                }
            }
        }
    }
    for (ti, t) in templates.iter().enumerate() {
        s.check_template(ti, t, sink);
    }
}

/// Input parameters of a template: (name, required = no value, default or valueFrom).
fn input_params(t: &Value) -> impl Iterator<Item = (&str, bool)> {
    seq_of(t.get("inputs").and_then(|i| i.get("parameters")))
        .iter()
        .filter_map(|p| {
            let name = str_of(p, "name")?;
            let has = |k: &str| p.get(k).is_some_and(|v| !v.is_null());
            Some((name, !(has("value") || has("default") || has("valueFrom"))))
        })
}

fn input_artifacts(t: &Value) -> impl Iterator<Item = (&str, bool)> {
    seq_of(t.get("inputs").and_then(|i| i.get("artifacts")))
        .iter()
        .filter_map(|a| {
            let name = str_of(a, "name")?;
            let sourced = ARTIFACT_SOURCES
                .iter()
                .any(|k| a.get(*k).is_some_and(|v| !v.is_null()))
                || a.get("optional").and_then(Value::as_bool) == Some(true);
            Some((name, !sourced))
        })
}

fn names_of(list: Option<&Value>) -> Vec<&str> {
    seq_of(list)
        .iter()
        .filter_map(|p| str_of(p, "name"))
        .collect()
}

fn outputs_of<'v>(t: &'v Value, kind: &str) -> Vec<&'v str> {
    names_of(t.get("outputs").and_then(|o| o.get(kind)))
}

/// Names a step or task in messages, formatted only when a finding needs it.
struct Callee<'a>(&'static str, &'a str);

impl std::fmt::Display for Callee<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.0, self.1)
    }
}

/// Where a string sits, for the references it may make.
#[derive(Clone, Copy)]
enum Scope {
    /// In the template body, outside any step or task.
    Body,
    /// In step `j` of group `g` of a steps template; `looped` when it has withItems/withParam.
    Step { g: usize, looped: bool },
    /// In task `k` of a DAG.
    Task { k: usize, looped: bool },
}

/// One step or task with what references to it need.
struct Node<'a> {
    name: &'a str,
    group: usize,
    target: Option<&'a Value>,
}

struct TmplCtx<'a> {
    params: Vec<&'a str>,
    artifacts: Vec<&'a str>,
    out_params: Vec<&'a str>,
    out_artifacts: Vec<&'a str>,
    is_steps: bool,
    is_dag: bool,
    nodes: Vec<Node<'a>>,
    /// DAG edges: task index → indexes of its dependencies.
    deps: Vec<Vec<usize>>,
}

impl<'a> Spec<'a, '_> {
    fn local(&self, name: &str) -> Option<&'a Value> {
        self.tmpls.iter().find(|t| t.name == name).map(|t| t.v)
    }

    fn names(&self) -> String {
        let v: Vec<&str> = self.tmpls.iter().map(|t| t.name).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    fn at(&self, more: &[Seg<'_>]) -> Vec<crate::yaml::PathSeg> {
        super::path_in(self.base, more)
    }

    /// Resolves the template a step or task calls; reports undefined ones.
    fn target(&self, call: &'a Value, at: &[Seg<'_>], sink: &mut Sink<'_>) -> Target<'a> {
        if let Some(t) = call.get("template") {
            let Some(name) = t.as_str() else {
                sink.error(
                    "argo-undefined-template",
                    self.at(&[at, &["template".into()]].concat()),
                    "template must be a string",
                );
                return Target::Missing;
            };
            if self.wft_ref {
                return Target::Unknown;
            }
            return match self.local(name) {
                Some(v) => Target::Known(v),
                None => {
                    sink.error(
                        "argo-undefined-template",
                        self.at(&[at, &["template".into()]].concat()),
                        format!(
                            "template {name:?} is not defined (defined: {})",
                            self.names()
                        ),
                    );
                    Target::Missing
                }
            };
        }
        if let Some(r) = call.get("templateRef") {
            let (Some(wt), Some(tn)) = (str_of(r, "name"), str_of(r, "template")) else {
                sink.error(
                    "argo-undefined-template",
                    self.at(&[at, &["templateRef".into()]].concat()),
                    "templateRef needs name and template",
                );
                return Target::Missing;
            };
            let cluster = r.get("clusterScope").and_then(Value::as_bool) == Some(true);
            let kind = if cluster {
                "ClusterWorkflowTemplate"
            } else {
                "WorkflowTemplate"
            };
            let Some((_, _, spec)) = self
                .index
                .templates
                .iter()
                .find(|(k, n, _)| *k == kind && *n == wt)
            else {
                // Lives in the cluster: nothing to check offline.
                return Target::Unknown;
            };
            let found = seq_of(spec.get("templates"))
                .iter()
                .find(|t| str_of(t, "name") == Some(tn));
            return match found {
                Some(v) => Target::Known(v),
                None => {
                    sink.error(
                        "argo-undefined-template",
                        self.at(&[at, &["templateRef".into(), "template".into()]].concat()),
                        format!("templateRef: {kind} {wt:?} has no template {tn:?}"),
                    );
                    Target::Missing
                }
            };
        }
        if call.get("inline").is_some() {
            return Target::Unknown;
        }
        sink.error(
            "argo-undefined-template",
            self.at(at),
            "step/task has no template, templateRef or inline",
        );
        Target::Missing
    }

    /// Checks the arguments of a call against the called template's inputs.
    fn check_call(
        &self,
        call: &'a Value,
        target: &Target<'a>,
        at: &[Seg<'_>],
        what: &Callee<'_>,
        sink: &mut Sink<'_>,
    ) {
        let args = call.get("arguments");
        let arg_params = seq_of(args.and_then(|a| a.get("parameters")));
        let arg_artifacts = seq_of(args.and_then(|a| a.get("artifacts")));
        let args_at = |more: &[Seg<'_>]| self.at(&[at, &["arguments".into()], more].concat());
        for (i, p) in arg_params.iter().enumerate() {
            let Some(name) = str_of(p, "name") else {
                sink.error(
                    "argo-name",
                    args_at(&["parameters".into(), i.into()]),
                    "argument parameter has no name",
                );
                continue;
            };
            let has = |k: &str| p.get(k).is_some_and(|v| !v.is_null());
            if !has("value") && !has("valueFrom") {
                let at = if p.get("value").is_some() {
                    args_at(&["parameters".into(), i.into(), "value".into()])
                } else {
                    args_at(&["parameters".into(), i.into()])
                };
                sink.error(
                    "argo-argument-value",
                    at,
                    format!("{what}: argument parameter {name:?} has neither value nor valueFrom"),
                );
            }
            if let Target::Known(t) = target {
                if !input_params(t).any(|(n, _)| n == name) {
                    sink.warn(
                        "argo-unknown-argument",
                        args_at(&["parameters".into(), i.into(), "name".into()]),
                        format!(
                            "{what}: argument {name:?} names no input parameter of template {:?}",
                            str_of(t, "name").unwrap_or("")
                        ),
                    );
                }
            }
        }
        for (i, a) in arg_artifacts.iter().enumerate() {
            let Some(name) = str_of(a, "name") else {
                continue;
            };
            if let Target::Known(t) = target {
                if !input_artifacts(t).any(|(n, _)| n == name) {
                    sink.warn(
                        "argo-unknown-argument",
                        args_at(&["artifacts".into(), i.into(), "name".into()]),
                        format!("{what}: argument artifact {name:?} names no input artifact of template {:?}", str_of(t, "name").unwrap_or("")),
                    );
                }
            }
        }
        let Target::Known(t) = target else { return };
        let tname = str_of(t, "name").unwrap_or("");
        let where_at = || {
            if args.is_some() {
                self.at(&[at, &["arguments".into()]].concat())
            } else {
                self.at(at)
            }
        };
        for (p, required) in input_params(t) {
            if required && !arg_params.iter().any(|a| str_of(a, "name") == Some(p)) {
                sink.error(
                    "argo-missing-argument",
                    where_at(),
                    format!("{what} calls template {tname:?} without input parameter {p:?} (it has no value or default)"),
                );
            }
        }
        for (a, required) in input_artifacts(t) {
            if required && !arg_artifacts.iter().any(|x| str_of(x, "name") == Some(a)) {
                sink.error(
                    "argo-missing-argument",
                    where_at(),
                    format!("{what} calls template {tname:?} without input artifact {a:?} (it has no source and is not optional)"),
                );
            }
        }
    }

    fn check_template(&self, ti: usize, t: &'a Value, sink: &mut Sink<'_>) {
        let tat = |more: &[Seg<'_>]| self.at(&[&["templates".into(), ti.into()], more].concat());
        let types: Vec<&str> = TYPES
            .iter()
            .copied()
            .filter(|k| t.get(*k).is_some())
            .collect();
        let tname = str_of(t, "name").unwrap_or("");
        match types.len() {
            0 => sink.error(
                "argo-template-type",
                tat(&[]),
                format!(
                    "template {tname:?}: template type unspecified (one of {})",
                    TYPES.join(", ")
                ),
            ),
            1 => {}
            _ => sink.error(
                "argo-template-type",
                tat(&[]),
                format!(
                    "template {tname:?}: multiple template types specified ({})",
                    types.join(", ")
                ),
            ),
        }
        for kind in ["parameters", "artifacts"] {
            for (i, p) in seq_of(t.get("inputs").and_then(|x| x.get(kind)))
                .iter()
                .enumerate()
            {
                match str_of(p, "name") {
                    Some(n) if is_param_name(n) => {}
                    Some(n) => sink.error(
                        "argo-name",
                        tat(&["inputs".into(), kind.into(), i.into(), "name".into()]),
                        format!("input name {n:?} is invalid: must match [-a-zA-Z0-9_]+"),
                    ),
                    None => sink.error(
                        "argo-name",
                        tat(&["inputs".into(), kind.into(), i.into()]),
                        "input has no name",
                    ),
                }
            }
        }
        let mut ctx = TmplCtx {
            params: input_params(t).map(|(n, _)| n).collect(),
            artifacts: input_artifacts(t).map(|(n, _)| n).collect(),
            out_params: outputs_of(t, "parameters"),
            out_artifacts: outputs_of(t, "artifacts"),
            is_steps: t.get("steps").is_some(),
            is_dag: t.get("dag").is_some(),
            nodes: Vec::new(),
            deps: Vec::new(),
        };
        let mut stack: Vec<Seg<'a>> = self.base.iter().map(|k| Seg::K(k)).collect();
        stack.push(Seg::K("templates"));
        stack.push(Seg::I(ti));
        if let Some(steps) = t.get("steps") {
            self.check_steps(steps, &mut ctx, &mut stack, sink);
        }
        if let Some(dag) = t.get("dag") {
            self.check_dag(dag, &mut ctx, &mut stack, sink);
        }
        // Body strings (everything but the steps/tasks themselves).
        if let Value::Mapping(m) = t {
            for (k, v) in m {
                let Some(ks) = k.as_str() else { continue };
                if (ks == "steps" && ctx.is_steps) || ks == "dag" {
                    if ks == "dag" {
                        if let Value::Mapping(dm) = v {
                            stack.push(Seg::K("dag"));
                            for (dk, dv) in dm {
                                if let Some(dks) = dk.as_str().filter(|x| *x != "tasks") {
                                    stack.push(Seg::K(dks));
                                    self.walk(dv, &mut stack, &ctx, Scope::Body, sink);
                                    stack.pop();
                                }
                            }
                            stack.pop();
                        }
                    }
                    continue;
                }
                stack.push(Seg::K(ks));
                self.walk(v, &mut stack, &ctx, Scope::Body, sink);
                stack.pop();
            }
        }
    }

    fn check_steps(
        &self,
        steps: &'a Value,
        ctx: &mut TmplCtx<'a>,
        stack: &mut Vec<Seg<'a>>,
        sink: &mut Sink<'_>,
    ) {
        stack.push(Seg::K("steps"));
        // Collect steps with their groups first: references may only name earlier groups.
        let mut all: Vec<(usize, usize, Option<usize>, &'a Value)> = Vec::new();
        for (g, group) in seq_of(Some(steps)).iter().enumerate() {
            match group {
                Value::Sequence(items) => {
                    for (j, st) in items.iter().enumerate() {
                        all.push((g, j, Some(j), st));
                    }
                }
                Value::Mapping(_) => all.push((g, 0, None, group)),
                _ => {}
            }
        }
        for &(g, _, j, st) in &all {
            let mut at: Vec<Seg<'a>> = stack[self.base.len()..].to_vec();
            at.push(Seg::I(g));
            if let Some(j) = j {
                at.push(Seg::I(j));
            }
            let name = str_of(st, "name").unwrap_or("");
            if name.is_empty() {
                sink.error("argo-name", self.at(&at), "step has no name");
            } else if !is_template_name(name) {
                sink.error(
                    "argo-name",
                    self.at(&[&at[..], &["name".into()]].concat()),
                    format!("step name {name:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]*"),
                );
            }
            if !name.is_empty() && ctx.nodes.iter().any(|n| n.name == name) {
                sink.error(
                    "argo-duplicate-name",
                    self.at(&[&at[..], &["name".into()]].concat()),
                    format!("step name {name:?} is not unique in this template"),
                );
            }
            let target = self.target(st, &at, sink);
            self.check_call(st, &target, &at, &Callee("step", name), sink);
            self.check_hooks(st, &at, sink);
            ctx.nodes.push(Node {
                name,
                group: g,
                target: match target {
                    Target::Known(v) => Some(v),
                    _ => None,
                },
            });
        }
        for &(g, _, j, st) in &all {
            stack.push(Seg::I(g));
            if let Some(j) = j {
                stack.push(Seg::I(j));
            }
            let looped = ["withItems", "withParam", "withSequence"]
                .iter()
                .any(|k| st.get(*k).is_some());
            self.walk(st, stack, ctx, Scope::Step { g, looped }, sink);
            if j.is_some() {
                stack.pop();
            }
            stack.pop();
        }
        stack.pop();
    }

    fn check_hooks(&self, call: &'a Value, at: &[Seg<'_>], sink: &mut Sink<'_>) {
        if let Some(Value::Mapping(hooks)) = call.get("hooks") {
            for (k, h) in hooks {
                let key = k.as_str().unwrap_or("");
                if let Some(Value::String(t)) = h.get("template") {
                    if !self.wft_ref && self.local(t).is_none() {
                        sink.error(
                            "argo-undefined-template",
                            self.at(
                                &[at, &["hooks".into(), key.into(), "template".into()]].concat()
                            ),
                            format!("hook {key:?} names template {t:?}, which is not defined"),
                        );
                    }
                }
            }
        }
    }

    fn check_dag(
        &self,
        dag: &'a Value,
        ctx: &mut TmplCtx<'a>,
        stack: &mut Vec<Seg<'a>>,
        sink: &mut Sink<'_>,
    ) {
        stack.push(Seg::K("dag"));
        stack.push(Seg::K("tasks"));
        let tasks = seq_of(dag.get("tasks"));
        let rel: Vec<Seg<'a>> = stack[self.base.len()..].to_vec();
        let tat = |k: usize, more: &[Seg<'_>]| self.at(&[&rel[..], &[Seg::I(k)], more].concat());
        for (k, task) in tasks.iter().enumerate() {
            let name = str_of(task, "name").unwrap_or("");
            if name.is_empty() {
                sink.error("argo-name", tat(k, &[]), "task has no name");
            } else if !is_template_name(name) {
                sink.error(
                    "argo-name",
                    tat(k, &["name".into()]),
                    format!("task name {name:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]*"),
                );
            }
            if !name.is_empty() && ctx.nodes.iter().any(|n| n.name == name) {
                sink.error(
                    "argo-duplicate-name",
                    tat(k, &["name".into()]),
                    format!("task name {name:?} is not unique in this DAG"),
                );
            }
            let mut at = rel.clone();
            at.push(Seg::I(k));
            let target = self.target(task, &at, sink);
            self.check_call(task, &target, &at, &Callee("task", name), sink);
            self.check_hooks(task, &at, sink);
            ctx.nodes.push(Node {
                name,
                group: k,
                target: match target {
                    Target::Known(v) => Some(v),
                    _ => None,
                },
            });
        }
        // Dependencies.
        for (k, task) in tasks.iter().enumerate() {
            let mut deps = Vec::new();
            let depends = task.get("depends");
            let dependencies = task.get("dependencies");
            if depends.is_some() && dependencies.is_some() {
                sink.error(
                    "argo-dag-dependency",
                    tat(k, &[]),
                    "task uses both depends and dependencies; use one",
                );
            }
            if let Some(Value::String(expr)) = depends {
                for dep in depends_names(expr) {
                    match ctx.nodes.iter().position(|n| n.name == dep) {
                        Some(i) => deps.push(i),
                        None => sink.error(
                            "argo-dag-dependency",
                            tat(k, &["depends".into()]),
                            format!(
                                "task {:?} depends on {dep:?}, which is not a task of this DAG",
                                ctx.nodes[k].name
                            ),
                        ),
                    }
                }
            }
            for (i, d) in seq_of(dependencies).iter().enumerate() {
                let dep = d.as_str().unwrap_or("");
                match ctx.nodes.iter().position(|n| n.name == dep) {
                    Some(x) => deps.push(x),
                    None => sink.error(
                        "argo-dag-dependency",
                        tat(k, &["dependencies".into(), i.into()]),
                        format!(
                            "task {:?} depends on {dep:?}, which is not a task of this DAG",
                            ctx.nodes[k].name
                        ),
                    ),
                }
            }
            ctx.deps.push(deps);
        }
        if let Some(cycle) = find_cycle(&ctx.deps) {
            let names: Vec<&str> = cycle.iter().map(|&i| ctx.nodes[i].name).collect();
            let first = cycle[0];
            let key = if tasks[first].get("depends").is_some() {
                "depends"
            } else {
                "dependencies"
            };
            sink.error(
                "argo-dag-cycle",
                tat(first, &[key.into()]),
                format!("dependency cycle detected: {}", names.join(" -> ")),
            );
        }
        if let Some(Value::String(target)) = dag.get("target") {
            for t in target.split_whitespace() {
                if !ctx.nodes.iter().any(|n| n.name == t) {
                    sink.error(
                        "argo-dag-dependency",
                        self.at(&[&rel[..rel.len() - 1], &["target".into()]].concat()),
                        format!("target {t:?} is not a task of this DAG"),
                    );
                }
            }
        }
        for (k, task) in tasks.iter().enumerate() {
            stack.push(Seg::I(k));
            let looped = ["withItems", "withParam", "withSequence"]
                .iter()
                .any(|x| task.get(*x).is_some());
            self.walk(task, stack, ctx, Scope::Task { k, looped }, sink);
            stack.pop();
        }
        stack.pop();
        stack.pop();
    }

    /// Visits every string under `v` and checks its Argo references.
    fn walk(
        &self,
        v: &'a Value,
        stack: &mut Vec<Seg<'a>>,
        ctx: &TmplCtx<'a>,
        scope: Scope,
        sink: &mut Sink<'_>,
    ) {
        match v {
            Value::String(s) if s.contains("{{") => {
                for tag in tags(s) {
                    self.check_tag(tag, ctx, scope, stack, sink);
                }
            }
            Value::Sequence(items) => {
                for (i, it) in items.iter().enumerate() {
                    stack.push(Seg::I(i));
                    self.walk(it, stack, ctx, scope, sink);
                    stack.pop();
                }
            }
            Value::Mapping(m) => {
                for (k, it) in m {
                    if let Some(ks) = k.as_str() {
                        stack.push(Seg::K(ks));
                        self.walk(it, stack, ctx, scope, sink);
                        stack.pop();
                    }
                }
            }
            Value::Tagged(t) => self.walk(&t.value, stack, ctx, scope, sink),
            _ => {}
        }
    }

    fn check_tag(
        &self,
        tag: &str,
        ctx: &TmplCtx<'a>,
        scope: Scope,
        stack: &[Seg<'_>],
        sink: &mut Sink<'_>,
    ) {
        let mut parts = tag.split('.');
        let root = parts.next().unwrap_or("");
        let here = || path(stack);
        match root {
            "inputs" => {
                let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
                    return;
                };
                let declared = match kind {
                    "parameters" => &ctx.params,
                    "artifacts" => &ctx.artifacts,
                    _ => return,
                };
                if !declared.contains(&name) {
                    let what = if kind == "parameters" {
                        "input parameter"
                    } else {
                        "input artifact"
                    };
                    sink.error("argo-undefined-input", here(), format!("{{{{{tag}}}}}: {what} {name:?} is not declared in this template's inputs.{kind}"));
                }
            }
            "outputs" => {
                let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
                    return;
                };
                let declared = match kind {
                    "parameters" => &ctx.out_params,
                    "artifacts" => &ctx.out_artifacts,
                    _ => return,
                };
                if !declared.contains(&name) {
                    sink.error("argo-undefined-output", here(), format!("{{{{{tag}}}}}: output {name:?} is not declared in this template's outputs.{kind}"));
                }
            }
            "workflow" => {
                if parts.next() != Some("parameters") {
                    return;
                }
                let Some(name) = parts.next() else { return };
                if name == "json" {
                    return;
                }
                if let Some(globals) = &self.globals {
                    if !globals.contains(&name) {
                        sink.error("argo-undefined-parameter", here(), format!("{{{{{tag}}}}}: workflow parameter {name:?} is not declared in spec.arguments.parameters"));
                    }
                }
            }
            "steps" | "tasks" => {
                let Some(node) = parts.next() else { return };
                if node == "name" {
                    return;
                }
                let is_steps = root == "steps";
                let (code, noun) = if is_steps {
                    ("argo-undefined-step", "step")
                } else {
                    ("argo-undefined-task", "task")
                };
                if (is_steps && !ctx.is_steps) || (!is_steps && !ctx.is_dag) {
                    sink.error(
                        code,
                        here(),
                        format!("{{{{{tag}}}}}: this template has no {noun}s"),
                    );
                    return;
                }
                let Some(i) = ctx.nodes.iter().position(|n| n.name == node) else {
                    sink.error(
                        code,
                        here(),
                        format!("{{{{{tag}}}}}: {noun} {node:?} is not defined in this template"),
                    );
                    return;
                };
                match scope {
                    Scope::Step { g, .. } if is_steps && ctx.nodes[i].group >= g => {
                        sink.error(code, here(), format!("{{{{{tag}}}}}: step {node:?} does not run before this step (only steps of earlier groups can be referenced)"));
                        return;
                    }
                    Scope::Task { k, .. } if !is_steps && !is_ancestor(&ctx.deps, k, i) => {
                        sink.error(code, here(), format!("{{{{{tag}}}}}: task {node:?} is not a dependency of task {:?} (add it to depends)", ctx.nodes[k].name));
                        return;
                    }
                    _ => {}
                }
                if parts.next() != Some("outputs") {
                    return;
                }
                let (Some(kind), Some(name)) = (parts.next(), parts.next()) else {
                    return;
                };
                if !matches!(kind, "parameters" | "artifacts") {
                    return;
                }
                if let Some(t) = ctx.nodes[i].target {
                    if !outputs_of(t, kind).contains(&name) {
                        sink.error(
                            "argo-undefined-output",
                            here(),
                            format!("{{{{{tag}}}}}: template {:?} of {noun} {node:?} declares no output {kind} {name:?}", str_of(t, "name").unwrap_or("")),
                        );
                    }
                }
            }
            "item" => {
                let looped = match scope {
                    Scope::Step { looped, .. } | Scope::Task { looped, .. } => looped,
                    Scope::Body => false,
                };
                if !looped {
                    sink.error(
                        "argo-item",
                        here(),
                        format!(
                            "{{{{{tag}}}}} is used outside a withItems/withParam/withSequence loop"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Task names in a `depends` expression (`A && (B.Succeeded || !C)`).
pub fn depends_names(expr: &str) -> impl Iterator<Item = &str> {
    expr.split(|c: char| c.is_whitespace() || matches!(c, '&' | '|' | '!' | '(' | ')'))
        .filter(|t| !t.is_empty())
        .map(|t| match t.rsplit_once('.') {
            Some((name, _result)) => name,
            None => t,
        })
}

/// The first dependency cycle found, as task indexes ending where it started.
fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on stack, 2 = done.
    let mut state = vec![0u8; deps.len()];
    for start in 0..deps.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(top) = stack.len().checked_sub(1) {
            let (node, next) = stack[top];
            if let Some(&d) = deps[node].get(next) {
                stack[top].1 += 1;
                match state.get(d).copied() {
                    Some(0) => {
                        state[d] = 1;
                        stack.push((d, 0));
                    }
                    Some(1) => {
                        let from = stack.iter().position(|(n, _)| *n == d).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(d);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

/// True when `anc` is reachable from `task` through dependencies.
fn is_ancestor(deps: &[Vec<usize>], task: usize, anc: usize) -> bool {
    let mut seen = vec![false; deps.len()];
    let mut todo: Vec<usize> = deps.get(task).cloned().unwrap_or_default();
    while let Some(t) = todo.pop() {
        if t == anc {
            return true;
        }
        if let Some(s) = seen.get_mut(t) {
            if !*s {
                *s = true;
                todo.extend(deps[t].iter().copied());
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_scan() {
        let v: Vec<&str> =
            tags("a {{ inputs.parameters.x }} b {{=1}} {{steps.a.outputs.result}}").collect();
        assert_eq!(v, ["inputs.parameters.x", "steps.a.outputs.result"]);
        assert_eq!(tags("{{ unclosed").count(), 0);
    }

    #[test]
    fn depends_parse() {
        let v: Vec<&str> =
            depends_names("A && (C.Succeeded || C.Failed) || !should-execute-2.Succeeded")
                .collect();
        assert_eq!(v, ["A", "C", "C", "should-execute-2"]);
    }

    #[test]
    fn cycles() {
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![], vec![0], vec![0, 1]]), None);
        assert!(is_ancestor(&[vec![], vec![0], vec![1]], 2, 0));
    }
}
