//! `requests/whale_calls.json` matches the simulator's synthetic calls: it holds the first call
//! of every fin-whale bout and humpback song session that `sim::content::calls` places in
//! ICLISTENHF6324's audio (catalog seed 6324, simulator seed 0) over 2024-04-01…03.
//!
//! When the simulator's call schedule changes, regenerate the file with
//! `cargo test --test it regenerate_whale_calls -- --ignored` and commit it.

use std::path::PathBuf;

use jiff::Timestamp;
use onc_hydro::sim::content::{calls, CallKind, SyntheticCall};

/// ICLISTENHF6324's content seed in the simulator catalog, XOR the default simulator seed (0).
const SEED: u64 = 6324;
const DEVICE: &str = "ICLISTENHF6324";
/// Calls of one kind closer than this belong to the same bout/session.
const BOUT_GAP_S: f64 = 60.0;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("requests/whale_calls.json")
}

/// The first call of each bout (fin whale) or session (humpback), in time order.
fn first_calls() -> Vec<SyntheticCall> {
    let from: Timestamp = "2024-04-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2024-04-03T00:00:00Z".parse().unwrap();
    let mut last_end: [Option<Timestamp>; 2] = [None, None];
    let mut out = Vec::new();
    for c in calls(SEED, from, to) {
        let slot = match c.kind {
            CallKind::FinWhale => 0,
            CallKind::Humpback => 1,
            CallKind::Ship => continue,
        };
        // Skip calls that started before the range (bouts running in from March 31).
        let starts_new_bout = match last_end[slot] {
            None => c.start >= from,
            Some(end) => c.start.duration_since(end).as_secs_f64() > BOUT_GAP_S,
        };
        let end = c
            .start
            .checked_add(jiff::SignedDuration::from_secs_f64(c.duration_s))
            .unwrap();
        last_end[slot] = Some(end);
        if starts_new_bout {
            out.push(c);
        }
    }
    out
}

/// The annotation file text for these calls (one request per line).
fn render(calls: &[SyntheticCall]) -> String {
    let mut lines = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        let (kind, label) = match c.kind {
            CallKind::FinWhale => ("fin", "fin whale 20 Hz downsweep"),
            _ => ("humpback", "humpback song unit"),
        };
        // Durations rounded up to the millisecond so the annotation covers the whole call.
        let duration = (c.duration_s * 1000.0).ceil() / 1000.0;
        lines.push(format!(
            "    {{\"start\": \"{:.3}\", \"duration_seconds\": {duration:.3}, \"label\": \"{label} \
             {:.0}-{:.0} Hz, first of its {}\", \"output_name\": \"{DEVICE}_call{:03}_{kind}\"}}",
            c.start,
            c.freq_low_hz,
            c.freq_high_hz,
            if kind == "fin" { "bout" } else { "session" },
            i + 1
        ));
    }
    format!(
        "{{\n  \"defaults\": {{\"deviceCode\": \"{DEVICE}\", \"pad_seconds\": 10, \
         \"download_audio\": true, \"clip\": true, \"output_tag\": \"whale_calls\"}},\n  \
         \"requests\": [\n{}\n  ]\n}}\n",
        lines.join(",\n")
    )
}

#[test]
fn whale_call_file_matches_the_simulator() {
    let calls = first_calls();
    assert!(
        calls.iter().any(|c| c.kind == CallKind::FinWhale)
            && calls.iter().any(|c| c.kind == CallKind::Humpback),
        "the simulator should place both kinds over two days"
    );
    let want = render(&calls);
    let have = std::fs::read_to_string(path()).expect("requests/whale_calls.json");
    assert!(
        have == want,
        "requests/whale_calls.json is out of date with sim::content::calls; regenerate it with \
         `cargo test --test it regenerate_whale_calls -- --ignored`"
    );
}

#[test]
#[ignore = "writes requests/whale_calls.json; run by hand when the simulator's calls change"]
fn regenerate_whale_calls() {
    std::fs::write(path(), render(&first_calls())).unwrap();
}
