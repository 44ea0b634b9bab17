//! Rendering the bundled example parses every rendered template on the YAML fast path.
//! (Its own test binary, so no other test moves the process-wide counters meanwhile.)

use kpipe::render::{Pipeline, RenderRequest};
use kpipe::session::SessionOptions;
use kpipe::yaml::{parse_path_counts, Limits};
use std::path::Path;

#[test]
fn bundled_example_renders_without_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions.yaml");
    let mut s = String::new();
    for i in 0..40 {
        s.push_str(&format!(
            "- session_name: user{i:04}\n  ingress_domain: ml.example.com\n"
        ));
    }
    std::fs::write(&sessions, s).unwrap();
    let req = RenderRequest {
        dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ml-pipeline"),
        sessions: SessionOptions {
            sessions_file: Some(sessions),
            ..SessionOptions::default()
        },
        limits: Limits::default(),
        ..RenderRequest::default()
    };
    let pipeline = Pipeline::load(&req).unwrap();
    let (fast0, slow0) = parse_path_counts();
    let sets = pipeline.render_all().unwrap();
    let (fast1, slow1) = parse_path_counts();
    assert_eq!(sets.len(), 40);
    println!(
        "rendering 40 sessions: {} YAML parses on the fast path, {} fell back",
        fast1 - fast0,
        slow1 - slow0
    );
    assert_eq!(
        slow1 - slow0,
        0,
        "some rendered text fell back to the slow parser"
    );
    assert!(fast1 - fast0 >= 40 * 3);
}
