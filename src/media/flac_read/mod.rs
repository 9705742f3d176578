//! A fast FLAC decoder for the analysis hot path: streams of up to 24 bits per sample and up to
//! 8 channels, read frame by frame from a bounded buffer, with both checksums of every frame
//! verified (header CRC-8, frame CRC-16) and, optionally, SHA-256 of every byte of the file
//! computed from the same reads (one pass over the file for decode + provenance).
//!
//! Why our own: on a 5-minute 64 kHz 24-bit file symphonia spent most of its decode time in
//! bit-by-bit rice decoding; here a residual is one `leading_zeros` plus shifts on a 64-bit
//! bit cache (`bits.rs`) and an LPC sample one multiply-add-shift on its dependency chain
//! (`lpc.rs`); see benches/spectrogram.rs `decode` for the numbers against symphonia, claxon
//! and libFLAC. Streams it does not take (more than 24 bits, more than 8 channels) are left to
//! symphonia by `decode.rs`.
//!
//! Layout: this file owns the stream (buffering, metadata, SHA-256) and the frame (header,
//! CRC-8, channel decorrelation, CRC-16); `subframe.rs` the subframes and residual partitions;
//! `bits.rs` the bit reader and rice decoding; `lpc.rs` the fixed and LPC predictors.
//!
//! Must not know: what the samples are used for, file names (errors are typed; `decode.rs`
//! names the file).

use std::io::Read;

use sha2::{Digest, Sha256};

use super::flac_crc::{crc16, crc8};

mod bits;
mod lpc;
mod subframe;
#[cfg(test)]
mod test_encoder;
#[cfg(test)]
mod tests;

use bits::{Bits, Short};
use subframe::subframe;

/// The most bytes one frame may take before the stream is called malformed (65,535 samples ×
/// 8 channels × 25 bits is under 1.7 MB).
const MAX_FRAME_BYTES: usize = 4 << 20;
/// Bytes read from the file at a time.
const READ_CHUNK: usize = 1 << 20;

/// What went wrong, without the file name.
#[derive(Debug)]
pub(crate) enum FlacError {
    /// Reading the file failed.
    Io(std::io::Error),
    /// The file ends inside a frame or before STREAMINFO's sample count.
    Truncated(String),
    /// A header, frame or checksum is wrong.
    Malformed(String),
    /// A valid stream this decoder does not take (the caller uses another decoder).
    Unsupported(String),
}

fn bad<T>(text: impl Into<String>) -> Result<T, FlacError> {
    Err(FlacError::Malformed(text.into()))
}

/// STREAMINFO's numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamInfo {
    pub sample_rate: u32,
    pub channels: u32,
    pub bits_per_sample: u32,
    /// Samples per channel, when stated (0 in the header means unknown).
    pub total_samples: Option<u64>,
}

/// A streaming FLAC decoder over any reader.
pub(crate) struct FlacStream<R: Read> {
    src: R,
    hasher: Option<Sha256>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    info: StreamInfo,
    /// Decoded samples of the current frame, channel after channel (`block` each).
    samples: Vec<i32>,
    decoded: u64,
    /// Byte offset of `buf[0]` in the file (for messages).
    base: u64,
}

/// Outcome of one frame attempt on the buffered bytes.
enum Attempt {
    Done { bytes: usize, block: usize },
    NeedMore,
}

