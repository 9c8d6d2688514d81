//! The lock a run holds on each file it writes, so that two runs never
//! write one file: the second is refused, naming the first.
//!
//! It is an advisory lock (`flock`) on a file beside, `FILE.lock` (beside
//! the file a symlink points to), which holds the pid of the run that has
//! it. Beside, not on `FILE` itself,
//! because `--resume` may put a new `FILE` in place of the old one by a
//! rename, and a lock on the old file would not cover the new one. The
//! kernel lets go of the lock when the process ends, however it ends
//! (`kill -9` included), so a `FILE.lock` left behind by a killed run
//! holds nothing and the next run takes it over; a run that ends normally
//! removes it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::SetupError;
use super::files::FileId;

/// A lock on one file a run writes, held until dropped.
pub struct Lock {
    path: PathBuf,
    /// Holds the lock: closing it lets go.
    _file: File,
}

impl Lock {
    /// Takes the lock of `data` (named `flag` in messages: `-o`), or says
    /// which process has it.
    pub fn take(data: &Path, flag: &str) -> Result<Lock, SetupError> {
        let cannot = |path: &Path, e: std::io::Error| {
            SetupError::new(format!(
                "cannot lock {flag} {}: {}: {e}",
                data.display(),
                path.display()
            ))
        };
        // Beside the file itself, whatever symlink names it (`/dev/stdout`
        // included), so that every name of it shares the one lock.
        let path = sidecar(&fs::canonicalize(data).map_err(|e| cannot(data, e))?);
        let cannot = |e| cannot(&path, e);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(cannot)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => return Err(held(data, flag, &path)),
                Err(fs::TryLockError::Error(e)) => return Err(cannot(e)),
            }
            // The run that had the lock removes the file before letting go:
            // if it did so between our open and our lock, ours is on a file
            // nobody else will open, so take the one at `path` now.
            let ours = FileId::of(&file).map_err(cannot)?;
            if ours.is_some() && FileId::at(&path) == ours {
                file.set_len(0).map_err(cannot)?;
                writeln!(file, "{}", std::process::id()).map_err(cannot)?;
                return Ok(Lock { path, _file: file });
            }
        }
    }
}

impl Drop for Lock {
    /// Removes the lock file while still holding the lock (see
    /// [`Lock::take`] for why that order is safe).
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `FILE.lock`, beside `FILE`.
fn sidecar(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The error that another run has the lock of `data`, with its pid when
/// it has written it yet.
fn held(data: &Path, flag: &str, lock: &Path) -> SetupError {
    let holder = fs::read_to_string(lock)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .map_or_else(
            || "another process".to_owned(),
            |pid| format!("process {pid}"),
        );
    SetupError::new(format!(
        "{flag} {} is being written by another run of tb-host ({holder}, which holds {}): \
         wait for it to end or stop it, or write to another file",
        data.display(),
        lock.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_file_by_any_name_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = std::env::temp_dir().join(format!("tb-lock-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let data = dir.join("out.jsonl");
        fs::write(&data, "").unwrap();
        let first = Lock::take(&data, "-o").unwrap();
        let lock = dir.join("out.jsonl.lock");
        assert_eq!(
            fs::read_to_string(&lock).unwrap().trim(),
            std::process::id().to_string()
        );
        let error = Lock::take(&data, "-o").err().unwrap().to_string();
        assert!(error.contains("out.jsonl"), "{error}");
        assert!(
            error.contains(&format!("process {}", std::process::id())),
            "{error}"
        );
        drop(first);
        assert!(!lock.exists(), "the lock file goes with the lock");
        let symlink = dir.join("symlink.jsonl");
        std::os::unix::fs::symlink(&data, &symlink).unwrap();
        let again = Lock::take(&data, "-o").unwrap();
        let error = Lock::take(&symlink, "-o").err().unwrap().to_string();
        assert!(
            error.contains("symlink.jsonl"),
            "every name shares the lock: {error}"
        );
        drop(again);
        fs::remove_dir_all(dir).unwrap();
    }
}
