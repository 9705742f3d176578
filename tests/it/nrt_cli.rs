//! `onc-hydro scalar` / `raw` end to end against the simulator (issue 13 item 4 "Done when"):
//! `--since-last --plot` twice with the simulator clock advanced in between appends exactly the
//! new rows (header once, no duplicate times) and the PNG decodes; a span without data
//! (`sensorData: null`) exits 0 and leaves the files alone; a torn last line is repaired; a
//! sync spec's scalar section runs under `sync`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::{SignedDuration, Timestamp};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};
use serde_json::Value;

use super::engine_run::sim_config;

const CTD: &str = "SBECTD19p7128";

fn frozen_sim() -> SimConfig {
    SimConfig {
        clock_speed: 0.0,
        ..sim_config()
    }
}

fn cmd(base_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(args)
        .args(["--base-url", base_url])
        .env("ONC_TOKEN", DEMO_TOKEN)
        .env_remove("ONC_BASE_URL")
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stdout: {out}\nstderr: {err}");
    out
}

fn scalar_since_last(base_url: &str, out: &Path) -> Value {
    let o = cmd(
        base_url,
        &[
            "--json",
            "scalar",
            "--location",
            "BACAX",
            "--device-category",
            "CTD",
            "--plot",
            "--since-last",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    serde_json::from_str(&ok(&o)).unwrap()
}

/// Header lines, column line and data-row times of a CSV file.
fn rows(path: &Path) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "whole lines only");
    let (head, body): (Vec<&str>, Vec<&str>) = text
        .lines()
        .partition(|l| l.starts_with('#') || l.starts_with("time_utc"));
    let times = body
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    (head.iter().map(|s| s.to_string()).collect(), times)
}

fn assert_strictly_increasing(times: &[String]) {
    let ts: Vec<Timestamp> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "times increase without duplicates"
    );
}

