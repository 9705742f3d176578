//! `onc-hydro spectrogram INPUT… [--out DIR]`: local spectrograms (or Welch mean PSDs) of FLAC
//! and WAV files, written as NPZ (+ JSON provenance sidecar), MAT and/or PNG.
//!
//! This file owns the flags, input expansion (files, folders, wildcards), parameter resolution
//! and the worker pool; one file's decode → STFT → outputs is in `spectrogram_job.rs`.
//!
//! Must not know: the FFT internals (dsp), file-format encodings (media).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::spectrogram_job::{self, FileReport, JobSpec, OutputFormat, Precision};
use super::{GlobalArgs, Outcome};
use crate::dsp::{Calibration, Scaling, Window};

/// Compute spectrograms of local FLAC/WAV files (scipy-exact PSD, optional calibration).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
onc-hydro spectrogram data/*.flac --nfft 1024 --overlap 0.5 --format npz,png --out spec\n  \
onc-hydro spectrogram data/ --win-dur 1 --sensitivity-db -170 --full-scale-volts 1.5 --format mat\n  \
onc-hydro spectrogram 'data/ICLISTENHF6324_2024*.flac' --average --format npz\n\n\
Numbers equal scipy.signal.spectrogram(x, fs, window, nperseg=win_length, noverlap=win_length-hop, \
nfft, detrend=False, scaling, mode='psd'); NPZ keys psd_db (frequency × time), frequency_hz, time_s \
(frame centres from the file start); levels are dB re 1 µPa²/Hz with a calibration, otherwise dB re \
full scale (1 FS²/Hz).")]
pub struct SpectrogramArgs {
    /// FLAC or WAV files, folders (searched recursively) or quoted wildcard patterns
    /// (`*` and `?` in the file-name part).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder; each input writes `<out>/<input stem>.<ext>`.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,

    /// Window length in seconds (default 1 s unless --nfft or --win-length is given).
    #[arg(long, conflicts_with = "win_length")]
    pub win_dur: Option<f64>,

    /// FFT length in samples (≥ the window; zero-padded). Defaults to the window length.
    #[arg(long)]
    pub nfft: Option<usize>,

    /// Window length in samples (scipy's nperseg). Defaults to --nfft.
    #[arg(long)]
    pub win_length: Option<usize>,

    /// Overlap between frames as a fraction of the window in [0, 1); hop = win − ⌊overlap·win⌋.
    #[arg(long, conflicts_with = "hop")]
    pub overlap: Option<f64>,

    /// Hop between frame starts in samples (default: 50 % overlap).
    #[arg(long)]
    pub hop: Option<usize>,

    /// Window: hann, hamming, blackman or kaiser:BETA (periodic, as scipy's get_window).
    #[arg(long, default_value = "hann")]
    pub window: String,

    /// PSD scaling: density (per Hz) or spectrum (power per bin).
    #[arg(long, value_enum, default_value_t = ScalingArg::Density)]
    pub scaling: ScalingArg,

    /// Lowest frequency kept in Hz (bins below are cropped from every output).
    #[arg(long)]
    pub freq_min: Option<f64>,

    /// Highest frequency kept in Hz.
    #[arg(long)]
    pub freq_max: Option<f64>,

    /// Welch: write one mean PSD per file instead of a spectrogram.
    #[arg(long)]
    pub average: bool,

    /// Output formats (repeat or comma-separate): npz (+ JSON sidecar), mat, png.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "npz")]
    pub format: Vec<OutputFormat>,

    /// Flat hydrophone sensitivity in dB re 1 V/µPa (needs --full-scale-volts).
    #[arg(long, allow_hyphen_values = true, requires = "full_scale_volts")]
    pub sensitivity_db: Option<f64>,

    /// Voltage of digital full scale (±1.0 in the samples), for calibrated levels.
    #[arg(long)]
    pub full_scale_volts: Option<f64>,

    /// Calibration table of `frequency_hz sensitivity_db` pairs (dB re 1 V/µPa, interpolated
    /// linearly, held constant beyond its ends); needs --full-scale-volts.
    #[arg(long, conflicts_with = "sensitivity_db", requires = "full_scale_volts")]
    pub calibration: Option<PathBuf>,

    /// Fixed PNG colour range in dB, `LOW,HIGH` (default: 1st–99.9th percentile).
    #[arg(long, allow_hyphen_values = true, value_name = "LOW,HIGH")]
    pub clim: Option<String>,

    /// Files processed in parallel (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,

    /// FFT precision: f64 reproduces scipy's float64 numbers; f32 is faster.
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalingArg {
    Density,
    Spectrum,
}

pub async fn run(global: &GlobalArgs, args: SpectrogramArgs) -> anyhow::Result<Outcome> {
    let json = global.json;
    tokio::task::spawn_blocking(move || run_blocking(args, json))
        .await
        .context("the spectrogram worker stopped unexpectedly")?
}

fn run_blocking(args: SpectrogramArgs, json: bool) -> anyhow::Result<Outcome> {
    let spec = job_spec(&args)?;
    let files = expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no FLAC or WAV files found in the given inputs");
    }
    check_stems(&files)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the output folder {}", args.out.display()))?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len());

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<FileReport, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let result =
                    spectrogram_job::process(file, &args.out, &spec).map_err(|e| format!("{e:#}"));
                match &result {
                    Ok(r) if !json => eprintln!("{}", r.summary_line()),
                    Err(e) if !json => eprintln!("error: {e}"),
                    _ => {}
                }
                if let Ok(mut all) = results.lock() {
                    all.push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let elapsed = started.elapsed().as_secs_f64();
    if json {
        let items: Vec<serde_json::Value> = results
            .iter()
            .map(|(i, r)| match r {
                Ok(rep) => rep.to_json(),
                Err(e) => serde_json::json!({"input": files[*i].display().to_string(), "error": e}),
            })
            .collect();
        let doc = serde_json::json!({
            "files": items,
            "succeeded": results.len() - failed,
            "failed": failed,
            "jobs": jobs,
            "elapsed_s": elapsed,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{} of {} files done in {elapsed:.2} s with {jobs} worker(s){}",
            results.len() - failed,
            results.len(),
            if failed > 0 {
                format!("; {failed} failed (see above)")
            } else {
                String::new()
            }
        );
    }
    Ok(if failed == 0 {
        Outcome::AllDone
    } else {
        Outcome::SomeFailed
    })
}

/// Checks the flags and turns them into the per-file job description.
fn job_spec(args: &SpectrogramArgs) -> anyhow::Result<JobSpec> {
    let window = Window::parse(&args.window).context("--window")?;
    let scaling = match args.scaling {
        ScalingArg::Density => Scaling::Density,
        ScalingArg::Spectrum => Scaling::Spectrum,
    };
    if let Some(d) = args.win_dur {
        if !(d.is_finite() && d > 0.0) {
            bail!("--win-dur must be a positive number of seconds, got {d}");
        }
    }
    if let Some(o) = args.overlap {
        if !(o.is_finite() && (0.0..1.0).contains(&o)) {
            bail!("--overlap must be a fraction in [0, 1), got {o}");
        }
    }
    for (name, v) in [
        ("--nfft", args.nfft),
        ("--win-length", args.win_length),
        ("--hop", args.hop),
    ] {
        if v == Some(0) {
            bail!("{name} must be at least 1");
        }
    }
    if let (Some(n), Some(w)) = (args.nfft, args.win_length) {
        if n < w {
            bail!("--nfft ({n}) must be at least --win-length ({w})");
        }
    }
    let window_len = args.win_length.or(if args.win_dur.is_none() {
        args.nfft
    } else {
        None
    });
    if let (Some(h), Some(w)) = (args.hop, window_len) {
        if h > w {
            bail!("--hop ({h}) must not exceed the window length ({w})");
        }
    }
    if let (Some(lo), Some(hi)) = (args.freq_min, args.freq_max) {
        if lo > hi {
            bail!("--freq-min ({lo} Hz) is above --freq-max ({hi} Hz)");
        }
    }
    for (name, v) in [("--freq-min", args.freq_min), ("--freq-max", args.freq_max)] {
        if v.is_some_and(|f| !(f.is_finite() && f >= 0.0)) {
            bail!("{name} must be a frequency ≥ 0 Hz");
        }
    }
    let mut formats = args.format.clone();
    formats.sort_by_key(|f| *f as u8);
    formats.dedup();
    if args.average && formats.contains(&OutputFormat::Png) {
        bail!("--average writes one mean PSD per file; PNG needs a spectrogram (use npz or mat)");
    }
    let calibration = if let Some(path) = &args.calibration {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the calibration table {}", path.display()))?;
        let volts = args.full_scale_volts.unwrap_or(f64::NAN);
        Calibration::curve_from_text(&text, volts)
            .with_context(|| format!("calibration table {}", path.display()))?
    } else if let Some(s) = args.sensitivity_db {
        Calibration::flat(s, args.full_scale_volts.unwrap_or(f64::NAN))
            .context("--sensitivity-db / --full-scale-volts")?
    } else {
        if args.full_scale_volts.is_some() {
            bail!("--full-scale-volts needs --sensitivity-db or --calibration");
        }
        Calibration::FullScale
    };
    let clim = args.clim.as_deref().map(parse_clim).transpose()?;
    Ok(JobSpec {
        win_dur: args.win_dur,
        nfft: args.nfft,
        win_length: args.win_length,
        overlap: args.overlap,
        hop: args.hop,
        window,
        scaling,
        freq_min: args.freq_min,
        freq_max: args.freq_max,
        average: args.average,
        formats,
        calibration,
        clim,
        precision: args.precision,
    })
}

fn parse_clim(text: &str) -> anyhow::Result<(f32, f32)> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [a, b] = parts.as_slice() else {
        bail!("--clim expects LOW,HIGH in dB, got {text:?}");
    };
    let lo: f32 = a
        .parse()
        .with_context(|| format!("--clim low value {a:?}"))?;
    let hi: f32 = b
        .parse()
        .with_context(|| format!("--clim high value {b:?}"))?;
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        bail!("--clim needs LOW < HIGH, got {text:?}");
    }
    Ok((lo, hi))
}

fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("flac") || e.eq_ignore_ascii_case("wav"))
}

/// Files as given, FLAC/WAV files under folders (recursively, sorted) and wildcard matches.
pub fn expand_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            found.sort();
            out.extend(found);
        } else if input.is_file() {
            out.push(input.clone());
        } else if text.contains('*') || text.contains('?') {
            let dir = match input.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let dir_text = dir.to_string_lossy();
            if dir_text.contains('*') || dir_text.contains('?') {
                bail!("{text}: wildcards are supported in the file-name part only");
            }
            let pattern = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("listing {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| wildcard_match(&pattern, &n.to_string_lossy()))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                bail!("{text}: no file matches");
            }
            out.extend(found);
        } else {
            bail!("{text}: no such file or folder");
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_audio(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// `*` matches any run of characters, `?` one character.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Two inputs with the same stem would overwrite each other's outputs.
fn check_stems(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut seen: std::collections::HashMap<String, &PathBuf> = Default::default();
    for f in files {
        let stem = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(prev) = seen.insert(stem.clone(), f) {
            bail!(
                "{} and {} share the stem {stem:?}; their outputs would collide (run them into different --out folders)",
                prev.display(),
                f.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_a_shell() {
        assert!(wildcard_match("*.flac", "a.flac"));
        assert!(wildcard_match(
            "ICL*_2024*.fl?c",
            "ICLISTENHF6324_20240401T120000.000Z.flac"
        ));
        assert!(!wildcard_match("*.flac", "a.wav"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("a*b*c", "aXbY"));
    }

    #[test]
    fn clim_parses_negative_pairs_and_rejects_bad_ones() {
        assert_eq!(parse_clim("-120,-40").unwrap(), (-120.0, -40.0));
        assert!(parse_clim("-40,-120").is_err());
        assert!(parse_clim("1").is_err());
    }
}
