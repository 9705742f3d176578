//! Audio clips cut from OOI's raw miniSEED files, streamed: the files of a device's raw folder
//! that can reach the clip are scanned by record header only (traces joined by libmseed's
//! rule: same channel, each record starting within half a sample of where the last ended), the
//! clip is planned over those traces with the same planner as ONC audio (`clip`), and the
//! samples of each planned piece are decoded record by record and streamed into the FLAC
//! writer. Memory is a few records plus, for clips up to [`BUFFERED_SAMPLES`], the clip's own
//! samples (to choose the bit depth in one pass); longer clips take two passes (range, then
//! write) and never hold more than a record. Writing, and the zero fill of interior gaps, is
//! `clip_write`'s, shared with ONC clips; the record lists every source and gap.
//!
//! FLAC depth: 24-bit when every sample fits in 24 bits, else 32-bit.
//!
//! Must not know: HTTP, the engine, terminals.

use std::path::{Path, PathBuf};

use jiff::SignedDuration;

use super::clip::{plan_audio_clip, AudioSource, ClipAssembly, Piece};
use super::clip_write::{total_samples, walk, write_clip_flac, Emit, AUDIO_GAPS};
use super::clips_cut::{ClipCutError, Interval, ProductRecord};
use super::grid::TimeRange;
use crate::media::{
    decode_record, ns_to_timestamp, offset_ns, FlacSpec, MediaError, MseedRecords, MseedSamples,
    SourceId,
};
use crate::ooi::{start_from_name, MAX_FILE_SECONDS};

/// Clips of at most this many samples are held in memory once (300 s at 64 kHz is 19.2 M).
pub const BUFFERED_SAMPLES: u64 = 1 << 25;

/// One trace of a raw file, from its record headers.
#[derive(Debug, Clone, PartialEq)]
pub struct RawTrace {
    /// The file.
    pub path: PathBuf,
    /// The channel.
    pub id: SourceId,
    /// First sample, ns since 1970 UTC.
    pub start_ns: i64,
    /// Samples per second.
    pub rate: f64,
    /// Samples in the trace.
    pub samples: u64,
}

impl RawTrace {
    fn next_ns(&self) -> i64 {
        self.start_ns
            .saturating_add(offset_ns(self.samples, self.rate))
    }
}

fn mseed_err(path: &Path) -> impl Fn(MediaError) -> ClipCutError + '_ {
    move |e| ClipCutError::Media(e.with_file(path))
}

