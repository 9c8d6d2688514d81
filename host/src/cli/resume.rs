//! `--resume`: which jobs an earlier run of the same input already
//! recorded, read back from its output file.
//!
//! Records are written one whole line at a time, so a run that was killed
//! leaves at most one torn line, at the end. It is cut off here (the job it
//! belonged to runs again); a bad line anywhere else means the file is not
//! an output of `tb-host run`, and nothing is touched.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, bail};

/// The indexes recorded so far: a bitmap, so memory stays small even for
/// tens of millions of records.
#[derive(Default)]
pub struct Recorded {
    bits: Vec<u64>,
    count: u64,
}

impl Recorded {
    /// Whether the job with `index` has a record.
    pub fn contains(&self, index: u64) -> bool {
        let word = (index / 64) as usize;
        self.bits
            .get(word)
            .is_some_and(|bits| bits & (1 << (index % 64)) != 0)
    }

    /// How many distinct jobs have a record.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn insert(&mut self, index: u64) {
        let word = (index / 64) as usize;
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let bit = 1 << (index % 64);
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.count += 1;
        }
    }
}

/// Reads the records of `path` (none if it does not exist), cutting off a
/// torn last line.
pub fn scan(path: &Path) -> anyhow::Result<Recorded> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Recorded::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut recorded = Recorded::default();
    let mut line = Vec::new();
    let (mut number, mut whole) = (0u64, 0u64);
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            return Ok(recorded);
        }
        number += 1;
        let complete = line.ends_with(b"\n");
        match index_of(&line) {
            Some(index) if complete => {
                recorded.insert(index);
                whole += read as u64;
            }
            _ => {
                let at_end = reader.fill_buf().is_ok_and(|rest| rest.is_empty());
                if !at_end {
                    bail!(
                        "{} line {number} is not a record of tb-host run; \
                         --resume needs the output of an earlier run",
                        path.display()
                    );
                }
                tracing::warn!(
                    "{} ends with a torn line (line {number}); cutting it off",
                    path.display()
                );
                OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|file| file.set_len(whole))
                    .with_context(|| format!("cannot repair {}", path.display()))?;
                return Ok(recorded);
            }
        }
    }
}

/// The `index` of one record line, if it is one.
fn index_of(line: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Indexed {
        index: u64,
    }
    serde_json::from_slice::<Indexed>(line)
        .ok()
        .map(|r| r.index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("tb-resume-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_indexes_and_cuts_off_a_torn_last_line() {
        let path = file_with(
            "torn",
            "{\"index\":0,\"status\":200}\n{\"index\":2,\"status\":200}\n{\"index\":1,\"sta",
        );
        let recorded = scan(&path).unwrap();
        assert!(recorded.contains(0) && recorded.contains(2) && !recorded.contains(1));
        assert_eq!(recorded.count(), 2);
        let repaired = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            repaired,
            "{\"index\":0,\"status\":200}\n{\"index\":2,\"status\":200}\n"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_whole_line_without_its_newline_is_cut_off_too() {
        // Its newline may not have reached the disk: the job runs again.
        let path = file_with("no-newline", "{\"index\":0}\n{\"index\":1}");
        let recorded = scan(&path).unwrap();
        assert!(recorded.contains(0) && !recorded.contains(1));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_bad_line_in_the_middle_is_refused_and_nothing_is_cut() {
        let text = "{\"index\":0}\nnot json\n{\"index\":1}\n";
        let path = file_with("middle", text);
        let error = scan(&path).err().unwrap().to_string();
        assert!(error.contains("line 2"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_missing_file_has_no_records() {
        let recorded = scan(Path::new("/nonexistent/tb-host/out.jsonl")).unwrap();
        assert_eq!(recorded.count(), 0);
        assert!(!recorded.contains(0));
    }
}
