//! `kpipe diff --live cluster` through the real kubectl against the API emulator
//! (`tests/support`), serving the same objects as the snapshot fixtures: the reports must be
//! identical to those of `--live live` (the snapshot folder). Skips without kubectl.

mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use support::Emulator;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/diff")
}

/// Runs kpipe diff with `args`, against the snapshot (`emu` None) or the emulator.
fn kpipe(emu: Option<&Emulator>, args: &[&str]) -> (i32, String, String) {
    kpipe_live(emu, if emu.is_some() { "cluster" } else { "live" }, args)
}

/// `kpipe diff` against `--live LIVE` (the emulator's environment when given).
fn kpipe_live(emu: Option<&Emulator>, live: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("kpipe").unwrap();
    cmd.current_dir(fixtures())
        .env_remove("TANZU_BIN")
        .env_remove("KUBECONFIG")
        .env("NO_COLOR", "1")
        .args(["diff", "-n", "demo", "--color", "never"])
        .args(args)
        .args(["--live", live]);
    if let Some(e) = emu {
        cmd.envs(e.env());
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Live objects of the snapshot fixtures, loaded into an emulator.
fn emulator(files: &[&str]) -> Emulator {
    let mut objects = Vec::new();
    for f in files {
        let p = fixtures().join("live").join(f);
        if p.is_dir() {
            objects.extend(support::emulator::load_dir(&p));
        } else {
            let text = std::fs::read_to_string(&p).unwrap();
            objects.extend(support::emulator::parse_documents(&text).unwrap());
        }
    }
    Emulator::builder()
        .namespace("demo")
        .objects(objects)
        .start()
}

const APP_LABEL: &str = "label:kapp.k14s.io/app=1700000000000000001";

#[test]
fn cluster_reports_equal_snapshot_reports() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = emulator(&["."]);
    for report in ["text", "table", "json", "markdown"] {
        let args = ["--files", "desired", "--app", "web-app", "--report", report];
        let (code_s, snap, _) = kpipe(None, &args);
        let (code_c, live, err) = kpipe(Some(&emu), &args);
        assert_eq!(code_c, 1, "{report}: {err}");
        assert_eq!(code_s, code_c, "{report}");
        assert_eq!(
            snap, live,
            "{report} differs between snapshot and cluster\n{err}"
        );
    }
}

/// Desired files, live fixture files, extra arguments, expected exit code.
type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], i32);

#[test]
fn cluster_ops_match_snapshot_ops() {
    if support::skip_without_kubectl() {
        return;
    }
    // (files, live objects, extra args, exit code): noop, update, create, delete, conflict.
    let cases: &[Case] = &[
        (
            &["desired/web.yaml", "desired/kapp-config.yaml"],
            &["web.yaml"],
            &[],
            0,
        ),
        (&["desired/app-config.yaml"], &["app-config.yaml"], &[], 1),
        (&["desired/feature-flags.yaml"], &["web.yaml"], &[], 1),
        (
            &["desired/web.yaml", "desired/kapp-config.yaml"],
            &["."],
            &["--app", "web-app"],
            1,
        ),
        (
            &["desired/shared.yaml"],
            &["shared.yaml"],
            &["--app", APP_LABEL],
            1,
        ),
    ];
    for (files, live, extra, code) in cases {
        let emu = emulator(live);
        let mut args = vec!["--files"];
        args.extend_from_slice(files);
        args.extend_from_slice(extra);
        let (c, out, err) = kpipe(Some(&emu), &args);
        assert_eq!(c, *code, "{files:?}: {out}{err}");
        // The snapshot run sees only the same live files.
        let dir = tempfile::tempdir().unwrap();
        for f in *live {
            let src = fixtures().join("live").join(f);
            if src.is_dir() {
                for e in std::fs::read_dir(&src).unwrap() {
                    let p = e.unwrap().path();
                    std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
                }
            } else {
                std::fs::copy(&src, dir.path().join(f)).unwrap();
            }
        }
        let mut snap_args = args.clone();
        snap_args.extend(["--live", dir.path().to_str().unwrap()]);
        let mut cmd = Command::cargo_bin("kpipe").unwrap();
        let snap = cmd
            .current_dir(fixtures())
            .env("NO_COLOR", "1")
            .args(["diff", "-n", "demo", "--color", "never"])
            .args(&snap_args)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(snap.stdout).unwrap(), out, "{files:?}");
    }
}

