//! `Pool.from_urls`: fetch a list of URLs on a pool of workers, wait for
//! them all, then read the responses and the failures apart, as Python's
//! `requests_toolbelt.threaded.pool` does.
//!
//! ```sh
//! cargo run -p tb-host --example from_urls -- http://127.0.0.1:8080
//! ```

use tb_host::{Pool, RequestDefaults};

fn main() -> Result<(), tb_host::PoolError> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    // The last URL has no server behind it: it ends as a failure, not a panic.
    let urls = [
        format!("{base}/echo/a"),
        format!("{base}/status/404"),
        "http://127.0.0.1:1/".to_owned(),
    ];
    let mut pool = Pool::builder()
        .threads(4)
        .from_urls(urls, &RequestDefaults::default())?;
    pool.join_all();
    for response in pool.responses() {
        println!("response {} {}", response.status(), response.job().url);
    }
    for failure in pool.exceptions() {
        println!("failure {} {}", failure.kind(), failure.job().url);
    }
    Ok(())
}
