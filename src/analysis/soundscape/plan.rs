//! Where every input lands on a run's sample clock, decided before any audio is decoded: from
//! each file's UTC start (its name; a miniSEED file's traces carry their own) and its sample
//! count (its header), files (miniSEED: each trace) sorted by (start,
//! path) are placed one after another. A file starting within the join tolerance of the
//! previous file's end continues it seamlessly, a later start is a gap, an earlier one overlaps
//! and its already-covered samples are dropped. The placement of every file, and so the UTC
//! days it feeds, is a pure function of (start, samples) of the files before it, which is what
//! lets a sharded run (`--shard I/N`, one shard per set of days) compute exactly the minutes of
//! an unsharded run: the shard of a day decodes every file with samples in that day, placed as
//! the whole run would place it.
//!
//! Must not know: STFT, bands, NetCDF, manifests on disk, flags.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{start_from_name, SoundscapeError, SoundscapeSpec};
use crate::media::AudioReader;

/// Samples per UTC day at `fs` Hz.
fn per_day(fs: u32) -> i64 {
    86_400 * i64::from(fs)
}

/// One input placed on the sample clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    /// The audio file.
    pub path: PathBuf,
    /// Its UTC start from the name.
    pub start: Timestamp,
    /// Samples per channel (from the header).
    pub frames: u64,
    /// Clock tick (samples since the epoch) of its first kept sample.
    pub tick: i64,
    /// Leading samples dropped because an earlier file covers them.
    pub skip: u64,
    /// False when it starts after a gap (or is the first file): STFT frames never span a gap.
    pub continues: bool,
    /// Which timed segment of the file this is (a miniSEED trace; 0 for FLAC/WAV).
    pub segment: usize,
}

impl Placed {
    /// Samples kept on the clock.
    pub fn kept(&self) -> u64 {
        self.frames.saturating_sub(self.skip)
    }

    /// The UTC days (days since the epoch) its kept samples fall in, first to last.
    pub fn days(&self, fs: u32) -> std::ops::RangeInclusive<i64> {
        let kept = self.kept() as i64;
        if kept == 0 {
            #[allow(clippy::reversed_empty_ranges)]
            return 1..=0;
        }
        let first = self.tick.div_euclid(per_day(fs));
        let last = (self.tick + kept - 1).div_euclid(per_day(fs));
        first..=last
    }
}

/// Every input of a run placed on one sample clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The common sample rate.
    pub fs: u32,
    /// The inputs in clock order.
    pub files: Vec<Placed>,
}

/// A UTC day of a plan and the files (indices into [`Plan::files`]) with samples in it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDay {
    /// Days since 1970-01-01.
    pub index: i64,
    /// Files feeding the day, in clock order.
    pub files: Vec<usize>,
}

/// `YYYYMMDD` of day `index` (days since the epoch), as in the output names.
pub fn day_name(index: i64) -> String {
    Timestamp::from_second(index * 86_400)
        .unwrap_or_default()
        .strftime("%Y%m%d")
        .to_string()
}

/// `YYYY-MM-DD` of day `index`, as in manifests.
pub fn day_label(index: i64) -> String {
    Timestamp::from_second(index * 86_400)
        .unwrap_or_default()
        .strftime("%Y-%m-%d")
        .to_string()
}

/// The day index of a `YYYY-MM-DD` label.
pub fn day_of_label(label: &str) -> Option<i64> {
    let t: Timestamp = format!("{label}T00:00:00Z").parse().ok()?;
    Some(t.as_second().div_euclid(86_400))
}

impl Plan {
    /// Reads the header of every input (`frames` where known, else by decoding) and places
    /// them. All inputs must share one sample rate.
    pub fn of(inputs: &[PathBuf], spec: &SoundscapeSpec) -> Result<Plan, SoundscapeError> {
        let mut found: Vec<(PathBuf, Timestamp, u32, u64, usize)> =
            Vec::with_capacity(inputs.len());
        for p in inputs {
            let (fs, pieces) = pieces_of(p)?;
            found.extend(
                pieces
                    .into_iter()
                    .map(|(start, frames, k)| (p.clone(), start, fs, frames, k)),
            );
        }
        let fs = found.first().map_or(0, |f| f.2);
        if let Some(other) = found.iter().find(|f| f.2 != fs) {
            return Err(SoundscapeError::Input {
                path: other.0.display().to_string(),
                reason: format!(
                    "sample rate {} Hz differs from the earlier files' {fs} Hz",
                    other.2
                ),
            });
        }
        let list = found
            .into_iter()
            .map(|(p, s, _, n, k)| (p, s, n, k))
            .collect();
        Ok(Plan::place_segments(fs, list, spec.join_tolerance_s))
    }

