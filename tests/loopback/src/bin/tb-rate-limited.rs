//! A rate-limited API on loopback, for benchmarks (`benches/bench.sh`'s
//! polite scenario): `tb-rate-limited PER_SECOND [--without-quota]`
//! prints its base URL (`http://127.0.0.1:PORT`) on a line of its own,
//! serves until its stdin is closed, then prints what it saw as one JSON
//! object: `{"requests", "ok", "limited", "during_pause"}` (see
//! [`tb_loopback::limited`]).

use std::io::{BufRead, Write};

use tb_loopback::{RateLimited, Server};

fn main() {
    let mut args = std::env::args().skip(1);
    let per_second = args.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
        eprintln!("usage: tb-rate-limited PER_SECOND [--without-quota]");
        std::process::exit(2)
    });
    let mut limited = RateLimited::new(per_second);
    if args.next().as_deref() == Some("--without-quota") {
        limited = limited.without_quota();
    }
    let server = Server::builder()
        .handler(limited.clone())
        .start()
        .expect("start the server");
    println!("{}", server.base_url());
    std::io::stdout().flush().expect("stdout");
    for _ in std::io::stdin().lock().lines() {}
    let counts = limited.counts();
    println!(
        "{}",
        serde_json::json!({
            "requests": counts.requests,
            "ok": counts.ok,
            "limited": counts.limited,
            "during_pause": counts.during_pause,
        })
    );
}
