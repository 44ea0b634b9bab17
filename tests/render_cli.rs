//! `kpipe render` driven as a user runs it, on the bundled example.

use assert_cmd::Command;
use std::path::Path;

const EXAMPLE: &str = "fixtures/ml-pipeline";

fn kpipe() -> Command {
    let mut c = Command::cargo_bin("kpipe").unwrap();
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn render(args: &[&str]) -> String {
    let out = kpipe().arg("render").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kpipe render {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn example_session_user1() {
    insta::assert_snapshot!("example_user1", render(&[EXAMPLE, "--session", "user1"]));
}

#[test]
fn example_sessions_from_file() {
    // The example's sessions.yaml is used when no --session is given; one snapshot per session.
    let out = kpipe()
        .args(["render", EXAMPLE, "-o", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = doc["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["user1", "user2", "lab-w01-s003"],
        "sessions keep file order"
    );
    for name in names {
        let (_dir, file) = session_file(name);
        let yaml = render(&[EXAMPLE, "--sessions", &file]);
        insta::assert_snapshot!(format!("example_session_{name}"), yaml);
    }
}

/// A sessions file holding only the named session of the example's sessions.yaml, in a
/// temporary folder removed when the returned guard drops.
fn session_file(name: &str) -> (tempfile::TempDir, String) {
    let all: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(EXAMPLE)
                .join("sessions.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    let one: Vec<&serde_yaml::Value> = all
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| s["session_name"].as_str() == Some(name))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.yaml");
    std::fs::write(&path, serde_yaml::to_string(&one).unwrap()).unwrap();
    let path = path.to_string_lossy().to_string();
    (dir, path)
}

#[test]
fn example_json() {
    insta::assert_snapshot!(
        "example_json_user1",
        render(&[EXAMPLE, "--session", "user1", "-o", "json"])
    );
}

#[test]
fn renders_are_deterministic() {
    let a = render(&[EXAMPLE]);
    let b = render(&[EXAMPLE]);
    assert_eq!(a, b);
    assert!(a.ends_with('\n'));
    assert!(!a.contains("\n\n"), "no blank lines in canonical output");
}

#[test]
fn argo_expressions_pass_through() {
    let out = render(&[EXAMPLE, "--session", "user1"]);
    assert!(out.contains("- mlflow_entry=\"{{inputs.parameters.mlflow_entry}}\"\n"));
}

#[test]
fn overrides_and_vars() {
    let out = render(&[
        EXAMPLE,
        "--session",
        "alice",
        "--set",
        "model_stage=Production",
        "--var",
        "ingress_domain=corp.example",
        "--var",
        "ingress_protocol=http",
        "-n",
        "ignored-because-namespaces-are-set",
    ]);
    assert!(out.contains("value: Production\n"));
    assert!(out.contains("value: http://mlflow-alice.corp.example\n"));
    assert!(out.contains("namespace: alice\n"));
}

#[test]
fn values_env_only_when_named() {
    let out = kpipe()
        .args(["render", EXAMPLE, "--session", "u", "--values-env", "KP"])
        .env("KP_model_stage", "Archived")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("value: Archived\n"));
    let out = kpipe()
        .args(["render", EXAMPLE, "--session", "u"])
        .env("KP_model_stage", "Archived")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Archived"));
}

#[test]
fn vars_from_env_only_when_asked() {
    let out = kpipe()
        .args(["render", EXAMPLE, "--vars-from-env"])
        .env("SESSION_NAME", "from-env")
        .env("INGRESS_DOMAIN", "env.example")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("name: mlworkflow-from-env\n"), "{text}");
    assert!(text.contains("mlflow-from-env.env.example"), "{text}");
}

#[test]
fn output_dir_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("rendered");
    let od = out_dir.to_str().unwrap();
    kpipe()
        .args(["render", EXAMPLE, "--output-dir", od])
        .assert()
        .success();
    let files: Vec<String> = walk(&out_dir);
    assert_eq!(
        files,
        [
            "lab-w01-s003/01-app-mlapp-lab-w01-s003.yaml",
            "lab-w01-s003/02-job-resubmit-workflow-lab-w01-s003.yaml",
            "lab-w01-s003/03-config.yaml",
            "lab-w01-s003/04-workflow-mlworkflow-lab-w01-s003.yaml",
            "user1/01-app-mlapp-user1.yaml",
            "user1/02-job-resubmit-workflow-user1.yaml",
            "user1/03-config.yaml",
            "user1/04-workflow-mlworkflow-user1.yaml",
            "user2/01-app-mlapp-user2.yaml",
            "user2/02-job-resubmit-workflow-user2.yaml",
            "user2/03-config.yaml",
            "user2/04-workflow-mlworkflow-user2.yaml",
        ]
    );
    kpipe()
        .args(["render", EXAMPLE, "--output-dir", od, "--check"])
        .assert()
        .code(0);
    // A value change makes exactly the files that use it stale.
    let out = kpipe()
        .args([
            "render",
            EXAMPLE,
            "--output-dir",
            od,
            "--check",
            "--set",
            "image=x/y:2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stale: "), "{text}");
    assert!(
        text.contains("user1/04-workflow-mlworkflow-user1.yaml"),
        "{text}"
    );
    assert!(!text.contains("01-app"), "{text}");
    // A session that is no longer rendered leaves extra files, which the fix removes.
    kpipe()
        .args(["render", EXAMPLE, "--output-dir", od, "--session", "user1"])
        .assert()
        .success();
    assert_eq!(walk(&out_dir).len(), 4);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn help_states_merge_rule() {
    let out = kpipe().args(["render", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Maps merge deeply; lists and scalars are"),
        "{text}"
    );
}

/// mimalloc is set up only in processes that use it (`limits::choose_allocator`): a
/// one-session render runs on glibc malloc and must not pay for mimalloc's set-up, while
/// `--sessions` renders (and diffs) get a working mimalloc. Its verbose option shows which.
#[test]
fn mimalloc_set_up_only_where_it_is_used() {
    let stderr = |args: &[&str]| {
        let out = kpipe()
            .env("MIMALLOC_VERBOSE", "1")
            .arg("render")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let one = stderr(&[EXAMPLE, "--session", "user1"]);
    assert!(!one.contains("mimalloc"), "{one}");
    let many = stderr(&[EXAMPLE, "--sessions", "fixtures/ml-pipeline/sessions.yaml"]);
    assert!(many.contains("mimalloc: process init"), "{many}");
}
