//! `kpipe template`: the template-step mode. ytt's flag names and meanings; the YAML stream on
//! stdout only; diagnostics on stderr; non-zero exit on any error. Used as the `generate`
//! command of an Argo CD config-management plugin, in CI, and over kapp-controller's fetch
//! layout (`0/`, `1/`, …).
//!
//! Inputs (`-f PATH`, repeatable; a folder is walked in sorted order, hidden entries such as
//! `.git/` skipped; `-` is stdin, known as `stdin.yaml`). Like ytt, a file given directly is
//! known by its base name and a file under a folder by its path relative to that folder; those
//! names (and the path as given) are what `{% include %}` uses. Each file is one of:
//! - values: `values.yaml` / `values.yml`, or any YAML file holding a ytt `#@data/values`
//!   annotation; merged in input order, before the data-value flags;
//! - skipped: `sessions.yaml` / `sessions.yml` (a `kpipe render` sessions file; here the session
//!   comes from data values) and ytt `#@data/values-schema` files (a warning on stderr);
//! - partial: a YAML file whose name starts with `_`: included only, never output;
//! - template: any other `*.yaml` / `*.yml` file: rendered, its documents output in order;
//! - data: everything else (no YAML extension: `1/main-user1`, `README.md`, JSON): never
//!   rendered or output, as ytt treats data files; reachable by name from `{% include %}`.
//!
//! A template holding a ytt annotation line (`#@ …`) is an error: kpipe templates are Jinja,
//! and silently dropping ytt logic would deploy something else.
//!
//! Data values, merged in ytt's order (later wins): values files from `-f`, then
//! `--data-values-file` (plain YAML, left to right), `--data-values-env`, `--data-values-env-yaml`,
//! `-v`, `--data-value-yaml`, `--data-value-file`. Maps merge deeply; lists and scalars replace.
//!
//! Session variables: from the data-value flags above (not from `-f` values files, which are
//! themselves rendered over the session), a top-level key named after an Educates session
//! variable (`-v session_name=user1`, `-v ingress_domain=example.com`) and every entry of a
//! `session` map (`-v session.team=blue`) is a session variable. Below those, Argo CD's
//! `ARGOCD_ENV_<NAME>` variables (an Application's `plugin.env`) become the session variable
//! `<name>` in lower case (`ARGOCD_ENV_SESSION_NAME` → `session_name`, resolving
//! `{{ session_name }}` and `${SESSION_NAME}`). `--var KEY=VALUE` (as in `kpipe render`) wins
//! over both. Exactly one session is rendered; without a name it is `default`.

use crate::manifest;
use crate::output::{self, SessionOutput};
use crate::render::{Pipeline, RenderRequest};
use crate::session::{self, SessionOptions, EDUCATES_VARS};
use crate::template::{Renderer, Root, SourceFile, TemplateOptions};
use crate::values::{self, Assignment, PathStep, ValuesFile};
use crate::yaml::{self, Limits};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde_yaml::{Mapping, Value};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment prefix Argo CD gives an Application's `spec.source.plugin.env` entries.
pub const ARGOCD_ENV_PREFIX: &str = "ARGOCD_ENV_";

#[derive(Args, Debug, Clone, Default)]
#[command(
    about = crate::cli::about::TEMPLATE,
    after_help = "Files: values.yaml/values.yml and files with a `#@data/values` line are values; \
sessions.yaml is skipped; *.yaml/*.yml files are templates (names starting with `_` are partials); \
files without a YAML extension are data files (never output; usable from {% include %}); \
hidden entries (.git/) are skipped.\n\
Session: -v session_name=NAME (any Educates variable name at the top level, or session.KEY=V), \
or ARGOCD_ENV_<NAME> environment variables (ARGOCD_ENV_SESSION_NAME → session_name; flags win), \
or --var KEY=VALUE as in kpipe render.\n\
stdout carries only the YAML stream; messages go to stderr. Exit 2 on bad input."
)]
pub struct TemplateCmd {
    /// Template, values or data file, or folder (walked in sorted order); `-` reads stdin
    #[arg(short = 'f', long = "file", value_name = "PATH", required = true)]
    pub files: Vec<String>,

    /// Plain YAML data values file (no templating); later files win
    #[arg(long = "data-values-file", value_name = "FILE")]
    pub data_values_files: Vec<PathBuf>,

