//! `onc-hydro sim serve` as a process: prints its base URL on stdout's first line, serves both
//! URL styles, writes the request log file, and refuses a bad `--faults` spec with exit code 2.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use onc_hydro::sim::DEMO_TOKEN;
use serde_json::Value;

use crate::contract::client;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
}

#[tokio::test]
async fn serve_prints_the_base_url_and_logs_requests() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let mut child = bin()
        .args([
            "sim",
            "serve",
            "--time-scale",
            "0",
            "--now",
            "2026-01-01T00:00:00Z",
            "--faults",
            "discovery#2=503",
        ])
        .arg("--request-log")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sim serve");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let base = first.trim().to_string();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with('/'),
        "{base}"
    );
    let c = client();
    let url = format!("{base}api/locations?method=getTree&token={DEMO_TOKEN}");
    let v: Value = c.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v[0]["locationCode"], "NEP");
    let r = c
        .get(format!("{base}api/devices?token={DEMO_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "the scripted fault");
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["query"].as_str(), lines[1]["status"].as_u64()),
        (Some("method=getTree"), Some(503))
    );
    assert!(!text.contains(DEMO_TOKEN));
}

#[test]
fn a_bad_fault_spec_is_a_usage_error() {
    let out = bin()
        .args(["sim", "serve", "--faults", "download#0=503"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("download#0=503") && err.contains("SCOPE#N=KIND"),
        "{err}"
    );
}
