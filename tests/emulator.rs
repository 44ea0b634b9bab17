//! Drives the real kubectl against the test-support Kubernetes API emulator (`tests/support`).
//! Every kubectl test skips (printing "skipped: kubectl not found") when kubectl is missing.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;

use serde_json::{json, Value};
use support::Emulator;

fn cm(ns: &str, name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "data": {"k": "v"},
    })
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("kubectl printed JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["metadata"]["namespace"].as_str().unwrap_or(""),
                i["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .expect("resourceVersion")
        .parse()
        .expect("numeric resourceVersion")
}

#[test]
fn get_from_stdin_ignore_not_found_returns_only_present_objects() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::builder()
        .namespace("argo")
        .object(cm("argo", "present", json!({})))
        .start();
    // The first document has no namespace: kubectl places it in the context namespace (argo).
    let stdin = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: present\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: absent\n  namespace: argo\n";
    let out = emu.kubectl(
        &["get", "-f", "-", "-o", "json", "--ignore-not-found"],
        Some(stdin),
    );
    let list = stdout_json(&out);
    assert_eq!(list["kind"], "List");
    assert_eq!(names(&list), ["argo/present"]);
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
    assert_eq!(list["items"][0]["apiVersion"], "v1");
    let log = emu.request_log();
    // One GET per input object.
    for name in ["present", "absent"] {
        let path = format!("GET /api/v1/namespaces/argo/configmaps/{name}");
        assert_eq!(log.iter().filter(|l| **l == path).count(), 1, "{log:#?}");
    }
}

#[test]
fn list_filters_by_label_and_across_namespaces() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![
        cm("ns1", "x1", json!({"app": "x", "tier": "a"})),
        cm("ns1", "y1", json!({"app": "y"})),
        cm("ns1", "none", json!({})),
        cm("ns2", "x2", json!({"app": "x"})),
    ]);
    let get = |args: &[&str]| {
        let mut all = vec!["get", "configmaps", "-o", "json"];
        all.extend_from_slice(args);
        names(&stdout_json(&emu.kubectl(&all, None)))
    };
    assert_eq!(get(&["-n", "ns1", "-l", "app=x"]), ["ns1/x1"]);
    assert_eq!(get(&["-n", "ns1", "-l", "app!=x"]), ["ns1/none", "ns1/y1"]);
    assert_eq!(get(&["-n", "ns1", "-l", "!app"]), ["ns1/none"]);
    assert_eq!(
        get(&["-n", "ns1", "-l", "app in (x,y)"]),
        ["ns1/x1", "ns1/y1"]
    );
    assert_eq!(get(&["-A", "-l", "app=x"]), ["ns1/x1", "ns2/x2"]);
    assert_eq!(get(&["-n", "ns3"]), Vec::<String>::new());
    let lists = emu
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/configmaps")
        .count();
    assert_eq!(lists, 1, "one cluster-wide LIST for -A");
    // A malformed selector is a 400 from the server.
    let out = emu.kubectl(&["get", "configmaps", "-n", "ns1", "-l", "a=b=c"], None);
    assert!(!out.status.success());
}

#[test]
fn list_response_shape() {
    let emu = Emulator::start(vec![cm("ns1", "x1", json!({"app": "x"}))]);
    let (code, body) = raw_get(
        &emu,
        "/api/v1/namespaces/ns1/configmaps?labelSelector=app%3Dx",
    );
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["kind"], "ConfigMapList");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["items"][0]["kind"], "ConfigMap");
    assert!(list["metadata"]["resourceVersion"].as_str().is_some());
    let (code, body) = raw_get(
        &emu,
        "/apis/argoproj.io/v1alpha1/namespaces/ns1/workflows/nope",
    );
    assert_eq!(code, 404);
    let status: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        status,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "workflows.argoproj.io \"nope\" not found", "reason": "NotFound",
            "details": {"name": "nope", "group": "argoproj.io", "kind": "workflows"}, "code": 404,
        })
    );
}

