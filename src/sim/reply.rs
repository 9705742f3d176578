//! What a simulated endpoint answers, independent of axum: a status, a body (JSON, raw JSON
//! text, file bytes, or nothing) and the extra work it represents (rows listed, for the latency
//! model). Also the Oceans 3.0 error shapes: `{"errors":[{errorCode, errorMessage, parameter}]}`
//! with codes 23/25/96/127/128/129, 401, discovery 404, and the odd 400 without `errors`.
//!
//! Must not know: axum, the catalog, job state.

use bytes::Bytes;
use serde_json::{json, Value};

/// A response body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Json(Value),
    /// Already-serialised JSON (used where bare `NaN` tokens must survive).
    RawJson(String),
    /// A file: bytes, content type, and the `Content-Disposition` file name (if any).
    File {
        data: Bytes,
        content_type: &'static str,
        filename: Option<String>,
    },
    Empty,
}

/// A simulated response.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Body,
    /// Rows produced (archive listing rows, scalar samples), for the latency model.
    pub rows: usize,
}

impl Reply {
    pub(crate) fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            body: Body::Json(v),
            rows: 0,
        }
    }

    pub(crate) fn ok(v: Value) -> Reply {
        Reply::json(200, v)
    }

    pub(crate) fn with_rows(mut self, rows: usize) -> Reply {
        self.rows = rows;
        self
    }

    pub(crate) fn file(data: Bytes, content_type: &'static str, filename: Option<String>) -> Reply {
        Reply {
            status: 200,
            body: Body::File {
                data,
                content_type,
                filename,
            },
            rows: 0,
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Body::Empty,
            rows: 0,
        }
    }
}

/// Oceans 3.0 error codes the simulator emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorCode {
    /// dateFrom after dateTo.
    InvalidTimeRange = 23,
    /// dateFrom in the future.
    FutureStart = 25,
    /// Archive file name not found.
    ArchiveFileNotFound = 96,
    /// Invalid parameter value (unknown code, no deployment, product not offered, bad id).
    InvalidValue = 127,
    /// Missing parameter(s).
    Missing = 128,
    /// Unknown parameter name.
    UnknownParameter = 129,
}

/// An error answer (4xx) in ONC's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub body: Value,
}

impl ApiError {
    pub(crate) fn bad(
        code: ErrorCode,
        message: impl Into<String>,
        parameter: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status: 400,
            body: json!({"errors": [{
                "errorCode": code as u16,
                "errorMessage": message.into(),
                "parameter": parameter.into(),
            }]}),
        }
    }

    /// 400/127 for a parameter value.
    pub(crate) fn invalid(parameter: &str, message: impl Into<String>) -> ApiError {
        ApiError::bad(ErrorCode::InvalidValue, message, parameter)
    }

    /// 400/128 for missing parameters (several names joined with `,`).
    pub(crate) fn missing(parameters: &[&str]) -> ApiError {
        let joined = parameters.join(",");
        ApiError::bad(
            ErrorCode::Missing,
            format!("Missing parameter(s): {}", parameters.join(", ")),
            joined,
        )
    }

    /// 400/129 for an unknown parameter name.
    pub(crate) fn unknown(parameter: &str) -> ApiError {
        ApiError::bad(
            ErrorCode::UnknownParameter,
            format!("Invalid parameter name: {parameter}"),
            parameter,
        )
    }

    /// 401 for a missing or unknown token, with the body the real service sends (issue 9):
    /// error code 127 "Invalid parameter value" naming `token`.
    pub(crate) fn unauthorized() -> ApiError {
        ApiError {
            status: 401,
            body: json!({"errors": [{
                "errorCode": 127,
                "errorMessage": "Invalid parameter value",
                "parameter": "token",
            }]}),
        }
    }

    /// Discovery found nothing: 404. ONC's body is unknown [?]; the `errors` shape is kept.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: 404,
            body: json!({"errors": [{
                "errorCode": 404,
                "errorMessage": message.into(),
                "parameter": Value::Null,
            }]}),
        }
    }

    /// A non-`errors` body with any status (download after cancel, 404/410 on downloads).
    pub(crate) fn plain(status: u16, body: Value) -> ApiError {
        ApiError { status, body }
    }

    /// The first error code, if the body has the `errors` shape (for the request log).
    pub(crate) fn code(&self) -> Option<u64> {
        self.body
            .get("errors")
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("errorCode"))
            .and_then(Value::as_u64)
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        Reply::json(e.status, e.body)
    }
}

/// Formats a byte count as ONC's estimate strings do: "151 kB", "48 MB".
pub(crate) fn fmt_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{} {}", v.round() as u64, UNITS[u])
}

/// Formats seconds as ONC's estimate strings: "<int> s", "<int> min" or "<int> hour".
pub(crate) fn fmt_duration(secs: f64) -> String {
    let s = secs.max(1.0);
    if s < 120.0 {
        format!("{} s", s.round() as u64)
    } else if s < 2.0 * 3600.0 {
        format!("{} min", (s / 60.0).round() as u64)
    } else {
        format!("{} hour", (s / 3600.0).round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_strings() {
        assert_eq!(fmt_size(151_000), "151 kB");
        assert_eq!(fmt_size(48_200_000), "48 MB");
        assert_eq!(fmt_size(12), "12 B");
        assert_eq!(fmt_duration(20.2), "20 s");
        assert_eq!(fmt_duration(150.0), "3 min");
        assert_eq!(fmt_duration(3.0 * 3600.0), "3 hour");
    }

    #[test]
    fn error_shape() {
        let e = ApiError::missing(&["filename"]);
        assert_eq!(e.status, 400);
        assert_eq!(e.code(), Some(128));
        assert_eq!(e.body["errors"][0]["parameter"], "filename");
    }
}
