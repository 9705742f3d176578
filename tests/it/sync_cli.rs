//! `onc-hydro sync` end to end against the simulator (issue 13 "Done when"): a rolling 24 h
//! window; the clock advances and exactly the new files are fetched; a reprocessed file is
//! fetched again with its old version kept, reported, exit code 3; a third sync fetches
//! nothing. Two syncs on one folder: the second exits 4 (or waits with --wait) and the ledger
//! stays consistent.

use std::path::Path;
use std::process::{Command, Output};

use jiff::SignedDuration;
use onc_hydro::engine::{Engine, EngineConfig, TaskState};
use onc_hydro::sim::{Reprocessing, SimConfig, SimServer, DEMO_TOKEN};
use serde_json::Value;

use super::engine_run::{sim_config, SCALE};

fn frozen_sim() -> SimConfig {
    SimConfig {
        clock_speed: 0.0,
        ..sim_config()
    }
}

fn write_spec(dir: &Path, window: &str) -> String {
    let spec = dir.join("keep.json");
    let text = format!(
        r#"{{"name": "bacax", "sources": [{{"location": "BACAX.H1", "device_category": "HYDROPHONE"}}],
            "extensions": ["flac"], "time": {{"mode": "rolling", "window": "{window}"}}}}"#
    );
    std::fs::write(&spec, text).unwrap();
    spec.to_str().unwrap().to_string()
}

fn sync_cmd(base_url: &str, spec: &str, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    c.args(["sync", spec, "--out", out.to_str().unwrap(), "--json"])
        .args(["--server-time-scale", &SCALE.to_string()])
        .args(extra)
        .args(["--base-url", base_url])
        .env("ONC_TOKEN", DEMO_TOKEN)
        .env_remove("ONC_BASE_URL");
    c
}

/// Runs a sync; returns its exit code and its JSON report.
fn sync(base_url: &str, spec: &str, out: &Path) -> (i32, Value) {
    let o = sync_cmd(base_url, spec, out, &[]).output().unwrap();
    report(&o)
}

