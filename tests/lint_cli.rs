//! `kpipe lint`: no false positives on the corpus, a table of mutations of corpus files (each
//! asserting the exact code and line), the workshop's bug classes, reports and exit codes.
//!
//! Reads `$KPIPE_CORPUS` (CI sets it); when unset, `../shared/corpus` if present, else the
//! corpus tests say they skipped. When `KPIPE_CORPUS` is set but missing, they fail.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

mod common;
use common::corpus;

fn kpipe() -> Command {
    Command::cargo_bin("kpipe").expect("binary")
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `kpipe lint ARGS…`: (exit code, stdout).
fn lint(args: &[&str]) -> (i32, String) {
    let out = kpipe().arg("lint").args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} not in text"))
}

#[test]
fn corpus_workflows_and_app_crs_have_no_errors() {
    let Some(c) = corpus() else { return };
    let b = c.join("B-argo-workflow-examples");
    let cc = c.join("C-kapp-controller-and-kapp");
    // All together (templateRefs between files resolve), then each file alone.
    let (code, out) = lint(&["--files", b.to_str().unwrap(), cc.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("error["), "{out}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&b)
        .unwrap()
        .chain(std::fs::read_dir(&cc).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "corpus files: {}", files.len());
    for f in &files {
        let (code, out) = lint(&["--files", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {out}", f.display());
        assert!(!out.contains("error["), "{}: {out}", f.display());
    }
    // The ytt-templated kapp Config is linted as kapp/kubectl would read it: only warnings.
    let (_, out) = lint(&[
        "--files",
        cc.join("kapp-config-rbac-mgmt-rebase-secrets.ytt.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert!(out.contains("warning[ytt-annotation]"), "{out}");
}

#[test]
fn corpus_lints_clean_against_the_crd_schemas() {
    let Some(c) = corpus() else { return };
    let d = c.join("D-schemas");
    let (code, out) = lint(&[
        "--crd",
        d.join("argoproj.io_workflows.full-crd.v4.1.2.yaml")
            .to_str()
            .unwrap(),
        "--files",
        c.join("B-argo-workflow-examples").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = lint(&[
        "--crd",
        d.join("kapp-controller-crds.yml").to_str().unwrap(),
        "--files",
        c.join("C-kapp-controller-and-kapp").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
}

/// A corpus file, a text edit, and the finding it must produce on the line holding `at`.
struct Case {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    code: &'static str,
    severity: &'static str,
    at: &'static str,
    extra: &'static [&'static str],
}

const B: &str = "B-argo-workflow-examples";
const C: &str = "C-kapp-controller-and-kapp";

fn case(
    file: &'static str,
    from: &'static str,
    to: &'static str,
    code: &'static str,
    at: &'static str,
) -> Case {
    Case {
        file,
        from,
        to,
        code,
        severity: "error",
        at,
        extra: &[],
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Argo
        case("steps.yaml", "entrypoint: hello-hello-hello", "entrypoint: hello-hello", "argo-entrypoint", "entrypoint: hello-hello"),
        case("steps.yaml", "  - name: print-message\n", "  - name: print-msg\n", "argo-undefined-template", "template: print-message"),
        case("arguments-parameters.yaml", "{{inputs.parameters.message}}", "{{inputs.parameters.mesage}}", "argo-undefined-input", "mesage"),
        case(
            "steps.yaml",
            "        template: print-message\n        arguments:\n          parameters: [{name: message, value: \"hello1\"}]\n",
            "        template: print-message\n",
            "argo-missing-argument",
            "- - name: hello1",
        ),
        case("dag-diamond.yaml", "      - name: A\n        template: echo\n", "      - name: A\n        depends: \"D\"\n        template: echo\n", "argo-dag-cycle", "depends: \"D\""),
        case("dag-diamond.yaml", "        depends: \"A\"\n", "        depends: \"Z\"\n", "argo-dag-dependency", "depends: \"Z\""),
        case("dag-enhanced-depends.yaml", "            depends: B || C", "            dependencies: [B, C]\n            depends: B || C", "argo-dag-dependency", "- name: should-execute-2"),
        case("scripts-bash.yaml", "{{steps.generate.outputs.result}}\"", "{{steps.generat.outputs.result}}\"", "argo-undefined-step", "steps.generat."),
        case(
            "loops-param-result.yaml",
            "withParam: \"{{steps.generate.outputs.result}}\"",
            "withParam: \"{{steps.sleep.outputs.result}}\"",
            "argo-undefined-step",
            "withParam",
        ),
        case("artifact-passing.yaml", "outputs.artifacts.hello-art}}", "outputs.artifacts.hello-artx}}", "argo-undefined-output", "hello-artx"),
        case("global-parameters-from-configmap.yaml", "{{workflow.parameters.message}}", "{{workflow.parameters.msg}}", "argo-undefined-parameter", "workflow.parameters.msg"),
        Case {
            severity: "warning",
            ..case("dag-diamond.yaml", "[{name: message, value: A}]", "[{name: message, value: A}, {name: extra, value: x}]", "argo-unknown-argument", "name: extra")
        },
        case("steps.yaml", "      - name: hello2b\n", "      - name: hello2a\n", "argo-duplicate-name", "      - name: hello2a"),
        case("exit-handlers.yaml", "onExit: exit-handler", "onExit: exit-handlr", "argo-undefined-template", "onExit: exit-handlr"),
        case("suspend-template.yaml", "    suspend: {}\n", "    suspendd: {}\n", "argo-template-type", "  - name: approve"),
        case("data-transformations.yaml", "withParam: \"{{steps.list-log-files.outputs.result}}\"", "when: \"true\"", "argo-item", "key: \"{{item}}\""),
        case(
            "cron-workflow.yaml",
            "  name: hello-world\n",
            "  name: hello-world-with-a-name-that-is-much-too-long-for-cron\n",
            "argo-name",
            "name: hello-world-with-a-name",
        ),
        case("workflowtemplate-templates.yaml", "          template: print-message\n        arguments:\n          parameters:\n          - name: message\n            value: \"inner-hello1\"", "          template: print-mesage\n        arguments:\n          parameters:\n          - name: message\n            value: \"inner-hello1\"", "argo-undefined-template", "template: print-mesage"),
        case("conditionals.yaml", "    - name: should-print\n      value: \"true\"\n", "", "argo-missing-argument", "entrypoint: conditional-example"),
        case("dag-diamond.yaml", "[{name: message, value: B}]", "[{name: message, value: \"{{tasks.C.outputs.result}}\"}]", "argo-undefined-task", "tasks.C.outputs"),
        case("steps.yaml", "generateName: steps-", "generateName: Steps-", "k8s-name", "generateName: Steps-"),
        case("data-transformations.yaml", "workflows.argoproj.io/no-test: \"environment\"", "workflows.argoproj.io/no-test: \"bad value!\"", "k8s-label", "bad value!"),
        // Argo loops, leaf templates, resource templates, outputs, metrics, cron, expressions
        case("loops-maps.yaml", "        withItems:\n", "        withParam: \"[1, 2]\"\n        withItems:\n", "argo-loop", "- { image: 'debian', tag: '9.1' }"),
        case("data-transformations.yaml", "withParam: \"{{steps.list-log-files.outputs.result}}\"", "withSequence: {count: \"3\", end: \"5\"}", "argo-loop", "withSequence:"),
        case("data-transformations.yaml", "withParam: \"{{steps.list-log-files.outputs.result}}\"", "withSequence: {start: \"1\"}", "argo-loop", "withSequence:"),
        case("scripts-bash.yaml", "      image: alpine:3.23\n      command: [sh, -c]\n      source:", "      command: [sh, -c]\n      source:", "argo-image", "command: [sh, -c]"),
        case("steps.yaml", "      image: busybox\n", "      image: \"\"\n", "argo-image", "image: \"\""),
        case("k8s-jobs.yaml", "action: create", "action: created", "argo-resource", "action: created"),
        case("k8s-jobs.yaml", "      manifest: |\n", "      manifests: |\n", "argo-resource", "action: create"),
        case("k8s-jobs.yaml", "          completions: 3\n", "          completions: [3\n", "argo-resource", "        apiVersion: batch/v1"),
        case("k8s-jobs.yaml", "          jqFilter: '.'", "          jqFilter: '.'\n          jsonPath: '{.kind}'", "argo-output", "jsonPath: '{.kind}'"),
        case("k8s-jobs.yaml", "        valueFrom:\n          jqFilter: '.'", "        description: no value", "argo-output", "- name: job-obj"),
        case(
            "artifact-passing.yaml",
            "    outputs:\n      artifacts:\n",
            "    outputs:\n      parameters:\n      - name: p\n        valueFrom: {jsonPath: '{.x}'}\n      artifacts:\n",
            "argo-output",
            "valueFrom: {jsonPath: '{.x}'}",
        ),
        case(
            "steps.yaml",
            "  - name: print-message\n    inputs:\n",
            "  - name: print-message\n    metrics:\n      prometheus:\n      - name: messages-printed\n        help: Messages printed\n        counter: {value: \"1\"}\n    inputs:\n",
            "argo-metric",
            "name: messages-printed",
        ),
        case(
            "steps.yaml",
            "  - name: print-message\n    inputs:\n",
            "  - name: print-message\n    metrics:\n      prometheus:\n      - name: messages_printed\n        counter: {value: \"1\"}\n    inputs:\n",
            "argo-metric",
            "name: messages_printed",
        ),
        case(
            "steps.yaml",
            "  - name: print-message\n    inputs:\n",
            "  - name: print-message\n    metrics:\n      prometheus:\n      - name: messages_printed\n        help: Messages printed\n        counter: {value: \"1\"}\n        gauge: {value: \"1\"}\n    inputs:\n",
            "argo-metric",
            "gauge: {value",
        ),
        case("cron-workflow.yaml", "    - \"* * * * *\"", "    - \"* * * *\"", "argo-cron", "\"* * * *\""),
        case("cron-workflow.yaml", "    - \"* * * * *\"", "    - \"0 24 * * *\"", "argo-cron", "\"0 24 * * *\""),
        case("cron-workflow.yaml", "  schedules:\n", "  schedule: \"@hourly\"\n  schedules:\n", "argo-cron", "schedule: \"@hourly\""),
        case("cron-workflow.yaml", "America/Los_Angeles", "America/Los_Angles", "argo-cron", "Los_Angles"),
        case("cron-workflow.yaml", "concurrencyPolicy: \"Replace\"", "concurrencyPolicy: \"Replaced\"", "argo-cron", "Replaced"),
        case("cron-workflow.yaml", "startingDeadlineSeconds: 0", "startingDeadlineSeconds: -1", "argo-cron", "startingDeadlineSeconds: -1"),
        case("conditionals.yaml", "'$[0].value') == 'true'}}", "'$[0].value' == 'true'}}", "argo-expression", "jsonpath(workflow.parameters.json"),
        case("conditionals.yaml", "inputs.parameters[\\\"should-print\\\"] == 'true'}}", "inputs.parameters[\\\"should-print\\\"] == 'true}}", "argo-expression", "should-print\\\"] =="),
        // kapp-controller App CR
        case(
            "app-cr-simple-app-git.yml",
            "  template:\n  - ytt: {}\n",
            "  - http:\n      url: https://example.com/a.yml\n  template:\n  - ytt:\n      paths: [0/config, 2/x]\n",
            "app-fetch-path",
            "paths: [0/config, 2/x]",
        ),
        Case {
            extra: &["warning[ytt-annotation]"],
            ..case("app-cr-simple-app-git.yml", "  - ytt: {}\n", "  - ytt:\n      paths:\n      - config/\n      - #@ \"1/{}\".format(data.values.x)\n", "app-null-entry", "- #@")
        },
        case("app-cr-simple-app-git.yml", "      ref: origin/develop\n", "", "app-git-ref", "url: https://github.com/k14s"),
        case("app-cr-simple-app-git.yml", "  serviceAccountName: default-ns-sa\n", "", "app-missing-field", "fetch:"),
        case("app-cr-simple-app-git.yml", "  - ytt: {}\n", "  - kustomize: {}\n", "app-kind", "kustomize"),
        case("app-cr-simple-app-git.yml", "  - kapp: {}\n", "  - kapp: {}\n  - kapp: {}\n", "app-missing-field", "- kapp: {}"),
        case("app-cr-simple-app-http.yml", "url: https://dk-shared", "url: dk-shared", "app-url", "url: dk-shared"),
        case("app-cr-redis-helm-chart.yml", "[\"--apply-ignored=true\"]", "[\"--dangerous-allow-all=true\"]", "app-raw-option", "rawOptions"),
        case("app-cr-redis-helm-chart.yml", "      - secretRef:\n", "      - path: values.yml\n        secretRef:\n", "app-values-from", "- path: values.yml"),
        case("package-cert-manager-1.8.0.yml", "        - imgpkgBundle:\n", "        - imgpkgBundl:\n", "app-kind", "- imgpkgBundl:"),
        // kapp
        case("kapp-job-sync-check-change-rules.yml", "\"upsert after upserting redis-primary\"", "\"upsert after upsertin redis-primary\"", "kapp-change-rule", "upsertin "),
        case("kapp-job-sync-check-change-rules.yml", "kapp.k14s.io/nonce: \"\"", "kapp.k14s.io/nonce: \"x\"", "kapp-annotation", "nonce"),
        case("kapp-config-rebase-calico-pod-annotations.yml", "  type: copy", "  type: copyy", "kapp-config", "type: copyy"),
        case("kapp-config-rebase-calico-pod-annotations.yml", "sources: [existing, new]", "sources: [existing, old]", "kapp-config", "sources: [existing, old]"),
        case("kapp-config-rebase-calico-pod-annotations.yml", "apiVersionKindMatcher:", "apiVersionKindMatch:", "kapp-matcher", "apiVersionKindMatch:"),
        case("kapp-config-rebase-calico-pod-annotations.yml", "- paths:\n", "- path: [metadata]\n  paths:\n", "kapp-config", "- path: [metadata]"),
        // Generic Kubernetes
        case("app-cr-simple-app-git.yml", "namespace: default", "namespace: Default_NS", "k8s-namespace", "Default_NS"),
        case("app-cr-simple-app-http.yml", "  name: simple-app\n", "  name: simple-app\n  annotations:\n    a/b/c: x\n", "k8s-annotation", "a/b/c"),
    ]
}

#[test]
fn mutations_of_corpus_files_are_found_at_their_line() {
    let Some(c) = corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let all = cases();
    assert!(all.len() >= 25);
    let mut failures = Vec::new();
    for (i, k) in all.iter().enumerate() {
        let dir = if k.file.starts_with("app-")
            || k.file.starts_with("kapp-")
            || k.file.starts_with("package-")
        {
            C
        } else {
            B
        };
        let orig = std::fs::read_to_string(c.join(dir).join(k.file)).unwrap();
        assert!(
            orig.contains(k.from),
            "case {i}: {:?} not in {}",
            k.from,
            k.file
        );
        let text = orig.replacen(k.from, k.to, 1);
        let path = tmp.path().join(format!("{i:02}-{}", k.file));
        std::fs::write(&path, &text).unwrap();
        let line = line_of(&text, k.at);
        let (code, out) = lint(&["--files", path.to_str().unwrap()]);
        let want = format!("{}:{line}:", path.display());
        let tag = format!("{}[{}]", k.severity, k.code);
        // Every case is checked before failing, so one run shows all that are off.
        if !out
            .lines()
            .any(|l| l.starts_with(&want) && l.contains(&tag))
        {
            failures.push(format!(
                "case {i} ({} {}): want {want}… {tag}\n{out}",
                k.file, k.code
            ));
        }
        for e in k.extra {
            if !out.contains(e) {
                failures.push(format!("case {i}: want {e}\n{out}"));
            }
        }
        let expect_code = if k.severity == "error" { 2 } else { 0 };
        if code != expect_code {
            failures.push(format!("case {i} ({}): exit code {code}\n{out}", k.code));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn text_format_exit_code_and_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("wf.yaml");
    std::fs::write(
        &f,
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: w\nspec:\n  entrypoint: nope\n  templates:\n  - name: a\n    container: {image: busybox}\n",
    )
    .unwrap();
    let (code, out) = lint(&["--files", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    let first = out.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{}:6:15: error[argo-entrypoint]: Workflow/w: entrypoint \"nope\" names no template (defined: a)",
            f.display()
        )
    );
    assert_eq!(
        out.lines().last().unwrap(),
        "lint: 1 error, 0 warnings in 1 resource"
    );
}

#[test]
fn strict_turns_warnings_into_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("job.yaml");
    std::fs::write(
        &f,
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    kapp.k14s.io/change-rule: upsert after upserting nobody\nspec: {}\n",
    )
    .unwrap();
    let (code, out) = lint(&["--files", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(":6:31: warning[kapp-undeclared-group]"),
        "{out}"
    );
    let (code, out) = lint(&["--strict", "--files", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error[kapp-undeclared-group]"), "{out}");
}

#[test]
fn json_report_follows_its_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/lint-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let v = jsonschema::options().offline().build(&schema).unwrap();
    let (code, out) = lint(&["--report", "json", &fixture("workshop-bugs")]);
    assert_eq!(code, 2);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.is_valid(&report), "{out}");
    assert_eq!(report["summary"]["errors"], 3);
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "app-null-entry",
            "argo-undefined-input",
            "argo-undefined-input"
        ]
    );
    assert_eq!(
        report["findings"][1]["file"],
        format!("{}/templates/pipeline.yaml", fixture("workshop-bugs"))
    );
    assert_eq!(
        report["findings"][1]["path"],
        "spec.templates[1].container.args[6]"
    );
}

#[test]
fn workshop_bugs_are_found_at_template_and_values_lines() {
    let dir = fixture("workshop-bugs");
    let pipeline = std::fs::read_to_string(format!("{dir}/templates/pipeline.yaml")).unwrap();
    let app = std::fs::read_to_string(format!("{dir}/templates/app.yaml")).unwrap();
    let (code, out) = lint(&[&dir]);
    assert_eq!(code, 2, "{out}");
    let want = [
        format!("{dir}/templates/app.yaml:{}:", line_of(&app, "- #@")),
        format!(
            "{dir}/templates/pipeline.yaml:{}:",
            line_of(&pipeline, "mlflow_tracking_uri=")
        ),
        format!(
            "{dir}/templates/pipeline.yaml:{}:",
            line_of(&pipeline, "mlflow_s3_uri=")
        ),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&want[0]) && lines[0].contains("error[app-null-entry]"),
        "{out}"
    );
    assert!(
        lines[1].starts_with(&want[1]) && lines[1].contains("error[argo-undefined-input]"),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&want[2]) && lines[2].contains("\"mlflow_s3_uri\""),
        "{out}"
    );
    assert!(lines[0].ends_with("(in 3 of 3 sessions)"), "{out}");

    // A value used but never defined: the schema names it in the values file.
    let vdir = fixture("workshop-bugs-values");
    let out = kpipe().args(["lint", &vdir]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with(&format!("{vdir}/values.yaml:4:1: error[values-schema]: values: \"git_repo\" is a required property")), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("values.git_repo is undefined"));
}

#[test]
fn values_schema_errors_name_the_value_line() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ml-pipeline");
    for rel in [
        "values.yaml",
        "sessions.yaml",
        "templates/app.yaml",
        "templates/job.yaml",
        "templates/pipeline.yaml",
    ] {
        let to = tmp.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), &to).unwrap();
    }
    std::fs::write(
        tmp.path().join("values.schema.json"),
        r#"{"type": "object", "properties": {"model_stage": {"enum": ["Production"]}, "steps": {"type": "array", "maxItems": 3}}}"#,
    )
    .unwrap();
    let values = std::fs::read_to_string(tmp.path().join("values.yaml")).unwrap();
    let (code, out) = lint(&[tmp.path().to_str().unwrap(), "--session", "u1"]);
    assert_eq!(code, 2, "{out}");
    let d = tmp.path().display();
    assert!(
        out.contains(&format!(
            "{d}/values.yaml:{}:1: error[values-schema]: model_stage:",
            line_of(&values, "model_stage:")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{d}/values.yaml:{}:1: error[values-schema]: steps:",
            line_of(&values, "- upload_dataset")
        )),
        "{out}"
    );
    // --schema points elsewhere; a remote $ref is refused.
    let remote = tmp.path().join("remote.json");
    std::fs::write(
        &remote,
        r#"{"$ref": "https://example.com/values.schema.json"}"#,
    )
    .unwrap();
    let out = kpipe()
        .args([
            "lint",
            tmp.path().to_str().unwrap(),
            "--schema",
            remote.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn render_refuses_output_on_lint_errors() {
    let dir = fixture("workshop-bugs");
    let out = kpipe().args(["render", &dir]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[argo-undefined-input]"), "{err}");
    let out = kpipe()
        .args(["render", &dir, "--no-lint"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.is_empty());
    // The bundled example lints clean and renders as before.
    let (code, out) = lint(&[&fixture("ml-pipeline")]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "lint: 0 errors, 0 warnings in 12 resources\n");
}

#[test]
fn workshop_templates_read_without_ytt() {
    let Some(c) = corpus() else { return };
    let f = c.join("A-workshop-templates/tap-data/appcr/pipeline_app_main.in.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let (code, out) = lint(&["--files", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    let null_line = line_of(&text, "- #@");
    assert!(
        out.contains(&format!("{}:{null_line}:", f.display()))
            && out.contains("error[app-null-entry]"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}:1:1: warning[ytt-annotation]", f.display())),
        "{out}"
    );
    // The inline ytt overlay (a string value) is never flagged.
    let consul = c.join("C-kapp-controller-and-kapp/app-cr-consul-image-helm-ytt-overlay.yml");
    let (code, out) = lint(&["--files", consul.to_str().unwrap()]);
    assert_eq!(
        (code, out.as_str()),
        (0, "lint: 0 errors, 0 warnings in 1 resource\n")
    );
}

#[test]
fn crd_schema_finds_type_errors_and_unknown_fields() {
    let Some(c) = corpus() else { return };
    let crd = c.join("D-schemas/kapp-controller-crds.yml");
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("app.yaml");
    let text =
        std::fs::read_to_string(c.join("C-kapp-controller-and-kapp/app-cr-simple-app-git.yml"))
            .unwrap()
            .replace(
                "  serviceAccountName: default-ns-sa\n",
                "  serviceAccountName: default-ns-sa\n  syncPeriod: 30\n  fetchh: []\n",
            );
    std::fs::write(&f, &text).unwrap();
    let (code, out) = lint(&[
        "--crd",
        crd.to_str().unwrap(),
        "--files",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(":{}:", line_of(&text, "syncPeriod")))
            && out.contains("error[crd-schema]"),
        "{out}"
    );
    assert!(
        out.contains(&format!(":{}:", line_of(&text, "fetchh")))
            && out.contains("warning[crd-unknown-field]"),
        "{out}"
    );
}

#[test]
fn bad_yaml_is_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bad.yaml");
    std::fs::write(&f, "a: [1, 2\nb: c\n").unwrap();
    let (code, out) = lint(&["--files", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.contains("error[yaml-parse]"), "{out}");
}

/// Our own schemas describe the corpus App CRs and Workflows (and refuse a broken one).
#[test]
fn own_schemas_accept_the_corpus() {
    let Some(c) = corpus() else { return };
    let load = |name: &str| {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("schemas")
                .join(name),
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::options().offline().build(&json).unwrap()
    };
    let app = load("app-cr.schema.json");
    let wf = load("workflow.schema.json");
    let mut checked = 0;
    for dir in ["B-argo-workflow-examples", "C-kapp-controller-and-kapp"] {
        for e in std::fs::read_dir(c.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let Ok(docs) = kpipe::yaml::parse_stream(&text, kpipe::yaml::Limits::default()) else {
                continue;
            };
            for d in docs {
                let kind = d.value.get("kind").and_then(|k| k.as_str()).unwrap_or("");
                let json = kpipe::validate::schema::to_json(&d.value);
                let v = match kind {
                    "App" => &app,
                    "Workflow" | "WorkflowTemplate"
                        if d.value
                            .get("metadata")
                            .and_then(|m| m.get("name").or(m.get("generateName")))
                            .is_some() =>
                    {
                        &wf
                    }
                    _ => continue,
                };
                let errs: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
                assert!(errs.is_empty(), "{}: {errs:?}", p.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "checked {checked}");
    let bad = serde_json::json!({"apiVersion": "kappctrl.k14s.io/v1alpha1", "kind": "App", "metadata": {"name": "a"}, "spec": {"fetch": [], "template": [{"ytt": {}}], "deploy": [{"kapp": {}}]}});
    assert!(!app.is_valid(&bad));
}
