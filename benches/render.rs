//! Render speed of the bundled example: one session, and 1,000 sessions (library calls, the same
//! work `kpipe render` does minus process start and writing stdout), and what lint adds.
//!
//! Run: `cargo bench --bench render`. Whole-process figures: see README (hyperfine).

use criterion::{criterion_group, criterion_main, Criterion};
use kpipe::output::{self, SessionOutput};
use kpipe::render::{Pipeline, RenderRequest};
use kpipe::session::SessionOptions;
use std::path::PathBuf;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/ml-pipeline")
}

fn render_all(p: &Pipeline) -> String {
    let sessions: Vec<SessionOutput> = p
        .map_sessions(|_, set| SessionOutput::from_set(set, false))
        .expect("render");
    output::to_stream(&sessions)
}

fn bench(c: &mut Criterion) {
    let one = Pipeline::load(&RenderRequest {
        dir: example(),
        sessions: SessionOptions {
            session: Some("user1".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("load");
    c.bench_function("render example, 1 session", |b| b.iter(|| render_all(&one)));

    let tmp = std::env::temp_dir().join(format!("kpipe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");
    let file = tmp.join("sessions.yaml");
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!(
            "- session_name: user{i:04}\n  ingress_domain: ml.example.com\n"
        ));
    }
    std::fs::write(&file, text).expect("write");
    let many = Pipeline::load(&RenderRequest {
        dir: example(),
        sessions: SessionOptions {
            sessions_file: Some(file),
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("load");
    // The sessions are read by now.
    let _ = std::fs::remove_dir_all(&tmp);
    let mut group = c.benchmark_group("many");
    group.sample_size(10);
    group.bench_function("render example, 1000 sessions", |b| {
        b.iter(|| render_all(&many))
    });
    // What `render` adds by linting (on by default; `--no-lint` skips it).
    let flags = kpipe::validate::cli::LintFlags::default();
    let linter = kpipe::validate::pipeline::Linter::new(&many, &flags).expect("linter");
    let sets: Vec<_> = many
        .sessions()
        .iter()
        .map(|s| many.render_session(s))
        .collect::<Result<_, _>>()
        .expect("render");
    group.bench_function("lint example, 1000 sessions", |b| {
        b.iter(|| {
            let mut n = 0;
            for (s, set) in many.sessions().iter().zip(&sets) {
                n += linter.check_session(&many, s, set).expect("lint").len();
            }
            assert_eq!(n, 0);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
