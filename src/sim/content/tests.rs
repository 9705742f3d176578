//! Tests of the synthetic content: determinism, continuity across file boundaries, events
//! audible where `calls` says, real FLAC/WAV/MAT output.

use super::events::{events, Event, Shape};
use super::*;
use crate::media::{read_mat, read_wav};

const T0_MS: i64 = 1_711_972_800_000; // 2024-04-01T12:00:00Z
const SEED: u64 = 42;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn rec(start_ms: i64, duration_s: f64, sample_rate: u32) -> Recording {
    Recording {
        device_code: "ICLISTENHF1234".into(),
        start: ts(start_ms),
        duration_s,
        sample_rate,
        seed: SEED,
    }
}

/// The first event of `kind` in the two days after T0 that no ship overlaps (optional).
fn find(kind: CallKind, avoid_ship: bool) -> Event {
    let all = events(SEED, T0_MS, T0_MS + 2 * 86_400_000);
    let ships: Vec<&Event> = all.iter().filter(|e| e.kind == CallKind::Ship).collect();
    all.iter()
        .find(|e| {
            e.kind == kind
                && e.start_ms > T0_MS + 60_000
                && !(avoid_ship
                    && ships.iter().any(|s| {
                        s.start_ms < e.end_ms() + 30_000 && s.end_ms() > e.start_ms - 30_000
                    }))
        })
        .cloned()
        .expect("event in two days")
}

