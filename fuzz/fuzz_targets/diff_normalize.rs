//! The diff normaliser: a random (new, live[, original]) pair of YAML objects plus a kapp
//! Config, normalised both ways kapp does (`sides`, `single`), then the op for the pair
//! (`ops::diff_session`).
//!
//! Input: flags byte, then NUL-separated texts: new object(s), live object(s), kapp Config
//! document(s), the last-applied original.
#![no_main]

mod common;

use kpipe::diff::config::{is_config_doc, Config};
use kpipe::diff::normalize;
use kpipe::diff::ops::{self, Options};
use kpipe::diff::ownership::Ownership;
use kpipe::diff::{changed_paths, Op};
use kpipe::yaml::parse_one;
use libfuzzer_sys::fuzz_target;

fn ownership(flags: u8) -> Ownership {
    match flags & 3 {
        0 => Ownership::Inferred,
        1 => Ownership::App {
            key: "kapp.k14s.io/app".into(),
            value: Some("1".into()),
        },
        2 => Ownership::App {
            key: "kapp.k14s.io/app".into(),
            value: None,
        },
        _ => Ownership::Labels {
            key: "kpipe.dev/app".into(),
            value: "fuzz".into(),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > common::MAX_INPUT || data.is_empty() {
        return;
    }
    let flags = data[0];
    let parts = common::split(&data[1..], 4);
    let limits = common::limits();

    // Normalisation of one pair, directly.
    let mut cfg = Config::defaults();
    for d in common::docs(&parts[2], "config.yaml") {
        let _ = cfg.add_doc(&d.value);
    }
    let new = parse_one(&parts[0], limits).ok().map(|mut v| {
        common::with_identity(&mut v);
        v
    });
    let live = parse_one(&parts[1], limits).ok().map(|mut v| {
        common::with_identity(&mut v);
        v
    });
    let original = parse_one(&parts[3], limits).ok().filter(|v| v.is_mapping());
    if let (Some(n), Some(l)) = (&new, &live) {
        let sides = normalize::sides(n.clone(), l.clone(), original.as_ref(), &cfg);
        let _ = changed_paths(Some(&sides.existing), Some(&sides.new));
        let _ = normalize::single(n, &cfg, false);
        let _ = normalize::single(l, &cfg, true);
    }

    // The op, through the session diff.
    let Some((set, configs, live)) =
        common::diff_inputs("fuzz", &parts[0], &parts[1], &parts[2], None)
    else {
        return;
    };
    let opts = Options {
        ownership: ownership(flags),
        against_original: flags & 4 != 0,
    };
    let Ok(diff) = ops::diff_session(set.clone(), &configs, live.clone(), &opts) else {
        return;
    };
    let rendered = set
        .resources
        .iter()
        .filter(|r| !is_config_doc(&r.object))
        .count();
    let not_deletes = diff.changes.iter().filter(|c| c.op != Op::Delete).count();
    assert!(
        not_deletes <= rendered,
        "more changes than rendered resources"
    );
    for c in &diff.changes {
        match c.op {
            Op::Create => assert!(c.new.is_some(), "create without a new side"),
            Op::Delete => assert!(c.existing.is_some(), "delete without a live side"),
            Op::Update => assert!(c.new.is_some() && c.existing.is_some(), "update needs both"),
            _ => {}
        }
    }
});
