//! The thin axum transport: maps both URL styles (path style `api/archivefile/device` and
//! legacy `api/archivefiles?method=getListByDevice`) to endpoints, checks the token (401),
//! injects faults, applies the latency model (× time scale), turns `Reply` into HTTP
//! (Content-Disposition without quotes, Content-Length, HEAD without body, reset/truncated
//! bodies) and logs every request.
//!
//! Must not know: endpoint semantics (they live in discovery, listing, scalar, delivery).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body as AxBody;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Response, StatusCode, Uri};
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::json;

use super::faults::{FaultKind, FaultScope};
use super::log::LoggedRequest;
use super::params::Params;
use super::reply::{ApiError, Body, Reply};
use super::state::{Ctx, Sim};
use super::{delivery, discovery, download, listing, ooi, scalar};

/// Every operation the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ep {
    Locations,
    Tree,
    Deployments,
    Devices,
    DeviceCategories,
    Properties,
    DataProducts,
    DataAvailability,
    Request,
    Status,
    Run,
    Download,
    Cancel,
    Restart,
    ScalarLocation,
    ScalarDevice,
    RawLocation,
    RawDevice,
    ArchiveLocation,
    ArchiveDevice,
    ArchiveDownload,
}

impl Ep {
    /// The path-style name, used in the request log.
    fn name(self) -> &'static str {
        match self {
            Ep::Locations => "locations",
            Ep::Tree => "locations/tree",
            Ep::Deployments => "deployments",
            Ep::Devices => "devices",
            Ep::DeviceCategories => "deviceCategories",
            Ep::Properties => "properties",
            Ep::DataProducts => "dataProducts",
            Ep::DataAvailability => "dataAvailability/dataproducts",
            Ep::Request => "dataProductDelivery/request",
            Ep::Status => "dataProductDelivery/status",
            Ep::Run => "dataProductDelivery/run",
            Ep::Download => "dataProductDelivery/download",
            Ep::Cancel => "dataProductDelivery/cancel",
            Ep::Restart => "dataProductDelivery/restart",
            Ep::ScalarLocation => "scalardata/location",
            Ep::ScalarDevice => "scalardata/device",
            Ep::RawLocation => "rawdata/location",
            Ep::RawDevice => "rawdata/device",
            Ep::ArchiveLocation => "archivefile/location",
            Ep::ArchiveDevice => "archivefile/device",
            Ep::ArchiveDownload => "archivefile/download",
        }
    }

    fn scope(self) -> FaultScope {
        match self {
            Ep::Request => FaultScope::Request,
            Ep::Status => FaultScope::Status,
            Ep::Run => FaultScope::Run,
            Ep::Download => FaultScope::Download,
            Ep::Cancel => FaultScope::Cancel,
            Ep::Restart => FaultScope::Restart,
            Ep::ScalarLocation | Ep::ScalarDevice => FaultScope::Scalar,
            Ep::RawLocation | Ep::RawDevice => FaultScope::Raw,
            Ep::ArchiveLocation | Ep::ArchiveDevice => FaultScope::List,
            Ep::ArchiveDownload => FaultScope::Archive,
            _ => FaultScope::Discovery,
        }
    }

    /// ONC-like latency at time scale 1: fixed seconds plus seconds per row.
    fn latency(self) -> (f64, f64) {
        match self {
            Ep::ArchiveLocation | Ep::ArchiveDevice => (0.3, 0.001),
            Ep::ScalarLocation | Ep::ScalarDevice | Ep::RawLocation | Ep::RawDevice => {
                (0.3, 0.000_02)
            }
            Ep::Request => (0.8, 0.0),
            Ep::Download | Ep::ArchiveDownload => (0.2, 0.0),
            _ => (0.3, 0.0),
        }
    }
}

