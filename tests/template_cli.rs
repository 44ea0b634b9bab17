//! `kpipe template`: the template-step mode, driven through the built binary.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kpipe() -> Command {
    let mut c = Command::cargo_bin("kpipe").unwrap();
    c.current_dir(root());
    // Tests control the Argo CD environment themselves.
    for (k, _) in std::env::vars() {
        if k.starts_with("ARGOCD_ENV_") {
            c.env_remove(k);
        }
    }
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn ok(c: &mut Command) -> String {
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r.stdout
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn pipeline_folder_renders_as_kpipe_render_does() {
    let t = ok(kpipe().args([
        "template",
        "-f",
        "fixtures/ml-pipeline",
        "-v",
        "session_name=user1",
    ]));
    let r = ok(kpipe().args(["render", "fixtures/ml-pipeline", "--session", "user1"]));
    assert_eq!(t, r);
    assert!(t.contains("name: mlapp-user1"));
}

#[test]
fn fetch_layout_as_input() {
    // kapp-controller's fetch folder: 0/ a git clone (with .git/), 1/ an http fetch of the
    // branch's latest commit (a data file without extension).
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(d, "0/.git/HEAD", "ref: refs/heads/main-user1\n");
    write(d, "0/.git/config.yaml", "not: [valid\n");
    write(
        d,
        "0/values.yaml",
        "#@data/values\n---\nimage: busybox:1\nteam: ${SESSION_NAME}-team\n",
    );
    write(
        d,
        "0/job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: resubmit-{{ session_name }}\n  labels:\n    team: {{ values.team }}\n    commit: {% include \"1/main-user1\" %}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: {{ values.image }}\n        args: [\"{{inputs.parameters.x}}\"]\n      restartPolicy: Never\n",
    );
    write(d, "0/_helpers.yaml", "unused: partial\n");
    write(d, "0/README.md", "# not a template {{ nope\n");
    write(d, "1/main-user1", "abc123\n");
    let out = ok(kpipe().current_dir(d).args([
        "template",
        "-f",
        "0/",
        "-f",
        "1/",
        "-v",
        "session_name=user1",
    ]));
    assert!(out.contains("name: resubmit-user1"), "{out}");
    assert!(out.contains("team: user1-team"), "{out}");
    assert!(out.contains("commit: abc123"), "{out}");
    assert!(
        out.contains("{{inputs.parameters.x}}"),
        "Argo expressions pass through: {out}"
    );
    assert_eq!(
        out.matches("kind:").count(),
        1,
        "only the template is output: {out}"
    );

    // ytt's default when an App lists no paths: `-f <fetchdir>`; names keep the `0/` prefix.
    let out2 = ok(kpipe().current_dir(d).args([
        "template",
        "-f",
        ".",
        "--data-value",
        "session_name=user1",
    ]));
    assert_eq!(out, out2);
}

#[test]
fn stdin_template() {
    let out = ok(kpipe()
        .args(["template", "-f", "-", "-v", "session.team=blue", "-v", "session_name=s1"])
        .write_stdin(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${SESSION_NAME}\n  namespace: {{ session_namespace }}\ndata:\n  team: {{ team }}\n",
        ));
    assert_eq!(
        out,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-s1\n  namespace: s1\ndata:\n  team: blue\n"
    );
}

#[test]
fn data_value_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "values.yaml",
        "a: file\nnested: {x: 1, y: 1}\nlist: [1, 2, 3]\n",
    );
    write(d, "more.yml", "nested: {y: 2}\nlist: [9]\n");
    write(d, "content.txt", "from a file\n");
    write(
        d,
        "t.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  all: {{ values | tojson | quote }}\n",
    );
    let out = ok(kpipe()
        .current_dir(d)
        .env("DV_env__only", "e")
        .env("DV_a", "env")
        .env("DVY_num", "42")
        .args([
            "template",
            "-f",
            "values.yaml",
            "-f",
            "t.yaml",
            "--data-values-file",
            "more.yml",
            "--data-values-env",
            "DV",
            "--data-values-env-yaml",
            "DVY",
            "-v",
            "a=flag",
            "--data-value-yaml",
            "b={k: [true]}",
            "--data-value-file",
            "c=content.txt",
        ]));
    let v: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
    let all: serde_json::Value = serde_json::from_str(v["data"]["all"].as_str().unwrap()).unwrap();
    assert_eq!(
        all,
        serde_json::json!({
            "a": "flag",
            "nested": {"x": 1, "y": 2},
            "list": [9],
            "env": {"only": "e"},
            "num": 42,
            "b": {"k": [true]},
            "c": "from a file\n"
        })
    );
}

