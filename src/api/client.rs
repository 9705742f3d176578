//! The HTTP core of the Oceans 3.0 client: base URL and token, path-style URLs
//! (`<base>api/<service>?…&token=…`), ordered query parameters, status → [`ApiError`] mapping,
//! tolerant JSON decoding with a size cap, and `next`-following pagination. Politeness shared
//! by every clone of a client: a `Retry-After` on a 429/503 pauses *all* its requests (every
//! task, every endpoint) until the time the server named. Service methods live in sibling
//! files (`discovery`, `delivery`, `archive`, `data`) as further `impl Client` blocks.
//!
//! Must not know: what the services mean, retry policy, files on disk.

use std::collections::HashSet;
use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT_ENCODING};
use reqwest::{Method, Response, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::{ApiError, OncErrorItem, TransportKind};
use super::lenient;
use super::redact::redact;

/// Longest server body quoted in an error message.
const MAX_BODY_IN_ERROR: usize = 600;
/// Safety stop for `next` chains.
const MAX_PAGES: u32 = 100_000;
/// Most of an error or status body read (the rest is left unread).
const MAX_SMALL_BODY: usize = 64 << 10;
/// Largest JSON body accepted by default: 64 MiB, ~30× ONC's largest real answer (the full
/// `devices` catalogue, 2.2 MB).
pub const MAX_JSON_BYTES: u64 = 64 << 20;

/// Connection settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request deadline for JSON calls (ONC's own clients use 60 s).
    pub timeout: Duration,
    /// Deadline for establishing a connection.
    pub connect_timeout: Duration,
    /// Longest silence while streaming a file body (downloads have no whole-request deadline).
    pub read_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Largest JSON body accepted ([`MAX_JSON_BYTES`]); a bigger one is refused unread.
    pub max_json_bytes: u64,
    /// Slowest acceptable file transfer, in bytes per second averaged over `rate_window`
    /// (0: no minimum). A slower body fails as a timeout and is retried.
    pub min_rate: u64,
    /// The window over which `min_rate` is measured.
    pub rate_window: Duration,
    /// Longest pause a server's `Retry-After` can impose.
    pub max_retry_after: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            user_agent: format!("onc-hydro/{}", env!("CARGO_PKG_VERSION")),
            max_json_bytes: MAX_JSON_BYTES,
            min_rate: 1024,
            rate_window: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// Ordered query parameters (ONC filters, `dpo_*` options, paging keys). Never holds `token`:
/// the client adds it when sending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params(Vec::new())
    }

    /// Builder form of [`Params::set`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Params {
        self.set(key, value);
        self
    }

    /// Sets `key` (replacing an earlier value, keeping its position). `token` is ignored.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        if key == "token" {
            return;
        }
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }

    /// Sets `key` only when `value` is `Some`.
    pub fn set_opt(&mut self, key: &str, value: Option<impl Into<String>>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `next` with the keys this set already has first, in this set's order (JSON objects
    /// lose parameter order); keys only in `next` follow.
    pub fn reordered_like(&self, next: Params) -> Params {
        let mut out = Params::new();
        for (k, _) in self.iter() {
            if let Some(v) = next.get(k) {
                out.set(k, v);
            }
        }
        for (k, v) in next.iter() {
            if out.get(k).is_none() {
                out.set(k, v);
            }
        }
        out
    }

    /// The parameters of a `next.parameters` object, minus `token`.
    pub fn from_json_object(map: &Map<String, Value>) -> Params {
        let mut p = Params::new();
        for (k, v) in map {
            if let Some(v) = lenient::value_to_param(v) {
                p.set(k.as_str(), v);
            }
        }
        p
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.set(k, v);
        }
        p
    }
}

/// An Oceans 3.0 client. Cheap to clone (shared connection pool).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    token: String,
    options: ClientOptions,
    /// No request leaves before this instant (set from `Retry-After`).
    pause_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("token", &super::REDACTED)
            .finish()
    }
}

