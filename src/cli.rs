//! Command-line definitions (minimal until the full CLI lands on main).

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "kpipe", version, about = "Render, lint, diff and deploy per-session pipelines")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what deploying would change (kapp semantics); exit 1 when there are changes.
    Diff(DiffCmd),
}

#[derive(Debug, clap::Args)]
pub struct DiffCmd {
    /// Namespace for namespaced resources written without one.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub diff: crate::diff::cmd::DiffArgs,
}
