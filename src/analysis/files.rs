//! Output files of the analysis pipelines, written through the one atomic writer
//! ([`crate::media::atomic`]: a temporary `.onc-hydro-tmp-<pid>-<n>-<name>` in the destination
//! folder, fsynced, renamed, folder fsynced, umask permissions) behind a 1 MiB buffer. What is
//! analysis's own: the cleaning of temporaries a killed run left, by *output name* — a Slurm
//! shard removes the temporaries of the outputs it owns only, since on a shared file system the
//! process ids of other nodes say nothing — and the SHA-256 of inputs for provenance.
//!
//! Must not know: what is inside the files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::AnalysisError;
pub use crate::media::atomic::temporary_target;

pub use crate::media::atomic::Staged;

/// Writes through `fill` (buffered) into a temporary file beside `path`, not yet fsynced or
/// renamed: [`commit`] does that. On any error the temporary is removed and `path` is untouched.
pub fn stage(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> Result<(), AnalysisError>,
) -> Result<Staged, AnalysisError> {
    let mut failed: Option<AnalysisError> = None;
    let result = crate::media::atomic::stage_with(path, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        if let Err(e) = fill(&mut w) {
            failed = Some(e);
            return Err(std::io::Error::other("the writer failed"));
        }
        w.flush()
    });
    match (failed, result) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(AnalysisError::io(path, e)),
        (None, Ok(staged)) => Ok(staged),
    }
}

/// [`stage`] for bytes already in memory.
pub fn stage_bytes(path: &Path, bytes: &[u8]) -> Result<Staged, AnalysisError> {
    stage(path, |w| {
        w.write_all(bytes).map_err(|e| AnalysisError::io(path, e))
    })
}

/// Fsyncs and renames staged outputs over their names, in order (see
/// [`crate::media::atomic::commit`]); the error names the output that failed.
pub fn commit(staged: Vec<Staged>) -> Result<(), AnalysisError> {
    crate::media::atomic::commit(staged).map_err(|(path, e)| AnalysisError::io(&path, e))
}

/// Writes `bytes` to `path` atomically: [`stage_bytes`], then [`commit`].
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), AnalysisError> {
    commit(vec![stage_bytes(path, bytes)?])
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let stale_ours = dir.path().join(".onc-hydro-tmp-999-0-a.npz");
        let stale_other = dir.path().join(".onc-hydro-tmp-999-0-b.npz");
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
        let err = stage(&out, |_| Err(AnalysisError::Parameter("boom".into())));
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