#[test]
fn argocd_env_gives_the_session_and_flags_win() {
    let tmpl = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${SESSION_NAME}\ndata:\n  domain: {{ ingress_domain }}\n";
    let out = ok(kpipe()
        .env("ARGOCD_ENV_SESSION_NAME", "argo1")
        .env("ARGOCD_ENV_INGRESS_DOMAIN", "example.org")
        .args(["template", "-f", "-"])
        .write_stdin(tmpl));
    assert!(out.contains("name: cm-argo1"), "{out}");
    assert!(out.contains("domain: example.org"), "{out}");
    let out = ok(kpipe()
        .env("ARGOCD_ENV_SESSION_NAME", "argo1")
        .env("ARGOCD_ENV_INGRESS_DOMAIN", "example.org")
        .args(["template", "-f", "-", "-v", "session_name=flag1"])
        .write_stdin(tmpl));
    assert!(out.contains("name: cm-flag1"), "{out}");
    // --var (as in kpipe render) wins over both.
    let out = ok(kpipe()
        .env("ARGOCD_ENV_SESSION_NAME", "argo1")
        .env("ARGOCD_ENV_INGRESS_DOMAIN", "example.org")
        .args([
            "template",
            "-f",
            "-",
            "-v",
            "session_name=flag1",
            "--var",
            "session_name=var1",
        ])
        .write_stdin(tmpl));
    assert!(out.contains("name: cm-var1"), "{out}");
}

