//! Command-line surface: clap definitions and the mapping to stage calls and exit codes.

use crate::exit;
use crate::limits::OutputLimits;
use crate::output::{self, SessionOutput};
use crate::render::{Pipeline, RenderRequest};
use crate::session::{self, SessionOptions};
use crate::template::TemplateOptions;
use crate::values::{self, SetKind};
use crate::yaml::Limits;
use anyhow::Result;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

/// The ceiling of `--max-yaml-depth`: every stage walks documents recursively.
pub const MAX_YAML_DEPTH: usize = 1000;

#[derive(Parser, Debug)]
#[command(
    name = "kpipe",
    version,
    about = "Render, lint, diff and deploy per-session Argo Workflow / kapp-controller pipelines",
    long_about = None,
    after_help = "Exit codes: 0 success / no changes, 1 changes found, 2 bad input or usage, 3 environment failure."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// One-line summaries of the subcommands. Each is set twice: on the variant of [`Command`] (the
/// list in `kpipe --help`) and on the subcommand's argument struct, because with `defer` the
/// struct's settings are applied last and would otherwise replace the variant's with the doc
/// comment of a flattened struct.
pub mod about {
    pub const RENDER: &str = "Render a pipeline folder into canonical YAML for one session or many";
    pub const LINT: &str =
        "Check rendered manifests (or plain files with --files); prints file:line:col findings";
    pub const DIFF: &str =
        "Show what deploying would change, the way kapp decides it (exit 1 when there are changes)";
    pub const TEMPLATE: &str =
        "Template-step mode (ytt flags): render -f files/folders/stdin to a YAML stream on stdout";
    pub const PLUGIN: &str = "Package kpipe as a Tanzu CLI plugin (`plugin package --out DIR`)";
    pub const DEPLOY: &str =
        "Render, diff against the cluster, confirm, and apply (kapp or kubectl server-side apply)";
}

/// Each subcommand's arguments are built only when that subcommand runs (`defer`): building
/// all of them was a seventh of a one-session render's instructions.
#[derive(Subcommand, Debug)]
#[command(defer = true)]
pub enum Command {
    #[command(about = about::RENDER)]
    Render(RenderCmd),
    #[command(about = about::LINT)]
    Lint(crate::validate::cli::LintArgs),
    #[command(about = about::DIFF)]
    Diff(DiffCmd),
    #[command(about = about::TEMPLATE)]
    Template(crate::plugin::step::TemplateCmd),
    #[command(about = about::PLUGIN)]
    Plugin(crate::plugin::PluginCmd),
    #[command(about = about::DEPLOY)]
    Deploy(crate::deploy::cmd::DeployCmd),
    #[command(flatten)]
    Tanzu(crate::plugin::TanzuCmd),
}

#[derive(Args, Debug)]
#[command(about = about::DIFF)]
pub struct DiffCmd {
    #[command(flatten)]
    pub inputs: RenderArgs,
    #[command(flatten)]
    pub diff: crate::diff::cmd::DiffArgs,
}

/// Inputs shared by every command that renders a pipeline folder.
#[derive(Args, Debug, Clone, Default)]
pub struct RenderArgs {
    /// Pipeline folder: values.yaml, templates/*.yaml, optional sessions.yaml and values.schema.json
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Extra values file (repeatable; later files win). Maps merge deeply; lists and scalars are
    /// replaced (as helm and ytt's --data-values-file do; unlike ytt's #@data/values overlays,
    /// lists are not appended)
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,

    /// Set a value: a.b=v (true/false/null/numbers inferred, like helm; a={x,y} for a list;
    /// comma-separated pairs; \ escapes , . =)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Set a value that always stays a string
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,

    /// Set a value parsed as YAML: a.b='[1, 2]'
    #[arg(long = "set-yaml", value_name = "KEY=YAML")]
    pub set_yaml: Vec<String>,

    /// Read values from environment variables PREFIX_a__b=v (sets a.b to the string v; ytt's rule)
    #[arg(long = "values-env", value_name = "PREFIX")]
    pub values_env: Option<String>,

    /// Render one session: sets session_name and session_namespace to NAME
    #[arg(long, value_name = "NAME", conflicts_with = "sessions")]
    pub session: Option<String>,

    /// Render every session listed in FILE (a list of maps of session variables), in file order.
    /// Default: DIR/sessions.yaml when --session is not given
    #[arg(long, value_name = "FILE")]
    pub sessions: Option<PathBuf>,

    /// Set or override a session variable (repeatable); also resolves ${KEY}
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,

    /// Read the Educates session variables (SESSION_NAMESPACE, INGRESS_DOMAIN, …) from the environment
    #[arg(long)]
    pub vars_from_env: bool,

    /// Namespace for namespaced resources written without one
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,

