//! miniSEED 2 reading: record headers (the 48-byte fixed header, blockettes 100, 1000 and 1001),
//! sample decoding (Steim-1, Steim-2, int16, int32, float32, float64; either byte order), and
//! records joined into contiguous traces with exact start times.
//!
//! Times are integer nanoseconds since 1970 (UTC): a record's start is its BTIME (0.1 ms) plus
//! blockette 1001's microseconds plus the header's time correction when the activity flags say
//! it is not applied yet, as libmseed and ObsPy do. A record continues a trace when it has the
//! same `NET.STA.LOC.CHA`, a sample rate within libmseed's tolerance (|1 − r1/r2| < 1e-4), the
//! same sample type, and starts within half a sample period of the trace's expected next sample
//! time; otherwise it opens a new trace (a gap, an overlap, or an interleaved channel).
//!
//! Memory: records are read one at a time into one buffer of at most [`MAX_RECORD_LEN`] bytes;
//! a header's sample count is checked against what its data area can hold before anything is
//! reserved, so the decoded output is bounded by the file's size. [`scan_mseed_path`] keeps no
//! samples at all (verification of downloads). No input makes this module panic.
//!
//! Must not know: network, annotations, hydrophone windows, where files come from.

use std::io::Read;
use std::path::Path;

use super::error::{mem, MediaError};
use super::mseed_steim::{self as steim, Steim};

/// The largest record accepted (2^20 bytes); records declare their length in blockette 1000.
pub const MAX_RECORD_LEN: usize = 1 << 20;
/// The smallest record (2^7 bytes).
pub const MIN_RECORD_LEN: usize = 128;
const FIXED_LEN: usize = 48;
const FORMAT: &str = "miniSEED";

/// How a record's samples are stored (blockette 1000's encoding code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MseedEncoding {
    /// 0: ASCII text (log records; skipped by the readers).
    Text,
    /// 1: 16-bit integers.
    Int16,
    /// 3: 32-bit integers.
    Int32,
    /// 4: IEEE 32-bit floats.
    Float32,
    /// 5: IEEE 64-bit floats.
    Float64,
    /// 10: Steim-1 compressed integers.
    Steim1,
    /// 11: Steim-2 compressed integers.
    Steim2,
}

impl MseedEncoding {
    /// The SEED code of the encoding.
    pub fn code(self) -> u8 {
        match self {
            MseedEncoding::Text => 0,
            MseedEncoding::Int16 => 1,
            MseedEncoding::Int32 => 3,
            MseedEncoding::Float32 => 4,
            MseedEncoding::Float64 => 5,
            MseedEncoding::Steim1 => 10,
            MseedEncoding::Steim2 => 11,
        }
    }

    /// The encoding of a SEED code, if read here.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => MseedEncoding::Text,
            1 => MseedEncoding::Int16,
            3 => MseedEncoding::Int32,
            4 => MseedEncoding::Float32,
            5 => MseedEncoding::Float64,
            10 => MseedEncoding::Steim1,
            11 => MseedEncoding::Steim2,
            _ => return None,
        })
    }
}

/// A channel's identity: network, station, location and channel codes (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId {
    /// Network code, e.g. `OO`.
    pub network: String,
    /// Station code, e.g. `AXBA1`.
    pub station: String,
    /// Location code (may be empty).
    pub location: String,
    /// Channel code, e.g. `YDH`.
    pub channel: String,
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SourceId {
            network,
            station,
            location,
            channel,
        } = self;
        write!(f, "{network}.{station}.{location}.{channel}")
    }
}

/// One record's header, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordHeader {
    /// The channel.
    pub id: SourceId,
    /// Data quality indicator (`D`, `R`, `Q` or `M`).
    pub quality: char,
    /// Start time of the first sample, ns since 1970 UTC.
    pub start_ns: i64,
    /// Samples per second (blockette 100's value when present).
    pub sample_rate: f64,
    /// Samples in the record.
    pub num_samples: usize,
    /// How the samples are stored.
    pub encoding: MseedEncoding,
    /// Record length in bytes.
    pub record_len: usize,
    /// Byte order of the header (and, per blockette 1000, of the data).
    pub big_endian: bool,
    /// Offset of the data area in the record.
    pub data_offset: usize,
}

/// Decoded samples of one trace.
#[derive(Debug, Clone, PartialEq)]
pub enum MseedSamples {
    /// Integers (int16, int32, Steim-1, Steim-2).
    Int(Vec<i32>),
    /// 32-bit floats.
    Float32(Vec<f32>),
    /// 64-bit floats.
    Float64(Vec<f64>),
}

