//! Errors of the `dsp` module: invalid parameters or calibration tables (never the data).
//!
//! Must not know: files (a calibration error names the table line, the caller adds the path).

/// Errors from invalid parameters (never from data).
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    /// A parameter is unusable: a sample rate `fs` that is not positive, a signal shorter than
    /// one window, a non-positive full-scale voltage, an unknown window name, ….
    #[error("invalid STFT parameter {field}: {reason}")]
    InvalidParam {
        /// The parameter's name, e.g. `fs` or `win_length`.
        field: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
    /// A calibration table cannot be used: a line that is not two numbers (Hz, dB re 1 V/µPa),
    /// non-finite values, frequencies that do not increase, or no pairs at all.
    #[error("invalid calibration table, line {line}: {reason}")]
    Calibration {
        /// 1-based line of the table (0 when the table as a whole is at fault).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}
