//! The typed OOI M2M client: inventory (sites → nodes → sensors → methods → streams, each a
//! JSON list under `12576/sensor/inv/`), deployments (`12587/events/deployment/inv/`), the
//! asynchronous data request (the last inventory level with `beginDT`/`endDT`/`format`), the
//! `status.txt` completion check under the request's async-results folder, THREDDS catalog
//! crawling (XML first, HTML as a fallback; nested `catalogRef`s followed, each page once) and
//! file bodies from the THREDDS file server. M2M calls use HTTP basic auth; THREDDS and the
//! async-results folder are public and get no credentials.
//!
//! Must not know: the engine, ONC, files on disk.

use std::collections::HashSet;
use std::sync::{Arc, Once};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use reqwest::header::CONTENT_LENGTH;
use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::creds::Credentials;
use super::error::OoiError;
use super::refdes::{check_segment, RefDes};
use super::thredds::{join_url, parse_html, parse_xml, CatalogFile, CatalogPage};

/// OOI's M2M base URL.
pub const DEFAULT_M2M_BASE: &str = "https://ooinet.oceanobservatories.org/api/m2m/";

/// Largest JSON answer or catalog page read into memory.
const MAX_DOC_BYTES: usize = 64 << 20;
/// Most catalog pages one crawl reads (nested `catalogRef`s).
const MAX_CATALOG_PAGES: usize = 1000;

/// The answer to an asynchronous data request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AsyncRequest {
    /// The server's id of the request.
    #[serde(rename = "requestUUID")]
    pub request_uuid: String,
    /// The THREDDS catalog of the request (`…/catalog.html`).
    #[serde(rename = "outputURL", default)]
    pub output_url: String,
    /// `[0]` the THREDDS catalog, `[1]` the async-results folder.
    #[serde(rename = "allURLs", default)]
    pub all_urls: Vec<String>,
    /// The server's size estimate in bytes.
    #[serde(rename = "sizeCalculation", default)]
    pub size_calculation: Option<f64>,
    /// The server's time estimate in seconds.
    #[serde(rename = "timeCalculation", default)]
    pub time_calculation: Option<f64>,
}

impl AsyncRequest {
    /// The THREDDS catalog URL.
    pub fn catalog_url(&self) -> Option<&str> {
        self.all_urls
            .iter()
            .map(String::as_str)
            .find(|u| u.contains("/thredds/"))
            .or((!self.output_url.is_empty()).then_some(self.output_url.as_str()))
    }

    /// The async-results folder (where `status.txt` appears when the request is complete).
    pub fn async_url(&self) -> Option<&str> {
        self.all_urls
            .iter()
            .map(String::as_str)
            .find(|u| u.contains("async_results"))
    }

    /// The server's time estimate.
    pub fn estimate(&self) -> Option<Duration> {
        self.time_calculation
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s.min(1e7)).ok())
    }
}

/// One deployment record (the fields a researcher needs; times in UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// The deployment number.
    pub number: u32,
    /// Start of the deployment.
    pub start: Option<Timestamp>,
    /// End of the deployment (None: still deployed).
    pub stop: Option<Timestamp>,
    /// Latitude, longitude, depth (m), when given.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Depth in metres.
    pub depth: Option<f64>,
    /// The instrument's asset UID.
    pub asset_uid: Option<String>,
}

fn ms_time(v: &Value) -> Option<Timestamp> {
    v.as_f64()
        .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok())
}

impl Deployment {
    fn from_json(v: &Value) -> Option<Deployment> {
        let loc = v.get("location");
        let num = |k: &str| loc.and_then(|l| l.get(k)).and_then(Value::as_f64);
        Some(Deployment {
            number: u32::try_from(v.get("deploymentNumber")?.as_u64()?).ok()?,
            start: v.get("eventStartTime").and_then(ms_time),
            stop: v.get("eventStopTime").and_then(ms_time),
            latitude: num("latitude"),
            longitude: num("longitude"),
            depth: num("depth"),
            asset_uid: v
                .get("sensor")
                .and_then(|s| s.get("uid"))
                .and_then(Value::as_str)
                .map(String::from),
        })
    }
}

/// A file of a catalog with the URL to fetch it from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteFile {
    /// What the catalog says.
    pub file: CatalogFile,
    /// The THREDDS file-server URL.
    pub url: String,
}

/// A file being received from the THREDDS file server. Dropping it aborts the transfer.
#[derive(Debug)]
pub struct FileBody {
    response: Response,
    url: String,
    content_length: Option<u64>,
    received: u64,
}