fn report(o: &Output) -> (i32, Value) {
    let err = String::from_utf8_lossy(&o.stderr);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{err}", String::from_utf8_lossy(&o.stdout)));
    (o.status.code().unwrap_or(-1), v)
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_window_advances_detects_reprocessing_and_then_rests() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), "24h");
    let out = dir.path().join("mirror");

    // First sync: 23 published hours (the newest hour is withheld) of 5-minute files.
    let (code, first) = sync(sim.base_url(), &spec, &out);
    assert_eq!(code, 0, "{first}");
    assert_eq!(
        first["resolved"]["BACAX.H1/HYDROPHONE"][0],
        "ICLISTENHF1560"
    );
    let fetched = names(&first["fetched"]);
    assert_eq!(fetched.len(), 23 * 12, "{first}");
    assert!(out.join("ICLISTENHF1560").join(&fetched[0]).is_file());

    // Running again at once does nothing.
    let (code, again) = sync(sim.base_url(), &spec, &out);
    assert_eq!(
        (code, again["fetched"].as_array().unwrap().len()),
        (0, 0),
        "{again}"
    );
    assert_eq!(again["held"], 276);

    // One hour later: exactly the twelve files published since.
    sim.advance(SignedDuration::from_hours(1));
    let (code, second) = sync(sim.base_url(), &spec, &out);
    assert_eq!(code, 0, "{second}");
    let new = names(&second["fetched"]);
    let mut expected: Vec<String> = (0..12)
        .map(|i| format!("ICLISTENHF1560_20251231T23{:02}00.000Z.flac", i * 5))
        .collect();
    expected.sort();
    assert_eq!(new, expected, "{second}");
    assert_eq!(second["held"], 276 - 12);

    // ONC re-archives a held file: fetched again, old copy kept, reported, exit 3.
    let victim = "ICLISTENHF1560_20251231T120000.000Z.flac";
    let held_path = out.join("ICLISTENHF1560").join(victim);
    let old_bytes = std::fs::read(&held_path).unwrap();
    sim.reprocess(Reprocessing {
        filename: victim.into(),
        at: sim.now(),
    });
    let o = sync_cmd(sim.base_url(), &spec, &out, &[]).output().unwrap();
    let (code, third) = report(&o);
    assert_eq!(code, 3, "{third}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("REPROCESSED {victim}")),
        "{stderr}"
    );
    assert_eq!(third["fetched"].as_array().unwrap().len(), 0, "{third}");
    let re = &third["reprocessed"][0];
    assert_eq!(re["name"], victim);
    assert!(re["change"].as_str().unwrap().contains("size"), "{re}");
    let kept = out.join(re["superseded"].as_str().unwrap());
    assert!(kept.starts_with(out.join("ICLISTENHF1560").join(".superseded")));
    assert_eq!(std::fs::read(&kept).unwrap(), old_bytes);
    let new_bytes = std::fs::read(&held_path).unwrap();
    assert_eq!(new_bytes.len(), old_bytes.len() + 4096);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sync"]["reprocessed"][0]["name"], victim);

    // A third sync: nothing to do, nothing reprocessed.
    let (code, fourth) = sync(sim.base_url(), &spec, &out);
    assert_eq!(code, 0, "{fourth}");
    assert_eq!(fourth["fetched"].as_array().unwrap().len(), 0);
    assert_eq!(fourth["reprocessed"].as_array().unwrap().len(), 0);
    assert_eq!(fourth["held"], 276);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_on_a_busy_folder_exits_4_or_waits() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), "2h");
    let out = dir.path().join("mirror");

    // The folder is held (as by a running sync): exit 4 at once, with the holder named.
    let holder = Engine::open(&out, EngineConfig::default()).unwrap();
    let o = sync_cmd(sim.base_url(), &spec, &out, &[]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    // With --wait it waits for the holder and then runs.
    let waiting = sync_cmd(sim.base_url(), &spec, &out, &["--wait", "2m"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(holder);
    let (code, v) = report(&waiting.wait_with_output().unwrap());
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["fetched"].as_array().unwrap().len(), 12);

    // Two syncs started together after the clock moved: one runs, the other runs after it
    // or exits 4; the twelve new files are in the ledger once, all verified.
    sim.advance(SignedDuration::from_hours(1));
    let a = sync_cmd(sim.base_url(), &spec, &out, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = sync_cmd(sim.base_url(), &spec, &out, &[]).output().unwrap();
    let a = a.wait_with_output().unwrap();
    let codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    assert!(
        codes.contains(&0) && codes.iter().all(|c| *c == 0 || *c == 4),
        "{codes:?}"
    );
    let engine = Engine::open(&out, EngineConfig::default()).unwrap();
    let status = engine.status().unwrap();
    assert_eq!(status.total, 24, "{status:?}");
    assert_eq!(status.count(TaskState::Done), 24, "{status:?}");
    assert_eq!(status.files_done, 24);
}

fn write_product_spec(dir: &Path, downsample: &str) -> String {
    let spec = dir.join(format!("hsd{downsample}.json"));
    let text = format!(
        r#"{{"name": "hsd", "time": {{"mode": "range", "from": "2025-12-31T10:00:00.000Z", "to": "2025-12-31T12:00:00.000Z"}},
            "products": [{{"location": "BACAX.H1", "device_category": "HYDROPHONE", "product": "HSD",
                           "extension": "mat", "options": {{"dpo_spectralDataDownsample": "{downsample}"}},
                           "period": "1h", "recheck": "2h"}}]}}"#
    );
    std::fs::write(&spec, text).unwrap();
    spec.to_str().unwrap().to_string()
}