#[test]
fn custom_resource_kinds_are_discovered() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
               "metadata": {"name": "wf", "namespace": "argo"}, "spec": {"entrypoint": "main"}}),
        json!({"apiVersion": "kappctrl.k14s.io/v1alpha1", "kind": "App",
               "metadata": {"name": "pipeline-s1", "namespace": "argo"},
               "spec": {"fetch": [{"git": {"url": "https://example.com/r", "ref": "main-s1"}}]}}),
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate",
               "metadata": {"name": "shared"}, "spec": {}}),
    ]);
    let wf = stdout_json(&emu.kubectl(
        &["get", "workflows.argoproj.io", "-n", "argo", "-o", "json"],
        None,
    ));
    assert_eq!(names(&wf), ["argo/wf"]);
    assert_eq!(wf["items"][0]["kind"], "Workflow");
    assert_eq!(wf["items"][0]["apiVersion"], "argoproj.io/v1alpha1");
    let apps = stdout_json(&emu.kubectl(
        &["get", "apps.kappctrl.k14s.io", "-n", "argo", "-o", "json"],
        None,
    ));
    assert_eq!(names(&apps), ["argo/pipeline-s1"]);
    // Short name and a cluster-scoped kind.
    let one = stdout_json(&emu.kubectl(&["get", "cwft", "shared", "-o", "json"], None));
    assert_eq!(one["metadata"]["name"], "shared");
    assert!(one["metadata"].get("namespace").is_none());
    assert!(emu
        .request_log()
        .contains(&"GET /apis/argoproj.io/v1alpha1/clusterworkflowtemplates/shared".to_string()));
}

#[test]
fn status_conditions_set_by_a_test_are_served() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::builder().namespace("argo").start();
    emu.set(
        json!({"apiVersion": "kappctrl.k14s.io/v1alpha1", "kind": "App",
                   "metadata": {"name": "a"}, "spec": {}}),
    );
    let mut app = emu
        .get("kappctrl.k14s.io", "App", "argo", "a")
        .expect("stored");
    assert!(app["metadata"]["uid"].is_string());
    app["status"] = json!({"conditions": [{"type": "ReconcileSucceeded", "status": "True"}]});
    let before = rv(&app);
    let stored = emu.set(app);
    assert!(rv(&stored) > before);
    let got = stdout_json(&emu.kubectl(&["get", "apps.kappctrl.k14s.io", "a", "-o", "json"], None));
    assert_eq!(got["status"]["conditions"][0]["type"], "ReconcileSucceeded");
    assert!(emu.remove("kappctrl.k14s.io", "App", "argo", "a").is_some());
    assert!(emu.objects().is_empty());
}

#[test]
fn not_found_and_forbidden_errors() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![cm("ns", "a", json!({}))]);
    // 404 without --ignore-not-found:
    //   Error from server (NotFound): configmaps "nope" not found
    //   Error from server (NotFound): workflows.argoproj.io "nope" not found
    let out = emu.kubectl(
        &["get", "configmap", "nope", "-n", "ns", "-o", "json"],
        None,
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (NotFound): configmaps "nope" not found"#
    );
    let out = emu.kubectl(&["get", "workflows.argoproj.io", "nope", "-n", "ns"], None);
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (NotFound): workflows.argoproj.io "nope" not found"#
    );
    // fail_next(1, 403) on a GET / a LIST:
    //   Error from server (Forbidden): configmaps "a" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "ns"
    //   Error from server (Forbidden): configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "ns"
    emu.fail_next(1, 403);
    let out = emu.kubectl(&["get", "configmap", "a", "-n", "ns", "-o", "json"], None);
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (Forbidden): configmaps "a" is forbidden: User "system:anonymous" cannot get resource "configmaps" in API group "" in the namespace "ns""#
    );
    emu.fail_next(1, 403);
    let out = emu.kubectl(&["get", "configmaps", "-n", "ns", "-o", "json"], None);
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (Forbidden): configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" in API group "" in the namespace "ns""#
    );
    // Only one failure was queued each time: the next request succeeds.
    let out = emu.kubectl(&["get", "configmap", "a", "-n", "ns", "-o", "json"], None);
    assert!(out.status.success());
    // 503:
    //   Error from server (ServiceUnavailable): the server is currently unable to handle the request
    emu.fail_next(1, 503);
    let out = emu.kubectl(&["get", "configmap", "a", "-n", "ns"], None);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("ServiceUnavailable"),
        "{}",
        stderr(&out)
    );
    println!("503: {}", stderr(&out).trim());
}

