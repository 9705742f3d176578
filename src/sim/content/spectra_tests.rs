//! The HSD products (from the spectral model) agree with the archive audio at the same
//! instants: a window holding a known event has more energy in the event's band than a quiet
//! window, in the HSD file *and* in the STFT of the decoded FLAC, and the two agree in level.

use super::events::{events, Event, Shape};
use super::*;
use crate::dsp::{spectrogram, Scaling, StftParams, Window};
use crate::media::{read_mat, AudioReader};

const T0_MS: i64 = 1_711_972_800_000; // 2024-04-01T12:00:00Z
const SEED: u64 = 42;
const DAY_MS: i64 = 86_400_000;

fn rec(start_ms: i64, duration_s: f64, sample_rate: u32) -> Recording {
    Recording {
        device_code: "ICLISTENHF1234".into(),
        start: Timestamp::from_millisecond(start_ms).unwrap(),
        duration_s,
        sample_rate,
        seed: SEED,
    }
}

/// A spectrogram: dB values column-major (`n_freq` per column) with column centre times (s
/// from the recording start) and the bin width.
struct Spec {
    db: Vec<f64>,
    n_freq: usize,
    time_s: Vec<f64>,
    df: f64,
}

impl Spec {
    /// Mean power (dB) over bins within `[lo, hi]` Hz and columns within `[t0, t1]` s.
    fn band_db(&self, lo: f64, hi: f64, t0: f64, t1: f64) -> f64 {
        let (mut sum, mut n) = (0.0, 0usize);
        for (c, t) in self.time_s.iter().enumerate() {
            if *t < t0 || *t > t1 {
                continue;
            }
            for k in 0..self.n_freq {
                let f = k as f64 * self.df;
                if f >= lo && f <= hi {
                    sum += 10f64.powf(self.db[c * self.n_freq + k] / 10.0);
                    n += 1;
                }
            }
        }
        assert!(n > 0, "no values in {lo}-{hi} Hz, {t0}-{t1} s");
        10.0 * (sum / n as f64).log10()
    }
}

/// The HSD product of `r` (MAT file, read back).
fn hsd_spec(r: &Recording, downsample: u8) -> Spec {
    let spec = HsdSpec {
        recording: r.clone(),
        downsample,
        diversion_mode: "OD".into(),
    };
    let f = read_mat(&hsd_mat(&spec).unwrap()).unwrap();
    let m = |p: &str| f.get_path(p).unwrap().as_matrix().unwrap().clone();
    let (psd, freq, time) = (
        m("SpectData.PSD"),
        m("SpectData.frequency"),
        m("SpectData.time"),
    );
    let start_dn = (r.start.as_millisecond() as f64 / 1000.0) / 86_400.0 + 719_529.0;
    Spec {
        db: psd.data().to_vec(),
        n_freq: psd.rows(),
        time_s: time
            .data()
            .iter()
            .map(|d| (d - start_dn) * 86_400.0)
            .collect(),
        df: freq.data()[1] - freq.data()[0],
    }
}

/// The STFT (same nfft and hop as the HSD resolution, frames not averaged) of the FLAC
/// archive file of `r`, decoded from disk, in counts.
fn flac_spec(r: &Recording, nfft: usize, hop: usize) -> Spec {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.flac");
    std::fs::write(&path, flac(r).unwrap()).unwrap();
    let x: Vec<f32> = AudioReader::open(&path)
        .unwrap()
        .read_all()
        .unwrap()
        .into_iter()
        .map(|v| v * 8_388_608.0)
        .collect();
    let params = StftParams {
        nfft,
        win_length: nfft,
        hop,
        window: Window::Hann,
        scaling: Scaling::Density,
    };
    let fs = f64::from(r.sample_rate);
    let sg = spectrogram(&x, fs, &params).unwrap();
    Spec {
        db: sg
            .psd
            .iter()
            .map(|&p| 10.0 * f64::from(p).max(1e-30).log10())
            .collect(),
        n_freq: sg.n_freq,
        time_s: sg.time_s,
        df: fs / nfft as f64,
    }
}

/// The first event of `kind` after T0 (plus a minute) alone in the `len_ms` around its
/// middle, and the start of a stretch of `len_ms` holding no event at all.
fn event_and_quiet(kind: CallKind, len_ms: i64) -> (Event, i64) {
    let all = events(SEED, T0_MS, T0_MS + 2 * DAY_MS);
    let alone = |e: &Event| {
        let mid = e.start_ms + (e.duration_s * 500.0) as i64;
        events(SEED, mid - len_ms / 2 - 1_000, mid + len_ms / 2 + 1_000) == [e.clone()]
    };
    let e = all
        .iter()
        .find(|e| e.kind == kind && e.start_ms > T0_MS + 60_000 && alone(e))
        .cloned()
        .expect("a lone event in two days");
    let quiet = (0..2 * DAY_MS / len_ms)
        .map(|i| T0_MS + i * len_ms)
        .find(|&t| events(SEED, t - 1_000, t + len_ms + 1_000).is_empty())
        .expect("a quiet stretch in two days");
    (e, quiet)
}

