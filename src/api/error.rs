//! `ApiError`: everything that can go wrong talking to Oceans 3.0, typed so that callers can
//! tell transient failures (5xx, transport, truncated bodies) from permanent ones (ONC 400
//! errors, 401, 404, 410). Every URL and message stored here is already token-redacted.
//!
//! Must not know: retry policy (the engine decides what to do with a classification).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One entry of ONC's `{"errors": [...]}` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OncErrorItem {
    /// ONC's numeric error code (23, 25, 96, 127, 128, 129, …); 0 when absent.
    #[serde(rename = "errorCode", default, deserialize_with = "de_code")]
    pub error_code: i64,
    /// Human-readable text.
    #[serde(
        rename = "errorMessage",
        default,
        deserialize_with = "super::lenient::string_opt"
    )]
    pub error_message: Option<String>,
    /// The offending parameter name(s), comma- (or slash-) separated.
    #[serde(default, deserialize_with = "super::lenient::string_opt")]
    pub parameter: Option<String>,
}

fn de_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(super::lenient::i64_opt(d)?.unwrap_or(0))
}

impl OncErrorItem {
    /// The parameter names this error blames (split on `,` and `/`).
    pub fn parameters(&self) -> Vec<&str> {
        self.parameter
            .as_deref()
            .unwrap_or("")
            .split([',', '/'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
}

impl fmt::Display for OncErrorItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "API Error {}: {}",
            self.error_code,
            self.error_message.as_deref().unwrap_or("(no message)")
        )?;
        if let Some(p) = &self.parameter {
            write!(f, " (parameter: {p})")?;
        }
        Ok(())
    }
}

/// What kind of transport failure happened (no HTTP status was received, or the body broke).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Could not connect (refused, DNS, TLS).
    Connect,
    /// A connect, read or whole-request timeout.
    Timeout,
    /// The connection broke while the response body was being read.
    Body,
    /// A file body arrived slower than the client's minimum rate.
    TooSlow,
    /// Anything else reqwest reports.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "connection failed",
            TransportKind::Timeout => "timed out",
            TransportKind::Body => "connection broke while reading the body",
            TransportKind::TooSlow => "transfer too slow",
            TransportKind::Other => "request failed",
        })
    }
}

/// An error from the Oceans 3.0 client. URLs and messages never contain the token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// HTTP 400 with ONC's `errors` list (or another status carrying that list, except 401).
    #[error("HTTP {status} from {url}: {}", join_items(.errors))]
    Onc {
        /// The HTTP status, usually 400.
        status: u16,
        /// The request URL, token redacted.
        url: String,
        /// ONC's error items (code, message, parameter).
        errors: Vec<OncErrorItem>,
    },
    /// HTTP 400 whose body has no `errors` list (e.g. downloading a cancelled run).
    #[error("HTTP 400 from {url} without an ONC error list: {body}")]
    BadRequest {
        /// The request URL, token redacted.
        url: String,
        /// The body (trimmed, clipped to 600 bytes), token redacted.
        body: String,
    },
    /// HTTP 401: the token is missing or invalid.
    #[error("HTTP 401 Unauthorized from {url}: check that your Oceans 3.0 Web Services API token is valid{}", items_suffix(.errors))]
    Unauthorized {
        /// The request URL, token redacted.
        url: String,
        /// ONC's error items, if the body had any (e.g. 127 on `token`).
        errors: Vec<OncErrorItem>,
    },
    /// HTTP 404: nothing matched (discovery) or an index past the last file (download).
    #[error("HTTP 404 Not Found from {url}")]
    NotFound {
        /// The request URL, token redacted.
        url: String,
    },
    /// HTTP 410: the file is gone from ONC's file server (or not there yet).
    #[error("HTTP 410 Gone from {url}{}", msg_suffix(.message))]
    Gone {
        /// The request URL, token redacted.
        url: String,
        /// The body's `message`, when it had one.
        message: Option<String>,
    },
    /// Any other unexpected HTTP status (5xx, 403, 429, …).
    #[error("HTTP {status} from {url}{}", body_suffix(.body))]
    Http {
        /// The HTTP status.
        status: u16,
        /// The request URL, token redacted.
        url: String,
        /// The body (trimmed, clipped to 600 bytes), token redacted.
        body: String,
    },
    /// No response, or the connection broke mid-body.
    #[error("{kind} for {url}: {message}")]
    Transport {
        /// Which kind of failure.
        kind: TransportKind,
        /// The request URL, token redacted.
        url: String,
        /// The HTTP library's description, token redacted.
        message: String,
    },
    /// The body ended before `Content-Length` bytes arrived.
    #[error("truncated body from {url}: received {received} of {expected} bytes")]
    Truncated {
        /// The request URL, token redacted.
        url: String,
        /// Bytes announced by `Content-Length`.
        expected: u64,
        /// Bytes actually received.
        received: u64,
    },
    /// A JSON answer larger than the client accepts (refused unread when announced).
    #[error("the response from {url} is larger than the {} MiB limit{}", .limit >> 20, declared_suffix(.declared))]
    TooLarge {
        /// The request URL, token redacted.
        url: String,
        /// The client's limit in bytes.
        limit: u64,
        /// The size the server announced in `Content-Length`, if it did.
        declared: Option<u64>,
    },
    /// The response body could not be decoded as the expected JSON shape.
    #[error("cannot decode the response from {url}: {message}")]
    Decode {
        /// The request URL, token redacted.
        url: String,
        /// Why: serde's message (field and position), or a paging fault such as a repeated `next`.
        message: String,
    },
    /// The base URL is not usable.
    #[error("invalid base URL \"{url}\": {message}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        message: String,
    },
    /// A caller-side mistake detected before anything was sent.
    #[error("invalid {what}: {message}")]
    InvalidArgument {
        /// What was wrong, e.g. `dateFrom`.
        what: String,
        /// Why it is rejected.
        message: String,
    },
    /// Writing downloaded bytes to the caller's sink failed.
    #[error("cannot write the body of {url}: {source}")]
    Write {
        /// The request URL, token redacted.
        url: String,
        /// The I/O error of the sink.
        #[source]
        source: std::io::Error,
    },
}

