//! The files a run writes, `-o FILE` and `--failures FILE`: checked,
//! locked and opened before anything is written, and emptied only once
//! the run is known to start.
//!
//! Neither may be the input (emptying it would leave no job to run,
//! appending to it a run that never ends), nor may they be one file (the
//! failures would overwrite the records). Files are told apart by device
//! and inode, so a symlink or a hard link is caught as well as the same
//! name. Only regular files are checked, locked and emptied: a terminal,
//! a pipe or `/dev/null` destroys nothing by being written, and
//! `/dev/null` may well be both outputs.
//!
//! Each file is locked ([`Lock`]) before anything is written to it, so a
//! second run on it is refused rather than interleaving its records, and
//! opened for appending: a log rotation that truncates it in place then
//! leaves no hole of NUL bytes where the run went on writing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::SetupError;
use super::lock::Lock;

/// What two names of one regular file share: its device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    device: u64,
    inode: u64,
}

impl FileId {
    /// The identity of an open file; none unless it is a regular file.
    pub fn of(file: &File) -> io::Result<Option<FileId>> {
        Ok(FileId::of_metadata(&file.metadata()?))
    }

    /// The identity of the file `path` names, symlinks followed; none
    /// when there is none, or it is not a regular file.
    pub fn at(path: &Path) -> Option<FileId> {
        fs::metadata(path)
            .ok()
            .and_then(|m| FileId::of_metadata(&m))
    }

    /// The identity of the file stdin reads, when it is one (`< FILE`).
    pub fn of_stdin() -> Option<FileId> {
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        FileId::of(&File::from(fd)).ok().flatten()
    }

    fn of_metadata(metadata: &fs::Metadata) -> Option<FileId> {
        metadata.is_file().then(|| FileId {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// The input of a run, as the files it writes must keep clear of it.
pub struct InputFile {
    /// How messages name it: its path, or `stdin`.
    pub name: String,
    /// Its identity, when it is a regular file.
    pub id: Option<FileId>,
}

/// One file a run writes, open and locked, not yet written to.
pub struct Output {
    path: PathBuf,
    flag: &'static str,
    file: File,
    id: Option<FileId>,
    lock: Option<Lock>,
}

impl Output {
    /// The name it was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The flag that named it, for messages: `-o` or `--failures`.
    pub fn flag(&self) -> &'static str {
        self.flag
    }

    /// Whether it is a regular file (not a terminal, a pipe, a device).
    pub fn is_regular(&self) -> bool {
        self.id.is_some()
    }

    /// The open file, appended to.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file as it is, for the run to append to.
    pub fn keep(self) -> Claimed {
        Claimed {
            file: self.file,
            _lock: self.lock,
        }
    }

    /// The file emptied, for a new run.
    pub fn empty(self) -> Result<Claimed, SetupError> {
        if self.is_regular() {
            self.file.set_len(0).map_err(|e| {
                SetupError::new(format!(
                    "cannot empty {} {}: {e}",
                    self.flag,
                    self.path.display()
                ))
            })?;
        }
        Ok(self.keep())
    }

    /// `new`, written in full, put in the file's place: for a resumed run
    /// that rewrote the file. A crash at any moment leaves the old file or
    /// the new one.
    pub fn replace(self, new: Replacement) -> Result<Claimed, SetupError> {
        let file = new.commit().map_err(|e| {
            SetupError::new(format!(
                "cannot replace {} {}: {e}",
                self.flag,
                self.path.display()
            ))
        })?;
        Ok(Claimed {
            file,
            _lock: self.lock,
        })
    }

    fn open(path: &Path, flag: &'static str) -> Result<Output, SetupError> {
        let cannot =
            |e: io::Error| SetupError::new(format!("cannot open {flag} {}: {e}", path.display()));
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(cannot)?;
        let id = FileId::of(&file).map_err(cannot)?;
        Ok(Output {
            path: path.to_owned(),
            flag,
            file,
            id,
            lock: None,
        })
    }
}

/// A file this run writes from now on: appended to, and locked for as
/// long as it is open.
pub struct Claimed {
    file: File,
    _lock: Option<Lock>,
}

impl Claimed {
    /// The file itself, to read its length or cut a torn line off it.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Write for Claimed {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.file.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The files a run writes, checked and locked: records (`-o`; stdout
/// when none) and failures (`--failures`).
pub struct OutputFiles {
    /// `-o FILE`.
    pub records: Option<Output>,
    /// `--failures FILE`.
    pub failures: Option<Output>,
}

impl OutputFiles {
    /// Refuses `records` and `failures` if one is the input, before
    /// either is opened; then opens them without changing them, refuses
    /// them if they are one file, and locks them.
    pub fn open(
        records: Option<&Path>,
        failures: Option<&Path>,
        input: &InputFile,
    ) -> Result<OutputFiles, SetupError> {
        let named = [(records, "-o"), (failures, "--failures")];
        for (path, flag) in named.iter().filter_map(|&(path, flag)| Some((path?, flag))) {
            if input.id.is_some() && FileId::at(path) == input.id {
                return Err(SetupError::new(format!(
                    "{flag} {} is the input {}: writing it would destroy the jobs being read; \
                     give {flag} another name",
                    path.display(),
                    input.name,
                )));
            }
        }
        let mut records = records.map(|path| Output::open(path, "-o")).transpose()?;
        let mut failures = failures
            .map(|path| Output::open(path, "--failures"))
            .transpose()?;
        if let (Some(records), Some(failures)) = (&records, &failures)
            && records.id.is_some()
            && records.id == failures.id
        {
            return Err(SetupError::new(format!(
                "-o {} and --failures {} are one file: the failures would overwrite \
                 the records; give --failures another name",
                records.path.display(),
                failures.path.display()
            )));
        }
        for output in records.iter_mut().chain(&mut failures) {
            if output.is_regular() {
                output.lock = Some(Lock::take(&output.path, output.flag)?);
            }
        }
        Ok(OutputFiles { records, failures })
    }

    /// Both files emptied, for a new run.
    pub fn empty(self) -> Result<(Option<Claimed>, Option<Claimed>), SetupError> {
        Ok((
            self.records.map(Output::empty).transpose()?,
            self.failures.map(Output::empty).transpose()?,
        ))
    }
}

/// A new version of a file, written beside it (`.NAME.tb-host-new`) and
/// renamed over it once whole. Removed if dropped before then.
pub struct Replacement {
    path: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl Replacement {
    /// Starts the new version of `target`, empty.
    pub fn beside(target: &Path) -> io::Result<Replacement> {
        let mut name = std::ffi::OsString::from(".");
        name.push(target.file_name().unwrap_or_default());
        name.push(".tb-host-new");
        let path = target.with_file_name(name);
        let file = OpenOptions::new().append(true).create(true).open(&path)?;
        file.set_len(0)?;
        Ok(Replacement {
            path,
            target: target.to_owned(),
            file: Some(file),
        })
    }

    /// The new version, to write to.
    pub fn file(&self) -> &File {
        self.file
            .as_ref()
            .expect("a replacement is open until committed")
    }

    /// Puts the new version in place: to disk first, then renamed over
    /// the old one, then the rename to disk. Returns it, open for
    /// appending.
    fn commit(mut self) -> io::Result<File> {
        self.file().sync_all()?;
        fs::rename(&self.path, &self.target)?;
        let file = self.file.take().expect("a replacement is committed once");
        let dir = self
            .target
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty());
        File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
        Ok(file)
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}
