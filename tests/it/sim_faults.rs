//! Simulator behaviour beyond the wire contract: the per-token job queue, scripted fault
//! injection (5xx, reset, truncated body, slow) without state corruption, the request log
//! (memory and JSON-lines file, token never recorded), and optional bare `NaN` scalar values.

use onc_hydro::sim::{FaultPlan, SimConfig, SimServer, DEMO_TOKEN};
use serde_json::Value;

use crate::contract::{client, get, test_config, Style};
use crate::sim_contract_delivery::run_until_done;

#[tokio::test]
async fn jobs_beyond_the_limit_wait_queued() {
    let s = SimServer::start(SimConfig {
        job_workers: 1,
        ..test_config()
    })
    .await
    .unwrap();
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    let q = [
        ("dataProductCode", "TSSD"),
        ("extension", "csv"),
        ("deviceCode", "SBECTD19p7128"),
        ("dateFrom", "2024-04-01"),
        ("dateTo", "2024-04-03"),
    ];
    let a = get(b, t, Style::Path, "dataProductDelivery/request", &q)
        .await
        .json()["dpRequestId"]
        .to_string();
    let c = get(b, t, Style::Path, "dataProductDelivery/request", &q)
        .await
        .json()["dpRequestId"]
        .to_string();
    let ra = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &a)],
    )
    .await
    .json();
    let rc = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &c)],
    )
    .await
    .json();
    assert_eq!(ra[0]["status"], "data product running");
    assert_eq!(rc[0]["status"], "queued");
    run_until_done(b, t, Style::Path, &c).await;
    // The first job finished before the queued one.
    let ra = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &a)],
    )
    .await;
    assert_eq!(ra.status, 200);
}

#[tokio::test]
async fn faults_follow_the_script_and_the_log_hides_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("requests.jsonl");
    let faults =
        FaultPlan::parse("archive#1=503,archive#2=reset,archive#3=truncate,discovery#1=slow:5")
            .unwrap();
    let s = SimServer::start(SimConfig {
        faults,
        request_log_file: Some(log_path.clone()),
        ..test_config()
    })
    .await
    .unwrap();
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    let v = get(b, t, Style::Path, "locations", &[("locationCode", "BACAX")]).await;
    assert_eq!(v.status, 200, "slow responses still answer");
    let q = [("filename", "SBECTD19p7128_20240401T000000.000Z.txt")];
    assert_eq!(
        get(b, t, Style::Path, "archivefile/download", &q)
            .await
            .status,
        503
    );
    let url = format!("{b}api/archivefile/download?filename={}&token={t}", q[0].1);
    for _ in 0..2 {
        let r = client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let announced = r.content_length().unwrap();
        // A reset or a short body surfaces as an error or as fewer bytes than announced.
        if let Ok(body) = r.bytes().await {
            assert!((body.len() as u64) < announced, "truncated body");
        }
    }
    let full = get(b, t, Style::Path, "archivefile/download", &q).await;
    assert_eq!(full.status, 200, "faults do not corrupt state");
    assert!(full.body.starts_with(b"# SBECTD19p7128"));
    let log = s.request_log();
    assert_eq!(log.len(), 5);
    assert_eq!(log[1].fault.as_deref(), Some("503"));
    assert!(log
        .iter()
        .all(|e| !e.query.contains(t) && !e.query.contains("token")));
    assert_eq!(log[4].endpoint, "archivefile/download");
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(!text.contains(t));
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], 200);
    assert!(
        first["time"].is_string() && first["method"] == "GET" && first["path"] == "/api/locations"
    );
}

