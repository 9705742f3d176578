//! The Oceans 3.0 contract suite: `check_*(base, token)` functions written from onc-api.md with
//! plain reqwest (not the crate's API client), so any server — the simulator here — can be
//! checked against the documented wire behaviour: every service in both URL styles, every
//! documented error code, paging, the data product lifecycle, cancel/restart, 401 and HEAD.
//! The `#[tokio::test]`s run them against an in-process simulator with a tiny time scale.

use std::time::Duration;

use onc_hydro::sim::{FaultPlan, SimConfig, SimServer, DEMO_TOKEN};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// URL style: path (`api/archivefile/device`) or legacy (`api/archivefiles?method=getListByDevice`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Path,
    Legacy,
}

const STYLES: [Style; 2] = [Style::Path, Style::Legacy];

fn legacy(op: &str) -> (String, String) {
    let (svc, m) = match op {
        "locations" => ("locations", "get"),
        "locations/tree" => ("locations", "getTree"),
        "scalardata/location" => ("scalardata", "getByLocation"),
        "scalardata/device" => ("scalardata", "getByDevice"),
        "rawdata/location" => ("rawdata", "getByLocation"),
        "rawdata/device" => ("rawdata", "getByDevice"),
        "archivefile/location" => ("archivefiles", "getListByLocation"),
        "archivefile/device" => ("archivefiles", "getListByDevice"),
        "archivefile/download" => ("archivefiles", "getFile"),
        other => match other.split_once('/') {
            Some(("dataProductDelivery", m)) => ("dataProductDelivery", m),
            _ => (other, "get"),
        },
    };
    (svc.to_string(), m.to_string())
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("http client")
}

