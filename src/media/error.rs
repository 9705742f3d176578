//! The typed error of the `media` module: every variant names the file (or the in-memory
//! stream) it concerns and what went wrong.
//!
//! Must not know: network, annotations, how callers report errors.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::path::PathBuf;

/// An error while reading or writing a media file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Opening, writing, syncing or renaming a file failed.
    #[error("{}: I/O error: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The caller asked for something the format cannot hold (bad bit depth, ragged data…).
    #[error("{}: invalid {field}: {reason}", .file.display())]
    Invalid {
        file: PathBuf,
        field: &'static str,
        reason: String,
    },
    /// An encoder or decoder library reported an error.
    #[error("{}: {format} error: {reason}", .file.display())]
    Codec {
        file: PathBuf,
        format: &'static str,
        reason: String,
    },
    /// The file is not a well-formed file of the expected format.
    #[error("{}: malformed {format} at byte {offset}: {reason}", .file.display())]
    Malformed {
        file: PathBuf,
        format: &'static str,
        offset: u64,
        reason: String,
    },
    /// The file is well formed but uses a feature we do not read (e.g. MAT v7.3/HDF5).
    #[error("{}: unsupported {format}: {reason}", .file.display())]
    Unsupported {
        file: PathBuf,
        format: &'static str,
        reason: String,
    },
}

/// The pseudo file name used in errors for in-memory encoding/decoding.
pub(crate) fn mem() -> PathBuf {
    PathBuf::from("<memory>")
}

impl MediaError {
    /// The same error, attributed to `file` (used when in-memory work backs a path write/read).
    pub fn with_file(self, file: impl Into<PathBuf>) -> Self {
        let f = file.into();
        match self {
            MediaError::Io { source, .. } => MediaError::Io { file: f, source },
            MediaError::Invalid { field, reason, .. } => MediaError::Invalid {
                file: f,
                field,
                reason,
            },
            MediaError::Codec { format, reason, .. } => MediaError::Codec {
                file: f,
                format,
                reason,
            },
            MediaError::Malformed {
                format,
                offset,
                reason,
                ..
            } => MediaError::Malformed {
                file: f,
                format,
                offset,
                reason,
            },
            MediaError::Unsupported { format, reason, .. } => MediaError::Unsupported {
                file: f,
                format,
                reason,
            },
        }
    }

    /// The file this error is about.
    pub fn file(&self) -> &std::path::Path {
        match self {
            MediaError::Io { file, .. }
            | MediaError::Invalid { file, .. }
            | MediaError::Codec { file, .. }
            | MediaError::Malformed { file, .. }
            | MediaError::Unsupported { file, .. } => file,
        }
    }
}
