//! The live-object corpus (`$KPIPE_CORPUS/E-live-objects`): for every desired/live pair, the op
//! and changed paths kapp would report (expectations written from kapp-diff-semantics.md: kapp
//! diffs against the live object, copies live metadata, takes labels and annotations from the
//! new object, keeps `clusterIP` and the Deployment revision annotation, drops `status`); and
//! every live object diffed against itself with server fields stripped is a noop.

use kpipe::diff::config::partition_configs;
use kpipe::diff::normalize::strip_server_fields;
use kpipe::diff::ops::{diff_session, LiveIndex, Options};
use kpipe::diff::{Op, SessionDiff};
use kpipe::live::{LiveSource, Snapshot};
use kpipe::manifest::{build_set, BuildOptions, Scopes, SourceLoc, SourcedDoc};
use serde_yaml::Value;
use std::path::Path;

mod common;
use common::corpus;

fn docs(objects: Vec<Value>, file: &str) -> Vec<SourcedDoc> {
    objects
        .into_iter()
        .enumerate()
        .map(|(i, value)| SourcedDoc {
            rest: None,
            value,
            source: SourceLoc {
                file: file.into(),
                line: 1,
                doc: i,
            },
        })
        .collect()
}

/// Diffs desired objects against live objects, placing namespace-less ones in `ns`.
fn run(desired: Vec<Value>, live: Vec<Value>, ns: &str) -> SessionDiff {
    let (configs, docs) = partition_configs(docs(desired, "desired"));
    let opts = BuildOptions {
        namespace: Some(ns.into()),
        scopes: Scopes::new(&[]),
    };
    let set = build_set("corpus", docs, &opts).unwrap();
    diff_session(set, &configs, LiveIndex::new(live), &Options::default()).unwrap()
}

fn load(p: &Path) -> Vec<Value> {
    Snapshot::load(
        p,
        kpipe::yaml::Limits::default(),
        kpipe::live::Keep::Compared,
    )
    .unwrap()
    .into_objects()
    .unwrap()
}

fn paths(d: &SessionDiff) -> Vec<&str> {
    let mut v: Vec<&str> = d.changes[0]
        .changed_paths
        .iter()
        .map(String::as_str)
        .collect();
    v.sort();
    v
}

#[test]
fn pairs_report_what_kapp_would() {
    let Some(c) = corpus() else { return };
    let dir = c.join("E-live-objects");
    // (pair, namespace for namespace-less desired objects, op, changed paths sorted)
    let expected: &[(&str, &str, Op, &[&str])] = &[
        // A key only the cluster has is removed.
        ("configmap-test", "default", Op::Update, &["data.key3"]),
        // Against live, every server default shows as removed; the revision annotation is kept
        // by a default rebase rule, status is excluded, metadata is copied from live.
        (
            "deployment-nginx",
            "default",
            Op::Update,
            &[
                "spec.progressDeadlineSeconds",
                "spec.revisionHistoryLimit",
                "spec.strategy",
                "spec.template.metadata.creationTimestamp",
                "spec.template.spec.containers[0].livenessProbe.failureThreshold",
                "spec.template.spec.containers[0].livenessProbe.successThreshold",
                "spec.template.spec.containers[0].livenessProbe.timeoutSeconds",
                "spec.template.spec.containers[0].ports[0].protocol",
                "spec.template.spec.containers[0].resources",
                "spec.template.spec.containers[0].terminationMessagePath",
                "spec.template.spec.containers[0].terminationMessagePolicy",
                "spec.template.spec.dnsPolicy",
                "spec.template.spec.restartPolicy",
                "spec.template.spec.schedulerName",
                "spec.template.spec.securityContext",
                "spec.template.spec.terminationGracePeriodSeconds",
            ],
        ),
        // clusterIP is copied from live by a default rule; clusterIPs and the rest are not.
        (
            "service-httpbin",
            "default",
            Op::Update,
            &[
                "spec.clusterIPs",
                "spec.internalTrafficPolicy",
                "spec.ipFamilies",
                "spec.ipFamilyPolicy",
                "spec.ports[0].protocol",
                "spec.ports[1].protocol",
                "spec.ports[1].targetPort",
                "spec.sessionAffinity",
                "spec.type",
            ],
        ),
        // null vs "": a change; the kubectl last-applied annotation is not the user's: removed.
        (
            "secret-wordpress",
            "argocd",
            Op::Update,
            &["data.smtp-password", "metadata.annotations"],
        ),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some((stem, ext)) = name.split_once(".desired.") else {
            continue;
        };
        seen += 1;
        let (_, ns, op, want) = expected
            .iter()
            .find(|(s, ..)| *s == stem)
            .unwrap_or_else(|| panic!("no expectation written for pair {stem}"));
        let desired = load(&dir.join(&name));
        let live = load(&dir.join(format!("{stem}.live.{ext}")));
        let d = run(desired, live, ns);
        assert_eq!(d.changes.len(), 1, "{stem}: {:?}", d.changes);
        assert_eq!(d.changes[0].op, *op, "{stem}");
        assert_eq!(paths(&d), *want, "{stem}");
    }
    assert_eq!(seen, expected.len(), "pairs found vs expectations");
}

