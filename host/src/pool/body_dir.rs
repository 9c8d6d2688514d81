//! The directory saved bodies go to ([`crate::PoolBuilder::save_bodies`]):
//! which directories are safe to save in, and how files are made there.
//!
//! A pool may run as root and writes what a server sent, so a name planted
//! in the directory must never redirect a write. Two rules see to it:
//!
//! - Nothing is opened by a name someone else could have put there. Every
//!   file is created new, at a name no entry has (`O_CREAT | O_EXCL |
//!   O_NOFOLLOW`: an existing file or link, even a dangling one, is never
//!   opened, and another name is tried), and a body reaches its final name
//!   by `rename(2)`, which replaces a link there instead of following it.
//! - The directory must be one no other user can move names in (on unix):
//!   owned by the user running the pool, and writable by group or others
//!   only when it is sticky (`chmod +t`, as `/tmp`). In a sticky directory
//!   of ours others may add names, which the first rule ignores, but cannot
//!   rename or remove ours. Anywhere else another user could swap a body
//!   for a link between its writing and its rename, or after it, and
//!   whoever reads `body_path` next would follow the link.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why bodies cannot be saved in a directory: found when the pool starts,
/// before any job runs, so a run does not fail job by job.
#[derive(Debug, thiserror::Error)]
pub enum BodyDirError {
    /// The directory cannot be looked at: it does not exist, say.
    #[error("cannot save bodies in {}: {error}", dir.display())]
    Unreadable {
        /// The directory.
        dir: PathBuf,
        /// What looking at it said.
        error: io::Error,
    },
    /// The path is not a directory.
    #[error("cannot save bodies in {}: it is not a directory", dir.display())]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
    /// Another user owns the directory, so they may rename and remove
    /// entries in it whatever its mode.
    #[error(
        "cannot save bodies in {}: it belongs to uid {owner}, not to the user running \
         tb-host (uid {user}), so its owner could swap a saved body for a link; \
         pick a directory you own",
        dir.display()
    )]
    NotOwned {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective user of this process.
        user: u32,
    },
    /// Group or others may write to the directory and it is not sticky, so
    /// they may rename and remove entries in it.
    #[error(
        "cannot save bodies in {dir}: it is writable by group or others (mode {mode:04o}) \
         and not sticky, so another user could swap a saved body for a link; take their \
         write access away (chmod go-w {dir}) or pick a directory only you can write to",
        dir = dir.display()
    )]
    Shared {
        /// The directory.
        dir: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file cannot be created in the directory.
    #[error(
        "cannot save bodies in {}: cannot create a file there ({error}); \
         pick a directory you can write to",
        dir.display()
    )]
    Unwritable {
        /// The directory.
        dir: PathBuf,
        /// Why the test file could not be made.
        error: io::Error,
    },
}

