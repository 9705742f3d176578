//! Errors of the `dsp` module: invalid parameters or calibration tables (never the data).
//!
//! Must not know: files (a calibration error names the table line, the caller adds the path).

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

/// Errors from invalid parameters (never from data).
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("invalid STFT parameter {field}: {reason}")]
    InvalidParam { field: &'static str, reason: String },
    #[error("invalid calibration table, line {line}: {reason}")]
    Calibration { line: usize, reason: String },
}
