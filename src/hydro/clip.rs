//! Clip assembly planning: given the real start times and lengths of downloaded source files,
//! which files and which sample (audio) or column (spectrogram) ranges form a clip, and which
//! parts of the clip no file covers (gaps). A pure function of the metadata: the caller decodes
//! the files, then copies the planned ranges and fills the gaps (or reports them).
//!
//! Rules:
//! * audio sample `i` of a file starting at `s` with rate `r` sits at `s + i/r` and is taken when
//!   that instant lies in the clip `[start, end)`;
//! * a spectrogram column is taken when its centre lies in the clip (ONC's `SpectData.time`
//!   gives centres; [`even_column_times`] spreads them evenly when it does not);
//! * files are walked in start order; where files overlap (drifting starts), the later file
//!   contributes only what comes after what is already covered, so no instant appears twice;
//! * a gap is any uncovered stretch longer than one sample (half a column for spectrograms);
//!   the achieved interval is reported, never the requested one.
//!
//! All time arithmetic is in integer nanoseconds.
//!
//! Must not know: file formats, decoding, HTTP.

use jiff::{SignedDuration, Timestamp};

use super::error::{HydroError, Result};
use super::grid::{from_nanos, TimeRange, NANOS_PER_SECOND};

/// A decoded audio file's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSource {
    /// The file name, for messages and sidecars.
    pub name: String,
    /// The real start of the first sample.
    pub start: Timestamp,
    /// Samples per second, Hz.
    pub sample_rate: u32,
    /// Samples per channel in the file.
    pub samples: u64,
}

/// A spectrogram file's timing: one centre time per column, in order, and the column width.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectSource {
    /// The file name, for messages and sidecars.
    pub name: String,
    /// Centre time of each column (UTC), increasing.
    pub column_times: Vec<Timestamp>,
    /// Width of one column, seconds.
    pub column_seconds: f64,
}

/// Evenly spaced column centres for a file of `duration` starting at `start`.
pub fn even_column_times(
    start: Timestamp,
    duration: SignedDuration,
    columns: usize,
) -> Vec<Timestamp> {
    if columns == 0 {
        return Vec::new();
    }
    let s = start.as_nanosecond();
    let d = duration.as_nanos();
    (0..columns as i128)
        .filter_map(|j| {
            Timestamp::from_nanosecond(s + (2 * j + 1) * d / (2 * columns as i128)).ok()
        })
        .collect()
}

/// A contiguous range `[first, end)` of samples or columns of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Index of the source in the slice given to the planner.
    pub source: usize,
    /// The source's file name.
    pub name: String,
    /// First sample or column taken.
    pub first: u64,
    /// One past the last sample or column taken.
    pub end: u64,
    /// The time the piece covers.
    pub range: TimeRange,
}

impl Piece {
    /// Samples or columns in the piece.
    pub fn len(&self) -> u64 {
        self.end - self.first
    }

    /// True when the piece takes nothing.
    pub fn is_empty(&self) -> bool {
        self.end == self.first
    }
}

/// How a clip is put together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipAssembly {
    /// The interval the annotation asked for.
    pub requested: TimeRange,
    /// In time order.
    pub pieces: Vec<Piece>,
    /// Uncovered stretches of the requested interval, in time order.
    pub gaps: Vec<TimeRange>,
}

impl ClipAssembly {
    /// From the first piece's start to the last piece's end, if anything is covered.
    pub fn achieved(&self) -> Option<TimeRange> {
        let first = self.pieces.first()?;
        let last = self.pieces.last()?;
        TimeRange::new(first.range.start(), last.range.end()).ok()
    }

