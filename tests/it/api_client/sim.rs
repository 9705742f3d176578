//! The client against the in-process simulator (time scale 0.001): discovery with ONC's quirks,
//! an HSD order end to end, archive listing (paged and unpaged agree) and download, scalar
//! paging, ONC error codes mapped to typed errors, 401, and no token in any error.

use std::time::Duration;

use jiff::Timestamp;
use onc_hydro::api::{
    self, ApiError, ArchiveQuery, Client, DataProductOrder, DataSource, DeviceOrLocation,
    DownloadIndex, DownloadOutcome, Params, RequestId, ReturnOptions, RunId,
};
use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};

const HYDROPHONE: &str = "ICLISTENHF6324";

/// Fast settings: 0.001 × ONC time, a fixed "now", and 2 kHz audio so rendering is cheap.
pub fn test_config() -> SimConfig {
    SimConfig {
        time_scale: 0.001,
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
        audio_sample_rate_override: Some(2_000),
        ..SimConfig::default()
    }
}

async fn sim() -> (SimServer, Client) {
    sim_with(test_config()).await
}

async fn sim_with(config: SimConfig) -> (SimServer, Client) {
    let server = SimServer::start(config).await.expect("simulator starts");
    let client = Client::new(server.base_url(), DEMO_TOKEN).expect("client");
    (server, client)
}

fn ts(s: &str) -> Timestamp {
    api::parse_onc(s).unwrap()
}

fn no_token(e: &ApiError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(DEMO_TOKEN), "token leaked: {shown}");
}