/// Installs rustls' ring crypto provider once (reqwest is built without a provider).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Client {
    /// A client for `base_url` (e.g. `https://data.oceannetworks.ca/`) with default options.
    pub fn new(base_url: &str, token: &str) -> Result<Client, ApiError> {
        Client::with_options(base_url, token, ClientOptions::default())
    }

    /// A client with explicit [`ClientOptions`].
    pub fn with_options(
        base_url: &str,
        token: &str,
        options: ClientOptions,
    ) -> Result<Client, ApiError> {
        install_crypto_provider();
        let token: String = token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let base = normalize_base(base_url, &token)?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(options.user_agent.clone())
            .build()
            .map_err(|e| ApiError::BaseUrl {
                url: redact(base_url, &token),
                message: format!("cannot build the HTTP client: {}", error_chain(&e, &token)),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token,
                options,
                pause_until: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The base URL (ends with `/`; the API lives under `api/`).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// The options in use.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// Removes the token (and any `token=` value) from `text`.
    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.inner.token)
    }

    /// The full URL for `service` with `params` and the token (secret: never show it).
    pub(crate) fn service_url(&self, service: &str, params: &Params) -> Result<Url, ApiError> {
        let mut url = self
            .inner
            .base
            .join(&format!("api/{service}"))
            .map_err(|e| ApiError::BaseUrl {
                url: self.redact(self.inner.base.as_str()),
                message: e.to_string(),
            })?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params.iter() {
                q.append_pair(k, v);
            }
            q.append_pair("token", &self.inner.token);
        }
        Ok(url)
    }

    /// The URL of `service` with `params`, token redacted: safe to show.
    pub fn display_url(&self, service: &str, params: &Params) -> String {
        match self.service_url(service, params) {
            Ok(u) => self.redact(u.as_str()),
            Err(e) => e.to_string(),
        }
    }

    /// Sends one request; returns the response whatever its status, plus the redacted URL.
    /// `file` requests ask for identity encoding and have no whole-request deadline.
    pub(crate) async fn send(
        &self,
        method: Method,
        service: &str,
        params: &Params,
        file: bool,
    ) -> Result<(Response, String), ApiError> {
        let url = self.service_url(service, params)?;
        let shown = self.redact(url.as_str());
        self.wait_out_pause().await;
        let mut req = self.inner.http.request(method.clone(), url);
        if file {
            req = req.header(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        } else {
            req = req.timeout(self.inner.options.timeout);
        }
        match req.send().await {
            Ok(resp) => {
                tracing::debug!(target: "onc_hydro::api", "{method} {shown} -> {}", resp.status().as_u16());
                self.note_retry_after(&resp);
                Ok((resp, shown))
            }
            Err(e) => {
                tracing::debug!(target: "onc_hydro::api", "{method} {shown} failed");
                Err(self.transport_error(&e, &shown))
            }
        }
    }

    /// Sleeps while a server-imposed pause is in force.
    async fn wait_out_pause(&self) {
        loop {
            let until = *self
                .inner
                .pause_until
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match until {
                Some(t) if t > tokio::time::Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// A 429 or 503 with `Retry-After` pauses every request of this client (all clones).
    fn note_retry_after(&self, resp: &Response) {
        if !matches!(resp.status().as_u16(), 429 | 503) {
            return;
        }
        let Some(wait) = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
        else {
            return;
        };
        let wait = wait.min(self.inner.options.max_retry_after);
        let until = tokio::time::Instant::now() + wait;
        let mut slot = self
            .inner
            .pause_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none_or(|t| t < until) {
            *slot = Some(until);
        }
        tracing::info!(target: "onc_hydro::api", "the server asked to wait {wait:?} (Retry-After); pausing all requests");
    }

    /// Reads a body of at most `limit` bytes: refused unread when `Content-Length` says more,
    /// stopped as soon as more arrives.
    async fn read_capped(
        &self,
        mut resp: Response,
        shown_url: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ApiError> {
        let too_large = |declared| ApiError::TooLarge {
            url: shown_url.to_string(),
            limit,
            declared,
        };
        if let Some(n) = resp.content_length().filter(|n| *n > limit) {
            return Err(too_large(Some(n)));
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e, shown_url))?
        {
            if (out.len() + chunk.len()) as u64 > limit {
                return Err(too_large(None));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The start of a small (status, error) body as text, at most 64 KiB; never fails.
    pub(crate) async fn small_text(&self, mut resp: Response) -> String {
        let mut out: Vec<u8> = Vec::new();
        while out.len() < MAX_SMALL_BODY {
            match resp.chunk().await {
                Ok(Some(c)) => out.extend_from_slice(&c[..c.len().min(MAX_SMALL_BODY - out.len())]),
                _ => break,
            }
        }
        self.redact(&String::from_utf8_lossy(&out))
    }

    /// Maps a reqwest failure to [`ApiError::Transport`] with a redacted message.
    pub(crate) fn transport_error(&self, e: &reqwest::Error, shown_url: &str) -> ApiError {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else if e.is_body() || e.is_decode() {
            TransportKind::Body
        } else {
            TransportKind::Other
        };
        ApiError::Transport {
            kind,
            url: shown_url.to_string(),
            message: error_chain(e, &self.inner.token),
        }
    }

    /// Reads an unsuccessful response into the matching [`ApiError`].
    pub(crate) async fn status_error(&self, resp: Response, shown_url: &str) -> ApiError {
        let status = resp.status().as_u16();
        let body = self.small_text(resp).await;
        let url = shown_url.to_string();
        let errors = parse_error_items(&body);
        match status {
            400 => match errors {
                Some(errors) => ApiError::Onc {
                    status,
                    url,
                    errors,
                },
                None => ApiError::BadRequest {
                    url,
                    body: clip(&body),
                },
            },
            401 => ApiError::Unauthorized {
                url,
                errors: errors.unwrap_or_default(),
            },
            404 => ApiError::NotFound { url },
            410 => ApiError::Gone {
                url,
                message: json_message(&body).or_else(|| non_empty(clip(&body))),
            },
            _ => match errors {
                Some(errors) if status < 500 && !errors.is_empty() => ApiError::Onc {
                    status,
                    url,
                    errors,
                },
                _ => ApiError::Http {
                    status,
                    url,
                    body: clip(&body),
                },
            },
        }
    }

    /// GET `service` and decode a 200/202 JSON body (after redaction and NaN repair). Any other
    /// status becomes an error. Returns the status too.
    pub(crate) async fn get_json_status<T: DeserializeOwned>(
        &self,
        service: &str,
        params: &Params,
    ) -> Result<(u16, T), ApiError> {
        let (resp, shown) = self.send(Method::GET, service, params, false).await?;
        let status = resp.status().as_u16();
        if !(status == 200 || status == 202) {
            return Err(self.status_error(resp, &shown).await);
        }
        let bytes = self
            .read_capped(resp, &shown, self.inner.options.max_json_bytes)
            .await?;
        let value = self.decode::<T>(&String::from_utf8_lossy(&bytes), &shown)?;
        Ok((status, value))
    }

    /// GET `service` and decode its JSON body.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        service: &str,
        params: &Params,
    ) -> Result<T, ApiError> {
        Ok(self.get_json_status(service, params).await?.1)
    }

    /// Decodes a JSON body: redacts the token, rewrites bare NaN, then serde.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        text: &str,
        shown_url: &str,
    ) -> Result<T, ApiError> {
        let clean = self.redact(text);
        let fixed = lenient::nan_to_null(&clean);
        serde_json::from_str::<T>(&fixed).map_err(|e| ApiError::Decode {
            url: shown_url.to_string(),
            message: e.to_string(),
        })
    }

    /// Follows `next` from `first`, handing each decoded page to `each`. Returns the page count.
    pub(crate) async fn for_each_page<T, F>(
        &self,
        service: &str,
        first: &Params,
        mut each: F,
    ) -> Result<u32, ApiError>
    where
        T: DeserializeOwned + Paged,
        F: FnMut(T) -> Result<(), ApiError>,
    {
        let mut params = first.clone();
        let mut seen: HashSet<Vec<(String, String)>> = HashSet::new();
        let mut pages = 0u32;
        loop {
            let page: T = self.get_json(service, &params).await?;
            pages += 1;
            let next = page.next_params();
            each(page)?;
            let Some(next) = next else {
                return Ok(pages);
            };
            let next = params.reordered_like(next);
            let mut key = next.0.clone();
            key.sort();
            if !seen.insert(key) || next == params || pages >= MAX_PAGES {
                return Err(ApiError::Decode {
                    url: self.display_url(service, &next),
                    message: "the server's `next` repeats an earlier page; stopping".into(),
                });
            }
            params = next;
        }
    }
}

/// A paged response: knows its `next` link.
pub(crate) trait Paged {
    /// Parameters for the next page, or `None` at the end.
    fn next_params(&self) -> Option<Params>;
}

/// Reads `next` (`{"parameters": {...}, "url": "..."}` or null) into parameters without `token`.
pub(crate) fn next_params(next: &Option<Value>) -> Option<Params> {
    let obj = next.as_ref()?.as_object()?;
    if let Some(map) = obj.get("parameters").and_then(Value::as_object) {
        let mut p = Params::from_json_object(map);
        p.remove("method");
        return Some(p);
    }
    let url = obj.get("url").and_then(Value::as_str)?;
    let parsed = Url::parse(url).ok()?;
    let mut p: Params = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    p.remove("token");
    p.remove("method");
    Some(p)
}

#[derive(Deserialize)]
struct ErrorBody {
    errors: Option<Vec<OncErrorItem>>,
}

/// `Some(items)` when the body is JSON with an `errors` array.
fn parse_error_items(body: &str) -> Option<Vec<OncErrorItem>> {
    serde_json::from_str::<ErrorBody>(body).ok()?.errors
}

/// The `message` member of a JSON body.
pub(crate) fn json_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("message").and_then(Value::as_str).map(str::to_string)
}

/// `Retry-After`: delay-seconds (fractions tolerated) or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(secs.max(0.0)).ok();
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let secs = at.duration_since(jiff::Timestamp::now()).as_secs_f64();
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

fn non_empty(s: String) -> Option<String> {
    if s.trim().is_empty() {
        None
    } else {
        Some(s)
    }
}

fn clip(body: &str) -> String {
    let t = body.trim();
    if t.len() <= MAX_BODY_IN_ERROR {
        return t.to_string();
    }
    let mut end = MAX_BODY_IN_ERROR;
    while !t.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &t[..end])
}

/// The error and its causes, joined, without URLs, token-redacted.
fn error_chain(e: &(dyn std::error::Error + 'static), token: &str) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        src = s.source();
    }
    redact(&parts.join(": "), token)
}

fn normalize_base(base_url: &str, token: &str) -> Result<Url, ApiError> {
    let bad = |message: String| ApiError::BaseUrl {
        url: redact(base_url, token),
        message,
    };
    let mut url = Url::parse(base_url.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https".into()));
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut path = url.path().to_string();
    if !path.ends_with('/') {
        path.push('/');
    }
    if path.ends_with("/api/") {
        path.truncate(path.len() - "api/".len());
    }
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_path_style_with_the_token_last_and_shown_redacted() {
        let c = Client::new("https://data.oceannetworks.ca", "abcd-1234-secret").unwrap();
        let p = Params::new()
            .with("locationCode", "BACCC.A1")
            .with("dateFrom", "2024-01-01T00:00:00.000Z");
        let u = c.service_url("locations/tree", &p).unwrap();
        assert_eq!(
            u.as_str(),
            "https://data.oceannetworks.ca/api/locations/tree?locationCode=BACCC.A1&dateFrom=2024-01-01T00%3A00%3A00.000Z&token=abcd-1234-secret"
        );
        let shown = c.display_url("locations/tree", &p);
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.ends_with("token=REDACTED"), "{shown}");
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn base_url_variants_normalise() {
        for b in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/api/",
        ] {
            let c = Client::new(b, "t").unwrap();
            assert_eq!(c.base_url(), "http://127.0.0.1:8080/");
        }
        let c = Client::new("https://host/prefix", "t").unwrap();
        assert_eq!(c.base_url(), "https://host/prefix/");
        assert!(matches!(
            Client::new("ftp://x/", "t"),
            Err(ApiError::BaseUrl { .. })
        ));
        assert!(Client::new("not a url", "t").is_err());
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(90);
        let text = jiff::fmt::rfc2822::to_string(&later.to_zoned(jiff::tz::TimeZone::UTC)).unwrap();
        let d = parse_retry_after(&text).unwrap().as_secs_f64();
        assert!((85.0..=90.0).contains(&d), "{d} from {text}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn params_never_hold_the_token_and_keep_order() {
        let mut p = Params::new()
            .with("b", "1")
            .with("a", "2")
            .with("token", "x");
        p.set("b", "3");
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("b", "3"), ("a", "2")]);
        assert_eq!(p.get("token"), None);
    }

    #[test]
    fn next_parameters_drop_token_and_keep_page() {
        let next: Option<Value> = Some(serde_json::json!({
            "parameters": {"deviceCode": "X", "page": "2", "token": "REDACTED", "rowLimit": 2},
            "url": "https://x/api/archivefile/device?deviceCode=X&page=2&token=REDACTED"
        }));
        let p = next_params(&next).unwrap();
        assert_eq!(p.get("page"), Some("2"));
        assert_eq!(p.get("rowLimit"), Some("2"));
        assert_eq!(p.get("token"), None);
        let url_only: Option<Value> = Some(serde_json::json!({
            "url": "https://x/api/scalardata/device?deviceCode=X&dateFrom=2017-01-20T06%3A56%3A40.016Z&token=abc"
        }));
        let p = next_params(&url_only).unwrap();
        assert_eq!(p.get("dateFrom"), Some("2017-01-20T06:56:40.016Z"));
        assert_eq!(p.get("token"), None);
        assert!(next_params(&Some(Value::Null)).is_none());
        assert!(next_params(&None).is_none());
    }
}
