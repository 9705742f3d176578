//! `onc-hydro spectrogram INPUT… [--out DIR]`: local spectrograms (or Welch mean PSDs) of FLAC
//! and WAV files, written as NPZ (+ JSON provenance sidecar), MAT and/or PNG.
//!
//! This file owns the flags and the printing only: the flags become an
//! [`analysis::SpectrogramSpec`], the batch (inputs, worker pool, outputs) runs in `analysis`,
//! and its per-file events are printed through an [`analysis::BatchReporter`].
//!
//! Must not know: the pipeline itself (analysis), the FFT (dsp), file formats (media).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::builder::PossibleValue;
use clap::{Args, ValueEnum};

use super::{GlobalArgs, Outcome};
use crate::analysis::{
    self, BatchOptions, BatchReporter, ItemResult, OutputFormat, Precision, SpectrogramSpec,
};
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
full scale (1 FS²/Hz).\n\n\
Outputs are written to hidden temporaries (.onc-hydro-tmp-PID-N-NAME) and renamed when complete; \
temporaries left by a killed run are removed when a run over the same inputs starts. A file fails \
alone (exit 1, the others go on) when it cannot be decoded, holds NaN/Inf samples, or its \
spectrogram would exceed 4 GB or 256 values per input sample (e.g. --overlap 0.999999999).")]
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

    /// Hydrophone calibration (without it, levels are dB re full scale).
    #[command(flatten)]
    pub calibration: CalibrationArgs,

    /// Fixed PNG colour range in dB, `LOW,HIGH` (default: 1st–99.9th percentile).
    #[arg(long, allow_hyphen_values = true, value_name = "LOW,HIGH")]
    pub clim: Option<String>,

    /// Files processed in parallel (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,

    /// FFT precision: f64 reproduces scipy's float64 numbers (relative error < 1e-4); f32 is
    /// about 1.5× faster in the FFT and rounds as scipy does on float32 input: measured by
    /// scripts/scipy_compare.py, relative error ≤ 1.2e-4 (0.0005 dB) in bins within 60 dB of the
    /// file's peak, ≤ 4e-3 (0.02 dB) within 90 dB, ≤ 2e-2 (0.1 dB) within 130 dB, and up to
    /// 0.25 (1 dB) in bins 130–150 dB below the peak (scipy's float32 spectrogram: the same).
    #[arg(long, value_enum, default_value_t = Precision::F64)]
    pub precision: Precision,

    /// Process only shard I of N (I from 0, as SLURM_ARRAY_TASK_ID). The input list is frozen
    /// first into <out>/onc-hydro-run/manifest.json (every shard then uses that list, even if
    /// files are added meanwhile); files sorted by path, file number k belongs to shard k mod
    /// N. Files whose outputs exist are skipped, so re-running a shard finishes it. Progress:
    /// <out>/onc-hydro-run/shards/. `onc-hydro slurm submit` runs the shards as a job array.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScalingArg {
    Density,
    Spectrum,
}

impl ValueEnum for OutputFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &OutputFormat::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for Precision {
    fn value_variants<'a>() -> &'a [Self] {
        &[Precision::F64, Precision::F32]
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            Precision::F64 => "f64",
            Precision::F32 => "f32",
        }))
    }
}

pub async fn run(global: &GlobalArgs, args: SpectrogramArgs) -> anyhow::Result<Outcome> {
    let json = global.json;
    tokio::task::spawn_blocking(move || run_blocking(args, json))
        .await
        .context("the spectrogram worker stopped unexpectedly")?
}

/// Prints one line per finished file on stderr (not with --json).
struct Lines {
    json: bool,
}

impl BatchReporter for Lines {
    fn item(&self, _: usize, input: &Path, result: &ItemResult) {
        if self.json {
            return;
        }
        match result {
            ItemResult::Done(r) => eprintln!("{}", r.summary_line()),
            ItemResult::Skipped(_) => {
                eprintln!("{}: outputs exist already, skipped", input.display())
            }
            ItemResult::Failed(e) => eprintln!("error: {e}"),
        }
    }
}

