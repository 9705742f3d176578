//! Unit tests of the miniSEED reader, writer and Steim codec: round trips over record sizes and
//! encodings, every Steim packing at its range limits, integration constants, trace joining
//! (gaps, jitter within half a sample, interleaved channels), and hostile inputs (truncations,
//! bad lengths, frame counts, sample counts, random byte flips) that must error, never panic.

use super::mseed::*;
use super::mseed_steim::{self as steim, Steim};
use super::mseed_write::*;

fn id(sta: &str) -> SourceId {
    SourceId {
        network: "OO".into(),
        station: sta.into(),
        location: "".into(),
        channel: "YDH".into(),
    }
}

/// 2019-07-02T00:00:00.000015Z in ns.
const T0: i64 = 1_562_025_600_000_015_000;

/// A deterministic random walk with steps of up to ±`step`.
fn walk(n: usize, step: i64, seed: u64) -> Vec<i32> {
    let mut s = seed | 1;
    let mut x = 0i64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            x += (s % (2 * step as u64 + 1)) as i64 - step;
            x = x.clamp(-(1 << 27), 1 << 27);
            x as i32
        })
        .collect()
}

fn trace(sta: &str, start_ns: i64, rate: f64, v: Vec<i32>) -> MseedTrace {
    let n = v.len() as u64;
    MseedTrace {
        id: id(sta),
        start_ns,
        sample_rate: rate,
        samples: MseedSamples::Int(v),
        num_samples: n,
    }
}

fn opts(record_len: usize, encoding: MseedEncoding) -> MseedWriteOptions {
    MseedWriteOptions {
        record_len,
        encoding,
    }
}

#[test]
fn steim_round_trips_over_record_sizes_and_step_sizes() {
    for enc in [MseedEncoding::Steim1, MseedEncoding::Steim2] {
        for len in [256, 512, 4096, 8192] {
            for step in [0i64, 3, 100, 40_000, 1 << 24] {
                let t = trace("AXBA1", T0, 64_000.0, walk(20_011, step, 7 + step as u64));
                let bytes = encode_mseed(std::slice::from_ref(&t), &opts(len, enc)).unwrap();
                assert_eq!(bytes.len() % len, 0);
                let got = read_mseed(&bytes[..]).unwrap();
                assert_eq!(got.len(), 1, "{enc:?} {len} {step}: one contiguous trace");
                assert_eq!(got[0], t, "{enc:?} {len} {step}");
            }
        }
    }
}

#[test]
fn plain_encodings_round_trip() {
    let ints = walk(3000, 300, 3);
    let t = trace("S", T0, 200.0, ints.clone());
    for enc in [MseedEncoding::Int16, MseedEncoding::Int32] {
        let got = read_mseed(&encode_mseed(std::slice::from_ref(&t), &opts(512, enc)).unwrap()[..])
            .unwrap();
        assert_eq!(got, vec![t.clone()], "{enc:?}");
    }
    let f32s: Vec<f32> = ints.iter().map(|&x| x as f32 * 0.25).collect();
    let f64s: Vec<f64> = ints.iter().map(|&x| f64::from(x) / 3.0).collect();
    for (samples, enc) in [
        (MseedSamples::Float32(f32s), MseedEncoding::Float32),
        (MseedSamples::Float64(f64s), MseedEncoding::Float64),
    ] {
        let t = MseedTrace {
            samples,
            ..t.clone()
        };
        let got =
            read_mseed(&encode_mseed(std::slice::from_ref(&t), &opts(1024, enc)).unwrap()[..])
                .unwrap();
        assert_eq!(got, vec![t], "{enc:?}");
    }
    // int16 refuses what does not fit.
    let big = trace("S", T0, 200.0, vec![0, 40_000]);
    assert!(encode_mseed(&[big], &opts(512, MseedEncoding::Int16)).is_err());
}

