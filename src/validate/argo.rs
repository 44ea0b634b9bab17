//! Argo Workflows checks: what `argo lint --offline` rejects, for Workflow, WorkflowTemplate,
//! ClusterWorkflowTemplate and CronWorkflow (`workflow/validate/validate.go`).
//!
//! Render lints every session, so the happy path is kept cheap: each template, step and task is
//! read in one pass over its keys (no hashed lookups), the input and output names of all
//! templates of a spec go to one arena, one path stack serves the whole spec, and paths and
//! messages are built only when a finding is emitted.

use super::{get, path, seq_of, str_of, Seg, SetIndex, Sink};
use crate::yaml::PathSeg;
use serde_yaml::Value;

/// Template types, in the order of `TYPE_*` bits.
const TYPES: [&str; 10] = [
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
const CONTAINER: u16 = 1 << 0;
const CONTAINER_SET: u16 = 1 << 1;
const STEPS: u16 = 1 << 2;
const SCRIPT: u16 = 1 << 3;
const RESOURCE: u16 = 1 << 4;
const DAG: u16 = 1 << 5;

fn type_bit(k: &str) -> Option<u16> {
    Some(match k {
        "container" => CONTAINER,
        "containerSet" => CONTAINER_SET,
        "steps" => STEPS,
        "script" => SCRIPT,
        "resource" => RESOURCE,
        "dag" => DAG,
        "suspend" => 1 << 6,
        "data" => 1 << 7,
        "http" => 1 << 8,
        "plugin" => 1 << 9,
        _ => return None,
    })
}

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

/// `resource.action` values (`validateLeaf`).
const RESOURCE_ACTIONS: &[&str] = &["get", "create", "apply", "delete", "replace", "patch"];

/// `valueFrom` sources of an output parameter (`validateOutputParameter`: exactly one).
const OUTPUT_SOURCES: &[&str] = &["path", "jqFilter", "jsonPath", "parameter", "expression"];

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

/// Prometheus metric (and, for Argo, metric label) names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':')
}

/// Index of the first `cc` (a doubled byte, `{{` or `}}`) in `b`.
fn find_pair(b: &[u8], c: u8) -> Option<usize> {
    let mut i = 0;
    while let Some(p) = b.get(i..)?.iter().position(|&x| x == c) {
        let j = i + p;
        if b.get(j + 1) == Some(&c) {
            return Some(j);
        }
        i = j + 1;
    }
    None
}

/// True when `s` contains `{{`: eight bytes at a time, as most strings have no `{` at all (a
/// `str::contains` builds a substring searcher per call, which costs more than the scan).
pub fn has_tag(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let b = s.as_bytes();
    let mut chunks = b.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let x = <[u8; 8]>::try_from(c).map_or(0, u64::from_le_bytes) ^ (ONES * u64::from(b'{'));
        if x.wrapping_sub(ONES) & !x & HIGH != 0
            && find_pair(&b[base..(base + 9).min(b.len())], b'{').is_some()
        {
            return true;
        }
        base += 8;
    }
    find_pair(chunks.remainder(), b'{').is_some()
}

/// The `{{…}}` tags of a string, trimmed: (is an `{{=expr}}` expression, text). An expression's
/// text starts after the `=`.
pub fn all_tags(s: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let start = find_pair(rest.as_bytes(), b'{')?;
        let after = &rest[start + 2..];
        let end = find_pair(after.as_bytes(), b'}')?;
        let inner = after[..end].trim();
        rest = &after[end + 2..];
        Some(match inner.strip_prefix('=') {
            Some(e) => (true, e),
            None => (false, inner),
        })
    })
}

/// The simple (non-expression) `{{…}}` tags of a string, trimmed.
pub fn tags(s: &str) -> impl Iterator<Item = &str> {
    all_tags(s).filter(|(e, _)| !e).map(|(_, t)| t)
}

/// Checks that an `{{=expr}}` expression is not empty and that its brackets and quotes balance
/// (expr-lang strings: `"…"` and `'…'` with `\` escapes, and raw `` `…` ``).
pub fn check_expression(expr: &str) -> Result<(), String> {
    if expr.trim().is_empty() {
        return Err("empty expression".into());
    }
    let mut stack: [u8; 32] = [0; 32];
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    for &c in expr.as_bytes() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == b'\\' && q != b'`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'"' | b'\'' | b'`' => quote = Some(c),
            b'(' | b'[' | b'{' => {
                if depth == stack.len() {
                    return Err("brackets nested too deep".into());
                }
                stack[depth] = c;
                depth += 1;
            }
            b')' | b']' | b'}' => {
                let open = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if depth == 0 || stack[depth - 1] != open {
                    return Err(format!("unbalanced {:?}", c as char));
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed {} quote", q as char));
    }
    if depth > 0 {
        return Err(format!("unclosed {:?}", stack[depth - 1] as char));
    }
    Ok(())
}

pub(crate) fn check<'a>(obj: &'a Value, kind: &str, index: &SetIndex<'a>, sink: &mut Sink<'_>) {
    let max = if kind == "CronWorkflow" { 52 } else { 63 };
    if let Some(name) = get(obj, "metadata").and_then(|m| str_of(m, "name")) {
        if name.len() > max {
            sink.error(
                "argo-name",
                path(&["metadata".into(), "name".into()]),
                format!("{kind} name {name:?} is longer than {max} characters"),
            );
        }
    }
    let Some(spec) = get(obj, "spec") else {
        sink.error("argo-entrypoint", path(&[]), format!("{kind} has no spec"));
        return;
    };
    match kind {
        "CronWorkflow" => {
            check_cron_spec(spec, sink);
            match get(spec, "workflowSpec") {
                Some(ws) => check_spec(ws, &["spec", "workflowSpec"], true, index, sink),
                None => sink.error(
                    "argo-entrypoint",
                    path(&["spec".into()]),
                    "CronWorkflow has no spec.workflowSpec",
                ),
            }
        }
        "Workflow" => check_spec(spec, &["spec"], true, index, sink),
        _ => check_spec(spec, &["spec"], false, index, sink),
    }
}

/// A range of [`Spec::arena`].
#[derive(Clone, Copy, Default)]
struct Span(u32, u32);

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.0 as usize..self.1 as usize
    }
}

/// A template, read in one pass over its keys.
#[derive(Clone, Copy, Default)]
struct Tmpl<'a> {
    name: &'a str,
    v: Option<&'a Value>,
    inputs: Option<&'a Value>,
    outputs: Option<&'a Value>,
    metrics: Option<&'a Value>,
    container: Option<&'a Value>,
    script: Option<&'a Value>,
    resource: Option<&'a Value>,
    steps: Option<&'a Value>,
    dag: Option<&'a Value>,
    /// `TYPES` present (not null), one bit each.
    types: u16,
    /// Input parameters and artifacts (name, required), output parameters and artifacts.
    params: Span,
    artifacts: Span,
    out_params: Span,
    out_artifacts: Span,
}

/// Reads a template; its input and output names go to `arena`.
fn scan_template<'a>(t: &'a Value, arena: &mut Vec<(&'a str, bool)>) -> Tmpl<'a> {
    let mut x = Tmpl {
        v: Some(t),
        ..Tmpl::default()
    };
    if let Value::Mapping(m) = t {
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            match k {
                "name" => x.name = v.as_str().unwrap_or(""),
                "inputs" => x.inputs = Some(v),
                "outputs" => x.outputs = Some(v),
                "metrics" => x.metrics = Some(v),
                _ => {
                    let Some(bit) = type_bit(k) else { continue };
                    if v.is_null() {
                        continue;
                    }
                    x.types |= bit;
                    match bit {
                        CONTAINER => x.container = Some(v),
                        SCRIPT => x.script = Some(v),
                        RESOURCE => x.resource = Some(v),
                        STEPS => x.steps = Some(v),
                        DAG => x.dag = Some(v),
                        _ => {}
                    }
                }
            }
        }
    }
    let list = |io: Option<&'a Value>, kind: &str| seq_of(io.and_then(|i| get(i, kind)));
    x.params = push_names(arena, list(x.inputs, "parameters"), param_required);
    x.artifacts = push_names(arena, list(x.inputs, "artifacts"), artifact_required);
    x.out_params = push_names(arena, list(x.outputs, "parameters"), |_| false);
    x.out_artifacts = push_names(arena, list(x.outputs, "artifacts"), |_| false);
    x
}

