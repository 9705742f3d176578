//! Tests of the FLAC decoder.

use super::lpc::lpc_restore;
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

mod spelled_out {
    //! Round trips through the test encoder, which spells out each subframe choice.

    use super::super::test_encoder::{
        good_param, residuals, stream_header, write_frame, Part, Pred, Stereo, Sub,
    };
    use super::*;

    /// One frame: its channels (one block each), stereo mode and subframe choices.
    type Frame = (Vec<Vec<i64>>, Stereo, Vec<Sub>);
    /// A bit depth and its (LPC precision, block size, partition order) cases.
    type Plan = (u32, &'static [(u32, usize, u32)]);

    /// xorshift64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// Uniform in [-2^(bits-1), 2^(bits-1)).
        fn signed(&mut self, bits: u32) -> i64 {
            (self.next() as i64) >> (64 - bits)
        }
    }

    /// A smooth signal (sum of two sines) plus noise, within `bps` bits.
    fn smooth(rng: &mut Rng, n: usize, bps: u32, noise_bits: u32) -> Vec<i64> {
        let amp = ((1i64 << (bps - 1)) - 1) as f64 * 0.45;
        let (f1, f2) = (0.0123 + (rng.next() % 100) as f64 * 1e-4, 0.071);
        (0..n)
            .map(|i| {
                let t = i as f64;
                let v = amp * ((t * f1).sin() + 0.9 * (t * f2 + 1.0).sin()) / 1.9;
                let v = v as i64
                    + if noise_bits > 0 {
                        rng.signed(noise_bits)
                    } else {
                        0
                    };
                v.clamp(-(1i64 << (bps - 1)), (1i64 << (bps - 1)) - 1)
            })
            .collect()
    }

    /// Encodes `frames` (each: channels of one block, stereo mode, subframes) as one stream
    /// and decodes it: what came out, channel by channel.
    fn round_trip(bps: u32, frames: &[Frame]) -> Vec<Vec<i32>> {
        let ch = frames[0].0.len() as u32;
        let total: usize = frames.iter().map(|f| f.0[0].len()).sum();
        let max_block = frames.iter().map(|f| f.0[0].len()).max().unwrap_or(0) as u32;
        let mut w = stream_header(48_000, ch, bps, max_block, total as u64);
        for (k, (chans, stereo, subs)) in frames.iter().enumerate() {
            // Frame numbers past 127 take the multi-byte form.
            write_frame(&mut w, k as u64 * 100, bps, chans, *stereo, subs);
        }
        let (out, _) = decode_all(&w.bytes).unwrap();
        out
    }

    fn assert_same(got: &[Vec<i32>], frames: &[Frame], what: &str) {
        for (c, g) in got.iter().enumerate() {
            let want: Vec<i32> = frames
                .iter()
                .flat_map(|f| f.0[c].iter().map(|&v| v as i32))
                .collect();
            assert!(g == &want, "{what}: channel {c} differs");
        }
    }

    /// Partitions of order `po` with rice parameters that suit each one.
    fn rice_parts(pred: &Pred, s: &[i64], po: u32, wide: bool) -> Vec<Part> {
        let r = residuals(pred, s);
        let order = s.len() - r.len();
        let parts = 1usize << po;
        let per = s.len() / parts;
        (0..parts)
            .map(|p| {
                let lo = (p * per).max(order) - order;
                let hi = (p + 1) * per - order;
                Part::Rice(good_param(&r[lo..hi], if wide { 30 } else { 14 }))
            })
            .collect()
    }

