//! Prediction of the FLAC decoder: turning residuals back into samples with the fixed
//! polynomial predictors (orders 0–4) and the quantized LPC predictors (orders 1–32).
//!
//! Must not know: bits, frames or checksums (`bits.rs`, `mod.rs`).
//!
//! Every sample depends on the one just before it, so the time per sample is the length of
//! that dependency chain, not the number of multiplications. The LPC loop keeps it at one
//! multiply, one add and one shift: the sum is carried scaled by 2^(32 − q) (q the
//! quantization shift) modulo 2^64, where its bits 32–63 are exactly the new sample's 32 bits
//! (residual included as `r << 32`), so one arithmetic `>> 32` is the shift, the residual add
//! and the `i32` wrap of the reference decoder at once; the three newest samples live in registers (a store-to-load round trip on
//! the chain costs more than the multiply), and the older taps are summed from memory off the
//! chain. Sums are `i64`: 25-bit samples (24 + side channel) times 15-bit coefficients over 32
//! taps need up to 45 bits, and even damaged input (any `i32` sample) stays under 2^52, so no
//! sum ever wraps and the order of the additions cannot change a result.

/// Restores a subframe coded with the fixed predictor of `order` (0–4) in place; `s[..order]`
/// are the warm-up samples, the rest residuals.
#[inline(always)]
pub(super) fn fixed_restore(order: usize, s: &mut [i32]) {
    if s.len() <= order {
        return;
    }
    match order {
        1 => {
            let mut a = s[0];
            for x in s[1..].iter_mut() {
                a = x.wrapping_add(a);
                *x = a;
            }
        }
        2 => {
            let (mut a, mut b) = (i64::from(s[1]), i64::from(s[0]));
            for x in s[2..].iter_mut() {
                let v = (i64::from(*x) + 2 * a - b) as i32;
                *x = v;
                (b, a) = (a, i64::from(v));
            }
        }
        3 => {
            let (mut a, mut b, mut c) = (i64::from(s[2]), i64::from(s[1]), i64::from(s[0]));
            for x in s[3..].iter_mut() {
                let v = (i64::from(*x) + 3 * (a - b) + c) as i32;
                *x = v;
                (c, b, a) = (b, a, i64::from(v));
            }
        }
        4 => {
            let (mut a, mut b, mut c, mut d) = (
                i64::from(s[3]),
                i64::from(s[2]),
                i64::from(s[1]),
                i64::from(s[0]),
            );
            for x in s[4..].iter_mut() {
                let v = (i64::from(*x) + 4 * (a + c) - 6 * b - d) as i32;
                *x = v;
                (d, c, b, a) = (c, b, a, i64::from(v));
            }
        }
        _ => {}
    }
}

/// Restores an LPC subframe in place: `coefs[j]` multiplies the sample `j + 1` back, `shift`
/// (0–15) is the quantization level; `s[..coefs.len()]` are the warm-up samples, the rest
/// residuals. One loop per order (a const-generic body the compiler unrolls, coefficients in
/// registers).
#[inline(always)]
pub(super) fn lpc_restore(coefs: &[i32], shift: u32, s: &mut [i32]) {
    macro_rules! by_order {
        ($($n:literal)*) => {
            match coefs.len() {
                $($n => Lpc::<$n>::new(coefs, shift).restore(s),)*
                _ => {}
            }
        };
    }
    by_order!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
}

/// The prediction state of an order-`N` LPC subframe, fed residuals in sample order.
struct Lpc<const N: usize> {
    /// `far[j]` multiplies `s[i - N + j]`, for the taps 4 … N back (`j < N - 3`).
    far: [i32; N],
    /// The three newest taps; `c1` pre-scaled by 2^(32 − shift).
    c1: i64,
    c2: i64,
    c3: i64,
    shift: u32,
    up: u32,
}

impl<const N: usize> Lpc<N> {
    /// `coefs.len()` must be `N` and `shift` at most 31 (the caller reads both from the
    /// stream: 1–32 coefficients, a 5-bit non-negative shift).
    #[inline(always)]
    fn new(coefs: &[i32], shift: u32) -> Lpc<N> {
        let far_taps = N.saturating_sub(3);
        let mut far = [0i32; N];
        for (j, r) in far.iter_mut().enumerate().take(far_taps) {
            *r = coefs.get(N - 1 - j).copied().unwrap_or(0);
        }
        let near = |j: usize| coefs.get(j).map_or(0, |&c| i64::from(c));
        let shift = shift.min(31);
        let up = 32 - shift;
        Lpc {
            far,
            c1: near(0) << up,
            c2: near(1),
            c3: near(2),
            shift,
            up,
        }
    }

    /// Turns the residuals `s[N..]` into samples; `s[..N]` are the warm-up samples.
    // The indexed tap loop vectorizes (vpmuldq); the zipped-iterator form measured ~5 %
    // slower on a libFLAC file (order 8).
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn restore(&self, s: &mut [i32]) {
        if s.len() <= N {
            return;
        }
        // The three newest samples live in registers (zero, with a zero coefficient, where
        // `N` is below 3); the older taps are read from memory, off the dependency chain.
        let back = |j: usize| if j <= N { i64::from(s[N - j]) } else { 0 };
        let (mut h1, mut h2, mut h3) = (back(1), back(2), back(3));
        for i in N..s.len() {
            let mut acc = 0i64;
            if N > 3 {
                let w = &s[i - N..i - 3];
                for j in 0..N - 3 {
                    acc += i64::from(w[j]) * i64::from(self.far[j]);
                }
            }
            acc += self.c3 * h3 + self.c2 * h2;
            // Scaled by 2^(32 - shift) modulo 2^64: bits 32… are the new sample, so one `>> 32`
            // is the quantization, the residual add and the i32 wrap at once. Two terms only,
            // so the multiply by the newest sample is the last step of the chain.
            let x = (acc + (i64::from(s[i]) << self.shift)) << self.up;
            let v = x.wrapping_add(self.c1.wrapping_mul(h1)) >> 32;
            s[i] = v as i32;
            (h3, h2, h1) = (h2, h1, v);
        }
    }
}
