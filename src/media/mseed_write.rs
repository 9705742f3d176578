//! miniSEED 2 writing: traces cut into fixed-length records (512 … 4096 … 2^20 bytes), each with
//! the 48-byte fixed header, blockette 1000 (encoding, byte order, length) and blockette 1001
//! (microseconds, frames used), data big-endian as Steim-2 (the default, what the OOI archive
//! serves), Steim-1, int16, int32, float32 or float64. Record start times are the trace's start
//! plus the exact offset of the record's first sample, rounded to the microsecond.
//!
//! Must not know: network, where the samples come from.

use std::path::Path;

use super::error::{mem, MediaError};
use super::mseed::{offset_ns, MseedEncoding, MseedSamples, MseedTrace, MAX_RECORD_LEN};
use super::mseed_steim::{self as steim, Steim, FRAME_LEN};

/// Header bytes before the data: fixed header, blockette 1000 at 48, blockette 1001 at 56.
const DATA_OFFSET: usize = 64;

/// How [`encode_mseed`] writes records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MseedWriteOptions {
    /// Record length in bytes: a power of two from 256 to 2^20 (512 and 4096 are usual).
    pub record_len: usize,
    /// Sample encoding; integer traces take Steim-1/2, int16 or int32, float traces the float
    /// encoding of their type.
    pub encoding: MseedEncoding,
}

impl Default for MseedWriteOptions {
    /// 4096-byte Steim-2 records.
    fn default() -> Self {
        MseedWriteOptions {
            record_len: 4096,
            encoding: MseedEncoding::Steim2,
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MediaError {
    MediaError::Invalid {
        file: mem(),
        field,
        reason: reason.into(),
    }
}

/// The fixed header's (factor, multiplier) for `rate` Hz.
fn rate_codes(rate: f64) -> Result<(i16, i16), MediaError> {
    let bad = || invalid("sample rate", format!("{rate} Hz cannot be written"));
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(bad());
    }
    if rate.fract() == 0.0 && rate <= 32767.0 * 32767.0 {
        let r = rate as i64;
        return (1..=32767i64)
            .find(|m| r % m == 0 && r / m <= 32767)
            .map(|m| ((r / m) as i16, m as i16))
            .ok_or_else(bad);
    }
    let period = 1.0 / rate;
    if period.fract() == 0.0 && period <= 32767.0 {
        return Ok((-(period as i16), 1));
    }
    // Approximate as factor / divisor with the largest divisor that keeps factor in range.
    let d = (32767.0 / rate).floor().clamp(1.0, 32767.0);
    let f = (rate * d).round();
    if !(1.0..=32767.0).contains(&f) {
        return Err(bad());
    }
    Ok((f as i16, -(d as i16)))
}

fn code_field(dst: &mut [u8], value: &str, what: &'static str) -> Result<(), MediaError> {
    if value.len() > dst.len() || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(
            what,
            format!(
                "{value:?} must be at most {} ASCII letters or digits",
                dst.len()
            ),
        ));
    }
    dst.fill(b' ');
    dst[..value.len()].copy_from_slice(value.as_bytes());
    Ok(())
}

/// Writes the BTIME of `ns` (rounded to µs) at `hdr[20..30]` and returns the blockette-1001
/// microsecond offset (−50…49).
fn put_time(hdr: &mut [u8], ns: i64) -> Result<i8, MediaError> {
    let us = (ns + 500).div_euclid(1000);
    let units = (us + 50).div_euclid(100);
    let usec = (us - units * 100) as i8;
    let (secs, fract) = (units.div_euclid(10_000), units.rem_euclid(10_000));
    let z = jiff::Timestamp::from_second(secs)
        .map_err(|e| invalid("start time", e.to_string()))?
        .to_zoned(jiff::tz::TimeZone::UTC);
    let year = z.year();
    if !(1900..=2100).contains(&year) {
        return Err(invalid(
            "start time",
            format!("year {year} outside 1900..2100"),
        ));
    }
    hdr[20..22].copy_from_slice(&(year as u16).to_be_bytes());
    hdr[22..24].copy_from_slice(&(z.day_of_year() as u16).to_be_bytes());
    hdr[24] = z.hour() as u8;
    hdr[25] = z.minute() as u8;
    hdr[26] = z.second() as u8;
    hdr[27] = 0;
    hdr[28..30].copy_from_slice(&(fract as u16).to_be_bytes());
    Ok(usec)
}

