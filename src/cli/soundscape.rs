//! `onc-hydro soundscape`: flags for the soundscape day products; the pipeline lives in
//! `analysis::soundscape`.
//!
//! Must not know: how minutes, bands or NetCDF are computed.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::{GlobalArgs, Outcome};
use crate::analysis::soundscape::{self, SoundscapeSpec};
use crate::dsp::Calibration;

/// Soundscape products per UTC day from local FLAC/WAV files.
#[derive(Debug, Args)]
#[command(
    long_about = "Soundscape products per UTC day from local FLAC/WAV files named with their UTC \
start (ONC archive names such as ICLISTENHF6324_20240401T120000.000Z.flac).\n\nFor every minute: \
the Welch mean PSD (1 s Hann, 50 % overlap by default) reduced to hybrid millidecade bands exactly \
as MBARI's pbp/PyPAM define them, decidecade band levels, broadband SPL and `effort` (seconds of \
data). Per day: percentiles L1 L5 L10 L50 L90 L95 L99 and the spectral probability density. A \
minute is built from the samples inside it across file boundaries, midnight and gaps.\n\nOutputs in \
--out: soundscape_YYYYMMDD.nc (NetCDF that xarray opens; pbp's names psd/effort/time/frequency), \
soundscape_YYYYMMDD_ltsa.png and soundscape_YYYYMMDD_percentiles.png.",
    after_help = "Examples:\n  onc-hydro soundscape downloads/ICLISTENHF6324/ --out soundscape/\n  \
onc-hydro soundscape day/*.flac --out out/ --sensitivity-db -170 --full-scale-volts 3\n  \
python3 -c \"import xarray; print(xarray.open_dataset('out/soundscape_20240401.nc'))\""
)]
pub struct SoundscapeArgs {
    /// FLAC/WAV files or folders (searched recursively).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder (created if needed).
    #[arg(long)]
    pub out: PathBuf,
    /// Welch window (and FFT) length in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub win_dur: f64,
    /// Welch overlap fraction.
    #[arg(long, default_value_t = 0.5)]
    pub overlap: f64,
    /// Minutes with fewer seconds of data are flagged (minute_flag = 1).
    #[arg(long, default_value_t = 30.0)]
    pub min_effort: f64,
    /// Flat hydrophone sensitivity in dB re 1 V/µPa (needs --full-scale-volts).
    #[arg(long, allow_hyphen_values = true, requires = "full_scale_volts")]
    pub sensitivity_db: Option<f64>,
    /// Voltage of digital full scale (sample value 1.0).
    #[arg(long)]
    pub full_scale_volts: Option<f64>,
    /// Calibration table of `frequency_hz sensitivity_db` pairs (needs --full-scale-volts).
    #[arg(long, conflicts_with = "sensitivity_db", requires = "full_scale_volts")]
    pub calibration: Option<PathBuf>,
    /// Skip the PNGs.
    #[arg(long)]
    pub no_png: bool,
}

pub fn run(_global: &GlobalArgs, args: SoundscapeArgs) -> anyhow::Result<Outcome> {
    let volts = args.full_scale_volts.unwrap_or(f64::NAN);
    let calibration = match (&args.calibration, args.sensitivity_db) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the calibration table {}", path.display()))?;
            Calibration::curve_from_text(&text, volts)
                .with_context(|| format!("calibration table {}", path.display()))?
        }
        (None, Some(s)) => {
            Calibration::flat(s, volts).context("--sensitivity-db / --full-scale-volts")?
        }
        (None, None) if args.full_scale_volts.is_some() => {
            bail!("--full-scale-volts needs --sensitivity-db or --calibration")
        }
        (None, None) => Calibration::FullScale,
    };
    let spec = SoundscapeSpec {
        win_dur: args.win_dur,
        overlap: args.overlap,
        calibration,
        min_effort_s: args.min_effort,
        png: !args.no_png,
        ..SoundscapeSpec::default()
    };
    let files = crate::analysis::expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no FLAC/WAV files found in the inputs");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let total = files.len();
    let mut done = 0usize;
    let reports = soundscape::run(&files, &args.out, &spec, |p| {
        done += 1;
        eprintln!("[{done}/{total}] {}", p.display());
    })?;
    for r in &reports {
        let outs: Vec<String> = r.outputs.iter().map(|p| p.display().to_string()).collect();
        println!(
            "{}: {} minutes with data ({} flagged): {}",
            r.day,
            r.minutes_with_data,
            r.flagged_minutes,
            outs.join(", ")
        );
    }
    Ok(Outcome::AllDone)
}