#[tokio::test]
async fn discovery_tolerates_onc_quirks() {
    let (_s, c) = sim().await;
    let locations = c.locations(&Params::new()).await.unwrap();
    let h1 = locations
        .iter()
        .find(|l| l.location_code.as_str() == "KEMFH.H1")
        .expect("KEMFH.H1 listed");
    assert!(
        h1.has_device_data.is_some(),
        "hasDeviceData decoded (string or bool)"
    );

    let tree = c.location_tree(&Params::new()).await.unwrap();
    let depth = tree.iter().flat_map(|r| r.walk()).map(|(d, _)| d).max();
    assert!(depth.unwrap_or(0) >= 2, "the tree nests");

    let hydros = c
        .devices(&Params::new().with("deviceCategoryCode", "HYDROPHONE"))
        .await
        .unwrap();
    assert!(hydros.iter().any(|d| d.device_code.as_str() == HYDROPHONE));
    assert!(hydros
        .iter()
        .all(|d| d.device_category_code.as_ref().unwrap().as_str() == "HYDROPHONE"));

    let deps = c
        .deployments(&Params::new().with("deviceCode", HYDROPHONE))
        .await
        .unwrap();
    assert!(deps.len() >= 2);
    for d in &deps {
        if let (Some(b), Some(e)) = (d.begin, d.end) {
            assert!(b < e);
        }
    }

    let products = c
        .data_products(&Params::new().with("dataProductCode", "HSD"))
        .await
        .unwrap();
    assert!(products
        .iter()
        .all(|p| p.data_product_code.as_str() == "HSD"));
    // The real catalog: HSD as fft, mat, oct, pdf and png, each with its own options.
    let mat = products
        .iter()
        .find(|p| p.extension.as_deref() == Some("mat"))
        .expect("HSD mat");
    assert!(mat
        .data_product_options
        .iter()
        .any(|o| o.option == "dpo_spectralDataDownsample"));
    assert!(products
        .iter()
        .any(|p| p.extension.as_deref() == Some("png")));
    assert!(!c
        .device_categories(&Params::new())
        .await
        .unwrap()
        .is_empty());
    assert!(!c.properties(&Params::new()).await.unwrap().is_empty());

    // Raw JSON for --json output is the array itself.
    let raw = c
        .discover_raw(
            api::DiscoveryService::Devices,
            &Params::new().with("deviceCode", HYDROPHONE),
        )
        .await
        .unwrap();
    assert_eq!(raw.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn discovery_errors_are_typed() {
    let (_s, c) = sim().await;
    let e = c
        .locations(&Params::new().with("locationCodes", "KEMFH"))
        .await
        .unwrap_err();
    assert!(e.has_onc_code(129), "{e}");
    assert!(
        e.onc_errors()[0].parameters().contains(&"locationCodes"),
        "{e}"
    );
    no_token(&e);

    let e = c
        .devices(&Params::new().with("deviceName", "no such device name at all"))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    let e = c
        .deployments(
            &Params::new()
                .with("deviceCode", HYDROPHONE)
                .with("dateFrom", "2024-02-01T00:00:00.000Z")
                .with("dateTo", "2024-01-01T00:00:00.000Z"),
        )
        .await
        .unwrap_err();
    assert!(e.has_onc_code(23), "{e}");
}

#[tokio::test]
async fn bad_token_is_401_without_the_token_in_the_error() {
    let (s, _) = sim().await;
    let secret = "11111111-2222-4333-8444-555555555555";
    let c = Client::new(s.base_url(), secret).unwrap();
    let e = c.devices(&Params::new()).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    assert!(!e.is_transient());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert!(shown.contains("token=REDACTED"), "{shown}");
}

#[tokio::test]
async fn archive_listing_pages_agree_and_download_matches_the_listing() {
    let (_s, c) = sim().await;
    let q = ArchiveQuery::device(HYDROPHONE)
        .between(ts("2024-04-01T00:00:00Z"), ts("2024-04-01T01:00:00Z"))
        .extension("flac")
        .return_options(ReturnOptions::All);
    let whole = c.archive_list(&q).await.unwrap();
    assert!(
        whole.files.len() >= 12,
        "an hour of 5-minute files: {}",
        whole.files.len()
    );
    assert!(whole.files.iter().all(|f| f.filename.ends_with(".flac")));
    assert!(whole
        .files
        .iter()
        .all(|f| f.filename.starts_with(HYDROPHONE)));
    let paged = c.archive_list(&q.clone().row_limit(5)).await.unwrap();
    assert!(paged.pages >= 3, "rowLimit=5 pages: {}", paged.pages);
    let names = |l: &api::ArchiveListing| {
        l.files
            .iter()
            .map(|f| f.filename.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&whole), names(&paged));
    let starts: Vec<_> = whole.files.iter().map(|f| f.start().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "sorted by start");

    let first = &whole.files[1];
    let body = c.archive_download(&first.filename).await.unwrap();
    let bytes = body.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"fLaC");
    if let Some(size) = first.download_size() {
        assert_eq!(bytes.len() as u64, size, "listed size = downloaded size");
    }

    let e = c
        .archive_download("NOPE_20240401T000000.000Z.flac")
        .await
        .unwrap_err();
    assert!(e.has_onc_code(96), "{e}");
    no_token(&e);

    let e = c
        .archive_list(
            &ArchiveQuery::location("KEMFH.H1", "HYDROPHONE")
                .between(ts("2020-06-01T00:00:00Z"), ts("2020-06-02T00:00:00Z")),
        )
        .await
        .unwrap_err();
    assert!(e.has_onc_code(127), "no deployment → 127: {e}");
    let gap = c
        .archive_list(
            &ArchiveQuery::device(HYDROPHONE)
                .between(ts("2020-06-01T00:00:00Z"), ts("2020-06-02T00:00:00Z")),
        )
        .await
        .unwrap();
    assert!(gap.files.is_empty(), "device route: empty list in a gap");
    let e = c
        .archive_list(
            &ArchiveQuery::device(HYDROPHONE)
                .between(ts("2099-01-01T00:00:00Z"), ts("2099-01-02T00:00:00Z")),
        )
        .await
        .unwrap_err();
    assert!(e.has_onc_code(25), "future → 25: {e}");
}

/// Polls one index until it is not 202; tiny sleeps (the simulator runs at 0.001 × ONC time).
async fn poll_download(c: &Client, run: RunId, index: DownloadIndex) -> DownloadOutcome {
    let mut transient = 0;
    for _ in 0..20_000 {
        match c.download(run, index).await {
            Ok(DownloadOutcome::NotReady { .. }) | Ok(DownloadOutcome::Gone { .. }) => {
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            Ok(other) => return other,
            Err(e) if e.is_transient() && transient < 10 => {
                transient += 1;
                tokio::time::sleep(Duration::from_millis(2)).await
            }
            Err(e) => panic!("download {run} {index}: {e}"),
        }
    }
    panic!("run {run} index {index} never became ready");
}

#[tokio::test]
async fn hsd_order_end_to_end() {
    let (_s, c) = sim().await;
    let order = DataProductOrder::new(
        "HSD",
        "mat",
        DataSource::Device {
            device: HYDROPHONE.into(),
            property: None,
        },
        ts("2024-04-01T00:00:00Z"),
        ts("2024-04-01T00:15:00Z"),
    )
    .with_option("dpo_spectralDataDownsample", "0");
    let req = c.request(&order).await.unwrap();
    assert!(req.dp_request_id.0 > 0);
    assert!(
        req.processing_time().is_some()
            || matches!(req.estimate(), api::RequestEstimate::AlreadyArchived { .. }),
        "{req:?}"
    );
    let status = c.status(req.dp_request_id).await.unwrap();
    assert!(status.search_hdr_status.is_some(), "{status:?}");

    let run = c.run(req.dp_request_id).await.unwrap();
    assert!(!run.runs.is_empty());
    let run_id = run.runs[0].dp_run_id;
    let again = c.run(req.dp_request_id).await.unwrap();
    assert_eq!(again.runs[0].dp_run_id, run_id, "run is idempotent");

    let mut names = Vec::new();
    for index in 1..=50u32 {
        match poll_download(&c, run_id, DownloadIndex::File(index)).await {
            DownloadOutcome::Ready(body) => {
                let name = body
                    .file_name()
                    .expect("Content-Disposition filename")
                    .to_string();
                let len = body.content_length();
                let bytes = body.bytes().await.unwrap();
                assert!(!bytes.is_empty());
                if let Some(len) = len {
                    assert_eq!(bytes.len() as u64, len);
                }
                assert!(
                    bytes.starts_with(b"MATLAB 5.0 MAT-file"),
                    "{name} is MAT v5"
                );
                names.push(name);
            }
            DownloadOutcome::End => break,
            other => panic!("index {index}: {other:?}"),
        }
    }
    assert!(names.len() >= 3, "15 minutes of 5-minute files: {names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".mat") && n.starts_with(HYDROPHONE)),
        "{names:?}"
    );
    match poll_download(&c, run_id, DownloadIndex::Meta).await {
        DownloadOutcome::Ready(body) => {
            assert!(body.file_name().unwrap().ends_with("_META.xml"));
            let xml = body.bytes().await.unwrap();
            assert!(xml.starts_with(b"<?xml"), "meta is XML");
        }
        other => panic!("meta: {other:?}"),
    }
    let done = c.run(req.dp_request_id).await.unwrap();
    assert!(done.is_complete(), "{done:?}");
    assert_eq!(done.http_status, 200);
}

#[tokio::test]
async fn delivery_errors_and_cancel() {
    let (_s, c) = sim().await;
    let bad = DataProductOrder::new(
        "HSD",
        "csv",
        DataSource::Device {
            device: HYDROPHONE.into(),
            property: None,
        },
        ts("2024-04-01T00:00:00Z"),
        ts("2024-04-01T00:05:00Z"),
    );
    let e = c.request(&bad).await.unwrap_err();
    assert!(e.has_onc_code(127), "extension not offered: {e}");
    no_token(&e);
    let e = c.run(RequestId(987_654_321)).await.unwrap_err();
    assert!(e.has_onc_code(127), "{e}");

    let order = DataProductOrder::new(
        "HSD",
        "mat",
        DataSource::Device {
            device: HYDROPHONE.into(),
            property: None,
        },
        ts("2024-04-01T00:00:00Z"),
        ts("2024-04-01T01:00:00Z"),
    );
    let req = c.request(&order).await.unwrap();
    let run = c.run(req.dp_request_id).await.unwrap();
    let cancelled = c.cancel(req.dp_request_id).await.unwrap();
    assert!(
        cancelled
            .iter()
            .all(|r| r.status == api::RunStatus::Cancelled),
        "{cancelled:?}"
    );
    let e = c
        .download(run.runs[0].dp_run_id, DownloadIndex::File(1))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ApiError::BadRequest { .. }),
        "400 without errors: {e:?}"
    );
    let restarted = c.restart(req.dp_request_id).await.unwrap();
    assert_eq!(
        restarted[0].dp_run_id, run.runs[0].dp_run_id,
        "restart keeps the run id"
    );
}

