//! Spectrogram throughput on a 5-minute 64 kHz 24-bit mono FLAC (generated once with
//! flac-codec): decoding alone (ours, which the crate uses, with and without SHA-256 of the file
//! in the same pass, against symphonia and claxon), the STFT
//! alone (f64 and f32), and end to end (hash + decode + STFT + dB + NPZ write), for nfft 1024
//! with 50 % overlap and for 1 s windows. Before criterion's statistics it prints seconds per
//! file and × real time for one core. `scripts/bench_scipy.py` times the Python pipeline.
//!
//! Run: `cargo bench --bench spectrogram` (add `-- --quick` for a short run).
//!
//! Measured 2026-11-21 on the shared 2-core AMD EPYC (AVX-512) machine under a load average of
//! about 15, so CPU seconds (user+sys) are the one-core figures; wall times were 3–4× longer:
//! decode symphonia 0.18 s (1667× RT) vs claxon 0.29 s (1034×); STFT f64 nfft 1024 0.06 s
//! (5000×), 1 s windows 0.11 s (2727×); f32 0.04 s / 0.07 s; end to end f64 → NPZ 0.39 s
//! (nfft 1024) and 0.46 s (1 s windows). `scripts/bench_scipy.py` in the same conditions: the
//! soundfile + scipy + numpy pipeline 2.65 s CPU per file, `onc-hydro spectrogram` 0.51 s
//! (including process start, SHA-256 and the JSON sidecar): 5.2× (nfft 1024), 4.8× (1 s).
//!
//! Re-measured 2026-11-27 (load average 1.3–2, after the LPC-per-order / AVX2 frame decoder and
//! the PCLMULQDQ CRC-16): decode ours 0.16 s (1875× RT), + SHA-256 0.19 s, symphonia 0.24 s,
//! claxon 0.40 s — ours stays the one ≤ 24-bit decoder; STFT 1 s windows f64 0.15 s, f32 0.12 s.
//!
//! Decoder work of 2026-11-27 (always-refill rice reader, one-multiply LPC chain,
//! `media/flac_read/`), CPU time on one core under a load average of 8–9. Before it, this
//! bench's `decode:` lines read ours 0.17 s/file (8.9 ns/sample), symphonia 0.33 s (17 ns),
//! claxon 0.40 s (21 ns). On a libFLAC-written file (5 min of 64 kHz 24-bit noise + tones as
//! `scripts/bench_scipy.py` writes it: LPC order 8, rice parameter 19; `DECODE_FLAC=…` points
//! this bench at such a file) the decoder alone went from 8.3 to 5.9 ns/sample, against
//! libFLAC 1.4.2 (C, MD5 check off) 10.7 ns/sample and libsndfile through soundfile 19.

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

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use onc_hydro::analysis::{spectrogram_file, Precision, SpectrogramSpec};
use onc_hydro::dsp::{Stft, StftParams};
use onc_hydro::media::AudioReader;

const FS: u32 = 64_000;
const SECONDS: usize = 300;

fn make_flac(dir: &Path) -> PathBuf {
    let path = dir.join("bench_5min_64k_24bit.flac");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let tones = [(0.2, 1000.0), (0.1, 20.0)];
    let samples = common::noise_and_tones(&mut state, FS, FS as usize * SECONDS, &tones);
    common::write_flac24(&path, FS, &samples);
    path
}

/// The crate's reader (our FLAC decoder, `media/flac_read.rs`).
fn decode_ours(path: &Path) -> usize {
    let mut r = AudioReader::open(path).expect("open");
    let mut block = Vec::new();
    let mut n = 0;
    while r.read_block(&mut block).expect("decode") {
        n += block.len();
    }
    n
}

