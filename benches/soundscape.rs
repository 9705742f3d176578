//! Soundscape throughput: one hour of 16 kHz 24-bit audio as twelve 5-minute FLACs named like
//! ONC archive files (generated once with flac-codec) → one day's HMD NetCDF (no PNGs), through
//! the library (`analysis::soundscape::run`), with one thread and with two (a reader thread
//! decoding while the other computes). Before criterion's statistics it prints seconds per
//! hour of audio and × real time for each. `scripts/bench_scipy.py --parts day` times
//! the same work against pbp.
//!
//! Run: `cargo bench --bench soundscape` (add `-- --quick` for a short run).

// Test and benchmark code may unwrap, panic and print: a failure here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::time::Instant;

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use onc_hydro::analysis::soundscape::{self, SoundscapeSpec};

const FS: u32 = 16_000;
const FILES: usize = 12;
const SECONDS: usize = 300;

fn make_files(dir: &Path) -> Vec<PathBuf> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..FILES)
        .map(|k| {
            let samples =
                common::noise_and_tones(&mut s, FS, FS as usize * SECONDS, &[(0.1, 250.0)]);
            let path = dir.join(format!(
                "BENCHHYDRO_20240401T{:02}{:02}00.000Z.flac",
                k * 5 / 60,
                k * 5 % 60
            ));
            common::write_flac24(&path, FS, &samples);
            path
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = make_files(dir.path());
    let out = dir.path().join("out");
    let spec = SoundscapeSpec {
        png: false,
        ..SoundscapeSpec::default()
    };
    let run = |jobs: usize| {
        let spec = SoundscapeSpec {
            jobs,
            ..spec.clone()
        };
        let days = soundscape::run(&files, &out, &spec, |_| {}).expect("soundscape");
        assert_eq!(days.len(), 1);
    };
    let hours = (FILES * SECONDS) as f64 / 3600.0;
    for jobs in [1, 2] {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            run(jobs);
            best = best.min(t.elapsed().as_secs_f64());
        }
        eprintln!(
            "--- soundscape --jobs {jobs}: {hours} h of {FS} Hz 24-bit FLAC → HMD NetCDF: {best:.3} s wall ({:.0}× real time; a day ≈ {:.1} s)",
            hours * 3600.0 / best,
            best / hours * 24.0
        );
    }
    let mut g = c.benchmark_group("soundscape");
    g.sample_size(10).throughput(Throughput::Elements(
        (FILES * SECONDS) as u64 * u64::from(FS),
    ));
    g.bench_function("hour_16k_to_netcdf", |b| b.iter(|| run(1)));
    // A reader thread decoding while the calling thread computes (one day: no day workers).
    g.bench_function("hour_16k_to_netcdf_jobs2", |b| b.iter(|| run(2)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