fn open(path: &Path) -> Result<MseedRecords<std::io::BufReader<std::fs::File>>, ClipCutError> {
    let f = std::fs::File::open(path).map_err(|source| ClipCutError::Io {
        what: "cannot open",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(MseedRecords::new(std::io::BufReader::with_capacity(
        1 << 16,
        f,
    )))
}

/// The traces of one miniSEED file from its record headers (no sample is decoded).
pub fn scan_traces(path: &Path) -> Result<Vec<RawTrace>, ClipCutError> {
    let mut recs = open(path)?;
    let mut traces: Vec<RawTrace> = Vec::new();
    while let Some(h) = recs.next_record().map_err(mseed_err(path))? {
        if h.num_samples == 0 || !(h.sample_rate > 0.0 && h.sample_rate.is_finite()) {
            continue;
        }
        let half = offset_ns(1, h.sample_rate) / 2;
        let n = h.num_samples as u64;
        match traces.iter_mut().rev().find(|t| {
            t.id == h.id
                && (1.0 - t.rate / h.sample_rate).abs() < 1e-4
                && (h.start_ns - t.next_ns()).abs() <= half
        }) {
            Some(t) => t.samples += n,
            None => traces.push(RawTrace {
                path: path.to_path_buf(),
                id: h.id.clone(),
                start_ns: h.start_ns,
                rate: h.sample_rate,
                samples: n,
            }),
        }
    }
    traces.sort_by_key(|t| t.start_ns);
    Ok(traces)
}

/// The traces of the `.mseed` files in `dir` that can reach `range` (files named with their
/// start, as the archive and `ooi raw` name them), in time order.
pub fn raw_traces(dir: &Path, range: &TimeRange) -> Result<Vec<RawTrace>, ClipCutError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let earliest = range
        .start()
        .checked_sub(SignedDuration::from_secs(MAX_FILE_SECONDS))
        .unwrap_or(range.start());
    let mut files: Vec<(jiff::Timestamp, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let start = start_from_name(&name)?;
            (start >= earliest && start < range.end()).then(|| (start, e.path()))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for (_, path) in files {
        out.extend(scan_traces(&path)?);
    }
    Ok(out)
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The planner's view of the traces (rates must be whole hertz).
fn sources(traces: &[RawTrace]) -> Result<Vec<AudioSource>, ClipCutError> {
    traces
        .iter()
        .map(|t| {
            if t.rate.fract() != 0.0 || t.rate > f64::from(u32::MAX) {
                return Err(ClipCutError::Source {
                    file: t.path.clone(),
                    reason: format!("sample rate {} Hz is not a whole number", t.rate),
                });
            }
            Ok(AudioSource {
                name: name_of(&t.path),
                start: ns_to_timestamp(t.start_ns),
                sample_rate: t.rate as u32,
                samples: t.samples,
            })
        })
        .collect()
}

/// Streams samples `[first, end)` of `trace`, decoding only the records that hold them.
pub fn stream_trace(
    trace: &RawTrace,
    first: u64,
    end: u64,
    emit: &mut Emit<'_>,
) -> Result<(), ClipCutError> {
    let path = &trace.path;
    let mut recs = open(path)?;
    let rate = trace.rate as i128;
    while let Some(h) = recs.next_record().map_err(mseed_err(path))? {
        if h.id != trace.id || h.num_samples == 0 {
            continue;
        }
        let off = i128::from(h.start_ns) - i128::from(trace.start_ns);
        // The record's first sample index in the trace (records start within half a sample).
        let idx = (off * rate * 2 + 1_000_000_000).div_euclid(2_000_000_000);
        if idx < 0 || idx >= i128::from(trace.samples) {
            continue; // another trace of the file
        }
        let idx = idx as u64;
        let n = h.num_samples as u64;
        if idx + n <= first {
            continue;
        }
        if idx >= end {
            break;
        }
        let samples = decode_record(recs.record(), &h, recs.offset()).map_err(mseed_err(path))?;
        let MseedSamples::Int(v) = samples else {
            return Err(ClipCutError::Source {
                file: path.clone(),
                reason: "floating-point samples; clips take integer (Steim/int) data".into(),
            });
        };
        let a = first.saturating_sub(idx) as usize;
        let b = ((end - idx) as usize).min(v.len());
        if a < b {
            emit(&v[a..b])?;
        }
    }
    Ok(())
}

fn fits_24(v: &[i32]) -> bool {
    v.iter().all(|&x| (-(1 << 23)..(1 << 23)).contains(&x))
}

/// The traces that can reach `clip`, the clip's plan over them, and its record as a cut now
/// would write it (no file, no samples yet). Reads record headers only.
fn plan_raw(
    clip: &TimeRange,
    dir: &Path,
) -> Result<(Vec<RawTrace>, ClipAssembly, ProductRecord), ClipCutError> {
    let traces = raw_traces(dir, clip)?;
    let srcs = sources(&traces)?;
    let assembly = plan_audio_clip(clip, &srcs)?;
    let rate = assembly.pieces.first().map(|p| srcs[p.source].sample_rate);
    let mut record = ProductRecord {
        file: None,
        achieved: assembly.achieved().as_ref().map(Interval::from),
        sources: assembly.pieces.iter().map(|p| p.name.clone()).collect(),
        gaps: assembly.gaps.iter().map(Interval::from).collect(),
        units: 0,
        sample_rate: rate,
        bits_per_sample: None,
        gap_handling: AUDIO_GAPS,
    };
    record.sources.dedup();
    Ok((traces, assembly, record))
}

/// The sources and gaps a cut of `clip` from `dir` would record now (headers only): a window
/// cut earlier with the same ones needs no new cut.
pub(crate) fn raw_coverage(
    clip: &TimeRange,
    dir: &Path,
) -> Result<(Vec<String>, Vec<Interval>), ClipCutError> {
    let (_, _, record) = plan_raw(clip, dir)?;
    Ok((record.sources, record.gaps))
}

/// Cuts the audio clip `clip` from the raw files in `dir` into `target` (FLAC, 24-bit when
/// every sample fits, else 32-bit). Without any covering file nothing is written and the
/// record says the whole interval is a gap.
pub fn cut_raw_audio(
    clip: &TimeRange,
    dir: &Path,
    target: &Path,
) -> Result<ProductRecord, ClipCutError> {
    let (traces, assembly, mut record) = plan_raw(clip, dir)?;
    let Some(rate) = record.sample_rate else {
        return Ok(record);
    };
    let total = total_samples(&assembly, rate);
    let mut piece =
        |p: &Piece, emit: &mut Emit<'_>| stream_trace(&traces[p.source], p.first, p.end, emit);
    let mut buffer: Option<Vec<i32>> = None;
    let bits = if total <= BUFFERED_SAMPLES {
        let mut all = Vec::with_capacity(total as usize);
        walk(&assembly, rate, &mut piece, &mut |s| {
            all.extend_from_slice(s);
            Ok(())
        })?;
        let bits = if fits_24(&all) { 24 } else { 32 };
        buffer = Some(all);
        bits
    } else {
        let mut fits = true;
        walk(&assembly, rate, &mut piece, &mut |s| {
            fits &= fits_24(s);
            Ok(())
        })?;
        if fits {
            24
        } else {
            32
        }
    };
    let spec = FlacSpec {
        sample_rate: rate,
        bits_per_sample: bits,
        channels: 1,
    };
    write_clip_flac(target, &spec, total, |emit| match &buffer {
        Some(all) => all.chunks(1 << 16).try_for_each(&mut *emit),
        None => walk(&assembly, rate, &mut piece, emit),
    })?;
    record.units = total;
    record.bits_per_sample = Some(bits);
    record.file = Some(name_of(target));
    Ok(record)
}