/// Ours plus SHA-256 of the file from the same reads (what `spectrogram` does).
fn decode_ours_hashed(path: &Path) -> usize {
    let mut r = AudioReader::open_hashed(path).expect("open");
    let mut block = Vec::new();
    let mut n = 0;
    while r.read_block(&mut block).expect("decode") {
        n += block.len();
    }
    assert_eq!(r.finish_sha256().expect("hash").len(), 64);
    n
}

/// symphonia's FLAC decoder (the crate's previous one), samples converted to f32.
fn decode_symphonia(path: &Path) -> usize {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    let file = std::fs::File::open(path).expect("open");
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .expect("probe");
    let track = format.default_track(TrackType::Audio).expect("track");
    let id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .expect("audio")
        .clone();
    let mut dec = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .expect("decoder");
    let mut buf: Vec<f32> = Vec::new();
    let mut n = 0;
    while let Ok(Some(p)) = format.next_packet() {
        if p.track_id != id {
            continue;
        }
        let d = dec.decode(&p).expect("decode");
        d.copy_to_vec_interleaved(&mut buf);
        n += buf.len();
    }
    n
}

fn decode_claxon(path: &Path) -> usize {
    let mut r = claxon::FlacReader::open(path).expect("open");
    let scale = 1.0 / (1u64 << (r.streaminfo().bits_per_sample - 1)) as f32;
    let mut buf = Vec::new();
    let mut out: Vec<f32> = Vec::new();
    let mut n = 0;
    let mut frames = r.blocks();
    while let Some(block) = frames.read_next_or_eof(buf).expect("decode") {
        out.clear();
        out.extend(block.channel(0).iter().map(|&s| s as f32 * scale));
        n += out.len();
        buf = block.into_buffer();
    }
    n
}

/// The STFT parameters `spectrogram` runs with for this nfft (from [`spec`]).
fn params(nfft: usize) -> StftParams {
    spec(nfft, Precision::F64)
        .params_for(FS, std::path::Path::new("bench"))
        .expect("valid parameters")
}

fn stft_only<T: onc_hydro::dsp::StftFloat>(x: &[f32], nfft: usize) -> f32 {
    let mut stft = Stft::<T>::new(&params(nfft), f64::from(FS)).expect("params");
    let mut acc = 0.0f32;
    // Feed in FLAC-sized blocks, as the real pipeline does; keep one value so nothing is elided.
    for block in x.chunks(4096) {
        stft.push(block, |_, psd| acc += psd[1]);
    }
    acc
}

/// The `spectrogram` command's defaults (1 s Hann, density, 50 %, NPZ, full scale) with
/// another nfft (= window) and precision.
fn spec(nfft: usize, precision: Precision) -> SpectrogramSpec {
    SpectrogramSpec {
        nfft: Some(nfft),
        precision,
        ..SpectrogramSpec::default()
    }
}