    /// Treat KIND (or KIND.group) as cluster-scoped, beyond the built-in table (repeatable)
    #[arg(long = "cluster-scoped", value_name = "KIND")]
    pub cluster_scoped: Vec<String>,

    /// Deepest YAML nesting accepted (at most 1000). Every limit's default sits far above real
    /// pipelines; a breach is an exit-2 error naming its flag
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth, hide_short_help = true)]
    pub max_yaml_depth: usize,

    /// Most YAML nodes one document may hold after alias expansion (stops "billion laughs")
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_nodes, hide_short_help = true)]
    pub max_yaml_nodes: usize,

    /// Most template instructions one render may run (minijinja fuel; stops runaway loops)
    #[arg(long, value_name = "N", default_value_t = TemplateOptions::default().fuel, hide_short_help = true)]
    pub max_template_fuel: u64,

    /// Most bytes one template may render for one session (stops runaway output; a real template
    /// renders a few KiB)
    #[arg(long, value_name = "BYTES", default_value_t = OutputLimits::default().max_output_bytes, hide_short_help = true)]
    pub max_output_bytes: usize,

    /// Most bytes one rendered document may hold (the API server refuses ~1.5 MiB objects)
    #[arg(long, value_name = "BYTES", default_value_t = OutputLimits::default().max_doc_bytes, hide_short_help = true)]
    pub max_doc_bytes: usize,

    /// Most documents one session may render (a real session renders a few dozen)
    #[arg(long, value_name = "N", default_value_t = OutputLimits::default().max_docs, hide_short_help = true)]
    pub max_docs: usize,

    /// Most memory (heap bytes) kpipe may use; beyond it, exit 2 instead of exhausting the machine
    /// (1,000 sessions of the example take ~20 MiB). kubectl and kapp started by kpipe inherit it
    #[arg(long, value_name = "BYTES", default_value_t = crate::limits::DEFAULT_MAX_MEMORY, hide_short_help = true)]
    pub max_memory: u64,
}

impl RenderArgs {
    /// The YAML limits the flags ask for, after applying `--max-memory`: also for inputs read
    /// without rendering (`diff --files`, live snapshots).
    pub fn limits(&self) -> Result<Limits> {
        if self.max_yaml_depth > MAX_YAML_DEPTH {
            anyhow::bail!(
                "--max-yaml-depth {}: at most {MAX_YAML_DEPTH} (deeper nesting would overflow the stack)",
                self.max_yaml_depth
            );
        }
        if self.max_memory != crate::limits::DEFAULT_MAX_MEMORY {
            crate::limits::set_memory_limit(self.max_memory)?;
        }
        Ok(Limits {
            max_depth: self.max_yaml_depth,
            max_nodes: self.max_yaml_nodes,
        })
    }

    /// Turns the flags into a render request, reading the environment only where asked.
    pub fn to_request(&self) -> Result<RenderRequest> {
        let limits = self.limits()?;
        let mut assignments = Vec::new();
        if let Some(prefix) = &self.values_env {
            assignments.extend(values::from_env(prefix, std::env::vars()));
        }
        for (flag, list, kind) in [
            ("--set", &self.set, SetKind::Infer),
            ("--set-string", &self.set_string, SetKind::String),
            ("--set-yaml", &self.set_yaml, SetKind::Yaml),
        ] {
            for arg in list {
                assignments.extend(values::parse_set(flag, arg, kind)?);
            }
        }
        let vars = self
            .vars
            .iter()
            .map(|v| session::parse_var(v))
            .collect::<Result<Vec<_>>>()?;
        let env_vars = if self.vars_from_env {
            session::vars_from_env(std::env::vars())
        } else {
            Vec::new()
        };
        Ok(RenderRequest {
            dir: self.dir.clone(),
            values_files: self.values.clone(),
            assignments,
            sessions: SessionOptions {
                session: self.session.clone(),
                sessions_file: self.sessions.clone(),
                vars,
                env_vars,
            },
            namespace: self.namespace.clone(),
            cluster_scoped: self.cluster_scoped.clone(),
            limits,
            template: TemplateOptions {
                fuel: self.max_template_fuel,
                max_output_bytes: self.max_output_bytes,
            },
            output: OutputLimits {
                max_doc_bytes: self.max_doc_bytes,
                max_docs: self.max_docs,
                max_output_bytes: self.max_output_bytes,
            },
        })
    }