    /// Total samples or columns.
    pub fn units(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Total uncovered time.
    pub fn gap_time(&self) -> SignedDuration {
        self.gaps.iter().fold(SignedDuration::ZERO, |acc, g| {
            acc.saturating_add(g.duration())
        })
    }

    /// True when the pieces cover the whole requested interval.
    pub fn is_complete(&self) -> bool {
        self.gaps.is_empty() && !self.pieces.is_empty()
    }
}

/// Longest plausible spectrogram column (one day); anything longer is corrupt metadata.
const MAX_COLUMN_SECONDS: f64 = 86_400.0;

fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

fn range_ns(start: i128, end: i128) -> Result<TimeRange> {
    TimeRange::new(
        from_nanos(start, "clip")?,
        from_nanos(end.max(start), "clip")?,
    )
}

/// Plans an audio clip from files with real (possibly drifting) starts.
pub fn plan_audio_clip(clip: &TimeRange, sources: &[AudioSource]) -> Result<ClipAssembly> {
    let cs = clip.start().as_nanosecond();
    let ce = clip.end().as_nanosecond();
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| (sources[i].start, i));
    let mut pieces: Vec<Piece> = Vec::new();
    let mut gaps = Vec::new();
    let mut cursor = cs;
    let mut tolerance = 0i128;
    let mut rate: Option<u32> = None;
    for idx in order {
        let src = &sources[idx];
        if src.sample_rate == 0 {
            return Err(HydroError::arg(
                "clip source",
                format!("{}: sample rate 0", src.name),
            ));
        }
        let sr = i128::from(src.sample_rate);
        let s = src.start.as_nanosecond();
        let at = |i: i128| s + i * NANOS_PER_SECOND / sr;
        let t0 = cursor.max(s);
        if t0 >= ce {
            continue;
        }
        let i0 = ceil_div((t0 - s) * sr, NANOS_PER_SECOND).max(0);
        let i1 = ceil_div((ce - s) * sr, NANOS_PER_SECOND).min(i128::from(src.samples));
        if i1 <= i0 {
            continue;
        }
        if let Some(r) = rate.filter(|r| *r != src.sample_rate) {
            return Err(HydroError::arg(
                "clip source",
                format!(
                    "{} is sampled at {} Hz but earlier files at {r} Hz; a clip needs one rate",
                    src.name, src.sample_rate
                ),
            ));
        }
        rate = Some(src.sample_rate);
        tolerance = ceil_div(NANOS_PER_SECOND, sr);
        let (p0, p1) = (at(i0), at(i1));
        if p0 - cursor > tolerance {
            gaps.push(range_ns(cursor, p0)?);
        }
        pieces.push(Piece {
            source: idx,
            name: src.name.clone(),
            first: i0 as u64,
            end: i1 as u64,
            range: range_ns(p0, p1)?,
        });
        cursor = p1;
    }
    if ce - cursor > tolerance && cursor < ce {
        gaps.push(range_ns(cursor, ce)?);
    }
    Ok(ClipAssembly {
        requested: *clip,
        pieces,
        gaps,
    })
}

/// Plans a spectrogram clip from files whose column centre times are known.
pub fn plan_spectrogram_clip(clip: &TimeRange, sources: &[SpectSource]) -> Result<ClipAssembly> {
    let cs = clip.start().as_nanosecond();
    let ce = clip.end().as_nanosecond();
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| (sources[i].column_times.first().copied(), i));
    let mut pieces: Vec<Piece> = Vec::new();
    let mut gaps = Vec::new();
    // Centre and half-width of the last column taken.
    let mut last: Option<(i128, i128)> = None;
    for idx in order {
        let src = &sources[idx];
        if !(src.column_seconds.is_finite()
            && src.column_seconds > 0.0
            && src.column_seconds <= MAX_COLUMN_SECONDS)
        {
            return Err(HydroError::arg(
                "clip source",
                format!("{}: column width {} s", src.name, src.column_seconds),
            ));
        }
        if src.column_times.windows(2).any(|p| p[1] <= p[0]) {
            return Err(HydroError::arg(
                "clip source",
                format!("{}: column times are not increasing", src.name),
            ));
        }
        let half = ((src.column_seconds * 1e9) / 2.0).round() as i128;
        let mut run: Option<(usize, usize, i128, i128)> = None; // first, end, t_first, t_last
        for (j, t) in src.column_times.iter().enumerate() {
            let c = t.as_nanosecond();
            if c < cs || c >= ce {
                continue;
            }
            if let Some((prev, prev_half)) = last {
                if c < prev + prev_half {
                    continue; // overlaps what an earlier file already gave
                }
                if c - half - (prev + prev_half) > half.max(prev_half) {
                    flush(&mut run, idx, src, &mut pieces)?;
                    gaps.push(range_ns(prev + prev_half, c - half)?);
                }
            } else if c - half - cs > half {
                gaps.push(range_ns(cs, c - half)?);
            }
            run = match run {
                Some((f, e, tf, _)) if e == j => Some((f, j + 1, tf, c)),
                Some(_) => {
                    flush(&mut run, idx, src, &mut pieces)?;
                    Some((j, j + 1, c, c))
                }
                None => Some((j, j + 1, c, c)),
            };
            last = Some((c, half));
        }
        flush(&mut run, idx, src, &mut pieces)?;
    }
    match last {
        Some((c, half)) if ce - (c + half) > half => gaps.push(range_ns(c + half, ce)?),
        None if ce > cs => gaps.push(*clip),
        _ => {}
    }
    for p in &mut pieces {
        // Clamp the reported span of edge columns to the clip.
        let start = p.range.start().max(clip.start());
        let end = p.range.end().min(clip.end()).max(start);
        p.range = TimeRange::new(start, end)?;
    }
    Ok(ClipAssembly {
        requested: *clip,
        pieces,
        gaps,
    })
}

