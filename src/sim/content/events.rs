//! Where and what the synthetic acoustic events of a device are: a pure function of the device
//! seed and absolute time, so `calls` (what annotations/tests see) and the renderer (what the
//! audio holds) always agree, whatever file boundaries a caller asks for.
//!
//! Scheme: time is cut into fixed slots per event kind (fin-whale bouts: 1 h, humpback song
//! sessions: 30 min, ship passages: 4 h). A keyed hash of (seed, kind, slot) decides whether the
//! slot holds a bout/session/passage and all its parameters. Events may run past their slot's
//! end, so a query also looks at the slots before it (up to the longest possible span).
//!
//! Must not know: FLAC/MAT encoding, the catalog, the HTTP server.

use super::{CallKind, SyntheticCall};
use jiff::Timestamp;

/// splitmix64's finaliser: a strong 64-bit mix (also our PRNG step).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A small deterministic stream of uniform numbers keyed by several words.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(keys: &[u64]) -> Self {
        Rng(keys.iter().fold(0x5EED_0F0C_3A11_u64, |h, &k| mix(h ^ k)))
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }
    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

// Stream identifiers so event kinds and noise never share random numbers.
pub(crate) const KEY_FIN: u64 = 0xF1;
pub(crate) const KEY_HUMP: u64 = 0x40;
pub(crate) const KEY_SHIP: u64 = 0x5B;

const FIN_SLOT_MS: i64 = 3_600_000;
const HUMP_SLOT_MS: i64 = 1_800_000;
const SHIP_SLOT_MS: i64 = 14_400_000;
/// Longest time any event may extend past the start of its slot.
const FIN_MAX_SPAN_MS: i64 = FIN_SLOT_MS + 90 * 25_500 + 2_000;
const HUMP_MAX_SPAN_MS: i64 = HUMP_SLOT_MS + 900_000 + 15_000;
const SHIP_MAX_SPAN_MS: i64 = SHIP_SLOT_MS + 3_600_000;

/// One event with everything the renderer needs. Times are absolute milliseconds since the
/// Unix epoch (event grid is 1 ms), so sample positions follow from the sample rate exactly.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub kind: CallKind,
    pub start_ms: i64,
    pub duration_s: f64,
    /// Peak amplitude in 24-bit counts.
    pub amplitude: f64,
    pub shape: Shape,
    /// Key of the event's own noise stream (ships' broadband part).
    pub key: u64,
}

/// The waveform recipe of an event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    /// Linear frequency sweep from `f0` to `f1` Hz with `harmonics` overtones (1 = none), each
    /// overtone at half the amplitude of the one below.
    Sweep { f0: f64, f1: f64, harmonics: u32 },
    /// A ship: tonal lines (Hz) plus low-passed broadband noise, under a sin² envelope.
    Ship {
        tonals: Vec<f64>,
        broadband_cutoff: f64,
    },
}

impl Event {
    pub(crate) fn end_ms(&self) -> i64 {
        self.start_ms + (self.duration_s * 1000.0).ceil() as i64
    }

    /// The band the event's energy occupies (what a detector would box).
    pub(crate) fn band(&self) -> (f64, f64) {
        match &self.shape {
            Shape::Sweep { f0, f1, harmonics } => {
                (f0.min(*f1), f0.max(*f1) * f64::from(*harmonics))
            }
            Shape::Ship {
                tonals,
                broadband_cutoff,
            } => {
                let lo = tonals.iter().copied().fold(10.0f64, f64::min);
                (lo, 2.0 * broadband_cutoff)
            }
        }
    }

    pub(crate) fn to_call(&self) -> SyntheticCall {
        let (lo, hi) = self.band();
        SyntheticCall {
            kind: self.kind,
            start: Timestamp::from_millisecond(self.start_ms).unwrap_or(Timestamp::UNIX_EPOCH),
            duration_s: self.duration_s,
            freq_low_hz: lo,
            freq_high_hz: hi,
        }
    }
}

/// A fin-whale bout: regular ~1 s 20 Hz downsweeps (about 23 → 17 Hz) every 10–25 s.
fn fin_slot(seed: u64, slot: i64, out: &mut Vec<Event>) {
    let mut r = Rng::new(&[seed, KEY_FIN, slot as u64]);
    if r.unit() >= 0.45 {
        return;
    }
    let bout_start = slot * FIN_SLOT_MS + (r.unit() * FIN_SLOT_MS as f64) as i64;
    let pulses = 20 + (r.next_u64() % 71) as i64;
    let ipi_ms = r.range(10_000.0, 25_000.0);
    let amplitude = r.range(25_000.0, 70_000.0);
    let (f_hi, f_lo) = (r.range(22.0, 24.0), r.range(16.5, 18.0));
    for i in 0..pulses {
        let mut p = Rng::new(&[seed, KEY_FIN, slot as u64, i as u64]);
        let jitter = p.range(-300.0, 300.0);
        out.push(Event {
            kind: CallKind::FinWhale,
            start_ms: bout_start + (i as f64 * ipi_ms + jitter).round() as i64,
            duration_s: p.range(0.8, 1.2),
            amplitude: amplitude * p.range(0.8, 1.0),
            shape: Shape::Sweep {
                f0: f_hi,
                f1: f_lo,
                harmonics: 1,
            },
            key: p.next_u64(),
        });
    }
}