/// Path-style endpoints.
fn by_path(path: &str) -> Option<Ep> {
    Some(match path {
        "api/locations" => Ep::Locations,
        "api/locations/tree" => Ep::Tree,
        "api/deployments" => Ep::Deployments,
        "api/devices" => Ep::Devices,
        "api/deviceCategories" => Ep::DeviceCategories,
        "api/properties" => Ep::Properties,
        "api/dataProducts" => Ep::DataProducts,
        "api/dataAvailability/dataproducts" => Ep::DataAvailability,
        "api/dataProductDelivery/request" => Ep::Request,
        "api/dataProductDelivery/status" => Ep::Status,
        "api/dataProductDelivery/run" => Ep::Run,
        "api/dataProductDelivery/download" => Ep::Download,
        "api/dataProductDelivery/cancel" => Ep::Cancel,
        "api/dataProductDelivery/restart" => Ep::Restart,
        "api/scalardata/location" => Ep::ScalarLocation,
        "api/scalardata/device" => Ep::ScalarDevice,
        "api/rawdata/location" => Ep::RawLocation,
        "api/rawdata/device" => Ep::RawDevice,
        "api/archivefile/location" => Ep::ArchiveLocation,
        "api/archivefile/device" => Ep::ArchiveDevice,
        "api/archivefile/download" => Ep::ArchiveDownload,
        _ => return None,
    })
}

/// Legacy `?method=` endpoints: `Ok(None)` = not a legacy path, `Err` = bad method value.
fn by_method(path: &str, method: &str) -> Result<Option<Ep>, ApiError> {
    let ep = match (path, method) {
        ("api/locations", "get") => Ep::Locations,
        ("api/locations", "getTree") => Ep::Tree,
        ("api/deployments", "get") => Ep::Deployments,
        ("api/devices", "get") => Ep::Devices,
        ("api/deviceCategories", "get") => Ep::DeviceCategories,
        ("api/properties", "get") => Ep::Properties,
        ("api/dataProducts", "get") => Ep::DataProducts,
        ("api/dataProductDelivery", "request") => Ep::Request,
        ("api/dataProductDelivery", "status") => Ep::Status,
        ("api/dataProductDelivery", "run") => Ep::Run,
        ("api/dataProductDelivery", "download") => Ep::Download,
        ("api/dataProductDelivery", "cancel") => Ep::Cancel,
        ("api/dataProductDelivery", "restart") => Ep::Restart,
        ("api/scalardata", "getByLocation") => Ep::ScalarLocation,
        ("api/scalardata", "getByDevice") => Ep::ScalarDevice,
        ("api/rawdata", "getByLocation") => Ep::RawLocation,
        ("api/rawdata", "getByDevice") => Ep::RawDevice,
        ("api/archivefiles", "getListByLocation") => Ep::ArchiveLocation,
        ("api/archivefiles", "getListByDevice") => Ep::ArchiveDevice,
        ("api/archivefiles", "getFile") => Ep::ArchiveDownload,
        (
            "api/locations"
            | "api/deployments"
            | "api/devices"
            | "api/deviceCategories"
            | "api/properties"
            | "api/dataProducts"
            | "api/dataProductDelivery"
            | "api/scalardata"
            | "api/rawdata"
            | "api/archivefiles",
            m,
        ) => return Err(ApiError::invalid("method", format!("Invalid method: {m}"))),
        _ => return Ok(None),
    };
    Ok(Some(ep))
}

pub(crate) fn router(sim: Arc<Sim>) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

