//! `--compressed` end to end: a loopback server that sends its bodies in
//! gzip, deflate, br and zstd (encoded here, by the codings' own crates)
//! and records what was asked for; the records are of the decoded bodies,
//! a decompression bomb stops at `--body-limit` in bounded memory, and
//! without the flag nothing is asked for or decoded.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tb_host_tests::harness::{Scratch, tb_host};
use tb_host_tests::peak::tb_host_peak;
use tb_loopback::{Reply, Request, Server};

/// The body every coded route sends, before coding: text long enough to
/// compress well.
fn plain() -> &'static [u8] {
    static PLAIN: OnceLock<Vec<u8>> = OnceLock::new();
    PLAIN.get_or_init(|| {
        (0..2000)
            .map(|i| format!("line {i} of a body sent compressed\n"))
            .collect::<String>()
            .into_bytes()
    })
}

/// How many bytes the bomb inflates to: 128 MiB of zeros, from a body of
/// about 128 KiB.
const BOMB_EXPANDED: usize = 128 << 20;

/// `data` in `coding`.
fn encode(coding: &str, data: &[u8]) -> Vec<u8> {
    match coding {
        "gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        }
        "deflate" => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(data).unwrap();
            encoder.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                encoder.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        other => panic!("no coding {other}"),
    }
}

/// The gzip bomb: [`BOMB_EXPANDED`] zeros, encoded once.
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..BOMB_EXPANDED / zeros.len() {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    })
}

/// The server of the coded bodies, whatever the request accepts:
/// `/coded/{coding}/{key}` sends [`plain`] in `coding`, `/bomb/{key}` the
/// gzip bomb, `/broken/{key}` a body that says gzip and is not.
fn coded_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        Server::builder()
            .handler(|request: &Request<'_>| {
                let parts: Vec<&str> = request.path().split('/').collect();
                match parts.as_slice() {
                    ["", "coded", coding, _] => Some(
                        Reply::new(200, encode(coding, plain()))
                            .with("Content-Encoding", coding.to_string())
                            .into(),
                    ),
                    ["", "bomb", _] => Some(
                        Reply::new(200, bomb())
                            .with("Content-Encoding", "gzip")
                            .into(),
                    ),
                    ["", "broken", _] => Some(
                        Reply::new(200, &b"this is not gzip at all"[..])
                            .with("Content-Encoding", "gzip")
                            .into(),
                    ),
                    _ => None,
                }
            })
            .start()
            .unwrap()
    })
}

fn hex_sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The one record of `tb-host run ARGS -` on `url`.
fn one(args: &[&str], url: &str) -> Value {
    let mut line = vec!["run"];
    line.extend_from_slice(args);
    line.push("-");
    let run = tb_host(&line, url);
    run.by_index(1)[&0].clone()
}

#[test]
fn compressed_asks_for_every_coding_and_records_each_decoded() {
    let server = coded_server();
    let scratch = Scratch::new("compressed-codings");
    let saved = scratch.path("bodies");
    let plain_text = std::str::from_utf8(plain()).unwrap();
    for coding in ["gzip", "deflate", "br", "zstd"] {
        let path = format!("/coded/{coding}/each");
        let record = one(
            &[
                "--compressed",
                "--record-body",
                "--save-bodies",
                saved.to_str().unwrap(),
            ],
            &server.url(&path),
        );
        assert_eq!(record["status"], 200, "{coding}: {record}");
        assert_eq!(record["content_encoding"], coding, "{record}");
        assert_eq!(record["bytes"], plain().len(), "{coding}: the decoded size");
        assert_eq!(
            record["sha256"],
            hex_sha256(plain()),
            "{coding}: the decoded hash"
        );
        assert_eq!(record["body"], plain_text, "{coding}: the decoded body");
        let file = record["body_path"].as_str().unwrap();
        assert_eq!(
            std::fs::read(file).unwrap(),
            plain(),
            "{coding}: saved decoded"
        );
        let seen = server.requests_to(&path);
        assert_eq!(
            seen[0].header("accept-encoding"),
            Some("gzip, deflate, br, zstd"),
            "{coding}: what was asked for"
        );
    }
}

