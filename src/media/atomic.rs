//! The one atomic-write helper: every output file is written to a temporary file in its
//! destination folder, fsynced, renamed over the final name, and the folder fsynced, so a crash
//! or a full disk leaves either the old file or the new one, never a torn one. Temporaries carry a
//! recognisable name (`.onc-hydro-tmp-<pid>-<n>-<name>`) so a later run can clean those a killed
//! run left behind ([`clean_stale_temporaries`]); they are created with mode 0666 minus the
//! umask, like any other output (not 0600, as `tempfile` would).
//!
//! Writing and committing can also be two steps ([`stage_with`], then [`commit`]): a batch that
//! hands its staged outputs to one committing thread goes on computing while the disk flushes,
//! instead of waiting in `fsync` after every file. Nothing is visible under its final name before
//! it is durable; a staged output that is dropped uncommitted removes its temporary.
//!
//! Must not know: what is written (callers hand bytes or a writer closure), or any module's
//! error type — errors are `std::io::Error`s the caller wraps with its own context.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Prefix of every temporary file this crate writes.
pub const TEMP_PREFIX: &str = ".onc-hydro-tmp-";

/// A temporary older than this is stale even if its process id is in use again.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = std::ffi::OsString::from(format!("{TEMP_PREFIX}{}-{n}-", std::process::id()));
    tmp.push(name);
    Ok(folder_of(path).join(tmp))
}

fn create_new(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o666); // the umask applies
    }
    o.open(path)
}

/// The output name a temporary of ours stands for (`.onc-hydro-tmp-<pid>-<n>-<name>` →
/// `<name>`), or `None` for any other file name. Lets a caller that knows which outputs it owns
/// (a Slurm shard on a shared file system, where process ids of other nodes mean nothing) clean
/// only those.
pub fn temporary_target(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix(TEMP_PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let (n, target) = rest.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(pid) && digits(n) && !target.is_empty()).then_some(target)
}

/// An output written completely to its temporary, not yet durable or visible under its name.
/// [`commit`] makes it both; dropping it uncommitted removes the temporary.
#[derive(Debug)]
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    file: Option<File>,
    renamed: bool,
}

impl Staged {
    /// The final name this output will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `fill`'s content to a temporary beside `path` (not yet fsynced or renamed). On an
/// error the temporary is removed and `path` is untouched.
pub fn stage_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<Staged> {
    let tmp = temp_path(path)?;
    let mut file = create_new(&tmp)?;
    // From here on, dropping `staged` (an error below) removes the temporary.
    let mut staged = Staged {
        tmp,
        path: path.to_path_buf(),
        file: None,
        renamed: false,
    };
    fill(&mut file)?;
    file.flush()?;
    staged.file = Some(file);
    Ok(staged)
}

/// Makes `staged` outputs durable and visible, in order: each file is fsynced and renamed over
/// its final name, then each folder involved is fsynced once. On an error the outputs not yet
/// renamed are dropped (their temporaries removed) and the error names the output concerned;
/// the ones renamed before it stay, complete.
pub fn commit(staged: Vec<Staged>) -> Result<(), (PathBuf, io::Error)> {
    let mut folders: Vec<PathBuf> = Vec::new();
    for mut s in staged {
        let path = s.path.clone();
        let done = (|| {
            if let Some(file) = s.file.as_ref() {
                file.sync_all()?;
            }
            std::fs::rename(&s.tmp, &s.path)
        })();
        match done {
            Ok(()) => {
                s.renamed = true;
                let folder = folder_of(&path).to_path_buf();
                if !folders.contains(&folder) {
                    folders.push(folder);
                }
            }
            Err(e) => return Err((path, e)),
        }
    }
    for folder in &folders {
        sync_folder(folder).map_err(|e| (folder.clone(), e))?;
    }
    Ok(())
}

/// Writes `path` atomically with `fill`, which writes the content to the temporary file.
/// On any error the temporary is removed and `path` is untouched.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    commit(vec![stage_with(path, fill)?]).map_err(|(_, e)| e)
}