async fn dispatch(ep: Ep, ctx: &Ctx, fault: Option<FaultKind>) -> Result<Reply, ApiError> {
    match ep {
        Ep::Locations => discovery::locations(ctx),
        Ep::Tree => discovery::tree(ctx),
        Ep::Deployments => discovery::deployments(ctx),
        Ep::Devices => discovery::devices(ctx),
        Ep::DeviceCategories => discovery::device_categories(ctx),
        Ep::Properties => discovery::properties(ctx),
        Ep::DataProducts => discovery::data_products(ctx),
        Ep::DataAvailability => discovery::data_availability(ctx),
        Ep::Request => delivery::request(ctx),
        Ep::Status => delivery::status(ctx),
        Ep::Run => delivery::run(ctx),
        Ep::Download => download::download(ctx, fault == Some(FaultKind::Gone)).await,
        Ep::Cancel => delivery::cancel(ctx),
        Ep::Restart => delivery::restart(ctx),
        Ep::ScalarLocation => scalar::scalardata(ctx, true),
        Ep::ScalarDevice => scalar::scalardata(ctx, false),
        Ep::RawLocation => scalar::rawdata(ctx, true),
        Ep::RawDevice => scalar::rawdata(ctx, false),
        Ep::ArchiveLocation => listing::list(ctx, true).await,
        Ep::ArchiveDevice => listing::list(ctx, false).await,
        Ep::ArchiveDownload => listing::download(ctx).await,
    }
}

/// Resolves the endpoint of a request (or the error answer for a bad path/method).
fn resolve(path: &str, params: &Params) -> Result<(Ep, bool), ApiError> {
    if let Some(ep) = by_path(path) {
        // `method` is only tolerated on legacy paths; discovery paths double as legacy ones.
        if let Some(m) = params.get("method") {
            return match by_method(path, m)? {
                Some(legacy) => Ok((legacy, true)),
                None => Err(ApiError::unknown("method")),
            };
        }
        return Ok((ep, false));
    }
    match params.get("method") {
        Some(m) => match by_method(path, m)? {
            Some(ep) => Ok((ep, true)),
            None => Err(ApiError::plain(
                404,
                json!({"message": format!("No such service: /{path}")}),
            )),
        },
        None if by_method(path, "").is_err() => Err(ApiError::missing(&["method"])),
        None => Err(ApiError::plain(
            404,
            json!({"message": format!("No such service: /{path}")}),
        )),
    }
}

