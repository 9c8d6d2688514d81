//! `threaded.map`: the one-call form. Hand it the jobs, get back the
//! responses and the failures; each `Job` is a request as Python's
//! `request_kwargs` describes one (method, URL, headers, body, timeout).
//!
//! ```sh
//! cargo run -p tb-host --example threaded_map -- http://127.0.0.1:8080
//! ```

use std::time::Duration;

use tb_host::{Job, threaded};

fn main() -> Result<(), tb_host::PoolError> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    let mut post = Job::get(format!("{base}/echo/posted"))
        .method("POST")
        .header("Content-Type", "application/json");
    post.body = Some(br#"{"report":true}"#.to_vec().into());
    post.timeout = Some(Duration::from_secs(5));
    let jobs = vec![Job::get(format!("{base}/json")).method("HEAD"), post];
    let (responses, failures) = threaded::map(jobs)?;
    for response in &responses {
        println!(
            "{} {} {}",
            response.job().method,
            response.status(),
            response.job().url
        );
    }
    println!("{} responses, {} failures", responses.len(), failures.len());
    Ok(())
}