/// The band a test looks at: a sweep's fundamental (harmonics are weaker and may pass the
/// Nyquist of a small test rate), a ship's `calls` band.
fn band(e: &Event) -> (f64, f64) {
    match e.shape {
        Shape::Sweep { f0, f1, .. } => (f0.min(f1), f0.max(f1)),
        Shape::Ship { .. } => e.band(),
    }
}

/// For each kind: (sample rate, HSD downsample, nfft, hop, seconds recorded around the event
/// centre).
#[test]
fn hsd_and_flac_show_the_same_events_at_the_same_instants() {
    let cases = [
        (
            CallKind::FinWhale,
            2_000u32,
            0u8,
            2_048usize,
            1_000usize,
            8.0,
        ),
        (CallKind::Humpback, 8_000, 2, 2_048, 1_024, 8.0),
        (CallKind::Ship, 4_000, 2, 2_048, 1_024, 8.0),
    ];
    for (kind, fs, ds, nfft, hop, len_s) in cases {
        let (e, quiet_ms) = event_and_quiet(kind, (len_s * 1000.0) as i64);
        // Columns near the event's middle (its sin² envelope peaks there).
        let mid_ms = e.start_ms + (e.duration_s * 500.0) as i64;
        let start = mid_ms - (len_s * 500.0) as i64;
        let half = (e.duration_s / 4.0).min(2.0);
        let (t0, t1) = (len_s / 2.0 - half, len_s / 2.0 + half);
        let (lo, hi) = band(&e);
        let event_rec = rec(start, len_s, fs);
        let quiet_rec = rec(quiet_ms, len_s, fs);
        let mut levels = Vec::new();
        for (what, spec_of) in [
            (
                "HSD",
                &(|r: &Recording| hsd_spec(r, ds)) as &dyn Fn(&Recording) -> Spec,
            ),
            ("FLAC STFT", &|r: &Recording| flac_spec(r, nfft, hop)),
        ] {
            let during = spec_of(&event_rec).band_db(lo, hi, t0, t1);
            // The quiet level over the whole stretch (a single column of noise varies by
            // ±2 dB in a narrow band; the event's level is its tones', steady).
            let quiet = spec_of(&quiet_rec).band_db(lo, hi, 0.0, len_s);
            assert!(
                during > quiet + 3.0,
                "{kind:?} {what}: {during:.1} dB in {lo:.0}-{hi:.0} Hz during vs {quiet:.1} quiet"
            );
            levels.push((during, quiet));
        }
        // The model's levels are the audio's: within 2 dB during the event and when quiet.
        let ((h_ev, h_q), (a_ev, a_q)) = (levels[0], levels[1]);
        assert!(
            (h_ev - a_ev).abs() < 2.0 && (h_q - a_q).abs() < 2.0,
            "{kind:?}: HSD {h_ev:.1}/{h_q:.1} dB vs FLAC {a_ev:.1}/{a_q:.1} dB (event/quiet)"
        );
    }
}

/// The background spectrum of the model matches the audio's across the band, in ⅛-band
/// slices (not just on average), and the texture is there: columns differ like measured ones.
#[test]
fn hsd_background_matches_the_audio_across_frequencies() {
    let fs = 8_000u32;
    let (_, quiet_ms) = event_and_quiet(CallKind::FinWhale, 20_000);
    let r = rec(quiet_ms, 20.0, fs);
    let (h, a) = (hsd_spec(&r, 2), flac_spec(&r, 2_048, 1_024));
    let top = f64::from(fs) / 2.0;
    for i in 0..8 {
        let (lo, hi) = (top * f64::from(i) / 8.0, top * f64::from(i + 1) / 8.0);
        let (hd, ad) = (h.band_db(lo, hi, 0.0, 20.0), a.band_db(lo, hi, 0.0, 20.0));
        assert!(
            (hd - ad).abs() < 1.5,
            "{lo:.0}-{hi:.0} Hz: HSD {hd:.1} vs FLAC {ad:.1} dB"
        );
    }
    // Texture: the spread of values in one bin over time is like the STFT's (single frames at
    // this length: an exponential's 5.6 dB), not zero.
    let spread = |s: &Spec, k: usize| {
        let v: Vec<f64> = (0..s.time_s.len())
            .map(|c| s.db[c * s.n_freq + k])
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let (hs, as_) = (spread(&h, 300), spread(&a, 300));
    assert!(
        hs > 3.0 && (hs - as_).abs() < 2.0,
        "spread HSD {hs:.1} vs FLAC {as_:.1} dB"
    );
}
