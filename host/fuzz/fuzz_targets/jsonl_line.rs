//! The JSON-lines input (`tb-host run jobs.jsonl`, and the failures file a
//! run writes) over arbitrary bytes: [`JsonLines`] over a buffered reader,
//! and [`parse_job`] on the whole input as one text.
//!
//! Checks, beside "never panics": every line that is not blank yields
//! exactly one job or one error, carrying its line number, and the same one
//! `parse_job` gives for the line; and every job read round-trips: written
//! back with [`jsonl::encode`] (as the failures file is) it is one line that
//! `parse_job` reads as the same job.

#![no_main]

use std::io::BufReader;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tb_host::input::jsonl::{self, JsonLines, parse_job};
use tb_host::{Job, RequestDefaults};

fuzz_target!(|data: &[u8]| {
    // The first byte sets the reader's buffer size (1 to 64 bytes) and
    // whether the command line gave defaults.
    let Some((&config, input)) = data.split_first() else {
        return;
    };
    let defaults = if config & 0x80 == 0 {
        RequestDefaults::default()
    } else {
        RequestDefaults {
            method: "POST".to_owned(),
            headers: vec![
                ("Accept".to_owned(), "text/plain".to_owned()),
                ("X-Token".to_owned(), "t0k3n".to_owned()),
            ],
            body: Some(b"default body".to_vec().into()),
            content_type: Some("text/x-default".to_owned()),
            timeout: Some(Duration::from_millis(1500)),
            auth: None,
            cookies: Default::default(),
        }
    };
    let reader = BufReader::with_capacity(1 + usize::from(config % 64), input);
    let items: Vec<_> = JsonLines::new(reader, defaults.clone()).collect();

    let expected = expected_lines(input);
    assert_eq!(items.len(), expected.len(), "one job or error per line");
    for (item, (number, line)) in items.iter().zip(&expected) {
        if let Err(error) = item {
            assert_eq!(error.line, *number, "{error}");
            assert!(error.to_string().starts_with(&format!("line {number}: ")));
            assert!(error.text.len() <= 1024 + 64, "the text shown is cut off");
        }
        match line {
            Ok(text) => {
                let alone = parse_job(text, &defaults);
                assert_eq!(
                    item.as_ref().err().map(|e| &e.message),
                    alone.as_ref().err()
                );
                assert_eq!(item.as_ref().ok(), alone.as_ref().ok());
            }
            Err(()) => {
                let error = item
                    .as_ref()
                    .expect_err("a line that is not UTF-8 is an error");
                assert!(error.message.contains("UTF-8"), "{error}");
            }
        }
        if let Ok(job) = item {
            round_trip(job);
        }
    }

    if let Ok(text) = std::str::from_utf8(input) {
        match parse_job(text, &defaults) {
            Ok(job) => round_trip(&job),
            Err(message) => assert!(!message.is_empty()),
        }
    }
});

/// Checks that `job`, written as the failures file writes it, reads back as
/// the same job. Header order is kept only where it means something: when
/// a name repeats (written as pairs); unique names are written as an object.
fn round_trip(job: &Job) {
    let line = jsonl::encode(job);
    assert!(!line.contains('\n'), "one line: {line}");
    let back = parse_job(&line, &RequestDefaults::default())
        .unwrap_or_else(|error| panic!("{job:?} written as {line} does not read back: {error}"));
    assert!(back.auth.is_none(), "credentials are never written: {line}");
    assert!(back.cookies.is_empty(), "cookies are never written: {line}");
    // Credentials are not written: the rest reads back as it was.
    let mut job = job.clone();
    job.auth = None;
    job.cookies = Default::default();
    let job = &job;
    let repeats = job.headers.iter().enumerate().any(|(i, (name, _))| {
        job.headers[..i]
            .iter()
            .any(|(earlier, _)| earlier.eq_ignore_ascii_case(name))
    });
    if repeats {
        assert_eq!(&back, job, "written as {line}");
    } else {
        let sorted = |job: &Job| {
            let mut job = job.clone();
            job.headers.sort();
            job
        };
        assert_eq!(sorted(&back), sorted(job), "written as {line}");
    }
}

/// The lines that must yield a job or an error, with their numbers: lines
/// are split at `\n`, trimmed of ASCII white space, and blank ones skipped.
fn expected_lines(input: &[u8]) -> Vec<(u64, Result<&str, ()>)> {
    input
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(index, line)| (index as u64 + 1, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty())
        .map(|(number, line)| (number, std::str::from_utf8(line).map_err(|_| ())))
        .collect()
}
