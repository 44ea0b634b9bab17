//! Bad inputs to `kpipe render`: each exits 2 with a one-line error naming the file and line,
//! and leaves `--output-dir` exactly as it was.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ session_name }}\ndata:\n  name: {{ values.name }}\n";

struct Case {
    name: &'static str,
    /// Files of the pipeline folder (path, content); `values.yaml` and `templates/cm.yaml` are
    /// there unless overridden (content "" deletes).
    files: &'static [(&'static str, &'static str)],
    args: &'static [&'static str],
    /// Fragment the first error line must contain; `{dir}` is the pipeline folder.
    expect: &'static str,
}

const CASES: &[Case] = &[
    Case { name: "malformed values yaml", files: &[("values.yaml", "name: x\nlist: [1, 2\n")], args: &[], expect: "{dir}/values.yaml:3:" },
    Case { name: "values not a map", files: &[("values.yaml", "- a\n- b\n")], args: &[], expect: "{dir}/values.yaml:1: values must be a map, found a list" },
    Case { name: "duplicate key in values", files: &[("values.yaml", "name: a\nname: b\n")], args: &[], expect: "{dir}/values.yaml:2: duplicate mapping key name" },
    Case { name: "values file template undefined", files: &[("values.yaml", "a: 1\nname: {{ nope }}\n")], args: &[], expect: "{dir}/values.yaml:2: nope is undefined" },
    Case { name: "values file unresolved placeholder", files: &[("values.yaml", "name: x\nurl: http://${INGRESS_DOMAINX}/\n")], args: &[], expect: "{dir}/values.yaml:2: unresolved placeholder ${INGRESS_DOMAINX}" },
    Case { name: "bad --set", files: &[], args: &["--set", "noequals"], expect: "--set \"noequals\": expected KEY=VALUE" },
    Case { name: "bad --set index", files: &[], args: &["--set", "a[x]=1"], expect: "--set \"a[x]=1\": bad list index" },
    Case { name: "bad --set-yaml", files: &[], args: &["--set-yaml", "a=[1,"], expect: "--set-yaml \"a=[1,\": value is not YAML" },
    Case { name: "bad --var", files: &[], args: &["--var", "1x"], expect: "--var \"1x\": expected KEY=VALUE" },
    Case { name: "undefined jinja name", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: {{ values.nope }}\n")], args: &[], expect: "{dir}/templates/cm.yaml:6: values.nope is undefined: values has no key nope" },
    Case { name: "undefined top-level name", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ sesion_name }}\n")], args: &[], expect: "{dir}/templates/cm.yaml:4: sesion_name is undefined" },
    Case { name: "unresolved placeholder", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${DATA_E2E_GIT_USER}\n")], args: &[], expect: "{dir}/templates/cm.yaml:6: unresolved placeholder ${DATA_E2E_GIT_USER}" },
    Case { name: "jinja syntax error", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\n{% if %}\nmetadata:\n  name: x\n")], args: &[], expect: "{dir}/templates/cm.yaml:3: syntax error" },
    Case { name: "unclosed jinja block", files: &[("templates/cm.yaml", "apiVersion: v1\n{% for x in [1] %}\nkind: ConfigMap\n")], args: &[], expect: "{dir}/templates/cm.yaml:" },
    Case { name: "rendered text not yaml", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.name }}: y: z\n")], args: &[], expect: "{dir}/templates/cm.yaml:6: rendered text is not valid YAML" },
    Case { name: "duplicate key after render", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n")], args: &[], expect: "{dir}/templates/cm.yaml:5: rendered text is not valid YAML: duplicate mapping key name" },
    Case { name: "document is not a mapping", files: &[("templates/cm.yaml", "---\n- a\n- b\n")], args: &[], expect: "{dir}/templates/cm.yaml:2: document is a list, not a mapping" },
    Case { name: "missing kind", files: &[("templates/cm.yaml", "# c\napiVersion: v1\nmetadata:\n  name: x\n")], args: &[], expect: "{dir}/templates/cm.yaml:2: document is not a Kubernetes object" },
    Case { name: "duplicate resource", files: &[("templates/cm2.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ session_name }}\n")], args: &[], expect: "{dir}/templates/cm2.yaml:1: duplicate resource ConfigMap/cm-s1 cluster: already defined at {dir}/templates/cm.yaml:1" },
    Case { name: "cluster-scoped with namespace", files: &[("templates/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n  namespace: x\n")], args: &[], expect: "{dir}/templates/ns.yaml:1: Namespace is cluster-scoped" },
    Case { name: "unsupported yaml tag", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: !custom y\n")], args: &[], expect: "{dir}/templates/cm.yaml:6: rendered text is not valid YAML: unsupported YAML tag" },
    Case { name: "required filter", files: &[("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.token | required(\"set values.token\") }}\n")], args: &[], expect: "{dir}/templates/cm.yaml:6: set values.token" },
    Case { name: "include outside folder", files: &[("templates/cm.yaml", "{% include \"../../outside.yaml\" %}\n")], args: &[], expect: "`..` is not allowed" },
    Case { name: "absolute include", files: &[("templates/cm.yaml", "{% include \"/etc/passwd\" %}\n")], args: &[], expect: "absolute paths are not allowed" },
    Case { name: "missing include", files: &[("templates/cm.yaml", "{% include \"_nope.yaml\" %}\n")], args: &[], expect: "{dir}/templates/cm.yaml:1: template not found" },
    Case { name: "empty templates folder", files: &[("templates/cm.yaml", ""), ("templates/README.md", "x")], args: &[], expect: "no templates (*.yaml) in templates/" },
    Case { name: "no templates folder", files: &[("templates/cm.yaml", "")], args: &[], expect: "templates: no templates/ folder" },
    Case { name: "malformed sessions file", files: &[("sessions.yaml", "session_name: a\n")], args: &[], expect: "{dir}/sessions.yaml:1: expected a list of sessions" },
    Case { name: "session without a name", files: &[("sessions.yaml", "- session_name: a\n- ingress_domain: x\n")], args: &[], expect: "{dir}/sessions.yaml:2: session 2 has neither session_name nor session_namespace" },
    Case { name: "duplicate session", files: &[("sessions.yaml", "- session_name: a\n- session_name: b\n- session_name: a\n")], args: &[], expect: "{dir}/sessions.yaml:3: duplicate session \"a\"" },
    Case { name: "invalid session name", files: &[], args: &["--session", "../x"], expect: "invalid session name \"../x\"" },
    Case { name: "sessions file yaml error", files: &[("sessions.yaml", "- session_name: a\n  x: [\n")], args: &[], expect: "{dir}/sessions.yaml:3:" },
    Case { name: "billion laughs in values", files: &[("values.yaml", "name: x\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n")], args: &[], expect: "{dir}/values.yaml:8: document too large" },
    Case { name: "runaway template loop", files: &[("templates/cm.yaml", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n")], args: &["--max-template-fuel", "100000"], expect: "{dir}/templates/cm.yaml:1: template ran too long (out of fuel)" },
];

fn setup(case: &Case, root: &Path) -> PathBuf {
    let dir = root.join("pipe");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("values.yaml"), "name: x\n").unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), CM).unwrap();
    std::fs::write(dir.join("sessions.yaml"), "- session_name: s1\n").unwrap();
    for (path, content) in case.files {
        let p = dir.join(path);
        if content.is_empty() {
            let _ = std::fs::remove_file(&p);
            if case.name == "no templates folder" {
                std::fs::remove_dir_all(dir.join("templates")).unwrap();
            }
        } else {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
    }
    dir
}

/// Output folder with content from an earlier render, to prove nothing is half-written.
fn seed_output(root: &Path) -> PathBuf {
    let out = root.join("out");
    std::fs::create_dir_all(out.join("s1")).unwrap();
    std::fs::write(out.join("s1/01-configmap-old.yaml"), "old: true\n").unwrap();
    out
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn run_case(case: &Case, dir: &Path, out: &Path) -> Result<(), String> {
    let before = snapshot(out);
    let output = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(dir.parent().unwrap())
        .arg("render")
        .arg("pipe")
        .args(case.args)
        .arg("--output-dir")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or("");
    let expect = case.expect.replace("{dir}", "pipe");
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit {:?}, want 2", output.status.code()));
    }
    if !first.starts_with("error: ") || !first.contains(&expect) {
        problems.push(format!("first line {first:?} lacks {expect:?}"));
    }
    if snapshot(out) != before {
        problems.push("output folder changed".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n  stderr: {stderr}",
            case.name,
            problems.join("; ")
        ))
    }
}

#[test]
fn bad_inputs_table() {
    assert!(CASES.len() >= 20);
    let mut failures = Vec::new();
    for case in CASES {
        let tmp = tempfile::tempdir().unwrap();
        let dir = setup(case, tmp.path());
        let out = seed_output(tmp.path());
        if let Err(e) = run_case(case, &dir, &out) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[cfg(unix)]
#[test]
fn symlink_escapes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret.yaml");
    std::fs::write(
        &secret,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    )
    .unwrap();
    for (link, template) in [
        ("templates/evil.yaml", None),
        (
            "templates/_evil.yaml",
            Some("{% include \"_evil.yaml\" %}\n"),
        ),
    ] {
        let case = Case {
            name: "symlink",
            files: &[],
            args: &[],
            expect: "",
        };
        let dir = setup(&case, &tmp.path().join(link.replace('/', "_")));
        std::os::unix::fs::symlink(&secret, dir.join(link)).unwrap();
        if let Some(t) = template {
            std::fs::write(dir.join("templates/cm.yaml"), t).unwrap();
        }
        let out = seed_output(dir.parent().unwrap());
        let case = Case {
            name: "symlink escape",
            files: &[],
            args: &[],
            expect: "symlink leads outside the pipeline folder",
        };
        run_case(&case, &dir, &out).unwrap();
    }
    // A symlink loop is an error, not a hang.
    let case = Case {
        name: "loop",
        files: &[],
        args: &[],
        expect: "",
    };
    let dir = setup(&case, &tmp.path().join("loop"));
    std::os::unix::fs::symlink(dir.join("templates/a.yaml"), dir.join("templates/b.yaml")).unwrap();
    std::os::unix::fs::symlink(dir.join("templates/b.yaml"), dir.join("templates/a.yaml")).unwrap();
    let out = seed_output(dir.parent().unwrap());
    let case = Case {
        name: "symlink loop",
        files: &[],
        args: &[],
        expect: "templates/a.yaml",
    };
    run_case(&case, &dir, &out).unwrap();
}

#[test]
fn missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("kpipe")
        .unwrap()
        .current_dir(tmp.path())
        .args(["render", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: nope: pipeline folder not found\n"
    );
}

#[test]
fn failed_session_among_many_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let case = Case { name: "many", files: &[("sessions.yaml", "- session_name: s1\n  must: a\n- session_name: s2\n- session_name: s3\n  must: b\n"), ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: {{ session.must }}\n")], args: &[], expect: "" };
    let dir = setup(&case, tmp.path());
    let out = seed_output(tmp.path());
    let case = Case {
        name: "one bad session",
        files: &[],
        args: &[],
        expect: "pipe/templates/cm.yaml:6: session.must is undefined: session has no key must (session s2)",
    };
    run_case(&case, &dir, &out).unwrap();
}
