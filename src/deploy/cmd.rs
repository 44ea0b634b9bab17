//! `kpipe deploy`: arguments and the command's run function (`cli` only dispatches here).

use super::confirm::{self, Progress};
use super::plan::{self, Op};
use super::wait::{self, Target};
use super::{
    expected_outcome, ApplyOptions, Deployer, Kapp, KubectlApply, Outcome, SessionDeploy,
    APP_LABEL, SESSION_LABEL,
};
use crate::cli::RenderArgs;
use crate::diff::ops::{diff_session, LiveIndex, Options as DiffOptions};
use crate::diff::ownership::{self, Ownership};
use crate::diff::report::{self, Format};
use crate::diff::DiffResult;
use crate::exit;
use crate::exit::EnvError;
use crate::kube::Kube;
use crate::lookup::Lookup;
use crate::manifest::{is_kapp_config, ManifestSet, Resource, ResourceId, Scopes, SourcedDoc};
use anyhow::{bail, Context, Result};
use serde_yaml::{Mapping, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Test-only hook: when set to a path, deploy writes `<path>.ready` after the diff (and the
/// confirmation) and waits until `<path>` exists before applying, so a test can change live
/// objects between diff and apply. Not for users.
pub const PAUSE_ENV: &str = "KPIPE_TEST_PAUSE_BEFORE_APPLY";

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployerKind {
    /// `kapp deploy -a <app> -f - -y` (default when kapp is on PATH)
    Kapp,
    /// `kubectl apply --server-side --field-manager=kpipe -f -`
    Kubectl,
}

fn duration_arg(s: &str) -> std::result::Result<Duration, String> {
    wait::parse_duration(s).map_err(|e| e.to_string())
}

#[derive(clap::Args, Debug)]
#[command(about = crate::cli::about::DEPLOY)]
pub struct DeployCmd {
    #[command(flatten)]
    pub inputs: RenderArgs,

    /// How to apply: kapp (default when `kapp` is on PATH) or kubectl (server-side apply)
    #[arg(long, value_enum)]
    pub deployer: Option<DeployerKind>,

    /// App name (kapp app, or the kpipe.dev/app label); `{session}` is replaced by the session
    /// name. Default: <pipeline folder name>-<session>
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,

    /// Apply without asking (required when stdin is not a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Show the diff and stop (exit 1 if there are changes, like `kpipe diff`)
    #[arg(long)]
    pub dry_run: bool,

    /// Delete resources of this app that are no longer rendered (shown as deletes in the diff)
    #[arg(long)]
    pub prune: bool,

    /// Wait until every kapp-controller App deployed reports ReconcileSucceeded
    #[arg(long)]
    pub wait: bool,

    /// Longest wait with --wait (30s, 5m, 1h)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration_arg)]
    pub timeout: Duration,

    /// Sessions applied at the same time
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// kubeconfig file (passed to kubectl and kapp)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// kubeconfig context (kubectl --context, kapp --kubeconfig-context)
    #[arg(long = "kube-context", value_name = "CONTEXT")]
    pub kube_context: Option<String>,

    /// Skip the lint checks that run before the diff (errors refuse to deploy)
    #[arg(long)]
    pub no_lint: bool,

    #[command(flatten)]
    pub lint: crate::validate::cli::LintFlags,

    /// How often --wait polls
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration_arg, hide = true)]
    pub poll_interval: Duration,
}

/// The pipeline folder's own name (`fixtures/ml-pipeline` → `ml-pipeline`).
fn folder_name(dir: &Path) -> Result<String> {
    let abs = dir
        .canonicalize()
        .with_context(|| format!("{}: pipeline folder not found", dir.display()))?;
    Ok(abs
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "kpipe".into()))
}

/// The app name of one session.
fn app_name(flag: Option<&str>, folder: &str, session: &str, many: bool) -> Result<String> {
    match flag {
        Some(a) if a.contains("{session}") => Ok(a.replace("{session}", session)),
        Some(_) if many => {
            bail!("--app names one app, but several sessions are deployed: put {{session}} in it (e.g. --app 'ml-{{session}}')")
        }
        Some("") => bail!("--app must not be empty"),
        Some(a) => Ok(a.to_string()),
        None => Ok(format!("{folder}-{session}")),
    }
}

