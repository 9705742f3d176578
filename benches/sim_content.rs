//! Speed goal of the simulator's synthetic audio: a 300 s, 64 kHz, 24-bit file must render and
//! encode to FLAC in well under 2 s (release). Run with `cargo bench --bench sim_content`.
//!
//! Measured 2026-11-21 as thread CPU time (the shared machine had load ~15, so wall times were
//! 4-5x inflated): render 0.21 s, FLAC encode (flac-codec `Options::fast()`) 1.20 s, i.e. about
//! 1.4 s per 5-minute file on one idle core; the encoder dominates (other `fast()` variants:
//! partition order 0-2, block 4096, no seektable/padding: all 1.16-1.21 s).

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, Criterion};
use onc_hydro::sim::content::{flac, samples, Recording};

fn recording() -> Recording {
    Recording {
        device_code: "ICLISTENHF1234".into(),
        start: "2024-04-01T12:00:00Z".parse().expect("valid timestamp"),
        duration_s: 300.0,
        sample_rate: 64_000,
        seed: 42,
    }
}

fn bench(c: &mut Criterion) {
    let rec = recording();
    let mut g = c.benchmark_group("sim_content_300s_64kHz");
    g.sample_size(10);
    g.bench_function("render", |b| b.iter(|| samples(&rec).expect("render")));
    g.bench_function("render+flac", |b| b.iter(|| flac(&rec).expect("flac")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
