//! Differential tests: whenever a YAML text is read head first (`kpipe diff --files`), each
//! document completed from its head and its rest must equal what the whole parse gives (value,
//! key order, line, index), and a text the whole parse rejects must fail somewhere too.

use kpipe::yaml::head::read;
use kpipe::yaml::{parse_stream, Limits};
use serde_yaml::Value;
use std::path::Path;
use std::sync::Arc;

mod common;
use common::{corpus as corpus_dir, yaml_files};

/// Keys of every map, depth first: equal values with the same key order everywhere.
fn key_order(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                out.push(format!("{k:?}"));
                key_order(v, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| key_order(v, out)),
        Value::Tagged(t) => key_order(&t.value, out),
        _ => {}
    }
}

/// Checks `text`, heads kept whole and trimmed (`HeadDoc::trim`); `true` when it was read
/// head first.
fn check(text: &str) -> bool {
    check_as(text, false) && check_as(text, true)
}

fn check_as(text: &str, trim: bool) -> bool {
    let limits = Limits::default();
    let Some(heads) = read(Arc::new(text.to_string()), limits) else {
        return false;
    };
    let completed: Vec<_> = heads
        .into_iter()
        .map(|mut d| {
            if trim {
                d.trim();
            }
            let place = (d.line, d.index);
            let value = match d.rest {
                Some(rest) => rest.complete(d.head),
                None => Ok(d.head),
            };
            (place, value)
        })
        .collect();
    match parse_stream(text, limits) {
        Ok(docs) => {
            let whole: Vec<_> = docs
                .into_iter()
                .enumerate()
                .filter(|(_, d)| !d.empty)
                .collect();
            assert_eq!(whole.len(), completed.len(), "document count for {text:?}");
            for ((i, w), (place, v)) in whole.iter().zip(&completed) {
                assert_eq!(*place, (w.line, *i), "line and index for {text:?}");
                let v = v.as_ref().unwrap_or_else(|e| panic!("{e} for {text:?}"));
                assert_eq!(v, &w.value, "value for {text:?} (trimmed: {trim})");
                let (mut a, mut b) = (Vec::new(), Vec::new());
                key_order(v, &mut a);
                key_order(&w.value, &mut b);
                assert_eq!(a, b, "key order for {text:?} (trimmed: {trim})");
            }
        }
        Err(e) => assert!(
            completed.iter().any(|(_, v)| v.is_err()),
            "the whole parse fails ({e}) but every document completed for {text:?}"
        ),
    }
    true
}

#[test]
fn corpus_and_fixtures_agree_with_the_whole_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&root.join("fixtures"), &mut files);
    yaml_files(&root.join("tests/fixtures"), &mut files);
    if let Some(dir) = corpus_dir() {
        yaml_files(&dir, &mut files);
    }
    let (mut cut, mut whole) = (0, 0);
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        if check(&text) {
            cut += 1;
        } else {
            whole += 1;
        }
        // Truncated at line ends too (partial documents, open collections and scalars).
        let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        for k in (0..ends.len()).step_by(ends.len() / 16 + 1) {
            check(&text[..ends[k]]);
            check(&text[..ends[k] + 1]);
        }
    }
    println!(
        "{} files: {cut} read head first, {whole} whole",
        files.len()
    );
    assert!(cut > 0);
}

#[test]
fn tricky_texts_agree_with_the_whole_parse() {
    for text in [
        // Anchors and aliases across the cut, both ways.
        "apiVersion: v1\nkind: A\nmetadata: &m {name: a}\nspec: *m\n",
        "apiVersion: v1\nkind: A\nmetadata: *s\nspec: &s {name: a}\n",
        // Merge keys.
        "apiVersion: v1\nkind: A\nmetadata: &m\n  name: a\nspec:\n  <<: *m\n  x: 1\n",
        // Multi-line scalars continued at column 0, quoted and plain.
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: \"one\ntwo: three\"\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: 'one\ntwo: three'\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: one\ntwo\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: [one,\ntwo: three]\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: {one: 1,\ntwo: 2}\n",
        // Block scalars, comments and blank lines at column 0 inside them.
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata:\n  s: |\n    x\n\n# c\n    y\nz: 1\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\ndata: |\n  x\n---\nkind: B\n",
        // Sequences at column 0 under a key; a document that is a sequence.
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\nitems:\n- 1\n-\n- - 2\n",
        "- a\n- b\n",
        // Tags, explicit keys, documents with an end marker.
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\nspec: !!map {a: 1}\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\n? spec\n: 1\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\n...\n---\nkind: B\n",
        // Repeated keys: in the head, across head and rest, in the rest.
        "apiVersion: v1\nkind: A\nkind: B\n",
        "apiVersion: v1\nkind: A\nspec: 1\nmetadata: {}\n",
        "apiVersion: v1\nkind: A\nspec: 1\ndata: 2\nspec: 3\n",
        "apiVersion: v1\nkind: A\nspec: {a: 1, a: 2}\n",
        // Errors in the rest, in the head, at the end.
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\nspec: [\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: [}\nspec: 1\n",
        "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n bad: 1\nspec: 1\n",
        "apiVersion: v1\nkind: A\nmetadata: {name: a}\nspec:\n  a: 1\n b: 2\n",
        // Empty documents, comments before the first `---`, no final newline.
        "# c\n---\n---\napiVersion: v1\nkind: A\n---\n\n---\nkind: B\nspec: 1",
        "kind: A\n---\n# only\n---\nkind: B\n---\n",
        // Keys YAML 1.1 reads as other types, numbers, quoted keys.
        "kind: A\non: 1\n",
        "kind: A\n1: x\n",
        "kind: A\n\"spec\": 1\nspec: 2\n",
        // Metadata maps and lists trimmed from the head and parsed again: with anchors used
        // in the body, nulls, tags, merge keys, and a sequence at column 0.
        "apiVersion: v1\nkind: A\nmetadata:\n  labels: &l {a: '1'}\n  name: a\n  finalizers: [x]\nspec: {selector: *l}\n",
        "apiVersion: v1\nkind: A\nmetadata:\n  name: a\n  labels:\n  annotations: !!map {b: c}\nspec: 1\n",
        "apiVersion: v1\nkind: A\nmetadata:\n  <<: {labels: {a: b}}\n  name: a\nspec: 1\n",
        "apiVersion: v1\nkind: A\nmetadata:\n  ownerReferences:\n  - name: o\n  name: a\nspec: 1\n",
    ] {
        check(text);
    }
}
