//! Opening the files a run writes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::Context;

/// Opens `path` for writing: truncated for a new run, or appended to when
/// a run is resumed. `what` names the file in the error ("output file").
pub fn open_for_writing(path: &Path, append: bool, what: &str) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true);
    if append {
        options.append(true);
    } else {
        options.write(true).truncate(true);
    }
    options
        .open(path)
        .with_context(|| format!("cannot open {what} {}", path.display()))
}