    /// String data value; `.` nests: -v session_name=user1, -v db.host=x
    #[arg(short = 'v', long = "data-value", value_name = "KEY=VALUE")]
    pub data_value: Vec<String>,

    /// Data value parsed as YAML: --data-value-yaml 'steps=[a, b]'
    #[arg(long = "data-value-yaml", value_name = "KEY=YAML")]
    pub data_value_yaml: Vec<String>,

    /// Data value holding a file's whole content as a string
    #[arg(long = "data-value-file", value_name = "KEY=PATH")]
    pub data_value_file: Vec<String>,

    /// Data values from environment variables PREFIX_<key> (`__` nests); values are strings
    #[arg(long = "data-values-env", value_name = "PREFIX")]
    pub data_values_env: Vec<String>,

    /// Like --data-values-env, values parsed as YAML
    #[arg(long = "data-values-env-yaml", value_name = "PREFIX")]
    pub data_values_env_yaml: Vec<String>,

    /// Set a session variable, as `kpipe render --var` does (wins over data values and
    /// ARGOCD_ENV_*); also resolves ${KEY}
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Namespace for namespaced resources written without one
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Treat KIND (or KIND.group) as cluster-scoped, beyond the built-in table (repeatable)
    #[arg(long = "cluster-scoped", value_name = "KIND")]
    pub cluster_scoped: Vec<String>,
}

/// What a file among the inputs is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Template,
    Partial,
    Values,
    Data,
    Skipped,
}

/// One input file, read into memory.
#[derive(Debug, Clone)]
pub struct Input {
    /// The path as the user can find it (`0/job.yaml`, `stdin.yaml`).
    pub display: String,
    /// ytt's name: base name of a file given directly, path relative to a given folder.
    pub logical: String,
    pub text: String,
    pub role: Role,
    /// A warning about how the file is treated, for stderr.
    pub warning: Option<String>,
}

/// The YAML stream of a `kpipe template` run, and warnings for stderr.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub yaml: String,
    pub warnings: Vec<String>,
}

/// Runs `kpipe template`; returns the YAML stream and warnings.
pub fn run(cmd: &TemplateCmd) -> Result<Rendered> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut stdin = || -> Result<String> {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("stdin.yaml: cannot read stdin")?;
        Ok(s)
    };
    render(cmd, &env, &mut stdin)
}

/// Renders with an explicit environment and stdin (tests call this directly).
pub fn render(
    cmd: &TemplateCmd,
    env: &[(String, String)],
    stdin: &mut dyn FnMut() -> Result<String>,
) -> Result<Rendered> {
    let inputs = collect(&cmd.files, stdin)?;
    let warnings: Vec<String> = inputs.iter().filter_map(|i| i.warning.clone()).collect();
    for i in inputs.iter().filter(|i| i.role == Role::Template) {
        check_no_ytt(i)?;
    }
    let flag_values = data_values(cmd, env)?;
    let mut vars = argocd_vars(env);
    vars.extend(session_vars(&flag_values)?);
    for v in &cmd.vars {
        vars.push(session::parse_var(v)?);
    }

    let limits = Limits::default();
    let req = RenderRequest {
        dir: PathBuf::from("."),
        values_files: Vec::new(),
        assignments: flatten(&flag_values),
        sessions: SessionOptions::default(),
        namespace: cmd.namespace.clone(),
        cluster_scoped: cmd.cluster_scoped.clone(),
        limits,
        template: TemplateOptions::default(),
        output: crate::limits::OutputLimits::default(),
    };
    let sessions = session::build(&SessionOptions {
        vars,
        ..SessionOptions::default()
    })?;
    let mut sources = Vec::new();
    let mut values_files = Vec::new();
    for i in inputs {
        match i.role {
            Role::Values => {
                let templated =
                    i.text.contains("${") || i.text.contains("{{") || i.text.contains("{%");
                values_files.push(ValuesFile {
                    path: PathBuf::from(&i.display),
                    display: i.display,
                    text: i.text,
                    templated,
                });
            }
            Role::Skipped => {}
            Role::Template | Role::Partial | Role::Data => {
                let mut aliases = vec![i.logical.clone()];
                if let Some(rest) = i.display.strip_prefix("./") {
                    aliases.push(rest.to_string());
                }
                sources.push(SourceFile {
                    name: i.display,
                    aliases,
                    text: i.text,
                    output: i.role == Role::Template,
                });
            }
        }
    }
    let renderer = Renderer::from_sources(sources, &req.template)?;
    let root = Root::new(Path::new("."))?;
    let pipeline = Pipeline::from_parts(root, renderer, values_files, sessions, &req)?;
    let outs: Vec<SessionOutput> =
        pipeline.map_sessions(|_, set| SessionOutput::from_set(set, false))?;
    Ok(Rendered {
        yaml: output::to_stream(&outs),
        warnings,
    })
}