#[test]
fn server_side_apply_create_update_conflict_delete() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::start(vec![]);
    let apply = |doc: &str| {
        emu.kubectl(
            &["apply", "--server-side", "--field-manager=kpipe", "-f", "-"],
            Some(doc),
        )
    };
    let doc = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  name: wf\n  namespace: argo\n  labels:\n    a: '1'\n    b: '2'\nspec:\n  entrypoint: main\n";

    // Create.
    let out = apply(doc);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "workflow.argoproj.io/wf serverside-applied"
    );
    let created = emu
        .get("argoproj.io", "Workflow", "argo", "wf")
        .expect("created");
    assert_eq!(created["metadata"]["generation"], 1);
    assert!(created["metadata"]["uid"].is_string());
    assert!(created["metadata"]["creationTimestamp"].is_string());
    assert_eq!(created["metadata"]["managedFields"][0]["manager"], "kpipe");
    // Default validation works: kubectl checks /openapi/v3 and then PATCHes with fieldValidation.
    let reqs = emu.requests();
    let patch = reqs.iter().find(|r| r.method == "PATCH").expect("PATCH");
    assert_eq!(
        patch.path,
        "/apis/argoproj.io/v1alpha1/namespaces/argo/workflows/wf"
    );
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(
        patch.query.contains("fieldManager=kpipe"),
        "{}",
        patch.query
    );
    assert!(
        patch.query.contains("fieldValidation=Strict"),
        "{}",
        patch.query
    );
    assert!(!reqs.iter().any(|r| r.path.starts_with("/openapi/v2")));

    // Re-applying the same object changes nothing.
    assert!(apply(doc).status.success());
    let same = emu.get("argoproj.io", "Workflow", "argo", "wf").unwrap();
    assert_eq!(rv(&same), rv(&created));

    // Update: new spec, label `b` dropped by this manager → removed.
    let out = apply(
        &doc.replace("entrypoint: main", "entrypoint: other")
            .replace("    b: '2'\n", ""),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let updated = emu.get("argoproj.io", "Workflow", "argo", "wf").unwrap();
    assert!(rv(&updated) > rv(&created));
    assert_eq!(updated["spec"]["entrypoint"], "other");
    assert_eq!(updated["metadata"]["labels"], json!({"a": "1"}));
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);

    // Someone else changes the object; applying with the resourceVersion we saw before → 409.
    let seen = rv(&updated);
    let mut changed = updated.clone();
    changed["spec"]["entrypoint"] = json!("theirs");
    emu.set(changed);
    let stale = doc.replace(
        "  namespace: argo\n",
        &format!("  namespace: argo\n  resourceVersion: '{seen}'\n"),
    );
    let out = apply(&stale);
    assert!(!out.status.success());
    // kubectl (v1.32) reports any 409 from a server-side apply as a field-manager conflict; the
    // exact stderr is:
    //
    // error: Operation cannot be fulfilled on workflows.argoproj.io "wf": the object has been modified; please apply your changes to the latest version and try again
    // Please review the fields above--they currently have other managers. Here
    // are the ways you can resolve this warning:
    // * If you intend to manage all of these fields, please re-run the apply
    //   command with the `--force-conflicts` flag.
    // * If you do not intend to manage all of the fields, please edit your
    //   manifest to remove references to the fields that should keep their
    //   current managers.
    // * You may co-own fields by updating your manifest to match the existing
    //   value; in this case, you'll become the manager if the other manager(s)
    //   stop managing the field (remove it from their configuration).
    // See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "error: Operation cannot be fulfilled on workflows.argoproj.io \"wf\": the object has been modified; please apply your changes to the latest version and try again\n"
        ),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(
        emu.get("argoproj.io", "Workflow", "argo", "wf").unwrap()["spec"]["entrypoint"],
        "theirs"
    );

    // Delete.
    let out = emu.kubectl(
        &["delete", "workflows.argoproj.io", "wf", "-n", "argo"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"workflow.argoproj.io "wf" deleted"#
    );
    assert!(emu.get("argoproj.io", "Workflow", "argo", "wf").is_none());
    let out = emu.kubectl(
        &["delete", "workflows.argoproj.io", "wf", "-n", "argo"],
        None,
    );
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (NotFound): workflows.argoproj.io "wf" not found"#
    );
}