/// Writes `bytes` to `path` atomically (see the module doc).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Makes a rename in `dir` durable (a no-op where folders cannot be opened).
fn sync_folder(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// True when `pid` is a running process (Linux: `/proc/<pid>` exists; elsewhere unknown = true).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Removes the temporaries of our naming in `dir` that no running process owns: their process
/// is gone (a `kill -9`, a crash), or they are older than a day. Returns how many were removed.
/// Other files, and temporaries of live runs, are left alone.
pub fn clean_stale_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let me = std::process::id();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        let orphaned = match pid {
            Some(p) => p != me && !alive(p),
            None => true,
        };
        if old || orphaned {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_name_their_target() {
        let t = temp_path(Path::new("/x/a-b.npz")).unwrap();
        let name = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(temporary_target(name), Some("a-b.npz"));
        assert_eq!(temporary_target(".tmpAbC123"), None);
        assert_eq!(temporary_target("a.npz"), None);
        assert_eq!(temporary_target(".onc-hydro-tmp-12-x-a.npz"), None);
    }

    #[test]
    fn writes_replace_atomically_with_umask_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            // Probe the umask: a plain create gets the mode an output should have.
            let probe = dir.path().join("probe");
            std::fs::write(&probe, b"").unwrap();
            let want = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode, want,
                "output mode follows the umask like a plain file"
            );
            assert_ne!(mode, 0o600);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporaries left behind");
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"kept").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn staged_outputs_appear_only_when_committed_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npz");
        let b = dir.path().join("b.json");
        let count = || std::fs::read_dir(dir.path()).unwrap().count();
        let sa = stage_with(&a, |f| f.write_all(b"aa")).unwrap();
        let sb = stage_with(&b, |f| f.write_all(b"bb")).unwrap();
        assert_eq!(sa.path(), a);
        assert!(
            !a.exists() && !b.exists(),
            "nothing visible before the commit"
        );
        assert_eq!(count(), 2, "two temporaries");
        commit(vec![sa, sb]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"aa");
        assert_eq!(std::fs::read(&b).unwrap(), b"bb");
        assert_eq!(count(), 2, "no temporaries left");
        let dropped = stage_with(&a, |f| f.write_all(b"new")).unwrap();
        assert_eq!(count(), 3);
        drop(dropped);
        assert_eq!(count(), 2, "a dropped stage removes its temporary");
        assert_eq!(
            std::fs::read(&a).unwrap(),
            b"aa",
            "and leaves the old output"
        );
        // A commit whose rename fails (the target is a non-empty folder) names that output,
        // removes its temporary and keeps what was committed before it.
        let c = dir.path().join("c.npz");
        let blocked = dir.path().join("blocked");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), b"x").unwrap();
        let sc = stage_with(&c, |f| f.write_all(b"cc")).unwrap();
        let sblocked = stage_with(&blocked, |f| f.write_all(b"no")).unwrap();
        let (which, _) = commit(vec![sc, sblocked]).unwrap_err();
        assert_eq!(which, blocked);
        assert_eq!(std::fs::read(&c).unwrap(), b"cc");
        assert_eq!(count(), 4, "a, b, c and the folder; no temporary");
    }

    #[test]
    fn stale_temporaries_of_dead_runs_are_cleaned_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 never names a user process; u32::MAX is beyond any pid_max.
        let dead = dir
            .path()
            .join(format!("{TEMP_PREFIX}{}-0-a.npz", u32::MAX));
        let live = dir
            .path()
            .join(format!("{TEMP_PREFIX}{}-0-b.npz", std::process::id()));
        let other = dir.path().join("c.npz");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        assert_eq!(clean_stale_temporaries(dir.path()).unwrap(), 1);
        assert!(!dead.exists() && live.exists() && other.exists());
        assert_eq!(
            clean_stale_temporaries(&dir.path().join("none")).unwrap(),
            0
        );
    }
}
