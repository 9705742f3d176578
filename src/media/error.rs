//! The typed error of the `media` module: every variant names the file (or the in-memory
//! stream) it concerns and what went wrong.
//!
//! Must not know: network, annotations, how callers report errors.

use std::path::PathBuf;

/// An error while reading or writing a media file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Opening, writing, syncing or renaming a file failed.
    #[error("{}: I/O error: {source}", .file.display())]
    Io {
        /// The file (or the in-memory pseudo name).
        file: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The caller asked for something the format cannot hold (bad bit depth, ragged data…).
    #[error("{}: invalid {field}: {reason}", .file.display())]
    Invalid {
        /// The file that was to be written.
        file: PathBuf,
        /// The offending input, e.g. `matrix dims`.
        field: &'static str,
        /// Why it cannot be written.
        reason: String,
    },
    /// An encoder or decoder library reported an error.
    #[error("{}: {format} error: {reason}", .file.display())]
    Codec {
        /// The file.
        file: PathBuf,
        /// The format, e.g. `FLAC`.
        format: &'static str,
        /// The library's message.
        reason: String,
    },
    /// The file is not a well-formed file of the expected format.
    #[error("{}: malformed {format} at byte {offset}: {reason}", .file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// The format expected, e.g. `MAT`.
        format: &'static str,
        /// Byte offset where the problem was found.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// The file is well formed but uses a feature we do not read (e.g. MAT v7.3/HDF5).
    #[error("{}: unsupported {format}: {reason}", .file.display())]
    Unsupported {
        /// The file.
        file: PathBuf,
        /// The format, e.g. `MAT`.
        format: &'static str,
        /// The feature not read, e.g. a v7.3 (HDF5) file.
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