/// A label value Kubernetes accepts: ≤ 63 characters, alphanumerics and `-_.` inside.
fn check_label_value(what: &str, v: &str) -> Result<()> {
    let ok_chars = v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ends = v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric());
    if v.len() > 63 || !ok_chars || !ends {
        bail!("{what} {v:?} cannot be a label value (at most 63 characters: letters, digits, `-`, `_`, `.`; starting and ending with a letter or digit); choose one with --app");
    }
    Ok(())
}

fn add_labels(obj: &mut Value, app: &str, session: &str) {
    let Some(Value::Mapping(meta)) = obj.at_mut("metadata") else {
        return;
    };
    let labels = meta
        .entry("labels".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !labels.is_mapping() {
        *labels = Value::Mapping(Mapping::new());
    }
    if let Value::Mapping(l) = labels {
        l.insert(APP_LABEL.into(), Value::from(app));
        l.insert(SESSION_LABEL.into(), Value::from(session));
    }
}

/// The objects the diff compares and the kubectl deployer applies: kapp Configs split out
/// (they configure the diff), namespace-less namespaced objects placed in `ns`, kpipe labels
/// added when `labels`.
fn desired_objects(
    set: &ManifestSet,
    ns: &str,
    scopes: &Scopes,
    labels: Option<(&str, &str)>,
) -> Result<(Vec<Resource>, Vec<SourcedDoc>)> {
    let mut scopes = scopes.clone();
    scopes.learn_crds(set.resources.iter().map(|r| &r.object));
    let mut out = Vec::new();
    let mut configs = Vec::new();
    for r in &set.resources {
        if is_kapp_config(&r.object) {
            configs.push(SourcedDoc {
                rest: None,
                value: r.object.clone(),
                source: r.source.clone(),
            });
            continue;
        }
        let mut r = r.clone();
        if r.id.namespace.is_none() && !scopes.is_cluster_scoped(&r.id.group, &r.id.kind) {
            r.set_namespace(ns);
        }
        if let Some((app, session)) = labels {
            let mut obj = r.object;
            add_labels(&mut obj, app, session);
            r = Resource::new(obj, r.source)?;
        }
        out.push(r);
    }
    Ok((out, configs))
}

/// kapp's app record (`ConfigMap <app>`): the value of its ownership label.
fn kapp_label_value(record: Option<&Value>) -> Option<String> {
    let spec = record?.at("data")?.at("spec")?.as_str()?;
    let spec: serde_json::Value = serde_json::from_str(spec).ok()?;
    spec.get("labelValue")?.as_str().map(str::to_string)
}

fn pause_for_tests() -> Result<()> {
    let Some(path) = std::env::var_os(PAUSE_ENV).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut ready = path.clone().into_os_string();
    ready.push(".ready");
    std::fs::write(&ready, b"").context("test pause hook")?;
    let start = std::time::Instant::now();
    while !path.exists() {
        if start.elapsed() > Duration::from_secs(120) {
            bail!("{PAUSE_ENV}: {} did not appear", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Renders every session and lints it as `kpipe render` does (unless `--no-lint`): findings go
/// to stderr, and errors stop the deploy (exit 2) before the cluster is contacted.
fn render_and_lint(
    pipeline: &crate::render::Pipeline,
    cmd: &DeployCmd,
) -> Result<Vec<ManifestSet>> {
    use crate::validate;
    let linter = if cmd.no_lint {
        None
    } else {
        Some(validate::pipeline::Linter::new(pipeline, &cmd.lint)?)
    };
    let results = pipeline.map_sessions(|s, set| {
        let findings = match &linter {
            Some(l) => l.check_session(pipeline, s, &set)?,
            None => Vec::new(),
        };
        Ok((set, findings))
    })?;
    let (sets, per_session): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    if per_session
        .iter()
        .any(|f: &Vec<validate::Finding>| !f.is_empty())
    {
        let findings = validate::pipeline::merge_sessions(per_session);
        for f in &findings {
            eprintln!("{}", validate::report::line(f));
        }
        if validate::has_errors(&findings) {
            let n = findings
                .iter()
                .filter(|f| f.severity == validate::Severity::Error)
                .count();
            bail!(
                "lint found {n} error(s); nothing deployed (see above; --no-lint skips the checks)"
            );
        }
    }
    Ok(sets)
}

/// `kpipe deploy`: render, diff, confirm, apply, wait. Returns the exit code.
pub fn run(cmd: &DeployCmd, out: &mut dyn Write) -> Result<u8> {
    let pipeline = cmd.inputs.pipeline()?;
    let sets = render_and_lint(&pipeline, cmd)?;
    let kind = cmd.deployer.unwrap_or(if super::kapp::kapp_available() {
        DeployerKind::Kapp
    } else {
        DeployerKind::Kubectl
    });
    let kube = Kube::new(cmd.kubeconfig.clone(), cmd.kube_context.clone())?;
    let ns = match &cmd.inputs.namespace {
        Some(n) => n.clone(),
        None => kube
            .context_namespace()?
            .unwrap_or_else(|| "default".into()),
    };
    let folder = folder_name(&cmd.inputs.dir)?;
    let scopes = Scopes::new(&cmd.inputs.cluster_scoped);
    let many = sets.len() > 1;

    // Desired state and live objects per session.
    struct Pending {
        set: ManifestSet,
        app: String,
        desired: Vec<Resource>,
        configs: Vec<SourcedDoc>,
        live: Vec<Value>,
        ownership: Ownership,
    }
    let mut pending = Vec::with_capacity(sets.len());
    for set in sets {
        let app = app_name(cmd.app.as_deref(), &folder, &set.session, many)?;
        let labels =
            (kind == DeployerKind::Kubectl).then_some((app.as_str(), set.session.as_str()));
        if labels.is_some() {
            check_label_value("app name", &app)?;
            check_label_value("session name", &set.session)?;
        }
        let (desired, configs) = desired_objects(&set, &ns, &scopes, labels)?;
        let mut wanted: Vec<(String, ResourceId)> = desired
            .iter()
            .map(|r| (r.api_version.clone(), r.id.clone()))
            .collect();
        let record_id = ResourceId {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: Some(ns.clone()),
            name: app.clone(),
        };
        if kind == DeployerKind::Kapp {
            wanted.push(("v1".into(), record_id.clone()));
        }
        let mut live = plan::fetch(&kube, &wanted)
            .with_context(|| format!("fetching live objects of session {}", set.session))?;
        let ownership = match kind {
            DeployerKind::Kubectl => Ownership::Labels {
                key: APP_LABEL.into(),
                value: app.clone(),
            },
            DeployerKind::Kapp => {
                let record = live.iter().position(|o| {
                    ResourceId::of(o).as_ref() == Some(&record_id)
                        && crate::live::Meta::label(o, crate::diff::ops::IS_APP_LABEL).is_some()
                });
                let value = record.and_then(|i| kapp_label_value(live.get(i)));
                if let Some(i) = record {
                    live.remove(i);
                }
                Ownership::App {
                    key: ownership::APP_LABEL.into(),
                    value,
                }
            }
        };
        pending.push(Pending {
            set,
            app,
            desired,
            configs,
            live,
            ownership,
        });
    }
    // One listing of every labelled object of every session (the candidates for deletes).
    let key = pending
        .first()
        .map(|p| p.ownership.key().to_string())
        .unwrap_or_default();
    let values: Vec<String> = pending
        .iter()
        .filter_map(|p| match &p.ownership {
            Ownership::App { value, .. } => value.clone(),
            Ownership::Labels { value, .. } => Some(value.clone()),
            Ownership::Inferred => None,
        })
        .collect();
    let owned = plan::list_labelled(&kube, &key, &values)
        .context("listing objects owned by the deployed apps")?;
    let mut diffs = DiffResult::default();
    let mut sessions = Vec::with_capacity(pending.len());
    let mut conflicts = Vec::new();
    for p in pending {
        let set = ManifestSet {
            session: p.set.session.clone(),
            resources: p.desired,
        };
        let live: Vec<Value> = p.live.into_iter().chain(owned.iter().cloned()).collect();
        let opts = DiffOptions {
            ownership: p.ownership,
            against_original: false,
        };
        let diff = diff_session(set.clone(), &p.configs, LiveIndex::new(live.clone()), &opts)
            .with_context(|| format!("diffing session {}", set.session))?;
        let (plan, c) = plan::from_diff(&diff, &live);
        conflicts.extend(
            c.into_iter()
                .map(|c| format!("session {}: {c}", set.session)),
        );
        diffs.sessions.push(diff);
        sessions.push(SessionDeploy {
            session: set.session.clone(),
            app: p.app,
            rendered: p.set,
            desired: set
                .resources
                .into_iter()
                .map(|r| (r.id, r.object))
                .collect(),
            plan,
        });
    }

    // The diff, exactly as `kpipe diff` prints it.
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let ropts = report::Options {
        color,
        ..report::Options::default()
    };
    report::write(&diffs, Format::Text, &ropts, out).context("writing the diff")?;
    out.flush().context("writing the diff")?;
    if !diffs.has_changes() {
        writeln!(out, "No changes: nothing to deploy.")?;
        return Ok(exit::OK);
    }
    if !conflicts.is_empty() {
        return Err(anyhow::Error::new(EnvError(format!(
            "not deploying: {}",
            conflicts.join("; ")
        ))));
    }
    if cmd.dry_run {
        writeln!(out, "Dry run: nothing applied.")?;
        return Ok(exit::CHANGES);
    }
    if !cmd.prune {
        for s in &sessions {
            for c in s.plan.changes.iter().filter(|c| c.op == Op::Delete) {
                writeln!(
                    out,
                    "not pruned: {} (session {}; --prune deletes it)",
                    c.id, s.session
                )?;
            }
        }
    }
    let work = |s: &SessionDeploy| {
        s.plan
            .changes
            .iter()
            .any(|c| matches!(c.op, Op::Create | Op::Update) || (cmd.prune && c.op == Op::Delete))
    };
    if !sessions.iter().any(work) {
        writeln!(out, "Nothing to apply.")?;
        return Ok(exit::OK);
    }
    if !confirm::confirm(cmd.yes)? {
        writeln!(out, "Stopped: nothing applied.")?;
        return Ok(exit::CHANGES);
    }
    pause_for_tests()?;
    out.flush()?;

    let deployer: Box<dyn Deployer> = match kind {
        DeployerKind::Kapp => Box::new(Kapp::new(kube.kubeconfig.clone(), kube.context.clone())),
        DeployerKind::Kubectl => Box::new(KubectlApply { kube: kube.clone() }),
    };
    let opts = ApplyOptions {
        prune: cmd.prune,
        namespace: cmd.inputs.namespace.clone(),
        prefix_output: many,
    };
    let results = apply_all(&sessions, deployer.as_ref(), &opts, cmd, &kube, &work);

    if !many {
        let (s, r) = (&sessions[0], results.into_iter().next());
        return match r {
            Some(Ok(SessionResult::Applied(o))) => {
                writeln!(
                    out,
                    "Deployed session {} (app {}) with {}: {}",
                    s.session,
                    s.app,
                    deployer.name(),
                    o.summary()
                )?;
                Ok(exit::OK)
            }
            Some(Ok(SessionResult::Unchanged)) | None => Ok(exit::OK),
            Some(Err(e)) => Err(e),
        };
    }
    write_table(&sessions, &results, out)?;
    Ok(if results.iter().any(Result::is_err) {
        exit::ENVIRONMENT
    } else {
        exit::OK
    })
}

enum SessionResult {
    Applied(Outcome),
    Unchanged,
}

/// Applies every session with changes, `--parallel` at a time; one failure does not stop the
/// others. Results in session order.
fn apply_all(
    sessions: &[SessionDeploy],
    deployer: &dyn Deployer,
    opts: &ApplyOptions,
    cmd: &DeployCmd,
    kube: &Kube,
    work: &(dyn Fn(&SessionDeploy) -> bool + Sync),
) -> Vec<Result<SessionResult>> {
    let progress = Progress::new();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<SessionResult>>>> =
        sessions.iter().map(|_| Mutex::new(None)).collect();
    let total = sessions.len();
    let one = |s: &SessionDeploy| -> Result<SessionResult> {
        if !work(s) {
            return Ok(SessionResult::Unchanged);
        }
        let outcome = deployer.apply(s, opts)?;
        if cmd.wait {
            let targets: Vec<Target> = s
                .desired
                .iter()
                .filter(|(id, _)| id.group == wait::APP_GROUP && id.kind == wait::APP_KIND)
                .map(|(id, o)| Target {
                    api_version: o
                        .at("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("kappctrl.k14s.io/v1alpha1")
                        .to_string(),
                    namespace: id.namespace.clone().unwrap_or_default(),
                    name: id.name.clone(),
                })
                .collect();
            wait::wait_for(kube, &targets, cmd.timeout, cmd.poll_interval, &progress)
                .with_context(|| format!("session {}", s.session))?;
        }
        Ok(SessionResult::Applied(outcome))
    };
    std::thread::scope(|scope| {
        for _ in 0..usize::from(cmd.parallel).min(total.max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(s) = sessions.get(i) else { break };
                let r = one(s);
                if let (Err(e), true) = (&r, total > 1) {
                    progress.clear();
                    eprintln!("error: session {}: {e:#}", s.session);
                }
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(r);
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                if total > 1 {
                    progress.tick(&format!("deployed {n}/{total} sessions"));
                }
            });
        }
    });
    progress.clear();
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow::anyhow!("internal error: session not run")))
        })
        .collect()
}