#[test]
fn without_compressed_nothing_is_asked_for_or_decoded() {
    let server = coded_server();
    let path = "/coded/gzip/plain-run";
    let record = one(&[], &server.url(path));
    let encoded = encode("gzip", plain());
    assert_eq!(record["bytes"], encoded.len(), "as it came: {record}");
    assert_eq!(record["sha256"], hex_sha256(&encoded), "{record}");
    assert_eq!(
        record["content_encoding"], "gzip",
        "the record says what came"
    );
    assert_eq!(server.requests_to(path)[0].header("accept-encoding"), None);
    let uncoded = one(&[], &tb_host_tests::harness::server().url("/json"));
    assert!(
        uncoded.get("content_encoding").is_none(),
        "absent when none came: {uncoded}"
    );
}

#[test]
fn an_accept_encoding_of_the_jobs_own_is_kept() {
    let server = coded_server();
    let path = "/coded/br/own-header";
    let record = one(
        &["--compressed", "-H", "Accept-Encoding: br"],
        &server.url(path),
    );
    assert_eq!(record["bytes"], plain().len(), "still decoded: {record}");
    assert_eq!(
        server.requests_to(path)[0].header("accept-encoding"),
        Some("br")
    );
}

#[test]
fn a_decompression_bomb_stops_at_the_body_limit_in_bounded_memory() {
    let server = coded_server();
    let compressed = bomb().len();
    assert!(
        compressed * 500 < BOMB_EXPANDED,
        "a real bomb: {compressed} bytes"
    );
    let url = server.url("/bomb/limited");
    let (run, peak_mib) = tb_host_peak(
        &[
            "run",
            "--compressed",
            "--body-limit",
            "1M",
            "--record-body",
            "-",
        ],
        &url,
    );
    let record = run.by_index(1)[&0];
    assert_eq!(record["error"]["kind"], "body", "{record}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains("1048576 bytes"), "{message}");
    assert_eq!(record["attempts"], 1, "not retried");
    assert!(peak_mib < 64.0, "peak {peak_mib:.0} MiB for a 128 MiB bomb");

    // Without a limit it is read whole, streamed: counted and hashed, never held.
    let (run, peak_mib) = tb_host_peak(&["run", "--compressed", "-"], &server.url("/bomb/whole"));
    let record = run.by_index(1)[&0];
    assert_eq!(record["bytes"], BOMB_EXPANDED, "{record}");
    assert!(peak_mib < 64.0, "peak {peak_mib:.0} MiB decoding 128 MiB");
}

#[test]
fn a_body_that_is_not_in_its_coding_fails_as_body() {
    let server = coded_server();
    let record = one(&["--compressed"], &server.url("/broken/once"));
    assert_eq!(record["error"]["kind"], "body", "{record}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains("not valid gzip"), "{message}");
    assert_eq!(server.hits("/broken/once"), 1, "not retried");
}

#[test]
fn the_library_decodes_by_default_as_requests_does() {
    use tb_host::{Pool, RequestDefaults};

    let server = coded_server();
    let url = server.url("/coded/zstd/library");
    let fetch = |decompress: Option<bool>| {
        let mut builder = Pool::builder().threads(1);
        if let Some(decompress) = decompress {
            builder = builder.decompress(decompress);
        }
        let mut pool = builder
            .from_urls([url.clone()], &RequestDefaults::default())
            .unwrap();
        pool.join_all();
        pool.responses().next().expect("a response")
    };
    let decoded = fetch(None);
    assert_eq!(decoded.body(), plain());
    assert_eq!(decoded.content_encoding(), Some("zstd"));
    let raw = fetch(Some(false));
    assert_eq!(raw.body(), encode("zstd", plain()));
    assert_eq!(raw.content_encoding(), Some("zstd"));
    let seen = server.requests_to("/coded/zstd/library");
    assert_eq!(
        seen[0].header("accept-encoding"),
        Some("gzip, deflate, br, zstd")
    );
    assert_eq!(seen[1].header("accept-encoding"), None);
}