#[tokio::test]
async fn scalar_nan_is_emitted_bare_when_enabled() {
    let s = SimServer::start(SimConfig {
        scalar_nan: true,
        ..test_config()
    })
    .await
    .unwrap();
    let r = get(
        s.base_url(),
        DEMO_TOKEN,
        Style::Path,
        "scalardata/device",
        &[
            ("deviceCode", "SBECTD19p7128"),
            ("dateFrom", "2024-04-01"),
            ("dateTo", "2024-04-01T01:00:00.000Z"),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.contains(",NaN") || text.contains("[NaN"),
        "bare NaN tokens"
    );
    assert!(
        serde_json::from_slice::<Value>(&r.body).is_err(),
        "NaN is not valid JSON"
    );
}

#[tokio::test]
async fn an_error_fault_fails_the_run_until_restarted() {
    let faults = FaultPlan::parse("run#2=error").unwrap();
    let s = SimServer::start(SimConfig {
        faults,
        ..test_config()
    })
    .await
    .unwrap();
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    let q = [
        ("dataProductCode", "TSSD"),
        ("extension", "csv"),
        ("deviceCode", "SBECTD19p7128"),
        ("dateFrom", "2024-04-01"),
        ("dateTo", "2024-04-02"),
    ];
    let id = get(b, t, Style::Path, "dataProductDelivery/request", &q)
        .await
        .json()["dpRequestId"]
        .to_string();
    let first = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &id)],
    )
    .await;
    assert_eq!(first.status, 202);
    let run_id = first.json()[0]["dpRunId"].to_string();
    let failed = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &id)],
    )
    .await;
    assert_eq!(
        (failed.status, failed.json()[0]["status"].as_str()),
        (200, Some("error"))
    );
    let st = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/status",
        &[("dpRequestId", &id)],
    )
    .await
    .json();
    assert_eq!(st["searchHdrStatus"], "ERROR");
    let d = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/download",
        &[("dpRunId", &run_id), ("index", "1")],
    )
    .await;
    assert_eq!(
        (d.status, d.json()["status"].as_str()),
        (400, Some("error"))
    );
    let r = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/restart",
        &[("dpRequestId", &id)],
    )
    .await
    .json();
    assert_eq!(r[0]["dpRunId"].to_string(), run_id);
    run_until_done(b, t, Style::Path, &id).await;
    let d = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/download",
        &[("dpRunId", &run_id), ("index", "1")],
    )
    .await;
    assert_eq!(d.status, 200);
    let log = s.request_log();
    assert_eq!(log[2].fault.as_deref(), Some("error"));
    let bad = get(b, "wrong", Style::Path, "locations", &[]).await;
    assert_eq!(bad.status, 401);
    // The real service answers a bad token with 401 carrying error code 127.
    assert_eq!(s.request_log().last().and_then(|e| e.error_code), Some(127));
}

#[tokio::test]
async fn a_gone_fault_answers_410_while_a_file_is_transferring() {
    let faults = FaultPlan::parse("download~1=gone").unwrap();
    let s = SimServer::start(SimConfig {
        faults,
        time_scale: 0.1,
        ..test_config()
    })
    .await
    .unwrap();
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    let q = [
        ("dataProductCode", "TSSD"),
        ("extension", "csv"),
        ("deviceCode", "SBECTD19p7128"),
        ("dateFrom", "2024-04-01"),
        ("dateTo", "2024-04-01T00:30:00.000Z"),
    ];
    let id = get(b, t, Style::Path, "dataProductDelivery/request", &q)
        .await
        .json()["dpRequestId"]
        .to_string();
    let run_id = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &id)],
    )
    .await
    .json()[0]["dpRunId"]
        .to_string();
    let mut seen = Vec::new();
    for _ in 0..2000 {
        let st = get(
            b,
            t,
            Style::Path,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "1")],
        )
        .await
        .status;
        if seen.last() != Some(&st) {
            seen.push(st);
        }
        if st == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        seen,
        [202, 410, 200],
        "running, gone while transferring, then ready"
    );
}

/// Issue 16 item 13: hostile or absurd requests get an answer, never a panicked handler or a
/// request thread busy for seconds.
#[tokio::test]
async fn hostile_names_and_absurd_ranges_are_answered_at_once() {
    let s = SimServer::start(test_config()).await.unwrap();
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    // Multi-byte characters where the archive-name parser slices (used to panic a handler).
    for name in [
        "ICLISTENHF6324_2024040éT000000.000Z.flac",
        "ICLISTENHF6324_ééééééééééééééééééééé.flac",
        "é_é",
    ] {
        let r = get(
            b,
            t,
            Style::Path,
            "archivefile/download",
            &[("filename", name)],
        )
        .await;
        assert!((400..500).contains(&r.status), "{name}: {}", r.status);
    }
    // Audio over 24 years: refused naming dateTo before any file is enumerated, as the real
    // service refuses oversized requests.
    let r = get(
        b,
        t,
        Style::Path,
        "dataProductDelivery/request",
        &[
            ("dataProductCode", "AD"),
            ("extension", "flac"),
            ("deviceCode", "ICLISTENHF6324"),
            ("dateFrom", "2000-01-01T00:00:00.000Z"),
            ("dateTo", "2024-01-01T00:00:00.000Z"),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["errors"][0]["errorCode"], 127, "{v}");
    assert_eq!(v["errors"][0]["parameter"], "dateTo", "{v}");
    // The simulator still answers.
    let r = get(b, t, Style::Path, "deviceCategories", &[]).await;
    assert_eq!(r.status, 200);
}
