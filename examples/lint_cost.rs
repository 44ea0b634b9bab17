//! Measures what lint adds to rendering: renders every session of a pipeline folder, then runs
//! the lint checks on the rendered sets, timing both (single thread, in process).
//!
//! Run: `cargo run --release --example lint_cost -- DIR` (DIR with a sessions.yaml).

use kpipe::render::{Pipeline, RenderRequest};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/ml-pipeline".into());
    let p = Pipeline::load(&RenderRequest {
        dir: dir.into(),
        ..Default::default()
    })?;
    let flags = kpipe::validate::cli::LintFlags::default();
    let linter = kpipe::validate::pipeline::Linter::new(&p, &flags)?;
    let mut best_render = f64::MAX;
    let mut best_lint = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let sets: Vec<_> = p
            .sessions()
            .iter()
            .map(|s| p.render_session(s))
            .collect::<Result<_, _>>()?;
        let render = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut n = 0;
        for (s, set) in p.sessions().iter().zip(&sets) {
            n += linter.check_session(&p, s, set)?.len();
        }
        let lint = t.elapsed().as_secs_f64();
        assert_eq!(n, 0);
        best_render = best_render.min(render);
        best_lint = best_lint.min(lint);
    }
    println!(
        "{} sessions: render {:.1} ms, lint {:.1} ms (+{:.1}%)",
        p.sessions().len(),
        best_render * 1e3,
        best_lint * 1e3,
        100.0 * best_lint / best_render
    );
    Ok(())
}
