//! A fast FLAC decoder for the analysis hot path: streams of up to 24 bits per sample and up to
//! 8 channels, read frame by frame from a bounded buffer, with both checksums of every frame
//! verified (header CRC-8, frame CRC-16) and, optionally, SHA-256 of every byte of the file
//! computed from the same reads (one pass over the file for decode + provenance).
//!
//! Why our own: on a 5-minute 64 kHz 24-bit file symphonia spent most of its decode time in
//! bit-by-bit rice decoding; here a residual is one `leading_zeros` plus one shift on a 64-bit
//! bit cache (see benches/spectrogram.rs `decode`). Streams it does not take (more than 24 bits,
//! more than 8 channels) are left to symphonia by `decode.rs`.
//!
//! Must not know: what the samples are used for, file names (errors are typed; `decode.rs`
//! names the file).

use std::io::Read;

use sha2::{Digest, Sha256};

use super::flac_crc::{crc16, crc8};

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

/// Reads bits MSB first from a byte slice; running past its end is `NeedMore`, never a panic.
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load into the cache.
    next: usize,
    /// Valid bits, MSB-aligned (bits below `n` may hold the following bits or zeros).
    cache: u64,
    n: u32,
}

/// Bits ran out: the caller buffers more of the file and retries the frame.
struct Short;

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            next: 0,
            cache: 0,
            n: 0,
        }
    }

    #[inline(always)]
    fn refill(&mut self) {
        if let Some(b) = self.data.get(self.next..self.next + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            self.cache |= u64::from_be_bytes(w) >> self.n;
            let adv = (63 - self.n) >> 3;
            self.next += adv as usize;
            self.n += adv << 3;
        } else {
            while self.n <= 55 {
                let Some(&b) = self.data.get(self.next) else {
                    break;
                };
                self.cache |= u64::from(b) << (56 - self.n);
                self.next += 1;
                self.n += 8;
            }
        }
    }

    /// `k` ≤ 32 bits as an unsigned number.
    #[inline(always)]
    fn read(&mut self, k: u32) -> Result<u32, Short> {
        if k == 0 {
            return Ok(0);
        }
        if self.n < k {
            self.refill();
            if self.n < k {
                return Err(Short);
            }
        }
        let v = (self.cache >> (64 - k)) as u32;
        self.cache <<= k;
        self.n -= k;
        Ok(v)
    }

    /// `k` in 1..=32 bits as a two's-complement number.
    #[inline(always)]
    fn read_signed(&mut self, k: u32) -> Result<i32, Short> {
        let v = self.read(k)?;
        let s = 32 - k;
        Ok(((v << s) as i32) >> s)
    }

    /// Zeros before the next 1 (the 1 is consumed).
    #[inline(always)]
    fn unary(&mut self) -> Result<u32, Short> {
        let mut count = 0u32;
        loop {
            let z = self.cache.leading_zeros();
            if z < self.n {
                self.cache <<= z + 1;
                self.n -= z + 1;
                return Ok(count.wrapping_add(z));
            }
            count = count.wrapping_add(self.n);
            self.cache = 0;
            self.n = 0;
            self.refill();
            if self.n == 0 {
                return Err(Short);
            }
        }
    }

    /// Skips to the next byte boundary.
    fn align(&mut self) {
        let drop = self.n & 7;
        self.cache <<= drop;
        self.n -= drop;
    }

    /// Bytes consumed so far (at a byte boundary).
    fn bytes_used(&self) -> usize {
        self.next - (self.n as usize >> 3)
    }
}