#[tokio::test]
async fn scalar_data_pages_concatenate() {
    let (_s, c) = sim_with(SimConfig {
        scalar_nan: true,
        ..test_config()
    })
    .await;
    let target = DeviceOrLocation::Device("SBECTD19p7128".into());
    let from = ts("2024-04-01T00:00:00Z");
    let to = ts("2024-04-01T00:10:00Z");
    let paged = c
        .scalar_data(
            &target,
            Some(from),
            Some(to),
            &Params::new().with("rowLimit", "100"),
        )
        .await
        .unwrap();
    assert!(
        paged.pages >= 6,
        "600 samples / 100 per page: {}",
        paged.pages
    );
    let whole = c
        .scalar_data(&target, Some(from), Some(to), &Params::new())
        .await
        .unwrap();
    assert_eq!(whole.sensors.len(), paged.sensors.len());
    for (a, b) in whole.sensors.iter().zip(&paged.sensors) {
        assert_eq!(a.sensor_code, b.sensor_code);
        assert_eq!(a.len(), b.len(), "{}", a.sensor_code);
        let times = b.sample_times();
        assert!(times.iter().all(Option::is_some));
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "strictly increasing, no overlap"
        );
        assert!(
            times.iter().all(|t| t.unwrap() >= from && t.unwrap() < to),
            "half-open range"
        );
    }
}