/// Each packing at both ends of its range: the encoder picks it and the decoder restores it.
#[test]
fn every_steim_packing_at_its_limits() {
    // (level, count, bits, control code, dnib)
    let cases = [
        (Steim::Two, 7, 4, 3, Some(2)),
        (Steim::Two, 6, 5, 3, Some(1)),
        (Steim::Two, 5, 6, 3, Some(0)),
        (Steim::Two, 4, 8, 1, None),
        (Steim::Two, 3, 10, 2, Some(3)),
        (Steim::Two, 2, 15, 2, Some(2)),
        (Steim::Two, 1, 30, 2, Some(1)),
        (Steim::One, 4, 8, 1, None),
        (Steim::One, 2, 16, 2, None),
        (Steim::One, 1, 32, 3, None),
    ];
    for (level, count, bits, code, dnib) in cases {
        for d in [-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1] {
            // `count` differences of exactly d (wrapping for 32 bits), then the record ends.
            let mut x = 5i64;
            let samples: Vec<i32> = (0..count)
                .map(|_| {
                    x += d;
                    x as i32
                })
                .collect();
            let mut buf = Vec::new();
            let p = steim::encode(level, &samples, Some(5), 1, &mut buf).unwrap();
            assert_eq!((p.samples, p.frames), (count, 1), "{level:?} {bits} {d}");
            let ctrl = u32::from_be_bytes(buf[0..4].try_into().unwrap());
            assert_eq!((ctrl >> 24) & 3, code, "{level:?} {bits}-bit control code");
            let w = u32::from_be_bytes(buf[12..16].try_into().unwrap());
            if let Some(dn) = dnib {
                assert_eq!(w >> 30, dn, "{level:?} {bits}-bit sub-code");
            }
            let mut out = Vec::new();
            steim::decode(level, &buf, count, true, &mut out).unwrap();
            assert_eq!(out, samples, "{level:?} {bits} {d}");
        }
        // One beyond the range takes a wider packing (or fails at 30 bits).
        if bits < 30 {
            let d = 1i64 << (bits - 1);
            let samples: Vec<i32> = (1..=count as i64).map(|k| (k * d) as i32).collect();
            let mut buf = Vec::new();
            steim::encode(level, &samples, Some(0), 1, &mut buf).unwrap();
            let ctrl = u32::from_be_bytes(buf[0..4].try_into().unwrap());
            let w = u32::from_be_bytes(buf[12..16].try_into().unwrap());
            assert_ne!(
                ((ctrl >> 24) & 3, dnib.map(|_| w >> 30)),
                (code, dnib),
                "{level:?}: {d} must not be packed in {bits} bits"
            );
        }
    }
    let mut buf = Vec::new();
    let err = steim::encode(Steim::Two, &[0, 1 << 29], None, 1, &mut buf).unwrap_err();
    assert!(err.contains("30 bits"), "{err}");
}

#[test]
fn integration_constants_are_checked() {
    let t = trace("S", T0, 100.0, walk(500, 50, 11));
    let good = encode_mseed(&[t], &opts(512, MseedEncoding::Steim2)).unwrap();
    // Reverse constant (frame 0 word 2 = bytes 64+8..64+12) off by one.
    let mut bad = good.clone();
    bad[64 + 11] ^= 1;
    let e = read_mseed(&bad[..]).unwrap_err().to_string();
    assert!(e.contains("reverse integration constant"), "{e}");
    // Forward constant changed: every sample shifts, the last no longer matches.
    let mut bad = good.clone();
    bad[64 + 7] ^= 4;
    assert!(read_mseed(&bad[..]).is_err());
}