impl FileBody {
    /// A body over an answer already checked for success.
    pub(super) fn from_response(response: Response, url: &str) -> FileBody {
        let content_length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        FileBody {
            response,
            url: url.to_string(),
            content_length,
            received: 0,
        }
    }

    /// `Content-Length`, if sent.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The URL being downloaded.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next chunk; `None` at the end. A body shorter than `Content-Length` is an error.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, OoiError> {
        match self.response.chunk().await {
            Ok(Some(b)) => {
                self.received += b.len() as u64;
                Ok(Some(b))
            }
            Ok(None) => match self.content_length {
                Some(expected) if expected != self.received => Err(OoiError::Truncated {
                    url: self.url.clone(),
                    expected,
                    received: self.received,
                }),
                _ => Ok(None),
            },
            Err(e) => Err(OoiError::Transport {
                url: self.url.clone(),
                message: e.to_string(),
            }),
        }
    }
}

/// The OOI client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    m2m: Arc<str>,
    creds: Credentials,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OoiClient")
            .field("m2m", &self.m2m)
            .field("creds", &self.creds)
            .finish()
    }
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The HTTP client every OOI client uses, and `base` checked (http/https) with a final `/`.
pub(super) fn http_for(what: &str, base: &str) -> Result<(reqwest::Client, String), OoiError> {
    install_crypto_provider();
    let b = base.trim();
    if !(b.starts_with("http://") || b.starts_with("https://")) {
        return Err(OoiError::invalid(
            what,
            format!("\"{b}\" must start with http:// or https://"),
        ));
    }
    let base = if b.ends_with('/') {
        b.to_string()
    } else {
        format!("{b}/")
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .user_agent(concat!("onc-hydro/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| OoiError::invalid("HTTP client", e.to_string()))?;
    Ok((http, base))
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ`, the form M2M takes for `beginDT`/`endDT`.
pub fn format_dt(ts: Timestamp) -> String {
    format!("{ts:.3}")
}

impl Client {
    /// A client for the M2M base `m2m_base` (e.g. [`DEFAULT_M2M_BASE`]).
    pub fn new(m2m_base: &str, creds: Credentials) -> Result<Client, OoiError> {
        let (http, base) = http_for("M2M base URL", m2m_base)?;
        Ok(Client {
            http,
            m2m: base.into(),
            creds,
        })
    }

    /// The M2M base URL.
    pub fn m2m_base(&self) -> &str {
        &self.m2m
    }

    /// The credentials (for redaction by callers).
    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    async fn send(&self, url: &str, auth: bool) -> Result<Response, OoiError> {
        let mut req = self.http.get(url);
        if auth {
            req = req.basic_auth(self.creds.username(), Some(self.creds.token()));
        }
        req.send().await.map_err(|e| OoiError::Transport {
            url: url.to_string(),
            message: self.creds.redact(&e.to_string()),
        })
    }

    async fn text(&self, url: &str, resp: Response) -> Result<String, OoiError> {
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_DOC_BYTES as u64)
        {
            return Err(OoiError::Decode {
                url: url.to_string(),
                message: format!("answer larger than {MAX_DOC_BYTES} bytes"),
            });
        }
        let mut resp = resp;
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(b)) => {
                    if buf.len() + b.len() > MAX_DOC_BYTES {
                        return Err(OoiError::Decode {
                            url: url.to_string(),
                            message: format!("answer larger than {MAX_DOC_BYTES} bytes"),
                        });
                    }
                    buf.extend_from_slice(&b);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(OoiError::Transport {
                        url: url.to_string(),
                        message: e.to_string(),
                    })
                }
            }
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Maps a non-2xx answer to its error.
    async fn check(&self, url: &str, resp: Response) -> Result<Response, OoiError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let url = url.to_string();
        if status == StatusCode::UNAUTHORIZED {
            return Err(OoiError::Unauthorized { url });
        }
        if status == StatusCode::NOT_FOUND {
            return Err(OoiError::NotFound { url });
        }
        let body = self.text(&url, resp).await.unwrap_or_default();
        let body = self.creds.redact(body.trim());
        if status == StatusCode::BAD_REQUEST {
            let message = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v.get("message").cloned())
                .map(|m| match m {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .unwrap_or(body);
            return Err(OoiError::Refused { url, message });
        }
        let body: String = body.chars().take(300).collect();
        Err(OoiError::Http {
            status: status.as_u16(),
            url,
            body,
        })
    }

    async fn get_json(&self, url: &str) -> Result<Value, OoiError> {
        let resp = self.send(url, true).await?;
        let resp = self.check(url, resp).await?;
        let text = self.text(url, resp).await?;
        serde_json::from_str(&text).map_err(|e| OoiError::Decode {
            url: url.to_string(),
            message: format!("not JSON: {e}"),
        })
    }

    async fn get_list(&self, path: &str) -> Result<Vec<String>, OoiError> {
        let url = format!("{}{path}", self.m2m);
        let v = self.get_json(&url).await?;
        let Value::Array(items) = v else {
            return Err(OoiError::Decode {
                url,
                message: "expected a JSON list".into(),
            });
        };
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect())
    }

    /// Every site, e.g. `RS03CCAL`.
    pub async fn sites(&self) -> Result<Vec<String>, OoiError> {
        self.get_list("12576/sensor/inv/").await
    }

    /// The nodes of a site.
    pub async fn nodes(&self, site: &str) -> Result<Vec<String>, OoiError> {
        check_segment("site", site)?;
        self.get_list(&format!("12576/sensor/inv/{site}")).await
    }

    /// The sensors (`port-instrument`) of a node.
    pub async fn sensors(&self, site: &str, node: &str) -> Result<Vec<String>, OoiError> {
        check_segment("site", site)?;
        check_segment("node", node)?;
        self.get_list(&format!("12576/sensor/inv/{site}/{node}"))
            .await
    }

    /// The delivery methods of an instrument (`streamed`, `telemetered`, `recovered_inst`, …).
    pub async fn methods(&self, r: &RefDes) -> Result<Vec<String>, OoiError> {
        self.get_list(&format!("12576/sensor/inv/{}", r.path()))
            .await
    }

    /// The streams of an instrument and delivery method.
    pub async fn streams(&self, r: &RefDes, method: &str) -> Result<Vec<String>, OoiError> {
        check_segment("method", method)?;
        self.get_list(&format!("12576/sensor/inv/{}/{method}", r.path()))
            .await
    }

    /// The deployment numbers of an instrument.
    pub async fn deployment_numbers(&self, r: &RefDes) -> Result<Vec<u32>, OoiError> {
        let list = self
            .get_list(&format!("12587/events/deployment/inv/{}", r.path()))
            .await?;
        Ok(list.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// The records of one deployment.
    pub async fn deployment(&self, r: &RefDes, number: u32) -> Result<Vec<Deployment>, OoiError> {
        let url = format!(
            "{}12587/events/deployment/inv/{}/{number}",
            self.m2m,
            r.path()
        );
        let v = self.get_json(&url).await?;
        let items = v.as_array().cloned().unwrap_or_default();
        Ok(items.iter().filter_map(Deployment::from_json).collect())
    }

    /// The URL of an asynchronous NetCDF request (no request is made).
    pub fn request_url(
        &self,
        r: &RefDes,
        method: &str,
        stream: &str,
        begin: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Result<String, OoiError> {
        check_segment("method", method)?;
        check_segment("stream", stream)?;
        let mut url = format!(
            "{}12576/sensor/inv/{}/{method}/{stream}?format=application/netcdf&include_provenance=true&include_annotations=true",
            self.m2m,
            r.path()
        );
        if let Some(b) = begin {
            url.push_str(&format!("&beginDT={}", format_dt(b)));
        }
        if let Some(e) = end {
            url.push_str(&format!("&endDT={}", format_dt(e)));
        }
        Ok(url)
    }

    /// Submits an asynchronous NetCDF request. Answers at once; the files appear later.
    pub async fn request(
        &self,
        r: &RefDes,
        method: &str,
        stream: &str,
        begin: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Result<AsyncRequest, OoiError> {
        let url = self.request_url(r, method, stream, begin, end)?;
        let v = self.get_json(&url).await?;
        let req: AsyncRequest = serde_json::from_value(v).map_err(|e| OoiError::Decode {
            url: url.clone(),
            message: format!("not a request answer (requestUUID, allURLs): {e}"),
        })?;
        if req.catalog_url().is_none() || req.async_url().is_none() {
            return Err(OoiError::Decode {
                url,
                message: "allURLs lacks the THREDDS catalog or the async_results folder".into(),
            });
        }
        Ok(req)
    }

    /// Whether `status.txt` exists in the async-results folder (the request is complete).
    pub async fn is_complete(&self, async_url: &str) -> Result<bool, OoiError> {
        let url = format!("{}/status.txt", async_url.trim_end_matches('/'));
        let resp = self.send(&url, false).await?;
        match self.check(&url, resp).await {
            Ok(_) => Ok(true),
            Err(OoiError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn page(&self, url: &str) -> Result<CatalogPage, OoiError> {
        let resp = self.send(url, false).await?;
        let resp = self.check(url, resp).await?;
        let text = self.text(url, resp).await?;
        let page = if url.ends_with(".html") {
            parse_html(&text)
        } else {
            parse_xml(&text)
        };
        if page.files.is_empty() && page.refs.is_empty() && !text.contains("catalog") {
            return Err(OoiError::Decode {
                url: url.to_string(),
                message: "not a THREDDS catalog".into(),
            });
        }
        Ok(page)
    }

    /// Every file of the catalog at `catalog_url` (`catalog.html` or `catalog.xml`), following
    /// nested `catalogRef`s, each page once. Reads the XML form; if that fails with 404, the
    /// HTML form.
    pub async fn catalog(&self, catalog_url: &str) -> Result<Vec<RemoteFile>, OoiError> {
        let xml_url = match catalog_url.strip_suffix(".html") {
            Some(stem) => format!("{stem}.xml"),
            None => catalog_url.to_string(),
        };
        let (start, html) = match self.page(&xml_url).await {
            Ok(_) => (xml_url, false),
            Err(OoiError::NotFound { .. }) if xml_url != catalog_url => {
                (catalog_url.to_string(), true)
            }
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        let mut seen_files = HashSet::new();
        let mut visited = HashSet::new();
        let mut queue = vec![start];
        while let Some(url) = queue.pop() {
            if !visited.insert(url.clone()) {
                continue;
            }
            if visited.len() > MAX_CATALOG_PAGES {
                return Err(OoiError::Decode {
                    url,
                    message: format!("more than {MAX_CATALOG_PAGES} nested catalogs"),
                });
            }
            let page = self.page(&url).await?;
            let base = page
                .file_server_base
                .clone()
                .unwrap_or_else(|| file_server_base_of(&url));
            let server = join_url(&url, &base);
            for f in page.files {
                if seen_files.insert(f.url_path.clone()) {
                    let url = format!("{}{}", server, f.url_path.trim_start_matches('/'));
                    out.push(RemoteFile { file: f, url });
                }
            }
            for r in page.refs {
                let next = join_url(&url, &r);
                let next = if html {
                    next
                } else {
                    next.replace("catalog.html", "catalog.xml")
                };
                queue.push(next);
            }
        }
        out.sort_by(|a, b| a.file.url_path.cmp(&b.file.url_path));
        Ok(out)
    }

    /// Starts downloading `url` from the THREDDS file server.
    pub async fn download(&self, url: &str) -> Result<FileBody, OoiError> {
        let resp = self.send(url, false).await?;
        let resp = self.check(url, resp).await?;
        Ok(FileBody::from_response(resp, url))
    }
}

/// `/…/thredds/fileServer/` for a catalog URL `…/thredds/catalog/…` (absolute path).
fn file_server_base_of(catalog_url: &str) -> String {
    let path_start = catalog_url
        .find("://")
        .and_then(|i| catalog_url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(0);
    let path = &catalog_url[path_start..];
    match path.find("/thredds/") {
        Some(i) => format!("{}/thredds/fileServer/", &path[..i]),
        None => "/thredds/fileServer/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_answer_and_urls() {
        let json = r#"{"requestUUID":"abc","outputURL":"https://h/thredds/catalog/ooi/u/r/catalog.html",
            "allURLs":["https://h/thredds/catalog/ooi/u/r/catalog.html","https://h/async_results/u/r"],
            "sizeCalculation":5548554,"timeCalculation":60,"numberOfSubJobs":2}"#;
        let r: AsyncRequest = serde_json::from_str(json).unwrap();
        assert_eq!(r.async_url(), Some("https://h/async_results/u/r"));
        assert!(r.catalog_url().unwrap().ends_with("catalog.html"));
        assert_eq!(r.estimate(), Some(Duration::from_secs(60)));
        assert_eq!(
            file_server_base_of("http://h:1/ooi/thredds/catalog/ooi/u/r/catalog.xml"),
            "/ooi/thredds/fileServer/"
        );
        let c = Client::new(
            "http://127.0.0.1:9/ooi/api/m2m",
            Credentials::new("u", "tok1").unwrap(),
        )
        .unwrap();
        let r = RefDes::parse("RS03CCAL-MJ03F-05-BOTPTA301").unwrap();
        let url = c
            .request_url(
                &r,
                "streamed",
                "botpt_nano_sample",
                Some(Timestamp::UNIX_EPOCH),
                None,
            )
            .unwrap();
        assert!(url.starts_with("http://127.0.0.1:9/ooi/api/m2m/12576/sensor/inv/RS03CCAL/MJ03F/05-BOTPTA301/streamed/botpt_nano_sample?"));
        assert!(url.contains("beginDT=1970-01-01T00:00:00.000Z") && !url.contains("tok1"));
        assert!(format!("{c:?}").contains("REDACTED"));
    }
}
