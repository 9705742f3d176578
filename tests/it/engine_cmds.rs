//! `archive get` and `order` as engine commands, through the binary against the simulator:
//! each creates `ledger.sqlite` in its `--out`, honours `--max-rps` (the simulator's request log
//! shows the spacing), reports the same key `status --tasks` shows, skips verified files on a
//! rerun, and a job that stays running is polled with backoff and given up after `--max-wait`
//! (not polled once a second forever).

use std::path::Path;
use std::process::Output;

use jiff::Timestamp;
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

use super::engine_run::sim_config;

fn cli(base_url: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(["--base-url", base_url])
        .args(args)
        .env("ONC_TOKEN", DEMO_TOKEN)
        .env_remove("ONC_BASE_URL")
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Smallest gap, in seconds, between consecutive requests to `endpoints`.
fn min_gap(sim: &SimServer, endpoints: &[&str]) -> (usize, f64) {
    let mut times: Vec<Timestamp> = sim
        .request_log()
        .iter()
        .filter(|r| endpoints.contains(&r.endpoint.as_str()))
        .map(|r| r.time)
        .collect();
    times.sort();
    let gap = times
        .windows(2)
        .map(|w| (w[1] - w[0]).total(jiff::Unit::Second).unwrap())
        .fold(f64::INFINITY, f64::min);
    (times.len(), gap)
}

fn status_keys(base: &str, out: &Path) -> Vec<(String, String)> {
    let s = json(&cli(
        base,
        &["--json", "status", out.to_str().unwrap(), "--tasks"],
    ));
    s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_get_runs_on_the_engine_with_a_ledger_and_the_rate_cap() {
    let sim = SimServer::start(SimConfig {
        audio_sample_rate_override: Some(2000),
        ..sim_config()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audio");
    let args = [
        "--json",
        "archive",
        "get",
        "--device",
        "ICLISTENHF6324",
        "--ext",
        "flac",
        "--from",
        "2024-04-01T00:00:00Z",
        "--to",
        "2024-04-01T00:20:00Z",
        "--out",
        out.to_str().unwrap(),
        "--max-rps",
        "8",
        "--server-time-scale",
        "0.001",
    ];
    let o = cli(sim.base_url(), &args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let n = v["downloaded"].as_u64().unwrap();
    assert!(n >= 3, "{v}");
    assert!(out.join("ledger.sqlite").is_file());
    assert!(out.join("summary.json").is_file());
    // The engine's rate cap: 8 requests per second → at least 125 ms apart (a little slack).
    let (count, gap) = min_gap(&sim, &["archivefile/download"]);
    assert_eq!(count as u64, n);
    assert!(gap >= 0.11, "downloads {gap} s apart at --max-rps 8");
    let keys = status_keys(sim.base_url(), &out);
    assert_eq!(keys.len() as u64, n);
    assert!(
        keys.iter().all(|(k, s)| k.len() == 32 && s == "done"),
        "{keys:?}"
    );
    // A rerun downloads nothing: the ledger holds every file as verified.
    let again = json(&cli(sim.base_url(), &args));
    assert_eq!(again["downloaded"], 0, "{again}");
    assert_eq!(again["skipped"].as_u64(), Some(n), "{again}");
    assert_eq!(min_gap(&sim, &["archivefile/download"]).0 as u64, n);
    // A name that would leave --out is refused before anything is sent.
    let bad = cli(
        sim.base_url(),
        &[
            "archive",
            "get",
            "../x.flac",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("../x.flac"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_runs_on_the_engine_and_prints_the_ledger_key() {
    let sim = SimServer::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ctd");
    let o = cli(
        sim.base_url(),
        &[
            "--json",
            "order",
            "--device",
            "SBECTD19p7128",
            "--product",
            "TSSD",
            "--ext",
            "csv",
            "--from",
            "2024-01-01T00:00:00Z",
            "--to",
            "2024-01-01T00:10:00Z",
            "--out",
            out.to_str().unwrap(),
            "--max-rps",
            "20",
            "--server-time-scale",
            "0.001",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // --quiet is for cron: no per-file or per-run lines when nothing failed.
    assert!(
        !err.contains("downloaded") && !err.contains("requested"),
        "{err}"
    );
    let v = json(&o);
    assert!(v["downloaded"].as_u64().unwrap() >= 2, "data + meta: {v}");
    assert_eq!(v["failed"], 0);
    assert!(out.join("ledger.sqlite").is_file());
    let key = v["key"].as_str().unwrap();
    assert_eq!(
        status_keys(sim.base_url(), &out),
        vec![(key.to_string(), "done".to_string())]
    );
    let (count, gap) = min_gap(
        &sim,
        &[
            "dataProductDelivery/request",
            "dataProductDelivery/run",
            "dataProductDelivery/download",
        ],
    );
    assert!(count >= 4, "{count}");
    assert!(gap >= 0.04, "requests {gap} s apart at --max-rps 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_backs_off_on_a_job_that_stays_running_and_gives_up_after_max_wait() {
    // At time scale 1 a month of CTD data takes the simulator far longer than this test.
    let sim = SimServer::start(SimConfig {
        time_scale: 1.0,
        ..sim_config()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("slow");
    let started = std::time::Instant::now();
    let o = cli(
        sim.base_url(),
        &[
            "order",
            "--device",
            "SBECTD19p7128",
            "--product",
            "TSSD",
            "--ext",
            "csv",
            "--from",
            "2024-01-01T00:00:00Z",
            "--to",
            "2024-02-01T00:00:00Z",
            "--out",
            out.to_str().unwrap(),
            "--server-time-scale",
            "0.001",
            "--poll-min",
            "0.05",
            "--poll-max",
            "1.0",
            "--max-wait",
            "3",
            "--max-attempts",
            "1",
            "--task-rounds",
            "1",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(started.elapsed().as_secs_f64() < 20.0);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("no result after"), "{text}\n{err}");
    let log = sim.request_log();
    let polls: Vec<Timestamp> = log
        .iter()
        .filter(|r| r.endpoint == "dataProductDelivery/run")
        .map(|r| r.time)
        .collect();
    // A bounded number of polls (the simulator answers in ~0.3 s at time scale 1), then give up.
    assert!((3..=12).contains(&polls.len()), "{} polls", polls.len());
    // Backoff, not a fixed interval: the waits between polls grow by 1.5× from --poll-min
    // 0.05 s towards --poll-max 1 s (a fixed interval would give equal gaps of ~0.35 s).
    let gaps: Vec<f64> = polls
        .windows(2)
        .map(|w| (w[1] - w[0]).total(jiff::Unit::Second).unwrap_or(0.0))
        .collect();
    // (The first gap is the wait for the server's estimate; the backoff starts after it.)
    let shortest = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let last = gaps[gaps.len() - 1];
    assert!(
        last > shortest + 0.25,
        "poll gaps do not back off: {gaps:?}"
    );
    // --task-rounds 1: the cancelled job is not requested again (one request, one round).
    let requests = log
        .iter()
        .filter(|r| r.endpoint == "dataProductDelivery/request")
        .count();
    assert_eq!(requests, 1, "the order was requested {requests} times");
    assert!(
        log.iter()
            .any(|r| r.endpoint == "dataProductDelivery/cancel"),
        "the job was not cancelled after the maximum wait"
    );
    let keys = status_keys(sim.base_url(), &out);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].1, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_get_retries_a_failed_listing() {
    // The first archive listing answers 503 (issue 16 item 12: one transient failure on a
    // listing used to end `archive get` with exit 2).
    let sim = SimServer::start(SimConfig {
        audio_sample_rate_override: Some(2000),
        faults: onc_hydro::sim::FaultPlan::parse("list#1=503").unwrap(),
        ..sim_config()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audio");
    let o = cli(
        sim.base_url(),
        &[
            "--json",
            "archive",
            "get",
            "--device",
            "ICLISTENHF6324",
            "--ext",
            "flac",
            "--from",
            "2024-04-01T00:00:00Z",
            "--to",
            "2024-04-01T00:10:00Z",
            "--out",
            out.to_str().unwrap(),
            "--server-time-scale",
            "0.001",
        ],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("listing failed (1), retrying"), "{stderr}");
    assert!(json(&o)["downloaded"].as_u64().unwrap() >= 2);
    let listings: Vec<u16> = sim
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "archivefile/device")
        .map(|r| r.status)
        .collect();
    assert_eq!(listings.first(), Some(&503), "{listings:?}");
    assert!(listings[1..].contains(&200), "{listings:?}");
}