/// Rice-decodes `out.len()` residuals with parameter `k`. The hot loop keeps the bit cache in
/// locals (registers) while 8 bytes remain ahead; a quotient longer than the cache, and the last
/// bytes of the buffer, take the general path.
#[inline(always)]
fn rice(bits: &mut Bits<'_>, k: u32, out: &mut [i32]) -> Result<(), Short> {
    let data = bits.data;
    let mut i = 0;
    while i < out.len() {
        let (mut next, mut cache, mut n) = (bits.next, bits.cache, bits.n);
        while i < out.len() {
            if n < 57 {
                let Some(b) = data.get(next..next + 8) else {
                    break;
                };
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                cache |= u64::from_be_bytes(w) >> n;
                let adv = (63 - n) >> 3;
                next += adv as usize;
                n += adv << 3;
            }
            let z = cache.leading_zeros();
            if z + 1 + k > n {
                break;
            }
            let rest = cache << (z + 1);
            let r = if k == 0 { 0 } else { (rest >> (64 - k)) as u32 };
            cache = rest << k;
            n -= z + 1 + k;
            let v = (z << k) | r;
            out[i] = ((v >> 1) as i32) ^ -((v & 1) as i32);
            i += 1;
        }
        (bits.next, bits.cache, bits.n) = (next, cache, n);
        if i == out.len() {
            break;
        }
        let q = bits.unary()?;
        let v = (q.wrapping_shl(k)) | bits.read(k)?;
        out[i] = ((v >> 1) as i32) ^ -((v & 1) as i32);
        i += 1;
    }
    Ok(())
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

enum Fail {
    Short,
    Bad(String),
}

impl From<Short> for Fail {
    fn from(_: Short) -> Fail {
        Fail::Short
    }
}

fn fail<T>(m: impl Into<String>) -> Result<T, Fail> {
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

#[inline(always)]
fn subframe(bits: &mut Bits<'_>, width: u32, out: &mut [i32]) -> Result<(), Fail> {
    if bits.read(1)? != 0 {
        return fail("subframe padding bit set");
    }
    let kind = bits.read(6)?;
    let wasted = if bits.read(1)? == 1 {
        bits.unary()? + 1
    } else {
        0
    };
    if wasted >= width {
        return fail(format!("{wasted} wasted bits of {width}"));
    }
    let w = width - wasted;
    match kind {
        0 => {
            let v = bits.read_signed(w)?;
            out.fill(v);
        }
        1 => {
            for s in out.iter_mut() {
                *s = bits.read_signed(w)?;
            }
        }
        8..=12 => {
            let order = (kind - 8) as usize;
            warmup(bits, w, order, out)?;
            residual(bits, order, out)?;
            fixed_restore(order, out);
        }
        32..=63 => {
            let order = (kind - 31) as usize;
            warmup(bits, w, order, out)?;
            let precision = bits.read(4)? + 1;
            if precision == 16 {
                return fail("LPC precision 16 (invalid)");
            }
            let shift = bits.read_signed(5)?;
            if shift < 0 {
                return fail("negative LPC shift");
            }
            let mut coefs = [0i32; 32];
            for c in coefs[..order].iter_mut() {
                *c = bits.read_signed(precision)?;
            }
            residual(bits, order, out)?;
            lpc_restore(&coefs[..order], shift as u32, out);
        }
        _ => return fail(format!("reserved subframe type {kind}")),
    }
    if wasted > 0 {
        for s in out.iter_mut() {
            *s = s.wrapping_shl(wasted);
        }
    }
    Ok(())
}

#[inline(always)]
fn warmup(bits: &mut Bits<'_>, w: u32, order: usize, out: &mut [i32]) -> Result<(), Fail> {
    if order > out.len() {
        return fail(format!(
            "predictor order {order} above the block size {}",
            out.len()
        ));
    }
    for s in out[..order].iter_mut() {
        *s = bits.read_signed(w)?;
    }
    Ok(())
}

#[inline(always)]
fn residual(bits: &mut Bits<'_>, order: usize, out: &mut [i32]) -> Result<(), Fail> {
    let method = bits.read(2)?;
    let (param_bits, escape) = match method {
        0 => (4, 15),
        1 => (5, 31),
        _ => return fail("reserved residual coding method"),
    };
    let part_order = bits.read(4)?;
    let parts = 1usize << part_order;
    let n = out.len();
    if !n.is_multiple_of(parts) || n / parts < order {
        return fail(format!(
            "partition order {part_order} does not fit a block of {n}"
        ));
    }
    let per = n / parts;
    let mut at = order;
    for p in 0..parts {
        let end = (p + 1) * per;
        let k = bits.read(param_bits)?;
        let slot = &mut out[at..end];
        if k == escape {
            let raw = bits.read(5)?;
            if raw == 0 {
                slot.fill(0);
            } else {
                for s in slot.iter_mut() {
                    *s = bits.read_signed(raw)?;
                }
            }
        } else {
            rice(bits, k, slot)?;
        }
        at = end;
    }
    Ok(())
}

#[inline(always)]
fn fixed_restore(order: usize, s: &mut [i32]) {
    let n = s.len();
    match order {
        1 => {
            for i in 1..n {
                s[i] = s[i].wrapping_add(s[i - 1]);
            }
        }
        2 => {
            for i in 2..n {
                let p = 2i64 * i64::from(s[i - 1]) - i64::from(s[i - 2]);
                s[i] = s[i].wrapping_add(p as i32);
            }
        }
        3 => {
            for i in 3..n {
                let p = 3 * (i64::from(s[i - 1]) - i64::from(s[i - 2])) + i64::from(s[i - 3]);
                s[i] = s[i].wrapping_add(p as i32);
            }
        }
        4 => {
            for i in 4..n {
                let p = 4 * (i64::from(s[i - 1]) + i64::from(s[i - 3]))
                    - 6 * i64::from(s[i - 2])
                    - i64::from(s[i - 4]);
                s[i] = s[i].wrapping_add(p as i32);
            }
        }
        _ => {}
    }
}

/// Restores an LPC subframe: one loop per predictor order (a const-generic body the compiler
/// unrolls, coefficients in registers), the newest sample carried in a register so the
/// sample-to-sample dependency never waits on a store. i64 products: 24-bit samples times
/// 15-bit coefficients summed over 32 taps need up to 44 bits.
#[inline(always)]
fn lpc_restore(coefs: &[i32], shift: u32, s: &mut [i32]) {
    macro_rules! by_order {
        ($($n:literal)*) => {
            match coefs.len() {
                $($n => lpc_order::<$n>(coefs, shift, s),)*
                _ => {}
            }
        };
    }
    by_order!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
}

#[inline(always)]
fn lpc_order<const N: usize>(coefs: &[i32], shift: u32, s: &mut [i32]) {
    if s.len() <= N {
        return;
    }
    // c[j] multiplies s[i - N + j]; c[N - 1] multiplies the previous sample.
    let mut c = [0i32; N];
    for (r, &v) in c.iter_mut().zip(coefs.iter().rev()) {
        *r = v;
    }
    let mut prev = s[N - 1];
    for i in N..s.len() {
        let Some(w) = s[i - N..].first_chunk::<N>() else {
            return;
        };
        let mut sum = i64::from(prev) * i64::from(c[N - 1]);
        for j in 0..N - 1 {
            sum = sum.wrapping_add(i64::from(w[j]) * i64::from(c[j]));
        }
        prev = s[i].wrapping_add((sum >> shift) as i32);
        s[i] = prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(data: &[i32], channels: u8, bits: u32) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.flac");
        let mut w = flac_codec::encode::FlacSampleWriter::create(
            &path,
            flac_codec::encode::Options::default(),
            48_000,
            bits,
            channels,
            // flac-codec counts interleaved samples, not frames.
            Some(data.len() as u64),
        )
        .unwrap();
        w.write(data).unwrap();
        w.finalize().unwrap();
        std::fs::read(&path).unwrap()
    }

    fn decode_all(bytes: &[u8]) -> Result<(Vec<Vec<i32>>, Option<String>), FlacError> {
        let mut s = FlacStream::new(bytes, true)?;
        let ch = s.info().channels as usize;
        let mut out = vec![Vec::new(); ch];
        while s.next_frame(&mut |samples, block| {
            for (c, o) in out.iter_mut().enumerate() {
                o.extend_from_slice(&samples[c * block..(c + 1) * block]);
            }
        })? {}
        Ok((out, s.finish_sha256()?))
    }

    fn signal(n: usize, channels: usize, bits: u32) -> Vec<i32> {
        let amp = ((1i64 << (bits - 1)) - 1) as f64;
        let mut st = 0x2545_f491_4f6c_dd1du64;
        (0..n * channels)
            .map(|i| {
                st ^= st << 13;
                st ^= st >> 7;
                st ^= st << 17;
                let t = (i / channels) as f64;
                let noise = ((st >> 40) as f64 / (1u64 << 24) as f64 - 0.5) * 0.02;
                let c = (i % channels) as f64;
                ((0.6 * (t * 0.01 * (1.0 + c)).sin() + noise) * amp).round() as i32
            })
            .collect()
    }

    #[test]
    fn decodes_bit_exact_against_the_encoder_for_common_layouts() {
        for (channels, bits) in [(1u8, 24u32), (2, 24), (1, 16), (2, 16), (3, 20), (1, 8)] {
            let data = signal(20_000, channels as usize, bits);
            let bytes = encode(&data, channels, bits);
            let (got, sha) = decode_all(&bytes).unwrap();
            for (c, ch) in got.iter().enumerate() {
                let want: Vec<i32> = data
                    .iter()
                    .skip(c)
                    .step_by(channels as usize)
                    .copied()
                    .collect();
                assert_eq!(ch, &want, "{channels} ch, {bits} bit, channel {c}");
            }
            let want_sha = hex::encode(Sha256::digest(&bytes));
            assert_eq!(sha.as_deref(), Some(want_sha.as_str()));
        }
    }

    #[test]
    fn silence_and_full_scale_steps_round_trip() {
        // Constant subframes and verbatim/escape-friendly jumps.
        let mut data = vec![0i32; 9000];
        for (i, s) in data.iter_mut().enumerate().skip(5000) {
            *s = if i % 2 == 0 { 8_388_607 } else { -8_388_608 };
        }
        let bytes = encode(&data, 1, 24);
        let (got, _) = decode_all(&bytes).unwrap();
        assert_eq!(got[0], data);
    }

    #[test]
    fn lpc_restore_matches_the_plain_sum_at_every_order() {
        let mut seed = 0x2545_f491u32;
        let mut next = move |bits: u32| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed as i32) >> (32 - bits)
        };
        for order in 1..=32usize {
            let coefs: Vec<i32> = (0..order).map(|_| next(15)).collect();
            let shift = (order % 16) as u32;
            let start: Vec<i32> = (0..300).map(|_| next(24)).collect();
            let mut want = start.clone();
            for i in order..want.len() {
                let sum: i64 = (0..order)
                    .map(|j| i64::from(coefs[j]) * i64::from(want[i - 1 - j]))
                    .fold(0i64, i64::wrapping_add);
                want[i] = want[i].wrapping_add((sum >> shift) as i32);
            }
            let mut got = start.clone();
            lpc_restore(&coefs, shift, &mut got);
            assert_eq!(got, want, "order {order}");
        }
    }

    #[test]
    fn damage_and_truncation_are_errors_not_panics() {
        let data = signal(30_000, 1, 24);
        let bytes = encode(&data, 1, 24);
        let cut = &bytes[..bytes.len() * 2 / 3];
        assert!(matches!(decode_all(cut), Err(FlacError::Truncated(_))));
        let mut flipped = bytes.clone();
        let k = flipped.len() / 2;
        flipped[k] ^= 0x10;
        assert!(matches!(decode_all(&flipped), Err(FlacError::Malformed(_))));
        // Every single-byte cut and a flip at every 97th byte: never a panic.
        for k in (0..bytes.len()).step_by(97) {
            let _ = decode_all(&bytes[..k]);
            let mut b = bytes.clone();
            b[k] ^= 0xa5;
            let _ = decode_all(&b);
        }
    }
}
