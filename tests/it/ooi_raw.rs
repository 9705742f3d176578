//! OOI's raw-data archive against its simulator: day listings read by the tolerant parser
//! (287 files, drifting microsecond starts, a day without data), the engine task choosing the
//! files that overlap an interval and downloading each through `.part` → miniSEED decode →
//! rename despite a 503 and a reset, the two-trace file decoded with its gap, a second run
//! fetching nothing again, and the CLI (`ooi raw`, `ooi mseed --json`) end to end.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use onc_hydro::engine::{
    Engine, EngineConfig, EngineSettings, NullReporter, OoiRawSpec, Providers, TaskSpec,
};
use onc_hydro::media::{read_mseed_path, scan_mseed_path, MseedSamples};
use onc_hydro::ooi::{resolve_hydrophone, start_from_name, RawClient};
use onc_hydro::sim::{FaultPlan, SimConfig, SimServer};

const AXBA: &str = "RS03AXBS-LJ03A-09-HYDBBA302";
/// Small files keep the test fast (the archive's real rate is 64 kHz).
const RATE: u32 = 2000;

fn sim_config(faults: &str) -> SimConfig {
    SimConfig {
        time_scale: 0.0,
        audio_sample_rate_override: Some(RATE),
        faults: FaultPlan::parse(faults).unwrap(),
        ..SimConfig::default()
    }
}

fn raw_client(sim: &SimServer) -> RawClient {
    RawClient::new(&format!("{}ooi-raw/files/", sim.base_url())).unwrap()
}

fn mseed_check() -> onc_hydro::engine::Validator {
    Arc::new(|p: &Path, name: &str| {
        if name.ends_with(".mseed") {
            scan_mseed_path(p).map(|_| ()).map_err(|e| e.to_string())
        } else {
            Ok(())
        }
    })
}

async fn run(sim: &SimServer, dir: &Path, spec: OoiRawSpec) -> onc_hydro::engine::Summary {
    let engine = Engine::open(
        dir,
        EngineConfig {
            settings: Some(EngineSettings::scaled(0.0)),
            validator: Some(mseed_check()),
            ..EngineConfig::default()
        },
    )
    .unwrap();
    engine.plan(&[TaskSpec::OoiRaw(spec)]).unwrap();
    let providers = Providers {
        ooi_raw: Some(raw_client(sim)),
        ..Providers::default()
    };
    engine
        .run_with(providers, Arc::new(NullReporter))
        .await
        .unwrap()
}

#[tokio::test]
async fn listings_are_read_and_empty_days_are_empty() {
    let sim = SimServer::start(sim_config("")).await.unwrap();
    let c = raw_client(&sim);
    let r = resolve_hydrophone("Axial_Base_Seafloor").unwrap();
    let files = c.day(&r, jiff::civil::date(2019, 7, 2)).await.unwrap();
    assert_eq!(files.len(), 287, "288 five-minute files, one missing");
    assert_eq!(
        files[1].name,
        "OO-AXBA1--YDH-2019-07-02T00:05:00.000018.mseed"
    );
    assert!(files.windows(2).all(|w| w[0].start < w[1].start));
    assert!(c
        .day(&r, jiff::civil::date(2019, 7, 13))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn engine_downloads_overlapping_files_verified() {
    let sim = SimServer::start(sim_config("ooi-raw#2=503,ooi-raw#4=reset"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = OoiRawSpec {
        refdes: AXBA.into(),
        from: "2019-07-02T00:24:00Z".parse().unwrap(),
        to: "2019-07-02T00:31:00Z".parse().unwrap(),
        folder: Some("axba".into()),
        starts_only: false,
    };
    let summary = run(&sim, dir.path(), spec.clone()).await;
    assert_eq!(summary.tasks_done, 1, "{summary:?}");
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("axba"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "OO-AXBA1--YDH-2019-07-02T00-20-00.000027.mseed",
            "OO-AXBA1--YDH-2019-07-02T00-25-00.000030.mseed",
            "OO-AXBA1--YDH-2019-07-02T00-30-00.000033.mseed",
        ]
    );
    for n in &names {
        let traces = read_mseed_path(&dir.path().join("axba").join(n)).unwrap();
        let named = start_from_name(n).unwrap();
        assert_eq!(
            traces[0].start(),
            named,
            "{n}: first sample at the named time"
        );
        assert!(traces.iter().all(|t| t.sample_rate == f64::from(RATE)));
        let MseedSamples::Int(v) = &traces[0].samples else {
            panic!("integer samples")
        };
        assert!(v.iter().any(|&x| x != 0));
    }
    let two = read_mseed_path(&dir.path().join("axba").join(&names[1])).unwrap();
    assert_eq!(two.len(), 2, "the file with two traces");
    let gap_ns = two[1].start_ns - two[0].next_ns();
    assert_eq!(gap_ns, 500_000_000, "a 0.5 s gap");
    // Every listing and file went through, despite the 503 and the reset.
    let log = sim.request_log();
    assert!(log
        .iter()
        .any(|r| r.status == 503 && r.endpoint.starts_with("ooi-raw")));
    // Again: nothing is fetched twice.
    let before = sim.request_log().len();
    let again = run(&sim, dir.path(), spec).await;
    assert_eq!(again.tasks_done, 1);
    let files_again = sim.request_log()[before..]
        .iter()
        .filter(|r| r.endpoint == "ooi-raw/file")
        .count();
    assert_eq!(files_again, 0);
}

#[tokio::test]
async fn a_day_without_data_ends_done_without_files() {
    let sim = SimServer::start(sim_config("")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spec = OoiRawSpec {
        refdes: AXBA.into(),
        from: "2019-07-13T01:00:00Z".parse().unwrap(),
        to: "2019-07-13T02:00:00Z".parse().unwrap(),
        folder: None,
        starts_only: false,
    };
    let summary = run(&sim, dir.path(), spec).await;
    assert_eq!(summary.tasks_done, 1);
    assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".mseed")));
}

#[test]
fn cli_downloads_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("axial");
    let bin = env!("CARGO_BIN_EXE_onc-hydro");
    let status = Command::new(bin)
        .args(["--sim", "--sim-time-scale", "0", "--sim-audio-rate", "2000"])
        .args(["ooi", "raw", "--device", "LJ03A"])
        .args([
            "--from",
            "2019-07-02T23:58:00Z",
            "--to",
            "2019-07-03T00:03:00Z",
        ])
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .status()
        .unwrap();
    assert!(status.success());
    let files: Vec<_> = std::fs::read_dir(out.join(AXBA))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "the last file of one day, the first of the next"
    );
    let listed = Command::new(bin)
        .args(["--json", "ooi", "mseed"])
        .args(&files)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["traces"][0]["id"], "OO.AXBA1..YDH");
    let bad = Command::new(bin)
        .args([
            "ooi",
            "raw",
            "--device",
            "Nowhere",
            "--from",
            "2019-07-02T00:00:00Z",
        ])
        .args(["--to", "2019-07-02T00:10:00Z", "--out"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Axial_Base_Seafloor"));
}