    /// Loads the pipeline these flags describe.
    pub fn pipeline(&self) -> Result<Pipeline> {
        crate::render::check_dir(&self.dir)?;
        Pipeline::load(&self.to_request()?)
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderFormat {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
#[command(about = about::RENDER)]
pub struct RenderCmd {
    #[command(flatten)]
    pub inputs: RenderArgs,

    /// Output format on stdout
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    pub format: RenderFormat,

    /// Write DIR/<session>/<NN>-<kind>-<name>.yaml instead of stdout (atomic per file; files of
    /// ours no longer rendered are removed; a failed render writes nothing)
    #[arg(long, value_name = "DIR", conflicts_with = "format")]
    pub output_dir: Option<PathBuf>,

    /// With --output-dir: compare instead of writing; exit 1 listing stale, missing and extra files
    #[arg(long, requires = "output_dir")]
    pub check: bool,

    /// Skip the lint checks that run before output (errors refuse to render)
    #[arg(long)]
    pub no_lint: bool,

    #[command(flatten)]
    pub lint: crate::validate::cli::LintFlags,
}

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Render(cmd) => render(cmd),
        Command::Lint(args) => crate::validate::cli::run(&args, &mut std::io::stdout().lock()),
        Command::Diff(cmd) => {
            crate::diff::cmd::run(&cmd.inputs, &cmd.diff, &mut std::io::stdout().lock())
        }
        Command::Template(cmd) => crate::plugin::run_template(cmd),
        Command::Plugin(cmd) => crate::plugin::run_plugin(cmd),
        Command::Deploy(cmd) => crate::deploy::cmd::run(&cmd, &mut std::io::stdout()),
        Command::Tanzu(cmd) => crate::plugin::run_tanzu(cmd),
    }
}

fn render(cmd: RenderCmd) -> Result<u8> {
    let pipeline = cmd.inputs.pipeline()?;
    let json = cmd.format == RenderFormat::Json;
    let linter = if cmd.no_lint {
        None
    } else {
        Some(crate::validate::pipeline::Linter::new(
            &pipeline, &cmd.lint,
        )?)
    };
    let results: Vec<(SessionOutput, Vec<crate::validate::Finding>)> =
        pipeline.map_sessions(|s, set| {
            let findings = match &linter {
                Some(l) => l.check_session(&pipeline, s, &set)?,
                None => Vec::new(),
            };
            Ok((SessionOutput::from_set(set, json)?, findings))
        })?;
    let mut sessions = Vec::with_capacity(results.len());
    let mut per_session = Vec::with_capacity(results.len());
    for (o, f) in results {
        sessions.push(o);
        per_session.push(f);
    }
    if per_session.iter().any(|f| !f.is_empty()) {
        let findings = crate::validate::pipeline::merge_sessions(per_session);
        let stderr = std::io::stderr();
        let mut err = stderr.lock();
        for f in &findings {
            writeln!(err, "{}", crate::validate::report::line(f))?;
        }
        if crate::validate::has_errors(&findings) {
            let n = findings
                .iter()
                .filter(|f| f.severity == crate::validate::Severity::Error)
                .count();
            anyhow::bail!(
                "lint found {n} error(s); nothing rendered (see above; --no-lint skips the checks)"
            );
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(dir) = &cmd.output_dir {
        if cmd.check {
            let report = output::check_dir(dir, &sessions)?;
            out.write_all(report.render(dir).as_bytes())?;
            return Ok(if report.is_clean() {
                exit::OK
            } else {
                exit::CHANGES
            });
        }
        let report = output::write_dir(dir, &sessions)?;
        let files: usize = sessions.iter().map(|s| s.resources.len()).sum();
        eprintln!(
            "wrote {} of {files} files for {} session(s) to {} ({} removed)",
            report.stale.len() + report.missing.len(),
            sessions.len(),
            dir.display(),
            report.extra.len()
        );
        return Ok(exit::OK);
    }
    if json {
        out.write_all(output::to_json(&sessions)?.as_bytes())?;
    } else {
        let mut buf = std::io::BufWriter::with_capacity(1 << 16, &mut out);
        output::write_stream(&mut buf, &sessions)?;
        buf.flush()?;
    }
    out.flush()?;
    // The process ends here: the OS takes the compiled templates, values and texts back in
    // one go, faster than freeing them piece by piece (1.5% of a one-session render).
    std::mem::forget((linter, sessions));
    std::mem::forget(pipeline);
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `defer` applies a subcommand's argument struct after the variant's settings: each
    /// struct must carry the same summary, or a flattened struct's doc comment takes its place.
    #[test]
    fn deferred_subcommands_keep_their_summaries() {
        let lazy = Cli::command();
        let mut built = Cli::command();
        built.build();
        let mut n = 0;
        for sub in lazy.get_subcommands() {
            let after = built
                .find_subcommand(sub.get_name())
                .expect("the same subcommands");
            assert_eq!(
                after.get_about().map(ToString::to_string),
                sub.get_about().map(ToString::to_string),
                "kpipe {}",
                sub.get_name()
            );
            assert!(sub.get_about().is_some(), "kpipe {}", sub.get_name());
            n += 1;
        }
        assert!(n >= 6);
        // Arguments are there once built: the deferred part ran.
        let render = built.find_subcommand("render").expect("render");
        assert!(render
            .get_arguments()
            .any(|a| a.get_long() == Some("sessions")));
    }
}
