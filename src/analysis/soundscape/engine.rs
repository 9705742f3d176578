//! The compute side of a soundscape run: placed samples in clock order → per-minute Welch
//! means (STFT frames never cross a minute, a gap or a file that does not continue the one
//! before) → the day accumulators, each day handed back ([`Engine::take_days`]) when the clock
//! leaves it. It is told where a file starts on the clock and then fed that file's kept samples
//! in blocks of any size: the products depend only on the samples, never on how they were cut
//! into blocks, so a reader thread may hand over whatever it decoded. Because every minute is
//! computed from its own samples alone, an engine may be limited to some minutes
//! ([`Minutes`]) and the day accumulators of engines that computed disjoint minutes of one day
//! merged afterwards, bit for bit what one engine would have made.
//!
//! Must not know: decoding, files on disk, threads, flags.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;

use super::{day, Placed, SoundscapeError, SoundscapeSpec};
use crate::dsp::{self, Scaling, Stft, StftParams, WelchMean, Window};

/// Everything fixed for a sample rate and the run's settings; shared by every engine of a run.
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

impl Context {
    /// Checks the Welch settings of `spec` at `fs` Hz and builds the bands and calibration.
    pub fn new(fs: u32, spec: &SoundscapeSpec) -> Result<Context, SoundscapeError> {
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
        Ok(Context {
            fs,
            hmd_map: dsp::BandMap::new(&hmd, fbw, n_freq),
            dd_map: dsp::BandMap::new(&dd, fbw, n_freq),
            hmd,
            dd,
            gain,
            params,
            spec: spec.clone(),
        })
    }

    /// Samples per minute.
    pub fn per_minute(&self) -> i64 {
        60 * i64::from(self.fs)
    }
}

/// The minutes (since the epoch) an engine computes: sorted, disjoint ranges. Samples in other
/// minutes are skipped unread by the STFT.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minutes(Vec<Range<i64>>);

impl Minutes {
    /// Every minute of the UTC days `days` (days since the epoch).
    pub fn of_days(days: &BTreeSet<i64>) -> Minutes {
        let mut ranges: Vec<Range<i64>> = Vec::new();
        for &d in days {
            let r = d * day::MINUTES as i64..(d + 1) * day::MINUTES as i64;
            match ranges.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => ranges.push(r),
            }
        }
        Minutes(ranges)
    }

    /// The minutes `range`.
    pub fn span(range: Range<i64>) -> Minutes {
        Minutes(vec![range])
    }

    fn contains(&self, minute: i64) -> bool {
        self.0.iter().any(|r| r.contains(&minute))
    }

    /// The first wanted minute after `minute`, if any.
    fn next_after(&self, minute: i64) -> Option<i64> {
        self.0.iter().map(|r| r.start).find(|&s| s > minute)
    }
}

/// Where the file being fed stands on the clock.
struct Cursor {
    path: PathBuf,
    /// Its SHA-256 when known before its samples (a file read in two parts), else "".
    sha: String,
    tick: i64,
    /// The next sample starts a minute this file has not noted itself in yet.
    first_minute: bool,
}

pub(crate) struct Engine<'c> {
    ctx: &'c Context,
    stft: Stft<f32>,
    welch: WelchMean,
    /// Minute (since the epoch) being accumulated, its sample count.
    minute: Option<i64>,
    minute_samples: u64,
    /// The minutes to compute (all when `None`).
    wanted: Option<Minutes>,
    day: Option<day::DayAcc>,
    /// Days the clock has left, not yet taken.
    done: Vec<day::DayAcc>,
    cursor: Option<Cursor>,
    psd: Vec<f64>,
}

impl<'c> Engine<'c> {
    pub fn new(ctx: &'c Context, wanted: Option<Minutes>) -> Result<Engine<'c>, SoundscapeError> {
        Ok(Engine {
            ctx,
            stft: Stft::<f32>::new(&ctx.params, f64::from(ctx.fs))?,
            welch: WelchMean::new(ctx.params.n_freq()),
            minute: None,
            minute_samples: 0,
            wanted,
            day: None,
            done: Vec::new(),
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

    /// Feeds the next kept samples of the current file.
    pub fn feed(&mut self, mut data: &[f32]) {
        let Some(mut c) = self.cursor.take() else {
            return;
        };
        let per_minute = self.ctx.per_minute();
        while !data.is_empty() {
            let minute = c.tick.div_euclid(per_minute);
            if let Some(w) = self.wanted.as_ref().filter(|w| !w.contains(minute)) {
                // Another worker's or shard's minutes: move the clock past them unread.
                let k = match w.next_after(minute) {
                    Some(next) => ((next * per_minute - c.tick) as usize).min(data.len()),
                    None => data.len(),
                };
                c.tick += k as i64;
                data = &data[k..];
                c.first_minute = true;
                continue;
            }
            if self.minute != Some(minute) {
                self.finish_minute();
                self.minute = Some(minute);
                self.stft.reset();
            }
            if c.first_minute {
                self.enter_day(minute).add_input(&c.path, &c.sha);
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
        self.cursor = Some(c);
    }

    /// The days the clock has left since the last call, complete, in clock order.
    pub fn take_days(&mut self) -> Vec<day::DayAcc> {
        std::mem::take(&mut self.done)
    }

    /// Ends the run: the minute and the day being accumulated join [`Engine::take_days`].
    pub fn finish(&mut self) {
        self.finish_minute();
        self.done.extend(self.day.take());
    }

    /// The accumulator of `minute`'s UTC day; a previous day is done.
    fn enter_day(&mut self, minute: i64) -> &mut day::DayAcc {
        let day_index = minute.div_euclid(day::MINUTES as i64);
        if self.day.as_ref().is_some_and(|d| d.day_index != day_index) {
            self.done.extend(self.day.take());
        }
        let ctx = self.ctx;
        self.day
            .get_or_insert_with(|| day::DayAcc::new(day_index, ctx))
    }

    /// Reduces the minute being accumulated into the day's products.
    fn finish_minute(&mut self) {
        let Some(minute) = self.minute.take() else {
            return;
        };
        let effort = self.minute_samples as f64 / f64::from(self.ctx.fs);
        self.minute_samples = 0;
        self.psd.clear();
        self.stft.finish_welch(&mut self.welch);
        if self.welch.count() > 0 {
            let mean = self.welch.mean();
            self.psd.extend(
                mean.iter()
                    .zip(&self.ctx.gain)
                    .map(|(&p, g)| f64::from(p) * g),
            );
        }
        self.welch = WelchMean::new(self.ctx.params.n_freq());
        let ctx = self.ctx;
        let psd = std::mem::take(&mut self.psd);
        self.enter_day(minute).set_minute(
            minute.rem_euclid(day::MINUTES as i64) as usize,
            effort,
            &psd,
            ctx,
        );
        self.psd = psd;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_minutes_skip_to_the_next_range() {
        let w = Minutes::of_days(&BTreeSet::from([3, 4, 7]));
        assert_eq!(w, Minutes(vec![3 * 1440..5 * 1440, 7 * 1440..8 * 1440]));
        assert!(w.contains(3 * 1440) && w.contains(5 * 1440 - 1) && !w.contains(5 * 1440));
        assert_eq!(w.next_after(5 * 1440), Some(7 * 1440));
        assert_eq!(w.next_after(7 * 1440), None);
        let s = Minutes::span(10..20);
        assert_eq!((s.next_after(3), s.next_after(10)), (Some(10), None));
    }
}
