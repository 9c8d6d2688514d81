//! The server through a raw client and through reqwest: the routes, the
//! protocol (keep-alive, chunked bodies, limits), the handler chain, and
//! the faults that need a look at the bytes.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::wire::MAX_HEAD;
use crate::{Outcome, Reply, Request, Routes, Server, faults};

/// A response as the tests see it.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw client connection.
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(server: &Server) -> Conn {
        let stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn { stream, reader }
    }

    fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    /// Reads one response (Content-Length framed).
    fn read(&mut self) -> io::Result<Resp> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        let len: usize = resp
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        resp.body.resize(len, 0);
        self.reader.read_exact(&mut resp.body)?;
        Ok(resp)
    }

    fn get(&mut self, path: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        self.read().unwrap()
    }

    /// Whether the server closed the connection (EOF on the next read).
    fn closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0))
    }
}

fn get(server: &Server, path: &str) -> Resp {
    Conn::open(server).get(path)
}

#[test]
fn fast_route_is_counted_not_recorded() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    for path in ["/", "/fast", "/fast/1?x=y"] {
        let resp = conn.get(path);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.body, b"ok\n");
    }
    assert_eq!(server.total_hits(), 3);
    assert_eq!(server.hits("/fast/1"), 0);
    assert_eq!(server.hits("/"), 0);
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(server.url("/a"), format!("{}/a", server.base_url()));
}

#[test]
fn echo_records_headers_case_insensitively() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    conn.send(
        b"POST /echo/one?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing: Yes\r\nx-multi: a\r\n\
          X-Multi: b\r\nContent-Length: 5\r\n\r\nhello",
    );
    let resp = conn.read().unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(json["method"], "POST");
    assert_eq!(json["path"], "/echo/one?q=1");
    assert_eq!(json["headers"]["x-thing"], "Yes");
    assert_eq!(json["headers"]["x-multi"], "a, b");
    assert_eq!(json["body"], "hello");

    let seen = server.requests_to("/echo/one");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/echo/one?q=1");
    assert_eq!(seen[0].header("x-THING"), Some("Yes"));
    assert_eq!(seen[0].header("X-MULTI"), Some("a"));
    assert_eq!(seen[0].header("missing"), None);
    assert_eq!(seen[0].body, b"hello");
    assert_eq!(server.hits("/echo/one?q=1"), 0, "keys have no query");
}

#[test]
fn chunked_body_is_decoded() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    conn.send(
        b"PUT /echo/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
    );
    let resp = conn.read().unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(server.requests_to("/echo/chunked")[0].body, b"hello world");
    assert_eq!(
        conn.get("/fast").status,
        200,
        "still in step after the body"
    );
}

#[test]
fn flaky_fails_the_first_n_per_path() {
    let server = Server::start().unwrap();
    let statuses: Vec<u16> = (0..4)
        .map(|_| get(&server, "/flaky/k/2/503").status)
        .collect();
    assert_eq!(statuses, [503, 503, 200, 200]);
    assert_eq!(server.hits("/flaky/k/2/503"), 4);
    assert_eq!(
        get(&server, "/flaky/other/2/503").status,
        503,
        "own counter"
    );
    assert_eq!(get(&server, "/flaky/k/x/503").status, 400);
    assert_eq!(get(&server, "/flaky/k/1/99").status, 400);
    assert_eq!(get(&server, "/flaky/1/503").status, 400);
}

#[test]
fn reset_resets_then_answers() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    conn.send(b"GET /reset/k/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    let err = conn.read().expect_err("the first request is reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    assert_eq!(get(&server, "/reset/k/1").status, 200);
    assert_eq!(server.hits("/reset/k/1"), 2);
    assert_eq!(server.total_hits(), 2);
}

#[test]
fn set_cookie_sends_each_cookie_of_the_query() {
    let server = Server::start().unwrap();
    let resp = get(&server, "/set-cookie/k?c=a%3D1%3B%20Path%3D%2F&c=b%3D2&x=y");
    assert_eq!(resp.status, 200);
    let cookies: Vec<&str> = resp
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2"]);
}

#[test]
fn retry_after_once() {
    let server = Server::start().unwrap();
    let first = get(&server, "/retry-after/k/7");
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("7"));
    let second = get(&server, "/retry-after/k/7");
    assert_eq!(second.status, 200);
    assert_eq!(second.header("retry-after"), None);
    assert_eq!(get(&server, "/retry-after/k2/soon").status, 400);
}

