//! The `discover`, `archive` and `order` commands against the simulator (time scale 0.001,
//! 2 kHz audio; `--sim` for discovery, `--base-url` + `--token` otherwise): tables and
//! `--json`, `.part`-then-rename downloads, file-level resume on re-runs, unsafe names refused,
//! and the token never printed.

use std::path::Path;
use std::process::{Command, Output};

use onc_hydro::sim::{SimServer, DEMO_TOKEN};
use serde_json::Value;

/// A simulator on its own runtime, for driving the binary from a plain test.
struct Sim {
    server: SimServer,
    _rt: tokio::runtime::Runtime,
}

fn start_sim() -> Sim {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(SimServer::start(super::sim::test_config()))
        .unwrap();
    Sim { server, _rt: rt }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    c.env_remove("ONC_TOKEN").env_remove("ONC_BASE_URL");
    c
}

/// Runs the binary against `sim` with the demo token.
fn onc_at(sim: &Sim, args: &[&str]) -> Output {
    bin()
        .args(["--base-url", sim.server.base_url(), "--token", DEMO_TOKEN])
        .args(args)
        .output()
        .expect("run onc-hydro")
}

/// Runs the binary with its own in-process `--sim`.
fn onc(args: &[&str]) -> Output {
    bin()
        .args(["--sim", "--sim-time-scale", "0.001"])
        .args(args)
        .output()
        .expect("run onc-hydro")
}

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The data files in `dir`: everything but the engine's own ledger, lock and run summary.
fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.starts_with("ledger.sqlite")
                && n != onc_hydro::engine::LOCK_FILE
                && n != "summary.json"
        })
        .collect();
    v.sort();
    v
}

#[test]
fn discover_prints_a_table_or_json() {
    let out = onc(&[
        "discover",
        "devices",
        "--filter",
        "deviceCategoryCode=HYDROPHONE",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.lines().next().unwrap().contains("deviceCode"),
        "{table}"
    );
    assert!(table.contains("ICLISTENHF6324"), "{table}");

    let out = onc(&["--json", "discover", "tree"]);
    assert!(out.status.success());
    assert!(stdout_json(&out).as_array().is_some_and(|a| !a.is_empty()));

    let out = onc(&[
        "discover",
        "devices",
        "--filter",
        "deviceName=zz-no-such-device-zz",
    ]);
    assert!(out.status.success(), "no match is not an error");
}

#[test]
fn archive_get_downloads_then_resumes_by_skipping() {
    let sim = start_sim();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let range = [
        "--device",
        "ICLISTENHF6324",
        "--from",
        "2024-04-01T00:00:00Z",
        "--to",
        "2024-04-01T00:15:00Z",
        "--ext",
        "flac",
    ];
    let list = onc_at(&sim, &[&["--json", "archive", "list"], &range[..]].concat());
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let listed = stdout_json(&list).as_array().unwrap().len();
    assert!(listed >= 3, "{listed}");

    let get = onc_at(
        &sim,
        &[
            &["--json", "archive", "get"],
            &range[..],
            &["--out", out_dir],
        ]
        .concat(),
    );
    assert!(
        get.status.success(),
        "{}",
        String::from_utf8_lossy(&get.stderr)
    );
    let summary = stdout_json(&get);
    assert_eq!(summary["downloaded"], listed);
    let files = files_in(dir.path());
    assert_eq!(files.len(), listed);
    assert!(
        dir.path().join("ledger.sqlite").is_file(),
        "archive get keeps a ledger"
    );
    assert!(
        files.iter().all(|f| f.ends_with(".flac")),
        "no .part left: {files:?}"
    );

    let again = onc_at(
        &sim,
        &[
            &["--json", "archive", "get"],
            &range[..],
            &["--out", out_dir],
        ]
        .concat(),
    );
    assert!(again.status.success());
    let summary = stdout_json(&again);
    assert_eq!(summary["skipped"], listed);
    assert_eq!(summary["downloaded"], 0);

    let evil = onc_at(
        &sim,
        &["archive", "get", "../escape.flac", "--out", out_dir],
    );
    assert_eq!(evil.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&evil.stderr).contains("unsafe file name"));
}

#[test]
fn order_downloads_every_file_and_meta_then_resumes() {
    let sim = start_sim();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let args = [
        "--json",
        "order",
        "--device",
        "ICLISTENHF6324",
        "--product",
        "HSD",
        "--ext",
        "mat",
        "--from",
        "2024-04-01T00:00:00Z",
        "--to",
        "2024-04-01T00:15:00Z",
        "--option",
        "dpo_spectralDataDownsample=0",
        "--out",
        out_dir,
    ];
    let out = onc_at(&sim, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout_json(&out);
    let downloaded = summary["downloaded"].as_u64().unwrap();
    assert!(downloaded >= 4, "3+ MAT files and the META file: {summary}");
    let files = files_in(dir.path());
    assert!(files.iter().any(|f| f.ends_with("_META.xml")), "{files:?}");
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".mat")).count() as u64,
        downloaded - 1
    );
    assert!(!files.iter().any(|f| f.ends_with(".part")));

    let again = onc_at(&sim, &args);
    assert!(again.status.success());
    let summary = stdout_json(&again);
    assert_eq!(summary["downloaded"], 0, "{summary}");
    assert_eq!(summary["skipped"].as_u64().unwrap(), downloaded);
}

#[test]
fn a_rejected_token_is_never_printed() {
    let sim = start_sim();
    let secret = "99999999-8888-4777-8666-555555555555";
    let out = bin()
        .args(["--base-url", sim.server.base_url(), "--token", secret])
        .args(["discover", "devices"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("401"), "{all}");
    assert!(!all.contains(secret), "{all}");
}
