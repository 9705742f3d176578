//! Wire edge cases the simulator may not produce on demand, against a tiny hand-written HTTP
//! server on loopback: exact status codes, a body shorter than its Content-Length, 400 without
//! `errors`, a token echoed by the server, bare NaN, `next` paging. Every error must be free of
//! the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onc_hydro::api::{
    self, ApiError, ArchiveQuery, Client, DeviceOrLocation, DownloadIndex, DownloadOutcome, Params,
    RunId, TransportKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "5ba514e8-1203-428c-8835-879c8173e387";

/// Canned raw HTTP responses keyed by "path?query-without-token"; records every request target.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

fn response(
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
    declared_len: Option<usize>,
) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\n\r\n",
        declared_len.unwrap_or(body.len())
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn json(status: &str, body: &str) -> Vec<u8> {
    response(
        status,
        &[("Content-Type", "application/json".into())],
        body.as_bytes(),
        None,
    )
}

async fn fake(routes: HashMap<String, Vec<u8>>) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let routes = routes.clone();
            let seen = seen2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                seen.lock().unwrap().push(target.clone());
                let key = strip_token(&target);
                let reply = routes.get(&key).cloned().unwrap_or_else(|| {
                    json("599 Unrouted", &format!("{{\"unrouted\":\"{key}\"}}"))
                });
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Fake {
        base: format!("http://{addr}/"),
        seen,
    }
}

/// "/api/x?a=1&token=T" → "/api/x?a=1"
fn strip_token(target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("token=") && !p.is_empty())
        .collect();
    if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

fn assert_no_token(e: &ApiError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(!shown.contains("8835-879c"), "token part leaked: {shown}");
}