impl MseedSamples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            MseedSamples::Int(v) => v.len(),
            MseedSamples::Float32(v) => v.len(),
            MseedSamples::Float64(v) => v.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn empty_like(enc: MseedEncoding) -> Self {
        match enc {
            MseedEncoding::Float32 => MseedSamples::Float32(Vec::new()),
            MseedEncoding::Float64 => MseedSamples::Float64(Vec::new()),
            _ => MseedSamples::Int(Vec::new()),
        }
    }

    fn same_kind(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    fn append(&mut self, other: MseedSamples) {
        match (self, other) {
            (MseedSamples::Int(a), MseedSamples::Int(b)) => a.extend(b),
            (MseedSamples::Float32(a), MseedSamples::Float32(b)) => a.extend(b),
            (MseedSamples::Float64(a), MseedSamples::Float64(b)) => a.extend(b),
            _ => {} // callers check same_kind first
        }
    }
}

/// A contiguous run of samples of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct MseedTrace {
    /// The channel.
    pub id: SourceId,
    /// Time of the first sample, ns since 1970 UTC.
    pub start_ns: i64,
    /// Samples per second.
    pub sample_rate: f64,
    /// The samples (empty in a [`scan_mseed_path`] summary).
    pub samples: MseedSamples,
    /// Number of samples (equals `samples.len()` unless the samples were not kept).
    pub num_samples: u64,
}

impl MseedTrace {
    /// Offset of sample `n` from the first, in ns (exact for integer rates).
    pub fn offset_ns(&self, n: u64) -> i64 {
        offset_ns(n, self.sample_rate)
    }

    /// Expected time of the sample after the last one, ns since 1970 UTC.
    pub fn next_ns(&self) -> i64 {
        self.start_ns
            .saturating_add(self.offset_ns(self.num_samples))
    }

    /// The first sample's time as a timestamp (clamped to jiff's range).
    pub fn start(&self) -> jiff::Timestamp {
        ns_to_timestamp(self.start_ns)
    }
}

