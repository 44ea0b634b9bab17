//! The `kpipe` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: kpipe::limits::OomExit = kpipe::limits::OomExit;

/// Chooses the allocator from the command line before anything is allocated: glibc and the
/// dynamic loader call `.init_array` functions with `argc`, `argv` and `envp` before `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array"]
static CHOOSE_ALLOCATOR: extern "C" fn(
    libc::c_int,
    *const *const libc::c_char,
    *const *const libc::c_char,
) = {
    extern "C" fn choose(
        argc: libc::c_int,
        argv: *const *const libc::c_char,
        envp: *const *const libc::c_char,
    ) {
        // SAFETY: glibc passes the process's argc/argv/envp as they are given to main.
        unsafe { kpipe::limits::choose_allocator(argc, argv, envp) }
    }
    choose
};

fn main() -> ExitCode {
    // Before anything else, so even argument parsing runs under the cap; `--max-memory` may
    // change it once the command line is read.
    let _ = kpipe::limits::set_memory_limit(kpipe::limits::DEFAULT_MAX_MEMORY);
    if std::env::var_os("RUST_MIN_STACK").is_none() {
        // Render threads (one per core) recurse through parsed documents as deep as the main one.
        std::env::set_var("RUST_MIN_STACK", kpipe::limits::THREAD_STACK.to_string());
    }
    let cli = kpipe::cli::Cli::parse();
    let panicked = || anyhow::anyhow!("internal error: the command panicked");
    // The command runs where its stack can grow to MAIN_STACK: this thread when the stack
    // limit can be raised (no thread to start, no second malloc arena to warm up), else a
    // thread of its own.
    let result = if kpipe::limits::grow_main_stack(kpipe::limits::MAIN_STACK) {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kpipe::cli::run(cli)))
            .map_err(|_| panicked())
    } else {
        std::thread::Builder::new()
            .name("main".into())
            .stack_size(kpipe::limits::MAIN_STACK)
            .spawn(move || kpipe::cli::run(cli))
            .map_err(anyhow::Error::from)
            .and_then(|h| h.join().map_err(|_| panicked()))
    }
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