    #[test]
    fn every_lpc_order_precision_and_shift_is_bit_exact() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        // (bit depth, [(precision, block size, partition order)]); block sizes that are not
        // multiples of 8, and one per order just above the order.
        let plans: [Plan; 3] = [
            (24, &[(15, 4096, 4), (12, 1003, 0)]),
            (16, &[(9, 1000, 3)]),
            (8, &[(5, 0, 0)]),
        ];
        for (bps, plan) in plans {
            let mut frames = Vec::new();
            for order in 1..=32usize {
                for &(precision, block, po) in plan {
                    let block = if block == 0 { 37 + order } else { block };
                    let s = smooth(&mut rng, block, bps, 4);
                    // A plausible predictor (close to "the previous sample") with random low
                    // bits in every coefficient, quantized to `precision` bits.
                    let shift = precision - 1;
                    let c: Vec<i32> = (0..order)
                        .map(|j| {
                            let base = if j == 0 { 1i64 << shift } else { 0 };
                            let v = base + rng.signed(precision.min(8));
                            v.clamp(-(1 << (precision - 1)), (1 << (precision - 1)) - 1) as i32
                        })
                        .collect();
                    let pred = Pred::Lpc(c, precision, shift);
                    let wide = bps > 16;
                    let mut sub = Sub::new(pred.clone());
                    sub.wide_params = wide;
                    sub.parts = rice_parts(&pred, &s, po, wide);
                    frames.push((vec![s], Stereo::Independent, vec![sub]));
                }
            }
            let got = round_trip(bps, &frames);
            assert_same(&got, &frames, &format!("{bps}-bit LPC orders 1-32"));
        }
    }

    #[test]
    fn fixed_orders_constant_verbatim_and_wasted_bits_are_bit_exact() {
        let mut rng = Rng(0x0bad_cafe_f00d_d00d);
        for bps in [8u32, 12, 16, 20, 24] {
            let mut frames = Vec::new();
            for order in 0..=4usize {
                for (block, po, wide, wasted) in [
                    (4095usize, 0u32, false, 0u32),
                    (576, 6, true, 0),
                    (1152, 2, true, 3),
                ] {
                    let mut s = smooth(&mut rng, block, bps, 3);
                    s.iter_mut().for_each(|v| *v = (*v >> wasted) << wasted);
                    let pred = Pred::Fixed(order);
                    let shifted: Vec<i64> = s.iter().map(|v| v >> wasted).collect();
                    let mut sub = Sub::new(pred.clone());
                    sub.wide_params = wide;
                    sub.wasted = wasted;
                    sub.parts = rice_parts(&pred, &shifted, po, wide);
                    frames.push((vec![s], Stereo::Independent, vec![sub]));
                }
            }
            let s = vec![-(1i64 << (bps - 1)); 999];
            frames.push((vec![s], Stereo::Independent, vec![Sub::new(Pred::Constant)]));
            let s = smooth(&mut rng, 333, bps, 0);
            frames.push((vec![s], Stereo::Independent, vec![Sub::new(Pred::Verbatim)]));
            let got = round_trip(bps, &frames);
            assert_same(&got, &frames, &format!("{bps}-bit fixed"));
        }
    }

    #[test]
    fn escape_partitions_long_quotients_and_every_rice_parameter_are_bit_exact() {
        let mut rng = Rng(0x5eed_5eed_5eed_5eed);
        let mut frames = Vec::new();
        // Verbatim-like noise coded as fixed order 0 with each parameter 0..=30: small
        // parameters on large residuals give quotients far longer than the 64-bit cache.
        for k in 0..=30u32 {
            let bits = (k + 2).min(24);
            let s: Vec<i64> = (0..512).map(|_| rng.signed(bits)).collect();
            let mut sub = Sub::new(Pred::Fixed(0));
            sub.parts = vec![Part::Rice(k)];
            if k < 4 {
                // Keep the stream small: small parameters get small residuals, but a few
                // large ones (quotients of 100s of bits).
                let s: Vec<i64> = (0..512)
                    .map(|i| {
                        if i % 97 == 5 {
                            300 << k
                        } else {
                            rng.signed(k + 2)
                        }
                    })
                    .collect();
                frames.push((vec![s], Stereo::Independent, vec![sub]));
                continue;
            }
            frames.push((vec![s], Stereo::Independent, vec![sub]));
        }
        // Escapes: raw widths 0 (all-zero residual) … 25, mixed with rice partitions.
        for raw in [0u32, 1, 5, 17, 24, 25] {
            let pred = Pred::Lpc(vec![3, -1], 4, 1);
            let mut s = smooth(&mut rng, 1024, 24, 0);
            // The second partition's residuals: random `raw`-bit values (zero if raw = 0).
            p_fix(&pred, &mut s, 256..512, raw, &mut rng);
            let mut sub = Sub::new(pred.clone());
            let r = residuals(&pred, &s);
            let k = good_param(&r, 30);
            sub.parts = vec![
                Part::Rice(k),
                Part::Escape(raw),
                Part::Rice(k),
                Part::Escape(26),
            ];
            frames.push((vec![s], Stereo::Independent, vec![sub]));
        }
        let got = round_trip(24, &frames);
        assert_same(&got, &frames, "rice parameters and escapes");
    }

    /// Sets `s[range]` so that the residuals there are random `raw`-bit values (zero if
    /// `raw` is 0), sample by sample (each prediction uses the samples just set).
    fn p_fix(pred: &Pred, s: &mut [i64], range: std::ops::Range<usize>, raw: u32, rng: &mut Rng) {
        let Pred::Lpc(c, _, shift) = pred else {
            return;
        };
        for i in range {
            let sum: i64 = (0..c.len()).map(|j| i64::from(c[j]) * s[i - 1 - j]).sum();
            let want = if raw == 0 { 0 } else { rng.signed(raw) };
            s[i] = ((sum >> shift) + want).clamp(-(1 << 23), (1 << 23) - 1);
            if (s[i] - (sum >> shift)) != want {
                // Clamped: pick the residual that the clamp left (still fits raw bits or 0).
                s[i] = sum >> shift;
            }
        }
    }

    #[test]
    fn every_stereo_mode_and_more_channels_are_bit_exact() {
        let mut rng = Rng(0xfeed_beef_1234_4321);
        for bps in [8u32, 16, 24] {
            let mut frames = Vec::new();
            for stereo in [
                Stereo::Independent,
                Stereo::LeftSide,
                Stereo::RightSide,
                Stereo::MidSide,
            ] {
                for block in [4096usize, 1001, 17] {
                    let l = smooth(&mut rng, block, bps, 2);
                    let r: Vec<i64> = smooth(&mut rng, block, bps, 5)
                        .iter()
                        .zip(&l)
                        .map(|(a, b)| ((a + b) / 2).clamp(-(1 << (bps - 1)), (1 << (bps - 1)) - 1))
                        .collect();
                    // Subframes: LPC order 2 on the first, fixed order 2 on the second.
                    let subs = vec![
                        Sub::new(Pred::Lpc(vec![3, -2], 3, 0)),
                        Sub::new(Pred::Fixed(2)),
                    ];
                    let coded = coded_channels(stereo, &l, &r);
                    let subs: Vec<Sub> = subs
                        .into_iter()
                        .zip(&coded)
                        .map(|(mut sub, s)| {
                            sub.parts = rice_parts(&sub.pred, s, 0, true);
                            sub
                        })
                        .collect();
                    frames.push((vec![l, r], stereo, subs));
                }
            }
            let got = round_trip(bps, &frames);
            assert_same(&got, &frames, &format!("{bps}-bit stereo"));
        }
        // Six independent channels.
        let chans: Vec<Vec<i64>> = (0..6).map(|_| smooth(&mut rng, 2000, 16, 3)).collect();
        let subs = chans
            .iter()
            .map(|s| {
                let mut sub = Sub::new(Pred::Fixed(3));
                sub.parts = rice_parts(&sub.pred, s, 1, false);
                sub
            })
            .collect();
        let frames = vec![(chans, Stereo::Independent, subs)];
        let got = round_trip(16, &frames);
        assert_same(&got, &frames, "6 channels");
    }

    /// The channels a stereo mode codes (as `write_frame` builds them).
    fn coded_channels(stereo: Stereo, l: &[i64], r: &[i64]) -> Vec<Vec<i64>> {
        let side: Vec<i64> = l.iter().zip(r).map(|(a, b)| a - b).collect();
        match stereo {
            Stereo::Independent => vec![l.to_vec(), r.to_vec()],
            Stereo::LeftSide => vec![l.to_vec(), side],
            Stereo::RightSide => vec![side, r.to_vec()],
            Stereo::MidSide => vec![l.iter().zip(r).map(|(a, b)| (a + b) >> 1).collect(), side],
        }
    }

    /// A reader that hands out at most `step` bytes per call (buffer ends everywhere).
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn lpc8_stream(rng: &mut Rng, frames: usize, block: usize) -> (Vec<u8>, Vec<i32>) {
        let mut all = Vec::new();
        let pred = Pred::Lpc(vec![7000, -3000, 1200, -400, 200, -100, 50, -20], 14, 12);
        let mut w = stream_header(64_000, 1, 24, block as u32, (block * frames) as u64);
        for f in 0..frames {
            let s = smooth(rng, block, 24, 18);
            let mut sub = Sub::new(pred.clone());
            sub.parts = rice_parts(&pred, &s, 1, true);
            write_frame(
                &mut w,
                f as u64,
                24,
                std::slice::from_ref(&s),
                Stereo::Independent,
                &[sub],
            );
            all.extend(s.iter().map(|&v| v as i32));
        }
        (w.bytes, all)
    }

    #[test]
    fn reads_that_end_anywhere_give_the_same_samples() {
        let mut rng = Rng(0x7777_1111_2222_3333);
        let (bytes, want) = lpc8_stream(&mut rng, 3, 4096);
        for step in [1usize, 3, 7, 8, 13, 4093] {
            let mut s = FlacStream::new(Trickle { data: &bytes, step }, true).unwrap();
            let mut got = Vec::new();
            while s
                .next_frame(&mut |x: &[i32], _| got.extend_from_slice(x))
                .unwrap()
            {}
            assert!(got == want, "reads of {step} bytes");
            let sha = s.finish_sha256().unwrap().unwrap();
            assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));
        }
    }

    #[test]
    fn every_cut_and_many_flips_of_a_spelled_out_stream_are_errors_not_panics() {
        let mut rng = Rng(0x9999_8888_7777_6666);
        let (bytes, want) = lpc8_stream(&mut rng, 3, 600);
        let (ok, _) = decode_all(&bytes).unwrap();
        assert!(ok[0] == want);
        for cut in 0..bytes.len() {
            match decode_all(&bytes[..cut]) {
                Err(FlacError::Truncated(_) | FlacError::Malformed(_)) => {}
                other => panic!("cut at {cut}: {:?}", other.map(|_| ())),
            }
        }
        for k in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[k] ^= 1 << (k % 8);
            if decode_all(&b).is_ok() {
                // Only STREAMINFO fields may change without an error (a frame's checksums
                // catch every single-bit flip).
                assert!(k < 42, "flip at byte {k} decoded silently");
            }
        }
    }

    #[test]
    fn streams_wider_than_24_bits_are_left_to_the_other_decoder() {
        let mut w = stream_header(48_000, 1, 32, 4096, 10);
        w.put(8, 0);
        assert!(matches!(
            FlacStream::new(&w.bytes[..], false),
            Err(FlacError::Unsupported(_))
        ));
    }

    #[test]
    fn the_bit_writer_frame_numbers_decode() {
        // Frame numbers up to 2^31 in the UTF-8-like form all parse.
        let mut rng = Rng(0x4242_4242_4242_4242);
        let s = smooth(&mut rng, 64, 16, 0);
        for number in [0u64, 127, 128, 2047, 2048, 65_535, 1 << 20, (1 << 31) - 1] {
            let mut w = stream_header(8_000, 1, 16, 64, 64);
            let sub = Sub::new(Pred::Verbatim);
            write_frame(
                &mut w,
                number,
                16,
                std::slice::from_ref(&s),
                Stereo::Independent,
                &[sub],
            );
            let (got, _) = decode_all(&w.bytes).unwrap();
            assert_eq!(got[0].len(), 64, "frame number {number}");
        }
    }
}
