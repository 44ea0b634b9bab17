//! The `kpipe` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: kpipe::limits::OomExit = kpipe::limits::OomExit;

fn main() -> ExitCode {
    // Before anything else, so even argument parsing runs under the cap; `--max-memory` may
    // change it once the command line is read.
    let _ = kpipe::limits::set_memory_limit(kpipe::limits::DEFAULT_MAX_MEMORY);
    if std::env::var_os("RUST_MIN_STACK").is_none() {
        // Render threads (one per core) recurse through parsed documents as deep as the main one.
        std::env::set_var("RUST_MIN_STACK", kpipe::limits::THREAD_STACK.to_string());
    }
    let cli = kpipe::cli::Cli::parse();
    let result = std::thread::Builder::new()
        .name("main".into())
        .stack_size(kpipe::limits::MAIN_STACK)
        .spawn(move || kpipe::cli::run(cli))
        .map_err(anyhow::Error::from)
        .and_then(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("internal error: the command panicked"))
        })
        .and_then(|r| r);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = kpipe::exit::code_for(&e);
            let msg = format!("{e:#}");
            // Environment failures carry other programs' output: never pass credentials on.
            if code == kpipe::exit::ENVIRONMENT {
                eprintln!("error: {}", kpipe::redact::mask_credentials(&msg));
            } else {
                eprintln!("error: {msg}");
            }
            ExitCode::from(code)
        }
    }
}