fn run_blocking(args: SpectrogramArgs, json: bool) -> anyhow::Result<Outcome> {
    let spec = job_spec(&args)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Some(text) = &args.shard {
        let shard = analysis::Shard::parse(text)?;
        let manifest =
            analysis::Manifest::open_or_freeze(&args.out, "spectrogram", &args.inputs, || {
                let files = analysis::expand_inputs(&args.inputs)?;
                analysis::check_stems(&files)?;
                Ok(files)
            })?;
        let job = analysis::slurm_job_id();
        let result = analysis::run_spectrogram_shard(
            &manifest,
            shard,
            &args.out,
            &spec,
            jobs,
            job,
            &Lines { json },
        )?;
        return print_result(&result, json);
    }
    let files = analysis::expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no FLAC or WAV files found in the given inputs");
    }
    analysis::check_stems(&files)?;
    let opts = BatchOptions {
        jobs,
        skip_finished: false,
    };
    let result = analysis::run_spectrograms(&files, &args.out, &spec, opts, &Lines { json })
        .with_context(|| format!("output folder {}", args.out.display()))?;
    print_result(&result, json)
}

/// The closing line (or the JSON document) of a batch; the exit outcome.
pub(super) fn print_result(result: &analysis::BatchResult, json: bool) -> anyhow::Result<Outcome> {
    let failed = result.failed();
    let skipped = result.skipped();
    let total = result.items.len();
    let elapsed = result.elapsed_s;
    let jobs = result.jobs;
    if json {
        let items: Vec<serde_json::Value> = result
            .items
            .iter()
            .map(|(input, r)| match r {
                ItemResult::Done(rep) => serde_json::to_value(rep).unwrap_or_default(),
                ItemResult::Skipped(outputs) => serde_json::json!({
                    "input": input.display().to_string(),
                    "skipped": "outputs exist",
                    "outputs": outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                }),
                ItemResult::Failed(e) => {
                    serde_json::json!({"input": input.display().to_string(), "error": e.to_string()})
                }
            })
            .collect();
        let doc = serde_json::json!({
            "files": items,
            "succeeded": total - failed - skipped,
            "skipped": skipped,
            "failed": failed,
            "jobs": jobs,
            "elapsed_s": elapsed,
            "removed_stale_temporaries": result.removed_temporaries.len(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        if !result.removed_temporaries.is_empty() {
            eprintln!(
                "removed {} temporary file(s) left by an interrupted run",
                result.removed_temporaries.len()
            );
        }
        println!(
            "{} of {total} files done in {elapsed:.2} s with {jobs} worker(s){}{}",
            total - failed,
            if skipped > 0 {
                format!(" ({skipped} already done, skipped)")
            } else {
                String::new()
            },
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

/// Turns the flags into the per-file job description (checked by the library).
/// The calibration flags shared by `spectrogram` and `soundscape`.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrationArgs {
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
}

impl CalibrationArgs {
    /// The calibration the flags ask for (`FullScale` when none is given).
    pub(super) fn calibration(&self) -> anyhow::Result<Calibration> {
        let volts = self.full_scale_volts.unwrap_or(f64::NAN);
        Ok(match (&self.calibration, self.sensitivity_db) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the calibration table {}", path.display()))?;
                Calibration::curve_from_text(&text, volts)
                    .with_context(|| format!("calibration table {}", path.display()))?
            }
            (None, Some(s)) => {
                Calibration::flat(s, volts).context("--sensitivity-db / --full-scale-volts")?
            }
            (None, None) if self.full_scale_volts.is_some() => {
                bail!("--full-scale-volts needs --sensitivity-db or --calibration")
            }
            (None, None) => Calibration::FullScale,
        })
    }
}

fn job_spec(args: &SpectrogramArgs) -> anyhow::Result<SpectrogramSpec> {
    let window = Window::parse(&args.window).context("--window")?;
    let scaling = match args.scaling {
        ScalingArg::Density => Scaling::Density,
        ScalingArg::Spectrum => Scaling::Spectrum,
    };
    let calibration = args.calibration.calibration()?;
    let clim = args.clim.as_deref().map(parse_clim).transpose()?;
    let mut spec = SpectrogramSpec {
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
        formats: args.format.clone(),
        calibration,
        clim,
        precision: args.precision,
    };
    spec.check()?;
    Ok(spec)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clim_parses_negative_pairs_and_rejects_bad_ones() {
        assert_eq!(parse_clim("-120,-40").unwrap(), (-120.0, -40.0));
        assert!(parse_clim("-40,-120").is_err());
        assert!(parse_clim("1").is_err());
    }

    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        args: SpectrogramArgs,
    }

    /// clap needs literal defaults for --help; they must say what analysis's one home says.
    #[test]
    fn no_options_give_the_library_defaults() {
        use clap::Parser;
        let only = Only::try_parse_from(["spectrogram", "a.flac"]).unwrap();
        assert_eq!(job_spec(&only.args).unwrap(), SpectrogramSpec::default());
    }
}
