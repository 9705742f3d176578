//! Output files of the analysis pipelines: written to a recognisable temporary name in the
//! destination folder (`.<final name>.onc-hydro-<pid>-<n>.tmp`), fsynced, then renamed into
//! place, with the permissions the umask gives (not 0600). Temporaries left by a killed run are
//! found by that naming and removed when the next run over the same outputs starts.
//!
//! Must not know: what is inside the files.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::AnalysisError;

/// The marker between an output's name and the writer's process id in a temporary name.
const TMP_MARK: &str = ".onc-hydro-";
const TMP_SUFFIX: &str = ".tmp";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The temporary name used while writing `path`.
fn temporary_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    folder_of(path).join(format!(
        ".{name}{TMP_MARK}{}-{n}{TMP_SUFFIX}",
        std::process::id()
    ))
}

/// The output name a temporary of ours stands for, or `None` for any other file name.
pub fn temporary_target(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(TMP_SUFFIX)?;
    let (target, tail) = rest.rsplit_once(TMP_MARK)?;
    let (pid, n) = tail.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n) && !target.is_empty()).then_some(target)
}

/// Writes through `fill` into a temporary file beside `path`, fsyncs it and renames it over
/// `path`. On any error the temporary is removed and `path` is untouched.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), AnalysisError>,
) -> Result<(), AnalysisError> {
    let tmp = temporary_for(path);
    let result = (|| {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| AnalysisError::io(&tmp, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        fill(&mut w)?;
        let file = w
            .into_inner()
            .map_err(|e| AnalysisError::io(path, e.into_error()))?;
        file.sync_all().map_err(|e| AnalysisError::io(path, e))?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| AnalysisError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// [`write_atomic`] for bytes already in memory.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), AnalysisError> {
    write_atomic(path, |w| {
        w.write_all(bytes).map_err(|e| AnalysisError::io(path, e))
    })
}

/// Removes temporaries of ours in `dir` whose output name `owned` accepts (e.g. the outputs
/// of this run's or this shard's inputs), left behind by a killed run. Returns what it removed.
/// Other files, and temporaries of outputs someone else owns, are left alone.
pub fn remove_stale_temporaries(
    dir: &Path,
    owned: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(AnalysisError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| AnalysisError::io(dir, e))?;
        let name = entry.file_name();
        let Some(target) = name.to_str().and_then(temporary_target) else {
            continue;
        };
        if owned(target) && entry.file_type().is_ok_and(|t| t.is_file()) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(AnalysisError::io(&path, e)),
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, AnalysisError> {
    let mut f = File::open(path).map_err(|e| AnalysisError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| AnalysisError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_recognised_by_their_naming_only() {
        let t = temporary_for(Path::new("/x/a.b.npz"));
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(temporary_target(name), Some("a.b.npz"));
        assert_eq!(temporary_target(".tmpAbC123"), None);
        assert_eq!(temporary_target("a.npz"), None);
        assert_eq!(temporary_target(".a.npz.onc-hydro-12-x.tmp"), None);
    }

    #[test]
    fn atomic_writes_follow_the_umask_and_stale_temporaries_of_ours_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.npz");
        write_bytes_atomic(&out, b"hello").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            // Whatever the umask, a freshly created file may be read by its group/others
            // unless the umask forbids it; 0600 is what tempfile gives and what we must not.
            let probe = dir.path().join("probe");
            std::fs::write(&probe, b"").unwrap();
            let want = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, want);
        }
        let stale_ours = dir.path().join(".a.npz.onc-hydro-999-0.tmp");
        let stale_other = dir.path().join(".b.npz.onc-hydro-999-0.tmp");
        let foreign = dir.path().join(".tmpXYZ");
        for p in [&stale_ours, &stale_other, &foreign] {
            std::fs::write(p, b"x").unwrap();
        }
        let removed = remove_stale_temporaries(dir.path(), |t| t == "a.npz").unwrap();
        assert_eq!(removed, vec![stale_ours.clone()]);
        assert!(!stale_ours.exists() && stale_other.exists() && foreign.exists());
    }

    #[test]
    fn a_failed_write_leaves_neither_the_output_nor_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a.npz");
        let err = write_atomic(&out, |_| Err(AnalysisError::Parameter("boom".into())));
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