#[test]
fn pairs_in_the_wrong_namespace_are_creates() {
    let Some(c) = corpus() else { return };
    let dir = c.join("E-live-objects");
    // The Secret's desired form names no namespace; placed in `default`, it is not the live one.
    let d = run(
        load(&dir.join("secret-wordpress.desired.json")),
        load(&dir.join("secret-wordpress.live.json")),
        "default",
    );
    assert_eq!(d.changes[0].op, Op::Create);
    assert_eq!(
        d.changes.len(),
        1,
        "an unowned live object is never deleted"
    );
}

#[test]
fn every_live_object_against_itself_is_noop() {
    let Some(c) = corpus() else { return };
    let dir = c.join("E-live-objects");
    let mut n = 0;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.contains(".desired."))
        .collect();
    names.sort();
    for name in names {
        for live in load(&dir.join(&name)) {
            let ns = live
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or("default")
                .to_string();
            let mut desired = live.clone();
            strip_server_fields(&mut desired);
            let d = run(vec![desired], vec![live], &ns);
            assert_eq!(d.changes.len(), 1, "{name}");
            assert_eq!(
                d.changes[0].op,
                Op::Noop,
                "{name}: {:?}",
                d.changes[0].changed_paths
            );
            n += 1;
        }
    }
    assert!(n >= 8, "only {n} live objects found");
}

#[test]
fn workshop_rule_keeps_a_live_workflow() {
    let Some(c) = corpus() else { return };
    let dir = c.join("E-live-objects");
    let live = load(&dir.join("argo-workflow-live-dag-retry-succeeded.yaml"));
    let ns = live[0]["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let mut desired = live[0].clone();
    strip_server_fields(&mut desired);
    // The rendered Workflow differs from the running one (new entrypoint, other labels).
    desired["spec"]["entrypoint"] = Value::from("changed-entrypoint");
    desired["metadata"]["labels"] = serde_yaml::from_str("{rendered: 'yes'}").unwrap();
    let rule: Value = serde_yaml::from_str(
        "apiVersion: kapp.k14s.io/v1alpha1
kind: Config
rebaseRules:
- paths: [[spec], [metadata, annotations], [metadata, labels]]
  type: copy
  sources: [existing]
  resourceMatchers:
  - apiVersionKindMatcher: {apiVersion: argoproj.io/v1alpha1, kind: Workflow}",
    )
    .unwrap();
    let d = run(vec![desired.clone(), rule], live.clone(), &ns);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].op, Op::Noop);
    let d = run(vec![desired], live, &ns);
    assert_eq!(d.changes[0].op, Op::Update);
    assert!(d.changes[0]
        .changed_paths
        .contains(&"spec.entrypoint".to_string()));
}

#[test]
fn corpus_kapp_configs_parse() {
    let Some(c) = corpus() else { return };
    let f = c.join("C-kapp-controller-and-kapp/kapp-config-rebase-calico-pod-annotations.yml");
    let cfg = load(&f);
    // The calico rule copies pod annotations from the cluster: a live-only podIP is kept.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: d}\nspec: {containers: [{name: c, image: i}]}";
    let live = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: d, annotations: {cni.projectcalico.org/podIP: 10.0.0.1/32}}\nspec: {containers: [{name: c, image: i}], nodeName: n1}";
    let mut desired = vec![serde_yaml::from_str::<Value>(pod).unwrap()];
    desired.extend(cfg);
    let d = run(desired, vec![serde_yaml::from_str(live).unwrap()], "d");
    assert_eq!(
        d.changes[0].op,
        Op::Noop,
        "{:?}",
        d.changes[0].changed_paths
    );
    let d = run(
        vec![serde_yaml::from_str(pod).unwrap()],
        vec![serde_yaml::from_str(live).unwrap()],
        "d",
    );
    assert_eq!(d.changes[0].op, Op::Update);
}

#[test]
fn snapshot_source_reads_corpus_files() {
    let Some(c) = corpus() else { return };
    let s = Snapshot::load(
        &c.join("E-live-objects"),
        kpipe::yaml::Limits::default(),
        kpipe::live::Keep::Compared,
    )
    .unwrap();
    let owned = s
        .list_owned(&kpipe::live::OwnedQuery {
            label_key: "kapp.k14s.io/app".into(),
            values: vec!["x".into()],
            group_kinds: vec![],
        })
        .unwrap();
    assert!(owned.is_empty());
    assert!(s.len() >= 12);
}
