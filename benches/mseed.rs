//! Speed of the pure-Rust miniSEED reader on what OOI's broadband hydrophones archive: a
//! 5-minute, 64 kHz file of Steim-2 in 4 KiB records (19.2 M samples, the simulator's ocean
//! audio). Run with `cargo bench --bench mseed`; `python3 scripts/bench_mseed.py` times ObsPy
//! (libmseed, C) on the same kind of file side by side.

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use onc_hydro::media::{
    encode_mseed, read_mseed, MseedEncoding, MseedSamples, MseedTrace, MseedWriteOptions, SourceId,
};
use onc_hydro::sim::content::{samples, Recording};

fn file() -> (Vec<u8>, u64) {
    let rec = Recording {
        device_code: "RS03AXBS-LJ03A-09-HYDBBA302".into(),
        start: "2024-04-01T12:00:00Z".parse().expect("valid timestamp"),
        duration_s: 300.0,
        sample_rate: 64_000,
        seed: 42,
    };
    let v = samples(&rec).expect("render");
    let n = v.len() as u64;
    let trace = MseedTrace {
        id: SourceId {
            network: "OO".into(),
            station: "AXBA1".into(),
            location: String::new(),
            channel: "YDH".into(),
        },
        start_ns: 1_711_972_800_000_000_000,
        sample_rate: 64_000.0,
        samples: MseedSamples::Int(v),
        num_samples: n,
    };
    let opts = MseedWriteOptions {
        record_len: 4096,
        encoding: MseedEncoding::Steim2,
    };
    (encode_mseed(&[trace], &opts).expect("encode"), n)
}

fn bench(c: &mut Criterion) {
    let (bytes, n) = file();
    let mut g = c.benchmark_group("mseed_300s_64kHz_steim2");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("read", |b| {
        b.iter(|| read_mseed(bytes.as_slice()).expect("decode"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
