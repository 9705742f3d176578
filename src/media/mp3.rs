//! MP3 files: encoding integer PCM to MPEG-1/2 Layer III through LAME (`mp3lame-encoder`).
//! Used by the simulator for ONC's `AD` mp3 product; reading MP3 is not supported (it is
//! lossy and nothing in onc-hydro analyses it).
//!
//! Must not know: network, annotations, where the samples come from, which rate a service
//! chooses (the caller passes one of [`MP3_SAMPLE_RATES`]).

use mp3lame_encoder::{Bitrate, Builder, FlushNoGap, MonoPcm, Quality};

use super::error::{mem, MediaError};

/// Sample rates an MP3 file can have (MPEG-1, 2 and 2.5 Layer III), ascending. ONC's wiki
/// ("Audio Downsampling") lists the same set as the rates its MP3 downsampling accepts.
pub const MP3_SAMPLE_RATES: [u32; 9] = [
    8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

/// Samples encoded per LAME call: bounds the output buffer (LAME's worst case is
/// 1.25 · n + 7200 bytes).
const CHUNK: usize = 1 << 16;

/// Encodes mono integer PCM of `bits` significant bits (right-justified, 8–32) as a
/// constant-bit-rate MP3 at `kbps` (one of LAME's rates, e.g. 128). Samples are scaled to
/// 16 bits with rounding and clamping, as LAME takes 16-bit input.
pub fn encode_mp3_mono(
    samples: &[i32],
    bits: u32,
    sample_rate: u32,
    kbps: u16,
) -> Result<Vec<u8>, MediaError> {
    let invalid = |field: &'static str, reason: String| MediaError::Invalid {
        file: mem(),
        field,
        reason,
    };
    if !MP3_SAMPLE_RATES.contains(&sample_rate) {
        return Err(invalid(
            "sample rate",
            format!("{sample_rate} Hz is not an MP3 rate (one of {MP3_SAMPLE_RATES:?})"),
        ));
    }
    if !(8..=32).contains(&bits) {
        return Err(invalid("bits", format!("{bits} (must be 8..=32)")));
    }
    let brate = bitrate(kbps).ok_or_else(|| invalid("bit rate", format!("{kbps} kbps")))?;
    let codec = |reason: String| MediaError::Codec {
        file: mem(),
        format: "MP3",
        reason,
    };
    let mut b = Builder::new().ok_or_else(|| codec("LAME could not allocate".into()))?;
    b.set_num_channels(1).map_err(|e| codec(e.to_string()))?;
    b.set_sample_rate(sample_rate)
        .map_err(|e| codec(e.to_string()))?;
    b.set_brate(brate).map_err(|e| codec(e.to_string()))?;
    b.set_quality(Quality::Good)
        .map_err(|e| codec(e.to_string()))?;
    let mut enc = b.build().map_err(|e| codec(e.to_string()))?;

    let shift = bits as i32 - 16;
    let to16 = |s: i32| -> i16 {
        let v = if shift > 0 {
            (i64::from(s) + (1i64 << (shift - 1))) >> shift
        } else {
            i64::from(s) << (-shift)
        };
        v.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
    };
    // CBR output is bitrate · duration; reserve that plus a frame of slack.
    let duration_s = samples.len() as f64 / f64::from(sample_rate);
    let expected = (f64::from(kbps) * 125.0 * duration_s) as usize + 8 * 1024;
    let mut out = Vec::with_capacity(expected);
    let mut pcm = Vec::with_capacity(CHUNK.min(samples.len()));
    for chunk in samples.chunks(CHUNK) {
        pcm.clear();
        pcm.extend(chunk.iter().map(|&s| to16(s)));
        out.reserve(mp3lame_encoder::max_required_buffer_size(pcm.len()));
        enc.encode_to_vec(MonoPcm(pcm.as_slice()), &mut out)
            .map_err(|e| codec(e.to_string()))?;
    }
    out.reserve(7200);
    enc.flush_to_vec::<FlushNoGap>(&mut out)
        .map_err(|e| codec(e.to_string()))?;
    Ok(out)
}