#[test]
fn many_objects_are_listed_per_namespace() {
    if support::skip_without_kubectl() {
        return;
    }
    // Above 50 wanted objects kpipe LISTs per namespace instead of one GET per object.
    let dir = tempfile::tempdir().unwrap();
    let mut desired = String::new();
    let mut objects = Vec::new();
    for i in 0..60 {
        desired.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  k: v{i}\n"
        ));
        if i % 2 == 0 {
            objects.push(serde_json::json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}"), "namespace": "demo"},
                "data": {"k": if i == 10 { "changed".to_string() } else { format!("v{i}") }},
            }));
        }
    }
    let f = dir.path().join("many.yaml");
    std::fs::write(&f, desired).unwrap();
    let emu = Emulator::builder()
        .namespace("demo")
        .objects(objects)
        .start();
    let (code, out, err) = kpipe(
        Some(&emu),
        &["--files", f.to_str().unwrap(), "--report", "table"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("Op: 30 create, 0 delete, 1 update, 29 noop"),
        "{out}"
    );
    let gets = emu
        .resource_requests()
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/namespaces/demo/configmaps/"))
        .count();
    assert_eq!(gets, 0, "{:?}", emu.resource_requests());
}

#[test]
fn context_namespace_places_resources() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = emulator(&["app-config.yaml"]);
    // No -n: the kubeconfig context's namespace (demo) is used.
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .envs(emu.env())
        .env_remove("TANZU_BIN")
        .args([
            "diff",
            "--color",
            "never",
            "--files",
            "desired/app-config.yaml",
            "--live",
            "cluster",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("@@ update configmap/app-config (v1) namespace: demo @@"),
        "{text}"
    );
}

#[test]
fn forbidden_and_unreachable_exit_three() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = emulator(&["app-config.yaml"]);
    emu.fail_next(10, 403);
    let (code, _, err) = kpipe(Some(&emu), &["--files", "desired/app-config.yaml"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("Forbidden") || err.contains("forbidden"),
        "{err}"
    );
    let kubeconfig = emu.kubeconfig_path().to_path_buf();
    drop(emu);
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env_remove("TANZU_BIN")
        .args([
            "diff",
            "-n",
            "demo",
            "--files",
            "desired/app-config.yaml",
            "--live",
            "cluster",
        ])
        .arg(format!("--kubeconfig={}", kubeconfig.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn tanzu_context_supplies_kubeconfig() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = emulator(&["app-config.yaml"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::tanzu_config(dir.path(), emu.kubeconfig_path());
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(fixtures())
        .env_remove("KUBECONFIG")
        .env("KUBECACHEDIR", emu.cache_dir())
        .env("TANZU_BIN", "/usr/local/bin/tanzu")
        .env("TANZU_CONFIG_NEXT_GEN", &cfg)
        .env("HOME", dir.path())
        .args([
            "diff",
            "-n",
            "demo",
            "--color",
            "never",
            "--files",
            "desired/app-config.yaml",
            "--live",
            "cluster",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("LOG_LEVEL: debug"), "{text}");
}

/// Versions of a `kapp.k14s.io/versioned` object are found in the cluster by the app label
/// (their names are not the rendered ones): the report equals the snapshot's.
#[test]
fn cluster_finds_versions_like_the_snapshot() {
    if support::skip_without_kubectl() {
        return;
    }
    let text = std::fs::read_to_string(fixtures().join("versioned/live/web.yaml")).unwrap();
    let emu = Emulator::builder()
        .namespace("demo")
        .objects(support::emulator::parse_documents(&text).unwrap())
        .start();
    let files = ["--files", "versioned/desired", "--app", APP_LABEL];
    let (code_c, cluster, err) = kpipe(Some(&emu), &files);
    assert_eq!(code_c, 1, "{err}");
    assert!(
        cluster.contains("@@ create configmap/web-config-ver-3 (v1) namespace: demo @@"),
        "{cluster}"
    );
    let (_, snap, _) = kpipe_live(None, "versioned/live", &files);
    assert_eq!(snap, cluster);
}
