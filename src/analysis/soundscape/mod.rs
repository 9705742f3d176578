//! Soundscape days: audio files (FLAC/WAV, each named with its UTC start `…YYYYMMDDTHHMMSS[.fff]Z…`;
//! miniSEED, whose traces carry their own start times and are placed one by one)
//! become one product per UTC day — per-minute Welch PSD (1 s Hann, 50 % overlap by default)
//! reduced to hybrid millidecade (HMD) bands as pbp/PyPAM define them, decidecade band levels,
//! broadband SPL, `effort` (seconds of data per minute), a flag per minute, daily percentiles
//! and the spectral probability density — written as NetCDF plus an LTSA and a percentile PNG.
//!
//! A minute is built from exactly the samples that fall in it, whichever files they come from:
//! files are placed on one sample clock from their start times; a file starting within
//! [`SoundscapeSpec::join_tolerance_s`] of the previous file's end continues it seamlessly (STFT
//! frames cross the file boundary), a later start is a gap (frames never span it), an earlier one
//! overlaps and its already-covered samples are dropped. Welch frames never cross a minute
//! boundary (pbp computes each minute from that minute's samples alone).
//!
//! Memory: one block of decoded audio (a few chunks of it with a reader thread), one FFT frame
//! and per day the reduced minute products (1440 × bands), never the audio of a minute or a
//! day; per worker when several days or parts of a day are computed at once.
//!
//! Must not know: flag parsing, terminals, the network.

mod day;
mod engine;
mod output;
mod pipeline;
mod plan;
mod shard;
mod source;

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::dsp::{self, Calibration};
use crate::media::{DecodeError, MediaError};

pub(crate) use engine::Context;
pub use pipeline::{run_plan, Progress};

pub use day::{DayProduct, PERCENTILES};
pub use plan::{day_label, day_name, Placed, Plan, PlanDay};
pub use shard::{
    day_outputs, freeze_manifest, plan_of_manifest, run_soundscape_shard, ShardDays, DAY_RULE,
};

/// Errors of a soundscape run; each names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SoundscapeError {
    /// Reading or decoding an input failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Writing an output (NetCDF, PNG) failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The numerics refused the settings.
    #[error("{0}")]
    Dsp(#[from] dsp::DspError),
    /// An input cannot be used (no start time in its name, another sample rate, …).
    #[error("{path}: {reason}")]
    Input {
        /// The input concerned.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The bookkeeping of a sharded run (manifest, shard record) failed.
    #[error(transparent)]
    Run(#[from] crate::analysis::AnalysisError),
}

/// Settings of a soundscape run.
#[derive(Debug, Clone)]
pub struct SoundscapeSpec {
    /// Welch window length in seconds (nfft = window; pbp: 1 s).
    pub win_dur: f64,
    /// Welch overlap fraction (pbp: 0.5).
    pub overlap: f64,
    /// How sample values become µPa (as `spectrogram` does).
    pub calibration: Calibration,
    /// Minutes with less data than this are flagged (1) in `minute_flag`.
    pub min_effort_s: f64,
    /// A file starting this close to the previous file's end continues it without a gap.
    pub join_tolerance_s: f64,
    /// Write the LTSA and percentile PNGs.
    pub png: bool,
    /// Threads: 1 reads and computes on the calling thread; more spread days, or stretches of
    /// whole minutes of a day, over workers. The products are identical for any value.
    pub jobs: usize,
}

impl Default for SoundscapeSpec {
    fn default() -> Self {
        SoundscapeSpec {
            win_dur: 1.0,
            overlap: 0.5,
            calibration: Calibration::FullScale,
            min_effort_s: 30.0,
            join_tolerance_s: 0.01,
            png: true,
            jobs: 1,
        }
    }
}

/// The UTC start encoded in a file name as `YYYYMMDDTHHMMSS[.fff]Z` (ONC archive names).
pub fn start_from_name(path: &Path) -> Result<Timestamp, SoundscapeError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bad = || SoundscapeError::Input {
        path: path.display().to_string(),
        reason: "no UTC start time (YYYYMMDDTHHMMSS[.fff]Z) in the file name".into(),
    };
    let b = name.as_bytes();
    for i in 0..b.len().saturating_sub(15) {
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if !(digits(i..i + 8) && b[i + 8] == b'T' && digits(i + 9..i + 15)) {
            continue;
        }
        let mut end = i + 15;
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        if b.get(end) != Some(&b'Z') {
            continue;
        }
        let s = &name[i..end];
        let iso = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..]
        );
        return iso.parse::<Timestamp>().map_err(|_| bad());
    }
    Err(bad())
}

/// One day's result on disk.
#[derive(Debug, Clone)]
pub struct DayReport {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The files written for it (NetCDF, PNGs).
    pub outputs: Vec<PathBuf>,
    /// Minutes holding any data.
    pub minutes_with_data: usize,
    /// Minutes flagged for too little data.
    pub flagged_minutes: usize,
}

/// What a run reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A file is about to be decoded (a file feeding two days, or two parts of a day, computed
    /// by two workers is decoded, and reported, by each).
    File(&'a Path),
    /// A day's outputs were written.
    Day(&'a DayReport),
}

/// Processes `inputs` (any order) into one product per UTC day under `out_dir` with
/// `spec.jobs` threads. `progress` is told about each file as it starts (from worker threads
/// when there are several).
pub fn run(
    inputs: &[PathBuf],
    out_dir: &Path,
    spec: &SoundscapeSpec,
    progress: impl Fn(&Path) + Sync,
) -> Result<Vec<DayReport>, SoundscapeError> {
    let plan = Plan::of(inputs, spec)?;
    run_plan(&plan, None, out_dir, spec, &|e| {
        if let Event::File(p) = e {
            progress(p)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(path: &Path, seconds: usize) {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 1000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..seconds * 1000 {
            w.write_sample(((i * 7919) % 20_000) as i16 - 10_000)
                .unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn minutes_are_built_across_files_and_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("X_20240401T235930.000Z.wav");
        let b = dir.path().join("X_20240402T000030.000Z.wav");
        wav(&a, 60);
        wav(&b, 20);
        let spec = SoundscapeSpec {
            png: false,
            ..SoundscapeSpec::default()
        };
        let reports = run(&[b.clone(), a.clone()], dir.path(), &spec, |_| {}).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].day, "20240401");
        assert_eq!(reports[1].day, "20240402");
        // 23:59 holds 30 s of file A; 00:00 holds 30 s of A and 20 s of B (flagged: 50 ≥ 30 no).
        assert_eq!(
            (reports[0].minutes_with_data, reports[0].flagged_minutes),
            (1, 0)
        );
        assert_eq!(
            (reports[1].minutes_with_data, reports[1].flagged_minutes),
            (1, 0)
        );
        let nc = std::fs::read(dir.path().join("soundscape_20240402.nc")).unwrap();
        assert_eq!(&nc[..4], b"CDF\x02");
        let err = start_from_name(Path::new("no_time.wav"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no_time.wav"), "{err}");
        assert_eq!(
            start_from_name(&a).unwrap().to_string(),
            "2024-04-01T23:59:30Z"
        );
    }
}
