//! `sample`, `span`, `times` and `fetch` with `--dry-run`: the plans are exact (no duplicates,
//! no overlap, the requested count), every example in `requests/` loads, and bad annotation
//! files are refused with exit code 2 and a message naming file, entry and field.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    // A stray token or base URL in the environment must not matter for a dry run.
    c.env_remove("ONC_TOKEN").env_remove("ONC_BASE_URL");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run onc-hydro")
}

fn plan(args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all.push("--dry-run");
    let out = run(&all);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan JSON")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("requests")
        .join(name)
        .display()
        .to_string()
}

fn windows(p: &Value) -> Vec<(String, String, String)> {
    p["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["device"].as_str().unwrap().to_string(),
                w["start"].as_str().unwrap().to_string(),
                w["end"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn requests(p: &Value) -> Vec<(String, String, String, u64)> {
    p["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["device"].as_str().unwrap().to_string(),
                r["dateFrom"].as_str().unwrap().to_string(),
                r["dateTo"].as_str().unwrap().to_string(),
                r["windows"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every window lies in exactly one request, and requests cover whole windows only.
fn check_consistent(p: &Value, k: u64) {
    let ws = windows(p);
    let unique: BTreeSet<_> = ws.iter().collect();
    assert_eq!(unique.len(), ws.len(), "duplicate windows");
    let rs = requests(p);
    for (d, from, to, n) in &rs {
        assert!(*n >= 1 && *n <= k, "request of {n} windows with K = {k}");
        let inside = ws
            .iter()
            .filter(|(wd, s, e)| wd == d && s >= from && e <= to)
            .count() as u64;
        assert_eq!(
            inside, *n,
            "request {from}..{to} holds {inside} windows, says {n}"
        );
    }
    let mut sorted = rs.clone();
    sorted.sort();
    for pair in sorted.windows(2) {
        if pair[0].0 == pair[1].0 {
            assert!(pair[0].2 <= pair[1].1, "requests overlap: {pair:?}");
        }
    }
}

#[test]
fn sample_160_gives_exactly_160_windows_in_14_requests() {
    let p = plan(&[
        "sample",
        "--device",
        "ICLISTENHF6324",
        "--from",
        "2024-04-01",
        "--to",
        "2024-04-03",
        "--count",
        "160",
        "--per-request",
        "12",
    ]);
    assert_eq!(windows(&p).len(), 160);
    let rs = requests(&p);
    assert_eq!(rs.len(), 14);
    assert_eq!(rs.iter().map(|r| r.3).sum::<u64>(), 160);
    check_consistent(&p, 12);
    // Bursts do not touch: there is a gap between consecutive requests.
    for pair in rs.windows(2) {
        assert!(pair[0].2 < pair[1].1, "{pair:?}");
    }
    assert_eq!(rs[0].1, "2024-04-01T00:00:00.000Z");
    assert_eq!(rs[13].2, "2024-04-03T00:00:00.000Z");
    assert!(p["clips"].as_array().unwrap().is_empty());
}

#[test]
fn sample_says_so_when_the_range_is_too_small() {
    let out = run(&[
        "--json",
        "sample",
        "--device",
        "D1",
        "--device",
        "D2",
        "--from",
        "2024-04-01T00:00:00Z",
        "--to",
        "2024-04-01T01:00:00Z",
        "--count",
        "50",
        "--dry-run",
    ]);
    assert!(out.status.success());
    let p: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(windows(&p).len(), 24, "12 windows for each of two devices");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only 12"), "{err}");
}

#[test]
fn span_covers_every_window_in_chunks_of_k() {
    let p = plan(&[
        "span",
        "--device",
        "ICLISTENHF6324",
        "--from",
        "2024-03-31T23:40:00Z",
        "--to",
        "2024-04-01T00:20:00Z",
        "--per-request",
        "3",
    ]);
    let ws = windows(&p);
    assert_eq!(ws.len(), 8);
    assert_eq!(ws[0].1, "2024-03-31T23:40:00.000Z");
    assert_eq!(ws[7].2, "2024-04-01T00:20:00.000Z");
    let sizes: Vec<u64> = requests(&p).iter().map(|r| r.3).collect();
    assert_eq!(sizes, [3, 3, 2]);
    check_consistent(&p, 3);
}

#[test]
fn times_with_pads_cross_window_edges_and_make_clips() {
    let p = plan(&[
        "times",
        "--device",
        "ICLISTENHF6324",
        "2024-04-01T12:34:50Z",
        "2024-04-01 12:36:00",
        "--pad",
        "15",
    ]);
    let rs = requests(&p);
    assert_eq!(
        rs,
        [(
            "ICLISTENHF6324".to_string(),
            "2024-04-01T12:30:00.000Z".to_string(),
            "2024-04-01T12:40:00.000Z".to_string(),
            2
        )]
    );
    let clips = p["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 2);
    assert_eq!(clips[0]["start"], "2024-04-01T12:34:35.000Z");
    assert_eq!(clips[0]["end"], "2024-04-01T12:35:05.000Z");
    assert_eq!(clips[0]["label"], "ICLISTENHF6324_20240401T123450");
    // Without pads: one window per instant and no clip.
    let p = plan(&["times", "--device", "D", "2024-04-01T12:00:00Z"]);
    assert_eq!(windows(&p).len(), 1);
    assert!(p["clips"].as_array().unwrap().is_empty());
}

#[test]
fn every_example_file_loads() {
    // (file, windows, requests, clips) — worked out by hand in requests/README.md's terms.
    let cases = [
        ("legacy_map.json", 5, 4, 1),
        ("rich_aliases.json", 13, 5, 7),
        ("annotations.csv", 3, 3, 2),
    ];
    for (file, nw, nr, nc) in cases {
        let p = plan(&["fetch", &example(file)]);
        assert_eq!(windows(&p).len(), nw, "{file} windows");
        assert_eq!(requests(&p).len(), nr, "{file} requests");
        assert_eq!(p["clips"].as_array().unwrap().len(), nc, "{file} clips");
        check_consistent(&p, 12);
    }
    // The whale-call set is generated from the simulator; check it against an independent
    // count: each call ± 10 s covers the grid windows it overlaps.
    let p = plan(&["fetch", &example("whale_calls.json")]);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(example("whale_calls.json")).unwrap())
            .unwrap();
    let mut expect = BTreeSet::new();
    let calls = doc["requests"].as_array().unwrap();
    for r in calls {
        let start: jiff::Timestamp = r["start"].as_str().unwrap().parse().unwrap();
        let ms = start.as_millisecond();
        let dur_ms = (r["duration_seconds"].as_f64().unwrap() * 1000.0).round() as i64;
        let (a, b) = (ms - 10_000, ms + dur_ms + 10_000);
        for k in a.div_euclid(300_000)..(b + 299_999).div_euclid(300_000) {
            expect.insert(k);
        }
    }
    assert_eq!(windows(&p).len(), expect.len());
    assert_eq!(p["clips"].as_array().unwrap().len(), calls.len());
    check_consistent(&p, 12);
    // Contiguous runs of windows, each cut into requests of at most 12.
    let mut want_requests = 0;
    let mut run_len = 0usize;
    let mut prev: Option<i64> = None;
    for k in &expect {
        if prev.is_some_and(|p| p + 1 == *k) {
            run_len += 1;
        } else {
            want_requests += run_len.div_ceil(12);
            run_len = 1;
        }
        prev = Some(*k);
    }
    want_requests += run_len.div_ceil(12);
    assert_eq!(requests(&p).len(), want_requests);
    // The legacy map's lone instants gain clips with a command-line pad (prior art §2.4 G).
    let p = plan(&["fetch", &example("legacy_map.json"), "--pad", "20"]);
    assert_eq!(p["clips"].as_array().unwrap().len(), 4);
}

#[test]
fn rich_example_resolves_aliases_and_timezones() {
    let p = plan(&["fetch", &example("rich_aliases.json")]);
    let rs = requests(&p);
    // 05:30 America/Vancouver (PDT) = 12:30Z, merged with the 12:34:50Z request.
    assert_eq!(rs[0].1, "2024-04-01T12:25:00.000Z");
    assert_eq!(rs[0].2, "2024-04-01T12:40:00.000Z");
    // The last request crosses midnight into April 3.
    assert_eq!(rs[4].2, "2024-04-03T00:05:00.000Z");
    let clips = p["clips"].as_array().unwrap();
    let c = clips
        .iter()
        .find(|c| c["label"] == "seed_example_c")
        .expect("output_name labels the clip");
    assert_eq!(c["start"], "2024-04-01T13:59:45.000Z");
    assert_eq!(c["end"], "2024-04-01T14:03:50.000Z");
}

#[test]
fn device_filter_and_human_table() {
    let out = run(&[
        "fetch",
        &example("whale_calls.json"),
        "--dry-run",
        "--per-request",
        "1",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("five-minute windows on 1 device(s)"),
        "{text}"
    );
    assert!(text.contains("2024-04-01T00:40:00.000Z"), "{text}");
    assert!(text.contains("humpback song unit"), "{text}");
    let out = run(&[
        "fetch",
        &example("whale_calls.json"),
        "--device",
        "OTHER",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ICLISTENHF6324"));
}

fn bad_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn bad_files_name_file_entry_and_field_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "neg_pad.json",
            r#"{"requests": [{"deviceCode": "D", "timestamp": "2024-04-01T00:00:00Z"},
                             {"deviceCode": "D", "timestamp": "2024-04-01T00:00:00Z",
                              "pad_before_seconds": -5}]}"#,
            "entry requests[1], field `pad_before_seconds`",
        ),
        (
            "bad_time.json",
            r#"{"ICLISTENHF6324": [[2024, 4, 1, 0, 0, 0], [2024, 4, 31, 0, 0, 0]]}"#,
            "entry ICLISTENHF6324[1], field `timestamp`",
        ),
        (
            "end_first.json",
            r#"{"requests": [{"device": "D", "start": "2024-04-01T01:00:00Z",
                              "end": "2024-04-01T00:00:00Z"}]}"#,
            "entry requests[0], field `end`",
        ),
        (
            "bad_tz.csv",
            "device,timestamp,tz\nD,2024-04-01 00:00:00,Mars/Base\n",
            "entry row 1 (line 2), field `tz`",
        ),
        ("not_json.json", "{\"requests\": [", "not valid JSON"),
    ];
    for (name, body, want) in cases {
        let path = bad_file(dir.path(), name, body);
        let out = run(&["fetch", path.to_str().unwrap(), "--dry-run"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &[
            "sample",
            "--device",
            "D",
            "--from",
            "2024-04-02",
            "--to",
            "2024-04-01",
            "--count",
            "3",
            "--dry-run",
        ][..],
        &[
            "sample",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--count",
            "0",
            "--dry-run",
        ],
        &[
            "span",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--per-request",
            "0",
            "--dry-run",
        ],
        &[
            "span",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--downsample",
            "4",
            "--dry-run",
        ],
        &[
            "span",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--option",
            "dpo_spectrogramOverlap=0.5",
            "--dry-run",
        ],
        &[
            "span",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--dry-run",
        ],
        &[
            "times",
            "--device",
            "D",
            "2024-04-01T00:00:00Z",
            "--pad-after",
            "-1",
            "--dry-run",
        ],
        &[
            "times",
            "--device",
            "D",
            "2024-04-01T00:00:00Z",
            "--clip",
            "--dry-run",
        ],
        &[
            "span",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
            "--clip",
        ],
        // Without --dry-run and without a token (no --sim): a clear error, not a silent no-op.
        &[
            "span",
            "--device",
            "D",
            "--from",
            "2024-04-01",
            "--to",
            "2024-04-02",
        ],
    ] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn fetch_help_points_at_the_examples() {
    let out = run(&["fetch", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("requests/whale_calls.json"), "{text}");
    for flag in [
        "--per-request",
        "--dry-run",
        "--downsample",
        "--option",
        "--audio",
        "--pad-before",
        "--clip",
    ] {
        assert!(text.contains(flag), "{flag} missing: {text}");
    }
}