/// A humpback-like song session: harmonic sweeps between a few hundred Hz and ~2 kHz.
fn hump_slot(seed: u64, slot: i64, out: &mut Vec<Event>) {
    let mut r = Rng::new(&[seed, KEY_HUMP, slot as u64]);
    if r.unit() >= 0.35 {
        return;
    }
    let start = slot * HUMP_SLOT_MS + (r.unit() * 1_200_000.0) as i64;
    let session_ms = r.range(300_000.0, 900_000.0) as i64;
    let amplitude = r.range(20_000.0, 60_000.0);
    let mut t = start;
    let mut i = 0u64;
    while t < start + session_ms {
        let mut p = Rng::new(&[seed, KEY_HUMP, slot as u64, i]);
        let dur = p.range(0.8, 3.0);
        let (a, b) = (p.range(250.0, 800.0), p.range(900.0, 2_000.0));
        let (f0, f1) = if p.unit() < 0.5 { (a, b) } else { (b, a) };
        out.push(Event {
            kind: CallKind::Humpback,
            start_ms: t,
            duration_s: dur,
            amplitude: amplitude * p.range(0.7, 1.0),
            shape: Shape::Sweep {
                f0,
                f1,
                harmonics: 2,
            },
            key: p.next_u64(),
        });
        t += (dur * 1000.0) as i64 + p.range(2_000.0, 10_000.0) as i64;
        i += 1;
    }
}

/// A ship passage: broadband noise and blade-rate tonals rising and falling over 20–60 min.
fn ship_slot(seed: u64, slot: i64, out: &mut Vec<Event>) {
    let mut r = Rng::new(&[seed, KEY_SHIP, slot as u64]);
    if r.unit() >= 0.5 {
        return;
    }
    let start_ms = slot * SHIP_SLOT_MS + (r.unit() * SHIP_SLOT_MS as f64) as i64;
    let duration_s = r.range(1_200.0, 3_600.0).round();
    let blade = r.range(6.0, 14.0);
    let first = 3 + (r.next_u64() % 4);
    let tonals = (0..4).map(|k| blade * (first + 2 * k) as f64).collect();
    out.push(Event {
        kind: CallKind::Ship,
        start_ms,
        duration_s,
        amplitude: r.range(80_000.0, 250_000.0),
        shape: Shape::Ship {
            tonals,
            broadband_cutoff: r.range(250.0, 600.0),
        },
        key: r.next_u64(),
    });
}

/// All events of a device overlapping `[from_ms, to_ms)`, in time order.
pub(crate) fn events(seed: u64, from_ms: i64, to_ms: i64) -> Vec<Event> {
    type SlotFn = fn(u64, i64, &mut Vec<Event>);
    let kinds: [(SlotFn, i64, i64); 3] = [
        (fin_slot, FIN_SLOT_MS, FIN_MAX_SPAN_MS),
        (hump_slot, HUMP_SLOT_MS, HUMP_MAX_SPAN_MS),
        (ship_slot, SHIP_SLOT_MS, SHIP_MAX_SPAN_MS),
    ];
    let mut out = Vec::new();
    if to_ms <= from_ms {
        return out;
    }
    for (f, slot_ms, span_ms) in kinds {
        let first = (from_ms - span_ms).div_euclid(slot_ms);
        let last = (to_ms - 1).div_euclid(slot_ms);
        for slot in first..=last {
            f(seed, slot, &mut out);
        }
    }
    out.retain(|e| e.start_ms < to_ms && e.end_ms() > from_ms);
    out.sort_by_key(|e| (e.start_ms, e.kind as u8, e.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_711_972_800_000; // 2024-04-01T12:00:00Z

    #[test]
    fn schedule_is_deterministic_and_seed_dependent() {
        let a = events(7, T0, T0 + DAY);
        assert_eq!(a, events(7, T0, T0 + DAY));
        assert_ne!(a, events(8, T0, T0 + DAY));
        // A day holds all three kinds for this seed, and plenty of fin pulses.
        for k in [CallKind::FinWhale, CallKind::Humpback, CallKind::Ship] {
            assert!(a.iter().any(|e| e.kind == k), "{k:?} missing");
        }
        assert!(a.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    }

    #[test]
    fn splitting_a_range_loses_and_invents_nothing() {
        let whole = events(3, T0, T0 + DAY);
        let mid = T0 + DAY / 2 + 12_345;
        let mut parts = events(3, T0, mid);
        for e in events(3, mid, T0 + DAY) {
            if !parts.contains(&e) {
                parts.push(e);
            }
        }
        parts.sort_by_key(|e| (e.start_ms, e.kind as u8, e.key));
        assert_eq!(whole, parts);
    }

    #[test]
    fn fin_pulses_are_regular_downsweeps_near_20_hz() {
        let fins: Vec<_> = events(11, T0, T0 + 2 * DAY)
            .into_iter()
            .filter(|e| e.kind == CallKind::FinWhale)
            .collect();
        assert!(fins.len() > 20);
        for e in &fins {
            let Shape::Sweep { f0, f1, .. } = e.shape else {
                panic!("fin is a sweep")
            };
            assert!(f0 > f1 && (22.0..24.0).contains(&f0) && (16.5..18.0).contains(&f1));
            assert!((0.8..1.2).contains(&e.duration_s));
        }
    }
}
