//! Storage: stream a body to `<name>.part` in its destination folder (a leftover `.part` from a
//! crash is never trusted: it is truncated and rewritten), hash it (SHA-256), check its size
//! against `Content-Length` and the expected size, run the caller's validation hook, `fsync`,
//! then rename it into place. Server-chosen names that would land outside the folder are refused.
//!
//! Must not know: which task or endpoint the body came from, the ledger.

// TODO(issue 15 item 6): document the public items below, then delete this allow.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::api::{ApiError, FileBody};

/// A post-download check run on the complete `.part` file before it is renamed into place,
/// e.g. "decodes as FLAC". Gets the `.part` path and the final file name; returns a reason on
/// failure. Runs on a blocking thread.
pub type Validator = Arc<dyn Fn(&Path, &str) -> Result<(), String> + Send + Sync>;

/// Why a file could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The server's file name would escape the destination folder or is not a plain name.
    #[error("refusing unsafe file name {name:?}: {reason}")]
    UnsafeName { name: String, reason: &'static str },
    /// The transfer itself failed (truncated body, reset, …).
    #[error(transparent)]
    Transfer(#[from] ApiError),
    /// Fewer or more bytes than announced or expected.
    #[error("{name}: received {received} bytes, expected {expected}")]
    SizeMismatch {
        name: String,
        expected: u64,
        received: u64,
    },
    /// The validation hook rejected the file.
    #[error("{name} failed validation: {reason}")]
    Invalid { name: String, reason: String },
    /// Local file-system trouble.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// Worth another attempt (a new download may succeed): transfer hiccups, wrong sizes and
    /// failed validation (a corrupted body). Unsafe names and local I/O errors are not.
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Transfer(e) => e.is_transient(),
            StorageError::SizeMismatch { .. } | StorageError::Invalid { .. } => true,
            StorageError::UnsafeName { .. } | StorageError::Io { .. } => false,
        }
    }
}

/// A file stored and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// Accepts only a plain file name: no separators, no `..`, not hidden-only, no control chars.
pub fn check_file_name(name: &str) -> Result<(), StorageError> {
    let bad = |reason| {
        Err(StorageError::UnsafeName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() || name.trim() != name {
        return bad("empty or padded with spaces");
    }
    if name.contains(['/', '\\']) {
        return bad("contains a path separator");
    }
    if name == "." || name == ".." || name.starts_with("..") {
        return bad("would leave the destination folder");
    }
    if name.chars().any(|c| c.is_control()) || name.contains(':') {
        return bad("contains control characters or ':'");
    }
    if name.ends_with(".part") {
        return bad("ends in .part, the engine's temporary suffix");
    }
    Ok(())
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
    move |source| StorageError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Streams `body` into `dir/name` via `dir/name.part`. `expected` is a size known beforehand
/// (e.g. from an archive listing); `on_bytes` is called with each chunk's length.
pub async fn receive(
    mut body: FileBody,
    dir: &Path,
    name: &str,
    expected: Option<u64>,
    validator: Option<&Validator>,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<StoredFile, StorageError> {
    check_file_name(name)?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io("cannot create folder", dir))?;
    let final_path = dir.join(name);
    let part = dir.join(format!("{name}.part"));
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(io("cannot create", &part))?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let result: Result<(), StorageError> = async {
        while let Some(chunk) = body.chunk().await? {
            hasher.update(&chunk);
            received += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(io("cannot write", &part))?;
            on_bytes(chunk.len() as u64);
        }
        file.flush().await.map_err(io("cannot write", &part))?;
        file.sync_all().await.map_err(io("cannot sync", &part))?;
        Ok(())
    }
    .await;
    drop(file);
    let fail = |e: StorageError| {
        let _ = std::fs::remove_file(&part);
        Err(e)
    };
    if let Err(e) = result {
        return fail(e);
    }
    for want in [body.content_length(), expected].into_iter().flatten() {
        if want != received {
            return fail(StorageError::SizeMismatch {
                name: name.to_string(),
                expected: want,
                received,
            });
        }
    }
    if let Some(v) = validator {
        let (v, p, n) = (Arc::clone(v), part.clone(), name.to_string());
        let verdict = tokio::task::spawn_blocking(move || v(&p, &n))
            .await
            .unwrap_or_else(|e| Err(format!("validation hook panicked: {e}")));
        if let Err(reason) = verdict {
            return fail(StorageError::Invalid {
                name: name.to_string(),
                reason,
            });
        }
    }
    if let Err(e) = tokio::fs::rename(&part, &final_path).await {
        return fail(StorageError::Io {
            what: "cannot rename into place",
            path: final_path,
            source: e,
        });
    }
    Ok(StoredFile {
        name: name.to_string(),
        path: final_path,
        size: received,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Hashes an existing file (blocking; used when adopting a complete file left by a crash).
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_refused() {
        for bad in [
            "", "../x", "a/b", "a\\b", "..", "..hidden", " x", "x\n", "C:x", "x.part",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "ICLISTENHF6324_20240401T000000.000Z.flac",
            "a-b_c.d.mat",
            ".env-ish",
        ] {
            check_file_name(good).unwrap();
        }
    }

    #[test]
    fn hash_file_matches_known_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        let (n, h) = hash_file(&p).unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
