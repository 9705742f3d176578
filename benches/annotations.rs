//! Annotation planning benchmark: parse a JSON annotation file of N clip requests and plan it
//! (windows, HSD orders, the duplicate-clip-name check). Planning must stay linear in N: the
//! duplicate check was a scan per annotation (quadratic: 95 s for 100,000 annotations, issue 16
//! item 16) and is now a hash lookup, so 10× the annotations should take about 10× the time.
//!
//! Run: `cargo bench --bench annotations` (criterion; sizes 10,000 and 100,000).

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use onc_hydro::hydro::{parse_json, CallerDefaults, PlanBuilder};

/// N annotations one minute apart on one device, each asking for its own 10 s clip.
fn annotations(n: usize) -> String {
    let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let entries: Vec<String> = (0..n)
        .map(|i| {
            let t = start + jiff::SignedDuration::from_secs(60 * i as i64);
            format!(r#"{{"deviceCode": "ICLISTENHF6324", "timestamp": "{t}", "pad_seconds": 5}}"#)
        })
        .collect();
    format!(r#"{{"requests": [{}]}}"#, entries.join(",\n"))
}

fn plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("annotation_plan");
    group.sample_size(10);
    for n in [10_000usize, 100_000] {
        let text = annotations(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let set = parse_json("bench.json", text, &CallerDefaults::default()).unwrap();
                let mut builder = PlanBuilder::new(12).unwrap();
                for a in &set.annotations {
                    builder.add_annotation(a).unwrap();
                }
                builder.build()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
