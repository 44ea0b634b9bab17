//! YAML stream parse → canonical emit → parse again: the same values, and a second emit gives
//! the same bytes. Also: the fast parser agrees with the full one whenever it takes a text,
//! positions are found for every document, a text read head first (`yaml::head`) completes to
//! the same documents, and `build_set` + its YAML/digest never panic.
#![no_main]

mod common;

use kpipe::manifest::{build_set, BuildOptions, Scopes, SourceLoc, SourcedDoc};
use kpipe::yaml::{
    emit_stream, parse_stream, parse_stream_fast, parse_stream_slow, parse_stream_with_positions,
    PathSeg,
};
use libfuzzer_sys::fuzz_target;
use serde_yaml::Value;

/// The first path through keys/items of a value, for `Pos::find`.
fn some_path(v: &Value) -> Vec<PathSeg> {
    let mut out = Vec::new();
    let mut cur = v;
    loop {
        match cur {
            Value::Mapping(m) => match m.iter().last() {
                Some((k, v)) => {
                    out.push(PathSeg::Key(kpipe::yaml::key_text(k)));
                    cur = v;
                }
                None => break,
            },
            Value::Sequence(s) if !s.is_empty() => {
                out.push(PathSeg::Index(s.len() - 1));
                cur = &s[s.len() - 1];
            }
            _ => break,
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() > common::MAX_INPUT {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = common::limits();

    // The fast path, when it takes a text, must agree with the full parser.
    let slow = parse_stream_slow(text, limits);
    if let Some(fast) = parse_stream_fast(text, limits) {
        match (&fast, &slow) {
            (Ok(f), Ok(s)) => {
                assert_eq!(f.len(), s.len(), "document count differs");
                for (a, b) in f.iter().zip(s) {
                    assert_eq!(a.value, b.value, "value differs");
                    assert_eq!(a.line, b.line, "line differs");
                    assert_eq!(a.empty, b.empty, "empty flag differs");
                }
            }
            (Err(_), Err(_)) => {}
            _ => panic!("fast {fast:?} vs slow {slow:?}"),
        }
    }
    // Read head first, each document completed: what the whole parse gives, or an error.
    if let Some(heads) = kpipe::yaml::head::read(std::sync::Arc::new(text.to_string()), limits) {
        let completed: Vec<_> = heads
            .into_iter()
            .map(|mut d| {
                // Every other document with its metadata trimmed, parsed again whole.
                if d.index % 2 == 1 {
                    d.trim();
                }
                let place = (d.line, d.index);
                (
                    place,
                    d.rest.map_or(Ok(d.head.clone()), |r| r.complete(d.head)),
                )
            })
            .collect();
        match parse_stream(text, limits) {
            Ok(docs) => {
                let whole: Vec<_> = docs
                    .into_iter()
                    .enumerate()
                    .filter(|(_, d)| !d.empty)
                    .collect();
                assert_eq!(whole.len(), completed.len(), "head-first document count");
                for ((i, w), (place, v)) in whole.iter().zip(&completed) {
                    assert_eq!(*place, (w.line, *i), "head-first line or index");
                    assert_eq!(v.as_ref().ok(), Some(&w.value), "head-first value");
                }
            }
            Err(_) => assert!(
                completed.iter().any(|(_, v)| v.is_err()),
                "head-first completed a bad text"
            ),
        }
    }

    let docs = match parse_stream(text, limits) {
        Ok(d) => d,
        Err(e) => {
            assert!(
                slow.is_err(),
                "parse_stream failed but the slow path did not: {e}"
            );
            return;
        }
    };

    if let Ok(with_pos) = parse_stream_with_positions(text, limits) {
        assert_eq!(with_pos.len(), docs.len());
        for ((d, pos), plain) in with_pos.iter().zip(&docs) {
            assert_eq!(d.value, plain.value);
            let _ = pos.find(&some_path(&d.value));
        }
    }

    // Emit and parse again.
    let values: Vec<&Value> = docs.iter().filter(|d| !d.empty).map(|d| &d.value).collect();
    let out = emit_stream(values.iter().copied());
    let again = match parse_stream(&out, limits) {
        Ok(a) => a,
        Err(e) => panic!("emitted YAML does not parse: {e}\n{out}"),
    };
    let again: Vec<&Value> = again
        .iter()
        .filter(|d| !d.empty)
        .map(|d| &d.value)
        .collect();
    assert_eq!(values.len(), again.len(), "document count changed\n{out}");
    for (a, b) in values.iter().zip(&again) {
        assert_eq!(a, b, "value changed by emit + parse\n{out}");
    }
    let out2 = emit_stream(again.iter().copied());
    assert_eq!(out, out2, "emit is not stable");

    // The manifest stage over the same documents.
    let sourced: Vec<SourcedDoc> = docs
        .into_iter()
        .enumerate()
        .filter(|(_, d)| !d.empty)
        .map(|(i, d)| SourcedDoc {
            rest: None,
            value: d.value,
            source: SourceLoc {
                file: "fuzz.yaml".into(),
                line: d.line,
                doc: i,
            },
        })
        .collect();
    let opts = BuildOptions {
        namespace: Some("fuzz-ns".into()),
        scopes: Scopes::new(&["Widget.example.com".to_string()]),
    };
    if let Ok(set) = build_set("fuzz", sourced, &opts) {
        let y = set.to_yaml();
        if let Err(e) = parse_stream(&y, limits) {
            panic!("manifest set YAML does not parse: {e}\n{y}");
        }
        let _ = set.digest();
    }
});
