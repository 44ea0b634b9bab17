//! `kpipe lint`: arguments and the run function `main.rs` dispatches to.

use super::{files, report, schema, Options};
use crate::exit;
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Output format of `kpipe lint`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportFormat {
    /// `file:line:col: error[code]: message`, one per line, then a summary line.
    #[default]
    Text,
    /// JSON (schemas/lint-report.schema.json).
    Json,
}

/// Lint options shared by `kpipe lint` and the pre-render check of `kpipe render`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LintFlags {
    /// Turn warnings into errors.
    #[arg(long)]
    pub strict: bool,
    /// JSON Schema (2020-12) for the values; default: values.schema.json beside values.yaml.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Validate resources of this CRD's kind against its openAPIV3Schema (repeatable).
    #[arg(long = "crd", value_name = "FILE")]
    pub crds: Vec<PathBuf>,
}

impl LintFlags {
    /// Loads the `--crd` schemas into check options.
    pub fn options(&self) -> Result<Options> {
        let mut crds = Vec::new();
        for f in &self.crds {
            crds.extend(schema::load_crds(f)?);
        }
        Ok(Options { crds })
    }
}

/// `kpipe lint [DIR] [render inputs] [--files FILE…] [--report text|json] [--strict] …`
#[derive(clap::Args, Debug, Clone, Default)]
#[command(about = crate::cli::about::LINT)]
pub struct LintArgs {
    #[command(flatten)]
    pub inputs: crate::cli::RenderArgs,
    /// Lint plain manifest files or folders instead of rendering DIR (any Workflow, App CR, …)
    #[arg(long, num_args = 1.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub report: ReportFormat,
    #[command(flatten)]
    pub flags: LintFlags,
}

/// Runs `kpipe lint`; returns the exit code (2 when any error remains, else 0).
pub fn run(args: &LintArgs, out: &mut dyn Write) -> Result<u8> {
    let (findings, count) = if args.files.is_empty() {
        let p = args.inputs.pipeline()?;
        let lint = super::pipeline::lint_pipeline(&p, &args.flags)?;
        if let Some(e) = lint.render_error {
            emit(out, args.report, &lint.findings, lint.count)?;
            return Err(e.context("rendering failed after the values checks above"));
        }
        (lint.findings, lint.count)
    } else {
        let opts = args.flags.options()?;
        files::lint_files(&args.files, &opts, args.flags.strict)?
    };
    emit(out, args.report, &findings, count)?;
    Ok(if super::has_errors(&findings) {
        exit::INPUT
    } else {
        exit::OK
    })
}

/// Writes findings in the chosen format.
pub fn emit(
    out: &mut dyn Write,
    format: ReportFormat,
    findings: &[super::Finding],
    count: usize,
) -> Result<()> {
    match format {
        ReportFormat::Text => report::write_text(out, findings, count)?,
        ReportFormat::Json => out.write_all(report::to_json(findings, count).as_bytes())?,
    }
    Ok(())
}
