//! The Oceans 3.0 wire types and async HTTP client (discovery, dataProductDelivery, archivefile,
//! scalar/raw data), paging, typed `ApiError`, token redaction and ONC's time format.
//!
//! Must not know: hydrophones, windows, files on disk beyond "write these bytes".

mod redact;

pub use redact::{redact, REDACTED};