#[test]
fn errors_go_to_stderr_with_location_and_nothing_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(
        d,
        "t.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.missing }}\n",
    );
    let r = run(kpipe().current_dir(d).args(["template", "-f", "t.yaml"]));
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.starts_with("error: t.yaml:4: "), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "no colour");

    // A ytt template is refused, naming the line.
    write(
        d,
        "y.yaml",
        "#@ load(\"@ytt:data\", \"data\")\nkind: ConfigMap\n",
    );
    let r = run(kpipe().current_dir(d).args(["template", "-f", "y.yaml"]));
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with("error: y.yaml:1: ytt annotation"),
        "{}",
        r.stderr
    );

    for args in [
        vec!["template", "-f", "nope/"],
        vec!["template", "-f", "t.yaml", "-v", "novalue"],
        vec!["template", "-f", "README.none"],
        vec!["template"],
    ] {
        let r = run(kpipe().current_dir(d).args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
    }

    // Only data files: nothing to render is an error, not an empty stream.
    write(d, "only/data.txt", "x");
    let r = run(kpipe().current_dir(d).args(["template", "-f", "only"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no templates"), "{}", r.stderr);
}

/// The rendered stream has no comment lines at all, so no `#@` / `#!` ytt annotations: every
/// document is plain YAML, which a downstream ytt step passes through unchanged (ytt also
/// refuses plain `#` comments without --ignore-unknown-comments).
fn assert_ytt_plain(stream: &str) {
    for (n, line) in stream.lines().enumerate() {
        assert!(
            !line.trim_start().starts_with('#'),
            "line {}: comment in output: {line}",
            n + 1
        );
    }
    assert!(!stream.contains("#@"), "no ytt annotation anywhere");
}

#[test]
fn output_passes_through_ytt_unchanged() {
    // The fixture's templates carry comments; the output must not.
    let src =
        std::fs::read_to_string(root().join("fixtures/ml-pipeline/templates/job.yaml")).unwrap();
    assert!(src.lines().any(|l| l.starts_with('#')));
    for session in ["user1", "lab-w01-s003"] {
        let out = ok(kpipe().args([
            "template",
            "-f",
            "fixtures/ml-pipeline",
            "-v",
            &format!("session_name={session}"),
        ]));
        assert!(!out.is_empty());
        assert_ytt_plain(&out);
    }
    // Even a template whose comments look like ytt's, inside Jinja comments or YAML comments
    // after a value, renders to plain YAML.
    let out = ok(kpipe().args(["template", "-f", "-"]).write_stdin(
        "{# #@ not ytt #}\napiVersion: v1 #@ trailing\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"#@ in a string\"}\n",
    ));
    for line in out.lines() {
        assert!(!line.trim_start().starts_with('#'), "{out}");
    }
}

#[test]
fn ytt_over_kpipe_output_is_identical() {
    let Some(ytt) = which("ytt") else {
        println!("skipped: ytt is not on PATH (install ytt to run the pass-through check)");
        return;
    };
    let out = ok(kpipe().args([
        "template",
        "-f",
        "fixtures/ml-pipeline",
        "-v",
        "session_name=user1",
    ]));
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("rendered.yaml");
    std::fs::write(&f, &out).unwrap();
    let y = std::process::Command::new(ytt)
        .arg("-f")
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        y.status.success(),
        "ytt failed: {}",
        String::from_utf8_lossy(&y.stderr)
    );
    // ytt re-emits YAML in its own style: compare document by document as data.
    let docs = |s: &str| -> Vec<serde_yaml::Value> {
        serde_yaml::Deserializer::from_str(s)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .filter(|v: &serde_yaml::Value| !v.is_null())
            .collect()
    };
    assert_eq!(docs(&String::from_utf8_lossy(&y.stdout)), docs(&out));
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|p| p.join(name))
        .find(|p| p.is_file())
}

#[test]
fn argocd_cmp_generate_command_runs() {
    let text = std::fs::read_to_string(root().join("fixtures/argocd-cmp/plugin.yaml")).unwrap();
    let cmp: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(cmp["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(cmp["kind"], "ConfigManagementPlugin");
    assert_eq!(cmp["metadata"]["name"], "kpipe");
    let generate = &cmp["spec"]["generate"];
    let argv: Vec<String> = generate["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .chain(generate["args"].as_sequence().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(argv.join(" ").contains("kpipe template"));
    let bin = assert_cmd::cargo::cargo_bin("kpipe");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let app_dir = root().join("fixtures/ml-pipeline");
    let generate = |env: &[(&str, &str)]| -> String {
        let mut c = std::process::Command::new(&argv[0]);
        c.args(&argv[1..])
            .current_dir(&app_dir)
            .env("PATH", &path)
            .env_remove("PARAM_SESSION")
            .env_remove("ARGOCD_ENV_SESSION_NAME");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let expected = ok(kpipe().args(["render", "fixtures/ml-pipeline", "--session", "user2"]));
    // Session from the Application's plugin env, or from the plugin parameter.
    assert_eq!(generate(&[("ARGOCD_ENV_SESSION_NAME", "user2")]), expected);
    assert_eq!(generate(&[("PARAM_SESSION", "user2")]), expected);
    assert_eq!(
        generate(&[
            ("PARAM_SESSION", "user2"),
            ("ARGOCD_ENV_SESSION_NAME", "other")
        ]),
        expected
    );

    // Discovery matches the pipeline folder.
    let find: Vec<String> = cmp["spec"]["discover"]["find"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let d = std::process::Command::new(&find[0])
        .args(&find[1..])
        .current_dir(&app_dir)
        .output()
        .unwrap();
    assert!(d.status.success() && !d.stdout.is_empty());
}
