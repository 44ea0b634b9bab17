//! The pre-commit hooks in `.pre-commit-hooks.yaml`, run the way pre-commit runs them: the
//! hook's `entry` split into words plus its `args`, in the repository root, with the built
//! binary on PATH as `kpipe` (as `language: rust` installs it), no file names appended
//! (`pass_filenames: false`).

use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hooks() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn hook(id: &str) -> Value {
    hooks()
        .into_iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("hook {id} not in .pre-commit-hooks.yaml"))
}

/// `entry` (shell words, no quoting used) + `args`.
fn argv(h: &Value) -> Vec<String> {
    let mut v: Vec<String> = h["entry"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    if let Some(args) = h["args"].as_sequence() {
        v.extend(args.iter().map(|a| a.as_str().unwrap().to_string()));
    }
    v
}

fn path_with_kpipe() -> String {
    let bin = assert_cmd::cargo::cargo_bin("kpipe");
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_hook(h: &Value, repo: &Path) -> Out {
    let a = argv(h);
    let out = Command::new(&a[0])
        .args(&a[1..])
        .current_dir(repo)
        .env("PATH", path_with_kpipe())
        .env("PRE_COMMIT", "1")
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn git(repo: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn hook_definitions() {
    let all = hooks();
    let ids: Vec<&str> = all.iter().map(|h| h["id"].as_str().unwrap()).collect();
    for id in ["kpipe-render", "kpipe-lint"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    for h in &all {
        let id = h["id"].as_str().unwrap();
        assert_eq!(h["language"], "rust", "{id}");
        assert_eq!(h["pass_filenames"], false, "{id}");
        assert!(!h["name"].as_str().unwrap_or_default().is_empty(), "{id}");
        assert!(argv(h)[0] == "kpipe", "{id}: entry runs the kpipe binary");
        let files = h["files"].as_str().unwrap();
        for needle in ["values", "sessions", "templates/"] {
            assert!(
                files.contains(needle),
                "{id}: files pattern covers {needle}"
            );
        }
    }
    let render = argv(&hook("kpipe-render"));
    assert!(render.starts_with(&["kpipe".into(), "render".into(), "--check".into()]));
    assert!(render.contains(&"--output-dir".to_string()));
    assert_eq!(argv(&hook("kpipe-lint"))[..2], ["kpipe", "lint"]);
}

#[test]
fn render_hook_fails_on_stale_output_until_re_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    copy_dir(&root().join("fixtures/ml-pipeline"), repo);
    if !git(repo, &["init", "-q"]) {
        println!("skipped: git is not available");
        return;
    }
    let h = hook("kpipe-render");
    let a = argv(&h);
    let out_dir = &a[a.iter().position(|x| x == "--output-dir").unwrap() + 1];

    // The fix the hook's message names: the same command without --check.
    let fix = |repo: &Path| {
        let fix: Vec<&String> = a.iter().filter(|x| *x != "--check").collect();
        let st = Command::new(fix[0])
            .args(&fix[1..])
            .current_dir(repo)
            .env("PATH", path_with_kpipe())
            .status()
            .unwrap();
        assert!(st.success());
    };

    // Nothing rendered yet: the hook fails naming the missing files.
    let r = run_hook(&h, repo);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("missing: "), "{}", r.stdout);

    fix(repo);
    assert!(git(repo, &["add", "-A"]));
    assert!(git(repo, &["commit", "-qm", "rendered"]));

    // Unchanged: passes.
    let r = run_hook(&h, repo);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // A template edited without re-rendering: fails, naming each stale file.
    let job = repo.join("templates/job.yaml");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, text.replace("backoffLimit: 0", "backoffLimit: 2")).unwrap();
    let r = run_hook(&h, repo);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let stale: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("stale: "))
        .collect();
    assert!(!stale.is_empty(), "{}", r.stdout);
    for f in &stale {
        assert!(
            f.starts_with(&format!("{out_dir}/")) && f.contains("-job-"),
            "{f}"
        );
        assert!(repo.join(f).is_file(), "{f} names a real file");
    }
    assert!(stale.iter().any(|f| f.contains("/user1/")), "{stale:?}");
    assert!(
        r.stdout.contains("kpipe render --output-dir"),
        "{}",
        r.stdout
    );

    // After re-rendering: passes again, and the refreshed file holds the change.
    fix(repo);
    let r = run_hook(&h, repo);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let refreshed = std::fs::read_to_string(repo.join(stale[0])).unwrap();
    assert!(refreshed.contains("backoffLimit: 2"));
}

#[test]
fn write_hook_rewrites_so_pre_commit_sees_modified_files() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    copy_dir(&root().join("fixtures/ml-pipeline"), repo);
    let h = hook("kpipe-render-write");
    let r = run_hook(&h, repo);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "", "writes, prints only to stderr");
    // Deterministic: the check hook now passes and a second write changes nothing.
    assert_eq!(run_hook(&hook("kpipe-render"), repo).code, 0);
    let before = snapshot(repo);
    run_hook(&h, repo);
    assert_eq!(before, snapshot(repo));
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}