/// Reads every `-f` input, in order, and gives each its role.
pub fn collect(paths: &[String], stdin: &mut dyn FnMut() -> Result<String>) -> Result<Vec<Input>> {
    let mut out: Vec<Input> = Vec::new();
    let mut stdin_used = false;
    for p in paths {
        if p == "-" {
            if stdin_used {
                bail!("-f -: stdin can be given only once");
            }
            stdin_used = true;
            let text = stdin()?;
            out.push(classify("stdin.yaml".into(), "stdin.yaml".into(), text));
            continue;
        }
        let path = Path::new(p);
        let meta = std::fs::metadata(path)
            .with_context(|| format!("{p}: no such file or folder (given with -f)"))?;
        if meta.is_file() {
            let logical = path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_else(|| p.clone());
            out.push(read_input(path, p.clone(), logical)?);
        } else if meta.is_dir() {
            walk(path, p, &mut out)?;
        } else {
            bail!("{p}: not a file or folder (given with -f)");
        }
    }
    // The same file given twice would render twice; logical names may repeat across folders
    // (the first one wins for `{% include %}`; the others are reachable by their path).
    let mut seen: HashSet<&str> = HashSet::new();
    for i in &out {
        if !seen.insert(&i.display) {
            bail!("{}: given more than once with -f", i.display);
        }
    }
    Ok(out)
}

fn read(path: &Path, display: &str) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{display}: cannot read"))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{display}: not UTF-8 text"))
}

/// Reads and classifies one file. A data file that is not UTF-8 (an image, an archive) is
/// skipped: templates cannot include it anyway.
fn read_input(path: &Path, display: String, logical: String) -> Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("{display}: cannot read"))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(classify(display, logical, text)),
        Err(_) if !is_yaml(&logical) => Ok(Input {
            display,
            logical,
            text: String::new(),
            role: Role::Skipped,
            warning: None,
        }),
        Err(_) => bail!("{display}: not UTF-8 text"),
    }
}

/// Adds the files under `dir`, sorted by name, skipping hidden entries; symlinks must stay
/// inside `dir`.
fn walk(dir: &Path, shown: &str, out: &mut Vec<Input>) -> Result<()> {
    let canonical = dir
        .canonicalize()
        .with_context(|| format!("{shown}: cannot open folder"))?;
    let base = shown.trim_end_matches('/');
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.with_context(|| format!("{shown}: cannot list folder"))?;
        let rel = match entry.path().strip_prefix(dir) {
            Ok(r) if !r.as_os_str().is_empty() => r.to_string_lossy().replace('\\', "/"),
            _ => continue,
        };
        let display = if base.is_empty() {
            format!("/{rel}")
        } else {
            format!("{base}/{rel}")
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            let real = entry
                .path()
                .canonicalize()
                .with_context(|| format!("{display}: broken symlink"))?;
            if !real.starts_with(&canonical) {
                bail!("{display}: symlink leads outside {shown}");
            }
            if !real.is_file() {
                continue;
            }
        }
        out.push(read_input(entry.path(), display, rel)?);
    }
    Ok(())
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// The role of a file from its name and, for YAML, its ytt annotations.
pub fn classify(display: String, logical: String, text: String) -> Input {
    let base = logical.rsplit('/').next().unwrap_or(&logical).to_string();
    let mut warning = None;
    let role = if !is_yaml(&base) {
        Role::Data
    } else if base == "sessions.yaml" || base == "sessions.yml" {
        Role::Skipped
    } else if has_annotation(&text, "data/values-schema") {
        warning = Some(format!(
            "{display}: ytt data values schema ignored (kpipe has no ytt schemas)"
        ));
        Role::Skipped
    } else if base == "values.yaml" || base == "values.yml" || has_annotation(&text, "data/values")
    {
        Role::Values
    } else if base.starts_with('_') {
        Role::Partial
    } else {
        Role::Template
    };
    Input {
        display,
        logical,
        text,
        role,
        warning,
    }
}

