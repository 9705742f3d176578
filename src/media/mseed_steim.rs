//! Steim-1 and Steim-2 compression of 32-bit integer samples (SEED 2.4 appendix B): 64-byte
//! frames of sixteen 32-bit words, word 0 of each frame holding sixteen 2-bit control codes, words
//! 1 and 2 of the first frame the forward and reverse integration constants (first and last
//! sample), the other words first differences packed 4×8 / 2×16 / 1×32 bits (Steim-1) or
//! 7×4 / 6×5 / 5×6 / 4×8 / 3×10 / 2×15 / 1×30 bits (Steim-2).
//!
//! Decoding never trusts a count: the header's sample count is bounded by what the frames can
//! hold before anything is reserved, both integration constants are checked, and arithmetic
//! wraps as in libmseed instead of panicking. Errors are plain reasons the caller places in a
//! [`crate::media::MediaError`] with the file and byte offset.
//!
//! Must not know: record headers, files, time.

/// Bytes in one Steim frame.
pub(crate) const FRAME_LEN: usize = 64;
const WORDS: usize = 16;

/// Steim-1 or Steim-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Steim {
    One,
    Two,
}

impl Steim {
    /// The most samples `frames` frames can hold (a bound, checked before any allocation).
    pub(crate) fn capacity(self, frames: usize) -> usize {
        let words = (frames * (WORDS - 1)).saturating_sub(2);
        match self {
            Steim::One => words * 4,
            Steim::Two => words * 7,
        }
    }

    /// Packings tried in order (most samples first): (count, bits, control code, dnib).
    fn packings(self) -> &'static [(usize, u32, u32, Option<u32>)] {
        match self {
            Steim::One => &[(4, 8, 1, None), (2, 16, 2, None), (1, 32, 3, None)],
            Steim::Two => &[
                (7, 4, 3, Some(2)),
                (6, 5, 3, Some(1)),
                (5, 6, 3, Some(0)),
                (4, 8, 1, None),
                (3, 10, 2, Some(3)),
                (2, 15, 2, Some(2)),
                (1, 30, 2, Some(1)),
            ],
        }
    }
}

fn word(data: &[u8], i: usize, big_endian: bool) -> u32 {
    let b = [
        data[i * 4],
        data[i * 4 + 1],
        data[i * 4 + 2],
        data[i * 4 + 3],
    ];
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

/// A data word as a big-endian word. Little-endian Steim (libmseed, ObsPy) swaps each
/// difference on its own: 4×8-bit words (Steim-1 and Steim-2) are in file order, Steim-1's
/// 16-bit differences are two little-endian halves; every other word is a whole little-endian
/// word (libmseed's `msr_encode_steim1/2` swap everything but the 4×8 words).
fn data_word(level: Steim, code: u32, frame: &[u8], i: usize, big_endian: bool) -> u32 {
    let b = [
        frame[i * 4],
        frame[i * 4 + 1],
        frame[i * 4 + 2],
        frame[i * 4 + 3],
    ];
    match (big_endian, level, code) {
        (false, _, 1) => u32::from_be_bytes(b),
        (false, Steim::One, 2) => u32::from_be_bytes([b[1], b[0], b[3], b[2]]),
        _ => word(frame, i, big_endian),
    }
}

/// Sign-extends the `bits`-bit field at `shift` of `w`.
fn field(w: u32, bits: u32, shift: u32) -> i32 {
    ((w << (32 - bits - shift)) as i32) >> (32 - bits)
}

/// Unpacks the differences of one data word into `out`; returns how many.
fn unpack(level: Steim, ctrl: u32, w: u32, out: &mut [i32; 7]) -> Result<usize, String> {
    let mut take = |count: usize, bits: u32| {
        for (j, o) in out.iter_mut().enumerate().take(count) {
            *o = field(w, bits, bits * (count - 1 - j) as u32);
        }
        Ok(count)
    };
    match (level, ctrl) {
        (_, 0) => Ok(0),
        (_, 1) => take(4, 8),
        (Steim::One, 2) => take(2, 16),
        (Steim::One, _) => take(1, 32),
        (Steim::Two, 2) => match w >> 30 {
            1 => take(1, 30),
            2 => take(2, 15),
            3 => take(3, 10),
            _ => Err("Steim-2 word with control 10 has an invalid sub-code 00".into()),
        },
        (Steim::Two, _) => match w >> 30 {
            0 => take(5, 6),
            1 => take(6, 5),
            2 => take(7, 4),
            _ => Err("Steim-2 word with control 11 has an invalid sub-code 11".into()),
        },
    }
}

/// Decodes `n` samples from Steim `data` (whole frames; a trailing partial frame is ignored)
/// and appends them to `out`. The first difference is ignored (it refers to the previous
/// record), the samples are integrated from the forward constant and the last one must equal
/// the reverse constant.
pub(crate) fn decode(
    level: Steim,
    data: &[u8],
    n: usize,
    big_endian: bool,
    out: &mut Vec<i32>,
) -> Result<(), String> {
    let frames = data.len() / FRAME_LEN;
    if n == 0 {
        return Ok(());
    }
    if frames == 0 {
        return Err(format!("no complete Steim frame for {n} samples"));
    }
    if n > level.capacity(frames) {
        return Err(format!(
            "{n} samples cannot fit in {frames} Steim frames (at most {})",
            level.capacity(frames)
        ));
    }
    let x0 = word(data, 1, big_endian) as i32;
    let xn = word(data, 2, big_endian) as i32;
    // Sized once (n is bounded by the frames above) and written by index: no per-sample push.
    let first = out.len();
    out.resize(first + n, 0);
    let result =
        integrate(level, data, big_endian, x0, &mut out[first..]).and_then(|(seen, last)| {
            if seen < n {
                Err(format!(
                    "the Steim frames hold {seen} samples, the header says {n}"
                ))
            } else if last != xn {
                Err(format!(
                    "last sample {last} differs from the reverse integration constant {xn}"
                ))
            } else {
                Ok(())
            }
        });
    if result.is_err() {
        out.truncate(first);
    }
    result
}

/// Fills `dst` from the frames of `data`, integrating from `x0`; returns how many samples the
/// frames held (at most `dst.len()`) and the last one.
fn integrate(
    level: Steim,
    data: &[u8],
    big_endian: bool,
    x0: i32,
    dst: &mut [i32],
) -> Result<(usize, i32), String> {
    let n = dst.len();
    let mut seen = 0usize; // samples written so far
    let mut last = x0;
    let mut diffs = [0i32; 7];
    for (f, frame) in data.chunks_exact(FRAME_LEN).enumerate() {
        let ctrl = word(frame, 0, big_endian);
        for wi in (if f == 0 { 3 } else { 1 })..WORDS {
            let code = (ctrl >> (30 - 2 * wi as u32)) & 3;
            let k = unpack(
                level,
                code,
                data_word(level, code, frame, wi, big_endian),
                &mut diffs,
            )
            .map_err(|e| format!("frame {f} word {wi}: {e}"))?;
            let mut ds = &diffs[..k];
            if seen == 0 {
                // The first difference refers to the previous record: the sample is x0.
                let Some((_, rest)) = ds.split_first() else {
                    continue;
                };
                dst[0] = x0;
                seen = 1;
                ds = rest;
            }
            let take = ds.len().min(n - seen);
            for (o, &d) in dst[seen..seen + take].iter_mut().zip(&ds[..take]) {
                last = last.wrapping_add(d);
                *o = last;
            }
            seen += take;
            if seen == n {
                return Ok((seen, last));
            }
        }
    }
    Ok((seen, last))
}

/// What [`encode`] packed into a record's data area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Packed {
    /// Samples taken from the front of the input.
    pub samples: usize,
    /// Frames used (the rest of the area is zero).
    pub frames: usize,
}