fn write_table(
    sessions: &[SessionDeploy],
    results: &[Result<SessionResult>],
    out: &mut dyn Write,
) -> Result<()> {
    let rows: Vec<(String, String, String)> = sessions
        .iter()
        .zip(results)
        .map(|(s, r)| {
            let result = match r {
                Ok(SessionResult::Applied(o)) => format!("deployed: {}", o.summary()),
                Ok(SessionResult::Unchanged) => {
                    let o = expected_outcome(&s.plan, false);
                    if o.not_pruned > 0 {
                        format!("unchanged, {} not pruned", o.not_pruned)
                    } else {
                        "unchanged".into()
                    }
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    let first = msg.lines().next().unwrap_or_default().to_string();
                    format!("FAILED: {first}")
                }
            };
            (s.session.clone(), s.app.clone(), result)
        })
        .collect();
    let ws = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(7);
    let wa = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(3);
    writeln!(out)?;
    writeln!(out, "{:ws$}  {:wa$}  Result", "Session", "App")?;
    for (s, a, r) in &rows {
        writeln!(out, "{s:ws$}  {a:wa$}  {r}")?;
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    writeln!(
        out,
        "{} session(s): {} deployed or unchanged, {failed} failed",
        rows.len(),
        rows.len() - failed
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names() {
        assert_eq!(app_name(None, "ml", "u1", true).unwrap(), "ml-u1");
        assert_eq!(
            app_name(Some("x-{session}"), "ml", "u1", true).unwrap(),
            "x-u1"
        );
        assert_eq!(app_name(Some("x"), "ml", "u1", false).unwrap(), "x");
        assert!(app_name(Some("x"), "ml", "u1", true).is_err());
        assert!(check_label_value("app", "ml-pipeline-user1").is_ok());
        assert!(check_label_value("app", "-bad").is_err());
        assert!(check_label_value("app", &"a".repeat(64)).is_err());
    }
}