/// A timestamp from ns since 1970 (clamped to jiff's range).
pub fn ns_to_timestamp(ns: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(if ns < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// Offset of sample `n` at `rate` Hz in ns, rounded; exact integer arithmetic for integer rates.
pub fn offset_ns(n: u64, rate: f64) -> i64 {
    if !(rate > 0.0 && rate.is_finite()) {
        return 0;
    }
    if rate.fract() == 0.0 && rate <= 1e12 {
        let r = rate as i128;
        let v = (i128::from(n) * 2_000_000_000 + r) / (2 * r);
        return i64::try_from(v).unwrap_or(i64::MAX);
    }
    let v = (n as f64 * 1e9 / rate).round();
    if v >= i64::MAX as f64 {
        i64::MAX
    } else {
        v as i64
    }
}

fn malformed(offset: u64, reason: impl Into<String>) -> MediaError {
    MediaError::Malformed {
        file: mem(),
        format: FORMAT,
        offset,
        reason: reason.into(),
    }
}

fn u16_at(b: &[u8], i: usize, be: bool) -> u16 {
    let v = [b[i], b[i + 1]];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

fn u32_at(b: &[u8], i: usize, be: bool) -> u32 {
    let v = [b[i], b[i + 1], b[i + 2], b[i + 3]];
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

fn code(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

/// Rate from the fixed header's factor and multiplier (SEED 2.4 §8).
fn header_rate(factor: i16, mult: i16) -> f64 {
    let (f, m) = (f64::from(factor), f64::from(mult));
    match (factor, mult) {
        (0, _) | (_, 0) => 0.0,
        (1.., 1..) => f * m,
        (1.., _) => -f / m,
        (_, 1..) => -m / f,
        _ => 1.0 / (f * m),
    }
}

/// Seconds since 1970 of `year`-01-01 + `doy` − 1 days, if the date is valid.
fn day_start_s(year: u16, doy: u16) -> Option<i64> {
    let jan1 = jiff::civil::Date::new(i16::try_from(year).ok()?, 1, 1).ok()?;
    if doy == 0 || doy > jan1.days_in_year() as u16 {
        return None;
    }
    let t = jan1.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(t.as_second() + (i64::from(doy) - 1) * 86_400)
}

/// Reads the header of the record at the start of `rec` (at least [`MIN_RECORD_LEN`] bytes;
/// the whole record when available, so that blockettes past the first 128 bytes are seen).
/// `offset` is where the record starts in its file, for errors.
pub fn parse_record_header(rec: &[u8], offset: u64) -> Result<RecordHeader, MediaError> {
    parse_header(rec, offset, false)
}

/// [`parse_record_header`]; with `partial`, `rec` is only the record's first bytes and the
/// blockette walk stops quietly at the first blockette beyond them.
fn parse_header(rec: &[u8], offset: u64, partial: bool) -> Result<RecordHeader, MediaError> {
    if rec.len() < FIXED_LEN {
        return Err(malformed(offset, "truncated fixed header"));
    }
    if !matches!(rec[6], b'D' | b'R' | b'Q' | b'M') {
        return Err(malformed(
            offset + 6,
            format!(
                "not a miniSEED data record (quality indicator {:?})",
                rec[6] as char
            ),
        ));
    }
    // Byte order: the one in which the year is plausible (libmseed's test).
    let be = (1900..=2100).contains(&u16_at(rec, 20, true));
    let year = u16_at(rec, 20, be);
    if !(1900..=2100).contains(&year) {
        return Err(malformed(offset + 20, format!("implausible year {year}")));
    }
    let doy = u16_at(rec, 22, be);
    let (hour, min, sec) = (rec[24], rec[25], rec[26]);
    let fract = u16_at(rec, 28, be);
    if hour > 23 || min > 59 || sec > 60 || fract > 9999 {
        return Err(malformed(
            offset + 24,
            format!("invalid start time {hour:02}:{min:02}:{sec:02}.{fract:04}"),
        ));
    }
    let day = day_start_s(year, doy)
        .ok_or_else(|| malformed(offset + 22, format!("invalid day {doy} of year {year}")))?;
    let num_samples = usize::from(u16_at(rec, 30, be));
    let mut rate = header_rate(u16_at(rec, 32, be) as i16, u16_at(rec, 34, be) as i16);
    let activity = rec[36];
    let nblk = rec[39];
    let correction = u32_at(rec, 40, be) as i32;
    let data_offset = usize::from(u16_at(rec, 44, be));
    let mut next = usize::from(u16_at(rec, 46, be));

    let mut b1000: Option<(u8, u8, u8)> = None;
    let mut usec = 0i64;
    let mut seen = 0u32;
    while next != 0 {
        seen += 1;
        if partial && next + 12 > rec.len() {
            break;
        }
        if seen > u32::from(nblk).max(1) + 8 || next < FIXED_LEN || next + 4 > rec.len() {
            return Err(malformed(
                offset + 46,
                format!("blockette chain points to byte {next}"),
            ));
        }
        let at = next;
        let kind = u16_at(rec, at, be);
        let following = usize::from(u16_at(rec, at + 2, be));
        let need = |len: usize| {
            if at + len > rec.len() {
                Err(malformed(
                    offset + at as u64,
                    format!("blockette {kind} runs past the record"),
                ))
            } else {
                Ok(())
            }
        };
        match kind {
            1000 => {
                need(8)?;
                b1000 = Some((rec[at + 4], rec[at + 5], rec[at + 6]));
            }
            1001 => {
                need(8)?;
                usec = i64::from(rec[at + 5] as i8);
            }
            100 => {
                need(12)?;
                let r = f32::from_bits(u32_at(rec, at + 4, be));
                if r.is_finite() && r > 0.0 {
                    rate = f64::from(r);
                }
            }
            _ => {}
        }
        if following != 0 && following <= at {
            return Err(malformed(
                offset + at as u64 + 2,
                format!("blockette chain goes backwards ({at} → {following})"),
            ));
        }
        next = following;
    }
    let Some((enc, order, exp)) = b1000 else {
        return Err(MediaError::Unsupported {
            file: mem(),
            format: FORMAT,
            reason: format!("record at byte {offset} has no blockette 1000 (record length)"),
        });
    };
    let encoding = MseedEncoding::from_code(enc).ok_or_else(|| MediaError::Unsupported {
        file: mem(),
        format: FORMAT,
        reason: format!("record at byte {offset}: encoding {enc} is not read here"),
    })?;
    if !(7..=20).contains(&exp) {
        return Err(malformed(
            offset,
            format!("record length 2^{exp} is outside 2^7..2^20"),
        ));
    }
    let record_len = 1usize << exp;
    if num_samples > 0 && (data_offset < FIXED_LEN || data_offset >= record_len) {
        return Err(malformed(
            offset + 44,
            format!("data offset {data_offset} outside the {record_len}-byte record"),
        ));
    }
    let mut start_ns = (day + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec))
        * 1_000_000_000
        + i64::from(fract) * 100_000
        + usec * 1000;
    if activity & 0x02 == 0 {
        start_ns += i64::from(correction) * 100_000;
    }
    Ok(RecordHeader {
        id: SourceId {
            network: code(&rec[18..20]),
            station: code(&rec[8..13]),
            location: code(&rec[13..15]),
            channel: code(&rec[15..18]),
        },
        quality: rec[6] as char,
        start_ns,
        sample_rate: rate,
        num_samples,
        encoding,
        record_len,
        big_endian: order != 0,
        data_offset,
    })
}

/// Decodes the samples of one whole record whose header is `h`.
pub fn decode_record(
    rec: &[u8],
    h: &RecordHeader,
    offset: u64,
) -> Result<MseedSamples, MediaError> {
    let mut out = MseedSamples::empty_like(h.encoding);
    if h.num_samples == 0 || h.encoding == MseedEncoding::Text {
        return Ok(out);
    }
    let end = h.record_len.min(rec.len());
    let data = rec.get(h.data_offset..end).unwrap_or(&[]);
    let n = h.num_samples;
    let be = h.big_endian;
    let too_many = |size: usize| {
        malformed(
            offset + h.data_offset as u64,
            format!(
                "{n} samples of {size} bytes cannot fit in a {}-byte data area",
                data.len()
            ),
        )
    };
    match (h.encoding, &mut out) {
        (MseedEncoding::Steim1 | MseedEncoding::Steim2, MseedSamples::Int(v)) => {
            let level = if h.encoding == MseedEncoding::Steim1 {
                Steim::One
            } else {
                Steim::Two
            };
            steim::decode(level, data, n, be, v)
                .map_err(|e| malformed(offset + h.data_offset as u64, e))?;
        }
        (MseedEncoding::Int16, MseedSamples::Int(v)) => {
            if n * 2 > data.len() {
                return Err(too_many(2));
            }
            v.extend((0..n).map(|i| i32::from(u16_at(data, i * 2, be) as i16)));
        }
        (MseedEncoding::Int32, MseedSamples::Int(v)) => {
            if n * 4 > data.len() {
                return Err(too_many(4));
            }
            v.extend((0..n).map(|i| u32_at(data, i * 4, be) as i32));
        }
        (MseedEncoding::Float32, MseedSamples::Float32(v)) => {
            if n * 4 > data.len() {
                return Err(too_many(4));
            }
            v.extend((0..n).map(|i| f32::from_bits(u32_at(data, i * 4, be))));
        }
        (MseedEncoding::Float64, MseedSamples::Float64(v)) => {
            if n * 8 > data.len() {
                return Err(too_many(8));
            }
            v.extend((0..n).map(|i| {
                let (hi, lo) = (u32_at(data, i * 8, be), u32_at(data, i * 8 + 4, be));
                let bits = if be {
                    (u64::from(hi) << 32) | u64::from(lo)
                } else {
                    (u64::from(lo) << 32) | u64::from(hi)
                };
                f64::from_bits(bits)
            }));
        }
        _ => {}
    }
    Ok(out)
}

/// Reads records one at a time from a byte stream, with one reused buffer.
pub struct MseedRecords<R> {
    src: R,
    buf: Vec<u8>,
    offset: u64,
    len: usize,
}

impl<R: Read> MseedRecords<R> {
    /// A record reader over `src`.
    pub fn new(src: R) -> Self {
        MseedRecords {
            src,
            buf: Vec::new(),
            offset: 0,
            len: 0,
        }
    }

    /// The bytes of the record last returned by [`Self::next_record`].
    pub fn record(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Byte offset of the record last returned.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record's header, or `None` at a clean end of the stream.
    pub fn next_record(&mut self) -> Result<Option<RecordHeader>, MediaError> {
        self.offset += self.len as u64;
        self.len = 0;
        self.buf.resize(MIN_RECORD_LEN, 0);
        let got = fill(&mut self.src, &mut self.buf[..MIN_RECORD_LEN], self.offset)?;
        if got == 0 {
            return Ok(None);
        }
        if got < MIN_RECORD_LEN {
            return Err(malformed(
                self.offset,
                format!("truncated record ({got} bytes at the end of the file)"),
            ));
        }
        let h = parse_header(&self.buf[..MIN_RECORD_LEN], self.offset, true)?;
        self.buf.resize(h.record_len, 0);
        let rest = fill(
            &mut self.src,
            &mut self.buf[MIN_RECORD_LEN..h.record_len],
            self.offset,
        )?;
        if MIN_RECORD_LEN + rest < h.record_len {
            return Err(malformed(
                self.offset,
                format!(
                    "truncated record: {} of {} bytes",
                    MIN_RECORD_LEN + rest,
                    h.record_len
                ),
            ));
        }
        self.len = h.record_len;
        // Re-read with the whole record visible (blockettes beyond the first 128 bytes).
        parse_record_header(&self.buf[..self.len], self.offset).map(Some)
    }
}

fn fill<R: Read>(src: &mut R, buf: &mut [u8], offset: u64) -> Result<usize, MediaError> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(MediaError::Io {
                    file: mem(),
                    source: std::io::Error::new(
                        source.kind(),
                        format!("at byte {offset}: {source}"),
                    ),
                })
            }
        }
    }
    Ok(got)
}

/// Joins decoded records into traces (see the module doc for the rule).
#[derive(Debug, Default)]
pub struct TraceJoiner {
    traces: Vec<MseedTrace>,
    keep: bool,
    /// Records skipped because they carry no samples (text, zero rate or count).
    pub skipped_records: usize,
    /// Records joined.
    pub records: usize,
}

impl TraceJoiner {
    /// A joiner that keeps samples (`keep`) or only counts them.
    pub fn new(keep: bool) -> Self {
        TraceJoiner {
            keep,
            ..Default::default()
        }
    }

    /// Adds one record's samples.
    pub fn push(&mut self, h: &RecordHeader, samples: MseedSamples) {
        let n = samples.len() as u64;
        if n == 0 || h.sample_rate <= 0.0 || !h.sample_rate.is_finite() {
            self.skipped_records += 1;
            return;
        }
        self.records += 1;
        let half = offset_ns(1, h.sample_rate) / 2;
        let found = self.traces.iter_mut().rev().find(|t| {
            t.id == h.id
                && (1.0 - t.sample_rate / h.sample_rate).abs() < 1e-4
                && t.samples.same_kind(&samples)
                && (h.start_ns - t.next_ns()).abs() <= half
        });
        match found {
            Some(t) => {
                t.num_samples += n;
                if self.keep {
                    t.samples.append(samples);
                }
            }
            None => self.traces.push(MseedTrace {
                id: h.id.clone(),
                start_ns: h.start_ns,
                sample_rate: h.sample_rate,
                samples: if self.keep {
                    samples
                } else {
                    MseedSamples::empty_like(h.encoding)
                },
                num_samples: n,
            }),
        }
    }

    /// The traces, ordered by channel then start time.
    pub fn finish(mut self) -> Vec<MseedTrace> {
        self.traces
            .sort_by(|a, b| a.id.cmp(&b.id).then(a.start_ns.cmp(&b.start_ns)));
        self.traces
    }
}

fn read_all<R: Read>(src: R, keep: bool) -> Result<(Vec<MseedTrace>, usize), MediaError> {
    let mut recs = MseedRecords::new(src);
    let mut join = TraceJoiner::new(keep);
    while let Some(h) = recs.next_record()? {
        let s = decode_record(recs.record(), &h, recs.offset())?;
        join.push(&h, s);
    }
    let n = join.records;
    Ok((join.finish(), n))
}

/// Reads every record of a miniSEED stream into traces.
pub fn read_mseed<R: Read>(src: R) -> Result<Vec<MseedTrace>, MediaError> {
    read_all(src, true).map(|(t, _)| t)
}

/// Reads a miniSEED file into traces. Errors name the file.
pub fn read_mseed_path(path: &Path) -> Result<Vec<MseedTrace>, MediaError> {
    let f = open(path)?;
    read_mseed(std::io::BufReader::new(f)).map_err(|e| e.with_file(path))
}

/// What [`scan_mseed_path`] found: every record decoded (integration constants checked), the
/// traces with their sample counts but no samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MseedSummary {
    /// Data records read.
    pub records: usize,
    /// Traces, each with `num_samples` set and `samples` empty.
    pub traces: Vec<MseedTrace>,
}

impl MseedSummary {
    /// Samples over all traces.
    pub fn total_samples(&self) -> u64 {
        self.traces.iter().map(|t| t.num_samples).sum()
    }
}

/// Decodes a whole file record by record keeping no samples: a verification that every record
/// header is sound and every record decodes, with the traces it forms. Memory is one record.
pub fn scan_mseed_path(path: &Path) -> Result<MseedSummary, MediaError> {
    let f = open(path)?;
    let (traces, records) =
        read_all(std::io::BufReader::new(f), false).map_err(|e| e.with_file(path))?;
    Ok(MseedSummary { records, traces })
}

fn open(path: &Path) -> Result<std::fs::File, MediaError> {
    std::fs::File::open(path).map_err(|source| MediaError::Io {
        file: path.to_path_buf(),
        source,
    })
}
