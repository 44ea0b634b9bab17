//! Shared by the fuzz targets: input splitting, limits, and the diff inputs.
#![allow(dead_code)]

use kpipe::diff::config::is_config_doc;
use kpipe::diff::ops::LiveIndex;
use kpipe::manifest::{build_set, BuildOptions, ManifestSet, SourceLoc, SourcedDoc};
use kpipe::yaml::{parse_stream, Limits};
use serde_yaml::{Mapping, Value};

/// Larger inputs are skipped: the targets look for panics, not for "slow on big input".
pub const MAX_INPUT: usize = 64 * 1024;

/// Limits for fuzzing: the real depth limit, fewer nodes (alias bombs stay fast).
pub fn limits() -> Limits {
    Limits {
        max_depth: 200,
        max_nodes: 100_000,
    }
}

/// Splits the input at NUL bytes into `n` texts (missing ones are empty; the last takes the rest).
pub fn split(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// Every document of a YAML stream that parses and is not empty.
pub fn docs(text: &str, file: &str) -> Vec<SourcedDoc> {
    let Ok(docs) = parse_stream(text, limits()) else {
        return Vec::new();
    };
    docs.into_iter()
        .enumerate()
        .filter(|(_, d)| !d.empty)
        .map(|(i, d)| SourcedDoc {
            rest: None,
            value: d.value,
            source: SourceLoc {
                file: file.to_string(),
                line: d.line,
                doc: i,
            },
        })
        .collect()
}

/// Gives a mapping the identity fields it lacks, so random objects pair up and reach the
/// rebase/diff code instead of stopping at "no identity".
pub fn with_identity(v: &mut Value) {
    let Value::Mapping(m) = v else {
        return;
    };
    if !m.contains_key("apiVersion") {
        m.insert("apiVersion".into(), "v1".into());
    }
    if !m.contains_key("kind") {
        m.insert("kind".into(), "ConfigMap".into());
    }
    let meta = m
        .entry("metadata".into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if let Value::Mapping(meta) = meta {
        if !meta.contains_key("name") {
            meta.insert("name".into(), "x".into());
        }
    }
}

/// The rendered set, its loose kapp Configs, and the live objects of one fuzzed session.
pub fn diff_inputs(
    session: &str,
    rendered: &str,
    live: &str,
    config: &str,
    namespace: Option<&str>,
) -> Option<(ManifestSet, Vec<SourcedDoc>, LiveIndex)> {
    let mut docs = docs(rendered, "rendered.yaml");
    for d in &mut docs {
        if !is_config_doc(&d.value) {
            with_identity(&mut d.value);
        }
    }
    let set = build_set(
        session,
        docs,
        &BuildOptions {
            namespace: namespace.map(str::to_string),
            ..BuildOptions::default()
        },
    )
    .ok()?;
    let configs = docs_of(config, "config.yaml");
    let live: Vec<Value> = docs_of(live, "live.yaml")
        .into_iter()
        .map(|d| {
            let mut v = d.value;
            with_identity(&mut v);
            v
        })
        .collect();
    Some((set, configs, LiveIndex::new(live)))
}

fn docs_of(text: &str, file: &str) -> Vec<SourcedDoc> {
    docs(text, file)
}
