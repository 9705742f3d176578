//! ONC's `AD` product through `order` against the simulator: MP3 (written by LAME at an MP3
//! sample rate), `dpo_audioDownsample` honoured for FLAC and MP3, and a rate MP3 cannot hold
//! refused with the rates that work — what ONC's wiki ("Audio Downsampling") describes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

const DEV: [&str; 2] = ["--device", "ICLISTENHF6324"];
const SPAN: [&str; 4] = [
    "--from",
    "2024-04-01T00:00:00Z",
    "--to",
    "2024-04-01T00:05:00Z",
];

/// `onc-hydro --sim order --product AD` at the devices' own 64 kHz with `args`.
fn order(args: &[&str], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(["--sim", "--sim-time-scale", "0.001", "order"])
        .args(DEV)
        .args(SPAN)
        .args(["--product", "AD"])
        .args(args)
        .args(["--quiet", "--out"])
        .arg(out)
        .env_remove("ONC_TOKEN")
        .env_remove("ONC_BASE_URL")
        .output()
        .expect("run onc-hydro")
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_with(&p, ext));
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
    out
}

/// Decodes a whole MP3 or FLAC file with symphonia: (sample rate, mono samples ±1).
fn decode(path: &Path) -> (u32, Vec<f32>) {
    let file = std::fs::File::open(path).unwrap();
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(e) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(e);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .unwrap();
    let track = format.default_track(TrackType::Audio).unwrap();
    let id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .unwrap()
        .audio()
        .unwrap()
        .clone();
    let rate = params.sample_rate.unwrap();
    let mut dec = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .unwrap();
    let mut out = Vec::new();
    let mut buf: Vec<f32> = Vec::new();
    while let Some(packet) = format.next_packet().unwrap() {
        if packet.track_id != id {
            continue;
        }
        let audio = dec.decode(&packet).unwrap();
        buf.resize(audio.samples_interleaved(), 0.0);
        audio.copy_to_slice_interleaved(&mut buf);
        out.extend_from_slice(&buf);
    }
    (rate, out)
}

/// Level in dB of each whole second.
fn levels(rate: u32, s: &[f32]) -> Vec<f64> {
    s.chunks_exact(rate as usize)
        .map(|c| {
            let ms = c.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / c.len() as f64;
            10.0 * ms.max(1e-30).log10()
        })
        .collect()
}

#[test]
fn ad_mp3_carries_the_same_audio_as_flac_at_an_mp3_rate_and_downsampling_is_honoured() {
    let dir = tempfile::tempdir().unwrap();

    // MP3 of a 64 kHz hydrophone: written at 48 kHz, the highest MP3 rate below the source.
    let mp3_dir = dir.path().join("mp3");
    ok(&order(&["--ext", "mp3"], &mp3_dir));
    let mp3 = files_with(&mp3_dir, "mp3");
    assert_eq!(mp3.len(), 1, "{mp3:?}");
    let name = mp3[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("ICLISTENHF6324_20240401T000000"), "{name}");
    let (rate, m) = decode(&mp3[0]);
    assert_eq!(rate, 48_000);
    // 300 s, plus LAME's encoder delay and padding (under 3 frames).
    assert!(
        m.len() >= 300 * 48_000 && m.len() < 300 * 48_000 + 3 * 1152 + 2000,
        "{} samples",
        m.len()
    );

    // The same five minutes as FLAC, downsampled to 48 kHz by `dpo_audioDownsample`.
    let flac_dir = dir.path().join("flac");
    ok(&order(
        &["--ext", "flac", "--option", "dpo_audioDownsample=48000"],
        &flac_dir,
    ));
    let flac = files_with(&flac_dir, "flac");
    assert_eq!(flac.len(), 1, "{flac:?}");
    let (frate, f) = decode(&flac[0]);
    assert_eq!(frate, 48_000);
    assert_eq!(f.len(), 300 * 48_000);

    // The MP3 is the FLAC's audio: second-by-second levels move together (ships and calls
    // move them by dB over five minutes). MP3 drops the band above its low-pass (a steady
    // offset); its quantisation and ~25 ms delay move single seconds by far less.
    let (lm, lf) = (levels(rate, &m), levels(frate, &f));
    let offset = lm.iter().zip(&lf).map(|(a, b)| a - b).sum::<f64>() / lf.len() as f64;
    let spread =
        lf.iter().copied().fold(f64::MIN, f64::max) - lf.iter().copied().fold(f64::MAX, f64::min);
    let worst = lm
        .iter()
        .zip(&lf)
        .map(|(a, b)| (a - b - offset).abs())
        .fold(0.0, f64::max);
    assert!(offset.abs() < 1.0, "MP3 is {offset:.2} dB off the FLAC");
    assert!(
        worst < 0.5,
        "per-second levels differ by up to {worst:.2} dB"
    );
    assert!(
        spread > 5.0 * worst,
        "levels vary by {spread:.1} dB in the file"
    );

    // A rate MP3 cannot hold is refused, naming the option and the rates that work.
    let bad = order(
        &["--ext", "mp3", "--option", "dpo_audioDownsample=4000"],
        &dir.path().join("bad"),
    );
    assert_ne!(bad.status.code(), Some(0));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("dpo_audioDownsample"), "{err}");
    assert!(err.contains("8000 11025 12000 16000"), "{err}");
}
