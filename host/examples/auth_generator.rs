//! A native `auth_generator` (Python's `auth_generator=`): every worker's
//! session gets a bearer token once, when it is built, and every request of
//! that worker carries it. No WebAssembly involved: the same hook as a
//! plugin's `auth-session`, written as a closure.
//!
//! ```sh
//! cargo run -p tb-host --example auth_generator -- http://127.0.0.1:8080
//! ```

use tb_host::{Pool, RequestDefaults};

fn main() -> Result<(), tb_host::PoolError> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or("http://127.0.0.1:8080".into());
    let mut pool = Pool::builder()
        .threads(2)
        .auth_generator(|mut session| {
            let token = format!("worker-{}-token", session.worker);
            session
                .headers
                .push(("Authorization".into(), format!("Bearer {token}")));
            Ok(session)
        })
        .keep_bodies(true)
        .from_urls(
            [format!("{base}/echo/authorized")],
            &RequestDefaults::default(),
        )?;
    pool.join_all();
    for response in pool.responses() {
        // `/echo` answers with the request it got, headers included.
        let echoed: serde_json::Value = response.json().expect("the echo is JSON");
        println!("sent {}", echoed["headers"]["authorization"]);
    }
    Ok(())
}