fn push_names<'a>(
    arena: &mut Vec<(&'a str, bool)>,
    items: &'a [Value],
    required: fn(&'a serde_yaml::Mapping) -> bool,
) -> Span {
    let start = arena.len() as u32;
    for it in items {
        if let Value::Mapping(m) = it {
            if let Some(n) = super::map_get(m, "name").and_then(Value::as_str) {
                arena.push((n, required(m)));
            }
        }
    }
    Span(start, arena.len() as u32)
}

fn set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

/// An input parameter with no value, default or valueFrom must be supplied.
fn param_required(p: &serde_yaml::Mapping) -> bool {
    !p.iter()
        .any(|(k, v)| matches!(k.as_str(), Some("value" | "default" | "valueFrom")) && !v.is_null())
}

/// An input artifact with no source that is not optional must be supplied.
fn artifact_required(a: &serde_yaml::Mapping) -> bool {
    !a.iter().any(|(k, v)| match k.as_str() {
        Some("optional") => v.as_bool() == Some(true),
        Some(k) => ARTIFACT_SOURCES.contains(&k) && !v.is_null(),
        None => false,
    })
}

/// A step or DAG task, read in one pass over its keys.
#[derive(Clone, Copy, Default)]
struct Call<'a> {
    name: &'a str,
    template: Option<&'a Value>,
    template_ref: Option<&'a Value>,
    inline: bool,
    arguments: Option<&'a Value>,
    hooks: Option<&'a Value>,
    depends: Option<&'a Value>,
    dependencies: Option<&'a Value>,
    /// `withItems`, `withParam`, `withSequence` keys present (not null), in document order.
    loops: [Option<(&'a str, &'a Value)>; 3],
    n_loops: usize,
}

