//! `kpipe diff` on 10,000 resources, 5% changed, against a snapshot source (issue #4).
//!
//! The inputs are written to `target/bench-diff/` first, so the whole process can be timed too:
//!
//! ```sh
//! KPIPE_DIFF_BENCH_INPUTS_ONLY=1 cargo bench --bench diff    # only write the inputs
//! kpipe diff -n default --files target/bench-diff/desired.yaml --live target/bench-diff/live.json
//! ```
//!
//! - `desired.yaml`: 10,000 resources over 20 namespaces: 4,000 ConfigMaps, 3,000 Deployments,
//!   2,700 Services, 200 Secrets, 100 Argo Workflows, plus the workshop's kapp Config (keep a
//!   running Workflow's spec).
//! - `live.json`: what `kubectl get -A -o json` saves for those objects after a kapp deploy:
//!   server metadata (uid, resourceVersion, generation, creationTimestamp), kapp's labels and
//!   annotations (app, association, identity, original, original-diff-md5), label scoping in
//!   selectors, Service cluster IPs, Deployment revision annotations, and `status`. No
//!   `managedFields`: kubectl leaves them out of `-o json` unless `--show-managed-fields` is given
//!   (since 1.21, kubernetes/kubernetes#96878), and so do the snapshots and the cluster source.
//!   5% differs: 400 updated resources (data, images, replicas, ports), 50 desired resources not
//!   deployed yet (creates) and 50 deployed ones no longer rendered (deletes). Workflows that
//!   differ stay noops (the kapp Config keeps the live spec). `live.yaml` holds the same objects.
//! - `live-managed-fields.json`: `live.json` as `kubectl get --show-managed-fields` writes it
//!   (twice the bytes; not timed by criterion, for the whole-process measurement).

use criterion::{criterion_group, criterion_main, Criterion};
use kpipe::diff::ownership::association_value;
use kpipe::manifest::ResourceId;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const N: usize = 10_000;
const NAMESPACES: usize = 20;
const APP: &str = "1700000000000000001";

/// Expected op counts for the generated inputs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Expect {
    create: usize,
    update: usize,
    delete: usize,
    noop: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ConfigMap,
    Deployment,
    Service,
    Secret,
    Workflow,
}

fn kind_of(i: usize) -> Kind {
    match i % 100 {
        0..=39 => Kind::ConfigMap,
        40..=69 => Kind::Deployment,
        70..=96 => Kind::Service,
        97 | 98 => Kind::Secret,
        _ => Kind::Workflow,
    }
}