fn join_items(items: &[OncErrorItem]) -> String {
    if items.is_empty() {
        return "(empty error list)".to_string();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn items_suffix(items: &[OncErrorItem]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" ({})", join_items(items))
    }
}

fn msg_suffix(m: &Option<String>) -> String {
    match m {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

fn declared_suffix(d: &Option<u64>) -> String {
    match d {
        Some(n) => format!(" (Content-Length {n})"),
        None => String::new(),
    }
}

fn body_suffix(b: &str) -> String {
    if b.is_empty() {
        String::new()
    } else {
        format!(": {b}")
    }
}

impl ApiError {
    /// The HTTP status, when one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Onc { status, .. } | ApiError::Http { status, .. } => Some(*status),
            ApiError::BadRequest { .. } => Some(400),
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Gone { .. } => Some(410),
            _ => None,
        }
    }

    /// ONC's error items (empty unless the body carried an `errors` list).
    pub fn onc_errors(&self) -> &[OncErrorItem] {
        match self {
            ApiError::Onc { errors, .. } | ApiError::Unauthorized { errors, .. } => errors,
            _ => &[],
        }
    }

    /// ONC's error codes, e.g. `[127]`.
    pub fn onc_codes(&self) -> Vec<i64> {
        self.onc_errors().iter().map(|e| e.error_code).collect()
    }

    /// True when ONC reported `code` among its errors.
    pub fn has_onc_code(&self, code: i64) -> bool {
        self.onc_errors().iter().any(|e| e.error_code == code)
    }

    /// Connection, timeout or mid-body failures (no usable HTTP answer).
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            ApiError::Transport { .. } | ApiError::Truncated { .. }
        )
    }

    /// The body ended early.
    pub fn is_truncated(&self) -> bool {
        matches!(self, ApiError::Truncated { .. })
    }

    /// A timeout of any kind (a body slower than the minimum rate included).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            ApiError::Transport {
                kind: TransportKind::Timeout | TransportKind::TooSlow,
                ..
            }
        )
    }

    /// 401: the token is wrong; retrying will not help.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Unauthorized { .. })
    }

    /// 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// 5xx, 408 or 429 answers.
    pub fn is_server_error(&self) -> bool {
        matches!(self.status(), Some(s) if s >= 500 || s == 408 || s == 429)
    }

    /// Worth retrying later: transport failures, truncated bodies, 5xx/408/429 answers.
    /// ONC 400 errors, 400 without errors, 401, 404 and 410 are not.
    pub fn is_transient(&self) -> bool {
        self.is_transport() || self.is_server_error()
    }

    /// The (redacted) URL the error is about, if any.
    pub fn url(&self) -> Option<&str> {
        match self {
            ApiError::Onc { url, .. }
            | ApiError::BadRequest { url, .. }
            | ApiError::Unauthorized { url, .. }
            | ApiError::NotFound { url }
            | ApiError::Gone { url, .. }
            | ApiError::Http { url, .. }
            | ApiError::Transport { url, .. }
            | ApiError::Truncated { url, .. }
            | ApiError::Decode { url, .. }
            | ApiError::TooLarge { url, .. }
            | ApiError::Write { url, .. } => Some(url),
            ApiError::BaseUrl { .. } | ApiError::InvalidArgument { .. } => None,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::InvalidArgument {
            what: what.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onc_error_items_display_like_the_python_client() {
        let body = r#"{"errors":[{"errorCode":127,"errorMessage":"bad code","parameter":"locationCode,deviceCategoryCode"}]}"#;
        #[derive(Deserialize)]
        struct B {
            errors: Vec<OncErrorItem>,
        }
        let b: B = serde_json::from_str(body).unwrap();
        assert_eq!(
            b.errors[0].to_string(),
            "API Error 127: bad code (parameter: locationCode,deviceCategoryCode)"
        );
        assert_eq!(
            b.errors[0].parameters(),
            vec!["locationCode", "deviceCategoryCode"]
        );
        let e = ApiError::Onc {
            status: 400,
            url: "u".into(),
            errors: b.errors,
        };
        assert_eq!(e.onc_codes(), vec![127]);
        assert!(e.has_onc_code(127));
        assert!(!e.is_transient());
        assert_eq!(e.status(), Some(400));
    }

    #[test]
    fn classification_transient_vs_permanent() {
        let http = |status| ApiError::Http {
            status,
            url: "u".into(),
            body: String::new(),
        };
        assert!(http(503).is_transient());
        assert!(http(500).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(403).is_transient());
        let t = ApiError::Truncated {
            url: "u".into(),
            expected: 10,
            received: 3,
        };
        assert!(t.is_transient() && t.is_truncated() && t.is_transport());
        let gone = ApiError::Gone {
            url: "u".into(),
            message: None,
        };
        assert!(!gone.is_transient());
        assert_eq!(gone.status(), Some(410));
    }
}
