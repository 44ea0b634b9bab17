//! Values files (parse + deep merge), `--values-env`, and `--set` / `--set-string` /
//! `--set-yaml` parsing and application.
//!
//! Input: NUL-separated texts: values file A, values file B, `KEY=VALUE` env lines, then
//! `--set`-style arguments (their kind cycles set, set-string, set-yaml).
#![no_main]

mod common;

use kpipe::values::{self, PathStep, SetKind};
use libfuzzer_sys::fuzz_target;
use serde_yaml::Value;

fn at<'a>(v: &'a Value, path: &[PathStep]) -> Option<&'a Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Key(k) => cur.as_mapping()?.get(k.as_str())?,
            PathStep::Index(i) => cur.as_sequence()?.get(*i)?,
        };
    }
    Some(cur)
}

fuzz_target!(|data: &[u8]| {
    if data.len() > common::MAX_INPUT {
        return;
    }
    let parts = common::split(data, 8);
    let limits = common::limits();
    let mut merged = Value::Mapping(Default::default());
    for text in &parts[..2] {
        if let Ok(v) = values::parse_values("fuzz.yaml", text, limits) {
            assert!(v.is_mapping(), "parse_values gave a {v:?}");
            values::merge(&mut merged, v);
            assert!(merged.is_mapping());
        }
    }
    let env = parts[2]
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()));
    for a in values::from_env("KP", env) {
        // Refused only when too deep.
        if values::apply(&mut merged, &a).is_err() {
            assert!(a.path.len() > values::MAX_PATH_DEPTH);
        }
    }
    let kinds = [SetKind::Infer, SetKind::String, SetKind::Yaml];
    for (i, arg) in parts[3..].iter().enumerate() {
        if arg.is_empty() {
            continue;
        }
        let kind = kinds[i % kinds.len()];
        let Ok(assignments) = values::parse_set("--set", arg, kind) else {
            continue;
        };
        for a in &assignments {
            assert!(!a.path.is_empty());
            if kind == SetKind::String {
                let strings = match &a.value {
                    Value::String(_) => true,
                    Value::Sequence(s) => s.iter().all(Value::is_string),
                    _ => false,
                };
                assert!(strings, "--set-string gave {:?}", a.value);
            }
            values::apply(&mut merged, a).expect("apply of a parsed assignment");
            assert_eq!(
                at(&merged, &a.path),
                Some(&a.value),
                "value not at its path"
            );
        }
    }
});