#[test]
fn create_and_merge_patch() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = Emulator::builder().namespace("ns").start();
    let doc = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"1","b":"2"}}"#;
    let out = emu.kubectl(&["create", "-f", "-"], Some(doc));
    assert!(out.status.success(), "{}", stderr(&out));
    // Exact text: Error from server (AlreadyExists): error when creating "STDIN": configmaps "c" already exists
    let out = emu.kubectl(&["create", "-f", "-"], Some(doc));
    assert_eq!(
        stderr(&out).trim(),
        r#"Error from server (AlreadyExists): error when creating "STDIN": configmaps "c" already exists"#
    );
    let out = emu.kubectl(
        &[
            "patch",
            "configmap",
            "c",
            "--type=merge",
            "-p",
            r#"{"data":{"a":null,"c":"3"}}"#,
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let c = emu.get("", "ConfigMap", "ns", "c").unwrap();
    assert_eq!(c["data"], json!({"b": "2", "c": "3"}));
    let out = emu.kubectl(
        &["patch", "configmap", "c", "-p", r#"{"data":{"d":"4"}}"#],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        emu.get("", "ConfigMap", "ns", "c").unwrap()["data"]["d"],
        "4"
    );
}

#[test]
fn connection_refused_after_drop() {
    if support::skip_without_kubectl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::start(vec![]);
    let kubeconfig = emu.kubeconfig(dir.path());
    let port = emu.port();
    drop(emu);
    let out = std::process::Command::new(support::kubectl_path().unwrap())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args(["get", "configmaps", "-o", "json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Exact text: The connection to the server 127.0.0.1:PORT was refused - did you specify the right host or port?
    let err = stderr(&out);
    assert!(
        err.trim_end().ends_with(&format!(
            "The connection to the server 127.0.0.1:{port} was refused - did you specify the right host or port?"
        )),
        "{err}"
    );
}

#[test]
fn fixtures_from_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: s, namespace: other, resourceVersion: '7'}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.json"),
        r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r","namespace":"ignored"}}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let emu = Emulator::builder()
        .namespace("argo")
        .dir(dir.path())
        .start();
    assert_eq!(emu.objects().len(), 3);
    let one = emu
        .get("", "ConfigMap", "argo", "one")
        .expect("placed in the context namespace");
    assert!(one["metadata"]["resourceVersion"].is_string());
    assert!(
        one["metadata"].get("uid").is_none(),
        "fixtures keep what they have"
    );
    assert_eq!(
        emu.get("", "Secret", "other", "s").unwrap()["metadata"]["resourceVersion"],
        "7"
    );
    assert!(emu
        .get("rbac.authorization.k8s.io", "ClusterRole", "", "r")
        .is_some());
    // Namespaces holding objects can be read.
    let (code, body) = raw_get(&emu, "/api/v1/namespaces/other");
    assert_eq!(code, 200, "{body}");
    let (code, _) = raw_get(&emu, "/api/v1/namespaces/unknown");
    assert_eq!(code, 404);
}

#[test]
fn discovery_documents() {
    let emu = Emulator::start(vec![]);
    let (code, body) = raw_get(&emu, "/apis/argoproj.io/v1alpha1");
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["kind"], "APIResourceList");
    let cwft = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "ClusterWorkflowTemplate")
        .unwrap();
    assert_eq!(cwft["namespaced"], false);
    assert_eq!(cwft["name"], "clusterworkflowtemplates");
    assert_eq!(cwft["singularName"], "clusterworkflowtemplate");
    let (code, body) = raw_get(&emu, "/apis");
    assert_eq!(code, 200);
    let groups: Value = serde_json::from_str(&body).unwrap();
    for g in [
        "apps",
        "batch",
        "argoproj.io",
        "kappctrl.k14s.io",
        "packaging.carvel.dev",
    ] {
        assert!(
            groups["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == g),
            "{g}"
        );
    }
    // A CRD in the store makes its kind discoverable.
    emu.set(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true}]},
    }));
    let (code, body) = raw_get(&emu, "/apis/example.com/v1");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""name":"widgets""#));
    let (code, _) = raw_get(&emu, "/openapi/v2");
    assert_eq!(code, 404);
}

