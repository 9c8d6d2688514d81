//! Cookies, as a `requests.Session` keeps them: one worker logs in (the
//! server sets a session cookie), and its later requests carry it; a job
//! adds a cookie of its own (Python's `cookies=`) that the jar does not
//! keep; at the end, what the sessions hold, as a `cookies.txt` curl reads.
//!
//! ```sh
//! cargo run -p tb-host --example cookies -- http://127.0.0.1:8080
//! ```

use tb_host::cookies::netscape;
use tb_host::{Job, Pool};

fn main() -> Result<(), tb_host::PoolError> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    // One worker, so the login and the fetches share its session.
    let mut pool = Pool::builder().threads(1).keep_bodies(true).from_jobs([
        // The loopback server's `/set-cookie` sets what `c=` says.
        Job::get(format!(
            "{base}/set-cookie/login?c=sid%3Dw0rker-1%3B%20Path%3D%2F"
        )),
        Job::get(format!("{base}/echo/account")).cookie("lang", "en"),
    ])?;
    let jars = pool.cookie_jars();
    pool.join_all();
    let mut responses: Vec<_> = pool.responses().collect();
    responses.sort_by_key(|response| response.index());
    for cookie in responses[0].cookies() {
        println!(
            "the login set {} for {}{}",
            cookie.name, cookie.domain, cookie.path
        );
    }
    // `/echo` answers with the request it got, headers included.
    let echoed: serde_json::Value = responses[1].json().expect("the echo is JSON");
    println!("the next request sent {}", echoed["headers"]["cookie"]);
    print!("{}", netscape::write(&jars.cookies()));
    Ok(())
}
