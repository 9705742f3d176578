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
//! Memory: one block of decoded audio, one FFT frame and per day the reduced minute products
//! (1440 × bands), never the audio of a minute or a day.
//!
//! Must not know: flag parsing, terminals, the network.

mod day;
mod output;
mod plan;
mod shard;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::dsp::{self, Calibration, Scaling, Stft, StftParams, WelchMean, Window};
use crate::media::{AudioReader, DecodeError, MediaError};

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
    /// A file is about to be decoded.
    File(&'a Path),
    /// A day's outputs were written.
    Day(&'a DayReport),
}

/// Processes `inputs` (any order) into one product per UTC day under `out_dir`. `progress` is
/// told about each file as it starts.
pub fn run(
    inputs: &[PathBuf],
    out_dir: &Path,
    spec: &SoundscapeSpec,
    mut progress: impl FnMut(&Path),
) -> Result<Vec<DayReport>, SoundscapeError> {
    let plan = Plan::of(inputs, spec)?;
    run_plan(&plan, None, out_dir, spec, &mut |e| {
        if let Event::File(p) = e {
            progress(p)
        }
    })
}

/// Processes the files of `plan` into day products under `out_dir`: every day, or only the
/// days in `days` (days since the epoch; files without samples in them are not read, samples
/// outside them are skipped). The products of a day are the same whichever other days are
/// computed with it: each minute comes from its own samples, placed by the plan.
pub fn run_plan(
    plan: &Plan,
    days: Option<&BTreeSet<i64>>,
    out_dir: &Path,
    spec: &SoundscapeSpec,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<DayReport>, SoundscapeError> {
    std::fs::create_dir_all(out_dir).map_err(|e| crate::analysis::AnalysisError::io(out_dir, e))?;
    let mut engine: Option<Engine> = None;
    let mut reports = Vec::new();
    for f in &plan.files {
        if let Some(wanted) = days {
            if !f.days(plan.fs).any(|d| wanted.contains(&d)) {
                continue;
            }
        }
        progress(Event::File(&f.path));
        // SHA-256 from the bytes the decoder reads (one pass), except for a file whose samples
        // fall in two days: the first day is written before the file is read to its end.
        let early_sha = if f.days(plan.fs).count() > 1 {
            Some(day::sha256_file(&f.path)?)
        } else {
            None
        };
        let mut reader = if early_sha.is_some() {
            AudioReader::open(&f.path)?
        } else {
            AudioReader::open_hashed(&f.path)?
        };
        let fs = reader.info().sample_rate;
        if fs != plan.fs {
            return Err(SoundscapeError::Input {
                path: f.path.display().to_string(),
                reason: format!(
                    "sample rate {fs} Hz, but the run was planned at {} Hz (the file changed?)",
                    plan.fs
                ),
            });
        }
        let eng = match &mut engine {
            Some(e) => e,
            None => engine.insert(Engine::new(fs, spec, days.cloned())?),
        };
        let before = reports.len();
        eng.feed_file(
            &mut reader,
            f,
            early_sha.as_deref().unwrap_or(""),
            out_dir,
            &mut reports,
        )?;
        if early_sha.is_none() {
            let sha = reader.finish_sha256()?;
            if let Some(d) = eng.day.as_mut() {
                d.set_input_sha(&f.path, &sha);
            }
        }
        for r in &reports[before..] {
            progress(Event::Day(r));
        }
    }
    if let Some(mut e) = engine {
        let before = reports.len();
        e.finish_minute(out_dir, &mut reports)?;
        if let Some(d) = e.day.take() {
            reports.push(d.write(out_dir, &e.ctx)?);
        }
        for r in &reports[before..] {
            progress(Event::Day(r));
        }
    }
    Ok(reports)
}

/// Everything fixed for a sample rate.
pub(crate) struct Context {
    pub fs: u32,
    pub params: StftParams,
    pub gain: Vec<f64>,
    pub hmd: dsp::Bands,
    pub hmd_map: dsp::BandMap,
    pub dd: dsp::Bands,
    pub dd_map: dsp::BandMap,
    pub spec: SoundscapeSpec,
}

struct Engine {
    fs: u32,
    ctx: Context,
    stft: Stft<f32>,
    welch: WelchMean,
    /// Minute (since the epoch) being accumulated, its sample count.
    minute: Option<i64>,
    minute_samples: u64,
    /// The days to compute (all when `None`).
    wanted: Option<BTreeSet<i64>>,
    day: Option<day::DayAcc>,
    block: Vec<f32>,
    psd: Vec<f64>,
}

impl Engine {
    fn new(
        fs: u32,
        spec: &SoundscapeSpec,
        wanted: Option<BTreeSet<i64>>,
    ) -> Result<Engine, SoundscapeError> {
        let win = (spec.win_dur * f64::from(fs)).round() as usize;
        let bad = |reason: String| SoundscapeError::Input {
            path: "settings".into(),
            reason,
        };
        if win < 2 || spec.win_dur > 60.0 {
            return Err(bad(format!(
                "window of {} s at {fs} Hz: must be 2 samples to 60 s",
                spec.win_dur
            )));
        }
        if !(0.0..0.95).contains(&spec.overlap) {
            return Err(bad(format!(
                "overlap {} must be in [0, 0.95)",
                spec.overlap
            )));
        }
        let params = StftParams {
            nfft: win,
            win_length: win,
            hop: win - (spec.overlap * win as f64).floor() as usize,
            window: Window::Hann,
            scaling: Scaling::Density,
        };
        let f = f64::from(fs);
        let stft = Stft::<f32>::new(&params, f)?;
        let freqs = params.frequencies(f);
        let gain = spec
            .calibration
            .offsets_db(&freqs)
            .iter()
            .map(|d| 10f64.powf(d / 10.0))
            .collect();
        let fbw = f / win as f64;
        let hmd = dsp::hybrid_millidecade(f, win);
        let dd = dsp::decidecade(f, win);
        let n_freq = params.n_freq();
        let ctx = Context {
            fs,
            hmd_map: dsp::BandMap::new(&hmd, fbw, n_freq),
            dd_map: dsp::BandMap::new(&dd, fbw, n_freq),
            hmd,
            dd,
            gain,
            params,
            spec: spec.clone(),
        };
        Ok(Engine {
            fs,
            ctx,
            stft,
            welch: WelchMean::new(n_freq),
            minute: None,
            minute_samples: 0,
            wanted,
            day: None,
            block: Vec::new(),
            psd: Vec::new(),
        })
    }

    fn feed_file(
        &mut self,
        reader: &mut AudioReader,
        file: &Placed,
        sha: &str,
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<(), SoundscapeError> {
        let per_minute = 60 * i64::from(self.fs);
        let mut tick = file.tick;
        let mut skip = file.skip;
        let mut left = file.kept();
        if !file.continues {
            self.stft.reset(); // first file or a gap: frames never span it
        }
        let mut first_minute = true;
        let mut block = std::mem::take(&mut self.block);
        while left > 0 && reader.read_block(&mut block)? {
            // A miniSEED trace is placed on its own: read only its blocks.
            match reader.segment_of_last_block().cmp(&file.segment) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Equal => {}
            }
            let mut data = &block[..];
            if skip > 0 {
                let k = (skip as usize).min(data.len());
                data = &data[k..];
                skip -= k as u64;
            }
            // The plan placed the header's sample count; samples beyond it are not the run's.
            let n = (data.len() as u64).min(left) as usize;
            data = &data[..n];
            left -= n as u64;
            while !data.is_empty() {
                let minute = tick.div_euclid(per_minute);
                let day_index = minute.div_euclid(1440);
                if self
                    .wanted
                    .as_ref()
                    .is_some_and(|w| !w.contains(&day_index))
                {
                    // Another shard's day: move the clock to its end without computing.
                    let k = (((day_index + 1) * 1440 * per_minute - tick) as usize).min(data.len());
                    tick += k as i64;
                    data = &data[k..];
                    first_minute = true;
                    continue;
                }
                if self.minute != Some(minute) {
                    self.finish_minute(out_dir, reports)?;
                    self.minute = Some(minute);
                    self.stft.reset();
                }
                if first_minute {
                    self.note_input(minute, &file.path, sha, out_dir, reports)?;
                    first_minute = false;
                }
                let room = ((minute + 1) * per_minute - tick) as usize;
                let (now, rest) = data.split_at(room.min(data.len()));
                let welch = &mut self.welch;
                self.stft.push(now, |_, frame| welch.add(frame));
                self.minute_samples += now.len() as u64;
                tick += now.len() as i64;
                data = rest;
                if !rest.is_empty() {
                    first_minute = true; // crossing into a new minute, maybe a new day
                }
            }
        }
        self.block = block;
        Ok(())
    }

    /// Records `path` as an input of the day holding `minute`, switching days if needed.
    fn note_input(
        &mut self,
        minute: i64,
        path: &Path,
        sha: &str,
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<(), SoundscapeError> {
        self.enter_day(minute, out_dir, reports)?
            .add_input(path, sha);
        Ok(())
    }

    /// The accumulator of `minute`'s UTC day; a previous day is written out first.
    fn enter_day(
        &mut self,
        minute: i64,
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<&mut day::DayAcc, SoundscapeError> {
        let day_index = minute.div_euclid(1440);
        if self.day.as_ref().is_some_and(|d| d.day_index != day_index) {
            if let Some(d) = self.day.take() {
                reports.push(d.write(out_dir, &self.ctx)?);
            }
        }
        let ctx = &self.ctx;
        Ok(self
            .day
            .get_or_insert_with(|| day::DayAcc::new(day_index, ctx)))
    }

    /// Reduces the minute being accumulated into the day's products.
    fn finish_minute(
        &mut self,
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<(), SoundscapeError> {
        let Some(minute) = self.minute.take() else {
            return Ok(());
        };
        let effort = self.minute_samples as f64 / f64::from(self.fs);
        self.minute_samples = 0;
        self.psd.clear();
        if self.welch.count() > 0 {
            let mean = self.welch.mean();
            self.psd.extend(
                mean.iter()
                    .zip(&self.ctx.gain)
                    .map(|(&p, g)| f64::from(p) * g),
            );
        }
        self.welch = WelchMean::new(self.ctx.params.n_freq());
        self.enter_day(minute, out_dir, reports)?;
        if let Some(day) = self.day.as_mut() {
            day.set_minute(
                minute.rem_euclid(1440) as usize,
                effort,
                &self.psd,
                &self.ctx,
            );
        }
        Ok(())
    }
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