#[test]
fn records_join_within_half_a_sample_and_split_on_gaps_and_channels() {
    let rate = 64_000.0; // period 15.625 µs
    let a = walk(5000, 300, 1);
    let b = walk(5000, 300, 2);
    let gap_start = T0 + offset_ns(5000, rate) + 1_000_000_000;
    let traces = [
        trace("AXBA1", T0, rate, a.clone()),
        trace("AXBA1", gap_start, rate, b.clone()),
        trace("AXBA2", T0, rate, b.clone()),
    ];
    let bytes = encode_mseed(&traces, &opts(512, MseedEncoding::Steim2)).unwrap();
    let got = read_mseed(&bytes[..]).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], traces[0]);
    assert_eq!(got[1], traces[1]);
    assert_eq!(got[2].id.station, "AXBA2");
    // A second trace written to start 7 µs (< 7.8 µs, half a sample) late joins the first.
    let late = T0 + offset_ns(5000, rate) + 7_000;
    let two = [
        trace("X", T0, rate, a.clone()),
        trace("X", late, rate, b.clone()),
    ];
    let got =
        read_mseed(&encode_mseed(&two, &opts(512, MseedEncoding::Steim2)).unwrap()[..]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].num_samples, 10_000);
    // 9 µs late (> half a sample) does not.
    let late = T0 + offset_ns(5000, rate) + 9_000;
    let two = [trace("X", T0, rate, a), trace("X", late, rate, b)];
    let got =
        read_mseed(&encode_mseed(&two, &opts(512, MseedEncoding::Steim2)).unwrap()[..]).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].start_ns, late);
}

#[test]
fn times_and_rates_survive_the_header() {
    // Microseconds (blockette 1001), a leap day, day 366, negative µs offsets.
    for ns in [
        T0,
        1_582_934_400_123_456_000, // 2020-02-29T00:00:00.123456
        1_609_372_799_999_951_000, // 2020-12-31T23:59:59.999951 (day 366)
        0,
    ] {
        for rate in [64_000.0, 200.0, 1.0, 0.1, 40.0] {
            let t = trace("S", ns, rate, vec![1, 2, 3]);
            let got = read_mseed(
                &encode_mseed(std::slice::from_ref(&t), &MseedWriteOptions::default()).unwrap()[..],
            )
            .unwrap();
            assert_eq!(got, vec![t], "{ns} {rate}");
        }
    }
}

#[test]
fn time_correction_applies_unless_flagged_applied() {
    let t = trace("S", T0, 100.0, vec![1, 2, 3]);
    let mut b = encode_mseed(&[t], &opts(512, MseedEncoding::Steim2)).unwrap();
    b[40..44].copy_from_slice(&25i32.to_be_bytes()); // +2.5 ms
    assert_eq!(read_mseed(&b[..]).unwrap()[0].start_ns, T0 + 2_500_000);
    b[36] |= 0x02;
    assert_eq!(read_mseed(&b[..]).unwrap()[0].start_ns, T0);
}

#[test]
fn scan_counts_without_keeping_samples() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.mseed");
    let traces = [
        trace("A", T0, 64_000.0, walk(9000, 500, 5)),
        trace("A", T0 + 2_000_000_000, 64_000.0, walk(100, 500, 6)),
    ];
    write_mseed_path(&p, &traces, &MseedWriteOptions::default()).unwrap();
    let s = scan_mseed_path(&p).unwrap();
    assert_eq!(s.total_samples(), 9100);
    assert_eq!(s.traces.len(), 2);
    assert!(s.traces.iter().all(|t| t.samples.is_empty()));
    assert_eq!(read_mseed_path(&p).unwrap(), traces.to_vec());
    let e = scan_mseed_path(&dir.path().join("missing.mseed")).unwrap_err();
    assert!(e.to_string().contains("missing.mseed"), "{e}");
}

fn sample_file() -> Vec<u8> {
    let traces = [
        trace("A", T0, 64_000.0, walk(3000, 20_000, 9)),
        trace("B", T0, 64_000.0, walk(700, 3, 10)),
    ];
    encode_mseed(&traces, &opts(512, MseedEncoding::Steim2)).unwrap()
}

#[test]
fn truncations_error_and_name_the_offset() {
    let good = sample_file();
    for cut in (1..good.len()).step_by(37) {
        if cut % 512 == 0 {
            continue;
        }
        let e = read_mseed(&good[..cut]).unwrap_err().to_string();
        assert!(e.contains("truncated"), "cut {cut}: {e}");
    }
}

