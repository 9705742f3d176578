//! The Oceans 3.0 contract suite: `check_*(base, token)` functions written from onc-api.md with
//! plain reqwest (not the crate's API client), so any server — the simulator here — can be
//! checked against the documented wire behaviour: every service in both URL styles, every
//! documented error code, paging, the data product lifecycle, cancel/restart, 401 and HEAD.
//! This file holds the shared helpers, discovery and auth checks, and the `#[tokio::test]`s that
//! run every check against an in-process simulator with a tiny time scale; the other checks
//! live in `sim_contract_data.rs` and `sim_contract_delivery.rs`.

use onc_hydro::sim::{SimConfig, SimServer, DEMO_TOKEN};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::sim_contract_data::{check_archive, check_audio, check_default_paging, check_scalar};
use crate::sim_contract_delivery::{check_cancel_restart, check_delivery, check_hsd};

/// URL style: path (`api/archivefile/device`) or legacy (`api/archivefiles?method=getListByDevice`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Path,
    Legacy,
}

pub const STYLES: [Style; 2] = [Style::Path, Style::Legacy];

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

pub fn client() -> reqwest::Client {
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

pub async fn get(base: &str, token: &str, style: Style, op: &str, query: &[(&str, &str)]) -> Resp {
    call(base, token, style, op, query, false).await
}

pub async fn expect_error(
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
        // The real ICLISTENHF6324 is deviceId 74140 (the real `devices` dump).
        let seed = devs
            .iter()
            .find(|d| d["deviceCode"] == "ICLISTENHF6324")
            .unwrap();
        assert_eq!(seed["deviceId"], 74140, "{seed}");
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
            // The real service's body, verbatim.
            assert_eq!(
                r.json(),
                serde_json::json!({"errors": [{"errorCode": 127,
                    "errorMessage": "Invalid parameter value", "parameter": "token"}]}),
                "{op}"
            );
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

pub fn test_config() -> SimConfig {
    SimConfig {
        time_scale: 0.02,
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
    check_default_paging(s.base_url(), DEMO_TOKEN).await;
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

/// The whole real catalog answers discovery (issue 9 item 1): every real record by itself, the
/// modelled content's relations on top, real codes without a model valid but empty.
#[tokio::test]
async fn the_simulator_serves_the_whole_real_catalog() {
    use onc_hydro::sim::snapshot::SnapshotTable;
    let s = server().await;
    let (b, t) = (s.base_url(), DEMO_TOKEN);
    let real = |tbl: SnapshotTable| -> Vec<Value> {
        serde_json::from_slice(&tbl.json().expect("inflate")).expect("array")
    };
    let n = |v: &Value| v.as_array().map_or(0, Vec::len);
    // Unfiltered: every real record, plus the one modelled device the real catalog lacks.
    let devices = get(b, t, Style::Path, "devices", &[]).await.json();
    assert_eq!(n(&devices), real(SnapshotTable::Devices).len() + 1);
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["deviceCode"] == "NAXYS_HYD-023"));
    for (op, tbl) in [
        ("deviceCategories", SnapshotTable::DeviceCategories),
        ("properties", SnapshotTable::Properties),
        ("dataProducts", SnapshotTable::DataProducts),
    ] {
        let v = get(b, t, Style::Path, op, &[]).await.json();
        assert_eq!(n(&v), real(tbl).len(), "{op}");
    }
    let locs = get(b, t, Style::Legacy, "locations", &[]).await.json();
    assert!(n(&locs) >= real(SnapshotTable::Locations).len());
    // A real location without simulated content: its real record, byte for byte.
    let nc89 = get(b, t, Style::Path, "locations", &[("locationCode", "NC89")])
        .await
        .json();
    let want = real(SnapshotTable::Locations)
        .into_iter()
        .find(|r| r["locationCode"] == "NC89")
        .expect("NC89 is real");
    assert_eq!(nc89, Value::Array(vec![want]));
    // Filters a record decides itself: category of devices, name contains, product extension.
    let bprs = get(
        b,
        t,
        Style::Path,
        "devices",
        &[("deviceCategoryCode", "BPR")],
    )
    .await
    .json();
    assert!(n(&bprs) > 1);
    assert!(bprs
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["deviceCategoryCode"] == "BPR"));
    let hsd = get(
        b,
        t,
        Style::Path,
        "dataProducts",
        &[("dataProductCode", "HSD")],
    )
    .await
    .json();
    let mut exts: Vec<&str> = hsd
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["extension"].as_str())
        .collect();
    exts.sort_unstable();
    assert_eq!(exts, ["fft", "mat", "oct", "pdf", "png"]);
    // Relations come from the modelled content: the seed hydrophone's devices answer is its real
    // record; a real code without content is valid (404 "none found", not 400 "invalid").
    let hf = get(
        b,
        t,
        Style::Path,
        "devices",
        &[
            ("locationCode", "KEMFH.H1"),
            ("deviceCategoryCode", "HYDROPHONE"),
        ],
    )
    .await
    .json();
    assert_eq!(hf[0]["deviceId"], 74140);
    expect_error(
        b,
        t,
        Style::Path,
        "devices",
        &[
            ("locationCode", "NC89"),
            ("dateFrom", "2024-01-01T00:00:00.000Z"),
        ],
        404,
        None,
    )
    .await;
    expect_error(
        b,
        t,
        Style::Path,
        "deployments",
        &[("locationCode", "NC89")],
        400,
        Some(127),
    )
    .await;
    // A real category without simulated content narrows locations to none (not to all).
    expect_error(
        b,
        t,
        Style::Path,
        "locations",
        &[("deviceCategoryCode", "BPR")],
        404,
        None,
    )
    .await;
    expect_error(
        b,
        t,
        Style::Path,
        "devices",
        &[("locationCode", "NO_SUCH_PLACE")],
        400,
        Some(127),
    )
    .await;
}