impl<'a> Call<'a> {
    fn scan(v: &'a Value) -> Call<'a> {
        let mut c = Call::default();
        let Value::Mapping(m) = v else { return c };
        for (k, val) in m {
            let Some(k) = k.as_str() else { continue };
            match k {
                "name" => c.name = val.as_str().unwrap_or(""),
                "template" => c.template = Some(val),
                "templateRef" => c.template_ref = Some(val),
                "inline" => c.inline = true,
                "arguments" => c.arguments = Some(val),
                "hooks" => c.hooks = Some(val),
                "depends" => c.depends = Some(val),
                "dependencies" => c.dependencies = Some(val),
                "withItems" | "withParam" | "withSequence" if c.n_loops < 3 => {
                    c.loops[c.n_loops] = Some((k, val));
                    c.n_loops += 1;
                }
                _ => {}
            }
        }
        c
    }

    /// Has a loop key (then `{{item}}` may be used).
    fn looped(&self) -> bool {
        self.n_loops > 0
    }
}

/// Where a call (step, task) leads.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A template of this spec (index into `Spec::tmpls`).
    Local(usize),
    /// A template of a WorkflowTemplate in the set.
    Foreign(&'a Value),
    /// Defined outside the set (cluster WorkflowTemplate) or inline: not checked.
    Unknown,
    /// Reported already.
    Missing,
}

struct Spec<'a, 'i> {
    tmpls: Vec<Tmpl<'a>>,
    /// Input/output names of all templates (see `Tmpl` spans).
    arena: Vec<(&'a str, bool)>,
    index: &'i SetIndex<'a>,
    /// Names of `spec.arguments.parameters`; `None` when global references are not checked.
    globals: Option<Vec<&'a str>>,
    wft_ref: bool,
    /// `templateDefaults` supplies a container / script image.
    default_image: (bool, bool),
}

/// Per-template working storage, reused across the templates of a spec.
#[derive(Default)]
struct Scratch<'a> {
    nodes: Vec<Node<'a>>,
    /// DAG edges: task index → indexes of its dependencies.
    deps: Vec<Vec<usize>>,
    /// Steps of a steps template: (group, index in group if the group is a list, step, looped,
    /// inline).
    steps: Vec<(usize, Option<usize>, &'a Value, bool, bool)>,
}

/// One step or task with what references to it need.
struct Node<'a> {
    name: &'a str,
    group: usize,
    target: Target<'a>,
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
    /// In a step of group `g` of a steps template; `looped` when it has a loop, `inline` when
    /// it defines its template inline (whose inputs are in scope too).
    Step {
        g: usize,
        looped: bool,
        inline: bool,
    },
    /// In task `k` of a DAG.
    Task {
        k: usize,
        looped: bool,
        inline: bool,
    },
}

/// The path of `stack` followed by `more`.
fn at(stack: &[Seg<'_>], more: &[Seg<'_>]) -> Vec<PathSeg> {
    stack.iter().chain(more).map(PathSeg::from).collect()
}

fn check_spec<'a>(
    spec: &'a Value,
    base: &'static [&'static str],
    is_workflow: bool,
    index: &SetIndex<'a>,
    sink: &mut Sink<'_>,
) {
    let (mut templates, mut wft_ref, mut arguments, mut entrypoint) = (None, false, None, None);
    let (mut on_exit, mut hooks, mut defaults, mut metrics) = (None, None, None, None);
    if let Value::Mapping(m) = spec {
        for (k, v) in m {
            match k.as_str() {
                Some("templates") => templates = Some(v),
                Some("workflowTemplateRef") => wft_ref = true,
                Some("arguments") => arguments = Some(v),
                Some("entrypoint") => entrypoint = Some(v),
                Some("onExit") => on_exit = Some(v),
                Some("hooks") => hooks = Some(v),
                Some("templateDefaults") => defaults = Some(v),
                Some("metrics") => metrics = Some(v),
                _ => {}
            }
        }
    }
    let templates = seq_of(templates);
    let global_names: Vec<&str> = seq_of(arguments.and_then(|a| get(a, "parameters")))
        .iter()
        .filter_map(|p| str_of(p, "name"))
        .collect();
    let image = |k: &str| {
        defaults
            .and_then(|d| get(d, k))
            .and_then(|c| str_of(c, "image"))
            .is_some_and(|i| !i.is_empty())
    };
    let mut stack: Vec<Seg<'a>> = base.iter().map(|k| Seg::K(k)).collect();
    let mut s = Spec {
        tmpls: Vec::with_capacity(templates.len()),
        arena: Vec::new(),
        index,
        // Relaxed for templates validated alone, and for workflows whose spec comes from a
        // WorkflowTemplate (its arguments merge in).
        globals: None,
        wft_ref,
        default_image: (image("container"), image("script")),
    };
    // Template names: present, valid, unique.
    for (ti, t) in templates.iter().enumerate() {
        let x = scan_template(t, &mut s.arena);
        let n = x.name;
        if n.is_empty() {
            sink.error(
                "argo-name",
                at(&stack, &["templates".into(), ti.into()]),
                "template has no name",
            );
        } else {
            if !is_template_name(n) {
                sink.error("argo-name", at(&stack, &["templates".into(), ti.into(), "name".into()]), format!("template name {n:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]* (at most 128)"));
            }
            if s.tmpls.iter().any(|x| x.name == n) {
                sink.error(
                    "argo-duplicate-name",
                    at(&stack, &["templates".into(), ti.into(), "name".into()]),
                    format!("template name {n:?} is not unique"),
                );
            }
        }
        s.tmpls.push(x);
    }
    // Entrypoint.
    match entrypoint {
        Some(Value::String(ep)) if !ep.is_empty() => {
            if !wft_ref {
                match s.local(ep) {
                    None => sink.error(
                        "argo-entrypoint",
                        at(&stack, &["entrypoint".into()]),
                        format!(
                            "entrypoint {ep:?} names no template (defined: {})",
                            s.names()
                        ),
                    ),
                    // WorkflowTemplates get their arguments at submit time.
                    Some(i) if is_workflow => {
                        for &(p, required) in &s.arena[s.tmpls[i].params.range()] {
                            if required && !global_names.contains(&p) {
                                sink.error(
                                    "argo-missing-argument",
                                    at(&stack, &["entrypoint".into()]),
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
                    at(&stack, &[]),
                    "spec.entrypoint is required (or spec.workflowTemplateRef)",
                );
            }
        }
    }
    if is_workflow && !wft_ref {
        s.globals = Some(global_names);
    }
    if let Some(Value::String(on_exit)) = on_exit {
        if !wft_ref && !on_exit.is_empty() && s.local(on_exit).is_none() {
            sink.error(
                "argo-undefined-template",
                at(&stack, &["onExit".into()]),
                format!(
                    "onExit names template {on_exit:?}, which is not defined (defined: {})",
                    s.names()
                ),
            );
        }
    }
    s.check_hooks(hooks, &stack, sink);
    if metrics.is_some() {
        stack.push(Seg::K("metrics"));
        check_metrics(metrics, &stack, sink);
        stack.pop();
    }
    let mut sc = Scratch::default();
    stack.push(Seg::K("templates"));
    for ti in 0..s.tmpls.len() {
        stack.push(Seg::I(ti));
        let t = s.tmpls[ti];
        s.check_template(&t, &mut stack, &mut sc, sink);
        stack.pop();
    }
}

impl<'a> Spec<'a, '_> {
    fn local(&self, name: &str) -> Option<usize> {
        self.tmpls.iter().position(|t| t.name == name)
    }

    fn names(&self) -> String {
        let v: Vec<&str> = self.tmpls.iter().map(|t| t.name).collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    fn has(&self, span: Span, name: &str) -> bool {
        self.arena[span.range()].iter().any(|(n, _)| *n == name)
    }

    /// Resolves the template a step or task calls; reports undefined ones.
    fn target(&self, c: &Call<'a>, stack: &[Seg<'_>], sink: &mut Sink<'_>) -> Target<'a> {
        if let Some(t) = c.template {
            let Some(name) = t.as_str() else {
                sink.error(
                    "argo-undefined-template",
                    at(stack, &["template".into()]),
                    "template must be a string",
                );
                return Target::Missing;
            };
            if self.wft_ref {
                return Target::Unknown;
            }
            return match self.local(name) {
                Some(i) => Target::Local(i),
                None => {
                    sink.error(
                        "argo-undefined-template",
                        at(stack, &["template".into()]),
                        format!(
                            "template {name:?} is not defined (defined: {})",
                            self.names()
                        ),
                    );
                    Target::Missing
                }
            };
        }
        if let Some(r) = c.template_ref {
            let (Some(wt), Some(tn)) = (str_of(r, "name"), str_of(r, "template")) else {
                sink.error(
                    "argo-undefined-template",
                    at(stack, &["templateRef".into()]),
                    "templateRef needs name and template",
                );
                return Target::Missing;
            };
            let cluster = get(r, "clusterScope").and_then(Value::as_bool) == Some(true);
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
            let found = seq_of(get(spec, "templates"))
                .iter()
                .find(|t| str_of(t, "name") == Some(tn));
            return match found {
                Some(v) => Target::Foreign(v),
                None => {
                    sink.error(
                        "argo-undefined-template",
                        at(stack, &["templateRef".into(), "template".into()]),
                        format!("templateRef: {kind} {wt:?} has no template {tn:?}"),
                    );
                    Target::Missing
                }
            };
        }
        if c.inline {
            return Target::Unknown;
        }
        sink.error(
            "argo-undefined-template",
            at(stack, &[]),
            "step/task has no template, templateRef or inline",
        );
        Target::Missing
    }

    /// Runs `f` with the called template and the arena its spans point into.
    fn with_callee<R>(
        &self,
        target: Target<'a>,
        f: impl FnOnce(&Tmpl<'a>, &[(&'a str, bool)]) -> R,
    ) -> Option<R> {
        match target {
            Target::Local(i) => Some(f(&self.tmpls[i], &self.arena)),
            Target::Foreign(v) => {
                let mut arena = Vec::new();
                let t = scan_template(v, &mut arena);
                Some(f(&t, &arena))
            }
            Target::Unknown | Target::Missing => None,
        }
    }

    /// Checks a call's loop fields and its arguments against the called template's inputs.
    fn check_call(
        &self,
        c: &Call<'a>,
        target: Target<'a>,
        stack: &[Seg<'_>],
        what: &Callee<'_>,
        sink: &mut Sink<'_>,
    ) {
        check_loops(c, stack, sink);
        let args = c.arguments;
        let arg_params = seq_of(args.and_then(|a| get(a, "parameters")));
        let arg_artifacts = seq_of(args.and_then(|a| get(a, "artifacts")));
        let args_at = |more: &[Seg<'_>]| at(stack, &[&[Seg::K("arguments")], more].concat());
        self.with_callee(target, |t, arena| {
            let tname = t.name;
            for (i, p) in arg_params.iter().enumerate() {
                let Some(name) = str_of(p, "name") else {
                    sink.error(
                        "argo-name",
                        args_at(&["parameters".into(), i.into()]),
                        "argument parameter has no name",
                    );
                    continue;
                };
                check_arg_value(p, name, &args_at, i, what, sink);
                if !arena[t.params.range()].iter().any(|(n, _)| *n == name) {
                    sink.warn(
                        "argo-unknown-argument",
                        args_at(&["parameters".into(), i.into(), "name".into()]),
                        format!(
                            "{what}: argument {name:?} names no input parameter of template {tname:?}"
                        ),
                    );
                }
            }
            for (i, a) in arg_artifacts.iter().enumerate() {
                let Some(name) = str_of(a, "name") else {
                    continue;
                };
                if !arena[t.artifacts.range()].iter().any(|(n, _)| *n == name) {
                    sink.warn(
                        "argo-unknown-argument",
                        args_at(&["artifacts".into(), i.into(), "name".into()]),
                        format!("{what}: argument artifact {name:?} names no input artifact of template {tname:?}"),
                    );
                }
            }
            let where_at = || {
                if args.is_some() {
                    at(stack, &["arguments".into()])
                } else {
                    at(stack, &[])
                }
            };
            for &(p, required) in &arena[t.params.range()] {
                if required && !arg_params.iter().any(|a| str_of(a, "name") == Some(p)) {
                    sink.error(
                        "argo-missing-argument",
                        where_at(),
                        format!("{what} calls template {tname:?} without input parameter {p:?} (it has no value or default)"),
                    );
                }
            }
            for &(a, required) in &arena[t.artifacts.range()] {
                if required && !arg_artifacts.iter().any(|x| str_of(x, "name") == Some(a)) {
                    sink.error(
                        "argo-missing-argument",
                        where_at(),
                        format!("{what} calls template {tname:?} without input artifact {a:?} (it has no source and is not optional)"),
                    );
                }
            }
        })
        .unwrap_or_else(|| {
            // Callee not checkable: the argument values still are.
            for (i, p) in arg_params.iter().enumerate() {
                match str_of(p, "name") {
                    Some(name) => check_arg_value(p, name, &args_at, i, what, sink),
                    None => sink.error(
                        "argo-name",
                        args_at(&["parameters".into(), i.into()]),
                        "argument parameter has no name",
                    ),
                }
            }
        });
    }

    fn check_template(
        &self,
        t: &Tmpl<'a>,
        stack: &mut Vec<Seg<'a>>,
        sc: &mut Scratch<'a>,
        sink: &mut Sink<'_>,
    ) {
        let tname = t.name;
        match t.types.count_ones() {
            0 => sink.error(
                "argo-template-type",
                at(stack, &[]),
                format!(
                    "template {tname:?}: template type unspecified (one of {})",
                    TYPES.join(", ")
                ),
            ),
            1 => {}
            _ => {
                let types: Vec<&str> = (0..TYPES.len())
                    .filter(|i| t.types & (1 << i) != 0)
                    .map(|i| TYPES[i])
                    .collect();
                sink.error(
                    "argo-template-type",
                    at(stack, &[]),
                    format!(
                        "template {tname:?}: multiple template types specified ({})",
                        types.join(", ")
                    ),
                );
            }
        }
        for (io, v) in [("inputs", t.inputs), ("outputs", t.outputs)] {
            let Some(v) = v else { continue };
            for kind in ["parameters", "artifacts"] {
                for (i, p) in seq_of(get(v, kind)).iter().enumerate() {
                    match str_of(p, "name") {
                        Some(n) if is_param_name(n) => {}
                        Some(n) => sink.error(
                            "argo-name",
                            at(stack, &[io.into(), kind.into(), i.into(), "name".into()]),
                            format!("{io} name {n:?} is invalid: must match [-a-zA-Z0-9_]+"),
                        ),
                        None => sink.error(
                            "argo-name",
                            at(stack, &[io.into(), kind.into(), i.into()]),
                            format!("{io} parameter or artifact has no name"),
                        ),
                    }
                }
            }
        }
        self.check_leaf(t, stack, sink);
        if t.metrics.is_some() {
            stack.push(Seg::K("metrics"));
            check_metrics(t.metrics, stack, sink);
            stack.pop();
        }
        sc.nodes.clear();
        sc.deps.clear();
        if let Some(steps) = t.steps {
            self.check_steps(steps, t, sc, stack, sink);
        }
        if let Some(dag) = t.dag {
            self.check_dag(dag, t, sc, stack, sink);
        }
        // Body strings (everything but the steps/tasks themselves).
        let Some(Value::Mapping(m)) = t.v else { return };
        for (k, v) in m {
            let Some(ks) = k.as_str() else { continue };
            if ks == "steps" && t.steps.is_some() {
                continue;
            }
            stack.push(Seg::K(ks));
            if ks == "dag" {
                if let Value::Mapping(dm) = v {
                    for (dk, dv) in dm {
                        if let Some(dks) = dk.as_str().filter(|x| *x != "tasks") {
                            stack.push(Seg::K(dks));
                            self.walk(dv, stack, t, sc, Scope::Body, sink);
                            stack.pop();
                        }
                    }
                }
            } else {
                self.walk(v, stack, t, sc, Scope::Body, sink);
            }
            stack.pop();
        }
    }

    /// Container/script images, resource templates, output parameters (`validateLeaf`,
    /// `validateOutputs`).
    fn check_leaf(&self, t: &Tmpl<'a>, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
        let tname = t.name;
        for (key, c, has_default) in [
            ("container", t.container, self.default_image.0),
            ("script", t.script, self.default_image.1),
        ] {
            let Some(c) = c else { continue };
            let image = get(c, "image");
            let empty = match image {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            };
            if empty && !has_default {
                let p = match image {
                    Some(_) => at(stack, &[key.into(), "image".into()]),
                    None => at(stack, &[key.into()]),
                };
                sink.error(
                    "argo-image",
                    p,
                    format!("template {tname:?}: {key}.image may not be empty (and spec.templateDefaults.{key}.image sets none)"),
                );
            }
        }
        if let Some(r) = t.resource {
            self.check_resource(t, r, stack, sink);
        }
        let outs = seq_of(t.outputs.and_then(|o| get(o, "parameters")));
        for (i, p) in outs.iter().enumerate() {
            check_output_param(t, p, i, stack, sink);
        }
    }

    fn check_resource(&self, t: &Tmpl<'a>, r: &'a Value, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
        let tname = t.name;
        let (mut action, mut manifest, mut from) = (None, None, None);
        if let Value::Mapping(m) = r {
            for (k, v) in m {
                match k.as_str() {
                    Some("action") => action = Some(v),
                    Some("manifest") => manifest = Some(v),
                    Some("manifestFrom") => from = Some(v),
                    _ => {}
                }
            }
        }
        let act = action.and_then(Value::as_str).unwrap_or("");
        if !act.contains("{{") && !RESOURCE_ACTIONS.contains(&act) {
            let p = match action {
                Some(_) => at(stack, &["resource".into(), "action".into()]),
                None => at(stack, &["resource".into()]),
            };
            sink.error(
                "argo-resource",
                p,
                format!(
                    "template {tname:?}: resource.action {act:?} must be one of: {}",
                    RESOURCE_ACTIONS.join(", ")
                ),
            );
        }
        if act == "delete" || act == "get" {
            return;
        }
        let text = manifest.and_then(Value::as_str).filter(|m| !m.is_empty());
        let from = from.filter(|f| !f.is_null());
        match (text, from) {
            (None, None) => sink.error(
                "argo-resource",
                at(stack, &["resource".into()]),
                format!("template {tname:?}: resource needs manifest or manifestFrom"),
            ),
            (Some(_), Some(_)) => sink.error(
                "argo-resource",
                at(stack, &["resource".into(), "manifestFrom".into()]),
                format!("template {tname:?}: resource has both manifest and manifestFrom; use one"),
            ),
            (None, Some(f)) => {
                if let Some(name) = get(f, "artifact").and_then(|a| str_of(a, "name")) {
                    if !self.has(t.artifacts, name) {
                        sink.error(
                            "argo-resource",
                            at(
                                stack,
                                &[
                                    "resource".into(),
                                    "manifestFrom".into(),
                                    "artifact".into(),
                                    "name".into(),
                                ],
                            ),
                            format!("template {tname:?}: manifestFrom artifact {name:?} is not an input artifact of the template"),
                        );
                    }
                }
            }
            (Some(m), None) => {
                if let Err(e) = manifest_parses(m) {
                    sink.error(
                        "argo-resource",
                        at(stack, &["resource".into(), "manifest".into()]),
                        format!("template {tname:?}: resource.manifest must be valid YAML: {e}"),
                    );
                }
            }
        }
    }

    fn check_steps(
        &self,
        steps: &'a Value,
        t: &Tmpl<'a>,
        sc: &mut Scratch<'a>,
        stack: &mut Vec<Seg<'a>>,
        sink: &mut Sink<'_>,
    ) {
        stack.push(Seg::K("steps"));
        // Collect steps with their groups first: references may only name earlier groups.
        sc.steps.clear();
        for (g, group) in seq_of(Some(steps)).iter().enumerate() {
            match group {
                Value::Sequence(items) => {
                    for (j, st) in items.iter().enumerate() {
                        sc.steps.push((g, Some(j), st, false, false));
                    }
                }
                Value::Mapping(_) => sc.steps.push((g, None, group, false, false)),
                _ => {}
            }
        }
        for si in 0..sc.steps.len() {
            let (g, j, st, _, _) = sc.steps[si];
            stack.push(Seg::I(g));
            if let Some(j) = j {
                stack.push(Seg::I(j));
            }
            let c = Call::scan(st);
            sc.steps[si].3 = c.looped();
            sc.steps[si].4 = c.inline;
            let name = c.name;
            if name.is_empty() {
                sink.error("argo-name", at(stack, &[]), "step has no name");
            } else if !is_template_name(name) {
                sink.error(
                    "argo-name",
                    at(stack, &["name".into()]),
                    format!("step name {name:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]*"),
                );
            }
            if !name.is_empty() && sc.nodes.iter().any(|n| n.name == name) {
                sink.error(
                    "argo-duplicate-name",
                    at(stack, &["name".into()]),
                    format!("step name {name:?} is not unique in this template"),
                );
            }
            let target = self.target(&c, stack, sink);
            self.check_call(&c, target, stack, &Callee("step", name), sink);
            self.check_hooks(c.hooks, stack, sink);
            sc.nodes.push(Node {
                name,
                group: g,
                target,
            });
            if j.is_some() {
                stack.pop();
            }
            stack.pop();
        }
        for si in 0..sc.steps.len() {
            let (g, j, st, looped, inline) = sc.steps[si];
            stack.push(Seg::I(g));
            if let Some(j) = j {
                stack.push(Seg::I(j));
            }
            self.walk(st, stack, t, sc, Scope::Step { g, looped, inline }, sink);
            if j.is_some() {
                stack.pop();
            }
            stack.pop();
        }
        stack.pop();
    }

    fn check_hooks(&self, hooks: Option<&'a Value>, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
        let Some(Value::Mapping(hooks)) = hooks else {
            return;
        };
        for (k, h) in hooks {
            let key = k.as_str().unwrap_or("");
            if let Some(Value::String(t)) = get(h, "template") {
                if !self.wft_ref && self.local(t).is_none() {
                    sink.error(
                        "argo-undefined-template",
                        at(stack, &["hooks".into(), key.into(), "template".into()]),
                        format!("hook {key:?} names template {t:?}, which is not defined"),
                    );
                }
            }
        }
    }

    fn check_dag(
        &self,
        dag: &'a Value,
        t: &Tmpl<'a>,
        sc: &mut Scratch<'a>,
        stack: &mut Vec<Seg<'a>>,
        sink: &mut Sink<'_>,
    ) {
        stack.push(Seg::K("dag"));
        stack.push(Seg::K("tasks"));
        let tasks = seq_of(get(dag, "tasks"));
        let calls: Vec<Call<'a>> = tasks.iter().map(Call::scan).collect();
        for (k, c) in calls.iter().enumerate() {
            stack.push(Seg::I(k));
            let name = c.name;
            if name.is_empty() {
                sink.error("argo-name", at(stack, &[]), "task has no name");
            } else if !is_template_name(name) {
                sink.error(
                    "argo-name",
                    at(stack, &["name".into()]),
                    format!("task name {name:?} is invalid: must match [a-zA-Z0-9][-a-zA-Z0-9]*"),
                );
            }
            if !name.is_empty() && sc.nodes.iter().any(|n| n.name == name) {
                sink.error(
                    "argo-duplicate-name",
                    at(stack, &["name".into()]),
                    format!("task name {name:?} is not unique in this DAG"),
                );
            }
            let target = self.target(c, stack, sink);
            self.check_call(c, target, stack, &Callee("task", name), sink);
            self.check_hooks(c.hooks, stack, sink);
            sc.nodes.push(Node {
                name,
                group: k,
                target,
            });
            stack.pop();
        }
        // Dependencies.
        for (k, c) in calls.iter().enumerate() {
            let mut deps = Vec::new();
            if c.depends.is_some() && c.dependencies.is_some() {
                sink.error(
                    "argo-dag-dependency",
                    at(stack, &[k.into()]),
                    "task uses both depends and dependencies; use one",
                );
            }
            if let Some(Value::String(expr)) = c.depends {
                for dep in depends_names(expr) {
                    match sc.nodes.iter().position(|n| n.name == dep) {
                        Some(i) => deps.push(i),
                        None => sink.error(
                            "argo-dag-dependency",
                            at(stack, &[k.into(), "depends".into()]),
                            format!(
                                "task {:?} depends on {dep:?}, which is not a task of this DAG",
                                sc.nodes[k].name
                            ),
                        ),
                    }
                }
            }
            for (i, d) in seq_of(c.dependencies).iter().enumerate() {
                let dep = d.as_str().unwrap_or("");
                match sc.nodes.iter().position(|n| n.name == dep) {
                    Some(x) => deps.push(x),
                    None => sink.error(
                        "argo-dag-dependency",
                        at(stack, &[k.into(), "dependencies".into(), i.into()]),
                        format!(
                            "task {:?} depends on {dep:?}, which is not a task of this DAG",
                            sc.nodes[k].name
                        ),
                    ),
                }
            }
            sc.deps.push(deps);
        }
        if let Some(cycle) = find_cycle(&sc.deps) {
            let names: Vec<&str> = cycle.iter().map(|&i| sc.nodes[i].name).collect();
            let first = cycle[0];
            let key = if calls[first].depends.is_some() {
                "depends"
            } else {
                "dependencies"
            };
            sink.error(
                "argo-dag-cycle",
                at(stack, &[first.into(), key.into()]),
                format!("dependency cycle detected: {}", names.join(" -> ")),
            );
        }
        if let Some(Value::String(target)) = get(dag, "target") {
            for tg in target.split_whitespace() {
                if !sc.nodes.iter().any(|n| n.name == tg) {
                    sink.error(
                        "argo-dag-dependency",
                        at(&stack[..stack.len() - 1], &["target".into()]),
                        format!("target {tg:?} is not a task of this DAG"),
                    );
                }
            }
        }
        for (k, task) in tasks.iter().enumerate() {
            stack.push(Seg::I(k));
            let (looped, inline) = (calls[k].looped(), calls[k].inline);
            self.walk(task, stack, t, sc, Scope::Task { k, looped, inline }, sink);
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
        t: &Tmpl<'a>,
        sc: &Scratch<'a>,
        scope: Scope,
        sink: &mut Sink<'_>,
    ) {
        match v {
            Value::String(s) if has_tag(s) => {
                for (expr, tag) in all_tags(s) {
                    if expr {
                        if let Err(e) = check_expression(tag) {
                            sink.error(
                                "argo-expression",
                                path(stack),
                                format!("{{{{={tag}}}}}: {e}"),
                            );
                        }
                    } else {
                        self.check_tag(tag, t, sc, scope, stack, sink);
                    }
                }
            }
            Value::Sequence(items) => {
                for (i, it) in items.iter().enumerate() {
                    stack.push(Seg::I(i));
                    self.walk(it, stack, t, sc, scope, sink);
                    stack.pop();
                }
            }
            Value::Mapping(m) => {
                for (k, it) in m {
                    if let Some(ks) = k.as_str() {
                        stack.push(Seg::K(ks));
                        self.walk(it, stack, t, sc, scope, sink);
                        stack.pop();
                    }
                }
            }
            Value::Tagged(tv) => self.walk(&tv.value, stack, t, sc, scope, sink),
            _ => {}
        }
    }

    fn check_tag(
        &self,
        tag: &str,
        t: &Tmpl<'a>,
        sc: &Scratch<'a>,
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
                    "parameters" => t.params,
                    "artifacts" => t.artifacts,
                    _ => return,
                };
                let inline = matches!(
                    scope,
                    Scope::Step { inline: true, .. } | Scope::Task { inline: true, .. }
                );
                if !inline && !self.has(declared, name) {
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
                    "parameters" => t.out_params,
                    "artifacts" => t.out_artifacts,
                    _ => return,
                };
                if !self.has(declared, name) {
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
                if (is_steps && t.steps.is_none()) || (!is_steps && t.dag.is_none()) {
                    sink.error(
                        code,
                        here(),
                        format!("{{{{{tag}}}}}: this template has no {noun}s"),
                    );
                    return;
                }
                let Some(i) = sc.nodes.iter().position(|n| n.name == node) else {
                    sink.error(
                        code,
                        here(),
                        format!("{{{{{tag}}}}}: {noun} {node:?} is not defined in this template"),
                    );
                    return;
                };
                match scope {
                    Scope::Step { g, .. } if is_steps && sc.nodes[i].group >= g => {
                        sink.error(code, here(), format!("{{{{{tag}}}}}: step {node:?} does not run before this step (only steps of earlier groups can be referenced)"));
                        return;
                    }
                    Scope::Task { k, .. } if !is_steps && !is_ancestor(&sc.deps, k, i) => {
                        sink.error(code, here(), format!("{{{{{tag}}}}}: task {node:?} is not a dependency of task {:?} (add it to depends)", sc.nodes[k].name));
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
                let declared = self.with_callee(sc.nodes[i].target, |callee, arena| {
                    let span = if kind == "parameters" {
                        callee.out_params
                    } else {
                        callee.out_artifacts
                    };
                    (
                        arena[span.range()].iter().any(|(n, _)| *n == name),
                        callee.name,
                    )
                });
                if let Some((false, callee)) = declared {
                    sink.error(
                        "argo-undefined-output",
                        here(),
                        format!("{{{{{tag}}}}}: template {callee:?} of {noun} {node:?} declares no output {kind} {name:?}"),
                    );
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

/// An argument parameter needs value or valueFrom.
fn check_arg_value(
    p: &Value,
    name: &str,
    args_at: &dyn Fn(&[Seg<'_>]) -> Vec<PathSeg>,
    i: usize,
    what: &Callee<'_>,
    sink: &mut Sink<'_>,
) {
    let value = get(p, "value");
    if !set(value) && !set(get(p, "valueFrom")) {
        let p = if value.is_some() {
            args_at(&["parameters".into(), i.into(), "value".into()])
        } else {
            args_at(&["parameters".into(), i.into()])
        };
        sink.error(
            "argo-argument-value",
            p,
            format!("{what}: argument parameter {name:?} has neither value nor valueFrom"),
        );
    }
}

/// At most one of withItems, withParam, withSequence (`addItemsToScope`); a sequence has count
/// or end, not both (`validate.go`) and not neither (`expandSequence` fails at run time).
fn check_loops(c: &Call<'_>, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
    if c.n_loops == 0 {
        return;
    }
    let mut defined = 0;
    for (k, v) in c.loops.iter().flatten() {
        let counts = match *k {
            "withItems" => !matches!(v, Value::Sequence(s) if s.is_empty()),
            "withParam" => !matches!(v, Value::String(s) if s.is_empty()),
            _ => true,
        };
        if !counts {
            continue;
        }
        defined += 1;
        if defined == 2 {
            let all: Vec<&str> = c.loops.iter().flatten().map(|(k, _)| *k).collect();
            sink.error(
                "argo-loop",
                at(stack, &[Seg::K(k)]),
                format!(
                    "only one of withItems, withParam, withSequence can be specified (found {})",
                    all.join(", ")
                ),
            );
        }
        if *k == "withSequence" {
            let (count, end) = (set(get(v, "count")), set(get(v, "end")));
            if count == end {
                let msg = if count {
                    "withSequence has both count and end; use one"
                } else {
                    "withSequence needs count or end"
                };
                sink.error("argo-loop", at(stack, &[Seg::K(k)]), msg);
            }
        }
    }
}

/// An output parameter has value or exactly one valueFrom source, of the kind its template type
/// reads (`validateOutputParameter`, `validateOutputs`).
fn check_output_param(t: &Tmpl<'_>, p: &Value, i: usize, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
    let here = |more: &[Seg<'_>]| {
        at(
            stack,
            &[&["outputs".into(), "parameters".into(), i.into()], more].concat(),
        )
    };
    let name = str_of(p, "name").unwrap_or("");
    let tname = t.name;
    let value = set(get(p, "value"));
    let Some(vf) = get(p, "valueFrom").filter(|v| !v.is_null()) else {
        if !value {
            sink.error(
                "argo-output",
                here(&[]),
                format!(
                    "template {tname:?}: output parameter {name:?} has neither value nor valueFrom"
                ),
            );
        }
        return;
    };
    if value {
        sink.error(
            "argo-output",
            here(&["valueFrom".into()]),
            format!("template {tname:?}: output parameter {name:?} has both value and valueFrom; choose one"),
        );
        return;
    }
    let mut found: [&str; 2] = [""; 2];
    let mut n = 0;
    if let Value::Mapping(m) = vf {
        for (k, v) in m {
            let Some(k) = k.as_str() else { continue };
            let source = if k == "supplied" {
                !v.is_null()
            } else {
                OUTPUT_SOURCES.contains(&k) && v.as_str().is_some_and(|s| !s.is_empty())
            };
            if source {
                if n < 2 {
                    found[n] = k;
                }
                n += 1;
                if n == 2 {
                    sink.error(
                        "argo-output",
                        here(&["valueFrom".into(), Seg::K(k)]),
                        format!("template {tname:?}: output parameter {name:?}: multiple valueFrom sources ({} and {k}); choose one", found[0]),
                    );
                }
            }
        }
    }
    if n == 0 {
        sink.error(
            "argo-output",
            here(&["valueFrom".into()]),
            format!("template {tname:?}: output parameter {name:?}: valueFrom has no source (one of path, jqFilter, jsonPath, parameter, expression, supplied)"),
        );
        return;
    }
    let has = |k: &str| found[..n.min(2)].contains(&k);
    let need = if t.types & (CONTAINER | CONTAINER_SET | SCRIPT) != 0 {
        (!has("path")).then_some("valueFrom.path is required in container and script templates")
    } else if t.types & RESOURCE != 0 {
        (!has("jqFilter") && !has("jsonPath"))
            .then_some("valueFrom.jqFilter or jsonPath is required in resource templates")
    } else if t.types & (STEPS | DAG) != 0 {
        (!has("parameter") && !has("expression"))
            .then_some("valueFrom.parameter or expression is required in steps and dag templates")
    } else {
        None
    };
    if let Some(need) = need {
        sink.error(
            "argo-output",
            here(&["valueFrom".into()]),
            format!("template {tname:?}: output parameter {name:?}: {need}"),
        );
    }
}

/// `metrics.prometheus` entries: valid name and label keys, help, exactly one of gauge, counter,
/// histogram with a value (`validateTemplate`, `metrics.ValidateMetricValues`). `stack` ends at
/// `metrics`.
fn check_metrics(metrics: Option<&Value>, stack: &[Seg<'_>], sink: &mut Sink<'_>) {
    let list = seq_of(metrics.and_then(|m| get(m, "prometheus")));
    for (i, m) in list.iter().enumerate() {
        let here = |more: &[Seg<'_>]| at(stack, &[&["prometheus".into(), i.into()], more].concat());
        let (mut name, mut help, mut labels) = (None, None, None);
        let mut kinds: [Option<(&str, &Value)>; 2] = [None; 2];
        let mut n = 0;
        if let Value::Mapping(map) = m {
            for (k, v) in map {
                match k.as_str() {
                    Some("name") => name = Some(v),
                    Some("help") => help = Some(v),
                    Some("labels") => labels = Some(v),
                    Some(k @ ("gauge" | "counter" | "histogram")) if !v.is_null() => {
                        if n < 2 {
                            kinds[n] = Some((k, v));
                        }
                        n += 1;
                    }
                    _ => {}
                }
            }
        }
        let mname = name.and_then(Value::as_str).unwrap_or("");
        if !is_metric_name(mname) {
            let p = if name.is_some() {
                here(&["name".into()])
            } else {
                here(&[])
            };
            sink.error("argo-metric", p, format!("metric name {mname:?} is invalid: must match [a-zA-Z_:][a-zA-Z0-9_:]* (no '-' or '.')"));
        }
        if help.and_then(Value::as_str).is_none_or(str::is_empty) {
            sink.error(
                "argo-metric",
                here(&[]),
                format!("metric {mname:?} must have a help string (help:)"),
            );
        }
        for (j, l) in seq_of(labels).iter().enumerate() {
            let key = str_of(l, "key").unwrap_or("");
            if !is_metric_name(key) {
                sink.error(
                    "argo-metric",
                    here(&["labels".into(), j.into()]),
                    format!("metric {mname:?}: label key {key:?} is invalid: must match [a-zA-Z_:][a-zA-Z0-9_:]*"),
                );
            }
        }
        match kinds {
            [None, _] => sink.error(
                "argo-metric",
                here(&[]),
                format!("metric {mname:?} needs one of gauge, counter, histogram"),
            ),
            [Some((k1, _)), Some((k2, _))] => sink.error(
                "argo-metric",
                here(&[Seg::K(k2)]),
                format!("metric {mname:?} has both {k1} and {k2}; use one"),
            ),
            [Some((k, v)), None] => {
                let value = get(v, "value");
                if value.is_none_or(|x| x.is_null() || x.as_str() == Some("")) {
                    sink.error(
                        "argo-metric",
                        here(&[Seg::K(k)]),
                        format!("metric {mname:?}: missing {k}.value"),
                    );
                } else if k == "gauge"
                    && get(v, "realtime").and_then(Value::as_bool) == Some(true)
                    && value
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.contains("resourcesDuration."))
                {
                    sink.error(
                        "argo-metric",
                        here(&[Seg::K(k), "value".into()]),
                        format!("metric {mname:?}: 'resourcesDuration.*' metrics cannot be used in real-time"),
                    );
                }
            }
        }
    }
}

/// A resource manifest parses as YAML once `{{…}}` tags are replaced by placeholders (as Argo
/// does before checking it).
fn manifest_parses(m: &str) -> Result<(), String> {
    use serde::Deserialize;
    let text: std::borrow::Cow<'_, str> = if m.contains("{{") {
        let mut out = String::with_capacity(m.len());
        let mut rest = m;
        while let Some(start) = rest.find("{{") {
            let Some(end) = rest[start..].find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            out.push_str("placeholder");
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        out.into()
    } else {
        m.into()
    };
    for doc in serde_yaml::Deserializer::from_str(&text) {
        Value::deserialize(doc).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// CronWorkflow spec: schedule(s), timezone, concurrencyPolicy, startingDeadlineSeconds
/// (`ValidateCronWorkflow`).
fn check_cron_spec(spec: &Value, sink: &mut Sink<'_>) {
    let (mut schedule, mut schedules, mut tz, mut policy, mut deadline) =
        (None, None, None, None, None);
    if let Value::Mapping(m) = spec {
        for (k, v) in m {
            match k.as_str() {
                Some("schedule") => schedule = Some(v),
                Some("schedules") => schedules = Some(v),
                Some("timezone") => tz = Some(v),
                Some("concurrencyPolicy") => policy = Some(v),
                Some("startingDeadlineSeconds") => deadline = Some(v),
                _ => {}
            }
        }
    }
    let one = schedule.and_then(Value::as_str).filter(|s| !s.is_empty());
    let many = seq_of(schedules);
    match (one, many.is_empty()) {
        (Some(_), false) => sink.error(
            "argo-cron",
            path(&["spec".into(), "schedule".into()]),
            "CronWorkflow has both schedule and schedules; use one",
        ),
        (None, true) => sink.error(
            "argo-cron",
            path(&["spec".into()]),
            "CronWorkflow needs schedule or schedules",
        ),
        _ => {}
    }
    if let Some(s) = one {
        if let Err(e) = check_cron(s) {
            sink.error(
                "argo-cron",
                path(&["spec".into(), "schedule".into()]),
                format!("cron schedule {s:?} is malformed: {e}"),
            );
        }
    }
    for (i, s) in many.iter().enumerate() {
        let text = s.as_str().unwrap_or("");
        if let Err(e) = check_cron(text) {
            sink.error(
                "argo-cron",
                path(&["spec".into(), "schedules".into(), i.into()]),
                format!("cron schedule {text:?} is malformed: {e}"),
            );
        }
    }
    if let Some(Value::String(tz)) = tz {
        if !tz.is_empty() && !super::tz::is_timezone(tz) {
            sink.error(
                "argo-cron",
                path(&["spec".into(), "timezone".into()]),
                format!("invalid timezone {tz:?}: not an IANA time zone name (like Europe/Berlin or UTC)"),
            );
        }
    }
    if let Some(p) = policy {
        let ok = match p {
            Value::Null => true,
            Value::String(s) => matches!(s.as_str(), "Allow" | "Forbid" | "Replace" | ""),
            _ => false,
        };
        if !ok {
            sink.error(
                "argo-cron",
                path(&["spec".into(), "concurrencyPolicy".into()]),
                format!(
                    "{} is not a valid concurrencyPolicy (Allow, Forbid or Replace)",
                    p.as_str().map_or_else(
                        || format!("a {}", crate::manifest::type_name(p)),
                        |s| format!("{s:?}")
                    )
                ),
            );
        }
    }
    if let Some(d) = deadline {
        if d.as_i64().is_some_and(|n| n < 0) {
            sink.error(
                "argo-cron",
                path(&["spec".into(), "startingDeadlineSeconds".into()]),
                "startingDeadlineSeconds must not be negative",
            );
        }
    }
}

/// Checks a cron schedule as robfig/cron's `ParseStandard` (what Argo uses): an optional
/// `CRON_TZ=`/`TZ=` prefix, then five fields (minute hour day-of-month month day-of-week) or a
/// descriptor (`@hourly`, `@every 1h30m`, …).
pub fn check_cron(spec: &str) -> Result<(), String> {
    let mut s = spec.trim();
    if s.is_empty() {
        return Err("empty spec string".into());
    }
    if s.starts_with("TZ=") || s.starts_with("CRON_TZ=") {
        let (Some(sp), Some(eq)) = (s.find(' '), s.find('=')) else {
            return Err("time zone prefix without a schedule".into());
        };
        let tz = &s[eq + 1..sp];
        if !super::tz::is_timezone(tz) {
            return Err(format!("provided bad location {tz}"));
        }
        s = s[sp..].trim();
    }
    if s.starts_with('@') {
        return match s {
            "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight"
            | "@hourly" => Ok(()),
            _ => match s.strip_prefix("@every ") {
                Some(d) => {
                    parse_go_duration(d).map_err(|e| format!("failed to parse duration {s}: {e}"))
                }
                None => Err(format!("unrecognized descriptor: {s}")),
            },
        };
    }
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DOWS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    // (min, max, names, first name's value)
    let bounds: [(u64, u64, &[&str], u64); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, MONTHS, 1),
        (0, 6, DOWS, 0),
    ];
    let n = s.split_whitespace().count();
    if n != 5 {
        return Err(format!("expected exactly 5 fields, found {n}: {s}"));
    }
    for (field, b) in s.split_whitespace().zip(bounds) {
        for part in field.split(',') {
            cron_range(part, b)?;
        }
    }
    Ok(())
}

/// One `a`, `a-b`, `*`, `?`, with an optional `/step` (robfig/cron `getRange`).
fn cron_range(expr: &str, (min, max, names, base): (u64, u64, &[&str], u64)) -> Result<(), String> {
    let mut range_step = expr.split('/');
    let range = range_step.next().unwrap_or("");
    let step = range_step.next();
    if range_step.next().is_some() {
        return Err(format!("too many slashes: {expr}"));
    }
    let mut low_high = range.split('-');
    let low = low_high.next().unwrap_or("");
    let high = low_high.next();
    let single = high.is_none();
    let (start, mut end) = if low == "*" || low == "?" {
        (min, max)
    } else {
        if low_high.next().is_some() {
            return Err(format!("too many hyphens: {expr}"));
        }
        let start = cron_int(low, names, base)?;
        let end = match high {
            Some(h) => cron_int(h, names, base)?,
            None => start,
        };
        (start, end)
    };
    let step = match step {
        Some(st) => {
            let v = go_atoi(st)?;
            if single {
                end = max;
            }
            v
        }
        None => 1,
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn cron_int(s: &str, names: &[&str], base: u64) -> Result<u64, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(i as u64 + base);
    }
    go_atoi(s)
}

/// Go's `strconv.Atoi` for a non-negative result.
fn go_atoi(s: &str) -> Result<u64, String> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("failed to parse int from {s}"));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("failed to parse int from {s}: value out of range"))?;
    if neg && n > 0 {
        return Err(format!("negative number ({s}) not allowed: {s}"));
    }
    Ok(n)
}

/// Go's `time.ParseDuration` syntax: `[-+]?([0-9]*(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+` or `0`.
pub fn parse_go_duration(d: &str) -> Result<(), String> {
    let s = d.strip_prefix(['-', '+']).unwrap_or(d);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(format!("invalid duration {d:?}"));
    }
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut num = int_len > 0;
        rest = &rest[int_len..];
        if let Some(r) = rest.strip_prefix('.') {
            let frac = r.bytes().take_while(u8::is_ascii_digit).count();
            num |= frac > 0;
            rest = &r[frac..];
        }
        if !num {
            return Err(format!("invalid duration {d:?}"));
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(format!("missing unit in duration {d:?}"));
        }
        let unit = &rest[..unit_len];
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return Err(format!("unknown unit {unit:?} in duration {d:?}"));
        }
        rest = &rest[unit_len..];
    }
    Ok(())
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
        let all: Vec<(bool, &str)> = all_tags("{{= a + 1 }} {{x}}").collect();
        assert_eq!(all, [(true, " a + 1"), (false, "x")]);
    }

    #[test]
    fn tag_detection() {
        for s in [
            "",
            "{",
            "{ {",
            "a{b}c",
            "}}",
            "0123456{",
            "0123456{x{",
            "{}{}{}{}{}{}",
        ] {
            assert!(!has_tag(s), "{s:?}");
            assert_eq!(has_tag(s), s.contains("{{"));
        }
        for s in [
            "{{",
            "a{{b",
            "0123456{{",
            "01234567{{",
            "0123456789abcde{{x",
            "x{{y}}",
            "{{{",
        ] {
            assert!(has_tag(s), "{s:?}");
        }
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

    #[test]
    fn cron_schedules() {
        for ok in [
            "* * * * *",
            "0 */2 * * *",
            "5/15 0-23 1,15 JAN-dec mon-FRI",
            "0 0 ? * *",
            "30 4 1 * 0",
            "@hourly",
            "@every 1h30m",
            "@every 1.5s",
            "CRON_TZ=Europe/Berlin 0 3 * * *",
            "TZ=UTC @daily",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "0 0 * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "1-2-3 * * * *",
            "1/2/3 * * * *",
            "a * * * *",
            "-1 * * * *",
            "0 0 * * funday",
            "@fortnightly",
            "@every 1x",
            "@every",
            "CRON_TZ=Mars/Olympus 0 3 * * *",
        ] {
            assert!(check_cron(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn durations() {
        for ok in [
            "0", "1h", "1h30m", "-2.5s", "300ms", "1us", "1µs", ".5h", "1.h",
        ] {
            assert_eq!(parse_go_duration(ok), Ok(()), "{ok}");
        }
        for bad in ["", "1", "h", "1x", ".h", "1h 30m", "+"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn expressions() {
        for ok in [
            "inputs.parameters[\"should-print\"] == 'true'",
            "jsonpath(workflow.parameters.json, '$[0].value') == 'true'",
            "sprig.dict(\"a\", \"b)\")",
            "'it\\'s' + `raw \\`",
            "{\"a\": [1, (2)]}",
        ] {
            assert_eq!(check_expression(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "  ",
            "f(x",
            "f(x))",
            "[1, 2)",
            "'open",
            "\"open\\\"",
            "a]",
        ] {
            assert!(check_expression(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn metric_names() {
        assert!(is_metric_name("result_counter"));
        assert!(is_metric_name("ns:duration_seconds"));
        assert!(is_metric_name("_x"));
        assert!(!is_metric_name(""));
        assert!(!is_metric_name("1abc"));
        assert!(!is_metric_name("messages-printed"));
        assert!(!is_metric_name("a.b"));
    }

    #[test]
    fn timezones() {
        assert!(crate::validate::tz::is_timezone("America/Los_Angeles"));
        assert!(crate::validate::tz::is_timezone("UTC"));
        assert!(crate::validate::tz::is_timezone("US/Pacific"));
        assert!(!crate::validate::tz::is_timezone("America/Los_Angles"));
        assert!(!crate::validate::tz::is_timezone("utc"));
    }

    /// Lints one document; returns (code, path) of the findings.
    fn lint(yaml: &str) -> Vec<(&'static str, String)> {
        let obj: Value = serde_yaml::from_str(yaml).unwrap();
        let objs = [&obj];
        crate::validate::check_objects(&objs, &crate::validate::Options::default())
            .into_iter()
            .map(|f| {
                let p: Vec<String> = f.path.iter().map(|s| format!("{s:?}")).collect();
                (f.code, p.join("."))
            })
            .collect()
    }

    fn codes(yaml: &str) -> Vec<&'static str> {
        lint(yaml).into_iter().map(|(c, _)| c).collect()
    }

    const WF: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wf}\nspec:\n  entrypoint: main\n";

    #[test]
    fn loops() {
        let two = format!("{WF}  templates:\n  - name: main\n    steps:\n    - - name: a\n        template: leaf\n        withItems: [1, 2]\n        withParam: '[3]'\n  - name: leaf\n    container: {{image: busybox}}\n");
        assert_eq!(codes(&two), ["argo-loop"]);
        let empty = two.replace("withItems: [1, 2]", "withItems: []");
        assert!(codes(&empty).is_empty(), "{:?}", codes(&empty));
        let both = two.replace(
            "withItems: [1, 2]\n        withParam: '[3]'",
            "withSequence: {count: '3', end: '5'}",
        );
        assert_eq!(codes(&both), ["argo-loop"]);
        let neither = two.replace(
            "withItems: [1, 2]\n        withParam: '[3]'",
            "withSequence: {start: '3'}",
        );
        assert_eq!(codes(&neither), ["argo-loop"]);
        let ok = two.replace(
            "withItems: [1, 2]\n        withParam: '[3]'",
            "withSequence: {count: '3'}",
        );
        assert!(codes(&ok).is_empty(), "{:?}", codes(&ok));
    }

    #[test]
    fn images() {
        let wf = format!("{WF}  templates:\n  - name: main\n    container: {{command: [echo]}}\n");
        assert_eq!(
            lint(&wf),
            [(
                "argo-image",
                "Key(\"spec\").Key(\"templates\").Index(0).Key(\"container\")".to_string()
            )]
        );
        let defaults = wf.replace(
            "  templates:",
            "  templateDefaults: {container: {image: busybox}}\n  templates:",
        );
        assert!(codes(&defaults).is_empty());
        let script =
            format!("{WF}  templates:\n  - name: main\n    script: {{image: '', source: echo}}\n");
        assert_eq!(codes(&script), ["argo-image"]);
        let param = format!("{WF}  templates:\n  - name: main\n    inputs: {{parameters: [{{name: img, value: x}}]}}\n    container: {{image: '{{{{inputs.parameters.img}}}}'}}\n");
        assert!(codes(&param).is_empty(), "{:?}", codes(&param));
    }

    #[test]
    fn resources() {
        let wf = format!("{WF}  templates:\n  - name: main\n    resource:\n      action: create\n      manifest: |\n        kind: ConfigMap\n        metadata: {{name: '{{{{workflow.name}}}}'}}\n        data: {{a: {{{{workflow.namespace}}}}}}\n");
        assert!(codes(&wf).is_empty(), "{:?}", codes(&wf));
        assert_eq!(
            codes(&wf.replace("action: create", "action: upsert")),
            ["argo-resource"]
        );
        assert_eq!(
            codes(&wf.replace("action: create", "action: '{{workflow.name}}'")).len(),
            0
        );
        let none = wf.replace("manifest: |", "manifestx: |");
        assert_eq!(codes(&none), ["argo-resource"]);
        assert!(codes(&none.replace("action: create", "action: delete")).is_empty());
        assert_eq!(
            codes(&wf.replace("\n        data: {", "\n        data: [{")),
            ["argo-resource"]
        );
        let from = format!("{WF}  templates:\n  - name: main\n    inputs: {{artifacts: [{{name: m, path: /tmp/m}}]}}\n    resource: {{action: apply, manifestFrom: {{artifact: {{name: n}}}}}}\n");
        assert_eq!(codes(&from), ["argo-resource"]);
        assert!(codes(&from.replace("name: n}", "name: m}")).is_empty());
    }

    #[test]
    fn outputs() {
        let wf = format!("{WF}  templates:\n  - name: main\n    container: {{image: busybox}}\n    outputs:\n      parameters:\n      - name: a\n        valueFrom: {{path: /tmp/a}}\n      - name: b\n        valueFrom: {{path: /tmp/b, default: x}}\n      - name: c\n        value: x\n");
        assert!(codes(&wf).is_empty(), "{:?}", codes(&wf));
        assert_eq!(
            codes(&wf.replace("{path: /tmp/a}", "{jsonPath: '{.a}'}")),
            ["argo-output"]
        );
        assert_eq!(
            codes(&wf.replace("{path: /tmp/a}", "{path: /tmp/a, jqFilter: .}")),
            ["argo-output"]
        );
        assert_eq!(
            codes(&wf.replace("{path: /tmp/a}", "{default: x}")),
            ["argo-output"]
        );
        assert_eq!(
            codes(&wf.replace("        value: x\n", "")),
            ["argo-output"]
        );
        assert_eq!(
            codes(&wf.replace(
                "        value: x\n",
                "        value: x\n        valueFrom: {path: /x}\n"
            )),
            ["argo-output"]
        );
        let steps = format!("{WF}  templates:\n  - name: main\n    steps: [[{{name: s, template: leaf}}]]\n    outputs:\n      parameters:\n      - name: a\n        valueFrom: {{parameter: '{{{{steps.s.outputs.parameters.p}}}}'}}\n  - name: leaf\n    container: {{image: busybox}}\n    outputs: {{parameters: [{{name: p, valueFrom: {{path: /p}}}}]}}\n");
        assert!(codes(&steps).is_empty(), "{:?}", codes(&steps));
        assert_eq!(
            codes(&steps.replace("{parameter: ", "{path: ")),
            ["argo-output"]
        );
        let suspend = format!("{WF}  templates:\n  - name: main\n    suspend: {{}}\n    outputs: {{parameters: [{{name: approve, valueFrom: {{supplied: {{}}}}}}]}}\n");
        assert!(codes(&suspend).is_empty(), "{:?}", codes(&suspend));
    }

    #[test]
    fn metrics() {
        let wf = format!("{WF}  templates:\n  - name: main\n    container: {{image: busybox}}\n    metrics:\n      prometheus:\n      - name: result_counter\n        help: Count of step execution by result status\n        labels: [{{key: name, value: x}}]\n        counter: {{value: '1'}}\n");
        assert!(codes(&wf).is_empty(), "{:?}", codes(&wf));
        assert_eq!(
            codes(&wf.replace("result_counter", "result-counter")),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace(
                "        help: Count of step execution by result status\n",
                ""
            )),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace("{key: name,", "{key: my-name,")),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace("counter: {value: '1'}", "counter: {}")),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace("counter: {value: '1'}", "summary: {}")),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace(
                "counter: {value: '1'}",
                "counter: {value: '1'}\n        gauge: {value: '1'}"
            )),
            ["argo-metric"]
        );
        assert_eq!(
            codes(&wf.replace(
                "counter: {value: '1'}",
                "gauge: {value: '{{resourcesDuration.cpu}}', realtime: true}"
            )),
            ["argo-metric"]
        );
        // Workflow-level metrics follow the same rules.
        let top = format!("{WF}  metrics: {{prometheus: [{{name: bad-name, help: h, gauge: {{value: '1'}}}}]}}\n  templates:\n  - name: main\n    container: {{image: busybox}}\n");
        assert_eq!(codes(&top), ["argo-metric"]);
    }

    #[test]
    fn cron_workflows() {
        let cron = "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: c}\nspec:\n  schedule: '0 * * * *'\n  timezone: Europe/Berlin\n  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 0\n  workflowSpec:\n    entrypoint: main\n    templates:\n    - name: main\n      container: {image: busybox}\n";
        assert!(codes(cron).is_empty(), "{:?}", codes(cron));
        assert_eq!(
            codes(&cron.replace("'0 * * * *'", "'0 * * *'")),
            ["argo-cron"]
        );
        assert_eq!(
            codes(&cron.replace("  schedule: '0 * * * *'\n", "")),
            ["argo-cron"]
        );
        assert_eq!(
            codes(&cron.replace(
                "  schedule: '0 * * * *'\n",
                "  schedule: '@daily'\n  schedules: ['@hourly']\n"
            )),
            ["argo-cron"]
        );
        assert!(codes(&cron.replace(
            "  schedule: '0 * * * *'\n",
            "  schedules: ['@hourly', '*/5 * * * *']\n"
        ))
        .is_empty());
        assert_eq!(
            codes(&cron.replace("Europe/Berlin", "Europe/Berln")),
            ["argo-cron"]
        );
        assert_eq!(codes(&cron.replace("Forbid", "Never")), ["argo-cron"]);
        assert_eq!(
            codes(&cron.replace("startingDeadlineSeconds: 0", "startingDeadlineSeconds: -5")),
            ["argo-cron"]
        );
    }

    #[test]
    fn expression_tags() {
        let wf = format!("{WF}  templates:\n  - name: main\n    container:\n      image: busybox\n      args: [\"{{{{= sprig.upper('a') }}}}\"]\n");
        assert!(codes(&wf).is_empty(), "{:?}", codes(&wf));
        assert_eq!(
            codes(&wf.replace("upper('a')", "upper('a'")),
            ["argo-expression"]
        );
        assert_eq!(
            codes(&wf.replace("= sprig.upper('a') ", "=")),
            ["argo-expression"]
        );
    }
}
