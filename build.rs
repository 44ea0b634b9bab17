//! Records the git commit for the Tanzu plugin `info` (`buildSHA`); empty when git is unavailable.
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
}

fn main() {
    let sha = git(&["rev-parse", "--short=8", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=KPIPE_BUILD_SHA={sha}");
    // Ask git where HEAD lives: in a worktree `.git` is a file, and watching a missing path
    // would rerun this script (and rebuild kpipe) on every build.
    for what in ["HEAD", "refs/heads"] {
        if let Some(p) = git(&["rev-parse", "--git-path", what]) {
            if std::path::Path::new(&p).exists() {
                println!("cargo:rerun-if-changed={p}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    // A non-PIE binary starts faster: the loader has no relocations to apply across the
    // binary's data, and fewer pages are touched (see README, Speed).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
