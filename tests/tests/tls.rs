//! TLS end to end: HTTPS loopback servers whose certificates the test makes
//! itself (rcgen): a private CA trusted with `--cacert` (and only with it),
//! a chain through an intermediate, an expired certificate, a wrong name,
//! `-k` on a self-signed one, a server that requires a client certificate
//! (`--cert`, `--key`), and HTTP/2 chosen by ALPN.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;
use tb_host_tests::harness::{Scratch, tb_host, tb_host_env};
use tb_loopback::{Routes, Server};

/// The crypto the test servers use, whatever the process's default is.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate authority named `name`.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// An intermediate CA named `name`, signed by `root`.
fn intermediate(
    name: &str,
    root: &CertifiedIssuer<'static, KeyPair>,
) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), root).unwrap()
}

/// A certificate and its key, as PEM.
struct Leaf {
    cert: String,
    key: String,
}

/// A leaf certificate for `names` signed by `issuer` (`None`: by itself),
/// expired if `expired`.
fn leaf(names: &[&str], issuer: Option<&CertifiedIssuer<'static, KeyPair>>, expired: bool) -> Leaf {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let key = KeyPair::generate().unwrap();
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Leaf {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// The names the loopback server answers as.
const LOOPBACK: &[&str] = &["127.0.0.1", "localhost"];

/// A server's TLS configuration: `chain` (PEM, the leaf first) and `key`,
/// ALPN `alpn`, requiring a client certificate signed by `client_ca` if
/// given.
fn server_config(
    chain: &str,
    key: &str,
    client_ca: Option<&CertifiedIssuer<'static, KeyPair>>,
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(ca.der().clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// An HTTPS loopback server (HTTP/1.1, the standard routes) with `chain`
/// and `key`.
fn https(chain: &str, key: &str, client_ca: Option<&CertifiedIssuer<'static, KeyPair>>) -> Server {
    Server::builder()
        .tls(server_config(chain, key, client_ca, &[b"http/1.1"]))
        .handler(Routes)
        .start()
        .unwrap()
}

/// Writes `text` to `name` in `scratch`.
fn file(scratch: &Scratch, name: &str, text: &str) -> PathBuf {
    let path = scratch.path(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The one record of a run of `tb-host run ARGS -` on `url`.
fn one(args: &[&str], url: &str) -> (Value, String) {
    let mut line = vec!["run"];
    line.extend_from_slice(args);
    line.push("-");
    let run = tb_host(&line, url);
    let record = run.by_index(1)[&0].clone();
    (record, run.stderr)
}

/// Panics unless `record` failed as `tls` with a message that says `why`.
fn fails_tls(record: &Value, why: &str) {
    assert_eq!(record["error"]["kind"], "tls", "{record}");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains(why), "{why:?} not in {message:?}");
}

#[test]
fn a_private_ca_is_trusted_with_cacert_and_only_then() {
    let scratch = Scratch::new("tls-private-ca");
    let root = ca("tb-host test root");
    let server_leaf = leaf(LOOPBACK, Some(&root), false);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    let cacert = file(&scratch, "ca.pem", &root.pem());
    let url = server.url("/echo/private-ca");

    let (record, _) = one(&["--cacert", cacert.to_str().unwrap()], &url);
    assert_eq!(record["status"], 200, "{record}");
    assert_eq!(
        record["http_version"], "HTTP/1.1",
        "the server offers http/1.1 only"
    );

    let (record, _) = one(&[], &url);
    fails_tls(&record, "unknown issuer");
    assert_eq!(
        server.hits("/echo/private-ca"),
        1,
        "only the trusted run got through"
    );
}

#[test]
fn cacert_replaces_the_system_roots() {
    let scratch = Scratch::new("tls-replaces");
    let root = ca("tb-host system root");
    let other = ca("tb-host other root");
    let server_leaf = leaf(LOOPBACK, Some(&root), false);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    // The system's roots, as rustls-native-certs reads them, are `root`.
    let system = file(&scratch, "system.pem", &root.pem());
    let other_ca = file(&scratch, "other.pem", &other.pem());
    let url = server.url("/echo/system");
    let env = [("SSL_CERT_FILE", system.to_str().unwrap())];
    let trusted = tb_host_env(&["run", "-"], &env, &url);
    assert_eq!(trusted.by_index(1)[&0]["status"], 200, "{}", trusted.stderr);
    let replaced = tb_host_env(
        &["run", "--cacert", other_ca.to_str().unwrap(), "-"],
        &env,
        &url,
    );
    fails_tls(replaced.by_index(1)[&0], "unknown issuer");
}

#[test]
fn a_chain_through_an_intermediate_reaches_the_root_in_cacert() {
    let scratch = Scratch::new("tls-chain");
    let root = ca("tb-host chain root");
    let middle = intermediate("tb-host intermediate", &root);
    let server_leaf = leaf(LOOPBACK, Some(&middle), false);
    let chain = format!("{}{}", server_leaf.cert, middle.pem());
    let server = https(&chain, &server_leaf.key, None);
    let cacert = file(&scratch, "root.pem", &root.pem());
    let (record, _) = one(
        &["--cacert", cacert.to_str().unwrap()],
        &server.url("/echo/chain"),
    );
    assert_eq!(record["status"], 200, "{record}");
    // Without the intermediate the server sent, the leaf has no path to the root.
    let alone = https(&server_leaf.cert, &server_leaf.key, None);
    let (record, _) = one(
        &["--cacert", cacert.to_str().unwrap()],
        &alone.url("/echo/chain"),
    );
    fails_tls(&record, "unknown issuer");
}

#[test]
fn an_expired_certificate_fails_saying_so() {
    let scratch = Scratch::new("tls-expired");
    let root = ca("tb-host expired root");
    let server_leaf = leaf(LOOPBACK, Some(&root), true);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    let cacert = file(&scratch, "ca.pem", &root.pem());
    let (record, _) = one(
        &["--cacert", cacert.to_str().unwrap()],
        &server.url("/echo/expired"),
    );
    fails_tls(&record, "has expired");
}

#[test]
fn a_certificate_for_another_name_fails_as_a_name_mismatch() {
    let scratch = Scratch::new("tls-name");
    let root = ca("tb-host name root");
    let server_leaf = leaf(&["other.example"], Some(&root), false);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    let cacert = file(&scratch, "ca.pem", &root.pem());
    let (record, _) = one(
        &["--cacert", cacert.to_str().unwrap()],
        &server.url("/echo/name"),
    );
    fails_tls(&record, "name mismatch");
    assert!(
        record["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other.example"),
        "the names the certificate is for are shown: {record}"
    );
}

#[test]
fn insecure_accepts_a_self_signed_certificate_and_warns_once() {
    let server_leaf = leaf(LOOPBACK, None, false);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    let urls = format!(
        "{}\n{}\n",
        server.url("/echo/insecure/0"),
        server.url("/echo/insecure/1")
    );
    let run = tb_host(&["run", "-k", "-j", "2", "-"], &urls);
    let records = run.by_index(2);
    assert!(
        records.values().all(|r| r["status"] == 200),
        "{:?}",
        run.records
    );
    assert_eq!(
        run.stderr.matches("--insecure").count(),
        1,
        "one warning per run: {}",
        run.stderr
    );
    let checked = tb_host(&["run", "-"], &urls);
    fails_tls(checked.by_index(2)[&0], "unknown issuer");
    assert!(!checked.stderr.contains("--insecure"), "{}", checked.stderr);
}

#[test]
fn a_server_that_requires_a_client_certificate_is_reached_with_one_only() {
    let scratch = Scratch::new("tls-mtls");
    let root = ca("tb-host mtls server root");
    let clients = ca("tb-host client CA");
    let strangers = ca("tb-host stranger CA");
    let server_leaf = leaf(LOOPBACK, Some(&root), false);
    let server = https(&server_leaf.cert, &server_leaf.key, Some(&clients));
    let cacert = file(&scratch, "ca.pem", &root.pem());
    let cacert = cacert.to_str().unwrap();
    let client = leaf(&["client.example"], Some(&clients), false);
    let cert = file(&scratch, "client.pem", &client.cert);
    let key = file(&scratch, "client.key", &client.key);
    let both = file(
        &scratch,
        "both.pem",
        &format!("{}{}", client.cert, client.key),
    );
    let stranger = leaf(&["stranger.example"], Some(&strangers), false);
    let stranger_cert = file(&scratch, "stranger.pem", &stranger.cert);
    let stranger_key = file(&scratch, "stranger.key", &stranger.key);
    let url = server.url("/echo/mtls");

    let (record, stderr) = one(
        &[
            "--cacert",
            cacert,
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &url,
    );
    assert_eq!(record["status"], 200, "{record} {stderr}");
    let (record, _) = one(
        &["--cacert", cacert, "--cert", both.to_str().unwrap()],
        &url,
    );
    assert_eq!(
        record["status"], 200,
        "the key in the --cert file: {record}"
    );
    assert_eq!(server.hits("/echo/mtls"), 2);

    let (record, _) = one(&["--cacert", cacert], &url);
    fails_tls(&record, "requires a client certificate");
    let (record, _) = one(
        &[
            "--cacert",
            cacert,
            "--cert",
            stranger_cert.to_str().unwrap(),
            "--key",
            stranger_key.to_str().unwrap(),
        ],
        &url,
    );
    fails_tls(&record, "refused the client certificate");
    assert_eq!(
        server.hits("/echo/mtls"),
        2,
        "no request got through without a good certificate"
    );
}

#[test]
fn a_key_that_does_not_match_its_certificate_is_a_set_up_error() {
    let scratch = Scratch::new("tls-mismatch");
    let a = leaf(&["a.example"], None, false);
    let b = leaf(&["b.example"], None, false);
    let cert = file(&scratch, "a.pem", &a.cert);
    let key = file(&scratch, "b.key", &b.key);
    let run = tb_host(
        &[
            "run",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "-",
        ],
        "http://127.0.0.1:1/\n",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("client certificate"), "{}", run.stderr);
    let missing = tb_host(&["run", "--cacert", "/no/such/ca.pem", "-"], "");
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("--cacert /no/such/ca.pem"),
        "{}",
        missing.stderr
    );
}

/// An HTTPS server that speaks HTTP/2 only (ALPN `h2`), answering every
/// request 200 with its path: HTTP/2 over TLS must still be chosen by
/// ALPN with the pool's own TLS configuration. It runs until the test
/// process ends.
fn h2_server(config: Arc<rustls::ServerConfig>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut connection) = h2::server::handshake(tls).await else {
                        return;
                    };
                    while let Some(Ok((request, mut respond))) = connection.accept().await {
                        let head = http::Response::builder().status(200).body(()).unwrap();
                        if let Ok(mut body) = respond.send_response(head, false) {
                            let text = format!("{} over h2\n", request.uri().path());
                            let _ = body.send_data(bytes::Bytes::from(text), true);
                        }
                    }
                });
            }
        });
    });
    addr
}