/// True when a line is the ytt annotation `#@<name>` (arguments allowed, nothing longer).
fn has_annotation(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        l.trim_start()
            .strip_prefix("#@")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(name))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '(', '\t']))
    })
}

/// Fails on a ytt annotation line in a template.
fn check_no_ytt(i: &Input) -> Result<()> {
    for (n, l) in i.text.lines().enumerate() {
        if l.trim_start().starts_with("#@") {
            bail!(
                "{}:{}: ytt annotation in a kpipe template: kpipe templates are Jinja ({{{{ }}}}, {{% %}}); render ytt templates with ytt\n  {} | {}",
                i.display,
                n + 1,
                n + 1,
                l.trim_end()
            );
        }
    }
    Ok(())
}

/// The data values of the flags, merged in ytt's order.
pub fn data_values(cmd: &TemplateCmd, env: &[(String, String)]) -> Result<Value> {
    let mut merged = Value::Mapping(Mapping::new());
    for f in &cmd.data_values_files {
        let shown = f.display().to_string();
        let text = read(f, &shown).context("--data-values-file")?;
        if let Some((n, _)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.trim_start().starts_with("#@"))
        {
            bail!(
                "{shown}:{}: --data-values-file takes plain YAML; ytt annotations are not allowed",
                n + 1
            );
        }
        values::merge(
            &mut merged,
            values::parse_values(&shown, &text, Limits::default())?,
        );
    }
    let mut assignments: Vec<Assignment> = Vec::new();
    for prefix in &cmd.data_values_env {
        assignments.extend(values::from_env(no_lib(prefix)?, env.iter().cloned()));
    }
    for prefix in &cmd.data_values_env_yaml {
        for mut a in values::from_env(no_lib(prefix)?, env.iter().cloned()) {
            if let Value::String(s) = &a.value {
                a.value = yaml::parse_one(s, Limits::default()).map_err(|e| {
                    anyhow::anyhow!(
                        "--data-values-env-yaml {prefix}: {}: value is not YAML: {}",
                        key_name(&a.path),
                        e.message
                    )
                })?;
            }
            assignments.push(a);
        }
    }
    for arg in &cmd.data_value {
        let (path, raw) = split_kv("-v", arg)?;
        assignments.push(Assignment {
            path,
            value: Value::String(raw.to_string()),
        });
    }
    for arg in &cmd.data_value_yaml {
        let (path, raw) = split_kv("--data-value-yaml", arg)?;
        let value = yaml::parse_one(raw, Limits::default()).map_err(|e| {
            anyhow::anyhow!(
                "--data-value-yaml {arg:?}: value is not YAML: {}",
                e.message
            )
        })?;
        assignments.push(Assignment { path, value });
    }
    for arg in &cmd.data_value_file {
        let (path, file) = split_kv("--data-value-file", arg)?;
        let text = read(Path::new(file), file).context("--data-value-file")?;
        assignments.push(Assignment {
            path,
            value: Value::String(text),
        });
    }
    for a in &assignments {
        values::apply(&mut merged, a)?;
    }
    Ok(merged)
}

fn no_lib(s: &str) -> Result<&str> {
    if s.starts_with('@') {
        bail!("{s:?}: ytt library references (@lib:) are not supported");
    }
    Ok(s)
}

fn key_name(path: &[PathStep]) -> String {
    path.iter()
        .map(|p| match p {
            PathStep::Key(k) => k.clone(),
            PathStep::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `k.k2=value` → (path, value), as ytt: the first `=` splits, `.` nests.
fn split_kv<'a>(flag: &str, arg: &'a str) -> Result<(Vec<PathStep>, &'a str)> {
    let Some((key, value)) = arg.split_once('=') else {
        bail!("{flag} {arg:?}: expected KEY=VALUE");
    };
    no_lib(key).map_err(|e| anyhow::anyhow!("{flag} {e}"))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        bail!("{flag} {arg:?}: empty key segment");
    }
    Ok((
        key.split('.')
            .map(|k| PathStep::Key(k.to_string()))
            .collect(),
        value,
    ))
}

/// Session variables from `ARGOCD_ENV_<NAME>` (name lower-cased), sorted.
pub fn argocd_vars(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(ARGOCD_ENV_PREFIX)?;
            let ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            ok.then(|| (name.to_ascii_lowercase(), v.clone()))
        })
        .collect();
    out.sort();
    out
}