/// A response, fully read.
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// GET (or HEAD) `op` with `query` + token in the given style.
pub async fn call(
    base: &str,
    token: &str,
    style: Style,
    op: &str,
    query: &[(&str, &str)],
    head: bool,
) -> Resp {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = match style {
        Style::Path => op.to_string(),
        Style::Legacy => {
            let (svc, m) = legacy(op);
            pairs.insert(0, ("method".into(), m));
            svc
        }
    };
    if !token.is_empty() {
        pairs.push(("token".into(), token.to_string()));
    }
    let url = format!("{base}api/{path}");
    let c = client();
    let rb = if head { c.head(&url) } else { c.get(&url) };
    let r = rb
        .query(&pairs)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap_or_else(|e| panic!("{op} body: {e}"));
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(base: &str, token: &str, style: Style, op: &str, query: &[(&str, &str)]) -> Resp {
    call(base, token, style, op, query, false).await
}

async fn expect_error(
    base: &str,
    token: &str,
    style: Style,
    op: &str,
    query: &[(&str, &str)],
    status: u16,
    code: Option<u64>,
) {
    let r = get(base, token, style, op, query).await;
    assert_eq!(
        r.status,
        status,
        "{style:?} {op} {query:?}: {}",
        String::from_utf8_lossy(&r.body)
    );
    if let Some(c) = code {
        let v = r.json();
        assert_eq!(
            v["errors"][0]["errorCode"].as_u64(),
            Some(c),
            "{op} {query:?}: {v}"
        );
        assert!(
            v["errors"][0]["errorMessage"].is_string() && v["errors"][0].get("parameter").is_some(),
            "{v}"
        );
    }
}

/// Discovery services in both styles, their field shapes, 404/400 semantics.
pub async fn check_discovery(base: &str, token: &str) {
    for s in STYLES {
        let v = get(base, token, s, "locations", &[("locationCode", "KEMFH.H1")])
            .await
            .json();
        let l = &v[0];
        assert_eq!(l["locationCode"], "KEMFH.H1");
        assert_eq!(l["hasDeviceData"], "true", "string booleans on locations");
        for k in [
            "locationName",
            "description",
            "deployments",
            "hasPropertyData",
            "lat",
            "lon",
            "depth",
            "bbox",
            "dataSearchURL",
        ] {
            assert!(l.get(k).is_some(), "locations lacks {k}");
        }
        let v = get(
            base,
            token,
            s,
            "locations",
            &[("locationCode", "KEMFH"), ("includeChildren", "true")],
        )
        .await
        .json();
        assert!(v.as_array().unwrap().len() >= 3);
        let v = get(
            base,
            token,
            s,
            "locations/tree",
            &[("locationCode", "ENDV")],
        )
        .await
        .json();
        let kemfh = &v[0]["children"][0];
        assert_eq!(kemfh["locationCode"], "KEMFH");
        let leaf = &kemfh["children"].as_array().unwrap()[0];
        assert!(leaf["children"].is_null() && leaf["hasDeviceData"].is_string());
        let v = get(
            base,
            token,
            s,
            "deployments",
            &[("deviceCode", "ICLISTENHF6324")],
        )
        .await
        .json();
        let deps = v.as_array().unwrap();
        assert!(deps.len() >= 3);
        assert_eq!(
            deps[0]["hasDeviceData"], true,
            "real booleans on deployments"
        );
        assert!(deps.iter().all(
            |d| d["citation"]["doi"].is_string() && d["begin"].as_str().unwrap().ends_with('Z')
        ));
        let v = get(
            base,
            token,
            s,
            "devices",
            &[("deviceCategoryCode", "HYDROPHONE")],
        )
        .await
        .json();
        let devs = v.as_array().unwrap();
        assert!(devs.len() >= 3 && devs.iter().any(|d| d["deviceCode"] == "ICLISTENHF6324"));
        assert!(devs
            .iter()
            .any(|d| d["deviceCode"].as_str().unwrap().contains('_')));
        assert!(
            devs[0]["dataRating"][0]["samplePeriod"].is_number()
                && devs[0]["cvTerm"]["device"].is_array()
        );
        let v = get(
            base,
            token,
            s,
            "deviceCategories",
            &[("deviceCategoryCode", "CTD")],
        )
        .await
        .json();
        assert_eq!(v[0]["deviceCategoryName"], "Conductivity Temperature Depth");
        let v = get(
            base,
            token,
            s,
            "properties",
            &[("deviceCode", "SBECTD19p7128")],
        )
        .await
        .json();
        assert!(v
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["propertyCode"] == "conductivity" && p["uom"] == "S/m"));
        let v = get(
            base,
            token,
            s,
            "dataProducts",
            &[
                ("dataProductCode", "HSD"),
                ("deviceCategoryCode", "HYDROPHONE"),
            ],
        )
        .await
        .json();
        let opts = v[0]["dataProductOptions"].as_array().unwrap();
        let ds = opts
            .iter()
            .find(|o| o["option"] == "dpo_spectralDataDownsample")
            .expect("downsample option");
        assert_eq!(ds["allowableValues"], serde_json::json!(["0", "1", "2"]));
        assert!(
            ds.get("defaultValue").is_some()
                && ds.get("allowableRange").is_some()
                && ds.get("suboptions").is_some()
        );
        // No match → 404 (deployments → 400/127); unknown name → 129; bad code → 127.
        expect_error(
            base,
            token,
            s,
            "locations",
            &[("locationName", "no such place")],
            404,
            None,
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "devices",
            &[("deviceName", "no such device")],
            404,
            None,
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "locations",
            &[("locationCodes", "BACAX")],
            400,
            Some(129),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "devices",
            &[("deviceCode", "NOPE")],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "deployments",
            &[
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2020-06-01"),
                ("dateTo", "2020-06-10"),
            ],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "deployments",
            &[("dateFrom", "2024-04-02"), ("dateTo", "2024-04-01")],
            400,
            Some(23),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "devices",
            &[("dateFrom", "2099-01-01")],
            400,
            Some(25),
        )
        .await;
    }
    let v = get(
        base,
        token,
        Style::Path,
        "dataAvailability/dataproducts",
        &[
            ("deviceCode", "ICLISTENHF6324"),
            ("dateFrom", "2024-04-01"),
            ("dateTo", "2024-04-02"),
        ],
    )
    .await
    .json();
    let row = &v["availableDataProducts"][0];
    assert_eq!(row["fileCount"], 288);
    assert!(v["queryUrl"].is_string() && v.get("next").is_some());
}

