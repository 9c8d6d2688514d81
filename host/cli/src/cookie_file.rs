//! `--cookie-jar FILE`: the cookies every session starts with, read from a
//! Netscape `cookies.txt` (as curl's `-b FILE`), and what the sessions hold
//! at the end, written back to it (as curl's `-c FILE`).
//!
//! Cookies are credentials: their values are hidden from the log and the
//! records from the start ([`Hidden`]), a line that is not a cookie is
//! named by its number only, and the file is written with mode 0600, to a
//! temporary file beside it that is renamed over it once whole, so that a
//! crash leaves the old jar or the new one, never half of one.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::SetupError;
use super::logging::Hidden;
use tb_host::Cookie;
use tb_host::cookies::netscape;

/// The cookies of the jar at `path`, none if there is no file yet; their
/// values are hidden from now on. Lines that are not cookies are skipped
/// with a warning. A file that cannot be read, or a directory where the
/// jar cannot be written at the end, is a set-up error: better now than
/// after the run.
pub fn load(path: &Path, hidden: &Hidden) -> Result<Vec<Cookie>, SetupError> {
    let shown = path.display();
    let cookies = match std::fs::read(path) {
        Ok(bytes) => {
            let (cookies, errors) = netscape::read(&String::from_utf8_lossy(&bytes));
            for error in errors {
                tracing::warn!("--cookie-jar {shown} {error}; skipped");
            }
            cookies
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            return Err(SetupError::new(format!(
                "cannot read --cookie-jar {shown}: {error}"
            )));
        }
    };
    hidden.hide_values(cookies.iter().map(|cookie| cookie.value.clone()));
    tempfile::NamedTempFile::new_in(directory(path)).map_err(|error| {
        SetupError::new(format!(
            "--cookie-jar {shown} could not be written at the end: {error}"
        ))
    })?;
    Ok(cookies)
}

/// Replaces the jar at `path` with `cookies`, mode 0600, atomically.
pub fn save(path: &Path, cookies: &[Cookie]) -> anyhow::Result<()> {
    let shown = path.display();
    let mut file = tempfile::NamedTempFile::new_in(directory(path))
        .with_context(|| format!("cannot write --cookie-jar {shown}"))?;
    file.write_all(netscape::write(cookies).as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write --cookie-jar {shown}"))?;
    file.persist(path)
        .with_context(|| format!("cannot replace --cookie-jar {shown}"))?;
    Ok(())
}

/// The directory the jar at `path` is in.
fn directory(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_jar_is_read_hidden_and_written_back_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cookies.txt");
        let hidden = Hidden::default();
        assert_eq!(load(&path, &hidden).unwrap(), [], "no file yet");
        std::fs::write(
            &path,
            "h.test\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t-value\nnot a cookie\n",
        )
        .unwrap();
        let cookies = load(&path, &hidden).unwrap();
        assert_eq!(cookies.len(), 1);
        assert_eq!(hidden.shown("sid=s3cr3t-value"), "sid=[redacted]");
        save(&path, &cookies).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("h.test\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t-value\n"),
            "{text}"
        );
        let error = load(&dir.path().join("no/such/dir/jar.txt"), &hidden)
            .unwrap_err()
            .to_string();
        assert!(error.contains("could not be written"), "{error}");
    }
}
