//! OOI against its simulator: the M2M inventory and deployments through the typed client, the
//! asynchronous request on the engine (request → status.txt → THREDDS catalog → verified NetCDF
//! files, one request in the simulator's log), 10 % 5xx on catalog and file calls with every
//! file still verified, a rejected token stopping the run, a request that never completes
//! failing at its maximum wait while keeping its UUID, and the real binary SIGKILLed mid-wait
//! re-attaching to the same request on `resume`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onc_hydro::engine::{
    status_of, Engine, EngineConfig, EngineError, EngineSettings, NullReporter, OoiSpec, Providers,
    TaskSpec, TaskState,
};
use onc_hydro::ooi::{Client, Credentials, RefDes};
use onc_hydro::sim::{FaultPlan, SimConfig, SimServer, OOI_DEMO_TOKEN, OOI_DEMO_USERNAME};

use super::engine_run::assert_all_files_whole;

const BOTPT: &str = "RS03CCAL-MJ03F-05-BOTPTA301";
const SCALE: f64 = 0.02;

fn config(faults: &str) -> SimConfig {
    SimConfig {
        time_scale: SCALE,
        faults: FaultPlan::parse(faults).unwrap(),
        ..SimConfig::default()
    }
}

fn client(sim: &SimServer, token: &str) -> Client {
    let creds = Credentials::new(OOI_DEMO_USERNAME, token).unwrap();
    Client::new(&format!("{}ooi/api/m2m/", sim.base_url()), creds).unwrap()
}

/// Two deployments' worth: the end of deployment 1 and the start of deployment 2.
fn botpt_spec() -> OoiSpec {
    OoiSpec {
        refdes: BOTPT.into(),
        method: "streamed".into(),
        stream: "botpt_nano_sample_15s".into(),
        from: Some("2017-01-30T12:00:00Z".parse().unwrap()),
        to: Some("2017-08-13T00:00:00Z".parse().unwrap()),
        ancillary: false,
        max_wait_s: None,
        folder: Some("botpt".into()),
    }
}