fn names(v: &Value) -> Vec<String> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f.as_str()
                .map(String::from)
                .unwrap_or_else(|| f["filename"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Archive listings (both routes, paging, returnOptions, filters) and downloads.
pub async fn check_archive(base: &str, token: &str) {
    let day = [
        ("deviceCode", "ICLISTENHF6324"),
        ("dateFrom", "2024-04-01T12:00:00.000Z"),
        ("dateTo", "2024-04-01T12:10:00.000Z"),
    ];
    for s in STYLES {
        let v = get(base, token, s, "archivefile/device", &day).await.json();
        assert_eq!(
            names(&v),
            [
                "ICLISTENHF6324_20240401T120000.000Z.flac",
                "ICLISTENHF6324_20240401T120500.000Z.flac"
            ]
        );
        assert!(v["next"].is_null() && v["queryUrl"].is_string());
        // Overlap at the window edge: a window starting mid-file includes that file.
        let v = get(
            base,
            token,
            s,
            "archivefile/location",
            &[
                ("locationCode", "KEMFH.H1"),
                ("deviceCategoryCode", "HYDROPHONE"),
                ("dateFrom", "2024-04-01T12:02:00.000Z"),
                ("dateTo", "2024-04-01T12:06:00.000Z"),
            ],
        )
        .await
        .json();
        assert_eq!(
            names(&v),
            [
                "ICLISTENHF6324_20240401T120000.000Z.flac",
                "ICLISTENHF6324_20240401T120500.000Z.flac"
            ]
        );
        // Paging: exactly rowLimit rows, next.parameters.page is a string, follow until null.
        let q = [
            ("deviceCode", "ICLISTENHF6324"),
            ("dateFrom", "2024-04-01"),
            ("dateTo", "2024-04-01T01:00:00.000Z"),
            ("rowLimit", "5"),
        ];
        let mut v = get(base, token, s, "archivefile/device", &q).await.json();
        let mut all = names(&v);
        assert_eq!(all.len(), 5);
        let mut pages = 1;
        while !v["next"].is_null() {
            let params = &v["next"]["parameters"];
            assert!(params["page"].is_string(), "{params}");
            assert!(params["token"].is_string());
            let url = v["next"]["url"].as_str().unwrap().to_string();
            v = client()
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap();
            all.extend(names(&v));
            pages += 1;
        }
        assert_eq!((all.len(), pages), (12, 3));
        // WAV before 2020-08-10; fileExtension filter; both formats until 2021-04-09.
        let v = get(
            base,
            token,
            s,
            "archivefile/device",
            &[
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2020-01-01"),
                ("dateTo", "2020-01-01T00:05:00.000Z"),
            ],
        )
        .await
        .json();
        assert_eq!(names(&v), ["ICLISTENHF6324_20200101T000000.000Z.wav"]);
        let v = get(
            base,
            token,
            s,
            "archivefile/device",
            &[
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2021-01-01"),
                ("dateTo", "2021-01-01T00:05:00.000Z"),
                ("fileExtension", "wav"),
            ],
        )
        .await
        .json();
        assert_eq!(names(&v), ["ICLISTENHF6324_20210101T000000.000Z.wav"]);
        // Jittered device: unaligned starts, non-zero milliseconds.
        let v = get(
            base,
            token,
            s,
            "archivefile/device",
            &[
                ("deviceCode", "NAXYS_HYD-023"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-01T00:30:00.000Z"),
            ],
        )
        .await
        .json();
        let n = names(&v);
        assert!(
            n.len() >= 5
                && n.iter()
                    .all(|x| !x.contains("000.000Z") && !x.contains("0500.000Z")),
            "{n:?}"
        );
        // No data: device route → empty list, location route → 400/127; future → 400/25.
        let v = get(
            base,
            token,
            s,
            "archivefile/device",
            &[
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2020-06-01"),
                ("dateTo", "2020-06-02"),
            ],
        )
        .await
        .json();
        assert!(v["files"].as_array().unwrap().is_empty());
        expect_error(
            base,
            token,
            s,
            "archivefile/location",
            &[
                ("locationCode", "KEMFH.H1"),
                ("deviceCategoryCode", "HYDROPHONE"),
                ("dateFrom", "2020-06-01"),
                ("dateTo", "2020-06-02"),
            ],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "archivefile/device",
            &[("deviceCode", "ICLISTENHF6324"), ("dateFrom", "2099-01-01")],
            400,
            Some(25),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "archivefile/location",
            &[("locationCode", "KEMFH.H1")],
            400,
            Some(128),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "archivefile/device",
            &[("deviceCode", "ICLISTENHF6324"), ("extension", "flac")],
            400,
            Some(129),
        )
        .await;
        // Downloads: 400/96 for an unknown name, 400/128 without a name.
        expect_error(
            base,
            token,
            s,
            "archivefile/download",
            &[("filename", "ICLISTENHF6324_20240401T120100.000Z.flac")],
            400,
            Some(96),
        )
        .await;
        expect_error(base, token, s, "archivefile/download", &[], 400, Some(128)).await;
        // returnOptions=all sizes equal the bytes served (CTD log files).
        let q = [
            ("deviceCode", "SBECTD19p7128"),
            ("dateFrom", "2024-04-01"),
            ("dateTo", "2024-04-03"),
            ("returnOptions", "all"),
        ];
        let v = get(base, token, s, "archivefile/device", &q).await.json();
        let rows = v["files"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        for row in rows {
            let name = row["filename"].as_str().unwrap();
            assert!(
                name.ends_with(".txt")
                    && row["dateFrom"].is_string()
                    && row["archiveLocation"].is_string()
            );
            let r = get(
                base,
                token,
                s,
                "archivefile/download",
                &[("filename", name)],
            )
            .await;
            assert_eq!(r.status, 200);
            assert_eq!(
                r.body.len() as u64,
                row["uncompressedFileSize"].as_u64().unwrap(),
                "{name}"
            );
            let h = call(
                base,
                token,
                s,
                "archivefile/download",
                &[("filename", name)],
                true,
            )
            .await;
            assert_eq!(h.status, 200);
            assert!(h.body.is_empty());
            assert_eq!(
                h.headers["content-length"].to_str().unwrap(),
                r.body.len().to_string()
            );
        }
    }
}

/// Audio downloads are real FLAC / WAV (needs the content renderer).
pub async fn check_audio(base: &str, token: &str) {
    let r = get(
        base,
        token,
        Style::Path,
        "archivefile/download",
        &[("filename", "ICLISTENHF6324_20240401T120000.000Z.flac")],
    )
    .await;
    if r.status == 500 && String::from_utf8_lossy(&r.body).contains("not implemented") {
        eprintln!("audio renderer not implemented yet; skipping the byte checks");
        return;
    }
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..4], b"fLaC");
    let v = get(
        base,
        token,
        Style::Path,
        "archivefile/device",
        &[
            ("deviceCode", "ICLISTENHF6324"),
            ("dateFrom", "2024-04-01T12:00:00.000Z"),
            ("dateTo", "2024-04-01T12:05:00.000Z"),
            ("returnOptions", "all"),
        ],
    )
    .await
    .json();
    assert_eq!(
        v["files"][0]["uncompressedFileSize"].as_u64(),
        Some(r.body.len() as u64)
    );
    let r = get(
        base,
        token,
        Style::Path,
        "archivefile/download",
        &[("filename", "ICLISTENHF6324_20200101T000000.000Z.wav")],
    )
    .await;
    assert_eq!((r.status, &r.body[..4]), (200, &b"RIFF"[..]));
}

/// Scalar and raw data: paging by rowLimit, next.dateFrom = last + 1 ms, no-data semantics.
pub async fn check_scalar(base: &str, token: &str) {
    for s in STYLES {
        let q = [
            ("deviceCode", "SBECTD19p7128"),
            ("dateFrom", "2024-04-01T00:00:00.000Z"),
            ("dateTo", "2024-04-01T00:01:00.000Z"),
            ("rowLimit", "25"),
        ];
        let v = get(base, token, s, "scalardata/device", &q).await.json();
        let sd = v["sensorData"].as_array().unwrap();
        assert_eq!(sd.len(), 4);
        let times = sd[0]["data"]["sampleTimes"].as_array().unwrap();
        assert_eq!(times.len(), 25);
        assert_eq!(sd[0]["data"]["values"].as_array().unwrap().len(), 25);
        let last: jiff::Timestamp = times[24].as_str().unwrap().parse().unwrap();
        let next: jiff::Timestamp = v["next"]["parameters"]["dateFrom"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(next.as_millisecond() - last.as_millisecond(), 1);
        let mut total = 25;
        let mut v = v;
        while !v["next"].is_null() {
            v = client()
                .get(v["next"]["url"].as_str().unwrap())
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap();
            total += v["sensorData"][0]["data"]["sampleTimes"]
                .as_array()
                .unwrap()
                .len();
        }
        assert_eq!(total, 60);
        for k in [
            "citations",
            "messages",
            "parameters",
            "qaqcFlagInfo",
            "queryUrl",
        ] {
            assert!(v.get(k).is_some(), "scalardata lacks {k}");
        }
        let v = get(
            base,
            token,
            s,
            "scalardata/location",
            &[
                ("locationCode", "BACAX"),
                ("deviceCategoryCode", "CTD"),
                ("propertyCode", "conductivity"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-01T00:00:10.000Z"),
            ],
        )
        .await
        .json();
        assert_eq!(v["sensorData"].as_array().unwrap().len(), 1);
        assert_eq!(v["sensorData"][0]["unitOfMeasure"], "S/m");
        // No data: device → sensorData null; location → 400/127.
        let v = get(
            base,
            token,
            s,
            "scalardata/device",
            &[
                ("deviceCode", "SBECTD19p7128"),
                ("dateFrom", "2023-05-10"),
                ("dateTo", "2023-05-11"),
            ],
        )
        .await
        .json();
        assert!(v["sensorData"].is_null());
        expect_error(
            base,
            token,
            s,
            "scalardata/location",
            &[
                ("locationCode", "BACAX"),
                ("deviceCategoryCode", "CTD"),
                ("dateFrom", "2023-05-10"),
                ("dateTo", "2023-05-11"),
            ],
            400,
            Some(127),
        )
        .await;
        expect_error(base, token, s, "scalardata/device", &[], 400, Some(128)).await;
        // Raw data.
        let v = get(
            base,
            token,
            s,
            "rawdata/device",
            &[
                ("deviceCode", "SBECTD19p7128"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-01T00:00:10.000Z"),
                ("rowLimit", "4"),
            ],
        )
        .await
        .json();
        assert_eq!(v["data"]["readings"].as_array().unwrap().len(), 4);
        assert_eq!(v["data"]["lineTypes"].as_array().unwrap().len(), 4);
        assert!(!v["next"].is_null());
        let v = get(
            base,
            token,
            s,
            "rawdata/location",
            &[
                ("locationCode", "BACAX"),
                ("deviceCategoryCode", "CTD"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-01T00:00:03.000Z"),
            ],
        )
        .await
        .json();
        assert_eq!(v["data"]["times"].as_array().unwrap().len(), 3);
        assert!(v["metadata"]["locationName"].is_string());
        let v = get(
            base,
            token,
            s,
            "rawdata/device",
            &[
                ("deviceCode", "SBECTD19p7128"),
                ("dateFrom", "2023-05-10"),
                ("dateTo", "2023-05-11"),
            ],
        )
        .await
        .json();
        assert!(v["data"]["readings"].as_array().unwrap().is_empty());
        expect_error(
            base,
            token,
            s,
            "rawdata/location",
            &[
                ("locationCode", "BACAX"),
                ("deviceCategoryCode", "CTD"),
                ("dateFrom", "2023-05-10"),
                ("dateTo", "2023-05-11"),
            ],
            400,
            Some(127),
        )
        .await;
    }
}

async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

/// Polls `run` until it answers 200; returns the last body.
async fn run_until_done(base: &str, token: &str, s: Style, id: &str) -> Value {
    let mut saw_202 = false;
    for _ in 0..3000 {
        let r = get(
            base,
            token,
            s,
            "dataProductDelivery/run",
            &[("dpRequestId", id)],
        )
        .await;
        match r.status {
            202 => saw_202 = true,
            200 => {
                let v = r.json();
                assert!(saw_202 || v[0]["status"] == "complete");
                return v;
            }
            other => panic!("run answered {other}: {}", String::from_utf8_lossy(&r.body)),
        }
        tick().await;
    }
    panic!("run never completed")
}

fn filename(h: &HeaderMap) -> String {
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=") && !cd.contains('"'),
        "{cd}"
    );
    cd["attachment; filename=".len()..].to_string()
}

/// The full lifecycle with TSSD csv: request → run → status → download (202 first, then 200)
/// → 404 past the end → meta, plus the request/run/download error codes.
pub async fn check_delivery(base: &str, token: &str) {
    for s in STYLES {
        let q = [
            ("dataProductCode", "TSSD"),
            ("extension", "csv"),
            ("deviceCode", "SBECTD19p7128"),
            ("dateFrom", "2024-04-01T00:00:00.000Z"),
            ("dateTo", "2024-04-01T00:30:00.000Z"),
            ("dpo_qualityControl", "1"),
        ];
        let v = get(base, token, s, "dataProductDelivery/request", &q)
            .await
            .json();
        let id = v["dpRequestId"].as_u64().expect("dpRequestId").to_string();
        assert!(v["estimatedProcessingTime"]
            .as_str()
            .unwrap()
            .ends_with(" s"));
        assert!(v["estimatedFileSize"].as_str().unwrap().contains('B'));
        assert!(
            v["queryURL"].is_string() && v["disclaimer"].is_string() && v["queryPids"].is_array()
        );
        assert!(
            v["messages"][0].as_str().unwrap().contains("dpo_resample"),
            "defaults announced: {v}"
        );
        let st = get(
            base,
            token,
            s,
            "dataProductDelivery/status",
            &[("dpRequestId", &id)],
        )
        .await
        .json();
        assert_eq!(st["searchHdrStatus"], "OPEN");
        let r = get(
            base,
            token,
            s,
            "dataProductDelivery/run",
            &[("dpRequestId", &id)],
        )
        .await;
        assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
        let run_id = r.json()[0]["dpRunId"].as_u64().unwrap().to_string();
        assert_eq!(r.json()[0]["fileCount"], 0);
        // Early download poll: 202 with a status.
        let d = get(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "1")],
        )
        .await;
        assert_eq!(d.status, 202);
        assert!(d.json()["status"].is_string());
        let done = run_until_done(base, token, s, &id).await;
        assert_eq!(
            done[0]["dpRunId"].as_u64().unwrap().to_string(),
            run_id,
            "same dpRunId"
        );
        assert_eq!(done[0]["fileCount"], 1);
        let st = get(
            base,
            token,
            s,
            "dataProductDelivery/status",
            &[("dpRequestId", &id)],
        )
        .await
        .json();
        assert_eq!(st["searchHdrStatus"], "COMPLETED");
        let d = get(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "1")],
        )
        .await;
        assert_eq!(d.status, 200);
        let name = filename(&d.headers);
        assert_eq!(name, "BarkleyCanyon_Axis_ConductivityTemperatureDepth_20240401T000000Z_20240401T003000Z-clean.csv");
        assert_eq!(
            d.headers["content-length"].to_str().unwrap(),
            d.body.len().to_string()
        );
        let text = String::from_utf8_lossy(&d.body);
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("2024-04-01T"))
                .count(),
            1800
        );
        let h = call(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "1")],
            true,
        )
        .await;
        assert_eq!((h.status, h.body.len()), (200, 0));
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "2")],
            404,
            None,
        )
        .await;
        let m = get(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "meta")],
        )
        .await;
        assert_eq!(m.status, 200);
        assert!(filename(&m.headers).ends_with("_CSV_META.xml"));
        // Errors: bad ids 127, missing 128, product not offered 127, bad option value 127.
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/run",
            &[("dpRequestId", "1")],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/status",
            &[("dpRequestId", "1")],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", "1"), ("index", "1")],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/request",
            &[("dataProductCode", "TSSD"), ("extension", "csv")],
            400,
            Some(128),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/request",
            &[
                ("dataProductCode", "HSD"),
                ("extension", "mat"),
                ("deviceCode", "SBECTD19p7128"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-02"),
            ],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/request",
            &[
                ("dataProductCode", "HSD"),
                ("extension", "mat"),
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-02"),
                ("dpo_spectralDataDownsample", "7"),
            ],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/request",
            &[
                ("dataProductCode", "HSD"),
                ("extension", "mat"),
                ("deviceCode", "ICLISTENHF6324"),
                ("dateFrom", "2024-04-01"),
                ("dateTo", "2024-04-02"),
                ("dpo_noSuchOption", "1"),
            ],
            400,
            Some(129),
        )
        .await;
    }
}

