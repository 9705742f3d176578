//! Discovery → workbook → download plan, against the in-process simulator: the discovery walk
//! (tree, clipped deployments, offerings, defaults), `--append`, the all-problems report with
//! nothing requested, and the seed's four researchers as dry runs through the CLI.

use std::path::Path;
use std::process::Output;

use jiff::Timestamp;
use onc_hydro::api::{Client, DataSource};
use onc_hydro::plan::{
    self, Cell, Column, DiscoveryFilters, Method, PlanWorkbook, ReadBook, SheetKind, SourceKey,
};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn sim() -> SimServer {
    SimServer::start(SimConfig {
        time_scale: 0.001,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn filters(from: &str, to: &str, method: Method) -> DiscoveryFilters {
    DiscoveryFilters {
        location: None,
        device_category: None,
        device: None,
        property: None,
        products: vec![],
        extensions: vec![],
        from: ts(from),
        to: ts(to),
        method,
    }
}

/// Rewrites a workbook from its read-back tables (how the tests "edit it in Excel").
pub fn rewrite(path: &Path, book: &ReadBook) {
    let mut report = plan::Report::default();
    let config = plan::parse_config(book.config.as_ref().expect("config sheet"), &mut report);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let wb = PlanWorkbook {
        requests: book.requests.clone(),
        config,
        offerings: plan::recorded_offerings(book),
    };
    plan::write_workbook(path, &wb).expect("rewrite workbook");
}

#[tokio::test]
async fn whale_discovery_walks_the_tree_and_clips_deployments() {
    let sim = sim().await;
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let mut f = filters(
        "2023-06-01T00:00:00Z",
        "2024-05-31T23:59:59.999Z",
        Method::All,
    );
    f.location = Some("NEP".into());
    f.device_category = Some("HYDROPHONE".into());
    f.products = vec!["AD".into()];
    f.extensions = vec!["flac".into()];
    let found = plan::discover(&client, &f).await.unwrap();
    assert_eq!(found.deployments, 3, "NAXYS under SALISH is outside NEP");
    let by_loc: Vec<_> = found
        .rows
        .iter()
        .filter(|r| r.sheet == SheetKind::ByLocation)
        .collect();
    let by_dev: Vec<_> = found
        .rows
        .iter()
        .filter(|r| r.sheet == SheetKind::ByDevice)
        .collect();
    assert_eq!((by_loc.len(), by_dev.len()), (3, 3));
    let kemfh = by_loc
        .iter()
        .find(|r| r.location_code.as_str() == "KEMFH.H1")
        .unwrap();
    assert_eq!(kemfh.device_code.as_str(), "ICLISTENHF6324");
    assert_eq!(kemfh.begin, ts("2023-06-01T00:00:00Z"));
    assert_eq!(
        kemfh.end,
        ts("2024-05-01T00:00:00Z"),
        "deployment end inside the period"
    );
    assert_eq!(kemfh.location_name.as_deref(), Some("Hydrophone A"));
    assert_eq!(kemfh.device_category_name.as_deref(), Some("Hydrophone"));
    // The real AD flac options and defaults (dataProducts snapshot), not a modelled subset.
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, x)| (k.to_string(), x.to_string()))
            .collect()
    };
    assert_eq!(
        kemfh.options,
        pairs(&[
            ("dpo_audioDownsample", "-1"),
            ("dpo_audioFormatConversion", "0"),
            ("dpo_hydrophoneAcquisitionMode", "All"),
            ("dpo_hydrophoneChannel", "H1"),
            ("dpo_hydrophoneDataDiversionMode", "OD"),
        ])
    );
    assert!(kemfh
        .data_search_url
        .as_deref()
        .unwrap()
        .ends_with("DataSearch?location=KEMFH.H1&deviceCategory=HYDROPHONE"));
    assert!(kemfh
        .device_listing_url
        .as_deref()
        .unwrap()
        .contains("DeviceListing"));
    assert!(kemfh
        .help_document
        .as_deref()
        .unwrap()
        .starts_with("https://wiki"));
    let h1266 = by_dev
        .iter()
        .find(|r| r.device_code.as_str() == "ICLISTENHF1266")
        .unwrap();
    assert_eq!(
        h1266.begin,
        ts("2023-09-01T00:00:00Z"),
        "deployment begin inside the period"
    );
    // Everything offered is recorded (not just the filtered product), for later edits.
    let offered = &found.offerings.by_source[&SourceKey::Device("ICLISTENHF6324".into())];
    let names: Vec<String> = offered.iter().map(|(p, e)| format!("{p}.{e}")).collect();
    assert_eq!(
        names,
        ["AD.flac", "AD.mp3", "AD.wav", "HSD.mat", "HSD.pdf", "HSD.png"]
    );
}

