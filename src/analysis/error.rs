//! The typed error of the `analysis` module: every variant says which file or which parameter
//! it concerns, so one bad input is reported as one failed item with a clear reason.
//!
//! Must not know: how callers print or count errors.

// TODO(issue 15 item 6): document the public items below, then delete this allow.

use std::path::PathBuf;

use crate::dsp::DspError;
use crate::media::{DecodeError, MediaError, PngError};

/// An error of a file-level analysis pipeline.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A parameter (or a combination of them) cannot be used.
    #[error("{0}")]
    Parameter(String),
    /// The parameters give an invalid transform for this file (e.g. a window of 0 samples).
    #[error("{}: {reason}", .file.display())]
    FileParameter {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or decoding an input failed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The numerics refused the parameters.
    #[error("{}: {source}", .file.display())]
    Dsp {
        /// The file concerned.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: DspError,
    },
    /// The input holds something no spectrogram can be made of (NaN samples, too short, …).
    #[error("{}: {reason}", .file.display())]
    BadInput {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The output would exceed the size limit (see [`crate::analysis::MAX_OUTPUT_BYTES`]).
    #[error("{}: {reason}", .file.display())]
    TooLarge {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading, writing, syncing or renaming a file failed.
    #[error("{}: {source}", .file.display())]
    Io {
        /// The file concerned.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding an output (NPZ, MAT, PNG, JSON) failed.
    #[error("{}: {reason}", .file.display())]
    Encode {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A media-format error (MAT encoding and friends).
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Drawing a PNG failed.
    #[error("{}: {source}", .file.display())]
    Png {
        /// The file concerned.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: PngError,
    },
    /// A manifest, shard record or run record is missing, malformed or does not fit the run.
    #[error("{}: {reason}", .file.display())]
    Run {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The worker processing a file panicked (a bug; the rest of the batch goes on).
    #[error("{}: internal error while processing: {reason}", .file.display())]
    Panic {
        /// The file concerned.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl AnalysisError {
    /// An I/O error about `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AnalysisError::Io {
            file: file.into(),
            source,
        }
    }
}