/// Answers an `ooi/…` request: fault, basic auth (M2M only), the OOI handler, latency.
async fn handle_ooi(
    sim: &Arc<Sim>,
    rest: &str,
    params: &Params,
    headers: &HeaderMap,
    entry: &mut LoggedRequest,
) -> (Reply, Option<FaultKind>) {
    let route = ooi::route(rest);
    entry.endpoint = route.name().to_string();
    let fault = sim.faults.decide(route.scope());
    entry.fault = fault.map(|f| f.to_string());
    let scale = sim.config.time_scale;
    let mut delay = route.latency() * scale;
    if let Some(FaultKind::Slow(s)) = fault {
        delay += s * scale;
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let user = if route.needs_auth() {
        ooi::authorized(sim, auth)
    } else {
        Some(String::new())
    };
    let reply = if let Some(FaultKind::Status(code)) = fault {
        Reply::json(code, json!({"message": status_text(code)}))
    } else if let Some(user) = user {
        ooi::serve(sim, route, params, &user, fault).await
    } else {
        ooi::unauthorized()
    };
    if let Body::File { data, .. } = &reply.body {
        delay += data.len() as f64 / 20e6 * scale;
    }
    if delay > 0.0 && delay.is_finite() {
        tokio::time::sleep(Duration::from_secs_f64(delay.min(3600.0))).await;
    }
    (reply, fault)
}

async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response<AxBody> {
    let arrived = sim.now();
    let path = uri.path().trim_matches('/').to_string();
    let params = Params::parse(uri.query());
    let head = method == Method::HEAD;
    let mut entry = LoggedRequest {
        time: arrived,
        method: method.to_string(),
        path: uri.path().to_string(),
        query: params.without(&["token"]).query_string(),
        status: 0,
        endpoint: String::new(),
        legacy: false,
        error_code: None,
        fault: None,
    };
    let scale = sim.config.time_scale;
    let (reply, fault) = if method != Method::GET && !head {
        (
            Reply::json(405, json!({"message": "Only GET and HEAD are supported"})),
            None,
        )
    } else if let Some(rest) = path.strip_prefix("ooi/") {
        handle_ooi(&sim, rest, &params, &headers, &mut entry).await
    } else if let Some(rest) = path.strip_prefix("ooi-raw/files/") {
        let internal = format!("{}{rest}", ooi::RAW_PREFIX);
        handle_ooi(&sim, &internal, &params, &headers, &mut entry).await
    } else {
        match resolve(&path, &params) {
            Err(e) => {
                entry.error_code = e.code();
                (Reply::from(e), None)
            }
            Ok((ep, legacy)) => {
                entry.endpoint = ep.name().to_string();
                entry.legacy = legacy;
                let token = params.get("token").unwrap_or("").to_string();
                let fault = sim.faults.decide(ep.scope());
                entry.fault = fault.map(|f| f.to_string());
                let (base, per_row) = ep.latency();
                let mut delay = base * scale;
                if let Some(FaultKind::Slow(s)) = fault {
                    delay += s * scale;
                }
                let reply = if let Some(FaultKind::Status(code)) = fault {
                    Reply::json(code, json!({"message": status_text(code)}))
                } else if !sim.config.tokens.contains(&token) {
                    let e = ApiError::unauthorized();
                    entry.error_code = e.code();
                    Reply::from(e)
                } else {
                    let ctx = Ctx {
                        sim: Arc::clone(&sim),
                        params,
                        path: path.clone(),
                    };
                    if fault == Some(FaultKind::RunError) {
                        delivery::fail_run(&ctx);
                    }
                    match dispatch(ep, &ctx, fault).await {
                        Ok(r) => r,
                        Err(e) => {
                            entry.error_code = e.code();
                            Reply::from(e)
                        }
                    }
                };
                delay += reply.rows as f64 * per_row * scale;
                if let Body::File { data, .. } = &reply.body {
                    delay += data.len() as f64 / 20e6 * scale;
                }
                if delay > 0.0 && delay.is_finite() {
                    tokio::time::sleep(Duration::from_secs_f64(delay.min(3600.0))).await;
                }
                (reply, fault)
            }
        }
    };
    entry.status = reply.status;
    sim.log.record(entry);
    to_response(reply, head, fault)
}

fn status_text(code: u16) -> &'static str {
    match code {
        500 => "Internal server error; retry later, maybe maintenance.",
        502 => "Bad gateway.",
        503 => "Service unavailable, we could be down for maintenance.",
        504 => "Gateway timeout.",
        429 => "Too many requests.",
        _ => "Error.",
    }
}

fn to_response(reply: Reply, head: bool, fault: Option<FaultKind>) -> Response<AxBody> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = Response::builder().status(status);
    let data: Bytes = match reply.body {
        Body::Json(v) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
        }
        Body::RawJson(s) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Bytes::from(s)
        }
        Body::File {
            data,
            content_type,
            filename,
        } => {
            b = b.header(header::CONTENT_TYPE, content_type);
            if let Some(name) = filename {
                b = b.header(
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename={name}"),
                );
            }
            data
        }
        Body::Empty => Bytes::new(),
    };
    b = b.header(header::CONTENT_LENGTH, data.len());
    let body = if head || data.is_empty() {
        AxBody::empty()
    } else {
        match fault {
            Some(kind @ (FaultKind::Reset | FaultKind::Truncate)) if data.len() >= 2 => {
                // Send half, give the transport time to flush it, then fail or end early.
                let half = data.slice(..data.len() / 2);
                let first = futures_util::stream::iter([Ok::<Bytes, std::io::Error>(half)]);
                let tail = futures_util::stream::once(async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if kind == FaultKind::Reset {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "simulated connection reset",
                        ))
                    } else {
                        Ok(Bytes::new())
                    }
                });
                AxBody::from_stream(first.chain(tail))
            }
            _ => AxBody::from(data),
        }
    };
    b.body(body)
        .unwrap_or_else(|_| Response::new(AxBody::empty()))
}