fn fits(d: i64, bits: u32) -> bool {
    let lim = 1i64 << (bits - 1);
    (-lim..lim).contains(&d)
}

/// Packs as many of `samples` as fit into `frames` frames written to `out` (big-endian, exactly
/// `frames * 64` bytes appended). `prev` is the sample before the first (it makes the first
/// difference; `None` gives 0). Steim-2 cannot store a difference beyond ±2^29: that is an error
/// naming the sample index.
pub(crate) fn encode(
    level: Steim,
    samples: &[i32],
    prev: Option<i32>,
    frames: usize,
    out: &mut Vec<u8>,
) -> Result<Packed, String> {
    let diff = |i: usize| -> i64 {
        match (i, prev) {
            (0, Some(p)) => i64::from(samples[0]) - i64::from(p),
            (0, None) => 0,
            _ => i64::from(samples[i]) - i64::from(samples[i - 1]),
        }
    };
    // Steim-1 differences wrap to 32 bits like the decoder's integration.
    let wrap = |d: i64| -> i64 {
        match level {
            Steim::One => i64::from(d as i32),
            Steim::Two => d,
        }
    };
    let start = out.len();
    out.resize(start + frames * FRAME_LEN, 0);
    let mut i = 0usize;
    let mut used = 0usize;
    for f in 0..frames {
        if i >= samples.len() {
            break;
        }
        used = f + 1;
        let mut ctrl = 0u32;
        let base = start + f * FRAME_LEN;
        for wi in (if f == 0 { 3 } else { 1 })..WORDS {
            if i >= samples.len() {
                break;
            }
            let left = samples.len() - i;
            let pick = level.packings().iter().find(|(count, bits, _, _)| {
                *count <= left && (i..i + count).all(|j| fits(wrap(diff(j)), *bits))
            });
            let Some(&(count, bits, code, dnib)) = pick else {
                return Err(format!(
                    "sample {i}: difference {} does not fit in 30 bits (Steim-2)",
                    diff(i)
                ));
            };
            let mut w = dnib.map_or(0, |d| d << 30);
            for j in 0..count {
                let mask = if bits == 32 {
                    u32::MAX
                } else {
                    (1u32 << bits) - 1
                };
                let v = (wrap(diff(i + j)) as u32) & mask;
                w |= v << (bits * (count - 1 - j) as u32);
            }
            ctrl |= code << (30 - 2 * wi as u32);
            out[base + wi * 4..base + wi * 4 + 4].copy_from_slice(&w.to_be_bytes());
            i += count;
        }
        out[base..base + 4].copy_from_slice(&ctrl.to_be_bytes());
    }
    if i > 0 {
        out[start + 4..start + 8].copy_from_slice(&samples[0].to_be_bytes());
        out[start + 8..start + 12].copy_from_slice(&samples[i - 1].to_be_bytes());
    }
    Ok(Packed {
        samples: i,
        frames: used,
    })
}