#[tokio::test]
async fn geoscience_location_mat_only() {
    let sim = sim().await;
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let mut f = filters(
        "2023-10-23T00:00:00Z",
        "2024-05-31T00:00:00Z",
        Method::ByLocation,
    );
    f.location = Some("BACAX".into());
    f.extensions = vec!["mat".into()];
    let found = plan::discover(&client, &f).await.unwrap();
    assert_eq!(
        found.deployments, 3,
        "CTD, ADCP and the hydrophone below BACAX"
    );
    assert_eq!(found.rows.len(), 1);
    assert_eq!(found.rows[0].product.as_str(), "HSD");
    assert_eq!(found.rows[0].location_code.as_str(), "BACAX.H1");
    let mut bad = f.clone();
    bad.location = Some("NOWHERE".into());
    let e = plan::discover(&client, &bad).await.unwrap_err().to_string();
    assert!(e.contains("NOWHERE") && !e.contains(DEMO_TOKEN), "{e}");
}

#[tokio::test]
async fn append_adds_new_deployments_and_leaves_edited_rows_alone() {
    let sim = sim().await;
    let client = Client::new(sim.base_url(), DEMO_TOKEN).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.xlsx");
    let mut f = filters(
        "2024-08-01T00:00:00Z",
        "2024-09-10T00:00:00Z",
        Method::ByDevice,
    );
    f.device = Some("ICLISTENHF1266".into());
    f.products = vec!["AD".into()];
    f.extensions = vec!["flac".into()];
    let first = plan::discover(&client, &f).await.unwrap();
    assert_eq!(first.rows.len(), 1);
    plan::write_workbook(
        &path,
        &plan::new_plan(&first, Method::ByDevice, plan::Config::default()),
    )
    .unwrap();
    // The researcher edits the row.
    let mut book = plan::read_workbook(&path).unwrap();
    let t = &mut book.requests[0].1;
    let (opts, dl) = (
        t.column_index(Column::Options).unwrap(),
        t.column_index(Column::Download).unwrap(),
    );
    t.rows[0].cells[opts] = Cell::text("dpo_hydrophoneDataDiversionMode=All");
    t.rows[0].cells[dl] = Cell::text("N");
    rewrite(&path, &book);
    // A longer period finds the second deployment.
    f.to = ts("2024-10-01T00:00:00Z");
    let second = plan::discover(&client, &f).await.unwrap();
    assert_eq!(second.rows.len(), 2);
    let existing = plan::read_workbook(&path).unwrap();
    let (wb, summary) = plan::append_plan(&existing, &second, Method::ByDevice).unwrap();
    assert_eq!((summary.rows_added, summary.rows_kept), (1, 1));
    plan::write_workbook(&path, &wb).unwrap();
    let after = plan::read_workbook(&path).unwrap();
    let valid = plan::validate(&after, &plan::recorded_offerings(&after)).unwrap();
    assert_eq!(valid.rows.len(), 2);
    assert!(!valid.rows[0].download, "edited row kept");
    assert_eq!(
        valid.rows[0].options,
        vec![("dpo_hydrophoneDataDiversionMode".into(), "All".into())]
    );
    assert_eq!(valid.rows[0].end, ts("2024-09-01T00:00:00Z"));
    assert!(valid.rows[1].download);
    assert_eq!(valid.rows[1].begin, ts("2024-09-20T00:00:00Z"));
    assert!(
        matches!(&valid.rows[1].source, DataSource::Device { device, .. } if device.as_str() == "ICLISTENHF1266")
    );
    // Appending the same discovery again adds nothing.
    let (_, again) = plan::append_plan(&after, &second, Method::ByDevice).unwrap();
    assert_eq!((again.rows_added, again.rows_kept), (0, 2));
}