/// Session variables among the flag data values: top-level Educates names and `session.*`.
pub fn session_vars(values: &Value) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Value::Mapping(m) = values else {
        return Ok(out);
    };
    let known: HashSet<&str> = EDUCATES_VARS.iter().copied().collect();
    for (k, v) in m {
        let Some(k) = k.as_str() else { continue };
        if known.contains(k) {
            out.push((k.to_string(), scalar(k, v)?));
        }
    }
    if let Some(sess) = m.get("session") {
        let Value::Mapping(sm) = sess else {
            bail!("data value `session` must be a map of session variables");
        };
        for (k, v) in sm {
            let name = yaml::key_text(k);
            session::parse_var(&format!("{name}=")).map_err(|_| {
                anyhow::anyhow!("data value session.{name}: not a valid session variable name")
            })?;
            out.push((name.clone(), scalar(&format!("session.{name}"), v)?));
        }
    }
    Ok(out)
}

fn scalar(name: &str, v: &Value) -> Result<String> {
    Ok(match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => bail!(
            "data value {name}: a session variable must be a string, found a {}",
            manifest::type_name(other)
        ),
    })
}

/// The flag data values as assignments applied after the values files: one per leaf, so maps
/// still merge deeply into the files' values while lists and scalars replace.
pub fn flatten(v: &Value) -> Vec<Assignment> {
    fn go(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Assignment>) {
        match v {
            Value::Mapping(m) if !m.is_empty() || path.is_empty() => {
                for (k, child) in m {
                    path.push(PathStep::Key(yaml::key_text(k)));
                    go(child, path, out);
                    path.pop();
                }
            }
            other => out.push(Assignment {
                path: path.clone(),
                value: other.clone(),
            }),
        }
    }
    let mut out = Vec::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> TemplateCmd {
        TemplateCmd::default()
    }

    #[test]
    fn roles() {
        let c = |name: &str, text: &str| classify(name.into(), name.into(), text.into()).role;
        assert_eq!(c("job.yaml", "kind: Job\n"), Role::Template);
        assert_eq!(c("templates/_helpers.yaml", ""), Role::Partial);
        assert_eq!(c("values.yml", "a: 1\n"), Role::Values);
        assert_eq!(
            c("defaults.yaml", "#@data/values\n---\na: 1\n"),
            Role::Values
        );
        assert_eq!(
            c("schema.yaml", "#@data/values-schema\n---\na: 1\n"),
            Role::Skipped
        );
        assert_eq!(c("sessions.yaml", "- session_name: a\n"), Role::Skipped);
        assert_eq!(c("main-user1", "{\"sha\": \"abc\"}"), Role::Data);
        assert_eq!(c("README.md", "# x"), Role::Data);
        assert!(has_annotation("  #@ data/values\n", "data/values"));
        assert!(!has_annotation("#@data/values-schema\n", "data/values"));
    }

    #[test]
    fn folder_walk() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join(".git")).unwrap();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join(".git/HEAD"), "x").unwrap();
        std::fs::write(d.join("b.yaml"), "kind: B\n").unwrap();
        std::fs::write(d.join("a.yml"), "kind: A\n").unwrap();
        std::fs::write(d.join("sub/c.yaml"), "kind: C\n").unwrap();
        std::fs::write(d.join("logo.png"), [0xff, 0xfe, 0x00]).unwrap();
        let shown = d.display().to_string();
        let mut no_stdin = || -> Result<String> { unreachable!() };
        let got = collect(std::slice::from_ref(&shown), &mut no_stdin).unwrap();
        let names: Vec<(&str, Role)> = got.iter().map(|i| (i.logical.as_str(), i.role)).collect();
        assert_eq!(
            names,
            vec![
                ("a.yml", Role::Template),
                ("b.yaml", Role::Template),
                ("logo.png", Role::Skipped),
                ("sub/c.yaml", Role::Template),
            ]
        );
        assert_eq!(got[0].display, format!("{shown}/a.yml"));
        // The same file twice is refused; a bad UTF-8 template too.
        assert!(collect(&[shown.clone(), shown.clone()], &mut no_stdin).is_err());
        std::fs::write(d.join("bad.yaml"), [0xff, 0xfe]).unwrap();
        assert!(collect(&[shown], &mut no_stdin).is_err());
    }

    #[test]
    fn ytt_annotations_in_templates_fail_with_line() {
        let i = classify(
            "t.yaml".into(),
            "t.yaml".into(),
            "a: 1\n#@ if True:\nb: 2\n".into(),
        );
        let e = check_no_ytt(&i).unwrap_err().to_string();
        assert!(e.starts_with("t.yaml:2: ytt annotation"), "{e}");
    }

    #[test]
    fn data_value_flags_in_ytt_order() {
        let mut c = cmd();
        c.data_values_env = vec!["DV".into()];
        c.data_value = vec!["db.host=from-v".into(), "port=80".into()];
        c.data_value_yaml = vec!["port=8080".into(), "list=[1, 2]".into()];
        let env = vec![
            ("DV_db__host".to_string(), "from-env".to_string()),
            ("DV_db__user".to_string(), "u".to_string()),
        ];
        let v = data_values(&c, &env).unwrap();
        assert_eq!(v["db"]["host"], "from-v");
        assert_eq!(v["db"]["user"], "u");
        assert_eq!(v["port"], 8080);
        assert_eq!(v["list"][1], 2);
        // -v keeps strings even when they look like numbers.
        let mut c = cmd();
        c.data_value = vec!["port=80".into()];
        assert_eq!(data_values(&c, &[]).unwrap()["port"], "80");
    }

    #[test]
    fn bad_flags() {
        for (f, arg) in [
            ("-v", "novalue"),
            ("-v", "a..b=1"),
            ("-v", "@lib:a=1"),
            ("-v", "=1"),
        ] {
            assert!(split_kv(f, arg).is_err(), "{arg}");
        }
        let mut c = cmd();
        c.data_value_yaml = vec!["a=[1".into()];
        assert!(data_values(&c, &[]).is_err());
    }

    #[test]
    fn session_mapping() {
        let v: Value = serde_yaml::from_str(
            "session_name: user1\ningress_domain: ex.com\nsession: {team: blue, n: 3}\nother: x\n",
        )
        .unwrap();
        let mut s = session_vars(&v).unwrap();
        s.sort();
        assert_eq!(
            s,
            vec![
                ("ingress_domain".into(), "ex.com".into()),
                ("n".into(), "3".into()),
                ("session_name".into(), "user1".into()),
                ("team".into(), "blue".into()),
            ]
        );
        let bad: Value = serde_yaml::from_str("session_name: [a]\n").unwrap();
        assert!(session_vars(&bad).is_err());
        let bad: Value = serde_yaml::from_str("session: x\n").unwrap();
        assert!(session_vars(&bad).is_err());
        let bad: Value = serde_yaml::from_str("session: {a-b: x}\n").unwrap();
        assert!(session_vars(&bad).is_err());
    }

    #[test]
    fn argocd_env_mapping() {
        let env = vec![
            ("ARGOCD_ENV_SESSION_NAME".to_string(), "user2".to_string()),
            ("ARGOCD_ENV_".to_string(), "x".to_string()),
            ("ARGOCD_ENV_BAD-NAME".to_string(), "x".to_string()),
            ("ARGOCD_APP_NAME".to_string(), "app".to_string()),
        ];
        assert_eq!(
            argocd_vars(&env),
            vec![("session_name".to_string(), "user2".to_string())]
        );
    }

    #[test]
    fn flatten_keeps_deep_merge() {
        let v: Value = serde_yaml::from_str("a: {b: 1, c: {d: [1]}}\ne: {}\n").unwrap();
        let mut base: Value = serde_yaml::from_str("a: {x: 0, c: {d: [9, 9], y: 2}}\n").unwrap();
        for a in flatten(&v) {
            values::apply(&mut base, &a).unwrap();
        }
        let want: Value =
            serde_yaml::from_str("a: {x: 0, c: {d: [1], y: 2}, b: 1}\ne: {}\n").unwrap();
        assert_eq!(base, want);
    }

    #[test]
    fn renders_from_stdin_with_session_from_env() {
        let mut c = cmd();
        c.files = vec!["-".into()];
        let env = vec![("ARGOCD_ENV_SESSION_NAME".to_string(), "u9".to_string())];
        let mut stdin = || -> Result<String> {
            Ok("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${SESSION_NAME}\n".into())
        };
        let out = render(&c, &env, &mut stdin).unwrap().yaml;
        assert!(out.contains("name: cm-u9"), "{out}");
        let mut c2 = c.clone();
        c2.files = vec!["-".into(), "-".into()];
        assert!(render(&c2, &env, &mut stdin).is_err());
    }
}
