//! `OoiError`: everything that can go wrong talking to OOI's M2M service, THREDDS and the
//! async-results folder, typed so the engine can tell transient failures (5xx, 429, transport,
//! truncated bodies) from permanent ones (400 refusals, 404) and fatal ones (401). URLs and
//! messages stored here never contain the API token.
//!
//! Must not know: retry policy.

/// An error from the OOI client. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum OoiError {
    /// HTTP 401: the API username/token pair was refused.
    #[error("HTTP 401 Unauthorized from {url}: check your OOI API username and token (ooinet.oceanobservatories.org → your profile)")]
    Unauthorized {
        /// The URL asked.
        url: String,
    },
    /// The request was refused (HTTP 400 with M2M's JSON message, e.g. "too large").
    #[error("OOI refused the request {url}: {message}")]
    Refused {
        /// The URL asked.
        url: String,
        /// The server's message.
        message: String,
    },
    /// HTTP 404.
    #[error("HTTP 404 Not Found from {url}")]
    NotFound {
        /// The URL asked.
        url: String,
    },
    /// Any other unexpected HTTP status.
    #[error("HTTP {status} from {url}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Http {
        /// The status.
        status: u16,
        /// The URL asked.
        url: String,
        /// The start of the body.
        body: String,
    },
    /// No response, or the connection broke mid-body.
    #[error("transport failure for {url}: {message}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What reqwest said.
        message: String,
    },
    /// The body ended before `Content-Length` bytes arrived.
    #[error("truncated body from {url}: received {received} of {expected} bytes")]
    Truncated {
        /// The URL asked.
        url: String,
        /// Announced length.
        expected: u64,
        /// Bytes that arrived.
        received: u64,
    },
    /// The answer was not what the service sends (JSON or catalog XML that does not parse).
    #[error("cannot read the answer of {url}: {message}")]
    Decode {
        /// The URL asked.
        url: String,
        /// What was wrong, naming the field.
        message: String,
    },
    /// A bad argument (reference designator, time, URL), named.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// The argument.
        what: String,
        /// Why.
        message: String,
    },
    /// Credentials missing or unreadable.
    #[error("OOI credentials: {0}")]
    Credentials(String),
}

impl OoiError {
    /// Worth another attempt: 5xx, 429, 408, transport failures, truncated or undecodable
    /// bodies (a proxy or maintenance page).
    pub fn is_transient(&self) -> bool {
        match self {
            OoiError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            OoiError::Transport { .. } | OoiError::Truncated { .. } | OoiError::Decode { .. } => {
                true
            }
            _ => false,
        }
    }

    /// The credentials were refused: nothing else can succeed.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, OoiError::Unauthorized { .. })
    }

    pub(crate) fn invalid(what: &str, message: impl Into<String>) -> OoiError {
        OoiError::Invalid {
            what: what.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let http = |status| OoiError::Http {
            status,
            url: "u".into(),
            body: String::new(),
        };
        assert!(http(503).is_transient() && http(429).is_transient());
        assert!(!http(403).is_transient());
        assert!(OoiError::Unauthorized { url: "u".into() }.is_unauthorized());
        let refused = OoiError::Refused {
            url: "u".into(),
            message: "too large".into(),
        };
        assert!(!refused.is_transient() && refused.to_string().contains("too large"));
    }
}
