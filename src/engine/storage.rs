//! Storage: stream a body to `<name>.<pid>.part` in its destination folder (unique per process;
//! leftovers of crashed runs are swept when a run starts), stop as soon as more than the
//! expected size arrives, `fsync`, then verify what is *on disk* — size and SHA-256 re-read
//! from the file, compared with the stream and with `Content-Length`/the expected size — run
//! the caller's validation hook and rename it into place. Server-chosen names that would land
//! outside the folder, or that collide with the engine's own files (`ledger.sqlite*`,
//! `ledger.lock`, `summary.json`, `*.part`), are refused.
//!
//! Must not know: which task or endpoint the body came from, the ledger.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::api::{ApiError, FileBody};
use crate::ooi::{self, OoiError};

/// A body being received from either provider.
#[derive(Debug)]
pub enum Incoming {
    /// An Oceans 3.0 file.
    Onc(FileBody),
    /// A file from OOI's THREDDS file server.
    Ooi(ooi::FileBody),
}

impl From<FileBody> for Incoming {
    fn from(b: FileBody) -> Incoming {
        Incoming::Onc(b)
    }
}

impl From<ooi::FileBody> for Incoming {
    fn from(b: ooi::FileBody) -> Incoming {
        Incoming::Ooi(b)
    }
}

impl Incoming {
    /// `Content-Length`, if sent.
    pub fn content_length(&self) -> Option<u64> {
        match self {
            Incoming::Onc(b) => b.content_length(),
            Incoming::Ooi(b) => b.content_length(),
        }
    }

    /// The server's file name (`Content-Disposition`), if any.
    pub fn file_name(&self) -> Option<&str> {
        match self {
            Incoming::Onc(b) => b.file_name(),
            Incoming::Ooi(_) => None,
        }
    }

    async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, StorageError> {
        match self {
            Incoming::Onc(b) => Ok(b.chunk().await?),
            Incoming::Ooi(b) => Ok(b.chunk().await?),
        }
    }
}

/// A post-download check run on the complete `.part` file before it is renamed into place,
/// e.g. "decodes as FLAC". Gets the `.part` path and the final file name; returns a reason on
/// failure. Runs on a blocking thread.
pub type Validator = Arc<dyn Fn(&Path, &str) -> Result<(), String> + Send + Sync>;

/// Names the engine keeps for itself in every output folder: a server-chosen name equal to one
/// of these, or starting with one (`ledger.sqlite-wal`, …), is refused (compared ignoring
/// ASCII case, for case-insensitive file systems).
pub const RESERVED_PREFIXES: [&str; 3] = ["ledger.sqlite", "ledger.lock", "summary.json"];

/// The largest body accepted when neither `Content-Length` nor a listing gives a size
/// (ONC's largest data-product files are a few GB).
pub const MAX_UNSIZED_BODY: u64 = 64 << 30;

