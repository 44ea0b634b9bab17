//! Real Argo Workflows from the shared corpus, rendered as kpipe templates: Argo's own `{{…}}`
//! must pass through byte for byte, and the output must mean what the input meant.
//!
//! Reads `$KPIPE_CORPUS` (CI sets it); when unset, `../shared/corpus` if present, else the test
//! says it skipped. When `KPIPE_CORPUS` is set but missing, the test fails.

use assert_cmd::Command;
use kpipe::yaml::{self, Limits};
use serde_yaml::Value;
use std::path::PathBuf;

mod common;
use common::corpus;

fn strings_with_braces(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("{{") => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|x| strings_with_braces(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(k, x)| {
            strings_with_braces(k, out);
            strings_with_braces(x, out)
        }),
        _ => {}
    }
}

#[test]
fn argo_examples_render_unchanged() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("B-argo-workflow-examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the corpus' Argo examples in {}",
        dir.display()
    );
    let mut checked_strings = 0;
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("templates")).unwrap();
        std::fs::write(tmp.path().join("templates/workflow.yaml"), &source).unwrap();
        let out = Command::cargo_bin("kpipe")
            .unwrap()
            .arg("render")
            .arg(tmp.path())
            .args(["--session", "s1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let rendered = String::from_utf8(out.stdout).unwrap();
        let parse = |t: &str| -> Vec<Value> {
            yaml::parse_stream(t, Limits::default())
                .unwrap()
                .into_iter()
                .filter(|d| !d.empty)
                .map(|d| d.value)
                .collect()
        };
        let want = parse(&source);
        let got = parse(&rendered);
        assert_eq!(
            got,
            want,
            "{}: rendered output means something else",
            file.display()
        );
        let (mut a, mut b) = (Vec::new(), Vec::new());
        want.iter().for_each(|v| strings_with_braces(v, &mut a));
        got.iter().for_each(|v| strings_with_braces(v, &mut b));
        assert_eq!(a, b, "{}", file.display());
        // Byte for byte: every Argo expression inside a value appears verbatim in the output
        // text (within its scalar, however the scalar is quoted).
        for text in &a {
            for (i, _) in text.match_indices("{{") {
                let end = text[i..]
                    .find("}}")
                    .map(|e| i + e + 2)
                    .unwrap_or(text.len());
                let expr = &text[i..end];
                if expr.contains(['\n', '"', '\'', '\\']) {
                    continue; // spans quoting syntax: compared above as parsed strings
                }
                assert!(
                    rendered.contains(expr),
                    "{}: {expr} missing from output",
                    file.display()
                );
                checked_strings += 1;
            }
        }
    }
    println!(
        "{} files, {checked_strings} Argo expressions checked byte for byte",
        files.len()
    );
}
