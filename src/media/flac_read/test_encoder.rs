//! A test-only FLAC writer that spells out every subframe choice the decoder must take:
//! constant, verbatim, fixed orders 0–4, LPC orders 1–32 with any precision and shift, rice
//! parameters with either parameter width, escape partitions, wasted bits, every stereo
//! decorrelation mode and any block size. Residuals are computed with plain `i64` sums, so a
//! decode that returns the input samples is bit-exact by construction. Independent of
//! flac-codec (which cannot be told which predictor to use); the checksums come from
//! `flac_crc.rs`, which has its own tests against the bitwise definitions.

use super::super::flac_crc::{crc16, crc8};

/// MSB-first bit writer.
#[derive(Default)]
pub struct BitWriter {
    pub bytes: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// The low `k` (≤ 32) bits of `v`.
    pub fn put(&mut self, k: u32, v: u64) {
        assert!(k <= 32);
        if k == 0 {
            return;
        }
        self.acc = (self.acc << k) | (v & ((1u64 << k) - 1));
        self.n += k;
        while self.n >= 8 {
            self.n -= 8;
            self.bytes.push((self.acc >> self.n) as u8);
        }
    }

    pub fn signed(&mut self, k: u32, v: i64) {
        assert!(
            k == 64 || (v >= -(1i64 << (k - 1)) && v < (1i64 << (k - 1))),
            "{v} does not fit {k} bits"
        );
        self.put(k, v as u64);
    }

    pub fn unary(&mut self, mut q: u64) {
        while q >= 32 {
            self.put(32, 0);
            q -= 32;
        }
        self.put(q as u32 + 1, 1);
    }

    pub fn align(&mut self) {
        if self.n > 0 {
            self.put(8 - self.n, 0);
        }
    }
}

/// How one partition of a residual is coded.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    /// Rice with this parameter.
    Rice(u32),
    /// Escape: raw two's complement of this many bits (0: all residuals zero).
    Escape(u32),
}

/// The predictor of a subframe.
#[derive(Clone, Debug)]
pub enum Pred {
    Constant,
    Verbatim,
    Fixed(usize),
    /// Coefficients (`c[j]` multiplies the sample `j + 1` back), precision, shift.
    Lpc(Vec<i32>, u32, u32),
}

/// A subframe: predictor, wasted bits, rice parameter width (4 or 5) and partitions (their
/// count a power of two dividing the block size).
#[derive(Clone, Debug)]
pub struct Sub {
    pub pred: Pred,
    pub wasted: u32,
    pub wide_params: bool,
    pub parts: Vec<Part>,
}

impl Sub {
    pub fn new(pred: Pred) -> Sub {
        Sub {
            pred,
            wasted: 0,
            wide_params: true,
            parts: vec![Part::Rice(0)],
        }
    }
}

