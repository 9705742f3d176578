//! The download engine end to end against the in-process simulator: orders and archive files
//! complete and verify, planning again duplicates nothing, a second run downloads nothing,
//! injected faults (5xx, truncated bodies, resets) are retried until every file verifies, a
//! closed run-time window submits nothing, a failing validation hook fails the task.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use onc_hydro::api::{ArchiveQuery, Client, DataProductOrder, DataSource};
use onc_hydro::engine::{
    ArchiveSpec, CollectingReporter, Engine, EngineConfig, EngineSettings, Event, FileState,
    NullReporter, OrderSpec, RunWindow, TaskSpec, TaskState,
};
use onc_hydro::sim::{FaultPlan, SimConfig, SimServer, DEMO_TOKEN};
use sha2::{Digest, Sha256};

pub const SCALE: f64 = 0.001;

pub fn sim_config() -> SimConfig {
    SimConfig {
        time_scale: SCALE,
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
        audio_sample_rate_override: Some(100),
        ..SimConfig::default()
    }
}

/// `n` ten-minute TSSD csv orders of the CTD, one per day (small, distinct files).
pub fn ctd_orders(n: usize, folder: Option<&str>) -> Vec<TaskSpec> {
    let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    (0..n)
        .map(|i| {
            let from = start + jiff::SignedDuration::from_hours(24 * i as i64);
            let order = DataProductOrder::new(
                "TSSD",
                "csv",
                DataSource::Device {
                    device: "SBECTD19p7128".into(),
                    property: None,
                },
                from,
                from + jiff::SignedDuration::from_mins(10),
            );
            let spec = OrderSpec::new(order);
            TaskSpec::Order(match folder {
                Some(f) => spec.in_folder(f),
                None => spec,
            })
        })
        .collect()
}

/// The first `n` hydrophone FLAC files from 2024-04-01 (names and listed sizes).
pub async fn flac_files(client: &Client, n: usize) -> Vec<TaskSpec> {
    let from: jiff::Timestamp = "2024-04-01T00:00:00Z".parse().unwrap();
    let to = from + jiff::SignedDuration::from_mins(5 * n as i64 + 10);
    let q = ArchiveQuery::device("ICLISTENHF6324")
        .between(from, to)
        .extension("flac")
        .return_options(onc_hydro::api::ReturnOptions::All);
    let listing = client.archive_list(&q).await.unwrap();
    listing
        .files
        .into_iter()
        .take(n)
        .map(|f| {
            TaskSpec::Archive(ArchiveSpec {
                size: f.download_size(),
                filename: f.filename,
                folder: Some("audio".into()),
            })
        })
        .collect()
}

pub fn fast_settings() -> EngineSettings {
    let mut s = EngineSettings::scaled(SCALE);
    s.stagger = Duration::from_millis(1);
    s
}

pub fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

/// Every done file of every task exists with the recorded size and hash; no `.part` is left.
pub fn assert_all_files_whole(engine: &Engine) -> usize {
    let mut n = 0;
    let ledger = engine.ledger();
    let status = ledger.status().unwrap();
    assert_eq!(status.count(TaskState::Done), status.total, "{status:?}");
    for id in 1..=status.total as i64 {
        for f in ledger.files_of(onc_hydro::engine::TaskId(id)).unwrap() {
            assert_eq!(f.state, FileState::Done, "{f:?}");
            let p = engine.out_dir().join(f.path.as_deref().unwrap());
            assert_eq!(
                std::fs::metadata(&p).unwrap().len(),
                f.size.unwrap(),
                "{p:?}"
            );
            assert_eq!(sha256_file(&p), f.sha256.clone().unwrap(), "{p:?}");
            n += 1;
        }
    }
    for entry in walk(engine.out_dir()) {
        assert!(!entry.ends_with(".part"), "leftover {entry}");
    }
    n
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}