/// LAME's constant bit rates.
fn bitrate(kbps: u16) -> Option<Bitrate> {
    Some(match kbps {
        8 => Bitrate::Kbps8,
        16 => Bitrate::Kbps16,
        24 => Bitrate::Kbps24,
        32 => Bitrate::Kbps32,
        40 => Bitrate::Kbps40,
        48 => Bitrate::Kbps48,
        64 => Bitrate::Kbps64,
        80 => Bitrate::Kbps80,
        96 => Bitrate::Kbps96,
        112 => Bitrate::Kbps112,
        128 => Bitrate::Kbps128,
        160 => Bitrate::Kbps160,
        192 => Bitrate::Kbps192,
        224 => Bitrate::Kbps224,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frame headers of an MPEG Layer III stream: (sample rate, frame count).
    fn scan_frames(b: &[u8]) -> (u32, usize) {
        let mut i = 0;
        let mut frames = 0;
        let mut rate = 0;
        while i + 4 <= b.len() {
            let h = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
            if h >> 21 != 0x7ff || (h >> 17) & 3 != 1 {
                i += 1;
                continue;
            }
            let version = (h >> 19) & 3; // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
            let br_idx = ((h >> 12) & 0xf) as usize;
            let sr_idx = ((h >> 10) & 3) as usize;
            let pad = ((h >> 9) & 1) as usize;
            let base = [44_100, 48_000, 32_000][sr_idx.min(2)];
            let (sr, brs, coef): (u32, [u32; 15], usize) = match version {
                3 => (
                    base,
                    [
                        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
                    ],
                    144,
                ),
                2 => (
                    base / 2,
                    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
                    72,
                ),
                _ => (
                    base / 4,
                    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
                    72,
                ),
            };
            let len = coef * brs[br_idx.min(14)] as usize * 1000 / sr as usize + pad;
            if len == 0 {
                i += 1;
                continue;
            }
            rate = sr;
            frames += 1;
            i += len;
        }
        (rate, frames)
    }

    #[test]
    fn a_tone_encodes_to_frames_at_the_requested_rate() {
        for &(rate, kbps) in &[(48_000u32, 128u16), (16_000, 64), (8_000, 32)] {
            let n = rate as usize * 2;
            let s: Vec<i32> = (0..n)
                .map(|i| {
                    let t = i as f64 / f64::from(rate);
                    ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 4_000_000.0) as i32
                })
                .collect();
            let mp3 = encode_mp3_mono(&s, 24, rate, kbps).expect("encodes");
            let (sr, frames) = scan_frames(&mp3);
            assert_eq!(sr, rate);
            let per_frame = if rate >= 32_000 { 1152 } else { 576 };
            // LAME adds an encoder delay and padding of at most a couple of frames.
            assert!(
                frames >= n / per_frame && frames <= n / per_frame + 3,
                "{frames} frames for {n} samples at {rate}"
            );
            // Constant bit rate: size follows duration.
            let want = f64::from(kbps) * 125.0 * 2.0;
            assert!(
                (mp3.len() as f64 - want).abs() < want * 0.05,
                "{} vs {want}",
                mp3.len()
            );
        }
    }

    #[test]
    fn rates_bits_and_bitrates_outside_mp3_are_refused_by_name() {
        let s = vec![0i32; 1000];
        let e = encode_mp3_mono(&s, 24, 64_000, 128).expect_err("64 kHz");
        assert!(e.to_string().contains("64000 Hz is not an MP3 rate"), "{e}");
        let e = encode_mp3_mono(&s, 40, 48_000, 128).expect_err("40 bits");
        assert!(e.to_string().contains("bits"), "{e}");
        let e = encode_mp3_mono(&s, 24, 48_000, 100).expect_err("100 kbps");
        assert!(e.to_string().contains("bit rate"), "{e}");
    }

    #[test]
    fn empty_input_still_gives_a_file() {
        let mp3 = encode_mp3_mono(&[], 16, 44_100, 128).expect("encodes");
        assert!(mp3.len() < 8 * 1024);
    }
}