/// Runs the CLI against `sim` (blocking, off the runtime's worker).
async fn cli(sim: &SimServer, args: &[&str]) -> Output {
    let base = sim.base_url().to_string();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_onc-hydro"))
            .args(&args)
            .env("ONC_BASE_URL", base)
            .env("ONC_TOKEN", DEMO_TOKEN)
            .output()
            .expect("run onc-hydro")
    })
    .await
    .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_all_reported_and_nothing_is_requested() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.xlsx");
    let f = file.to_str().unwrap();
    let out = dir.path().join("data");
    let o = cli(
        &sim,
        &[
            "plan",
            "--out",
            out.to_str().unwrap(),
            "--file",
            f,
            "--device-category",
            "HYDROPHONE",
            "--location",
            "NEP",
            "--from",
            "2024-03-31",
            "--to",
            "2024-04-01",
            "--method",
            "by-device",
        ],
    )
    .await;
    assert!(o.status.success(), "{}", text(&o));
    let mut book = plan::read_workbook(&file).unwrap();
    let t = &mut book.requests[0].1;
    assert_eq!(
        t.rows.len(),
        18,
        "3 hydrophones × AD.flac, AD.mp3, AD.wav, HSD.mat, HSD.pdf, HSD.png"
    );
    let c = |c: Column| t.column_index(c).unwrap();
    let (ext, dl, opts, begin, end) = (
        c(Column::Extension),
        c(Column::Download),
        c(Column::Options),
        c(Column::Begin),
        c(Column::End),
    );
    t.rows[0].cells[ext] = Cell::text("ogg");
    t.rows[1].cells[dl] = Cell::text("perhaps");
    t.rows[2].cells[opts] = Cell::text("dpo_spectralDataDownsample:2");
    t.rows[3].cells[begin] = t.rows[3].cells[end].clone();
    rewrite(&file, &book);
    let before = sim.request_log().len();
    let o = cli(&sim, &["download", f]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for want in [
        "'By Device' row 2, column M (extension)",
        "ogg",
        "'By Device' row 3, column D (download)",
        "perhaps",
        "'By Device' row 4, column N (data product options)",
        "'By Device' row 5, column F (end)",
        "4 problem(s)",
        "nothing was requested",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    let log = sim.request_log();
    assert!(
        log[before..]
            .iter()
            .all(|r| !r.path.contains("dataProductDelivery")),
        "validation failures must not reach dataProductDelivery: {:?}",
        log[before..]
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
    assert!(
        log[before..]
            .iter()
            .any(|r| r.path.contains("dataProducts")),
        "live validation asked the server"
    );
    assert!(!err.contains(DEMO_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_seed_researchers_dry_run() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], usize); 4] = [
        // Whale: every hydrophone under NEP, audio over a year.
        (
            "whale",
            &[
                "--location",
                "NEP",
                "--device-category",
                "HYDROPHONE",
                "--product",
                "AD",
                "--ext",
                "flac",
                "--from",
                "2023-06-01T00:00:00.000Z",
                "--to",
                "2024-05-31T23:59:59.999Z",
            ],
            3,
        ),
        // Geoscience: every instrument at one location, as mat.
        (
            "geo",
            &[
                "--location",
                "BACAX",
                "--ext",
                "mat",
                "--from",
                "2023-10-23",
                "--to",
                "2024-05-31",
            ],
            1,
        ),
        // Ocean/atmosphere: TSSD for a region, every format.
        (
            "tssd",
            &[
                "--location",
                "BACND",
                "--product",
                "TSSD",
                "--from",
                "2023-06-01",
                "--to",
                "2024-06-01",
            ],
            2,
        ),
        // Imaging: one day of one category, by device.
        (
            "day",
            &[
                "--device-category",
                "HYDROPHONE",
                "--product",
                "HSD,AD",
                "--ext",
                "mat,flac",
                "--method",
                "by-device",
                "--from",
                "2024-03-31T00:00:00.000Z",
                "--to",
                "2024-03-31T23:59:59.999Z",
            ],
            8,
        ),
    ];
    for (name, args, tasks) in cases {
        let folder = dir.path().join(name);
        let file = folder.join("download.xlsx");
        let mut a = vec!["plan", "--out", folder.to_str().unwrap()];
        a.extend_from_slice(args);
        let o = cli(&sim, &a).await;
        assert!(o.status.success(), "{name}: {}", text(&o));
        let o = cli(
            &sim,
            &["--json", "download", "--dry-run", file.to_str().unwrap()],
        )
        .await;
        assert!(o.status.success(), "{name}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        let list = v["tasks"].as_array().unwrap();
        assert_eq!(list.len(), tasks, "{name}: {v:#}");
        assert_eq!(
            v["downloadFolder"].as_str().unwrap(),
            folder.to_str().unwrap()
        );
        for t in list {
            assert!(t["folder"]
                .as_str()
                .unwrap()
                .starts_with(folder.to_str().unwrap()));
        }
    }
}