    /// Places `(path, start, frames)` (any order: sorted here by start, then path) at `fs` Hz.
    pub fn place(fs: u32, list: Vec<(PathBuf, Timestamp, u64)>, join_tolerance_s: f64) -> Plan {
        let list = list.into_iter().map(|(p, s, n)| (p, s, n, 0)).collect();
        Plan::place_segments(fs, list, join_tolerance_s)
    }

    /// Places `(path, start, frames, segment)`: as [`Plan::place`], each timed segment of a
    /// file (miniSEED trace) on its own.
    pub fn place_segments(
        fs: u32,
        mut list: Vec<(PathBuf, Timestamp, u64, usize)>,
        join_tolerance_s: f64,
    ) -> Plan {
        list.sort_by(|a, b| (a.1, &a.0, a.3).cmp(&(b.1, &b.0, b.3)));
        let rate = i64::from(fs);
        let tol = (join_tolerance_s * f64::from(fs)).round() as i64;
        let mut end: Option<i64> = None;
        let mut files = Vec::with_capacity(list.len());
        for (path, start, frames, segment) in list {
            let mut tick =
                (start.as_nanosecond() * i128::from(rate)).div_euclid(1_000_000_000) as i64;
            let mut skip = 0u64;
            let mut continues = true;
            match end {
                Some(e) if (tick - e).abs() <= tol => tick = e,
                Some(e) if tick < e => {
                    skip = (e - tick) as u64;
                    tick = e;
                }
                _ => continues = false,
            }
            let placed = Placed {
                path,
                start,
                frames,
                tick,
                skip,
                continues,
                segment,
            };
            end = Some(tick + placed.kept() as i64);
            files.push(placed);
        }
        Plan { fs, files }
    }

    /// The UTC days with data, in order, each with the files feeding it.
    pub fn days(&self) -> Vec<PlanDay> {
        let mut days: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
        for (i, f) in self.files.iter().enumerate() {
            for d in f.days(self.fs) {
                days.entry(d).or_default().push(i);
            }
        }
        days.into_iter()
            .map(|(index, files)| PlanDay { index, files })
            .collect()
    }
}

/// Timed pieces of one input: `(start, frames, segment)`.
type Pieces = Vec<(Timestamp, u64, usize)>;

/// The sample rate and timed pieces `(start, frames, segment)` of an input: a miniSEED file's
/// traces with the data's own start times; a FLAC/WAV file as one piece starting at the time in
/// its name, with the header's sample count (or a decode when it has none).
pub(crate) fn pieces_of(path: &Path) -> Result<(u32, Pieces), SoundscapeError> {
    let reader = AudioReader::open(path)?;
    let fs = reader.info().sample_rate;
    let segments = reader.segments();
    if !segments.is_empty() {
        let pieces = segments
            .iter()
            .enumerate()
            .map(|(k, g)| (crate::media::ns_to_timestamp(g.start_ns), g.samples, k))
            .collect();
        return Ok((fs, pieces));
    }
    let start = start_from_name(path)?;
    let (fs, n) = header(reader)?;
    Ok((fs, vec![(start, n, 0)]))
}

/// `(sample rate, frames)` of an audio file: the header's count, or a decode when it has none.
fn header(mut reader: AudioReader) -> Result<(u32, u64), SoundscapeError> {
    let fs = reader.info().sample_rate;
    if let Some(n) = reader.info().total_frames {
        return Ok((fs, n));
    }
    let mut n = 0u64;
    let mut block = Vec::new();
    while reader.read_block(&mut block)? {
        n += block.len() as u64;
    }
    Ok((fs, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn joins_gaps_and_overlaps_place_files_and_split_days() {
        // 10 Hz: a (23:59:50, 20 s) crosses midnight; b joins it within the tolerance; c
        // overlaps b by 5 s; d starts after a gap.
        let list = vec![
            ("a".into(), at("2024-04-01T23:59:50Z"), 200),
            ("b".into(), at("2024-04-02T00:00:10.001Z"), 100),
            ("c".into(), at("2024-04-02T00:00:15Z"), 100),
            ("d".into(), at("2024-04-03T00:00:00Z"), 10),
        ];
        let plan = Plan::place(10, list, 0.01);
        let a_tick = at("2024-04-01T23:59:50Z").as_second() * 10;
        let got: Vec<(i64, u64, bool)> = plan
            .files
            .iter()
            .map(|f| (f.tick - a_tick, f.skip, f.continues))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 0, false),
                (200, 0, true),
                (300, 50, true),
                (864_100, 0, false)
            ]
        );
        let day0 = at("2024-04-01T00:00:00Z").as_second() / 86_400;
        let days: Vec<(i64, Vec<usize>)> = plan
            .days()
            .into_iter()
            .map(|d| (d.index - day0, d.files))
            .collect();
        assert_eq!(days, vec![(0, vec![0]), (1, vec![0, 1, 2]), (2, vec![3])]);
        assert_eq!(day_name(day0 + 1), "20240402");
    }
}