#[test]
fn bad_headers_error() {
    let good = sample_file();
    let mut b = good.clone();
    b[54] = 30; // record length 2^30
    assert!(read_mseed(&b[..]).unwrap_err().to_string().contains("2^30"));
    let mut b = good.clone();
    b[54] = 3;
    assert!(read_mseed(&b[..]).is_err());
    let mut b = good.clone();
    b[30..32].copy_from_slice(&u16::MAX.to_be_bytes()); // 65535 samples in 7 frames
    let e = read_mseed(&b[..]).unwrap_err().to_string();
    assert!(e.contains("cannot fit"), "{e}");
    let mut b = good.clone();
    b[30..32].copy_from_slice(&400u16.to_be_bytes()); // fits the capacity, not the frames
    assert!(read_mseed(&b[..]).is_err());
    let mut b = good.clone();
    b[52] = 19; // unknown encoding
    assert!(read_mseed(&b[..])
        .unwrap_err()
        .to_string()
        .contains("encoding 19"));
    let mut b = good.clone();
    b[46..48].copy_from_slice(&0u16.to_be_bytes()); // no blockette 1000
    assert!(read_mseed(&b[..]).unwrap_err().to_string().contains("1000"));
    let mut b = good.clone();
    b[50..52].copy_from_slice(&48u16.to_be_bytes()); // chain loops onto itself
    assert!(read_mseed(&b[..]).is_err());
    let mut b = good;
    b[6] = b'X';
    assert!(read_mseed(&b[..])
        .unwrap_err()
        .to_string()
        .contains("quality"));
    assert!(read_mseed(&b"garbage"[..]).is_err());
    assert_eq!(read_mseed(&b""[..]).unwrap(), vec![]);
}

#[test]
fn random_byte_flips_never_panic() {
    let good = sample_file();
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let mut b = good.clone();
        for _ in 0..1 + (s % 4) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let at = (s % b.len() as u64) as usize;
            b[at] ^= (s >> 32) as u8 | 1;
        }
        if let Ok(traces) = read_mseed(&b[..]) {
            let n: u64 = traces.iter().map(|t| t.num_samples).sum();
            assert!(n <= 40_000, "{n} samples from {} bytes", b.len());
        }
    }
}

/// Files ObsPy 1.5.1 (libmseed) wrote from one series whose differences climb from 1 to 30 bits
/// (`tests/fixtures/mseed/README.md` says how): the little-endian Steim layouts SEED leaves
/// undefined must decode exactly as the big-endian ones do.
#[test]
fn little_endian_steim_written_by_obspy_equals_big_endian() {
    let files: [(&str, &[u8]); 4] = [
        (
            "be_steim1",
            include_bytes!("../../tests/fixtures/mseed/be_steim1.mseed"),
        ),
        (
            "le_steim1",
            include_bytes!("../../tests/fixtures/mseed/le_steim1.mseed"),
        ),
        (
            "be_steim2",
            include_bytes!("../../tests/fixtures/mseed/be_steim2.mseed"),
        ),
        (
            "le_steim2",
            include_bytes!("../../tests/fixtures/mseed/le_steim2.mseed"),
        ),
    ];
    let read = |name: &str, bytes: &[u8]| -> (i64, Vec<i32>) {
        let t = read_mseed(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.len(), 1, "{name}");
        match &t[0].samples {
            MseedSamples::Int(v) => (t[0].start_ns, v.clone()),
            other => panic!("{name}: {other:?}"),
        }
    };
    let (start, reference) = read(files[0].0, files[0].1);
    assert_eq!(start, T0);
    assert_eq!(reference.len(), 3000);
    let widest = reference
        .windows(2)
        .map(|w| (i64::from(w[1]) - i64::from(w[0])).abs())
        .max()
        .unwrap_or(0);
    assert!(
        widest > 1 << 25,
        "the series must need the widest packings: {widest}"
    );
    for (name, bytes) in &files[1..] {
        assert_eq!(read(name, bytes), (start, reference.clone()), "{name}");
    }
}