/// HSD per source file, files ready one by one, names per downsample; 204 for a gap.
pub async fn check_hsd(base: &str, token: &str) {
    let q = [
        ("dataProductCode", "HSD"),
        ("extension", "mat"),
        ("deviceCode", "ICLISTENHF6324"),
        ("dateFrom", "2024-04-01T12:00:00.000Z"),
        ("dateTo", "2024-04-01T12:15:00.000Z"),
        ("dpo_spectralDataDownsample", "2"),
    ];
    let v = get(base, token, Style::Path, "dataProductDelivery/request", &q)
        .await
        .json();
    let id = v["dpRequestId"].as_u64().unwrap().to_string();
    let r = get(
        base,
        token,
        Style::Path,
        "dataProductDelivery/run",
        &[("dpRequestId", &id)],
    )
    .await
    .json();
    let run_id = r[0]["dpRunId"].as_u64().unwrap().to_string();
    // Poll index 1 until ready; index 3 must not be ready before index 1.
    let mut first_ready_while_third_pending = false;
    for _ in 0..3000 {
        let d1 = call(
            base,
            token,
            Style::Path,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id), ("index", "1")],
            true,
        )
        .await;
        if d1.status == 200 || d1.status == 500 {
            let d3 = call(
                base,
                token,
                Style::Path,
                "dataProductDelivery/download",
                &[("dpRunId", &run_id), ("index", "3")],
                true,
            )
            .await;
            first_ready_while_third_pending = d3.status == 202;
            break;
        }
        assert_eq!(d1.status, 202);
        tick().await;
    }
    assert!(
        first_ready_while_third_pending,
        "files become ready one by one"
    );
    let done = run_until_done(base, token, Style::Path, &id).await;
    assert_eq!(done[0]["fileCount"], 3);
    let d = get(
        base,
        token,
        Style::Path,
        "dataProductDelivery/download",
        &[("dpRunId", &run_id), ("index", "1")],
    )
    .await;
    if d.status == 500 && String::from_utf8_lossy(&d.body).contains("not implemented") {
        eprintln!("HSD renderer not implemented yet; skipping the MAT checks");
    } else {
        assert_eq!(d.status, 200);
        assert_eq!(
            filename(&d.headers),
            "ICLISTENHF6324_20240401T120000.000Z_20240401T120500.000Z-OD-spect_plotRes.mat"
        );
        assert!(d.body.starts_with(b"MATLAB 5.0 MAT-file"));
    }
    // A window inside the deployment gap: the run finishes with no data → 204.
    let q = [
        ("dataProductCode", "AD"),
        ("extension", "flac"),
        ("deviceCode", "ICLISTENHF6324"),
        ("dateFrom", "2020-06-01"),
        ("dateTo", "2020-06-01T01:00:00.000Z"),
    ];
    let v = get(
        base,
        token,
        Style::Legacy,
        "dataProductDelivery/request",
        &q,
    )
    .await
    .json();
    let id = v["dpRequestId"].as_u64().unwrap().to_string();
    let done = run_until_done(base, token, Style::Legacy, &id).await;
    let run_id = done[0]["dpRunId"].as_u64().unwrap().to_string();
    let d = get(
        base,
        token,
        Style::Legacy,
        "dataProductDelivery/download",
        &[("dpRunId", &run_id), ("index", "1")],
    )
    .await;
    assert_eq!(d.status, 204);
}