/// Why a file could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The server's file name would escape the destination folder or is not a plain name.
    #[error("refusing unsafe file name {name:?}: {reason}")]
    UnsafeName {
        /// The name as the server gave it.
        name: String,
        /// What makes it unsafe.
        reason: &'static str,
    },
    /// The transfer itself failed (truncated body, reset, …).
    #[error(transparent)]
    Transfer(#[from] ApiError),
    /// An OOI transfer failed (truncated body, reset, …).
    #[error(transparent)]
    OoiTransfer(#[from] OoiError),
    /// Fewer or more bytes than announced or expected.
    #[error("{name}: received {received} bytes, expected {expected}")]
    SizeMismatch {
        /// The file.
        name: String,
        /// Bytes announced or listed.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The body went on past the expected size; the transfer was stopped there.
    #[error("{name}: the server sent more than the expected {limit} bytes; stopped there (the listing may be stale: list again)")]
    TooLong {
        /// The file.
        name: String,
        /// The size at which the transfer was stopped.
        limit: u64,
    },
    /// The file on disk is not what was received (another writer, a failing disk).
    #[error("{name}: the file on disk differs from the bytes received ({detail})")]
    ChangedOnDisk {
        /// The file.
        name: String,
        /// What differs (size or hash).
        detail: String,
    },
    /// The validation hook rejected the file.
    #[error("{name} failed validation: {reason}")]
    Invalid {
        /// The file.
        name: String,
        /// The hook's reason.
        reason: String,
    },
    /// Local file-system trouble.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done, e.g. `rename`.
        what: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// Worth another attempt (a new download may succeed): transfer hiccups, short bodies,
    /// a file changed on disk and failed validation (a corrupted body). Unsafe names, bodies
    /// longer than expected (the same listing gives the same answer) and local I/O errors
    /// are not.
    pub fn is_transient(&self) -> bool {
        match self {
            StorageError::Transfer(e) => e.is_transient(),
            StorageError::OoiTransfer(e) => e.is_transient(),
            StorageError::SizeMismatch { .. }
            | StorageError::ChangedOnDisk { .. }
            | StorageError::Invalid { .. } => true,
            StorageError::UnsafeName { .. }
            | StorageError::TooLong { .. }
            | StorageError::Io { .. } => false,
        }
    }
}

/// A file stored and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// Hex SHA-256 of the content (as read back from disk).
    pub sha256: String,
    /// Modification time of the stored file (nanoseconds since the epoch), for cheap re-checks.
    pub mtime_ns: Option<i64>,
}

/// Accepts only a plain file name: no separators, no `..`, not hidden-only, no control chars,
/// none of the engine's own names.
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
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".part") {
        return bad("ends in .part, the engine's temporary suffix");
    }
    if RESERVED_PREFIXES.iter().any(|r| lower.starts_with(r)) {
        return bad(
            "collides with the engine's own files (ledger.sqlite*, ledger.lock, summary.json)",
        );
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

/// The temporary name of `name` for this process: `<name>.<pid>.part`.
fn part_name(name: &str) -> String {
    format!("{name}.{}.part", std::process::id())
}

/// Whether `file_name` is a temporary file of our naming (`<name>.<digits>.part`).
fn is_our_part(file_name: &str) -> bool {
    let Some(stem) = file_name.strip_suffix(".part") else {
        return false;
    };
    match stem.rsplit_once('.') {
        Some((base, pid)) => {
            !base.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Removes temporary files of our naming left in `out` (and its sub-folders) by runs that
/// crashed. Only call while holding the folder's lock. Returns how many were removed.
pub fn sweep_stale_parts(out: &Path) -> u64 {
    let mut removed = 0;
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file()
                && is_our_part(&entry.file_name().to_string_lossy())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// The modification time of `meta` in nanoseconds since the epoch.
pub fn mtime_ns(meta: &std::fs::Metadata) -> Option<i64> {
    let t = meta.modified().ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// Streams `body` into `dir/name` via `dir/<name>.<pid>.part`. `expected` is a size known
/// beforehand (e.g. from an archive listing); `on_bytes` is called with each chunk's length.
pub async fn receive(
    body: impl Into<Incoming>,
    dir: &Path,
    name: &str,
    expected: Option<u64>,
    validator: Option<&Validator>,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<StoredFile, StorageError> {
    let mut body: Incoming = body.into();
    check_file_name(name)?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io("cannot create folder", dir))?;
    let final_path = dir.join(name);
    let part = dir.join(part_name(name));
    let limit = [body.content_length(), expected]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(MAX_UNSIZED_BODY);
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(io("cannot create", &part))?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let result: Result<(), StorageError> = async {
        while let Some(chunk) = body.chunk().await? {
            received += chunk.len() as u64;
            if received > limit {
                return Err(StorageError::TooLong {
                    name: name.to_string(),
                    limit,
                });
            }
            hasher.update(&chunk);
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
    // Verify what is on disk, not what went past: another writer or a failing disk shows here.
    let streamed = hex::encode(hasher.finalize());
    let p = part.clone();
    let on_disk = tokio::task::spawn_blocking(move || hash_file(&p))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    let sha256 = match on_disk {
        Ok((size, sha)) if size == received && sha == streamed => sha,
        Ok((size, sha)) => {
            let detail = if size != received {
                format!("{size} bytes on disk, {received} received")
            } else {
                format!("SHA-256 {sha} on disk, {streamed} received")
            };
            return fail(StorageError::ChangedOnDisk {
                name: name.to_string(),
                detail,
            });
        }
        Err(e) => {
            return fail(StorageError::Io {
                what: "cannot read back",
                path: part.clone(),
                source: e,
            })
        }
    };
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
    let mtime_ns = std::fs::metadata(&final_path)
        .ok()
        .and_then(|m| mtime_ns(&m));
    Ok(StoredFile {
        name: name.to_string(),
        path: final_path,
        size: received,
        sha256,
        mtime_ns,
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
            "",
            "../x",
            "a/b",
            "a\\b",
            "..",
            "..hidden",
            " x",
            "x\n",
            "C:x",
            "x.part",
            "X.PART",
            "ledger.sqlite",
            "ledger.sqlite-wal",
            "LEDGER.SQLITE-shm",
            "ledger.lock",
            "summary.json",
            "summary.json.bak",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "ICLISTENHF6324_20240401T000000.000Z.flac",
            "a-b_c.d.mat",
            ".env-ish",
            "ledger.csv",
            "my-summary.json",
        ] {
            check_file_name(good).unwrap();
        }
    }

    #[test]
    fn only_our_temporaries_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for f in [
            "a.flac.123.part",
            "sub/b.mat.9.part",
            "keep.part",
            "x.flac",
            "c.abc.part",
        ] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        assert_eq!(sweep_stale_parts(dir.path()), 2);
        assert!(!dir.path().join("sub/b.mat.9.part").exists());
        for f in ["keep.part", "x.flac", "c.abc.part"] {
            assert!(dir.path().join(f).exists(), "{f}");
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
