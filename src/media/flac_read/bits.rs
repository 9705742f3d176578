//! The bit reader of the FLAC decoder: MSB-first bits from a byte slice through a 64-bit cache,
//! and the rice-coded residuals, which are most of a frame's bits and half of its decode time.
//!
//! Must not know: frame or subframe layout (`mod.rs`, `subframe.rs`), prediction (`lpc.rs`).

/// Reads bits MSB first from a byte slice; running past its end is [`Short`], never a panic.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    c: Cache,
}

/// Bits ran out: the caller buffers more of the file and retries the frame.
pub(super) struct Short;

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8]) -> Bits<'a> {
        Bits {
            data,
            c: Cache {
                next: 0,
                bits: 0,
                n: 0,
            },
        }
    }

    /// The 8-byte step of [`Cache::refill`], or byte by byte near the end of the data.
    #[inline(always)]
    fn refill(&mut self) {
        if self.c.refill(self.data) {
            return;
        }
        let c = &mut self.c;
        while c.n <= 55 {
            let Some(&b) = self.data.get(c.next) else {
                break;
            };
            c.bits |= u64::from(b) << (56 - c.n);
            c.next += 1;
            c.n += 8;
        }
    }

    /// `k` ≤ 32 bits as an unsigned number.
    #[inline(always)]
    pub(super) fn read(&mut self, k: u32) -> Result<u32, Short> {
        if k == 0 {
            return Ok(0);
        }
        if self.c.n < k {
            self.refill();
            if self.c.n < k {
                return Err(Short);
            }
        }
        let v = (self.c.bits >> (64 - k)) as u32;
        self.c.bits <<= k;
        self.c.n -= k;
        Ok(v)
    }

    /// `k` in 1..=32 bits as a two's-complement number.
    #[inline(always)]
    pub(super) fn read_signed(&mut self, k: u32) -> Result<i32, Short> {
        let v = self.read(k)?;
        let s = 32 - k;
        Ok(((v << s) as i32) >> s)
    }

    /// Zeros before the next 1 (the 1 is consumed).
    #[inline(always)]
    pub(super) fn unary(&mut self) -> Result<u32, Short> {
        let mut count = 0u32;
        loop {
            let z = self.c.bits.leading_zeros();
            if z < self.c.n {
                self.c.bits <<= z + 1;
                self.c.n -= z + 1;
                return Ok(count.wrapping_add(z));
            }
            count = count.wrapping_add(self.c.n);
            self.c.bits = 0;
            self.c.n = 0;
            self.refill();
            if self.c.n == 0 {
                return Err(Short);
            }
        }
    }

    /// Skips to the next byte boundary.
    pub(super) fn align(&mut self) {
        let drop = self.c.n & 7;
        self.c.bits <<= drop;
        self.c.n -= drop;
    }

    /// Bytes consumed so far (at a byte boundary).
    pub(super) fn bytes_used(&self) -> usize {
        self.c.next - (self.c.n as usize >> 3)
    }
}

/// Zigzag: 0, 1, 2, 3, … → 0, −1, 1, −2, …
#[inline(always)]
fn unfold(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

/// Rice-decodes `out.len()` residuals with parameter `k` (≤ 30).
///
/// The hot loop is the "always refill" reader: before every pair of residuals (or every
/// residual, where `k` is too large for two to fit) the cache takes the next 8 bytes shifted
/// into place, `next` advances by the whole bytes that fit and `n` becomes `n | 56`, with no
/// branch on how many bits are left. The load address is known one step ahead, so the load
/// overlaps the decoding of the previous residuals; what remains on the dependency chain is
/// `lzcnt`, the shifts and the bit count. A quotient longer than the cache, and the last
/// 8 bytes of the buffer, take the general path for one residual.
#[inline(always)]
pub(super) fn rice(bits: &mut Bits<'_>, k: u32, out: &mut [i32]) -> Result<(), Short> {
    let data = bits.data;
    let (mut i, len) = (0, out.len());
    // Two residuals of typical size (quotients summing to ≤ 8) fit in the 56 bits a refill
    // guarantees.
    let pairs = 2 * (k + 1) + 8 <= 56;
    let mask = (1u32 << k) - 1;
    while i < len {
        let mut c = bits.c;
        'fast: {
            while i < len {
                if !c.refill(data) {
                    break 'fast;
                }
                let Some(r) = c.take(k, mask) else {
                    break 'fast;
                };
                out[i] = r;
                i += 1;
                // The second may not fit: then it starts the next step.
                if pairs && i < len {
                    if let Some(r) = c.take(k, mask) {
                        out[i] = r;
                        i += 1;
                    }
                }
            }
        }
        bits.c = c;
        if i == len {
            break;
        }
        // A quotient longer than the cache, or the end of the buffered bytes: one residual the
        // general way, then the fast loop again from there.
        let q = bits.unary()?;
        let v = (q.wrapping_shl(k)) | bits.read(k)?;
        out[i] = unfold(v);
        i += 1;
    }
    Ok(())
}

/// The bit cache: [`Bits`] keeps one, and [`rice`]'s hot loop copies it into locals
/// (registers) and back.
#[derive(Clone, Copy)]
struct Cache {
    /// Next byte to load into the cache.
    next: usize,
    /// Valid bits, MSB-aligned. Bits below the `n` valid ones are zeros or the stream's next
    /// bits (never anything else), so a refill may OR the same bits in again.
    bits: u64,
    n: u32,
}

impl Cache {
    /// The "always refill" step: 8 bytes from `next`, shifted under the valid bits; `n`
    /// becomes at least 56. `false` within 8 bytes of the end of `data`.
    #[inline(always)]
    fn refill(&mut self, data: &[u8]) -> bool {
        let Some(b) = data.get(self.next..self.next + 8) else {
            return false;
        };
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        self.bits |= u64::from_be_bytes(w) >> self.n;
        self.next += ((63 - self.n) >> 3) as usize;
        self.n |= 56;
        true
    }

    /// One residual of parameter `k` (`mask` = 2^k − 1), if the cache holds all of it.
    #[inline(always)]
    fn take(&mut self, k: u32, mask: u32) -> Option<i32> {
        let z = self.bits.leading_zeros();
        let t = z + 1 + k;
        if t > self.n {
            return None;
        }
        let r = ((self.bits << z) >> (63 - k)) as u32 & mask;
        self.bits <<= t;
        self.n -= t;
        Some(unfold((z << k) | r))
    }
}