fn ts(i: usize) -> String {
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}Z",
        1 + i % 25,
        i % 24,
        (i / 24) % 60,
        (i / 7) % 60
    )
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(T[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The desired object `i`; `old` gives the version that is deployed (differs for updates).
fn desired(i: usize, old: bool) -> Value {
    let ns = format!("team-{:02}", i % NAMESPACES);
    let svc = format!("svc-{}", i / 100);
    let labels = json!({
        "app.kubernetes.io/name": svc,
        "app.kubernetes.io/part-of": "ml-platform",
        "app.kubernetes.io/managed-by": "kpipe",
    });
    match kind_of(i) {
        Kind::ConfigMap => json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": format!("{svc}-config-{i}"),
                "namespace": ns,
                "labels": labels,
                "annotations": {"kapp.k14s.io/change-group": "ml.example.com/config"},
            },
            "data": {
                "LOG_LEVEL": if old { "info" } else { "debug" },
                "REGION": "eu-west-1",
                "FEATURES": "tracking,registry,serving",
                "MAX_WORKERS": "8",
                "ENABLE_CACHE": "true",
                "application.properties": format!(
                    "server.port=8080\nspring.datasource.url=jdbc:postgresql://db.{ns}.svc:5432/{svc}\nspring.datasource.username=app\nmanagement.endpoints.web.exposure.include=health,info,prometheus\nlogging.level.root={}\n",
                    if old { "INFO" } else { "DEBUG" }
                ),
            },
        }),
        Kind::Deployment => {
            let name = format!("{svc}-{i}");
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": labels,
                },
                "spec": {
                    "replicas": if old { 2 } else { 3 },
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name, "app.kubernetes.io/part-of": "ml-platform"}},
                        "spec": {
                            "serviceAccountName": "ml-runner",
                            "containers": [{
                                "name": "main",
                                "image": format!("registry.example.com/ml/{svc}:{}", if old { "1.4.2" } else { "1.5.0" }),
                                "args": ["--port=8080", "--metrics"],
                                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                                "env": [
                                    {"name": "MODE", "value": "batch"},
                                    {"name": "MLFLOW_TRACKING_URI", "value": format!("http://mlflow.{ns}.svc:5000")},
                                    {"name": "CONFIG_HASH", "value": format!("{:016x}", i * 7919)},
                                ],
                                "envFrom": [{"configMapRef": {"name": format!("{svc}-config-{}", i / 100 * 100)}}],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "1Gi"},
                                },
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": 8080},
                                    "initialDelaySeconds": 5,
                                    "periodSeconds": 10,
                                },
                            }],
                        },
                    },
                },
            })
        }
        Kind::Service => json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": format!("{svc}-svc-{i}"), "namespace": ns, "labels": labels},
            "spec": {
                "selector": {"app": format!("{svc}-{i}")},
                "ports": [
                    {"name": "http", "port": 80, "targetPort": if old { 8080 } else { 8081 }, "protocol": "TCP"},
                    {"name": "metrics", "port": 9090, "targetPort": 9090, "protocol": "TCP"},
                ],
            },
        }),
        Kind::Secret => json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": format!("{svc}-creds-{i}"), "namespace": ns, "labels": labels},
            "type": "Opaque",
            "data": {
                "username": b64("app"),
                "password": b64(&format!("pw-{i}-{}", if old { "old" } else { "new" })),
            },
        }),
        Kind::Workflow => json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {
                "name": format!("mlworkflow-{i}"),
                "namespace": ns,
                "labels": {"app.kubernetes.io/part-of": "ml-pipeline"},
                "annotations": {
                    "kapp.k14s.io/change-group": "apps.big.co/argo-pipelines",
                    "kapp.k14s.io/disable-original": "",
                },
            },
            "spec": {
                "entrypoint": "train",
                "arguments": {"parameters": [
                    {"name": "model_stage", "value": if old { "Staging" } else { "Production" }},
                ]},
                "templates": [
                    {"name": "train", "steps": [
                        [{"name": "upload-dataset", "template": "main"}],
                        [{"name": "train-model", "template": "main"}],
                        [{"name": "evaluate-model", "template": "main"}],
                    ]},
                    {"name": "main", "container": {
                        "image": "registry.example.com/ml/trainer:2.1",
                        "command": ["python"],
                        "args": ["./app/main.py", "mlflow_entry={{inputs.parameters.mlflow_entry}}"],
                    }},
                ],
            },
        }),
    }
}

/// The workshop's kapp Config: a running Workflow keeps its live spec.
const KAPP_CONFIG: &str = "apiVersion: kapp.k14s.io/v1alpha1
kind: Config
rebaseRules:
- paths:
  - [spec]
  - [metadata, annotations]
  - [metadata, labels]
  type: copy
  sources: [existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: argoproj.io/v1alpha1, kind: Workflow}
";