async fn run_ooi(
    sim: &SimServer,
    dir: &std::path::Path,
    spec: OoiSpec,
    token: &str,
) -> (Engine, Result<onc_hydro::engine::Summary, EngineError>) {
    let engine = Engine::open(
        dir,
        EngineConfig {
            settings: Some(EngineSettings::scaled(SCALE)),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&[TaskSpec::Ooi(spec)]).unwrap();
    let providers = Providers {
        onc: None,
        ooi: Some(client(sim, token)),
        ..Providers::default()
    };
    let result = engine.run_with(providers, Arc::new(NullReporter)).await;
    (engine, result)
}

fn requests_logged(sim: &SimServer) -> usize {
    sim.request_log()
        .iter()
        .filter(|r| r.endpoint == "ooi/request" && r.status == 200)
        .count()
}

#[tokio::test]
async fn inventory_deployments_and_basic_auth() {
    let sim = SimServer::start(config("")).await.unwrap();
    let c = client(&sim, OOI_DEMO_TOKEN);
    let sites = c.sites().await.unwrap();
    assert!(sites.contains(&"RS03CCAL".to_string()), "{sites:?}");
    assert_eq!(c.nodes("RS03CCAL").await.unwrap(), vec!["MJ03F"]);
    assert_eq!(
        c.sensors("RS03CCAL", "MJ03F").await.unwrap(),
        vec!["05-BOTPTA301"]
    );
    let r = RefDes::parse(BOTPT).unwrap();
    assert_eq!(c.methods(&r).await.unwrap(), vec!["streamed"]);
    assert!(c
        .streams(&r, "streamed")
        .await
        .unwrap()
        .contains(&"botpt_nano_sample".to_string()));
    assert_eq!(c.deployment_numbers(&r).await.unwrap(), vec![1, 2, 3]);
    let d = c.deployment(&r, 1).await.unwrap();
    assert_eq!(d[0].start.unwrap().to_string(), "2014-07-25T21:05:00Z");
    assert!(d[0].stop.is_some() && d[0].depth.is_some());
    let hyd = RefDes::parse("RS03AXBS-LJ03A-09-HYDBBA302").unwrap();
    assert!(c.streams(&hyd, "streamed").await.unwrap().is_empty());
    // A wrong token: 401, and the token appears nowhere in the error or the log.
    let bad = client(&sim, "WRONG-TOKEN-123");
    let e = bad.sites().await.unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(!e.to_string().contains("WRONG-TOKEN-123"));
    for entry in sim.request_log() {
        assert!(!entry.to_json_line().contains(OOI_DEMO_TOKEN));
    }
    // A request in the future is refused with a message.
    let e = c
        .request(
            &r,
            "streamed",
            "botpt_nano_sample",
            Some("2099-01-01T00:00:00Z".parse().unwrap()),
            None,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("beginDT"), "{e}");
}

#[tokio::test]
async fn request_runs_to_completion_on_the_engine() {
    let sim = SimServer::start(config("")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (engine, result) = run_ooi(&sim, dir.path(), botpt_spec(), OOI_DEMO_TOKEN).await;
    let summary = result.unwrap();
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    assert_eq!(assert_all_files_whole(&engine), 2);
    assert_eq!(requests_logged(&sim), 1);
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("botpt"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names[0].starts_with(
        "deployment0001_RS03CCAL-MJ03F-05-BOTPTA301-streamed-botpt_nano_sample_15s_20170130T120000-"
    ), "{names:?}");
    assert!(names[1].starts_with("deployment0002_"), "{names:?}");
    let bytes = std::fs::read(dir.path().join("botpt").join(&names[0])).unwrap();
    assert_eq!(&bytes[..4], b"CDF\x02");
    // The UUID and URLs are in the ledger; the token is not.
    let row = engine
        .ledger()
        .task(onc_hydro::engine::TaskId(1))
        .unwrap()
        .unwrap();
    let remote = row.remote.unwrap();
    assert!(remote.contains("async_results") && remote.contains("catalog.html"));
    let ledger_bytes = std::fs::read(dir.path().join("ledger.sqlite")).unwrap();
    assert!(!String::from_utf8_lossy(&ledger_bytes).contains(OOI_DEMO_TOKEN));
    // Running again downloads nothing and asks nothing new.
    drop(engine);
    let (_engine, again) = run_ooi(&sim, dir.path(), botpt_spec(), OOI_DEMO_TOKEN).await;
    assert_eq!(again.unwrap().files, 0);
    assert_eq!(requests_logged(&sim), 1);
}

#[tokio::test]
async fn ten_percent_5xx_on_catalog_and_files_still_verifies_everything() {
    let sim = SimServer::start(config(
        "thredds~0.1=503,fileserver~0.1=503,fileserver~0.05=reset",
    ))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = botpt_spec();
    spec.stream = "botpt_nano_sample".into();
    spec.from = Some("2014-07-26T00:00:00Z".parse().unwrap());
    spec.to = Some("2014-07-26T12:00:00Z".parse().unwrap());
    let (engine, result) = run_ooi(&sim, dir.path(), spec, OOI_DEMO_TOKEN).await;
    let summary = result.unwrap();
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    let files = assert_all_files_whole(&engine);
    assert_eq!(files, 3, "43200 rows at 1 Hz → 3 chunks of ≤ 20000");
    let faults = sim
        .request_log()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    eprintln!("{faults} injected faults, {} retries", summary.retries);
    assert_eq!(requests_logged(&sim), 1);
}

#[tokio::test]
async fn a_rejected_token_stops_the_run_and_a_stuck_request_fails_at_its_max_wait() {
    let sim = SimServer::start(config("m2m#1=error")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_e, result) = run_ooi(&sim, dir.path(), botpt_spec(), "WRONG-TOKEN-1").await;
    assert!(
        matches!(result, Err(EngineError::Unauthorized(_))),
        "{result:?}"
    );
    // A fresh simulator: the rejected call above was its first M2M call and took fault #1.
    let sim = SimServer::start(config("m2m#1=error")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = botpt_spec();
    spec.max_wait_s = Some(0.5);
    let started = Instant::now();
    let (engine, result) = run_ooi(&sim, dir.path(), spec, OOI_DEMO_TOKEN).await;
    let summary = result.unwrap();
    assert_eq!(summary.tasks_failed, 1, "{summary:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let row = engine
        .ledger()
        .task(onc_hydro::engine::TaskId(1))
        .unwrap()
        .unwrap();
    assert!(row.reason.unwrap().contains("not complete after"));
    assert!(
        row.remote.is_some(),
        "the request stays recorded for --retry-failed"
    );
    assert_eq!(requests_logged(&sim), 1);
}

fn cli(sim: &SimServer, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onc-hydro"));
    c.args(args)
        .args(["--ooi-base-url", &format!("{}ooi/api/m2m/", sim.base_url())])
        .env("OOI_USERNAME", OOI_DEMO_USERNAME)
        .env("OOI_TOKEN", OOI_DEMO_TOKEN)
        .env_remove("ONC_TOKEN")
        .env_remove("OOI_M2M_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_wait_then_resume_reattaches_to_the_same_request() {
    // Slow enough that the request is still being prepared when the kill lands.
    let sim = SimServer::start(SimConfig {
        time_scale: 0.2,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let args = [
        "ooi",
        "request",
        "--refdes",
        BOTPT,
        "--method",
        "streamed",
        "--stream",
        "botpt_nano_sample_15s",
        "--from",
        "2017-01-30T12:00:00Z",
        "--to",
        "2017-08-13T00:00:00Z",
        "--out",
        out_arg,
        "--quiet",
        "--server-time-scale",
        "0.2",
    ];
    let mut child = cli(&sim, &args).spawn().unwrap();
    let started = Instant::now();
    loop {
        let requested = status_of(&out, None)
            .map(|s| s.count(TaskState::Requested) > 0)
            .unwrap_or(false);
        if requested || started.elapsed() > Duration::from_secs(30) {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().unwrap(); // SIGKILL, mid-wait
    child.wait().unwrap();
    assert_eq!(requests_logged(&sim), 1);
    let resumed = cli(&sim, &["resume", out_arg, "--quiet"]).output().unwrap();
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        requests_logged(&sim),
        1,
        "resume re-attached instead of asking again"
    );
    let engine = Engine::open(&out, EngineConfig::default()).unwrap();
    assert_eq!(assert_all_files_whole(&engine), 2);
    let status = cli(&sim, &["status", out_arg]).output().unwrap();
    assert_eq!(status.status.code(), Some(0));
}
