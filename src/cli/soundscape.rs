//! `onc-hydro soundscape`: flags for the soundscape day products; the pipeline lives in
//! `analysis::soundscape`.
//!
//! Must not know: how minutes, bands or NetCDF are computed.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context};
use clap::Args;

use super::{GlobalArgs, Outcome};
use crate::analysis;
use crate::analysis::soundscape::{self, Event, SoundscapeSpec};

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
soundscape_YYYYMMDD_ltsa.png (minutes × bands; minutes without data are drawn in neutral grey, \
not in the colour map) and soundscape_YYYYMMDD_percentiles.png (the spectral probability \
density with each percentile spectrum in its own colour, named in the legend). The same inputs \
and settings give the same bytes, whatever --jobs is (default: all cores; several days are \
computed side by side, and with fewer days than jobs each day is cut into stretches of whole \
minutes where files start, computed by separate workers and merged).\n\nOn a cluster: `--shard I/N` computes only shard I of N (I from \
0, as SLURM_ARRAY_TASK_ID). The input list, each file's sample count and the UTC days with data \
are frozen first into <out>/onc-hydro-run/manifest.json (later shards use that list even if files \
are added meanwhile); day number k (from 0, in date order) belongs to shard k mod N, and its shard \
reads every file with samples in that day, so a day spanning files or midnight is exact. Days \
whose outputs exist are skipped: re-running a shard finishes it. `onc-hydro slurm submit -- \
soundscape …` runs the shards as a Slurm job array.",
    after_help = "Examples:\n  onc-hydro soundscape downloads/ICLISTENHF6324/ --out soundscape/\n  \
onc-hydro soundscape day/*.flac --out out/ --sensitivity-db -170 --full-scale-volts 3\n  \
python3 -c \"import xarray; print(xarray.open_dataset('out/soundscape_20240401.nc'))\"\n  \
onc-hydro soundscape month/ --out out/ --jobs 8        # 8 days at a time\n  \
onc-hydro soundscape month/ --out out/ --shard 0/4      # days 0, 4, 8, … of the month\n  \
onc-hydro slurm submit --tasks 8 -- soundscape month/ --out out/"
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
    /// Hydrophone calibration (without it, levels are dB re full scale).
    #[command(flatten)]
    pub calibration: super::spectrogram::CalibrationArgs,
    /// Skip the PNGs.
    #[arg(long)]
    pub no_png: bool,
    /// Threads (default: all cores). With one day, decoding overlaps the computation; with
    /// several, days are computed in parallel. The outputs are identical for any value.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Compute only shard I of N (I from 0): UTC day number k of the frozen manifest belongs
    /// to shard k mod N; days whose outputs exist are skipped. See the long help.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

/// The settings the flags ask for.
pub(super) fn spec_of(args: &SoundscapeArgs) -> anyhow::Result<SoundscapeSpec> {
    let calibration = args.calibration.calibration()?;
    let spec = SoundscapeSpec {
        win_dur: args.win_dur,
        overlap: args.overlap,
        calibration,
        min_effort_s: args.min_effort,
        png: !args.no_png,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1),
        ..SoundscapeSpec::default()
    };
    Ok(spec)
}

pub fn run(global: &GlobalArgs, args: SoundscapeArgs) -> anyhow::Result<Outcome> {
    let spec = spec_of(&args)?;
    if let Some(text) = &args.shard {
        return run_shard(global, &args, &spec, text);
    }
    let files = crate::analysis::expand_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no FLAC/WAV files found in the inputs");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let total = files.len();
    // With several workers a file feeding two days is decoded by both: count it once.
    let started = Mutex::new(HashSet::new());
    let reports = soundscape::run(&files, &args.out, &spec, |p| {
        let mut seen = started.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(p.to_path_buf()) {
            eprintln!("[{}/{total}] {}", seen.len(), p.display());
        }
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

/// `--shard I/N`: the shard's days of the frozen run.
fn run_shard(
    global: &GlobalArgs,
    args: &SoundscapeArgs,
    spec: &SoundscapeSpec,
    text: &str,
) -> anyhow::Result<Outcome> {
    let shard = analysis::Shard::parse(text)?;
    let manifest = soundscape::freeze_manifest(&args.out, &args.inputs, spec)?;
    let mine = manifest.units_of(shard).len();
    if !global.json {
        eprintln!(
            "shard {shard}: {mine} of {} days ({} files in the run)",
            manifest.units.len(),
            manifest.files.len()
        );
    }
    let days = AtomicUsize::new(0);
    let json = global.json;
    let result = soundscape::run_soundscape_shard(
        &manifest,
        shard,
        &args.out,
        spec,
        analysis::slurm_job_id(),
        &|e| match e {
            Event::File(p) if !json => eprintln!("  reading {}", p.display()),
            Event::Day(r) if !json => {
                let n = days.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "[{n}/{mine}] {}: {} minutes with data ({} flagged)",
                    r.day, r.minutes_with_data, r.flagged_minutes
                );
            }
            _ => {}
        },
    )?;
    if json {
        let doc = serde_json::json!({
            "shard": shard.to_string(),
            "days": mine,
            "computed": result.computed.iter().map(|r| serde_json::json!({
                "day": r.day,
                "minutes_with_data": r.minutes_with_data,
                "flagged_minutes": r.flagged_minutes,
                "outputs": r.outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "skipped": result.skipped,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "shard {shard}: {} days computed, {} skipped (outputs existed)",
            result.computed.len(),
            result.skipped.len()
        );
    }
    Ok(if result.computed.len() + result.skipped.len() < mine {
        Outcome::SomeFailed
    } else {
        Outcome::AllDone
    })
}