impl<R: Read> FlacStream<R> {
    /// Reads the `fLaC` marker and the metadata blocks; `hash` turns on SHA-256 of all bytes.
    pub fn new(src: R, hash: bool) -> Result<FlacStream<R>, FlacError> {
        let mut s = FlacStream {
            src,
            hasher: hash.then(Sha256::new),
            buf: vec![0; READ_CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            info: StreamInfo {
                sample_rate: 0,
                channels: 0,
                bits_per_sample: 0,
                total_samples: None,
            },
            samples: Vec::new(),
            decoded: 0,
            base: 0,
        };
        if !s.fill(4)? || &s.buf[0..4] != b"fLaC" {
            return bad("no fLaC marker");
        }
        s.pos = 4;
        let mut have_info = false;
        loop {
            if !s.fill(4)? {
                return Err(FlacError::Truncated("the metadata blocks end early".into()));
            }
            let h = &s.buf[s.pos..s.pos + 4];
            let last = h[0] & 0x80 != 0;
            let kind = h[0] & 0x7f;
            let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            s.pos += 4;
            if kind == 0 {
                if len != 34 || !s.fill(34)? {
                    return bad(format!("STREAMINFO of {len} bytes (34 expected)"));
                }
                s.info = parse_stream_info(&s.buf[s.pos..s.pos + 34])?;
                have_info = true;
            } else if kind == 127 {
                return bad("metadata block type 127 (invalid)");
            }
            s.skip(len)?;
            if last {
                break;
            }
        }
        if !have_info {
            return bad("no STREAMINFO block");
        }
        let i = s.info;
        if i.bits_per_sample > 24 {
            return Err(FlacError::Unsupported(format!(
                "{} bits per sample",
                i.bits_per_sample
            )));
        }
        Ok(s)
    }

    /// The stream's parameters.
    pub fn info(&self) -> StreamInfo {
        self.info
    }

    /// Makes at least `want` unread bytes available; `false` if the file ends first.
    fn fill(&mut self, want: usize) -> Result<bool, FlacError> {
        while self.end - self.pos < want {
            if self.eof {
                return Ok(false);
            }
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.base += self.pos as u64;
                self.end -= self.pos;
                self.pos = 0;
            }
            if self.buf.len() - self.end < READ_CHUNK / 2 {
                let grown = (self.buf.len() * 2).max(want + READ_CHUNK);
                self.buf.resize(grown, 0);
            }
            let n = loop {
                match self.src.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(FlacError::Io(e)),
                }
            };
            if let Some(h) = self.hasher.as_mut() {
                h.update(&self.buf[self.end..self.end + n]);
            }
            self.end += n;
            self.eof = n == 0;
        }
        Ok(true)
    }

    fn skip(&mut self, mut n: usize) -> Result<(), FlacError> {
        while n > 0 {
            if !self.fill(1)? {
                return Err(FlacError::Truncated("a metadata block ends early".into()));
            }
            let k = n.min(self.end - self.pos);
            self.pos += k;
            n -= k;
        }
        Ok(())
    }

    /// Decodes the next frame and hands its channels (each `block` samples, channel after
    /// channel) to `out`; `Ok(false)` at the end of the stream.
    pub fn next_frame(&mut self, out: &mut dyn FnMut(&[i32], usize)) -> Result<bool, FlacError> {
        if self.info.total_samples.is_some_and(|t| self.decoded >= t) {
            return Ok(false);
        }
        loop {
            if self.end == self.pos && !self.fill(1)? {
                return match self.info.total_samples {
                    Some(t) => Err(FlacError::Truncated(format!(
                        "truncated: {} of the {t} samples STREAMINFO announces",
                        self.decoded
                    ))),
                    None => Ok(false),
                };
            }
            let at = self.base + self.pos as u64;
            match decode_frame(&self.buf[self.pos..self.end], &self.info, &mut self.samples)
                .map_err(|e| match e {
                    FlacError::Malformed(m) => {
                        FlacError::Malformed(format!("frame at byte {at}: {m}"))
                    }
                    other => other,
                })? {
                Attempt::Done { bytes, block } => {
                    self.pos += bytes;
                    self.decoded += block as u64;
                    out(&self.samples, block);
                    return Ok(true);
                }
                Attempt::NeedMore => {
                    let have = self.end - self.pos;
                    if have >= MAX_FRAME_BYTES {
                        return bad(format!(
                            "frame at byte {at} is longer than {MAX_FRAME_BYTES} bytes"
                        ));
                    }
                    if !self.fill(have + 1)? {
                        return Err(FlacError::Truncated(format!(
                            "truncated: the file ends inside the frame at byte {at} ({} of {} \
                             samples decoded)",
                            self.decoded,
                            self.info
                                .total_samples
                                .map_or("?".into(), |t| t.to_string())
                        )));
                    }
                }
            }
        }
    }

    /// Reads the rest of the file and returns the SHA-256 (hex) of all its bytes, if hashing.
    pub fn finish_sha256(mut self) -> Result<Option<String>, FlacError> {
        if self.hasher.is_none() {
            return Ok(None);
        }
        while !self.eof {
            self.pos = self.end;
            self.fill(READ_CHUNK)?;
        }
        Ok(self.hasher.map(|h| hex::encode(h.finalize())))
    }
}

fn parse_stream_info(b: &[u8]) -> Result<StreamInfo, FlacError> {
    let word = u64::from_be_bytes([b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17]]);
    let sample_rate = (word >> 44) as u32;
    let channels = ((word >> 41) & 7) as u32 + 1;
    let bits_per_sample = ((word >> 36) & 31) as u32 + 1;
    let total = word & ((1 << 36) - 1);
    if sample_rate == 0 {
        return bad("no sample rate in STREAMINFO");
    }
    if bits_per_sample < 4 {
        return bad(format!("{bits_per_sample} bits per sample"));
    }
    Ok(StreamInfo {
        sample_rate,
        channels,
        bits_per_sample,
        total_samples: (total > 0).then_some(total),
    })
}

/// Decodes the frame at the start of `data` into `samples` (channel after channel).
fn decode_frame(
    data: &[u8],
    info: &StreamInfo,
    samples: &mut Vec<i32>,
) -> Result<Attempt, FlacError> {
    let mut bits = Bits::new(data);
    match decode_frame_bits(&mut bits, data, info, samples) {
        Ok(r) => Ok(r),
        Err(Fail::Short) => Ok(Attempt::NeedMore),
        Err(Fail::Bad(m)) => bad(m),
    }
}

pub(super) enum Fail {
    Short,
    Bad(String),
}

impl From<Short> for Fail {
    fn from(_: Short) -> Fail {
        Fail::Short
    }
}

