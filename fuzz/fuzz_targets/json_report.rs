//! The diff report writers: random rendered and live objects (plus a kapp Config) diffed per
//! session, then written as JSON (must parse as JSON, with consistent totals) and as text,
//! table and Markdown (must not panic).
//!
//! Input: flags byte, context byte, then NUL-separated texts: rendered objects, live objects,
//! kapp Config documents, and a second session's rendered objects.
#![no_main]

mod common;

use kpipe::diff::ops::{self, Options};
use kpipe::diff::ownership::Ownership;
use kpipe::diff::report::{self, Format};
use kpipe::diff::DiffResult;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > common::MAX_INPUT || data.len() < 2 {
        return;
    }
    let (flags, context) = (data[0], i64::from(data[1] as i8));
    let parts = common::split(&data[2..], 4);
    let opts = Options {
        ownership: if flags & 1 == 0 {
            Ownership::Inferred
        } else {
            Ownership::App {
                key: "kapp.k14s.io/app".into(),
                value: Some("1".into()),
            }
        },
        against_original: flags & 2 != 0,
    };
    let mut result = DiffResult::default();
    for (session, rendered) in [("s1", &parts[0]), ("s-2", &parts[3])] {
        let Some((set, configs, live)) =
            common::diff_inputs(session, rendered, &parts[1], &parts[2], Some("ns"))
        else {
            continue;
        };
        if let Ok(d) = ops::diff_session(set.clone(), &configs, live.clone(), &opts) {
            result.sessions.push(d);
        }
    }
    let ropts = report::Options {
        context,
        show_secrets: flags & 4 != 0,
        color: flags & 8 != 0,
    };

    let mut out = Vec::new();
    report::write(&result, Format::Json, &ropts, &mut out).expect("write to a Vec");
    let json: serde_json::Value = match serde_json::from_slice(&out) {
        Ok(j) => j,
        Err(e) => panic!(
            "JSON report does not parse: {e}\n{}",
            String::from_utf8_lossy(&out)
        ),
    };
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["changed"], result.has_changes());
    let sessions = json["sessions"].as_array().expect("sessions array");
    assert_eq!(sessions.len(), result.sessions.len());
    let mut total = 0;
    for (s, d) in sessions.iter().zip(&result.sessions) {
        let resources = s["resources"].as_array().expect("resources array");
        assert_eq!(resources.len(), d.changes.len());
        total += resources.len();
    }
    let counted: u64 = json["totals"]
        .as_object()
        .expect("totals object")
        .values()
        .filter_map(serde_json::Value::as_u64)
        .sum();
    assert_eq!(counted as usize, total, "totals do not add up");

    for format in [Format::Text, Format::Table, Format::Markdown] {
        let mut out = Vec::new();
        report::write(&result, format, &ropts, &mut out).expect("write to a Vec");
        assert!(
            std::str::from_utf8(&out).is_ok(),
            "{format:?} report is not UTF-8"
        );
    }
});