#[test]
fn http2_is_chosen_by_alpn_over_tls_with_the_pools_configuration() {
    let scratch = Scratch::new("tls-h2");
    let root = ca("tb-host h2 root");
    let server_leaf = leaf(LOOPBACK, Some(&root), false);
    let addr = h2_server(server_config(
        &server_leaf.cert,
        &server_leaf.key,
        None,
        &[b"h2"],
    ));
    let cacert = file(&scratch, "ca.pem", &root.pem());
    let (record, stderr) = one(
        &["--cacert", cacert.to_str().unwrap()],
        &format!("https://{addr}/h2"),
    );
    assert_eq!(record["status"], 200, "{record} {stderr}");
    assert_eq!(record["http_version"], "HTTP/2", "{record}");
    assert_eq!(record["bytes"], "/h2 over h2\n".len(), "{record}");
    // ALPN offers what the session may speak: HTTP/1.1 only, which this
    // server does not.
    let (record, _) = one(
        &["--cacert", cacert.to_str().unwrap(), "--http1.1"],
        &format!("https://{addr}/h1"),
    );
    fails_tls(&record, "refused the handshake");
}

#[test]
fn the_library_takes_the_same_tls_options() {
    use tb_host::tls::{Certificates, Identity};
    use tb_host::{Pool, PoolError, RequestDefaults};

    let root = ca("tb-host library root");
    let server_leaf = leaf(LOOPBACK, Some(&root), false);
    let server = https(&server_leaf.cert, &server_leaf.key, None);
    let roots = Certificates::from_pem(root.pem().as_bytes()).unwrap();
    assert_eq!(roots.len(), 1);
    let url = server.url("/echo/library");
    let mut pool = Pool::builder()
        .threads(2)
        .add_root_certificates(roots)
        .tls_built_in_root_certs(false)
        .from_urls([url.clone(), url], &RequestDefaults::default())
        .unwrap();
    pool.join_all();
    let statuses: Vec<u16> = pool.responses().map(|r| r.status()).collect();
    assert_eq!(
        statuses,
        [200, 200],
        "{:?}",
        pool.exceptions().collect::<Vec<_>>()
    );

    let no_roots = Pool::builder()
        .tls_built_in_root_certs(false)
        .from_urls(["https://127.0.0.1:1/"], &RequestDefaults::default());
    assert!(
        matches!(no_roots, Err(PoolError::Tls(_))),
        "no root to trust"
    );
    let a = leaf(&["a.example"], None, false);
    let b = leaf(&["b.example"], None, false);
    let mismatched = Identity::from_pem(a.cert.as_bytes(), b.key.as_bytes()).unwrap();
    let refused = Pool::builder()
        .identity(mismatched)
        .from_urls(["https://127.0.0.1:1/"], &RequestDefaults::default());
    let Err(PoolError::Tls(error)) = refused else {
        panic!("a key that is not the certificate's must stop the pool")
    };
    assert!(error.to_string().contains("client certificate"), "{error}");
    assert!(Certificates::from_pem(b"not pem").is_err());
}
