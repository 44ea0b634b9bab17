use clap::Parser;
use kpipe::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let res = match &cli.command {
        Command::Diff(d) => kpipe::diff::cmd::run_files(&d.diff, d.namespace.as_deref(), &mut out),
    };
    match res {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kpipe: error: {e:#}");
            ExitCode::from(kpipe::exit::code_for(&e))
        }
    }
}