/// The residuals of `s` under `pred` (from the predictor order on).
pub fn residuals(pred: &Pred, s: &[i64]) -> Vec<i64> {
    match pred {
        Pred::Fixed(order) => (*order..s.len())
            .map(|i| {
                let p = match order {
                    0 => 0,
                    1 => s[i - 1],
                    2 => 2 * s[i - 1] - s[i - 2],
                    3 => 3 * s[i - 1] - 3 * s[i - 2] + s[i - 3],
                    _ => 4 * s[i - 1] - 6 * s[i - 2] + 4 * s[i - 3] - s[i - 4],
                };
                s[i] - p
            })
            .collect(),
        Pred::Lpc(c, _, shift) => (c.len()..s.len())
            .map(|i| {
                let sum: i64 = (0..c.len()).map(|j| i64::from(c[j]) * s[i - 1 - j]).sum();
                s[i] - (sum >> shift)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A rice parameter that suits `r` (what an encoder would pick).
pub fn good_param(r: &[i64], max: u32) -> u32 {
    let mean = r.iter().map(|v| v.unsigned_abs()).sum::<u64>() / r.len().max(1) as u64;
    (64 - mean.leading_zeros()).min(max)
}

fn write_sub(w: &mut BitWriter, sub: &Sub, width: u32, samples: &[i64]) {
    let shifted: Vec<i64> = samples.iter().map(|&v| v >> sub.wasted).collect();
    assert!(samples.iter().all(|&v| v & ((1 << sub.wasted) - 1) == 0));
    let wd = width - sub.wasted;
    let kind = match &sub.pred {
        Pred::Constant => 0,
        Pred::Verbatim => 1,
        Pred::Fixed(o) => 8 + *o as u64,
        Pred::Lpc(c, _, _) => 31 + c.len() as u64,
    };
    w.put(1, 0);
    w.put(6, kind);
    if sub.wasted > 0 {
        w.put(1, 1);
        w.unary(u64::from(sub.wasted - 1));
    } else {
        w.put(1, 0);
    }
    let order = match &sub.pred {
        Pred::Constant => {
            assert!(shifted.iter().all(|&v| v == shifted[0]));
            w.signed(wd, shifted[0]);
            return;
        }
        Pred::Verbatim => {
            shifted.iter().for_each(|&v| w.signed(wd, v));
            return;
        }
        Pred::Fixed(o) => *o,
        Pred::Lpc(c, _, _) => c.len(),
    };
    shifted[..order].iter().for_each(|&v| w.signed(wd, v));
    if let Pred::Lpc(c, precision, shift) = &sub.pred {
        w.put(4, u64::from(precision - 1));
        w.signed(5, i64::from(*shift));
        c.iter().for_each(|&v| w.signed(*precision, i64::from(v)));
    }
    let r = residuals(&sub.pred, &shifted);
    let (param_bits, escape) = if sub.wide_params { (5, 31) } else { (4, 15) };
    w.put(2, u64::from(sub.wide_params));
    let parts = sub.parts.len();
    assert!(parts.is_power_of_two() && samples.len().is_multiple_of(parts));
    w.put(4, u64::from(parts.trailing_zeros()));
    let per = samples.len() / parts;
    let mut at = 0;
    for (p, part) in sub.parts.iter().enumerate() {
        let end = (p + 1) * per - order;
        match *part {
            Part::Rice(k) => {
                assert!(k < escape);
                w.put(param_bits, u64::from(k));
                for &v in &r[at..end] {
                    let u = ((v << 1) ^ (v >> 63)) as u64;
                    assert!(u <= u64::from(u32::MAX), "residual {v} too large for FLAC");
                    w.unary(u >> k);
                    w.put(k, u);
                }
            }
            Part::Escape(bits) => {
                w.put(param_bits, u64::from(escape));
                w.put(5, u64::from(bits));
                for &v in &r[at..end] {
                    if bits == 0 {
                        assert_eq!(v, 0);
                    } else {
                        w.signed(bits, v);
                    }
                }
            }
        }
        at = end;
    }
}

/// UTF-8-style coding of a frame number.
fn put_frame_number(w: &mut BitWriter, v: u64) {
    if v < 0x80 {
        w.put(8, v);
        return;
    }
    // `extra` continuation bytes of 6 bits each; the first byte a prefix of `extra + 1` ones
    // and a zero, then `6 - extra` bits.
    let extra = (1..=6u32).find(|&e| v < 1u64 << (6 + 5 * e)).unwrap_or(6);
    w.put(extra + 2, (1 << (extra + 2)) - 2);
    w.put(6 - extra, v >> (6 * extra));
    for e in (0..extra).rev() {
        w.put(2, 0b10);
        w.put(6, v >> (6 * e));
    }
}

/// Channel decorrelation of a stereo frame (the frame header's channel assignment).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stereo {
    Independent,
    LeftSide,
    RightSide,
    MidSide,
}

/// One frame of `channels[c]` (all the same length), with its subframe choices.
pub fn write_frame(
    w: &mut BitWriter,
    number: u64,
    bps: u32,
    channels: &[Vec<i64>],
    stereo: Stereo,
    subs: &[Sub],
) {
    let block = channels[0].len();
    assert!((1..=65536).contains(&block));
    let start = w.bytes.len();
    w.put(15, 0x7ffc);
    w.put(1, 0);
    w.put(4, 7); // block size - 1 in 16 bits after the header
    w.put(4, 0); // sample rate from STREAMINFO
    let ch_code = match stereo {
        Stereo::Independent => channels.len() as u64 - 1,
        Stereo::LeftSide => 8,
        Stereo::RightSide => 9,
        Stereo::MidSide => 10,
    };
    w.put(4, ch_code);
    let ss = match bps {
        8 => 1,
        12 => 2,
        16 => 4,
        20 => 5,
        24 => 6,
        _ => 0,
    };
    w.put(3, ss);
    w.put(1, 0);
    put_frame_number(w, number);
    w.put(16, block as u64 - 1);
    let crc = crc8(&w.bytes[start..]);
    w.put(8, u64::from(crc));
    let coded: Vec<(Vec<i64>, u32)> = match stereo {
        Stereo::Independent => channels.iter().map(|c| (c.clone(), bps)).collect(),
        _ => {
            let (l, r) = (&channels[0], &channels[1]);
            let side: Vec<i64> = l.iter().zip(r).map(|(a, b)| a - b).collect();
            match stereo {
                Stereo::LeftSide => vec![(l.clone(), bps), (side, bps + 1)],
                Stereo::RightSide => vec![(side, bps + 1), (r.clone(), bps)],
                _ => {
                    let mid = l.iter().zip(r).map(|(a, b)| (a + b) >> 1).collect();
                    vec![(mid, bps), (side, bps + 1)]
                }
            }
        }
    };
    for ((s, width), sub) in coded.iter().zip(subs) {
        write_sub(w, sub, *width, s);
    }
    w.align();
    let crc = crc16(&w.bytes[start..]);
    w.put(16, u64::from(crc));
}

/// `fLaC` and a STREAMINFO for `total` samples per channel.
pub fn stream_header(rate: u32, channels: u32, bps: u32, block: u32, total: u64) -> BitWriter {
    let mut w = BitWriter::default();
    w.bytes.extend_from_slice(b"fLaC");
    w.put(1, 1);
    w.put(7, 0);
    w.put(24, 34);
    w.put(16, u64::from(block));
    w.put(16, u64::from(block));
    w.put(24, 0);
    w.put(24, 0);
    w.put(20, u64::from(rate));
    w.put(3, u64::from(channels - 1));
    w.put(5, u64::from(bps - 1));
    w.put(4, total >> 32);
    w.put(32, total & 0xffff_ffff);
    for _ in 0..4 {
        w.put(32, 0);
    }
    w
}