/// Issue 13 items 1 and 2 for data products: one order per hour, a rerun orders nothing; a
/// reprocessed source file makes the next sync order its hour again, keep the old spectra
/// that differ (and only those), report them and exit 3; then the folder rests again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_periods_are_ordered_once_and_rechecked_after_reprocessing() {
    let sim = SimServer::start(frozen_sim()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_product_spec(dir.path(), "1");
    let out = dir.path().join("spectra");
    let dev = out.join("ICLISTENHF1560");

    let (code, first) = sync(sim.base_url(), &spec, &out);
    assert_eq!(code, 0, "{first}");
    let p = &first["products"][0];
    assert_eq!(
        (p["periods"].as_u64(), p["held"].as_u64()),
        (Some(2), Some(0)),
        "{p}"
    );
    assert_eq!(p["devices"][0], "ICLISTENHF1560");
    let fetched = names(&p["fetched"]);
    assert_eq!(fetched.len(), 24, "{p}");
    assert!(fetched
        .iter()
        .all(|n| n.ends_with(".mat") && dev.join(n).is_file()));
    assert_eq!(p["high_water_mark"], "2025-12-31T12:00:00.000Z");

    // At once again: nothing ordered, nothing fetched.
    let (code, again) = sync(sim.base_url(), &spec, &out);
    let p = &again["products"][0];
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        (p["held"].as_u64(), p["rechecked"].as_u64()),
        (Some(2), Some(0))
    );
    assert!(p["fetched"].as_array().unwrap().is_empty(), "{p}");

    // ONC reprocesses the 10:05 recording: its hour is ordered again; only its spectra differ.
    let victim = "ICLISTENHF1560_20251231T100500.000Z.flac";
    let mat = fetched
        .iter()
        .find(|n| n.contains("20251231T100500.000Z_"))
        .unwrap()
        .clone();
    let old = std::fs::read(dev.join(&mat)).unwrap();
    sim.reprocess(Reprocessing {
        filename: victim.into(),
        at: sim.now(),
    });
    let o = sync_cmd(sim.base_url(), &spec, &out, &[]).output().unwrap();
    let (code, third) = report(&o);
    assert_eq!(code, 3, "{third}");
    let p = &third["products"][0];
    assert_eq!(
        (p["rechecked"].as_u64(), p["unchanged"].as_u64()),
        (Some(1), Some(0)),
        "{p}"
    );
    assert_eq!(p["fetched"].as_array().unwrap().len(), 12, "{p}");
    let re = third["reprocessed"].as_array().unwrap();
    assert_eq!(re.len(), 1, "{third}");
    assert_eq!(re[0]["name"], mat.as_str());
    assert!(
        re[0]["change"].as_str().unwrap().contains("bytes differ"),
        "{re:?}"
    );
    let kept = out.join(re[0]["superseded"].as_str().unwrap());
    assert!(kept.starts_with(dev.join(".superseded")), "{kept:?}");
    assert_eq!(std::fs::read(&kept).unwrap(), old);
    assert_ne!(std::fs::read(dev.join(&mat)).unwrap(), old);
    // The eleven identical spectra were not kept twice.
    assert_eq!(
        std::fs::read_dir(kept.parent().unwrap()).unwrap().count(),
        1
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(&format!("REPROCESSED {mat}")), "{stderr}");

    // Then the folder rests.
    let (code, fourth) = sync(sim.base_url(), &spec, &out);
    assert_eq!(code, 0, "{fourth}");
    assert!(
        fourth["reprocessed"].as_array().unwrap().is_empty(),
        "{fourth}"
    );
    assert!(fourth["products"][0]["fetched"]
        .as_array()
        .unwrap()
        .is_empty());

    // An option the product does not allow fails the section, naming it, before ordering.
    let bad = write_product_spec(dir.path(), "7");
    let (code, v) = sync(sim.base_url(), &bad, &dir.path().join("bad"));
    assert_eq!(code, 1, "{v}");
    let why = v["failed"]["HSD mat of HYDROPHONE at BACAX.H1"]
        .as_str()
        .unwrap();
    assert!(why.contains("dpo_spectralDataDownsample=7"), "{why}");
}
