//! The `kpipe` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = kpipe::cli::Cli::parse();
    match kpipe::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(kpipe::exit::code_for(&e))
        }
    }
}
