//! `spectrogram` and `soundscape` on miniSEED inputs (issue 12 item 3, last sentence): samples
//! decoded exactly from a file written by `media::mseed_write`, start times from the data (the
//! name has none), and two traces handled as a gap — frames never span it.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use crate::spectrogram::write_flac;
use ndarray::{Array1, Array2};
use ndarray_npy::NpzReader;
use onc_hydro::analysis::soundscape::{self, SoundscapeSpec};
use onc_hydro::media::decode::AudioFormat;
use onc_hydro::media::{
    write_mseed_path, AudioReader, MseedSamples, MseedTrace, MseedWriteOptions, Segment, SourceId,
};

/// The rate of `crate::spectrogram::write_flac`.
const FS: u32 = crate::spectrogram::FS;
/// 2024-04-01T00:00:00Z and the second trace 1.5 s after the first one ends.
const T0_NS: i64 = 1_711_929_600_000_000_000;

fn counts(n: usize, seed: u64) -> Vec<i32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2e-2;
            let x = 0.3 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(FS)).sin();
            ((x + noise) * 8_388_607.0).round() as i32
        })
        .collect()
}

fn trace(start_ns: i64, data: Vec<i32>) -> MseedTrace {
    MseedTrace {
        id: SourceId {
            network: "OO".into(),
            station: "AXBA1".into(),
            location: "".into(),
            channel: "HDH".into(),
        },
        start_ns,
        sample_rate: f64::from(FS),
        num_samples: data.len() as u64,
        samples: MseedSamples::Int(data),
    }
}

fn npz(path: &Path) -> (Array2<f32>, Array1<f64>) {
    let mut z = NpzReader::new(File::open(path).unwrap()).unwrap();
    (z.by_name("psd_db").unwrap(), z.by_name("time_s").unwrap())
}

fn run(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mseed_traces_decode_exactly_and_spectrograms_restart_at_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (counts(3 * FS as usize, 1), counts(2 * FS as usize + 123, 2));
    let t1 = T0_NS + 3_000_000_000 + 1_500_000_000;
    let ms = dir.path().join("axial.mseed");
    write_mseed_path(
        &ms,
        &[trace(T0_NS, a.clone()), trace(t1, b.clone())],
        &MseedWriteOptions::default(),
    )
    .unwrap();

    // Exact samples and segments, from the data.
    let mut r = AudioReader::open(&ms).unwrap();
    assert_eq!(r.info().format, AudioFormat::Mseed);
    assert_eq!(r.info().sample_rate, FS);
    assert_eq!(
        r.segments(),
        vec![
            Segment {
                start_ns: T0_NS,
                samples: a.len() as u64
            },
            Segment {
                start_ns: t1,
                samples: b.len() as u64
            }
        ]
    );
    let got = r.read_all().unwrap();
    let want: Vec<f32> = a
        .iter()
        .chain(&b)
        .map(|&s| s as f32 / 8_388_608.0)
        .collect();
    assert_eq!(got, want);

    // The spectrogram of the two-trace file = the spectrograms of its traces, second one shifted
    // by the trace's start: no frame spans the gap.
    let (fa, fb) = (dir.path().join("a.flac"), dir.path().join("b.flac"));
    write_flac(&fa, &a);
    write_flac(&fb, &b);
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    for f in [&ms, &fa, &fb] {
        run(&[
            "spectrogram",
            f.to_str().unwrap(),
            "--out",
            o,
            "--nfft",
            "512",
        ]);
    }
    let (m, mt) = npz(&out.join("axial.npz"));
    let (pa, ta) = npz(&out.join("a.npz"));
    let (pb, tb) = npz(&out.join("b.npz"));
    assert_eq!(m.ncols(), pa.ncols() + pb.ncols());
    let na = pa.ncols();
    assert_eq!(m.slice(ndarray::s![.., ..na]), pa);
    assert_eq!(m.slice(ndarray::s![.., na..]), pb);
    assert_eq!(mt.slice(ndarray::s![..na]), ta);
    for (x, y) in mt.slice(ndarray::s![na..]).iter().zip(tb.iter()) {
        assert!((x - (y + 4.5)).abs() < 1e-9, "{x} vs {y} + 4.5");
    }
    let side: serde_json::Value =
        serde_json::from_reader(File::open(out.join("axial.json")).unwrap()).unwrap();
    assert_eq!(side["source"]["format"], "miniSEED");
    assert_eq!(
        side["source"]["start_utc"],
        "2024-04-01T00:00:00.000000000Z"
    );
    assert_eq!(side["source"]["segments"].as_array().unwrap().len(), 2);
}

#[test]
fn soundscape_places_mseed_traces_by_their_own_times() {
    let dir = tempfile::tempdir().unwrap();
    // 2 minutes of data, then a 30 s gap, then 1 minute: in two traces of one file whose name
    // carries no time, and as two FLACs named with their starts.
    let (a, b) = (counts(120 * FS as usize, 3), counts(60 * FS as usize, 4));
    let t1 = T0_NS + 150_000_000_000;
    let ms = dir.path().join("no_time_in_this_name.mseed");
    write_mseed_path(
        &ms,
        &[trace(T0_NS, a.clone()), trace(t1, b.clone())],
        &MseedWriteOptions::default(),
    )
    .unwrap();
    let flacs = dir.path().join("flac");
    std::fs::create_dir_all(&flacs).unwrap();
    let fa = flacs.join("X_20240401T000000.000Z.flac");
    let fb = flacs.join("X_20240401T000230.000Z.flac");
    write_flac(&fa, &a);
    write_flac(&fb, &b);
    let spec = SoundscapeSpec {
        png: false,
        ..SoundscapeSpec::default()
    };
    let r1 = soundscape::run(&[ms], &dir.path().join("o1"), &spec, |_| {}).unwrap();
    let r2 = soundscape::run(&[fa, fb], &dir.path().join("o2"), &spec, |_| {}).unwrap();
    assert_eq!(r1.len(), 1);
    assert_eq!(r1[0].day, r2[0].day);
    // Minutes 0 and 1 are full; minutes 2 and 3 hold 30 s each (2:30–3:00 and 3:00–3:30).
    assert_eq!(r1[0].minutes_with_data, r2[0].minutes_with_data);
    assert_eq!(r1[0].minutes_with_data, 4);
    assert_eq!(r1[0].flagged_minutes, r2[0].flagged_minutes);
}
