//! The URL-list input (`tb-host run urls.txt`) over arbitrary bytes, read
//! the way a file is: through [`UrlLines`] over a buffered reader.
//!
//! Checks, beside "never panics": every line that is not blank and not a
//! comment (UTF-8 or not) yields exactly one job or one error, in order,
//! carrying its own line number; a job is the line's URL with the defaults, and that URL is
//! one the pool can fetch; an error names its line (`line N: ...`).

#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use tb_host::input::{UrlLines, check_url};
use tb_host::{Job, RequestDefaults};

fuzz_target!(|data: &[u8]| {
    // The first byte sets the reader's buffer size (1 to 64 bytes), so a
    // line arrives split over many reads, as a long line of a file does.
    let Some((&capacity, input)) = data.split_first() else {
        return;
    };
    let reader = BufReader::with_capacity(1 + usize::from(capacity % 64), input);
    let defaults = RequestDefaults::default();
    let items: Vec<_> = UrlLines::new(reader, defaults.clone()).collect();

    let expected = expected_lines(input);
    assert_eq!(
        items.len(),
        expected.len(),
        "one job or error per line that is not blank or a comment"
    );
    for (item, (number, line)) in items.iter().zip(&expected) {
        match (item, line) {
            (Ok(job), Ok(text)) => {
                let sent = check_url(text).expect("a line read as a job has a valid URL");
                assert_eq!(job, &Job::from_url(sent.as_str(), &defaults));
                assert_eq!(
                    check_url(&job.url).as_ref().map(reqwest::Url::as_str),
                    Ok(job.url.as_str()),
                    "a job's URL is in the form it is sent in"
                );
                let url = reqwest::Url::parse(&job.url).expect("a job's URL parses");
                assert!(matches!(url.scheme(), "http" | "https"));
                assert!(url.host_str().is_some_and(|host| !host.is_empty()));
            }
            (Err(error), _) => {
                assert_eq!(error.line, *number, "{error}");
                assert!(error.to_string().starts_with(&format!("line {number}: ")));
                assert!(!error.message.is_empty());
                assert!(error.text.len() <= 1024 + 64, "the text shown is cut off");
                match line {
                    Ok(text) => assert_eq!(check_url(text).err().as_ref(), Some(&error.message)),
                    Err(()) => assert!(error.message.contains("UTF-8"), "{error}"),
                }
            }
            (Ok(job), Err(())) => panic!("line {number} is not UTF-8, yet read as {job:?}"),
        }
    }
});

/// The lines that must yield a job or an error, with their numbers: lines
/// are split at `\n` and trimmed of ASCII white space; blank lines and
/// comments (`#`, whatever follows) are skipped.
fn expected_lines(input: &[u8]) -> Vec<(u64, Result<&str, ()>)> {
    input
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(index, line)| (index as u64 + 1, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with(b"#"))
        .map(|(number, line)| (number, std::str::from_utf8(line).map_err(|_| ())))
        .collect()
}
