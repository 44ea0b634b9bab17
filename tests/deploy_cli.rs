//! `kpipe deploy` driven as a user runs it: the built binary, the real `/usr/bin/kubectl`, and
//! the Kubernetes API emulator of `tests/support` standing in for a cluster.

mod support;

use assert_cmd::Command;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use support::Emulator;

const EXAMPLE: &str = "fixtures/ml-pipeline";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `kpipe` with the emulator's KUBECONFIG/KUBECACHEDIR, and no kapp (unless a test adds one).
fn kpipe(emu: &Emulator) -> Command {
    let mut c = Command::cargo_bin("kpipe").unwrap();
    c.current_dir(root())
        .env_remove("KPIPE_KAPP")
        .env_remove("KPIPE_KUBECTL");
    for (k, v) in emu.env() {
        c.env(k, v);
    }
    c
}

fn deploy(emu: &Emulator, args: &[&str]) -> Output {
    kpipe(emu).arg("deploy").args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

fn workflow(emu: &Emulator) -> Option<Value> {
    emu.get("argoproj.io", "Workflow", "user1", "mlworkflow-user1")
}
fn job(emu: &Emulator) -> Option<Value> {
    emu.get("batch", "Job", "user1", "resubmit-workflow-user1")
}
fn app(emu: &Emulator) -> Option<Value> {
    emu.get("kappctrl.k14s.io", "App", "user1", "mlapp-user1")
}

const USER1: &[&str] = &[EXAMPLE, "--session", "user1", "--deployer", "kubectl"];

fn args<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn deploys_the_example_then_reports_no_changes() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    // --dry-run shows the diff, applies nothing, exits 1 like `kpipe diff`.
    let out = deploy(&emu, &args(USER1, &["--dry-run"]));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("Op: 3 create, 0 delete, 0 update, 0 noop"),
        "{}",
        show(&out)
    );
    assert!(emu.objects().is_empty());

    let out = deploy(&emu, &args(USER1, &["-y"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "@@ create workflow/mlworkflow-user1 (argoproj.io/v1alpha1) namespace: user1 @@"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("serverside-applied"),
        "kubectl's output is streamed: {stdout}"
    );
    assert!(stdout.contains("Deployed session user1 (app ml-pipeline-user1) with kubectl: 3 created, 0 updated, 0 deleted"), "{stdout}");
    for obj in [workflow(&emu), job(&emu), app(&emu)] {
        let obj = obj.expect("deployed");
        assert_eq!(
            obj["metadata"]["labels"]["kpipe.dev/app"],
            "ml-pipeline-user1"
        );
        assert_eq!(obj["metadata"]["labels"]["kpipe.dev/session"], "user1");
        assert_eq!(obj["metadata"]["managedFields"][0]["manager"], "kpipe");
    }
    // The kapp Config document is never applied by the kubectl deployer.
    assert_eq!(emu.objects().len(), 3, "{:#?}", emu.objects());

    let before = emu.resource_version();
    let out = deploy(&emu, &args(USER1, &["-y"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("No changes: nothing to deploy."),
        "{}",
        show(&out)
    );
    assert_eq!(emu.resource_version(), before, "nothing was written");
}

#[test]
fn a_changed_value_updates_only_that_resource() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy(&emu, &args(USER1, &["-y"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (wf, jb, ap) = (
        workflow(&emu).unwrap(),
        job(&emu).unwrap(),
        app(&emu).unwrap(),
    );

    let out = deploy(
        &emu,
        &args(
            USER1,
            &["-y", "--set", "resubmit_image=example.org/argocli:9"],
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Op: 0 create, 0 delete, 1 update, 2 noop"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+         image: example.org/argocli:9"),
        "{stdout}"
    );
    let jb2 = job(&emu).unwrap();
    assert_ne!(rv(&jb2), rv(&jb), "the Job was updated");
    assert_eq!(
        jb2["spec"]["template"]["spec"]["containers"][0]["image"], "example.org/argocli:9",
        "{jb2:#}"
    );
    assert_eq!(
        rv(&workflow(&emu).unwrap()),
        rv(&wf),
        "the Workflow was left alone"
    );
    assert_eq!(rv(&app(&emu).unwrap()), rv(&ap), "the App was left alone");
}

#[test]
fn an_object_changed_after_the_diff_is_a_conflict_and_nothing_is_applied() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy(&emu, &args(USER1, &["-y"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let job_rv = rv(&job(&emu).unwrap());

    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    let ready = tmp.path().join("go.ready");
    let bin = assert_cmd::cargo::cargo_bin("kpipe");
    let mut cmd = std::process::Command::new(bin);
    cmd.current_dir(root())
        .arg("deploy")
        .args(USER1)
        // Two updates: the App and the Job.
        .args(["-y", "--set", "service_account=pipeline-runner"])
        .args(["--set", "resubmit_image=example.org/argocli:9"])
        .env("KPIPE_TEST_PAUSE_BEFORE_APPLY", &go)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in emu.env() {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "deploy never reached the apply"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Someone else changes the App after the diff was shown.
    let mut a = app(&emu).unwrap();
    a["metadata"]["labels"]["touched-by"] = json!("someone-else");
    emu.set(a);
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(
            "apps.kappctrl.k14s.io \"mlapp-user1\" changed since the diff; run again \
             (nothing was applied for this session)"
        ),
        "{}",
        show(&out)
    );
    // Nothing else was applied: the Job (also an update) is as it was.
    let jb = job(&emu).unwrap();
    assert_eq!(rv(&jb), job_rv, "{jb:#}");
    let a = app(&emu).unwrap();
    assert_eq!(a["metadata"]["labels"]["touched-by"], "someone-else");
    assert_eq!(a["spec"]["serviceAccountName"], "default");
}

/// Copies the example to `<tmp>/ml-pipeline` (same app name) for tests that edit templates.
fn example_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("ml-pipeline");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    for f in [
        "values.yaml",
        "sessions.yaml",
        "templates/app.yaml",
        "templates/job.yaml",
        "templates/pipeline.yaml",
    ] {
        std::fs::copy(root().join(EXAMPLE).join(f), dir.join(f)).unwrap();
    }
    dir
}

#[test]
fn prune_deletes_what_is_no_longer_rendered_and_is_listed_without_it() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = example_copy(tmp.path());
    let extra = dir.join("templates/extra.yaml");
    std::fs::write(
        &extra,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-{{ session_name }}\n  namespace: {{ session_namespace }}\ndata:\n  a: b\n",
    )
    .unwrap();
    let d = dir.to_str().unwrap();
    let base = [d, "--session", "user1", "--deployer", "kubectl", "-y"];
    let out = deploy(&emu, &base);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(emu.get("", "ConfigMap", "user1", "extra-user1").is_some());
    // An object of another app with the same kind is never a delete of ours.
    emu.set(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "theirs", "namespace": "user1", "labels": {"kpipe.dev/app": "other"}}}));

    std::fs::remove_file(&extra).unwrap();
    let out = deploy(&emu, &base);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("@@ delete configmap/extra-user1 (v1) namespace: user1 @@"),
        "{stdout}"
    );
    assert!(stdout.contains("not pruned: ConfigMap/extra-user1 namespace: user1 (session user1; --prune deletes it)"), "{stdout}");
    assert!(stdout.contains("Nothing to apply."), "{stdout}");
    assert!(
        emu.get("", "ConfigMap", "user1", "extra-user1").is_some(),
        "left in place"
    );

    let out = deploy(&emu, &args(&base, &["--prune"]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("0 created, 0 updated, 1 deleted"),
        "{}",
        show(&out)
    );
    assert!(
        emu.get("", "ConfigMap", "user1", "extra-user1").is_none(),
        "pruned"
    );
    assert!(emu.get("", "ConfigMap", "user1", "theirs").is_some());
    assert!(workflow(&emu).is_some());
}

/// Sets the App's status (from the test thread) once deploy has created it.
fn set_app_status_when_created(emu: &Emulator, status: Value) {
    let start = Instant::now();
    loop {
        if let Some(mut a) = app(emu) {
            let mut status = status.clone();
            status["observedGeneration"] = a["metadata"]["generation"].clone();
            a["status"] = status;
            emu.set(a);
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "App never created"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn deploy_waiting(emu: &Emulator, timeout: &str, status: Option<Value>) -> Output {
    std::thread::scope(|s| {
        if let Some(st) = status {
            s.spawn(move || set_app_status_when_created(emu, st));
        }
        deploy(
            emu,
            &args(
                USER1,
                &[
                    "-y",
                    "--wait",
                    "--timeout",
                    timeout,
                    "--poll-interval",
                    "100ms",
                ],
            ),
        )
    })
}

#[test]
fn wait_succeeds_on_reconcile_succeeded() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy_waiting(
        &emu,
        "60s",
        Some(json!({"friendlyDescription": "Reconcile succeeded",
            "conditions": [{"type": "ReconcileSucceeded", "status": "True"}]})),
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn wait_fails_with_the_useful_error_message() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy_waiting(
        &emu,
        "60s",
        Some(json!({
            "friendlyDescription": "Reconcile failed: Templating dir: Error (see .status.usefulErrorMessage for details)",
            "usefulErrorMessage": "ytt: Error: Checking file '1/main-user1': lstat: no such file",
            "conditions": [{"type": "ReconcileFailed", "status": "True", "message": "Templating dir: Error"}]})),
    );
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("App user1/mlapp-user1: ReconcileFailed: ytt: Error: Checking file '1/main-user1': lstat: no such file"),
        "{}",
        show(&out)
    );
}

#[test]
fn wait_times_out() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let start = Instant::now();
    let out = deploy_waiting(&emu, "1s", None);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(text(&out.stderr).contains("timed out after 1s waiting for 1 App(s) to reconcile (App user1/mlapp-user1: no status yet)"), "{}", show(&out));
    assert!(start.elapsed() < Duration::from_secs(60));
}

/// A recording STAND-IN for kapp (kapp is not installable here): a shell script named `kapp`
/// that stores its arguments and stdin, so the test checks what kpipe hands to kapp.
fn stand_in_kapp(dir: &Path, exit_code: i32) {
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{d}/args'\ncat > '{d}/stdin'\necho 'stand-in kapp: Succeeded'\nif [ {exit_code} -ne 0 ]; then echo 'kapp: Error: stand-in failure' >&2; fi\nexit {exit_code}\n",
        d = dir.display()
    );
    let path = dir.join("kapp");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn with_kapp_on_path(c: &mut Command, dir: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    c.env("PATH", std::env::join_paths(paths).unwrap());
}

#[test]
fn kapp_deployer_gets_the_rendered_stream() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let bin = tempfile::tempdir().unwrap();
    stand_in_kapp(bin.path(), 0);
    // kapp on PATH makes it the default deployer.
    let mut c = kpipe(&emu);
    with_kapp_on_path(&mut c, bin.path());
    let out = c
        .args(["deploy", EXAMPLE, "--session", "user1", "-y"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("stand-in kapp: Succeeded"),
        "kapp's output streamed: {}",
        show(&out)
    );
    let args = std::fs::read_to_string(bin.path().join("args")).unwrap();
    assert_eq!(args, "deploy\n-a\nml-pipeline-user1\n-f\n-\n-y\n--patch\n");
    let rendered = kpipe(&emu)
        .args(["render", EXAMPLE, "--session", "user1"])
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(bin.path().join("stdin")).unwrap(),
        text(&rendered.stdout)
    );
    assert!(emu.objects().is_empty(), "kpipe itself applied nothing");

    // --prune lets kapp delete; -n and --app pass through; a kapp failure is exit 3.
    stand_in_kapp(bin.path(), 1);
    let mut c = kpipe(&emu);
    with_kapp_on_path(&mut c, bin.path());
    let out = c
        .args([
            "deploy",
            EXAMPLE,
            "--session",
            "user1",
            "-y",
            "--deployer",
            "kapp",
            "--prune",
            "-n",
            "argo",
            "--app",
            "ml-{session}",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(
            "`kapp deploy -a ml-user1` failed (exit status: 1): kapp: Error: stand-in failure"
        ),
        "{}",
        show(&out)
    );
    let args = std::fs::read_to_string(bin.path().join("args")).unwrap();
    assert_eq!(args, "deploy\n-a\nml-user1\n-f\n-\n-y\n-n\nargo\n");
}

#[test]
fn many_sessions_one_confirmation_and_a_table() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    // user2's writes fail: the other sessions are still deployed.
    emu.fail_when(1000, 500, |r| {
        r.method == "PATCH" && r.path.contains("/namespaces/user2/")
    });
    let out = deploy(
        &emu,
        &[EXAMPLE, "--deployer", "kubectl", "-y", "--parallel", "2"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Session: user1\n"), "{stdout}");
    assert!(
        stdout.contains("\nSession       App                       Result\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "user1         ml-pipeline-user1         deployed: 3 created, 0 updated, 0 deleted"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("user2         ml-pipeline-user2         FAILED: session user2: `kubectl apply --server-side --dry-run=server` failed"), "{stdout}");
    assert!(
        stdout.contains("lab-w01-s003  ml-pipeline-lab-w01-s003  deployed: 3 created"),
        "{stdout}"
    );
    assert!(
        stdout.contains("3 session(s): 2 deployed or unchanged, 1 failed"),
        "{stdout}"
    );
    assert!(workflow(&emu).is_some());
    assert!(emu
        .get(
            "argoproj.io",
            "Workflow",
            "lab-w01-s003",
            "mlworkflow-lab-w01-s003"
        )
        .is_some());
    assert!(emu
        .get("argoproj.io", "Workflow", "user2", "mlworkflow-user2")
        .is_none());
}

#[test]
fn refuses_without_a_terminal_and_without_yes() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy(&emu, USER1);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr)
            .contains("refusing to deploy without confirmation: stdin is not a terminal"),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stdout).contains("Op: 3 create"),
        "the diff was shown first"
    );
    assert!(emu.objects().is_empty());
}

#[test]
fn render_errors_stop_before_the_cluster() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = example_copy(tmp.path());
    std::fs::write(
        dir.join("templates/bad.yaml"),
        "kind: ConfigMap\nmetadata: [unclosed\n",
    )
    .unwrap();
    let out = deploy(
        &emu,
        &[
            dir.to_str().unwrap(),
            "--session",
            "user1",
            "--deployer",
            "kubectl",
            "-y",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out.stderr).contains("bad.yaml"), "{}", show(&out));
    assert!(
        emu.resource_requests().is_empty(),
        "{:?}",
        emu.resource_requests()
    );
}

#[test]
fn an_unreachable_cluster_is_exit_3_with_kubectls_message() {
    if support::skip_without_kubectl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let emu = Emulator::start(vec![]);
    let kubeconfig = emu.kubeconfig(tmp.path());
    let port = emu.port();
    drop(emu);
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(root())
        .env_remove("KUBECONFIG")
        .env("KUBECACHEDIR", tmp.path().join("cache"))
        .args(["deploy"])
        .args(USER1)
        .args(["-y", "--kubeconfig", kubeconfig.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(&format!("127.0.0.1:{port}: connect: connection refused")),
        "{}",
        show(&out)
    );
}

/// Runs deploy under `script` (util-linux), which gives it a terminal, answering `answer`.
fn deploy_on_a_terminal(emu: &Emulator, answer: &str) -> Option<Output> {
    let script = Path::new("/usr/bin/script");
    if !script.is_file() {
        println!("skipped: util-linux script not found");
        return None;
    }
    let bin = assert_cmd::cargo::cargo_bin("kpipe");
    let line = format!("{} deploy {}", bin.display(), USER1.join(" "));
    let mut c = Command::new(script);
    c.current_dir(root())
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .write_stdin(answer.to_string());
    for (k, v) in emu.env() {
        c.env(k, v);
    }
    Some(c.output().unwrap())
}

#[test]
fn asks_on_a_terminal() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let Some(out) = deploy_on_a_terminal(&emu, "n\n") else {
        return;
    };
    let all = text(&out.stdout);
    assert!(all.contains("Continue? [y/N]"), "{}", show(&out));
    assert!(all.contains("Stopped: nothing applied."), "{}", show(&out));
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(emu.objects().is_empty());

    let Some(out) = deploy_on_a_terminal(&emu, "y\n") else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text(&out.stdout).contains("3 created"), "{}", show(&out));
    assert!(workflow(&emu).is_some());
}

#[test]
fn lint_errors_stop_before_the_cluster() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let out = deploy(
        &emu,
        &["fixtures/workshop-bugs", "--deployer", "kubectl", "-y"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[argo-undefined-input]"), "{stderr}");
    assert!(
        stderr.contains("nothing deployed (see above; --no-lint skips the checks)"),
        "{stderr}"
    );
    assert!(
        emu.resource_requests().is_empty(),
        "{:?}",
        emu.resource_requests()
    );
}

/// Under the Tanzu CLI (no `--kubeconfig`), deploy talks to the active Tanzu context's cluster,
/// as diff does: both run kubectl through the same runner.
#[test]
fn under_the_tanzu_cli_the_active_context_is_deployed_to() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tanzu_config(dir.path(), emu.kubeconfig_path());
    let out = kpipe(&emu)
        .env_remove("KUBECONFIG")
        .env("TANZU_BIN", "/usr/local/bin/tanzu")
        .env("TANZU_CONFIG_NEXT_GEN", &cfg)
        .env("HOME", dir.path())
        .arg("deploy")
        .args(args(USER1, &["-y"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(workflow(&emu).is_some(), "{}", show(&out));
}