/// Cancel → 400 without `errors` on download; restart keeps the dpRunId and completes.
pub async fn check_cancel_restart(base: &str, token: &str) {
    for s in STYLES {
        let q = [
            ("dataProductCode", "TSSD"),
            ("extension", "json"),
            ("deviceCode", "SBECTD19p7128"),
            ("dateFrom", "2024-04-01"),
            ("dateTo", "2024-04-03"),
            ("dpo_resample", "average"),
            ("dpo_minMaxAvg", "60"),
        ];
        let id = get(base, token, s, "dataProductDelivery/request", &q)
            .await
            .json()["dpRequestId"]
            .as_u64()
            .unwrap()
            .to_string();
        let r = get(
            base,
            token,
            s,
            "dataProductDelivery/run",
            &[("dpRequestId", &id)],
        )
        .await
        .json();
        let run_id = r[0]["dpRunId"].as_u64().unwrap();
        let c = get(
            base,
            token,
            s,
            "dataProductDelivery/cancel",
            &[("dpRequestId", &id)],
        )
        .await;
        assert_eq!(c.status, 200);
        assert_eq!(c.json()[0]["status"], "cancelled");
        assert_eq!(c.json()[0]["dpRunId"].as_u64(), Some(run_id));
        let d = get(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id.to_string()), ("index", "1")],
        )
        .await;
        assert_eq!(d.status, 400);
        assert!(
            d.json().get("errors").is_none(),
            "400 without errors after cancel"
        );
        let st = get(
            base,
            token,
            s,
            "dataProductDelivery/status",
            &[("dpRequestId", &id)],
        )
        .await
        .json();
        assert_ne!(st["searchHdrStatus"], "COMPLETED");
        let rs = get(
            base,
            token,
            s,
            "dataProductDelivery/restart",
            &[("dpRequestId", &id)],
        )
        .await
        .json();
        assert_eq!(rs[0]["dpRunId"].as_u64(), Some(run_id));
        let st = rs[0]["status"].as_str().unwrap();
        assert!(
            st == "queued" || st == "data product running" || st == "complete",
            "{st}"
        );
        let done = run_until_done(base, token, s, &id).await;
        assert_eq!(done[0]["dpRunId"].as_u64(), Some(run_id));
        let d = get(
            base,
            token,
            s,
            "dataProductDelivery/download",
            &[("dpRunId", &run_id.to_string()), ("index", "1")],
        )
        .await;
        assert_eq!(d.status, 200);
        let v: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(
            v["sensorData"][0]["data"]["values"]
                .as_array()
                .unwrap()
                .len(),
            1440
        );
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/cancel",
            &[("dpRequestId", "5")],
            400,
            Some(127),
        )
        .await;
        expect_error(
            base,
            token,
            s,
            "dataProductDelivery/restart",
            &[("dpRequestId", "5")],
            400,
            Some(127),
        )
        .await;
    }
}

