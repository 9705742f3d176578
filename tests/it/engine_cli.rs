//! The engine's commands: `status` (also while a run holds jobs on the server), `cancel`
//! (cancels those jobs on the server), and a rejected token stopping `run-tasks` with exit 2
//! and a message about the token (never the token itself).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use onc_hydro::api::Client;
use onc_hydro::engine::{Engine, EngineConfig, NullReporter, TaskState};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

use super::engine_run::{ctd_orders, fast_settings, sim_config};

fn cli(base_url: &str, token: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
        .args(args)
        .args(["--base-url", base_url])
        .env("ONC_TOKEN", token)
        .env_remove("ONC_BASE_URL")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_token_stops_the_run_with_exit_2() {
    let sim = SimServer::start(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tasks = dir.path().join("t.json");
    std::fs::write(&tasks, serde_json::to_string(&ctd_orders(3, None)).unwrap()).unwrap();
    let out = dir.path().join("out");
    let bad = "11111111-2222-4333-8444-555555555555";
    let o = cli(
        sim.base_url(),
        bad,
        &[
            "run-tasks",
            "--tasks",
            tasks.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("token"), "{err}");
    assert!(!err.contains(bad), "the token leaked: {err}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("stopped"), "{summary}");
    assert!(!summary.contains(bad));
    // Nothing was marked failed: the tasks wait for a valid token.
    let s = cli(
        sim.base_url(),
        DEMO_TOKEN,
        &["status", out.to_str().unwrap(), "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(v["by_state"]["planned"], 3, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_a_live_ledger_and_cancel_cancels_server_jobs() {
    // Jobs take seconds here, so they are still on the server when the run is interrupted.
    let sim = SimServer::start(SimConfig {
        time_scale: 0.1,
        ..sim_config()
    })
    .await
    .unwrap();
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = fast_settings();
    settings.poll.estimate_scale = 0.1;
    let engine = Engine::open(
        dir.path(),
        EngineConfig {
            settings: Some(settings),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&ctd_orders(6, None)).unwrap();
    let run = engine.run(&client, Arc::new(NullReporter));
    let _ = tokio::time::timeout(Duration::from_millis(400), run).await;

    let out = dir.path().to_str().unwrap();
    let s = cli(sim.base_url(), DEMO_TOKEN, &["status", out, "--json"]);
    assert_eq!(s.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(v["jobs_on_server"], 4, "4 run slots: {v}");
    assert_eq!(
        v["by_state"]["requested"], 2,
        "requested ahead of a free slot: {v}"
    );
    let human = cli(sim.base_url(), DEMO_TOKEN, &["status", out]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("jobs on the server: 4"));

    // The abandoned run's engine still holds the folder's lock: release it first.
    drop(engine);
    let c = cli(sim.base_url(), DEMO_TOKEN, &["cancel", out]);
    let text = String::from_utf8_lossy(&c.stdout);
    assert_eq!(c.status.code(), Some(0), "{text}");
    assert!(
        text.contains("cancelled 6 server jobs; 6 tasks marked cancelled"),
        "{text}"
    );
    let cancels = sim
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "dataProductDelivery/cancel" && r.status == 200)
        .count();
    assert_eq!(cancels, 6);
    let engine = Engine::open(dir.path(), EngineConfig::default()).unwrap();
    assert_eq!(engine.status().unwrap().count(TaskState::Cancelled), 6);
}
