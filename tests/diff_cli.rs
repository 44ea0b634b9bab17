//! `kpipe diff` through the built binary, on the fixtures under `tests/fixtures/diff/`
//! (desired manifests in `desired/`, a live snapshot in `live/`, namespace `demo`).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

const APP_LABEL: &str = "label:kapp.k14s.io/app=1700000000000000001";

/// Runs `kpipe diff -n demo --color never` plus `args` from the fixtures folder.
fn diff(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env_remove("TANZU_BIN")
        .env("NO_COLOR", "1")
        .args(["diff", "-n", "demo", "--color", "never"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn all(report: &str) -> (i32, String, String) {
    diff(&[
        "--files", "desired", "--live", "live", "--app", "web-app", "--report", report,
    ])
}

#[test]
fn noop_exits_zero() {
    let (code, out, err) = diff(&[
        "--files",
        "desired/web.yaml",
        "desired/kapp-config.yaml",
        "--live",
        "live/web.yaml",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("@@"), "{out}");
    assert!(
        out.contains("Op: 0 create, 0 delete, 0 update, 1 noop"),
        "{out}"
    );
}

#[test]
fn without_the_hpa_rule_replicas_would_change() {
    let (code, out, _) = diff(&["--files", "desired/web.yaml", "--live", "live/web.yaml"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("@@ update deployment/web (apps/v1) namespace: demo @@"),
        "{out}"
    );
    assert!(
        out.contains("-   replicas: 5") && out.contains("+   replicas: 2"),
        "{out}"
    );
}

#[test]
fn update_exits_one() {
    let (code, out, _) = diff(&[
        "--files",
        "desired/app-config.yaml",
        "--live",
        "live/app-config.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("@@ update configmap/app-config (v1) namespace: demo @@"),
        "{out}"
    );
    assert!(
        out.contains("  2     -   LOG_LEVEL: info\n      2 +   LOG_LEVEL: debug\n"),
        "{out}"
    );
}

#[test]
fn create() {
    let (code, out, _) = diff(&[
        "--files",
        "desired/feature-flags.yaml",
        "--live",
        "live/web.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "@@ create configmap/feature-flags (v1) namespace: demo @@\n      0 + apiVersion: v1\n"
        ),
        "{out}"
    );
}

#[test]
fn delete_only_what_this_app_owns() {
    let (code, out, _) = diff(&[
        "--files",
        "desired/web.yaml",
        "desired/kapp-config.yaml",
        "--live",
        "live",
        "--app",
        "web-app",
        "--report",
        "table",
    ]);
    assert_eq!(code, 1);
    // Owned and no longer rendered: deleted. Another app's object, the app record and the
    // controller-made Pod: left alone.
    for name in ["app-config", "db-creds", "old-worker"] {
        assert!(
            out.lines()
                .any(|l| l.contains(name) && l.contains("delete")),
            "{name}: {out}"
        );
    }
    // Without the app record kpipe knows only the rendered kinds (kapp scopes its listing to
    // the kinds the app has used): no Deployment is left over, so nothing is deleted.
    let (code, _, _) = diff(&[
        "--files",
        "desired/web.yaml",
        "desired/kapp-config.yaml",
        "--live",
        "live",
        "--app",
        APP_LABEL,
    ]);
    assert_eq!(code, 0);
    for name in ["shared", "web-app", "web-7d9f8b6c5-abcde"] {
        assert!(!out.contains(name), "{name}: {out}");
    }
}

#[test]
fn conflict_with_another_app() {
    let (code, out, _) = diff(&[
        "--files",
        "desired/shared.yaml",
        "--live",
        "live/shared.yaml",
        "--app",
        APP_LABEL,
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("@@ conflict configmap/shared (v1) namespace: demo @@"),
        "{out}"
    );
    assert!(
        out.contains("owned by another kapp app (label kapp.k14s.io/app=1600000000000000999)"),
        "{out}"
    );
    // Without naming an app, the live owner is taken as ours: an ordinary update.
    let (code, out, _) = diff(&[
        "--files",
        "desired/shared.yaml",
        "--live",
        "live/shared.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("@@ update configmap/shared"), "{out}");
}

#[test]
fn text_report() {
    let (code, out, err) = all("text");
    assert_eq!(code, 1, "{err}");
    assert!(!out.contains('\x1b'));
    insta::assert_snapshot!("text", out);
}

#[test]
fn table_report() {
    let (code, out, _) = all("table");
    assert_eq!(code, 1);
    insta::assert_snapshot!("table", out);
}

#[test]
fn json_report() {
    let (code, out, _) = all("json");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["changed"], true);
    insta::assert_snapshot!("json", out);
}

#[test]
fn markdown_report() {
    let (code, out, _) = all("markdown");
    assert_eq!(code, 1);
    insta::assert_snapshot!("markdown", out);
}

#[test]
fn colour_only_when_asked() {
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env_remove("NO_COLOR")
        .args([
            "diff",
            "-n",
            "demo",
            "--color",
            "always",
            "--files",
            "desired/app-config.yaml",
            "--live",
            "live/app-config.yaml",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\x1b[31m  2     -   LOG_LEVEL: info\x1b[0m"),
        "{text}"
    );
    // auto: stdout is a pipe here, so no colour.
    let (_, out, _) = diff(&[
        "--color",
        "auto",
        "--files",
        "desired/app-config.yaml",
        "--live",
        "live/app-config.yaml",
    ]);
    assert!(!out.contains('\x1b'));
}

/// Secret values (base64 and decoded) must not appear in any report without --show-secrets.
#[test]
fn secrets_never_shown_unless_asked() {
    let secrets = [
        "bmV3LXBhc3N3b3Jk",
        "b2xkLXBhc3N3b3Jk",
        "YWRtaW4=",
        "new-password",
        "old-password",
    ];
    for report in ["text", "table", "json", "markdown"] {
        let (_, out, err) = all(report);
        for s in secrets {
            assert!(
                !out.contains(s) && !err.contains(s),
                "{report} shows {s}:\n{out}"
            );
        }
    }
    let (_, out, _) = diff(&[
        "--files",
        "desired",
        "--live",
        "live",
        "--app",
        "web-app",
        "--show-secrets",
    ]);
    assert!(
        out.contains("password: bmV3LXBhc3N3b3Jk") && out.contains("password: b2xkLXBhc3N3b3Jk"),
        "{out}"
    );
}

#[test]
fn context_zero_and_all() {
    let (_, out, _) = diff(&[
        "--files",
        "desired/app-config.yaml",
        "--live",
        "live/app-config.yaml",
        "--context",
        "0",
    ]);
    assert!(
        out.contains("@@\n  2     -   LOG_LEVEL: info\n      2 +   LOG_LEVEL: debug\n\n"),
        "{out}"
    );
    let (_, out, _) = diff(&[
        "--files",
        "desired/app-config.yaml",
        "--live",
        "live/app-config.yaml",
        "--context",
        "-1",
    ]);
    assert!(out.contains("@@\n  0,  0   apiVersion: v1\n"), "{out}");
}

#[test]
fn bad_inputs_exit_two() {
    let (code, _, err) = diff(&["--files", "desired/missing.yaml", "--live", "live"]);
    assert_eq!(code, 2);
    assert!(err.contains("desired/missing.yaml"), "{err}");
    let (code, _, err) = diff(&["--files", "desired", "--live", "nowhere"]);
    assert_eq!(code, 2);
    assert!(err.contains("nowhere"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- path: [spec]\n  type: move\n").unwrap();
    let (code, _, err) = diff(&["--files", bad.to_str().unwrap(), "--live", "live"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.yaml:1") && err.contains("rebaseRules[0]"),
        "{err}"
    );
    // JSON snapshots: bad JSON inside an object's spec is found as it is read (file:line:col);
    // a key repeated there, when the object is compared (the file and the object named).
    let snap = dir.path().join("live.json");
    let item = |data: &str| {
        format!(
            "{{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":[\n{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"app-config\",\"namespace\":\"demo\"}},\"data\":{data}}}]}}"
        )
    };
    std::fs::write(&snap, item("{\"a\": 01}")).unwrap();
    let (code, _, err) = diff(&["--files", "desired", "--live", snap.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("live.json:2:") && err.contains("invalid number `01`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(&snap, item("{\"a\": \"1\", \"a\": \"2\"}")).unwrap();
    let (code, _, err) = diff(&["--files", "desired", "--live", snap.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ConfigMap/app-config")
            && err.contains("live.json: a live object's spec, data or other fields: duplicate key"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `--files` documents are read head first (their bodies parsed when compared): a body that
/// does not parse is still reported with its line in the file, and one that parses only with
/// the rest of its document (an alias of an anchor in `metadata`) still diffs as written.
#[test]
fn document_bodies_read_later_keep_their_lines_and_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n  annotations: &a\n    kapp.k14s.io/change-group: apps.example.com/config\n";
    let body = "data:\n  LOG_LEVEL: debug\n  REGION: eu\n";
    let bad = dir.path().join("bad.yaml");
    let other = head.replace("name: app-config", "name: other");
    std::fs::write(&bad, format!("{head}{body}---\n{other}data:\n  a: [1,\n")).unwrap();
    let (code, out, err) = diff(&["--files", bad.to_str().unwrap(), "--live", "live"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("bad.yaml:19:1: while parsing a node, did not find expected node content"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The same object written whole and with an alias: the same report.
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, format!("{head}{body}")).unwrap();
    let aliased = dir.path().join("aliased.yaml");
    std::fs::write(&aliased, format!("{head}{body}  copy: *a\n")).unwrap();
    let (code, out, err) = diff(&[
        "--files",
        aliased.to_str().unwrap(),
        "--live",
        "live",
        "--report",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("\"data.copy\"")
            && out.contains("5 +     kapp.k14s.io/change-group: apps.example.com/config"),
        "{out}"
    );
    let (code, _, err) = diff(&["--files", plain.to_str().unwrap(), "--live", "live"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn missing_kubectl_exits_three() {
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env("KPIPE_KUBECTL", "/nonexistent/kubectl")
        .env_remove("TANZU_BIN")
        .args(["diff", "--files", "desired", "--live", "cluster"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubectl not found"));
}

/// kpipe raises its own stack limit for deep documents; kubectl gets the one kpipe was given.
#[test]
fn kubectl_runs_with_the_stack_limit_kpipe_was_started_with() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("kubectl");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"stack limit $(ulimit -s)\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ours = std::process::Command::new("sh")
        .args(["-c", "ulimit -s"])
        .output()
        .unwrap();
    let ours = String::from_utf8(ours.stdout).unwrap();
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env("KPIPE_KUBECTL", &fake)
        .env_remove("TANZU_BIN")
        .args(["diff", "--files", "desired", "--live", "cluster"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("stack limit {}", ours.trim())),
        "kubectl saw another limit than ours ({}): {err}",
        ours.trim()
    );
}

#[test]
fn sessions_are_grouped() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ml-pipeline");
    let empty = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .args([
            "diff",
            example.to_str().unwrap(),
            "--live",
            empty.path().to_str().unwrap(),
            "--report",
            "table",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Session: user1") && text.contains("Session: user2"),
        "{text}"
    );
    assert!(text.contains("Total Op: 9 create"), "{text}");
}

/// `--diff-filter`: kapp's JSON filter, or a list of ops; conflicts always stay.
#[test]
fn diff_filter_keeps_matching_changes() {
    let (code, out, err) = diff(&[
        "--files",
        "desired",
        "--live",
        "live",
        "--app",
        "web-app",
        "--report",
        "table",
        "--diff-filter",
        "create,delete",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("Op: 1 create, 1 delete, 0 update, 0 noop, 0 exists, 1 conflict"),
        "{out}"
    );
    assert!(!out.contains("app-config"), "{out}");
    // kapp's JSON form: updates of Secrets only (the conflict is still shown).
    let (code, out, _) = diff(&[
        "--files",
        "desired",
        "--live",
        "live",
        "--app",
        "web-app",
        "--diff-filter",
        r#"{"and":[{"ops":["update"]},{"existingResource":{"kinds":["Secret"]}}]}"#,
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("@@ update secret/db-creds (v1) namespace: demo @@"),
        "{out}"
    );
    assert!(!out.contains("configmap/app-config"), "{out}");
    assert!(
        out.contains("Op: 0 create, 0 delete, 1 update, 0 noop, 0 exists, 1 conflict"),
        "{out}"
    );
    // Nothing left: exit 0.
    let (code, out, _) = diff(&[
        "--files",
        "desired/app-config.yaml",
        "--live",
        "live/app-config.yaml",
        "--diff-filter",
        r#"{"newResource":{"names":["other*"]}}"#,
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, _, err) = diff(&[
        "--files",
        "desired",
        "--live",
        "live",
        "--diff-filter",
        "create,upgrade",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown op \"upgrade\""), "{err}");
}

/// A ytt rebase rule in a user Config cannot be evaluated: a warning says so, with its source.
#[test]
fn ytt_rebase_rules_are_reported_as_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("ytt-config.yaml");
    std::fs::write(
        &cfg,
        "apiVersion: kapp.k14s.io/v1alpha1\nkind: Config\nrebaseRules:\n- ytt:\n    overlayContractV1:\n      overlay.yml: |\n        #@ load(\"@ytt:overlay\", \"overlay\")\n  resourceMatchers: [{allMatcher: {}}]\n",
    )
    .unwrap();
    let (code, out, err) = diff(&[
        "--files",
        "desired/app-config.yaml",
        cfg.to_str().unwrap(),
        "--live",
        "live/app-config.yaml",
    ]);
    assert_eq!(code, 1, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("Warning: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("ytt-config.yaml:1: kapp Config: rebaseRules[0] is a ytt overlay rule"),
        "{line}"
    );
    let (_, out, _) = diff(&[
        "--files",
        "desired/app-config.yaml",
        cfg.to_str().unwrap(),
        "--live",
        "live/app-config.yaml",
        "--report",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["sessions"][0]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("ytt overlay"));
}

/// A snapshot saved with `kubectl get -o json` (managedFields, status) diffs like its YAML twin.
#[test]
fn json_snapshot_with_server_fields() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.json");
    std::fs::write(
        &live,
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app-config","namespace":"demo","uid":"u1","resourceVersion":"9","managedFields":[{"manager":"kapp","operation":"Update","fieldsV1":{"f:data":{}}}],"labels":{"kapp.k14s.io/app":"1700000000000000001","kapp.k14s.io/association":"v1.a"},"annotations":{"kapp.k14s.io/change-group":"apps.example.com/config"}},"data":{"LOG_LEVEL":"info","REGION":"eu"},"status":{"x":1}}],"metadata":{"resourceVersion":""}}"#,
    )
    .unwrap();
    let (code, out, err) = diff(&[
        "--files",
        "desired/app-config.yaml",
        "--live",
        live.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("  2     -   LOG_LEVEL: info\n      2 +   LOG_LEVEL: debug\n"),
        "{out}"
    );
    assert!(
        !out.contains("managedFields") && !out.contains("status"),
        "{out}"
    );
}

/// What the diff removes from both sides (server metadata, kapp's history annotations) is not
/// read from a JSON snapshot; kapp's stored `original` still is when it is the baseline.
#[test]
fn json_snapshot_bookkeeping_is_skipped_unless_the_original_is_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("cm.yaml");
    std::fs::write(
        &desired,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: demo}\ndata: {a: '1'}\n",
    )
    .unwrap();
    let live = dir.path().join("live.json");
    let object = |data: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"c","namespace":"demo","uid":"u1","resourceVersion":"9","generation":2,"creationTimestamp":"2026-01-01T00:00:00Z","annotations":{{"kapp.k14s.io/original":"{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"c\",\"namespace\":\"demo\"}},\"data\":{{\"a\":\"1\"}}}}","kapp.k14s.io/original-diff-md5":"0f"}}}},"data":{data}}}"#
        )
    };
    let run = |data: &str, extra: &[&str]| {
        std::fs::write(&live, object(data)).unwrap();
        let mut args = vec![
            "--files",
            desired.to_str().unwrap(),
            "--live",
            live.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        diff(&args)
    };
    // Only bookkeeping differs: no change, and the annotations emptied by skipping kapp's
    // are not shown as removed.
    let (code, out, err) = run(r#"{"a":"1"}"#, &[]);
    assert_eq!(code, 0, "{out}{err}");
    // A key the server added: a change against live, none against the stored original.
    let (code, out, err) = run(r#"{"a":"1","added":"x"}"#, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("added: x"), "{out}");
    assert!(
        !out.contains("kapp.k14s.io/original") && !out.contains("uid"),
        "{out}"
    );
    let (code, out, err) = run(r#"{"a":"1","added":"x"}"#, &["--diff-against-last-applied"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// kapp versioned resources, on `versioned/` (web-config-ver-1 and -ver-2 live, the Deployment
/// reading ver-2): `kpipe diff -n demo --files versioned/<config> versioned/desired/web.yaml
/// --live <live> --app <label>` plus `args`.
fn versioned(config: &str, live: &str, args: &[&str]) -> (i32, String, String) {
    let config = format!("versioned/{config}");
    let mut all = vec![
        "--files",
        &config,
        "versioned/desired/web.yaml",
        "--live",
        live,
        "--app",
        APP_LABEL,
    ];
    all.extend_from_slice(args);
    diff(&all)
}

#[test]
fn versioned_change_creates_the_next_version_and_updates_references() {
    let (code, out, err) = versioned("desired/web-config.yaml", "versioned/live", &[]);
    assert_eq!(code, 1, "{err}");
    // kapp's output: the create block is the diff against ver-2; the Deployment's
    // references move to ver-3; ver-1 and ver-2 are kept (not shown).
    insta::assert_snapshot!("versioned_text", out);
    let (_, out, _) = versioned(
        "desired/web-config.yaml",
        "versioned/live",
        &["--report", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let created = &v["sessions"][0]["resources"][0];
    assert_eq!(created["op"], "create");
    assert_eq!(created["name"], "web-config-ver-3");
    assert_eq!(
        created["changedPaths"],
        serde_json::json!(["data.LOG_LEVEL"])
    );
    assert!(
        created["diff"]
            .as_str()
            .unwrap()
            .contains("  2     -   LOG_LEVEL: info\n      2 +   LOG_LEVEL: debug\n"),
        "{created}"
    );
}

#[test]
fn versioned_unchanged_keeps_the_latest_version() {
    let (code, out, err) = versioned("unchanged/web-config.yaml", "versioned/live", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("@@"), "{out}");
    assert!(
        out.contains("Op: 0 create, 0 delete, 0 update, 2 noop"),
        "{out}"
    );
    let (_, out, _) = versioned(
        "unchanged/web-config.yaml",
        "versioned/live",
        &["--report", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["sessions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["web-config-ver-2", "web"]);
}

#[test]
fn versioned_num_versions_deletes_older_versions() {
    let (code, out, err) = versioned(
        "keep-one/web-config.yaml",
        "versioned/live",
        &["--report", "table"],
    );
    assert_eq!(code, 1, "{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("web")).collect();
    assert_eq!(
        rows,
        vec![
            "demo       web               Deployment  update  -",
            "^          web-config-ver-1  ConfigMap   delete  -",
            "^          web-config-ver-3  ConfigMap   create  -",
        ],
        "{out}"
    );
}

#[test]
fn versioned_first_deploy_creates_version_one() {
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = versioned(
        "desired/web-config.yaml",
        empty.path().to_str().unwrap(),
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("@@ create configmap/web-config-ver-1 (v1) namespace: demo @@"),
        "{out}"
    );
    assert!(
        out.contains("     11 +   name: web-config-ver-1\n"),
        "{out}"
    );
    // Both references in the Deployment point at the new name.
    assert_eq!(
        out.matches("+             name: web-config-ver-1\n")
            .count()
            + out.matches("+           name: web-config-ver-1\n").count(),
        2,
        "{out}"
    );
    assert!(!out.contains("name: web-config\n"), "{out}");
}

/// `--max-yaml-depth` governs `--files` and YAML snapshots as it governs rendering.
#[test]
fn yaml_depth_flag_applies_to_files_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep, namespace: demo}\ndata:\n  x: |\n    y\nextra:\n");
    for i in 0..300 {
        doc.push_str(&format!("{}k{i}:\n", " ".repeat(i + 1)));
    }
    doc.push_str(&format!("{}leaf\n", " ".repeat(301)));
    let f = dir.path().join("deep.yaml");
    std::fs::write(&f, &doc).unwrap();
    let f = f.to_str().unwrap();
    // The default (200) refuses the desired file, naming it.
    let (code, _, err) = diff(&["--files", f, "--live", f]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("deep.yaml") && err.contains("deeper than 200"),
        "{err}"
    );
    // Raised, both the desired file and the snapshot are read.
    let (code, out, err) = diff(&["--files", f, "--live", f, "--max-yaml-depth", "400"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 noop"), "{out}");
}

/// JSON snapshots: the fields no rule reads are compared as the snapshot's text, wherever the
/// keys stand; a change deep inside one is still found, and a rule that reads the live object
/// (a Service's clusterIP) still applies.
#[test]
fn live_json_fields_compared_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired.yaml");
    std::fs::write(
        &desired,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        args: [\"--msg\", \"a\\nb é\"]\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: demo\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    let live = |image: &str| {
        // Keys in the API server's order, not the manifest's; strings escaped as kubectl does.
        format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[
{{"kind":"Deployment","apiVersion":"apps/v1","metadata":{{"namespace":"demo","name":"web","uid":"u1"}},
 "status":{{"replicas":2}},
 "spec":{{"template":{{"spec":{{"containers":[{{"image":"{image}","name":"web","args":["--msg","a\nb \u00e9"]}}]}},"metadata":{{"labels":{{"app":"web"}}}}}},"selector":{{"matchLabels":{{"app":"web"}}}},"replicas":2}}}},
{{"kind":"Service","apiVersion":"v1","metadata":{{"name":"web","namespace":"demo"}},
 "spec":{{"ports":[{{"port":80}}],"clusterIP":"10.0.0.7","selector":{{"app":"web"}}}}}}]}}"#
        )
    };
    let snap = dir.path().join("live.json");
    std::fs::write(&snap, live("nginx:1.27")).unwrap();
    let (d, s) = (desired.to_str().unwrap(), snap.to_str().unwrap());
    let (code, out, err) = diff(&["--files", d, "--live", s, "--report", "table"]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::write(&snap, live("nginx:1.26")).unwrap();
    let (code, out, err) = diff(&["--files", d, "--live", s, "--context", "0"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("-         image: nginx:1.26") && out.contains("+         image: nginx:1.27"),
        "{out}"
    );
    assert!(!out.contains("Service"), "{out}");
}