/// Energy of `x` at integer frequencies `f_lo..=f_hi` Hz (Goertzel over the whole slice).
fn band_energy(x: &[i32], fs: f64, f_lo: u32, f_hi: u32) -> f64 {
    (f_lo..=f_hi)
        .map(|f| {
            let w = std::f64::consts::TAU * f64::from(f) / fs;
            let (mut s1, mut s2) = (0.0f64, 0.0f64);
            for &v in x {
                let s0 = f64::from(v) + 2.0 * w.cos() * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2
        })
        .sum()
}

#[test]
fn same_recording_same_bytes_and_seed_matters() {
    let r = rec(T0_MS, 8.0, 8_000);
    let a = flac(&r).unwrap();
    assert_eq!(a, flac(&r).unwrap());
    assert_eq!(wav(&r).unwrap(), wav(&r).unwrap());
    let other = Recording {
        seed: 43,
        ..r.clone()
    };
    assert_ne!(a, flac(&other).unwrap());
}

#[test]
fn adjacent_files_are_continuous_through_a_ship_and_a_fin_pulse() {
    for (kind, fs) in [(CallKind::Ship, 2_000), (CallKind::FinWhale, 1_000)] {
        let e = find(kind, false);
        // A file boundary in the middle of the event (not on any internal block grid).
        let mid = e.start_ms + (e.duration_s * 500.0) as i64 + 7;
        let whole = samples(&rec(mid - 30_000, 60.0, fs)).unwrap();
        let mut parts = samples(&rec(mid - 30_000, 30.0, fs)).unwrap();
        parts.extend(samples(&rec(mid, 30.0, fs)).unwrap());
        assert_eq!(whole.len(), parts.len());
        assert!(
            whole == parts,
            "{kind:?}: split render differs from whole render"
        );
        // And the event is really there: the audio is not just background noise.
        let rms = |x: &[i32]| {
            (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
        };
        assert!(rms(&whole) > 1_000.0);
    }
}

#[test]
fn fin_pulse_is_20_hz_energy_at_the_time_calls_says() {
    let e = find(CallKind::FinWhale, true);
    let call = calls(SEED, ts(e.start_ms - 1), ts(e.start_ms + 1))
        .into_iter()
        .find(|c| c.kind == CallKind::FinWhale && c.start == ts(e.start_ms))
        .expect("calls lists the pulse");
    assert!(
        call.freq_low_hz > 16.0 && call.freq_high_hz < 24.5,
        "{call:?}"
    );
    let fs = 2_000u32;
    let start_ms = e.start_ms - 10_000;
    let x = samples(&rec(start_ms, 20.0, fs)).unwrap();
    let at = |ms: i64| ((ms - start_ms) * i64::from(fs) / 1000) as usize;
    let n = (call.duration_s * f64::from(fs)) as usize;
    let pulse = &x[at(e.start_ms)..at(e.start_ms) + n];
    // The quietest other 1 s stretch of the file is the reference (neighbouring pulses may sit
    // elsewhere in the 20 s).
    let quiet = (0..18)
        .map(|k| &x[k * fs as usize..k * fs as usize + n])
        .map(|w| band_energy(w, f64::from(fs), 17, 23))
        .fold(f64::INFINITY, f64::min);
    let loud = band_energy(pulse, f64::from(fs), 17, 23);
    assert!(loud > 10.0 * quiet, "pulse {loud:e} vs quiet {quiet:e}");
    // Energy is at ~20 Hz, not broadband: 60–66 Hz is no louder than usual.
    let hi = band_energy(pulse, f64::from(fs), 60, 66);
    assert!(loud > 10.0 * hi, "20 Hz {loud:e} vs 60 Hz {hi:e}");
}

#[test]
fn calls_list_exactly_the_rendered_events() {
    let r = rec(T0_MS, 3_600.0, 1_000);
    let to = ts(T0_MS + 3_600_000);
    let listed = calls(SEED, r.start, to);
    let internal = events(SEED, T0_MS, T0_MS + 3_600_000);
    assert_eq!(listed.len(), internal.len());
    for (c, e) in listed.iter().zip(&internal) {
        assert_eq!(c, &e.to_call());
        assert!(
            c.start < to && c.start + jiff::SignedDuration::from_secs_f64(c.duration_s) > r.start
        );
    }
    assert!(listed.windows(2).all(|w| w[0].start <= w[1].start));
    // Shapes have the documented ranges.
    for e in &internal {
        if let Shape::Sweep { f0, f1, .. } = e.shape {
            if e.kind == CallKind::Humpback {
                assert!((250.0..=2_000.0).contains(&f0) && (250.0..=2_000.0).contains(&f1));
            }
        }
    }
}

#[test]
fn flac_and_wav_decode_with_rate_bits_and_length() {
    let r = rec(T0_MS + 123, 5.5, 16_000);
    let bytes = flac(&r).unwrap();
    let mut fr = claxon::FlacReader::new(std::io::Cursor::new(&bytes)).unwrap();
    let info = fr.streaminfo();
    assert_eq!(
        (info.sample_rate, info.bits_per_sample, info.channels),
        (16_000, 24, 1)
    );
    assert_eq!(info.samples, Some(88_000));
    let decoded: Vec<i32> = fr.samples().map(|s| s.unwrap()).collect();
    assert_eq!(decoded, samples(&r).unwrap());
    // Well below full scale but not silent.
    let peak = decoded.iter().map(|v| v.abs()).max().unwrap();
    assert!(peak > 5_000 && peak < 4_000_000, "peak {peak}");
    let w = read_wav(&wav(&r).unwrap()).unwrap();
    assert_eq!(
        (w.sample_rate, w.bits_per_sample, w.channels),
        (16_000, 24, 1)
    );
    assert_eq!(w.samples, decoded);
}

#[test]
fn bad_recordings_are_errors() {
    assert!(flac(&rec(T0_MS, 0.0, 8_000)).is_err());
    assert!(wav(&rec(T0_MS, 1.0, 0)).is_err());
    assert!(flac(&rec(T0_MS, f64::NAN, 8_000)).is_err());
}

fn hsd(downsample: u8, duration_s: f64, fs: u32) -> Result<crate::media::MatFile, ContentError> {
    let spec = HsdSpec {
        recording: rec(T0_MS, duration_s, fs),
        downsample,
        diversion_mode: "OD".into(),
    };
    let bytes = hsd_mat(&spec)?;
    assert_eq!(bytes, hsd_mat(&spec).unwrap(), "deterministic");
    Ok(read_mat(&bytes).unwrap())
}

#[test]
fn hsd_mat_has_spectdata_shaped_frequency_by_time_at_each_resolution() {
    let fs = 4_000;
    // (downsample, expected frequency bins, expected columns) for a 5-minute file.
    for (d, nf, nt) in [(0u8, 2_049usize, 598usize), (1, 2_049, 5), (2, 1_025, 300)] {
        let f = hsd(d, 300.0, fs).unwrap();
        let psd = f.get_path("SpectData.PSD").unwrap().as_matrix().unwrap();
        assert_eq!((psd.rows(), psd.cols()), (nf, nt), "downsample {d}");
        let freq = f
            .get_path("SpectData.frequency")
            .unwrap()
            .as_matrix()
            .unwrap();
        assert_eq!((freq.rows(), freq.cols()), (nf, 1));
        assert_eq!(freq.data()[nf - 1], 2_000.0);
        let time = f.get_path("SpectData.time").unwrap().as_matrix().unwrap();
        assert_eq!(time.data().len(), nt);
        let t0 = (T0_MS as f64 / 1000.0) / 86_400.0 + 719_529.0;
        assert!(time
            .data()
            .iter()
            .all(|&t| t > t0 && t < t0 + 300.0 / 86_400.0));
        assert!(time.data().windows(2).all(|w| w[0] < w[1]));
        // Background levels are plausible dB re count²/Hz, all finite.
        assert!(psd
            .data()
            .iter()
            .all(|v| v.is_finite() && *v > -50.0 && *v < 150.0));
        let comment = f
            .get_path("SpectData.processingComment")
            .unwrap()
            .as_str()
            .unwrap();
        assert!(comment.contains("dB re 1 count^2/Hz"), "{comment}");
        assert_eq!(
            f.get_path("Meta.deviceCode").unwrap().as_str(),
            Some("ICLISTENHF1234")
        );
        assert_eq!(
            f.get_path("Meta.sampleRate").unwrap().as_scalar(),
            Some(4_000.0)
        );
    }
    assert!(hsd(3, 300.0, fs).is_err());
    assert!(hsd(0, 0.5, fs).is_err(), "shorter than one window");
}

#[test]
fn hsd_shows_a_fin_pulse_at_20_hz_in_the_right_column() {
    let e = find(CallKind::FinWhale, true);
    let start_ms = e.start_ms - 20_000;
    let spec = HsdSpec {
        recording: rec(start_ms, 60.0, 2_000),
        downsample: 0,
        diversion_mode: "OD".into(),
    };
    let f = read_mat(&hsd_mat(&spec).unwrap()).unwrap();
    let psd = f.get_path("SpectData.PSD").unwrap().as_matrix().unwrap();
    let time = f.get_path("SpectData.time").unwrap().as_matrix().unwrap();
    let col_at = |ms: i64| {
        let dn = (ms as f64 / 1000.0) / 86_400.0 + 719_529.0;
        (0..time.data().len())
            .min_by(|&a, &b| {
                (time.data()[a] - dn)
                    .abs()
                    .total_cmp(&(time.data()[b] - dn).abs())
            })
            .unwrap()
    };
    let pulse_col = col_at(e.start_ms + (e.duration_s * 500.0) as i64);
    // 2048-point FFT at 2 kHz: ~0.98 Hz bins, so 20 Hz is row ~20.
    let level = |c: usize| {
        (17..=23)
            .map(|r| psd.get(r, c).unwrap())
            .fold(f64::MIN, f64::max)
    };
    let quiet = (0..psd.cols()).map(level).fold(f64::INFINITY, f64::min);
    assert!(
        level(pulse_col) > quiet + 10.0,
        "{} vs {quiet}",
        level(pulse_col)
    );
}

/// Writes sample HSD and media files for `scripts/check_mat_scipy.py` (run by hand; needs the
/// output folder in `ONC_HYDRO_MAT_OUT`).
#[test]
#[ignore = "writes files for the manual scipy check (scripts/check_mat_scipy.py)"]
fn write_sample_files_for_scipy() {
    let Ok(dir) = std::env::var("ONC_HYDRO_MAT_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    for d in 0..=2u8 {
        let spec = HsdSpec {
            recording: rec(T0_MS, 300.0, 8_000),
            downsample: d,
            diversion_mode: "OD".into(),
        };
        let p = dir.join(format!("hsd_{d}.mat"));
        std::fs::write(&p, hsd_mat(&spec).unwrap()).unwrap();
    }
    std::fs::write(
        dir.join("audio.flac"),
        flac(&rec(T0_MS, 10.0, 8_000)).unwrap(),
    )
    .unwrap();
}

#[test]
fn ship_rises_and_falls_and_humpback_sweeps_are_audible() {
    let rms =
        |x: &[i32]| (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let ship = find(CallKind::Ship, false);
    let at = |frac: f64| {
        let ms = ship.start_ms + (ship.duration_s * 1000.0 * frac) as i64;
        rms(&samples(&rec(ms, 5.0, 2_000)).unwrap())
    };
    let (early, cpa, late) = (at(0.05), at(0.5), at(0.95));
    assert!(
        cpa > 3.0 * early && cpa > 3.0 * late,
        "{early} {cpa} {late}"
    );
    assert!(
        at(0.3) > early && at(0.3) < cpa,
        "level rises towards the closest approach"
    );

    let hump = find(CallKind::Humpback, true);
    let Shape::Sweep { f0, f1, .. } = hump.shape else {
        panic!("humpback is a sweep")
    };
    let fs = 8_000u32;
    let start_ms = hump.start_ms - 3_000;
    let x = samples(&rec(start_ms, 6.0 + hump.duration_s, fs)).unwrap();
    // Energy around the sweep's middle frequency, in the middle of the unit vs before it.
    let mid_f = ((f0 + f1) / 2.0) as u32;
    let n = fs as usize / 10;
    let centre =
        ((hump.start_ms - start_ms) as f64 / 1000.0 + hump.duration_s / 2.0) * f64::from(fs);
    let seg = |c: usize| &x[c - n / 2..c + n / 2];
    let during = band_energy(seg(centre as usize), f64::from(fs), mid_f - 60, mid_f + 60);
    let before = band_energy(seg(fs as usize), f64::from(fs), mid_f - 60, mid_f + 60);
    assert!(
        during > 10.0 * before,
        "{during:e} vs {before:e} at {mid_f} Hz"
    );
}

#[test]
fn hsd_png_draws_the_palette_it_is_given() {
    let spec = HsdSpec {
        recording: rec(T0_MS, 300.0, 8_000),
        downsample: 2,
        diversion_mode: "OD".into(),
    };
    let draw = |palette| {
        let png = hsd_png(
            &spec,
            &PlotOptions {
                palette,
                ..PlotOptions::default()
            },
        )
        .unwrap();
        image::load_from_memory(&png).unwrap().to_rgb8()
    };
    let (jet, greys) = (
        draw(crate::media::Palette::Jet),
        draw(crate::media::Palette::Greys),
    );
    assert_eq!(jet.dimensions(), greys.dimensions());
    let colourful = |img: &image::RgbImage| {
        img.pixels()
            .filter(|p| {
                let [r, g, b] = p.0.map(i32::from);
                (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 60
            })
            .count()
    };
    let area = (jet.width() * jet.height()) as usize;
    // Jet fills the plot with saturated colour; greys leaves nothing saturated.
    assert!(colourful(&jet) > area / 4, "{} of {area}", colourful(&jet));
    assert_eq!(colourful(&greys), 0);
}
