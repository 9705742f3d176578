//! Speed goal of the simulator's synthetic audio: a 300 s, 64 kHz, 24-bit file must render and
//! encode to FLAC in well under 2 s (release). Run with `cargo bench --bench sim_content`.

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