fn routes(pairs: Vec<(&str, Vec<u8>)>) -> HashMap<String, Vec<u8>> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[tokio::test]
async fn status_codes_map_to_typed_errors_without_the_token() {
    let echo = format!(
        r#"{{"errors":[{{"errorCode":129,"errorMessage":"Invalid parameter name: locationCodes (query was token={TOKEN})","parameter":"locationCodes"}}]}}"#
    );
    let f = fake(routes(vec![
        ("/api/locations?locationCodes=X", json("400 Bad Request", &echo)),
        ("/api/devices", json("401 Unauthorized", r#"{"errors":[{"errorCode":401,"errorMessage":"Invalid token","parameter":"token"}]}"#)),
        ("/api/properties", json("404 Not Found", "")),
        ("/api/deviceCategories", json("503 Service Unavailable", "we could be down for maintenance")),
        ("/api/dataProductDelivery/download?dpRunId=7&index=1", json("400 Bad Request", r#"{"message":"cancelled"}"#)),
    ]))
    .await;
    let c = Client::new(&f.base, TOKEN).unwrap();
    let e = c
        .locations(&Params::new().with("locationCodes", "X"))
        .await
        .unwrap_err();
    assert_eq!(e.onc_codes(), vec![129]);
    assert_eq!(e.onc_errors()[0].parameters(), vec!["locationCodes"]);
    assert!(!e.is_transient());
    assert_no_token(&e);
    assert!(e.to_string().contains("token=REDACTED"), "{e}");

    let e = c.devices(&Params::new()).await.unwrap_err();
    assert!(e.is_unauthorized(), "{e:?}");
    assert!(e.to_string().contains("token is valid"), "{e}");
    assert_no_token(&e);

    let e = c.properties(&Params::new()).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");

    let e = c.device_categories(&Params::new()).await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(e.is_transient());

    let e = c
        .download(RunId(7), DownloadIndex::File(1))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::BadRequest { .. }), "{e:?}");
    assert!(e.onc_codes().is_empty());
    assert_no_token(&e);

    // The token did travel, as the last query parameter, on every request.
    let seen = f.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter().all(|t| t.ends_with(&format!("token={TOKEN}"))),
        "{seen:?}"
    );
}

#[tokio::test]
async fn download_outcomes_and_a_truncated_body() {
    let file = response(
        "200 OK",
        &[(
            "Content-Disposition",
            "attachment; filename=ICLISTENHF6324_20240401T000136.029Z-spect.mat".into(),
        )],
        b"0123456789",
        None,
    );
    let short = response(
        "200 OK",
        &[(
            "Content-Disposition",
            "attachement; filename=short.bin".into(),
        )],
        b"0123456789",
        Some(1000),
    );
    let f = fake(routes(vec![
        ("/api/dataProductDelivery/download?dpRunId=1&index=1", file),
        ("/api/dataProductDelivery/download?dpRunId=1&index=2", json("202 Accepted", r#"{"status":"running","message":"Running... writing data products, time range 1 of 1."}"#)),
        ("/api/dataProductDelivery/download?dpRunId=1&index=3", json("202 Accepted", r#"{"status":"queued"}"#)),
        ("/api/dataProductDelivery/download?dpRunId=1&index=4", response("204 No Content", &[], b"", None)),
        ("/api/dataProductDelivery/download?dpRunId=1&index=5", json("404 Not Found", "")),
        ("/api/dataProductDelivery/download?dpRunId=1&index=meta", json("410 Gone", r#"{"message":"file is gone"}"#)),
        ("/api/dataProductDelivery/download?dpRunId=2&index=1", short),
    ]))
    .await;
    let c = Client::new(&f.base, TOKEN).unwrap();
    let DownloadOutcome::Ready(body) = c.download(RunId(1), DownloadIndex::File(1)).await.unwrap()
    else {
        panic!("expected a file")
    };
    assert_eq!(
        body.file_name(),
        Some("ICLISTENHF6324_20240401T000136.029Z-spect.mat")
    );
    assert_eq!(body.content_length(), Some(10));
    assert_eq!(body.bytes().await.unwrap(), b"0123456789");

    match c.download(RunId(1), DownloadIndex::File(2)).await.unwrap() {
        DownloadOutcome::NotReady { status, message } => {
            assert_eq!(status, api::RunStatus::Running);
            assert!(message.unwrap().contains("writing data products"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.download(RunId(1), DownloadIndex::File(3)).await.unwrap(),
        DownloadOutcome::NotReady {
            status: api::RunStatus::Queued,
            message: None
        }
    ));
    assert!(matches!(
        c.download(RunId(1), DownloadIndex::File(4)).await.unwrap(),
        DownloadOutcome::NoData { .. }
    ));
    assert!(matches!(
        c.download(RunId(1), DownloadIndex::File(5)).await.unwrap(),
        DownloadOutcome::End
    ));
    match c.download(RunId(1), DownloadIndex::Meta).await.unwrap() {
        DownloadOutcome::Gone { message } => assert_eq!(message.as_deref(), Some("file is gone")),
        other => panic!("{other:?}"),
    }

    let DownloadOutcome::Ready(body) = c.download(RunId(2), DownloadIndex::File(1)).await.unwrap()
    else {
        panic!("expected a file")
    };
    assert_eq!(body.file_name(), Some("short.bin"));
    let mut sink = Vec::new();
    let e = body.write_to(&mut sink).await.unwrap_err();
    match &e {
        ApiError::Truncated {
            expected, received, ..
        } => assert_eq!((*expected, *received), (1000, 10)),
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(e.is_transient());
    assert_no_token(&e);
}

#[tokio::test]
async fn paging_follows_next_parameters_and_nan_is_tolerated() {
    let p1 = format!(
        r#"{{"files":["D_20240401T000000.000Z.flac","D_20240401T000500.000Z.flac"],
            "next":{{"parameters":{{"deviceCode":"D","rowLimit":"2","page":"2","token":"{TOKEN}"}},"url":"x?token={TOKEN}"}},
            "queryUrl":"http://h/api/archivefile/device?deviceCode=D&token={TOKEN}"}}"#
    );
    let p2 = r#"{"files":["D_20240401T001000.000Z.flac"],"next":null}"#;
    let s1 = r#"{"sensorData":[{"sensorCode":"t","actualSamples":2,"data":{"sampleTimes":["2021-01-28T00:00:00.000Z","2021-01-28T00:00:01.000Z"],"values":[1.0,NaN],"qaqcFlags":[1,9]}}],
        "next":{"parameters":{"deviceCode":"D","dateFrom":"2021-01-28T00:00:01.001Z","rowLimit":"2"},"url":"u"}}"#;
    let s2 = r#"{"sensorData":[{"sensorCode":"t","actualSamples":1,"data":{"sampleTimes":["2021-01-28T00:00:02.000Z"],"values":[-Infinity],"qaqcFlags":[1]}}],"next":null}"#;
    let f =
        fake(routes(vec![
        ("/api/archivefile/device?deviceCode=D&rowLimit=2", json("200 OK", &p1)),
        ("/api/archivefile/device?deviceCode=D&rowLimit=2&page=2", json("200 OK", p2)),
        ("/api/scalardata/device?deviceCode=D&rowLimit=2", json("200 OK", s1)),
        (
            "/api/scalardata/device?deviceCode=D&rowLimit=2&dateFrom=2021-01-28T00%3A00%3A01.001Z",
            json("200 OK", s2),
        ),
    ]))
        .await;
    let c = Client::new(&f.base, TOKEN).unwrap();
    let listing = c
        .archive_list(&ArchiveQuery::device("D").row_limit(2))
        .await
        .unwrap();
    assert_eq!(listing.pages, 2);
    assert_eq!(listing.files.len(), 3);
    let q = listing.query_url.unwrap();
    assert!(!q.contains(TOKEN) && q.contains("token=REDACTED"), "{q}");

    let data = c
        .scalar_data(
            &DeviceOrLocation::Device("D".into()),
            None,
            None,
            &Params::new().with("rowLimit", "2"),
        )
        .await
        .unwrap();
    assert_eq!(data.pages, 2);
    assert_eq!(data.sensors.len(), 1);
    assert_eq!(data.sensors[0].values(), vec![Some(1.0), None, None]);
    assert_eq!(data.sensors[0].actual_samples, Some(3));
}

#[tokio::test]
async fn connection_refused_is_a_redacted_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = Client::new(&format!("http://{addr}/"), TOKEN).unwrap();
    let e = c.locations(&Params::new()).await.unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_transient());
    assert_no_token(&e);
}
