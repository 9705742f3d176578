//! FLAC's two frame checksums: CRC-8 (polynomial 0x07) of the frame header and CRC-16
//! (polynomial 0x8005, MSB first, initial value 0) of the whole frame. The CRC-16 runs over every
//! byte of the file, so on x86-64 CPUs with PCLMULQDQ it folds 16 bytes per step with carry-less
//! multiplication (several times the speed of the table); the slicing-by-8 table is the
//! fallback and finishes the last bytes.
//!
//! Must not know: frames, files.

/// CRC-8 (polynomial 0x07, initial 0) of a frame header.
pub(crate) fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |c, &b| CRC8[(c ^ b) as usize])
}

/// CRC-16 (polynomial 0x8005, MSB first, initial 0) of a frame.
pub(crate) fn crc16(data: &[u8]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() >= 64 && std::arch::is_x86_feature_detected!("pclmulqdq") {
            // SAFETY: the CPU supports PCLMULQDQ (checked just above), the only requirement of
            // the target-feature function; it reads `data` through safe slices only.
            return unsafe { clmul::crc16(data) };
        }
    }
    crc16_table(0, data)
}

const CRC8: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u8;
        let mut j = 0;
        while j < 8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
            j += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-16 (polynomial 0x8005) tables for slicing by 8 bytes.
const CRC16: [[u16; 256]; 8] = {
    let mut t = [[0u16; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut j = 0;
        while j < 8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x8005
            } else {
                c << 1
            };
            j += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev << 8) ^ t[0][(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    t
};

/// CRC-16 by table, slicing by 8 bytes.
fn crc16_table(mut crc: u16, data: &[u8]) -> u16 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let a = (crc >> 8) as u8 ^ c[0];
        let b = crc as u8 ^ c[1];
        crc = CRC16[7][a as usize]
            ^ CRC16[6][b as usize]
            ^ CRC16[5][c[2] as usize]
            ^ CRC16[4][c[3] as usize]
            ^ CRC16[3][c[4] as usize]
            ^ CRC16[2][c[5] as usize]
            ^ CRC16[1][c[6] as usize]
            ^ CRC16[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc << 8) ^ CRC16[0][((crc >> 8) as u8 ^ b) as usize];
    }
    crc
}

/// x^n mod P (P = x^16 + 0x8005) as a 16-bit polynomial.
const fn x_pow_mod(n: u32) -> u64 {
    let mut r: u64 = 1;
    let mut i = 0;
    while i < n {
        r <<= 1;
        if r & 0x1_0000 != 0 {
            r ^= 0x1_8005;
        }
        i += 1;
    }
    r
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_shuffle_epi8,
        _mm_storeu_si128, _mm_xor_si128,
    };

    /// x^192 and x^128 mod P: a 128-bit state A = A_hi·x^64 + A_lo followed by 16 more bytes B
    /// is A·x^128 + B ≡ A_hi·(x^192 mod P) + A_lo·(x^128 mod P) + B (mod P), at most 80 bits.
    const K192: i64 = super::x_pow_mod(192) as i64;
    const K128: i64 = super::x_pow_mod(128) as i64;

    /// Folds the 16-byte blocks into one 128-bit polynomial congruent to them mod P, then
    /// lets the table finish: CRC(M) = M·x^16 mod P, the same for any M' ≡ M (mod P).
    #[target_feature(enable = "pclmulqdq,ssse3,sse2")]
    pub(super) fn crc16(data: &[u8]) -> u16 {
        // Byte reversal: the first byte of the block becomes the polynomial's top byte.
        let rev = _mm_set_epi64x(0x0001_0203_0405_0607, 0x0809_0a0b_0c0d_0e0f);
        let k = _mm_set_epi64x(K192, K128);
        let load = |c: &[u8; 16]| -> __m128i {
            // SAFETY: `c` is 16 readable bytes; loadu has no alignment requirement.
            let v = unsafe { _mm_loadu_si128(c.as_ptr().cast()) };
            _mm_shuffle_epi8(v, rev)
        };
        let (blocks, rest) = data.as_chunks::<16>();
        let mut acc = _mm_set_epi64x(0, 0);
        for b in blocks {
            let hi = _mm_clmulepi64_si128(acc, k, 0x11);
            let lo = _mm_clmulepi64_si128(acc, k, 0x00);
            acc = _mm_xor_si128(_mm_xor_si128(hi, lo), load(b));
        }
        let mut state = [0u8; 16];
        // SAFETY: `state` is 16 writable bytes; storeu has no alignment requirement.
        unsafe { _mm_storeu_si128(state.as_mut_ptr().cast(), _mm_shuffle_epi8(acc, rev)) };
        super::crc16_table(super::crc16_table(0, &state), rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(data: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in data {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x8005
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc16_matches_the_bitwise_definition_at_every_length() {
        let mut s = 0x1234_5678u32;
        let data: Vec<u8> = (0..700)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 24) as u8
            })
            .collect();
        for n in (0..200).chain([255, 256, 257, 511, 699, 700]) {
            assert_eq!(crc16(&data[..n]), bitwise(&data[..n]), "length {n}");
            assert_eq!(
                crc16_table(0, &data[..n]),
                bitwise(&data[..n]),
                "length {n}"
            );
        }
        // The check value of CRC-16/UMTS (poly 0x8005, init 0, no reflection).
        assert_eq!(crc16(b"123456789"), 0xfee8);
        assert_eq!(crc8(b"123456789"), 0xf4);
    }
}