#[test]
fn malformed_requests_get_400_and_the_server_survives() {
    let emu = Emulator::start(vec![]);
    for request in [
        &b"\x00\x01garbage\r\n\r\n"[..],
        b"GET /version HTTP/1.1\r\nno-colon-header\r\n\r\n",
        b"GET /version HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"POST /api/v1/namespaces/a/configmaps HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
        b"PATCH /api/v1/namespaces/a/configmaps/x?fieldManager=t HTTP/1.1\r\nContent-Type: application/apply-patch+yaml\r\nContent-Length: 5\r\n\r\n[1, 2",
    ] {
        let resp = raw(&emu, request);
        let code = resp.split(' ').nth(1).unwrap_or("");
        assert!(code == "400" || code == "413", "{resp}");
    }
    let huge = format!("GET /version HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(70_000));
    assert!(raw(&emu, huge.as_bytes()).starts_with("HTTP/1.1 431"));
    assert_eq!(raw_get(&emu, "/version").0, 200);
}

#[test]
fn selectors_parse() {
    use support::selector::{labels_match, parse_labels};
    let obj = json!({"metadata": {"labels": {"app": "x", "tier": "a"}}});
    for (sel, want) in [
        ("app=x", true),
        ("app==x", true),
        ("app!=x", false),
        ("app", true),
        ("!app", false),
        ("!missing", true),
        ("app=x,tier=b", false),
        ("tier in (a, b)", true),
        ("tier notin (a,b),app", false),
        ("", true),
    ] {
        assert_eq!(
            labels_match(&parse_labels(sel).unwrap(), &obj),
            want,
            "{sel}"
        );
    }
    assert!(parse_labels("a=b=c").is_err());
    assert!(parse_labels("a in b").is_err());
}

#[test]
fn apply_merge_semantics() {
    use support::emulator::{merge_apply, merge_patch, remove_dropped};
    let mut live = json!({"spec": {"a": 1, "list": [1, 2], "keep": true}, "status": {"ok": true}});
    let prev = json!({"spec": {"a": 1, "list": [1, 2]}});
    let new = json!({"spec": {"list": [3]}});
    remove_dropped(&mut live, &prev, &new);
    merge_apply(&mut live, &new);
    assert_eq!(
        live,
        json!({"spec": {"list": [3], "keep": true}, "status": {"ok": true}})
    );
    let mut doc = json!({"a": {"b": 1, "c": 2}});
    merge_patch(&mut doc, &json!({"a": {"b": null, "d": [1]}}));
    assert_eq!(doc, json!({"a": {"c": 2, "d": [1]}}));
}

// --- raw HTTP helpers ---

fn raw(emu: &Emulator, request: &[u8]) -> String {
    let mut s = TcpStream::connect(emu.addr()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = s.write_all(request);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn raw_get(emu: &Emulator, path: &str) -> (u16, String) {
    let resp = raw(
        emu,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let code = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn kubectl_wait_sees_status_set_by_the_test() {
    if support::skip_without_kubectl() {
        return;
    }
    let emu = std::sync::Arc::new(
        Emulator::builder()
            .namespace("argo")
            .object(
                json!({"apiVersion": "kappctrl.k14s.io/v1alpha1", "kind": "App",
                           "metadata": {"name": "a"}, "spec": {}}),
            )
            .start(),
    );
    let writer = {
        let emu = emu.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let mut app = emu.get("kappctrl.k14s.io", "App", "argo", "a").unwrap();
            app["status"] =
                json!({"conditions": [{"type": "ReconcileSucceeded", "status": "True"}]});
            emu.set(app);
        })
    };
    // kubectl wait: GET, LIST with fieldSelector=metadata.name=a, then a watch from the list's
    // resourceVersion that receives the MODIFIED event.
    let out = emu.kubectl(
        &[
            "wait",
            "--for=condition=ReconcileSucceeded",
            "apps.kappctrl.k14s.io/a",
            "--timeout=5s",
        ],
        None,
    );
    writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "app.kappctrl.k14s.io/a condition met"
    );
    assert!(emu.requests().iter().any(|r| r.path
        == "/apis/kappctrl.k14s.io/v1alpha1/namespaces/argo/apps"
        && r.query.contains("watch=true")));
}

#[test]
fn strategic_merge_semantics() {
    use support::emulator::strategic_merge;
    let mut live = json!({"spec": {"containers": [
        {"name": "a", "image": "x:1", "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "y:1"},
    ], "args": ["1", "2"]}});
    strategic_merge(
        &mut live,
        &json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "x:2"}, {"name": "c", "image": "z", "$patch": "delete"}],
            "$deleteFromPrimitiveList/args": ["1"],
        }}),
    );
    assert_eq!(
        live,
        json!({"spec": {"containers": [
            {"name": "b", "image": "y:1"},
            {"name": "a", "image": "x:2", "ports": [{"containerPort": 80}]},
        ], "args": ["2"]}})
    );
}
