//! The compute side of a soundscape run: placed samples in clock order → per-minute Welch
//! means (STFT frames never cross a minute, a gap or a file that does not continue the one
//! before) → the day accumulators, each day written out when the clock leaves it. It is told
//! where a file starts on the clock and then fed that file's kept samples in blocks of any
//! size: the products depend only on the samples, never on how they were cut into blocks, so
//! a reader thread may hand over whatever it decoded.
//!
//! Must not know: decoding, files on disk other than the day outputs, threads, flags.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{day, DayReport, Placed, SoundscapeError, SoundscapeSpec};
use crate::dsp::{self, Scaling, Stft, StftParams, WelchMean, Window};

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

/// Where the file being fed stands on the clock.
struct Cursor {
    path: PathBuf,
    /// Its SHA-256 when known before its samples (a file feeding two days), else "".
    sha: String,
    tick: i64,
    /// The next sample starts a minute this file has not noted itself in yet.
    first_minute: bool,
}

pub(crate) struct Engine {
    fs: u32,
    pub ctx: Context,
    stft: Stft<f32>,
    welch: WelchMean,
    /// Minute (since the epoch) being accumulated, its sample count.
    minute: Option<i64>,
    minute_samples: u64,
    /// The days to compute (all when `None`).
    wanted: Option<BTreeSet<i64>>,
    day: Option<day::DayAcc>,
    cursor: Option<Cursor>,
    psd: Vec<f64>,
}

impl Engine {
    pub fn new(
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
            cursor: None,
            psd: Vec::new(),
        })
    }

    /// The next samples fed are `file`'s kept samples from its first one. `sha` is its SHA-256
    /// when already known (else "" and [`Engine::end_file`] records it).
    pub fn begin_file(&mut self, file: &Placed, sha: &str) {
        if !file.continues {
            self.stft.reset(); // first file or a gap: frames never span it
        }
        self.cursor = Some(Cursor {
            path: file.path.clone(),
            sha: sha.to_string(),
            tick: file.tick,
            first_minute: true,
        });
    }

    /// The file begun last has been read; `sha` is its SHA-256 when it was not known at
    /// [`Engine::begin_file`].
    pub fn end_file(&mut self, sha: Option<&str>) {
        if let (Some(sha), Some(c)) = (sha, self.cursor.take()) {
            if let Some(d) = self.day.as_mut() {
                d.set_input_sha(&c.path, sha);
            }
        }
    }

    /// Feeds the next kept samples of the current file; days the clock leaves are written to
    /// `out_dir` and reported in `reports`.
    pub fn feed(
        &mut self,
        mut data: &[f32],
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<(), SoundscapeError> {
        let Some(mut c) = self.cursor.take() else {
            return Ok(());
        };
        let per_minute = 60 * i64::from(self.fs);
        let result = (|| {
            while !data.is_empty() {
                let minute = c.tick.div_euclid(per_minute);
                let day_index = minute.div_euclid(1440);
                if self
                    .wanted
                    .as_ref()
                    .is_some_and(|w| !w.contains(&day_index))
                {
                    // Another worker's or shard's day: move the clock to its end unread.
                    let end = (day_index + 1) * 1440 * per_minute;
                    let k = ((end - c.tick) as usize).min(data.len());
                    c.tick += k as i64;
                    data = &data[k..];
                    c.first_minute = true;
                    continue;
                }
                if self.minute != Some(minute) {
                    self.finish_minute(out_dir, reports)?;
                    self.minute = Some(minute);
                    self.stft.reset();
                }
                if c.first_minute {
                    self.enter_day(minute, out_dir, reports)?
                        .add_input(&c.path, &c.sha);
                    c.first_minute = false;
                }
                let room = ((minute + 1) * per_minute - c.tick) as usize;
                let (now, rest) = data.split_at(room.min(data.len()));
                let welch = &mut self.welch;
                self.stft.push_welch(now, welch);
                self.minute_samples += now.len() as u64;
                c.tick += now.len() as i64;
                data = rest;
                if !rest.is_empty() {
                    c.first_minute = true; // crossing into a new minute, maybe a new day
                }
            }
            Ok(())
        })();
        self.cursor = Some(c);
        result
    }

    /// Writes out what is left: the minute and the day being accumulated.
    pub fn finish(
        mut self,
        out_dir: &Path,
        reports: &mut Vec<DayReport>,
    ) -> Result<(), SoundscapeError> {
        self.finish_minute(out_dir, reports)?;
        if let Some(d) = self.day.take() {
            reports.push(d.write(out_dir, &self.ctx)?);
        }
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
