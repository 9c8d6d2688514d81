//! Results while the pool runs: unlike Python's pool, a caller need not
//! wait for `join_all` to see the first answers. `Pool::results` yields
//! each job as it ends, a response or a failure, exactly once, and ends
//! when every job has.
//!
//! ```sh
//! cargo run -p tb-host --example results_while_running -- http://127.0.0.1:8080
//! ```

use tb_host::{Pool, RequestDefaults};

fn main() -> Result<(), tb_host::PoolError> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    // A slow job among fast ones: the fast ones come out first.
    let mut urls = vec![format!("{base}/slow/300")];
    urls.extend((0..5).map(|i| format!("{base}/echo/fast/{i}")));
    let mut pool = Pool::builder()
        .threads(3)
        .from_urls(urls, &RequestDefaults::default())?;
    for result in pool.results() {
        match result {
            Ok(response) => println!("job {} answered {}", response.index(), response.status()),
            Err(failure) => println!("job {} failed: {}", failure.index(), failure.message()),
        }
    }
    Ok(())
}
