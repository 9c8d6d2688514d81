//! What `tb-host run` tells the operator, through the real binary: each
//! message names what went wrong and what to do, says nothing untrue, and
//! is coloured only on a terminal.

use std::time::Duration;

use tb_host_tests::harness::{self, Running, Scratch, server, tb_host};

#[test]
fn an_interrupt_names_its_signal_and_the_resume_command_not_unread_input() {
    let scratch = Scratch::new("messages-interrupt");
    let output = scratch.path("out.jsonl");
    // The whole input is read (and stdin closed) before the signal.
    let running = Running::start_closing_stdin(
        &["run", "-j", "1", "-o", output.to_str().unwrap(), "-"],
        &format!("{}\n", server().url("/slow/800?messages-interrupt")),
    );
    std::thread::sleep(Duration::from_millis(300));
    running.signal(libc::SIGINT);
    let (run, _) = running.finish_within(Duration::from_secs(30));
    let text = &run.stderr;
    assert_eq!(run.code, 130, "{text}");
    assert!(!text.contains("not read to its end"), "{text}");
    assert!(text.contains("SIGINT"), "names the signal: {text}");
    assert!(
        text.lines().any(|l| l.trim_end().ends_with("--resume")),
        "{text}"
    );
}

#[test]
fn a_proxy_that_cannot_be_reached_is_named_not_the_target() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = format!("http://127.0.0.1:{port}");
    let target = server().url("/echo/messages-proxy");
    let run = tb_host(&["run", "--proxy", &proxy], &target);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let record = run.by_index(1)[&0];
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains("proxy"), "{message}");
    assert!(message.contains(&proxy), "{message}");
    assert!(
        !message.contains(&target),
        "the target is not blamed: {message}"
    );
}

#[test]
fn a_timeout_too_large_says_it_is_too_large_and_the_maximum() {
    let run = tb_host(&["run", "--timeout", "1e20"], "");
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("not a positive"), "{}", run.stderr);
    assert!(run.stderr.contains("too large"), "{}", run.stderr);
    assert!(run.stderr.contains("at most 604800"), "{}", run.stderr);
}

#[test]
fn max_attempts_zero_is_refused() {
    let run = tb_host(&["run", "--max-attempts", "0"], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--max-attempts"), "{}", run.stderr);
    assert!(run.stderr.contains("at least 1"), "{}", run.stderr);
}

/// Whether `text` holds an ANSI colour (SGR) sequence: ESC `[`, digits and
/// `;`, then `m`.
fn has_colour(text: &str) -> bool {
    text.match_indices("\x1b[").any(|(at, _)| {
        let rest = &text[at + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(rest.len());
        rest[end..].starts_with('m')
    })
}

#[test]
fn log_lines_are_coloured_only_on_a_terminal_without_no_color() {
    let url = server().url("/echo/messages-colour");
    // Not a terminal: a log file.
    let piped = tb_host(&["run", "-vv", "-o", "/dev/null"], &url);
    assert!(piped.stderr.contains("DEBUG"), "{}", piped.stderr);
    assert!(!has_colour(&piped.stderr), "{:?}", piped.stderr);

    // A terminal with NO_COLOR set.
    let scratch = Scratch::new("messages-colour");
    let input = scratch.write_lines("urls.txt", &[url]);
    let command = format!(
        "NO_COLOR=1 {} run -vv -q -o /dev/null {}",
        harness::binary().display(),
        input.display()
    );
    let output = harness::on_a_terminal(&command);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("DEBUG"), "{shown:?}");
    assert!(!has_colour(&shown), "{shown:?}");
}
