//! Meeting users where they are: the Tanzu CLI plugin contract (hidden `info`, `describe`,
//! `version`, `post-install`, `generate-docs`, `__complete`; `kpipe plugin package`), and the
//! template-step mode `kpipe template` (`step.rs`).
//!
//! The same binary is the plugin: installed as `tanzu-kpipe` it runs as `tanzu kpipe …`. None
//! of these commands read the Tanzu config or `TANZU_BIN`; they answer the same with or
//! without the Tanzu CLI around them.

pub mod complete;
pub mod descriptor;
pub mod docs;
pub mod package;
pub mod step;

pub use descriptor::Descriptor;

use crate::exit;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Subcommand};
use std::io::Write;
use std::path::PathBuf;

/// The Tanzu CLI plugin contract's reserved commands, hidden from help.
#[derive(Subcommand, Debug)]
pub enum TanzuCmd {
    /// Print the plugin descriptor as one line of JSON (Tanzu CLI plugin contract)
    #[command(hide = true)]
    Info,
    /// Print the plugin description
    #[command(hide = true)]
    Describe,
    /// Print the plugin version (vX.Y.Z)
    #[command(hide = true)]
    Version,
    /// Run after `tanzu plugin install`: nothing to set up
    #[command(hide = true, name = "post-install")]
    PostInstall,
    /// Write Markdown docs for every command (tanzu generate-all-docs)
    #[command(hide = true, name = "generate-docs")]
    GenerateDocs(DocsArgs),
    /// Cobra's completion protocol: candidates one per line, then `:<directive>`
    #[command(hide = true, name = "__complete")]
    Complete(CompleteArgs),
}

#[derive(Args, Debug)]
pub struct DocsArgs {
    /// Destination folder (created when missing)
    #[arg(short = 'd', long = "docs-dir", value_name = "DIR", default_value = docs::DEFAULT_DOCS_DIR)]
    pub docs_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    /// The command line so far; the last word is the one being completed
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `kpipe plugin …`: packaging kpipe as a Tanzu CLI plugin.
#[derive(Args, Debug)]
#[command(about = crate::cli::about::PLUGIN)]
pub struct PluginCmd {
    #[command(subcommand)]
    pub command: PluginSub,
}

#[derive(Subcommand, Debug)]
pub enum PluginSub {
    /// Lay out DIR for `tanzu plugin install kpipe --local DIR` (manifest, descriptor, binary)
    Package(PackageArgs),
}

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// Output folder (created when missing; kpipe's files in it are replaced)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Runs one of the hidden Tanzu contract commands.
pub fn run_tanzu(cmd: TanzuCmd) -> Result<u8> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cmd {
        TanzuCmd::Info => writeln!(out, "{}", Descriptor::current().to_json_line())?,
        TanzuCmd::Describe => writeln!(out, "{}", Descriptor::current().description)?,
        TanzuCmd::Version => writeln!(out, "{}", descriptor::version())?,
        TanzuCmd::PostInstall => {}
        TanzuCmd::GenerateDocs(a) => {
            let files = docs::generate(crate::cli::Cli::command(), &a.docs_dir)?;
            eprintln!("wrote {} files to {}", files.len(), a.docs_dir.display());
        }
        TanzuCmd::Complete(a) => {
            let (candidates, directive) = complete::complete(crate::cli::Cli::command(), &a.args);
            out.write_all(complete::format(&candidates, directive).as_bytes())?;
            eprintln!(
                "Completion ended with directive: {}",
                match directive {
                    complete::DIRECTIVE_NO_FILE => "ShellCompDirectiveNoFileComp",
                    _ => "ShellCompDirectiveDefault",
                }
            );
        }
    }
    out.flush()?;
    Ok(exit::OK)
}

/// Runs `kpipe plugin …`.
pub fn run_plugin(cmd: PluginCmd) -> Result<u8> {
    match cmd.command {
        PluginSub::Package(a) => {
            let exe = std::env::current_exe()
                .map_err(|e| exit::EnvError(format!("cannot find the running binary: {e}")))?;
            let p = package::package(&a.out, &exe)
                .with_context(|| format!("{}: cannot package the plugin", a.out.display()))?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for f in [&p.manifest, &p.descriptor, &p.binary] {
                writeln!(out, "wrote {}", f.display())?;
            }
            writeln!(
                out,
                "install with: tanzu plugin install {} --local {}",
                descriptor::NAME,
                a.out.display()
            )?;
            Ok(exit::OK)
        }
    }
}

/// Runs `kpipe template`: the YAML stream on stdout, warnings on stderr.
pub fn run_template(cmd: step::TemplateCmd) -> Result<u8> {
    let r = step::run(&cmd)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    if r.yaml.is_empty() {
        eprintln!("warning: the templates rendered no documents");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(r.yaml.as_bytes())?;
    out.flush()?;
    Ok(exit::OK)
}