/// Checks that bodies may be saved in `dir`: a directory that follows the
/// rules of this module, in which a file can be created (a test file is
/// created and removed).
pub(crate) fn check(dir: &Path) -> Result<(), BodyDirError> {
    let meta = fs::metadata(dir).map_err(|error| BodyDirError::Unreadable {
        dir: dir.to_owned(),
        error,
    })?;
    if !meta.is_dir() {
        return Err(BodyDirError::NotADirectory {
            dir: dir.to_owned(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let user = unsafe { libc::geteuid() };
        judge(dir, meta.uid(), meta.mode(), user)?;
    }
    let unwritable = |error| BodyDirError::Unwritable {
        dir: dir.to_owned(),
        error,
    };
    let (probe, path) = create_new(dir, "write-test").map_err(unwritable)?;
    drop(probe);
    fs::remove_file(path).map_err(unwritable)
}

/// The ownership rule of this module, for a directory owned by `owner`
/// with mode bits `mode`, and a process whose effective user is `user`.
#[cfg(unix)]
fn judge(dir: &Path, owner: u32, mode: u32, user: u32) -> Result<(), BodyDirError> {
    const GROUP_OR_OTHERS_WRITE: u32 = 0o022;
    const STICKY: u32 = 0o1000;
    if owner != user {
        return Err(BodyDirError::NotOwned {
            dir: dir.to_owned(),
            owner,
            user,
        });
    }
    if mode & GROUP_OR_OTHERS_WRITE != 0 && mode & STICKY == 0 {
        return Err(BodyDirError::Shared {
            dir: dir.to_owned(),
            mode: mode & 0o7777,
        });
    }
    Ok(())
}

/// How many names this process may try for one file before giving up:
/// only leftovers of an earlier process with the same id take names.
const NAME_TRIES: usize = 100;

/// The next number for a file name, shared by the whole process so that no
/// two of its files are given the same name.
static NEXT_NAME: AtomicU64 = AtomicU64::new(0);

/// Creates a new file in `dir`, named `<stem>.<pid>-<n>.part` with an `n`
/// no entry there has, and returns it and its path. An entry already there
/// (a leftover, a planted link) is neither opened nor followed: the next
/// `n` is tried.
pub(crate) fn create_new(dir: &Path, stem: &str) -> io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    let names = std::iter::repeat_with(|| NEXT_NAME.fetch_add(1, Ordering::Relaxed))
        .map(|n| format!("{stem}.{pid}-{n}.part"))
        .take(NAME_TRIES);
    create_first_free(dir, names)
}

/// Creates the first of `names` that no entry of `dir` has.
fn create_first_free(
    dir: &Path,
    names: impl Iterator<Item = String>,
) -> io::Result<(File, PathBuf)> {
    let mut taken = io::Error::new(io::ErrorKind::AlreadyExists, "no name was free");
    for name in names {
        let path = dir.join(name);
        match open_new(&path) {
            Ok(file) => return Ok((file, path)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => taken = error,
            Err(error) => return Err(error),
        }
    }
    Err(taken)
}

/// Opens `path` for writing only if this creates it; a link there, even a
/// dangling one, is an existing entry, never followed.
fn open_new(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new empty directory for one test, in the system's temp dir.
    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tb-host-body-dir-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn only_our_own_dirs_not_shared_unless_sticky_are_accepted() {
        let dir = Path::new("/d");
        let me = 1000;
        for mode in [0o700, 0o755, 0o1777, 0o1770, 0o1755] {
            assert!(judge(dir, me, mode, me).is_ok(), "{mode:o}");
        }
        for mode in [0o777, 0o775, 0o757, 0o720, 0o702] {
            let error = judge(dir, me, 0o40000 | mode, me).unwrap_err();
            assert!(
                matches!(error, BodyDirError::Shared { mode: m, .. } if m == mode),
                "{mode:o}: {error}"
            );
        }
        for mode in [0o700, 0o1777] {
            let error = judge(dir, 0, mode, me).unwrap_err();
            assert!(
                matches!(
                    error,
                    BodyDirError::NotOwned {
                        owner: 0,
                        user: 1000,
                        ..
                    }
                ),
                "{mode:o}: {error}"
            );
        }
    }

    #[test]
    fn names_taken_by_files_or_links_are_skipped_untouched() {
        let dir = scratch("taken-names");
        fs::write(dir.join("a.part"), b"leftover").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("nowhere"), dir.join("b.part")).unwrap();
        #[cfg(not(unix))]
        fs::write(dir.join("b.part"), b"leftover").unwrap();
        let names = ["a.part", "b.part", "c.part"].map(String::from);
        let (_, path) = create_first_free(&dir, names.into_iter()).unwrap();
        assert_eq!(path, dir.join("c.part"));
        assert_eq!(fs::read(dir.join("a.part")).unwrap(), b"leftover");
        assert!(!dir.join("nowhere").exists(), "the link was not followed");
        let error = create_first_free(&dir, ["a.part".to_owned()].into_iter()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_checked_dir_is_left_as_it_was() {
        let dir = scratch("checked");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
        check(&dir).unwrap();
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            0,
            "the test file is gone"
        );
        let file = dir.join("file");
        fs::write(&file, b"").unwrap();
        assert!(matches!(
            check(&file),
            Err(BodyDirError::NotADirectory { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
