use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "kpipe", version, about = "Render, lint, diff and deploy per-session pipelines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests (rendered, or plain files with --files) and print findings.
    Lint(kpipe::validate::cli::LintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout().lock();
    let result = match &cli.command {
        Command::Lint(args) => kpipe::validate::cli::run(args, &mut stdout),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kpipe: error: {e:#}");
            ExitCode::from(kpipe::exit::code_for(&e))
        }
    }
}