/// CPU seconds (user + system) of this process, from /proc (Linux; 10 ms ticks), if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Best wall and best CPU seconds of `n` runs. On a shared machine wall time includes waiting
/// for a core; CPU time is the one-core cost.
fn best_of(n: usize, mut f: impl FnMut()) -> (f64, Option<f64>) {
    let mut wall = f64::INFINITY;
    let mut cpu: Option<f64> = None;
    for _ in 0..n {
        let (t, c0) = (Instant::now(), cpu_seconds());
        f();
        wall = wall.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, cpu_seconds()) {
            cpu = Some(cpu.map_or(b - a, |c: f64| c.min(b - a)));
        }
    }
    (wall, cpu)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let flac = make_flac(dir.path());
    // The decode numbers may come from another file (e.g. one written by libFLAC, as
    // `scripts/bench_scipy.py` and the field's recorders do): DECODE_FLAC=/path/to/file.flac.
    let decoded = std::env::var_os("DECODE_FLAC").map_or_else(|| flac.clone(), PathBuf::from);
    let decoded_samples = decode_ours(&decoded);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let mut reader = AudioReader::open(&flac).expect("open");
    let x = reader.read_all().expect("decode");
    let secs = x.len() as f64 / f64::from(FS);

    // The headline numbers (one core, best of 3).
    let report = |what: &str, (wall, cpu): (f64, Option<f64>)| {
        let cpu_text = cpu.map_or(String::new(), |c| {
            format!(
                "   CPU {c:6.2} s/file {:7.0}× real time",
                secs / c.max(0.01)
            )
        });
        eprintln!(
            "{what:44} wall {wall:7.3} s/file {:7.0}× real time{cpu_text}",
            secs / wall
        );
    };
    // Decoders: CPU nanoseconds per decoded sample as well.
    let report_decode = |what: &str, (wall, cpu): (f64, Option<f64>)| {
        let ns = cpu.map_or(String::new(), |c| {
            format!("   {:5.2} ns/sample", c * 1e9 / decoded_samples as f64)
        });
        eprintln!(
            "{what:44} wall {wall:7.3} s/file   CPU {:6.3} s/file{ns}",
            cpu.unwrap_or(f64::NAN)
        );
    };
    eprintln!(
        "--- decoding {} ({decoded_samples} samples), one core ---",
        decoded.display()
    );
    report_decode(
        "decode: ours (media/flac_read.rs)",
        best_of(3, || {
            decode_ours(&decoded);
        }),
    );
    report_decode(
        "decode: ours + SHA-256 in the same pass",
        best_of(3, || {
            decode_ours_hashed(&decoded);
        }),
    );
    report_decode(
        "decode: symphonia",
        best_of(3, || {
            decode_symphonia(&decoded);
        }),
    );
    report_decode(
        "decode: claxon",
        best_of(3, || {
            decode_claxon(&decoded);
        }),
    );
    eprintln!("--- {secs:.0} s of 64 kHz 24-bit mono FLAC, one core ---");
    for nfft in [1024usize, FS as usize] {
        report(
            &format!("STFT f64, nfft {nfft}, 50 %"),
            best_of(3, || {
                stft_only::<f64>(&x, nfft);
            }),
        );
        report(
            &format!("STFT f32, nfft {nfft}, 50 %"),
            best_of(3, || {
                stft_only::<f32>(&x, nfft);
            }),
        );
        for precision in [Precision::F64, Precision::F32] {
            let s = spec(nfft, precision);
            report(
                &format!("end to end {precision:?} → NPZ, nfft {nfft}, 50 %"),
                best_of(3, || {
                    spectrogram_file(&flac, &out, &s).expect("process");
                }),
            );
        }
    }

    let mut g = c.benchmark_group("decode");
    g.sample_size(10)
        .throughput(Throughput::Elements(decoded_samples as u64));
    g.bench_function("ours", |b| b.iter(|| decode_ours(&decoded)));
    g.bench_function("ours_sha256", |b| b.iter(|| decode_ours_hashed(&decoded)));
    g.bench_function("symphonia", |b| b.iter(|| decode_symphonia(&decoded)));
    g.bench_function("claxon", |b| b.iter(|| decode_claxon(&decoded)));
    g.finish();

    let mut g = c.benchmark_group("stft");
    g.sample_size(10)
        .throughput(Throughput::Elements(x.len() as u64));
    for nfft in [1024usize, FS as usize] {
        g.bench_with_input(BenchmarkId::new("f64", nfft), &nfft, |b, &n| {
            b.iter(|| stft_only::<f64>(&x, n))
        });
        g.bench_with_input(BenchmarkId::new("f32", nfft), &nfft, |b, &n| {
            b.iter(|| stft_only::<f32>(&x, n))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("end_to_end_npz");
    g.sample_size(10)
        .throughput(Throughput::Elements(x.len() as u64));
    for nfft in [1024usize, FS as usize] {
        let s = spec(nfft, Precision::F64);
        g.bench_with_input(BenchmarkId::new("f64", nfft), &s, |b, s| {
            b.iter(|| spectrogram_file(&flac, &out, s).expect("process"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