fn count(log: &[onc_hydro::sim::LoggedRequest], endpoint: &str) -> usize {
    log.iter().filter(|r| r.endpoint == endpoint).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_archive_files_complete_once() {
    let sim = SimServer::start(sim_config()).await.unwrap();
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut tasks = ctd_orders(12, Some("ctd"));
    if let TaskSpec::Order(o) = &mut tasks[0] {
        o.include_meta = true;
    }
    tasks.extend(flac_files(&client, 6).await);
    let config = EngineConfig {
        settings: Some(fast_settings()),
        ..EngineConfig::default()
    };
    let engine = Engine::open(out.path(), config).unwrap();
    assert_eq!(engine.plan(&tasks).unwrap().added, 18);
    assert_eq!(engine.plan(&tasks).unwrap().already_planned, 18);
    let reporter = Arc::new(CollectingReporter::default());
    let summary = engine.run(&client, reporter.clone()).await.unwrap();
    assert_eq!(
        (summary.tasks_total, summary.tasks_done),
        (18, 18),
        "{summary}"
    );
    assert_eq!(summary.files, 12 + 1 + 6, "{summary}");
    assert_eq!(assert_all_files_whole(&engine), 19);
    let log = sim.request_log();
    assert_eq!(count(&log, "dataProductDelivery/request"), 12);
    assert_eq!(summary.requests["dataProductDelivery/request"], 12);
    assert_eq!(summary.requests["archivefile/download"], 6);
    assert!(out.path().join("summary.json").is_file());
    assert!(out.path().join("ctd").read_dir().unwrap().count() == 13);
    let events = reporter.events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::JobsOnServer { count } if *count > 0)));
    // Never more than 4 jobs on the server at once.
    assert!(events
        .iter()
        .all(|e| !matches!(e, Event::JobsOnServer { count } if *count > 4)));

    // A second run of the same plan touches nothing on the server.
    let before = sim.request_log().len();
    engine.plan(&tasks).unwrap();
    let again = engine.run(&client, Arc::new(NullReporter)).await.unwrap();
    assert_eq!(again.tasks_skipped, 18);
    assert_eq!(again.total_requests(), 0, "{again}");
    assert_eq!(sim.request_log().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_until_500_files_verify() {
    // Chances of one scope share one random sequence and the first match wins, so the
    // smaller probability goes first: 2 % resets, then 5 % truncations, then 10 % 503 anywhere.
    let faults = FaultPlan::parse(
        "archive~0.02=reset,archive~0.07=truncate,download~0.02=reset,download~0.07=truncate,any~0.1=503",
    )
    .unwrap();
    let sim = SimServer::start(SimConfig {
        faults,
        seed: 7,
        ..sim_config()
    })
    .await
    .unwrap();
    let clean = SimServer::start(SimConfig {
        seed: 7,
        ..sim_config()
    })
    .await
    .unwrap();
    let clean_client = Client::new(clean.base_url(), DEMO_TOKEN).unwrap();
    let mut tasks = flac_files(&clean_client, 480).await;
    assert_eq!(tasks.len(), 480);
    tasks.extend(ctd_orders(20, None));
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut settings = fast_settings();
    settings.download_slots = 16;
    let validator: onc_hydro::engine::Validator = Arc::new(|p: &Path, name: &str| {
        if name.ends_with(".flac") {
            let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
            if !bytes.starts_with(b"fLaC") {
                return Err("not a FLAC stream".into());
            }
        }
        Ok(())
    });
    let engine = Engine::open(
        out.path(),
        EngineConfig {
            settings: Some(settings),
            validator: Some(validator),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&tasks).unwrap();
    let summary = engine.run(&client, Arc::new(NullReporter)).await.unwrap();
    assert_eq!(summary.tasks_done, 500, "{summary}");
    assert_eq!(summary.files, 500);
    assert!(summary.retries > 50, "faults were injected: {summary}");
    let log = sim.request_log();
    let faulted = log.iter().filter(|r| r.fault.is_some()).count();
    assert!(faulted > 50, "{faulted}");
    assert!(log.iter().any(|r| r.fault.as_deref() == Some("truncate")));
    assert!(log.iter().any(|r| r.fault.as_deref() == Some("reset")));
    assert_eq!(assert_all_files_whole(&engine), 500);
    // Byte-for-byte what a fault-free server sends.
    let mut checked = 0;
    for t in tasks.iter().take(40) {
        let TaskSpec::Archive(a) = t else { continue };
        let body = clean_client.archive_download(&a.filename).await.unwrap();
        let want = hex::encode(Sha256::digest(body.bytes().await.unwrap()));
        assert_eq!(
            sha256_file(&out.path().join("audio").join(&a.filename)),
            want
        );
        checked += 1;
    }
    assert_eq!(checked, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_window_submits_nothing_and_failing_validation_fails_the_task() {
    let sim = SimServer::start(sim_config()).await.unwrap();
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let out = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .time();
    // Wrapping: after 21:00 UTC the window runs past midnight (checked_add would panic).
    let begin = now.wrapping_add(jiff::SignedDuration::from_hours(2));
    let end = now.wrapping_add(jiff::SignedDuration::from_hours(3));
    let mut settings = fast_settings();
    settings.window = Some(RunWindow { begin, end });
    let engine = Engine::open(
        out.path(),
        EngineConfig {
            settings: Some(settings),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&ctd_orders(3, None)).unwrap();
    let reporter = Arc::new(CollectingReporter::default());
    let run = engine.run(&client, reporter.clone());
    assert!(tokio::time::timeout(Duration::from_millis(300), run)
        .await
        .is_err());
    assert!(
        sim.request_log().is_empty(),
        "nothing submitted outside the window"
    );
    assert!(reporter
        .events()
        .iter()
        .any(|e| matches!(e, Event::WindowClosed { .. })));
    assert_eq!(engine.status().unwrap().count(TaskState::Planned), 3);

    // A validation hook that rejects everything: the task fails after its attempts.
    let out2 = tempfile::tempdir().unwrap();
    let mut settings = fast_settings();
    settings.retry.max_attempts = 2;
    settings.retry.task_rounds = 1;
    let engine = Engine::open(
        out2.path(),
        EngineConfig {
            settings: Some(settings),
            validator: Some(Arc::new(|_: &Path, _: &str| Err("always bad".to_string()))),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&flac_files(&client, 1).await).unwrap();
    let s = engine.run(&client, Arc::new(NullReporter)).await.unwrap();
    assert_eq!((s.tasks_done, s.tasks_failed), (0, 1), "{s}");
    let st = engine.status().unwrap();
    assert!(st.failures[0].reason.contains("always bad"), "{st:?}");
    assert_eq!(
        std::fs::read_dir(out2.path().join("audio"))
            .unwrap()
            .count(),
        0,
        "a rejected file is never renamed into place"
    );
}
