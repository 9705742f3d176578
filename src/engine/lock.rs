//! One run per output folder: an exclusive OS lock (`flock(2)` through std's `File::try_lock`)
//! on `<out>/ledger.lock`, held for as long as an [`Engine`](super::Engine) is open. The file
//! holds the owner's process id and start time (never its command line, which may carry
//! the token), so a second process can say which process
//! is using the folder. The operating system drops the lock when the owner ends, however it
//! ends (`kill -9` included): a crash never leaves a folder locked. Readers (`status`) do not
//! take the lock.
//!
//! Must not know: the ledger's content, tasks, HTTP.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::EngineError;

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = "ledger.lock";

/// The exclusive lock on an output folder; released when dropped.
#[derive(Debug)]
pub(crate) struct OutLock {
    _file: File,
}

/// Who holds the lock, as written in the lock file (`pid <n>, since <time>`).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.take(4096).read_to_string(&mut text);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "another process".to_string()
    } else {
        text.to_string()
    }
}

/// Takes the exclusive lock on `out` (which must exist), or explains who holds it.
pub(crate) fn acquire(out: &Path) -> Result<OutLock, EngineError> {
    let path: PathBuf = out.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| EngineError::io("cannot open the lock file", &path, e))?;
    // `File::try_lock` is std since 1.89; the toolchain in use (1.95) has it.
    let locked = file.try_lock();
    match locked {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(EngineError::Locked {
                out: out.to_path_buf(),
                holder: holder(&mut file),
            })
        }
        Err(TryLockError::Error(e)) => {
            return Err(EngineError::io("cannot lock", &path, e));
        }
    }
    // Only the pid and the start time: a command line may carry the token.
    let me = format!(
        "pid {}, since {:.0}\n",
        std::process::id(),
        jiff::Timestamp::now()
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(me.as_bytes()))
        .and_then(|()| file.flush());
    written.map_err(|e| EngineError::io("cannot write the lock file", &path, e))?;
    Ok(OutLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_dropping_releases() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        let e = acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        drop(first);
        acquire(dir.path()).unwrap();
    }
}