/// Appends the records of one trace to `out`; `seq` is the running sequence number.
fn write_trace(
    t: &MseedTrace,
    opts: &MseedWriteOptions,
    seq: &mut u32,
    out: &mut Vec<u8>,
) -> Result<(), MediaError> {
    let (factor, mult) = rate_codes(t.sample_rate)?;
    let mut fixed = [0u8; DATA_OFFSET];
    fixed[6] = b'D';
    fixed[7] = b' ';
    code_field(&mut fixed[8..13], &t.id.station, "station code")?;
    code_field(&mut fixed[13..15], &t.id.location, "location code")?;
    code_field(&mut fixed[15..18], &t.id.channel, "channel code")?;
    code_field(&mut fixed[18..20], &t.id.network, "network code")?;
    fixed[32..34].copy_from_slice(&factor.to_be_bytes());
    fixed[34..36].copy_from_slice(&mult.to_be_bytes());
    fixed[39] = 2; // blockettes 1000 and 1001
    fixed[44..46].copy_from_slice(&(DATA_OFFSET as u16).to_be_bytes());
    fixed[46..48].copy_from_slice(&48u16.to_be_bytes());
    // Blockette 1000 at 48 → 1001 at 56.
    fixed[48..50].copy_from_slice(&1000u16.to_be_bytes());
    fixed[50..52].copy_from_slice(&56u16.to_be_bytes());
    fixed[52] = opts.encoding.code();
    fixed[53] = 1; // big-endian
    fixed[54] = opts.record_len.trailing_zeros() as u8;
    fixed[56..58].copy_from_slice(&1001u16.to_be_bytes());

    let area = opts.record_len - DATA_OFFSET;
    let n = t.samples.len();
    let mut i = 0usize;
    while i < n {
        let rec_start = out.len();
        out.extend_from_slice(&fixed);
        let frames_used;
        let count = match (&t.samples, opts.encoding) {
            (MseedSamples::Int(v), MseedEncoding::Steim1 | MseedEncoding::Steim2) => {
                let level = if opts.encoding == MseedEncoding::Steim1 {
                    Steim::One
                } else {
                    Steim::Two
                };
                let take = &v[i..n.min(i + usize::from(u16::MAX))];
                let prev = i.checked_sub(1).map(|p| v[p]);
                let packed = steim::encode(level, take, prev, area / FRAME_LEN, out)
                    .map_err(|e| invalid("samples", format!("trace {}: {e}", t.id)))?;
                frames_used = packed.frames;
                packed.samples
            }
            (MseedSamples::Int(v), MseedEncoding::Int16) => {
                let k = (n - i).min(area / 2).min(usize::from(u16::MAX));
                for (j, &x) in v[i..i + k].iter().enumerate() {
                    let s = i16::try_from(x).map_err(|_| {
                        invalid(
                            "samples",
                            format!("sample {} = {x} does not fit int16", i + j),
                        )
                    })?;
                    out.extend_from_slice(&s.to_be_bytes());
                }
                frames_used = 0;
                k
            }
            (MseedSamples::Int(v), MseedEncoding::Int32) => {
                let k = (n - i).min(area / 4).min(usize::from(u16::MAX));
                v[i..i + k]
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_be_bytes()));
                frames_used = 0;
                k
            }
            (MseedSamples::Float32(v), MseedEncoding::Float32) => {
                let k = (n - i).min(area / 4).min(usize::from(u16::MAX));
                v[i..i + k]
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_be_bytes()));
                frames_used = 0;
                k
            }
            (MseedSamples::Float64(v), MseedEncoding::Float64) => {
                let k = (n - i).min(area / 8).min(usize::from(u16::MAX));
                v[i..i + k]
                    .iter()
                    .for_each(|x| out.extend_from_slice(&x.to_be_bytes()));
                frames_used = 0;
                k
            }
            _ => {
                out.truncate(rec_start);
                return Err(invalid(
                    "encoding",
                    format!("{:?} cannot store these samples", opts.encoding),
                ));
            }
        };
        if count == 0 {
            out.truncate(rec_start);
            return Err(invalid("record length", "no sample fits in a record"));
        }
        out.resize(rec_start + opts.record_len, 0);
        let hdr = &mut out[rec_start..rec_start + DATA_OFFSET];
        hdr[0..6].copy_from_slice(format!("{:06}", *seq).as_bytes());
        *seq = if *seq >= 999_999 { 1 } else { *seq + 1 };
        let ns = t
            .start_ns
            .saturating_add(offset_ns(i as u64, t.sample_rate));
        let usec = put_time(hdr, ns)?;
        hdr[30..32].copy_from_slice(&(count as u16).to_be_bytes());
        hdr[61] = usec as u8;
        hdr[63] = frames_used.min(255) as u8;
        i += count;
    }
    Ok(())
}

/// Encodes `traces` (in order, each into its own records) as a miniSEED byte stream.
pub fn encode_mseed(
    traces: &[MseedTrace],
    opts: &MseedWriteOptions,
) -> Result<Vec<u8>, MediaError> {
    if !opts.record_len.is_power_of_two() || !(256..=MAX_RECORD_LEN).contains(&opts.record_len) {
        return Err(invalid(
            "record length",
            format!("{} is not a power of two from 256 to 2^20", opts.record_len),
        ));
    }
    let mut out = Vec::new();
    let mut seq = 1u32;
    for t in traces {
        write_trace(t, opts, &mut seq, &mut out)?;
    }
    Ok(out)
}

/// Writes `traces` to `path` atomically (temporary file, fsync, rename). Errors name `path`.
pub fn write_mseed_path(
    path: &Path,
    traces: &[MseedTrace],
    opts: &MseedWriteOptions,
) -> Result<(), MediaError> {
    let bytes = encode_mseed(traces, opts).map_err(|e| e.with_file(path))?;
    super::write_atomic(path, &bytes)
}
