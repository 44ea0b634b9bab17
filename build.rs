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
    // Watch HEAD and the branch it names (or packed-refs, where a packed branch lives), not
    // every branch: a commit on another worktree's branch must not rebuild this one. Ask git
    // where they live: in a worktree `.git` is a file, and watching a missing path would rerun
    // this script (and rebuild kpipe) on every build.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for what in &watch {
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
