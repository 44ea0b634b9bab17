//! YAML parsing throughput on realistic input: the bundled example rendered for 1,000 sessions.
//!
//! `cargo bench --bench yaml`; set `KPIPE_BENCH_INPUT=FILE` to parse another file instead.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kpipe::yaml::{parse_stream, parse_stream_fast, parse_stream_slow, Limits};
use std::hint::black_box;
use std::path::Path;

fn input() -> String {
    if let Some(file) = std::env::var_os("KPIPE_BENCH_INPUT") {
        return std::fs::read_to_string(file).expect("KPIPE_BENCH_INPUT is readable");
    }
    let dir = std::env::temp_dir().join(format!("kpipe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sessions = dir.join("sessions.yaml");
    let mut s = String::new();
    for i in 0..1000 {
        s.push_str(&format!(
            "- session_name: user{i:04}\n  ingress_domain: ml.example.com\n"
        ));
    }
    std::fs::write(&sessions, s).expect("sessions file");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ml-pipeline");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kpipe"))
        .arg("render")
        .arg(example)
        .arg("--sessions")
        .arg(&sessions)
        .output()
        .expect("kpipe runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn bench(c: &mut Criterion) {
    let text = input();
    assert!(
        parse_stream_fast(&text, Limits::default()).is_some(),
        "the input must take the fast path"
    );
    let mut g = c.benchmark_group("yaml");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("slow", |b| {
        b.iter(|| parse_stream_slow(black_box(&text), Limits::default()))
    });
    g.bench_function("fast", |b| {
        b.iter(|| parse_stream_fast(black_box(&text), Limits::default()))
    });
    g.bench_function("parse_stream", |b| {
        b.iter(|| parse_stream(black_box(&text), Limits::default()))
    });
    // The same, without the time to free the parsed trees (identical for both paths).
    g.bench_function("slow_no_drop", |b| {
        b.iter_with_large_drop(|| parse_stream_slow(black_box(&text), Limits::default()))
    });
    g.bench_function("fast_no_drop", |b| {
        b.iter_with_large_drop(|| parse_stream_fast(black_box(&text), Limits::default()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