/// 401 for a bad or missing token on every kind of endpoint; 129 for `method` on path style.
pub async fn check_auth(base: &str, token: &str) {
    for s in STYLES {
        for (op, q) in [
            ("locations", vec![]),
            ("archivefile/device", vec![("deviceCode", "ICLISTENHF6324")]),
            ("dataProductDelivery/status", vec![("dpRequestId", "1")]),
            ("scalardata/device", vec![("deviceCode", "SBECTD19p7128")]),
        ] {
            let r = get(base, "not-a-valid-token", s, op, &q).await;
            assert_eq!(r.status, 401, "{op}");
            let r = get(base, "", s, op, &q).await;
            assert_eq!(r.status, 401, "{op} without token");
        }
    }
    expect_error(
        base,
        token,
        Style::Path,
        "archivefile/device",
        &[
            ("method", "getListByDevice"),
            ("deviceCode", "ICLISTENHF6324"),
        ],
        400,
        Some(129),
    )
    .await;
}

fn test_config() -> SimConfig {
    SimConfig {
        time_scale: 0.01,
        now: "2026-01-01T00:00:00Z".parse().unwrap(),
        audio_sample_rate_override: Some(2_000),
        ..SimConfig::default()
    }
}

async fn server() -> SimServer {
    SimServer::start(test_config())
        .await
        .expect("start simulator")
}

#[tokio::test]
async fn contract_discovery() {
    let s = server().await;
    check_discovery(s.base_url(), DEMO_TOKEN).await;
}

#[tokio::test]
async fn contract_archive() {
    let s = server().await;
    check_archive(s.base_url(), DEMO_TOKEN).await;
    check_audio(s.base_url(), DEMO_TOKEN).await;
}

#[tokio::test]
async fn contract_scalar_and_raw() {
    let s = server().await;
    check_scalar(s.base_url(), DEMO_TOKEN).await;
}

#[tokio::test]
async fn contract_delivery() {
    let s = server().await;
    check_delivery(s.base_url(), DEMO_TOKEN).await;
    check_hsd(s.base_url(), DEMO_TOKEN).await;
}

#[tokio::test]
async fn contract_cancel_restart_and_auth() {
    let s = server().await;
    check_cancel_restart(s.base_url(), DEMO_TOKEN).await;
    check_auth(s.base_url(), DEMO_TOKEN).await;
}

#[tokio::test]
async fn jobs_beyond_the_limit_wait_queued() {
    let s = SimServer::start(SimConfig {
        max_running_jobs_per_token: 1,
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
