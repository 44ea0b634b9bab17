//! `kpipe diff` on 10,000 resources, 5% changed, against a snapshot source.
//!
//! Also writes the inputs to `target/bench-diff/{desired.yaml,live.yaml,live.json}` so the
//! whole process can be timed: `kpipe diff -n default --files target/bench-diff/desired.yaml
//! --live target/bench-diff/live.json --report table` (`live.json` is what `kubectl get -A -o
//! json` saves; `live.yaml` the same objects as YAML).

use criterion::{criterion_group, criterion_main, Criterion};
use kpipe::diff::config::partition_configs;
use kpipe::diff::ops::{diff_session, LiveIndex, Options};
use kpipe::diff::report::{self, Format};
use kpipe::diff::DiffResult;
use kpipe::live::Snapshot;
use kpipe::manifest::{build_set, BuildOptions, Scopes, SourceLoc, SourcedDoc};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const N: usize = 10_000;
const APP: &str = "1700000000000000001";

/// Desired and live YAML streams: ConfigMaps and Deployments over 10 namespaces; every 20th
/// resource differs (5%).
fn generate() -> (String, String) {
    let mut desired = String::new();
    let mut live = String::new();
    for i in 0..N {
        let ns = format!("team-{}", i % 10);
        let changed = i % 20 == 0;
        let (kind, group) = if i % 2 == 0 {
            ("ConfigMap", "")
        } else {
            ("Deployment", "apps")
        };
        let name = format!("{}-{i}", kind.to_ascii_lowercase());
        let key = format!("{ns}/{group}/{kind}/{name}");
        let api = if group.is_empty() {
            "v1".to_string()
        } else {
            format!("{group}/v1")
        };
        let body = |image: &str, level: &str| {
            if kind == "ConfigMap" {
                format!("data:\n  LOG_LEVEL: {level}\n  REGION: eu-west-1\n  FEATURES: a,b,c\n")
            } else {
                format!(
                    "spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: {image}\n        ports:\n        - containerPort: 8080\n        env:\n        - name: MODE\n          value: batch\n"
                )
            }
        };
        let _ = write!(
            desired,
            "---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    team: t{}\n{}",
            i % 10,
            body(if changed { "registry/app:2.0" } else { "registry/app:1.0" }, if changed { "debug" } else { "info" })
        );
        let mut live_body = body("registry/app:1.0", "info");
        if kind == "Deployment" {
            // kapp's label scoping and pod-template ownership labels, as deployed.
            live_body = live_body
                .replace(
                    &format!("    matchLabels:\n      app: {name}\n"),
                    &format!("    matchLabels:\n      app: {name}\n      kapp.k14s.io/app: \"{APP}\"\n"),
                )
                .replace(
                    &format!("      labels:\n        app: {name}\n"),
                    &format!(
                        "      labels:\n        app: {name}\n        kapp.k14s.io/app: \"{APP}\"\n        kapp.k14s.io/association: {}\n",
                        association(&key)
                    ),
                );
        }
        let _ = write!(
            live,
            "---\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  uid: 6f1c2d3e-0000-4000-8000-{i:012}\n  resourceVersion: \"{}\"\n  creationTimestamp: \"2026-11-20T10:00:00Z\"\n  labels:\n    team: t{}\n    kapp.k14s.io/app: \"{APP}\"\n    kapp.k14s.io/association: {}\n  annotations:\n    kapp.k14s.io/identity: v1;{key};{api}\n{}status:\n  observedGeneration: 1\n",
            1000 + i,
            i % 10,
            association(&key),
            live_body
        );
    }
    (desired, live)
}

fn association(key: &str) -> String {
    use md5::{Digest, Md5};
    let d = Md5::digest(key.as_bytes());
    let mut s = String::from("v1.");
    for b in d {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn run_once(desired: &Path, live: &Path) -> DiffResult {
    let text = std::fs::read_to_string(desired).unwrap();
    let docs: Vec<SourcedDoc> = kpipe::yaml::parse_stream(&text, kpipe::yaml::Limits::default())
        .unwrap()
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.empty)
        .map(|(i, d)| SourcedDoc {
            value: d.value,
            source: SourceLoc {
                file: "desired.yaml".into(),
                line: d.line,
                doc: i,
            },
        })
        .collect();
    let (configs, docs) = partition_configs(docs);
    let opts = BuildOptions {
        namespace: Some("default".into()),
        scopes: Scopes::new(&[]),
    };
    let set = build_set("default", docs, &opts).unwrap();
    let index = LiveIndex::new(Snapshot::load(live).unwrap().into_objects());
    DiffResult {
        sessions: vec![diff_session(&set, &configs, &index, &Options::default()).unwrap()],
    }
}

fn bench(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-diff");
    std::fs::create_dir_all(&dir).unwrap();
    let (desired, live) = generate();
    let (dp, lp) = (dir.join("desired.yaml"), dir.join("live.yaml"));
    std::fs::write(&dp, desired).unwrap();
    let items: Vec<serde_yaml::Value> = kpipe::yaml::parse_stream(&live, Default::default())
        .unwrap()
        .into_iter()
        .filter(|d| !d.empty)
        .map(|d| d.value)
        .collect();
    std::fs::write(&lp, live).unwrap();
    let jp = dir.join("live.json");
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&jp, serde_json::to_string_pretty(&list).unwrap()).unwrap();
    for live in [&lp, &jp] {
        let t = run_once(&dp, live).totals();
        assert_eq!((t.update, t.noop), (N / 20, N - N / 20), "{t:?}");
    }
    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    for (name, live) in [("yaml_snapshot", &lp), ("json_snapshot", &jp)] {
        g.bench_function(format!("10k_resources_5pct_changed_{name}"), |b| {
            b.iter(|| {
                let r = run_once(&dp, live);
                let mut sink = Vec::new();
                report::write(&r, Format::Text, &report::Options::default(), &mut sink).unwrap();
                sink.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