fn csv(out: &Path, sensor: &str) -> PathBuf {
    out.join(CTD).join(format!("{CTD}_{sensor}.csv"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_last_twice_appends_only_new_rows_and_plots() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nrt");

    // First run: nothing held, so the last hour (1 Hz CTD, four sensors).
    let first = scalar_since_last(sim.base_url(), &out);
    let files = first["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{first}");
    assert!(files
        .iter()
        .all(|f| f["appended"] == 3600 && f["created"] == true));
    let temp = csv(&out, "Temperature");
    let (head, t1) = rows(&temp);
    assert_eq!(t1.len(), 3600);
    assert!(head.contains(&"# unitOfMeasure: C".to_string()), "{head:?}");
    assert!(head.contains(&"# deviceCode: SBECTD19p7128".to_string()));
    assert!(head
        .iter()
        .any(|h| h.starts_with("# qaqcFlags: 0=No Quality Control")));
    assert_eq!(head.last().unwrap(), "time_utc,value,qaqc_flag");
    assert!(
        t1[0].as_str() >= "2025-12-31T23:00:00.000Z"
            && t1[3599].as_str() < "2026-01-01T00:00:00.000Z"
    );

    // The PNG: decodes, the documented size, not blank (a line and dark axis labels).
    let png = temp.with_extension("png");
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (96 + 1000 + 40, 40 + 400 + 64));
    let line = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    let dark = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    assert!(line > 1000 && dark > 2000, "line {line}, dark {dark}");
    let png_before = std::fs::read(&png).unwrap();

    // At once again: nothing new (the clock is frozen), files untouched.
    let before = std::fs::read(&temp).unwrap();
    let again = scalar_since_last(sim.base_url(), &out);
    assert!(
        again["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["appended"] == 0),
        "{again}"
    );
    assert_eq!(std::fs::read(&temp).unwrap(), before);

    // Ten simulated minutes later: exactly the 600 new samples per sensor are appended.
    sim.advance(SignedDuration::from_mins(10));
    let second = scalar_since_last(sim.base_url(), &out);
    assert!(
        second["window"]
            .as_str()
            .unwrap()
            .starts_with("after 2025-12-31T23:59:59"),
        "{second}"
    );
    for f in second["files"].as_array().unwrap() {
        assert_eq!(
            (f["appended"].as_u64(), f["already_held"].as_u64()),
            (Some(600), Some(0)),
            "{f}"
        );
        let (head, times) = rows(Path::new(f["path"].as_str().unwrap()));
        assert_eq!(times.len(), 4200);
        assert_eq!(head.iter().filter(|h| h.starts_with("time_utc")).count(), 1);
        assert_strictly_increasing(&times);
    }
    let (_, t2) = rows(&temp);
    assert_eq!(&t2[..3600], &t1[..], "held rows unchanged");
    assert!(t2[3600].as_str() >= "2026-01-01T00:00:00.000Z");
    assert_ne!(
        std::fs::read(&png).unwrap(),
        png_before,
        "the plot was redrawn"
    );
    assert_eq!(second["plots"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_is_not_an_error_and_a_torn_line_is_repaired() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nrt");
    let out_s = out.to_str().unwrap();
    let base = sim.base_url();
    ok(&cmd(
        base,
        &[
            "scalar",
            "--device",
            CTD,
            "--property",
            "pressure",
            "--first",
            "10m",
            "--out",
            out_s,
        ],
    ));
    let pressure = csv(&out, "Pressure");
    assert_eq!(rows(&pressure).1.len(), 600);
    assert!(!csv(&out, "Temperature").exists(), "--property filters");
    let whole = std::fs::read(&pressure).unwrap();

    // A span in the gap between deployments: sensorData null → "no new samples", exit 0.
    for args in [
        vec![
            "scalar",
            "--device",
            CTD,
            "--from",
            "2023-05-10",
            "--to",
            "2023-05-11",
        ],
        vec![
            "scalar",
            "--location",
            "BACAX",
            "--device-category",
            "CTD",
            "--from",
            "2023-05-10",
            "--to",
            "2023-05-11",
        ],
        vec!["scalar", "--device", "ICLISTENHF1560", "--since-last"],
    ] {
        let mut args = args.clone();
        args.extend(["--out", out_s]);
        let text = ok(&cmd(base, &args));
        assert!(text.contains("no new samples"), "{args:?}: {text}");
    }
    assert_eq!(std::fs::read(&pressure).unwrap(), whole, "no file damage");

    // A crash mid-append left half a row: dropped on start, then the new rows follow.
    let mut torn = whole.clone();
    torn.extend_from_slice(b"2026-01-01T00:00:00.5");
    std::fs::write(&pressure, &torn).unwrap();
    sim.advance(SignedDuration::from_secs(30));
    let o = cmd(
        base,
        &[
            "scalar",
            "--device",
            CTD,
            "--property",
            "pressure",
            "--since-last",
            "--out",
            out_s,
        ],
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("dropped a torn last line"));
    let text = std::fs::read(&pressure).unwrap();
    assert_eq!(
        &text[..whole.len()],
        &whole[..],
        "held rows kept byte for byte"
    );
    let (_, times) = rows(&pressure);
    assert_eq!(times.len(), 630);
    assert_strictly_increasing(&times);

    // Raw lines: one file per device, incremental in the same way.
    let raw = |extra: &[&str]| {
        let mut a = vec!["raw", "--device", CTD, "--first", "2m", "--out", out_s];
        a.extend(extra);
        ok(&cmd(base, &a))
    };
    raw(&[]);
    let raw_csv = csv(&out, "raw");
    let (head, t1) = rows(&raw_csv);
    assert_eq!(t1.len(), 120);
    assert_eq!(head.last().unwrap(), "time_utc,line_type,reading");
    assert!(raw(&[]).contains("no new samples"));
    sim.advance(SignedDuration::from_secs(20));
    raw(&[]);
    let (_, t2) = rows(&raw_csv);
    assert_eq!(t2.len(), 140);
    assert_strictly_increasing(&t2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_spec_runs_its_scalar_section() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("ctd.json");
    std::fs::write(
        &spec,
        r#"{"name": "ctd", "scalar": [{"location": "BACAX", "device_category": "CTD",
             "properties": ["seawatertemperature"], "plot": true, "first": "5m"}]}"#,
    )
    .unwrap();
    let out = dir.path().join("mirror");
    let run = || {
        let o = cmd(
            sim.base_url(),
            &[
                "--json",
                "sync",
                spec.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let v: Value = serde_json::from_str(&ok(&o)).unwrap();
        v
    };
    let first = run();
    assert_eq!(first["readings"][0]["files"][0]["appended"], 300, "{first}");
    assert!(csv(&out, "Temperature").with_extension("png").is_file());
    assert!(!csv(&out, "Salinity").exists());
    sim.advance(SignedDuration::from_secs(60));
    let second = run();
    assert_eq!(
        second["readings"][0]["files"][0]["appended"], 60,
        "{second}"
    );
    assert_eq!(rows(&csv(&out, "Temperature")).1.len(), 360);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sync"]["readings"][0]["files"][0]["appended"], 60);
}

#[test]
fn help_teaches_the_time_rules_and_the_file_layout() {
    let help = |cmd: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).replace('\n', " ")
    };
    let sync = help("sync");
    assert!(
        sync.contains("cannot see reprocessing of files older than"),
        "{sync}"
    );
    assert!(sync.contains("\"scalar\""), "{sync}");
    let scalar = help("scalar");
    for want in [
        "no new samples",
        "<deviceCode>_<sensorCode>.csv",
        "--since-last",
        "Examples:",
    ] {
        assert!(scalar.contains(want), "{want}: {scalar}");
    }
    assert!(help("raw").contains("_raw.csv"));
}