#[test]
fn keep_alive_and_close() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    assert_eq!(conn.get("/json").status, 200);
    let resp = conn.get("/status/201");
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header("connection"), None);
    conn.send(b"GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n");
    let resp = conn.read().unwrap();
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(conn.closed());

    // HTTP/1.0: closed by default, kept with Connection: keep-alive.
    let mut conn = Conn::open(&server);
    conn.send(b"GET /fast HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        conn.read().unwrap().header("connection"),
        Some("keep-alive")
    );
    conn.send(b"GET /fast HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read().unwrap().status, 200);
    assert!(conn.closed());
}

#[test]
fn other_routes() {
    let server = Server::start().unwrap();
    let resp = get(&server, "/nope");
    assert_eq!(resp.status, 404);
    assert_eq!(server.hits("/nope"), 1);

    let json = get(&server, "/json");
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(value, serde_json::json!({"ok": true, "n": 42}));

    assert_eq!(get(&server, "/status/503").status, 503);
    assert_eq!(get(&server, "/status/204").status, 204);
    assert_eq!(get(&server, "/status/abc").status, 400);
    assert_eq!(get(&server, "/status/42").status, 400);
    assert_eq!(server.hits("/status/abc"), 1, "400s are recorded");

    let redirect = get(&server, "/redirect/2");
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.header("location"), Some("/redirect/1"));
    assert_eq!(get(&server, "/redirect/0").status, 200);

    let bytes = get(&server, "/bytes/1000");
    assert_eq!(bytes.body, vec![b'x'; 1000]);
    assert_eq!(get(&server, "/bytes/-1").status, 400);

    assert_eq!(get(&server, "/slow/20").status, 200);
    assert_eq!(get(&server, "/slow/soon").status, 400);
}

#[test]
fn bad_input_is_answered_not_panicked_on() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    conn.send(b"nonsense\r\n\r\n");
    assert_eq!(conn.read().unwrap().status, 400);
    assert!(conn.closed());

    let mut conn = Conn::open(&server);
    let huge = format!("GET /fast HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
    conn.send(huge.as_bytes());
    assert_eq!(conn.read().unwrap().status, 431);

    let mut conn = Conn::open(&server);
    conn.send(b"GET /fast HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!(conn.read().unwrap().status, 501);

    assert_eq!(get(&server, "/fast").status, 200, "still serving");
}

#[test]
fn reqwest_agrees() {
    let server = Server::start().unwrap();
    let client = reqwest::blocking::Client::new();
    for i in 0..20 {
        let resp = client
            .get(server.url(&format!("/fast/{i}")))
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().unwrap(), "ok\n");
    }
    let resp = client.get(server.url("/redirect/3")).send().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(server.hits("/redirect/0"), 1);
    let resp = client
        .post(server.url("/echo/reqwest"))
        .header("X-Test", "1")
        .body("data")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = &server.requests_to("/echo/reqwest")[0];
    assert_eq!(seen.header("x-test"), Some("1"));
    assert_eq!(seen.body, b"data");
    assert_eq!(
        client
            .head(server.url("/bytes/10"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(server.url("/bytes/10"))
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .len(),
        10
    );
}

#[test]
fn drop_stops_accepting() {
    let server = Server::start().unwrap();
    let addr = server.addr();
    // An idle keep-alive connection must not block the drop.
    let mut idle = Conn::open(&server);
    assert_eq!(idle.get("/fast").status, 200);
    drop(server);
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    assert!(refused.is_err(), "nothing listens after drop");
    // The open connection is served once more, then closed.
    let resp = idle.get("/fast");
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(idle.closed());
}

#[test]
fn the_first_handler_that_answers_wins_and_the_rest_fall_through() {
    let server = Server::builder()
        .handler(|req: &Request<'_>| {
            (req.path() == "/json").then(|| Reply::text(418, "mine").with("X-Mine", "1").into())
        })
        .handler(Routes)
        .start()
        .unwrap();
    let mine = get(&server, "/json");
    assert_eq!((mine.status, mine.body.as_slice()), (418, &b"mine\n"[..]));
    assert_eq!(mine.header("x-mine"), Some("1"));
    assert_eq!(
        server.hits("/json"),
        1,
        "recorded though the handler did not ask"
    );
    assert_eq!(get(&server, "/status/201").status, 201, "left to Routes");

    let bare = Server::builder().start().unwrap();
    assert_eq!(get(&bare, "/json").status, 404, "no handler: 404");
    assert_eq!(bare.hits("/json"), 1);
}

#[test]
fn a_script_runs_after_the_request_is_recorded() {
    let server = Server::builder()
        .handler(|req: &Request<'_>| {
            let position = req.position();
            Some(Outcome::Script(Box::new(move |conn| {
                let mut stream = conn.stream();
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{position}"
                )?;
                conn.close()
            })))
        })
        .start()
        .unwrap();
    let mut conn = Conn::open(&server);
    let first = conn.get("/scripted");
    assert_eq!(first.body, b"1", "position counts this request");
    assert!(conn.closed(), "the connection ends with the script");
    assert_eq!(get(&server, "/scripted").body, b"2");
}