fn id_of(o: &Value) -> ResourceId {
    let api = o["apiVersion"].as_str().unwrap_or_default();
    ResourceId {
        group: api
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
            .to_string(),
        kind: o["kind"].as_str().unwrap_or_default().to_string(),
        namespace: o["metadata"]["namespace"].as_str().map(str::to_string),
        name: o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// `managedFields`' `fieldsV1` for a value: every map key as `f:key`, list items by name.
fn fields_v1(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(format!("f:{k}"), fields_v1(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Map::new();
            for it in items {
                if let Some(n) = it.get("name").and_then(Value::as_str) {
                    let mut child = fields_v1(it);
                    if let Value::Object(c) = &mut child {
                        c.insert(".".into(), json!({}));
                    }
                    out.insert(format!("k:{{\"name\":\"{n}\"}}"), child);
                }
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}

fn md5_hex(s: &str) -> String {
    association_value(&ResourceId {
        group: String::new(),
        kind: String::new(),
        namespace: None,
        name: s.to_string(),
    })[3..]
        .to_string()
}

/// The live copy of a deployed object: kapp's labels and annotations, server fields, status.
fn live(mut o: Value, i: usize) -> Value {
    let id = id_of(&o);
    let kind = o["kind"].as_str().unwrap_or_default().to_string();
    let api = o["apiVersion"].as_str().unwrap_or_default().to_string();
    let key = format!(
        "{}/{}/{}/{}",
        id.namespace.as_deref().unwrap_or(""),
        id.group,
        id.kind,
        id.name
    );
    let assoc = association_value(&id);
    let meta = o["metadata"].as_object_mut().expect("metadata");
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    labels["kapp.k14s.io/app"] = json!(APP);
    labels["kapp.k14s.io/association"] = json!(assoc);
    // kapp's ownership labels in pod templates and label scoping in selectors.
    match kind.as_str() {
        "Deployment" => {
            o["spec"]["selector"]["matchLabels"]["kapp.k14s.io/app"] = json!(APP);
            let tl = &mut o["spec"]["template"]["metadata"]["labels"];
            tl["kapp.k14s.io/app"] = json!(APP);
            tl["kapp.k14s.io/association"] = json!(assoc);
        }
        "Service" => {
            o["spec"]["selector"]["kapp.k14s.io/app"] = json!(APP);
        }
        _ => {}
    }
    let sent = o.clone();
    let fields = fields_v1(&sent);
    let meta = o["metadata"].as_object_mut().expect("metadata");
    let anns = meta.entry("annotations").or_insert_with(|| json!({}));
    anns["kapp.k14s.io/identity"] = json!(format!("v1;{key};{api}"));
    if kind != "Workflow" {
        anns["kapp.k14s.io/original"] = json!(serde_json::to_string(&sent).unwrap());
        anns["kapp.k14s.io/original-diff-md5"] = json!(md5_hex(&key));
    }
    if kind == "Deployment" {
        anns["deployment.kubernetes.io/revision"] = json!(format!("{}", 1 + i % 4));
    }
    meta.insert(
        "uid".into(),
        json!(format!("6f1c2d3e-{:04x}-4000-8000-{i:012}", i % 65536)),
    );
    meta.insert("resourceVersion".into(), json!(format!("{}", 184_000 + i)));
    if matches!(kind.as_str(), "Deployment" | "Workflow") {
        meta.insert("generation".into(), json!(1 + i % 3));
    }
    meta.insert("creationTimestamp".into(), json!(ts(i)));
    let mut managed = vec![json!({
        "apiVersion": api,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": "kapp",
        "operation": "Update",
        "time": ts(i),
    })];
    let status = match kind.as_str() {
        "Deployment" => Some(json!({
            "availableReplicas": 2,
            "conditions": [
                {"lastTransitionTime": ts(i), "lastUpdateTime": ts(i), "message": "Deployment has minimum availability.", "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                {"lastTransitionTime": ts(i), "lastUpdateTime": ts(i + 1), "message": format!("ReplicaSet \"{}-7d9f8b6c5\" has successfully progressed.", id.name), "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
            ],
            "observedGeneration": 1 + i % 3,
            "readyReplicas": 2,
            "replicas": 2,
            "updatedReplicas": 2,
        })),
        "Service" => {
            o["spec"]["clusterIP"] = json!(format!("10.96.{}.{}", (i / 250) % 256, i % 250 + 1));
            Some(json!({"loadBalancer": {}}))
        }
        "Workflow" => Some(json!({
            "phase": "Running",
            "startedAt": ts(i),
            "progress": "1/3",
            "nodes": {
                format!("mlworkflow-{i}"): {"id": format!("mlworkflow-{i}"), "name": format!("mlworkflow-{i}"), "displayName": format!("mlworkflow-{i}"), "type": "Steps", "phase": "Running", "startedAt": ts(i), "children": [format!("mlworkflow-{i}-1")]},
                format!("mlworkflow-{i}-1"): {"id": format!("mlworkflow-{i}-1"), "name": format!("mlworkflow-{i}[0].upload-dataset"), "displayName": "upload-dataset", "type": "Pod", "phase": "Succeeded", "startedAt": ts(i), "finishedAt": ts(i + 1), "templateName": "main", "outputs": {"exitCode": "0"}},
            },
        })),
        _ => None,
    };
    if let Some(s) = status {
        managed.push(json!({
            "apiVersion": api,
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:status": fields_v1(&s)},
            "manager": if kind == "Workflow" { "workflow-controller" } else { "kube-controller-manager" },
            "operation": "Update",
            "subresource": "status",
            "time": ts(i + 1),
        }));
        o["status"] = s;
    }
    o["metadata"]["managedFields"] = Value::Array(managed);
    o
}

/// `live` as kubectl writes it by default: without `managedFields`.
fn without_managed_fields(live: &[Value]) -> Vec<Value> {
    live.iter()
        .map(|o| {
            let mut o = o.clone();
            if let Some(m) = o["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            o
        })
        .collect()
}

/// Desired YAML stream, live objects, and the op counts a diff must find.
fn generate() -> (String, Vec<Value>, Expect) {
    let mut desired_docs: Vec<serde_yaml::Value> = vec![serde_yaml::from_str(KAPP_CONFIG).unwrap()];
    let mut live_objects = Vec::with_capacity(N);
    let mut expect = Expect::default();
    for i in 0..N {
        let create = i % 200 == 13;
        let update = i % 25 == 3 || (kind_of(i) == Kind::Secret && (i / 100) % 10 == 0);
        // Every other Workflow was edited since it started: still a noop (the Config rule).
        let drift = kind_of(i) == Kind::Workflow && (i / 100) % 2 == 0;
        let d = desired(i, !(update || drift));
        desired_docs.push(serde_yaml::to_value(&d).unwrap());
        if create {
            expect.create += 1;
            continue;
        }
        live_objects.push(live(desired(i, true), i));
        if update && kind_of(i) != Kind::Workflow {
            expect.update += 1;
        } else {
            expect.noop += 1;
        }
        // Deployed earlier, no longer rendered: 50 deletes.
        if i % 200 == 17 {
            let mut gone = desired(i, true);
            let name = format!("retired-{}", gone["metadata"]["name"].as_str().unwrap());
            gone["metadata"]["name"] = json!(name);
            live_objects.push(live(gone, i));
            expect.delete += 1;
        }
    }
    let mut text = String::new();
    for d in &desired_docs {
        text.push_str("---\n");
        kpipe::yaml::emit_doc(d, &mut text);
    }
    (text, live_objects, expect)
}

fn kubectl_json(items: &[Value]) -> String {
    use serde::Serialize;
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}});
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    list.serialize(&mut ser).unwrap();
    buf.push(b'\n');
    String::from_utf8(buf).unwrap()
}

/// Writes the inputs; returns their paths and the expected counts.
fn write_inputs(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Expect) {
    std::fs::create_dir_all(dir).unwrap();
    let (desired, managed, expect) = generate();
    let (dp, jp, yp) = (
        dir.join("desired.yaml"),
        dir.join("live.json"),
        dir.join("live.yaml"),
    );
    std::fs::write(&dp, desired).unwrap();
    std::fs::write(dir.join("live-managed-fields.json"), kubectl_json(&managed)).unwrap();
    let live = without_managed_fields(&managed);
    std::fs::write(&jp, kubectl_json(&live)).unwrap();
    let yaml: Vec<serde_yaml::Value> = live
        .iter()
        .map(|v| serde_yaml::to_value(v).unwrap())
        .collect();
    std::fs::write(&yp, kpipe::yaml::emit_stream(&yaml)).unwrap();
    (dp, jp, yp, expect)
}

/// The whole `kpipe diff` command in process: read, diff, write the text report.
fn run_once(desired: &Path, live: &Path) -> (u8, Vec<u8>) {
    use clap::Parser;
    let cli = kpipe::cli::Cli::try_parse_from([
        "kpipe",
        "diff",
        "-n",
        "default",
        "--color",
        "never",
        "--files",
        desired.to_str().unwrap(),
        "--live",
        live.to_str().unwrap(),
    ])
    .unwrap();
    let kpipe::cli::Command::Diff(cmd) = cli.command else {
        unreachable!()
    };
    let mut sink = Vec::new();
    let code = kpipe::diff::cmd::run(&cmd.inputs, &cmd.diff, &mut sink).unwrap();
    (code, sink)
}

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-diff");
    let (dp, jp, yp, expect) = write_inputs(&dir);
    let mut summary = String::new();
    let _ = write!(
        summary,
        "Op: {} create, {} delete, {} update, {} noop, 0 exists, 0 conflict",
        expect.create, expect.delete, expect.update, expect.noop
    );
    let mp = dir.join("live-managed-fields.json");
    for live in [&jp, &yp, &mp] {
        let (code, out) = run_once(&dp, live);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(code, 1);
        assert!(text.contains(&summary), "want {summary}, got {}", {
            text.lines().last().unwrap_or_default()
        });
    }
    eprintln!("inputs in {}: {summary}", dir.display());
    if std::env::var_os("KPIPE_DIFF_BENCH_INPUTS_ONLY").is_some() {
        return;
    }
    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    for (name, live) in [("json_snapshot", &jp), ("yaml_snapshot", &yp)] {
        g.bench_function(format!("10k_resources_5pct_changed_{name}"), |b| {
            b.iter(|| run_once(&dp, live).1.len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