fn flush(
    run: &mut Option<(usize, usize, i128, i128)>,
    idx: usize,
    src: &SpectSource,
    pieces: &mut Vec<Piece>,
) -> Result<()> {
    if let Some((first, end, tf, tl)) = run.take() {
        let half = ((src.column_seconds * 1e9) / 2.0).round() as i128;
        pieces.push(Piece {
            source: idx,
            name: src.name.clone(),
            first: first as u64,
            end: end as u64,
            range: range_ns(tf - half, tl + half)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::time::format_onc;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn r(a: &str, b: &str) -> TimeRange {
        TimeRange::new(t(a), t(b)).unwrap()
    }

    fn audio(name: &str, start: &str, sr: u32, seconds: u64) -> AudioSource {
        AudioSource {
            name: name.into(),
            start: t(start),
            sample_rate: sr,
            samples: seconds * u64::from(sr),
        }
    }

    #[test]
    fn drifting_audio_files_with_a_gap_and_an_overlap() {
        // A on the grid; B starts 1.5 s after A ends (gap); C starts 0.8 s before B ends.
        let files = [
            audio("C", "2024-04-01T12:10:00.700Z", 1000, 300),
            audio("A", "2024-04-01T12:00:00Z", 1000, 300),
            audio("B", "2024-04-01T12:05:01.500Z", 1000, 300),
        ];
        let clip = r("2024-04-01T12:04:50Z", "2024-04-01T12:10:10Z");
        let a = plan_audio_clip(&clip, &files).unwrap();
        let got: Vec<(&str, u64, u64)> = a
            .pieces
            .iter()
            .map(|p| (p.name.as_str(), p.first, p.end))
            .collect();
        assert_eq!(
            got,
            [
                ("A", 290_000, 300_000),
                ("B", 0, 300_000),
                ("C", 800, 9_300)
            ]
        );
        assert_eq!(a.pieces[0].source, 1);
        assert_eq!(
            a.gaps,
            [r("2024-04-01T12:05:00Z", "2024-04-01T12:05:01.500Z")]
        );
        assert_eq!(a.units(), 318_500);
        assert_eq!(a.gap_time(), SignedDuration::from_millis(1500));
        assert_eq!(a.achieved(), Some(clip));
        assert!(!a.is_complete());
    }

    #[test]
    fn prior_art_example_a_audio_is_last_25s_plus_first_5s() {
        let files = [
            audio("f1", "2024-04-01T12:30:00Z", 64_000, 300),
            audio("f2", "2024-04-01T12:35:00Z", 64_000, 300),
        ];
        let clip = r("2024-04-01T12:34:35Z", "2024-04-01T12:35:05Z");
        let a = plan_audio_clip(&clip, &files).unwrap();
        assert!(a.is_complete(), "{:?}", a.gaps);
        assert_eq!(a.pieces[0].len(), 25 * 64_000);
        assert_eq!(a.pieces[1].len(), 5 * 64_000);
        assert_eq!(a.units(), 30 * 64_000);
    }

    #[test]
    fn sub_millisecond_starts_round_to_whole_samples() {
        let files = [audio("x", "2024-07-15T00:01:36.029Z", 64_000, 300)];
        let clip = r("2024-07-15T00:02:00Z", "2024-07-15T00:02:01Z");
        let a = plan_audio_clip(&clip, &files).unwrap();
        // Offset 23.971 s → first sample ceil(23.971·64000) = 1_534_144.
        assert_eq!(a.pieces[0].first, 1_534_144);
        assert_eq!(a.pieces[0].len(), 64_000);
        assert!(a.is_complete());
    }

    #[test]
    fn missing_files_are_gaps_not_shorter_clips() {
        let clip = r("2024-04-01T12:04:00Z", "2024-04-01T12:06:00Z");
        let files = [audio("A", "2024-04-01T12:00:00Z", 100, 300)];
        let a = plan_audio_clip(&clip, &files).unwrap();
        assert_eq!(a.gaps, [r("2024-04-01T12:05:00Z", "2024-04-01T12:06:00Z")]);
        assert_eq!(a.units(), 6000);
        let none = plan_audio_clip(&clip, &[]).unwrap();
        assert_eq!(none.gaps, [clip]);
        assert_eq!(none.achieved(), None);
        let e = plan_audio_clip(
            &clip,
            &[
                audio("A", "2024-04-01T12:00:00Z", 100, 300),
                audio("B", "2024-04-01T12:05:00Z", 200, 300),
            ],
        )
        .unwrap_err();
        assert!(e.to_string().contains("B is sampled at 200 Hz"), "{e}");
    }

    #[test]
    fn spectrogram_columns_by_centre_time_example_a() {
        // Prior art §2.4 A: 1000 columns of 0.3 s per 5-minute file.
        let dur = SignedDuration::from_secs(300);
        let files = [
            SpectSource {
                name: "f1".into(),
                column_times: even_column_times(t("2024-04-01T12:30:00Z"), dur, 1000),
                column_seconds: 0.3,
            },
            SpectSource {
                name: "f2".into(),
                column_times: even_column_times(t("2024-04-01T12:35:00Z"), dur, 1000),
                column_seconds: 0.3,
            },
        ];
        let clip = r("2024-04-01T12:34:35Z", "2024-04-01T12:35:05Z");
        let a = plan_spectrogram_clip(&clip, &files).unwrap();
        let got: Vec<(&str, u64, u64)> = a
            .pieces
            .iter()
            .map(|p| (p.name.as_str(), p.first, p.end))
            .collect();
        // Python took columns 916–999 of f1 only; centres in the clip are 917–999 and 0–16.
        assert_eq!(got, [("f1", 917, 1000), ("f2", 0, 17)]);
        assert_eq!(a.units(), 100);
        assert!(a.is_complete(), "{:?}", a.gaps);
    }

    #[test]
    fn spectrogram_drift_overlap_and_gap() {
        let dur = SignedDuration::from_secs(10);
        let files = [
            SpectSource {
                name: "a".into(),
                column_times: even_column_times(t("2024-04-01T00:00:00Z"), dur, 10),
                column_seconds: 1.0,
            },
            // Starts 0.8 s before `a` ends: its first column (centre 9.7 s) lies in what `a`
            // already covers, so it is dropped.
            SpectSource {
                name: "b".into(),
                column_times: even_column_times(t("2024-04-01T00:00:09.200Z"), dur, 10),
                column_seconds: 1.0,
            },
            // Starts 5.4 s after `b` ends.
            SpectSource {
                name: "c".into(),
                column_times: even_column_times(t("2024-04-01T00:00:24.600Z"), dur, 10),
                column_seconds: 1.0,
            },
        ];
        let clip = r("2024-04-01T00:00:05Z", "2024-04-01T00:00:30Z");
        let a = plan_spectrogram_clip(&clip, &files).unwrap();
        let got: Vec<(&str, u64, u64)> = a
            .pieces
            .iter()
            .map(|p| (p.name.as_str(), p.first, p.end))
            .collect();
        assert_eq!(got, [("a", 5, 10), ("b", 1, 10), ("c", 0, 5)]);
        assert_eq!(a.gaps.len(), 1);
        assert_eq!(format_onc(a.gaps[0].start()), "2024-04-01T00:00:19.200Z");
        assert_eq!(format_onc(a.gaps[0].end()), "2024-04-01T00:00:24.600Z");
    }

    #[test]
    fn bad_spectrogram_metadata_is_an_error() {
        let clip = r("2024-04-01T00:00:00Z", "2024-04-01T00:00:10Z");
        let bad = SpectSource {
            name: "z".into(),
            column_times: vec![t("2024-04-01T00:00:01Z"), t("2024-04-01T00:00:00Z")],
            column_seconds: 1.0,
        };
        assert!(plan_spectrogram_clip(&clip, &[bad]).is_err());
        for width in [f64::NAN, 0.0, -1.0, 1e300] {
            let bad = SpectSource {
                name: "z".into(),
                column_times: vec![t("2024-04-01T00:00:01Z")],
                column_seconds: width,
            };
            assert!(plan_spectrogram_clip(&clip, &[bad]).is_err(), "{width}");
        }
    }
}