#[test]
fn one_request_per_connection_closes_after_each_answer() {
    let server = Server::builder()
        .one_request_per_connection()
        .handler(Routes)
        .start()
        .unwrap();
    let mut conn = Conn::open(&server);
    let resp = conn.get("/fast");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(conn.closed());
    assert_eq!(server.total_hits(), 1);
}

#[test]
fn gigabyte_route_streams_a_declared_gigabyte() {
    let faults = faults::start().unwrap();
    let mut stream = TcpStream::connect(faults.addr()).expect("connect");
    stream
        .write_all(b"GET /gigabyte/self-test HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut received = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    while received.len() < 4 * 1024 * 1024 {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "the body goes on past 4 MiB");
        received.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&received[..200]);
    assert!(
        text.contains(&format!("Content-Length: {}\r\n", faults::GIGABYTE)),
        "{text}"
    );
    let body_start = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    assert!(received[body_start..].iter().all(|&b| b == b'x'));
    assert_eq!(faults.hits("/gigabyte/self-test"), 1);
}

#[test]
fn faults_answer_once_per_connection_and_leave_other_paths_to_a_404() {
    let faults = faults::start().unwrap();
    let mut conn = Conn::open(&faults);
    let first = conn.get("/burst/k/1");
    assert_eq!((first.status, first.body.as_slice()), (503, &b"busy\n"[..]));
    assert_eq!(first.header("connection"), Some("close"));
    assert!(conn.closed());
    assert_eq!(get(&faults, "/burst/k/1").status, 200);
    assert_eq!(get(&faults, "/fast").status, 404, "no standard routes");
    let looped = get(&faults, "/loop/k?q=1");
    assert_eq!(looped.header("location"), Some("/loop/k"));
    let ftp = get(&faults, "/scheme/k/ftp");
    let expected = format!("ftp://{}/ftp-target/k", faults.addr());
    assert_eq!(ftp.header("location"), Some(expected.as_str()));
}

#[test]
fn expect_continue_head_and_a_body_too_large() {
    let server = Server::start().unwrap();
    let mut conn = Conn::open(&server);
    conn.send(
        b"POST /echo/continue HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
          Content-Length: 5\r\n\r\n",
    );
    let mut line = String::new();
    conn.reader.read_line(&mut line).unwrap();
    conn.reader.read_line(&mut line).unwrap();
    assert_eq!(
        line, "HTTP/1.1 100 Continue\r\n\r\n",
        "before the body is sent"
    );
    conn.send(b"hello");
    assert_eq!(conn.read().unwrap().status, 200);
    assert_eq!(server.requests_to("/echo/continue")[0].body, b"hello");

    // HEAD: the headers a GET gets, and no body: the next answer follows.
    conn.send(b"HEAD /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut head = Vec::new();
    loop {
        line.clear();
        conn.reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_owned());
    }
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(head.contains(&"Content-Length: 10".to_owned()), "{head:?}");
    assert_eq!(conn.get("/fast").body, b"ok\n", "no body after the HEAD");

    let mut conn = Conn::open(&server);
    let big = 16 * 1024 * 1024 + 1;
    conn.send(format!("POST /echo/big HTTP/1.1\r\nContent-Length: {big}\r\n\r\n").as_bytes());
    assert_eq!(conn.read().unwrap().status, 413);
    assert!(conn.closed());
    assert_eq!(server.hits("/echo/big"), 0, "refused before it was read");
}

#[test]
fn a_rate_limited_server_counts_what_comes_during_its_pause() {
    let limited = crate::RateLimited::new(2);
    let server = Server::builder().handler(limited.clone()).start().unwrap();
    for remaining in ["1", "0"] {
        let ok = get(&server, "/a");
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(ok.header("x-ratelimit-remaining"), Some(remaining));
    }
    let refused = get(&server, "/b");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.header("x-ratelimit-reset"), Some("1"));
    assert_eq!(get(&server, "/c").status, 429, "on the wire: not counted");
    std::thread::sleep(crate::limited::ON_THE_WIRE + Duration::from_millis(20));
    get(&server, "/d");
    let counts = limited.counts();
    assert_eq!((counts.requests, counts.ok), (5, 2));
    assert!(counts.during_pause >= 1, "{counts:?}");
}