pub(super) fn fail<T>(m: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Bad(m.into()))
}

/// One frame, through the x86-64-v3 build of the decoder where the CPU has it (`lzcnt` for the
/// rice quotients, AVX2 `vpmuldq` for the LPC dot products), else the baseline build.
fn decode_frame_bits(
    bits: &mut Bits<'_>,
    data: &[u8],
    info: &StreamInfo,
    samples: &mut Vec<i32>,
) -> Result<Attempt, Fail> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") && has!("bmi1") && has!("bmi2") && has!("lzcnt") {
            // SAFETY: the CPU has every feature `frame_v3` is compiled for (checked above).
            return unsafe { frame_v3(bits, data, info, samples) };
        }
    }
    frame_body(bits, data, info, samples)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,bmi2,lzcnt")]
fn frame_v3(
    bits: &mut Bits<'_>,
    data: &[u8],
    info: &StreamInfo,
    samples: &mut Vec<i32>,
) -> Result<Attempt, Fail> {
    frame_body(bits, data, info, samples)
}

#[inline(always)]
fn frame_body(
    bits: &mut Bits<'_>,
    data: &[u8],
    info: &StreamInfo,
    samples: &mut Vec<i32>,
) -> Result<Attempt, Fail> {
    let sync = bits.read(15)?;
    if sync != 0x7ffc {
        return fail("no frame sync code (the file is damaged)");
    }
    let _variable = bits.read(1)?;
    let bs_code = bits.read(4)?;
    let sr_code = bits.read(4)?;
    let ch_code = bits.read(4)?;
    let ss_code = bits.read(3)?;
    if bits.read(1)? != 0 {
        return fail("reserved header bit set");
    }
    // The frame or sample number, UTF-8 style.
    let first = bits.read(8)?;
    let extra = match first {
        0x00..=0x7f => 0,
        0xc0..=0xdf => 1,
        0xe0..=0xef => 2,
        0xf0..=0xf7 => 3,
        0xf8..=0xfb => 4,
        0xfc..=0xfd => 5,
        0xfe => 6,
        _ => return fail("bad frame number"),
    };
    for _ in 0..extra {
        if bits.read(8)? & 0xc0 != 0x80 {
            return fail("bad frame number");
        }
    }
    let block = match bs_code {
        0 => return fail("reserved block size"),
        1 => 192,
        2..=5 => 576 << (bs_code - 2),
        6 => bits.read(8)? as usize + 1,
        7 => bits.read(16)? as usize + 1,
        _ => 256 << (bs_code - 8),
    };
    match sr_code {
        12 => {
            bits.read(8)?;
        }
        13 | 14 => {
            bits.read(16)?;
        }
        15 => return fail("invalid sample-rate code"),
        _ => {}
    }
    let header_len = bits.bytes_used();
    let header_crc = bits.read(8)?;
    let want = crc8(&data[..header_len]);
    if header_crc != u32::from(want) {
        return fail("header checksum (CRC-8) mismatch");
    }
    let bps = match ss_code {
        0 => info.bits_per_sample,
        1 => 8,
        2 => 12,
        4 => 16,
        5 => 20,
        6 => 24,
        _ => return fail(format!("sample-size code {ss_code}")),
    };
    if bps != info.bits_per_sample {
        return fail(format!(
            "{bps} bits per sample, STREAMINFO says {}",
            info.bits_per_sample
        ));
    }
    let (channels, side) = match ch_code {
        0..=7 => (ch_code + 1, None),
        8 => (2, Some(1)),
        9 => (2, Some(0)),
        10 => (2, Some(1)),
        _ => return fail(format!("reserved channel assignment {ch_code}")),
    };
    if channels != info.channels {
        return fail(format!(
            "{channels} channels, STREAMINFO says {}",
            info.channels
        ));
    }
    samples.resize(block * channels as usize, 0);
    for (c, out) in samples.chunks_exact_mut(block).enumerate() {
        let width = bps + u32::from(side == Some(c));
        subframe(bits, width, out)?;
    }
    if let Some(_s) = side {
        let (a, b) = samples.split_at_mut(block);
        match ch_code {
            8 => a.iter().zip(b.iter_mut()).for_each(|(&l, s)| {
                *s = l.wrapping_sub(*s);
            }),
            9 => a.iter_mut().zip(b.iter()).for_each(|(s, &r)| {
                *s = s.wrapping_add(r);
            }),
            _ => a.iter_mut().zip(b.iter_mut()).for_each(|(m, s)| {
                let mid = m.wrapping_shl(1) | (*s & 1);
                let (l, r) = (mid.wrapping_add(*s) >> 1, mid.wrapping_sub(*s) >> 1);
                *m = l;
                *s = r;
            }),
        }
    }
    bits.align();
    let body = bits.bytes_used();
    let crc = bits.read(16)?;
    if crc != u32::from(crc16(&data[..body])) {
        return fail("frame checksum (CRC-16) mismatch");
    }
    Ok(Attempt::Done {
        bytes: body + 2,
        block,
    })
}
