//! TLS: which servers a pool's sessions trust, the certificate they show,
//! and why a handshake failed, in words.
//!
//! A pool builds one rustls configuration from its TLS options (the
//! `PoolBuilder` methods [`crate::PoolBuilder::add_root_certificates`],
//! [`crate::PoolBuilder::tls_built_in_root_certs`],
//! [`crate::PoolBuilder::danger_accept_invalid_certs`] and
//! [`crate::PoolBuilder::identity`]) when it starts, and every worker's
//! client gets a clone of it, which shares the
//! roots, the verifier, the client certificate and the session-resumption
//! cache through their `Arc`s: a configuration per worker was about 100 KiB
//! a worker for the whole run (see the README's performance section). A
//! pool with no TLS options shares one configuration, the system's roots,
//! with every other such pool of the process.
//!
//! These settings are the operator's alone: no hook can change them (a
//! plugin sees requests and sessions, never the TLS configuration), so a
//! plugin cannot weaken verification.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct};

/// Why TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The text given as certificates holds no PEM `CERTIFICATE` block.
    #[error("no PEM certificate found (a \"-----BEGIN CERTIFICATE-----\" block)")]
    NoCertificate,
    /// A PEM block could not be read.
    #[error("not a readable PEM file: {0}")]
    Pem(String),
    /// The text given as a private key holds no PEM private key.
    #[error(
        "no PEM private key found (a \"-----BEGIN PRIVATE KEY-----\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)"
    )]
    NoPrivateKey,
    /// Only the system's roots were to be dropped, and no other root given:
    /// no server could be trusted.
    #[error("no trusted root certificate: the system's roots are off and none was added")]
    NoRoots,
    /// rustls refused the settings: a client key that does not match its
    /// certificate, a key type it does not support, a crypto provider that
    /// supports no TLS version.
    #[error("{0}")]
    Refused(String),
}

/// Certificates read from PEM: roots to trust
/// ([`crate::PoolBuilder::add_root_certificates`]).
#[derive(Clone, Debug)]
pub struct Certificates(Vec<CertificateDer<'static>>);

impl Certificates {
    /// Every `CERTIFICATE` block of `pem` (a CA bundle: other blocks are
    /// skipped). At least one is required.
    pub fn from_pem(pem: &[u8]) -> Result<Certificates, TlsError> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(e.to_string()))?;
        if certificates.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        Ok(Certificates(certificates))
    }

    /// How many certificates there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never, for certificates read from PEM).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A client certificate and its private key, shown to servers that ask for
/// one (mutual TLS; [`crate::PoolBuilder::identity`]).
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// The certificate chain in `certificates` (the client's certificate
    /// first, then any intermediates) and the private key in `key` (PKCS#8,
    /// PKCS#1 or SEC1). Both may be the same text, as curl's `--cert` file
    /// that holds the key too. Whether the key matches the certificate is
    /// checked when the pool starts.
    pub fn from_pem(certificates: &[u8], key: &[u8]) -> Result<Identity, TlsError> {
        let Certificates(chain) = Certificates::from_pem(certificates)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey,
            other => TlsError::Pem(other.to_string()),
        })?;
        Ok(Identity { chain, key })
    }
}

/// How a pool's sessions do TLS; see the `PoolBuilder` methods that set
/// each part.
#[derive(Clone, Debug)]
pub(crate) struct TlsOptions {
    /// Whether the system's trusted roots are trusted.
    pub system_roots: bool,
    /// Roots trusted besides (or, without the system's, instead of) them.
    pub added_roots: Vec<CertificateDer<'static>>,
    /// Whether any certificate is accepted, unchecked (curl's `-k`).
    pub accept_invalid: bool,
    /// The client certificate, when servers ask for one.
    pub identity: Option<Identity>,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            system_roots: true,
            added_roots: Vec::new(),
            accept_invalid: false,
            identity: None,
        }
    }
}

impl TlsOptions {
    /// Adds `certificates` to the roots trusted.
    pub fn add_roots(&mut self, certificates: Certificates) {
        self.added_roots.extend(certificates.0);
    }

    /// Whether nothing is set: the system's roots, checked, no client
    /// certificate.
    pub fn is_default(&self) -> bool {
        self.system_roots
            && self.added_roots.is_empty()
            && !self.accept_invalid
            && self.identity.is_none()
    }

    /// The configuration for these options: the process-wide one when
    /// nothing is set, else one built now, for one pool to share.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        if !self.is_default() {
            return self.build().map(Arc::new);
        }
        static DEFAULT: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                TlsOptions::default()
                    .build()
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(TlsError::Refused)
    }

    /// Builds the configuration: the roots (the system's read once per
    /// process, `SSL_CERT_FILE` and `SSL_CERT_DIR` honoured), the
    /// verifier, the client certificate, and what reqwest would set itself
    /// (its crypto provider, TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`,
    /// SNI).
    fn build(&self) -> Result<ClientConfig, TlsError> {
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| TlsError::Refused(e.to_string()))?;
        let builder = if self.accept_invalid {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            let mut roots = rustls::RootCertStore::empty();
            if self.system_roots {
                roots.extend(system_roots().roots.iter().cloned());
            }
            let (_, unusable) = roots.add_parsable_certificates(self.added_roots.iter().cloned());
            if unusable > 0 {
                return Err(TlsError::Refused(format!(
                    "{unusable} of the root certificates given cannot be used as trust anchors"
                )));
            }
            if roots.is_empty() {
                return Err(TlsError::NoRoots);
            }
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Refused(e.to_string()))?;
            builder.with_webpki_verifier(verifier)
        };
        let mut config = match &self.identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|e| {
                    TlsError::Refused(format!("the client certificate cannot be used: {e}"))
                })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// The system's trusted roots, read once per process.
fn system_roots() -> &'static rustls::RootCertStore {
    static ROOTS: OnceLock<rustls::RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!("reading the system's trusted certificates: {error}");
        }
        let (_, unusable) = roots.add_parsable_certificates(found.certs);
        if unusable > 0 {
            tracing::debug!("{unusable} of the system's trusted certificates could not be used");
        }
        roots
    })
}

/// The verifier of `accept_invalid` (curl's `-k`): any certificate, for any
/// name, from any issuer. The handshake's signatures are still checked, so
/// the connection is still encrypted to whoever holds the certificate's
/// key; only who that is goes unchecked.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS error among `error`'s causes, if any: rustls's own, or inside
/// the I/O error a TLS stream returns.
pub(crate) fn tls_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // An I/O error's `source` skips the error it wraps (which may
        // wrap another): look inside.
        cause = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

/// Why a TLS connection failed, in words an operator can act on.
pub(crate) fn explain(error: &rustls::Error) -> String {
    use CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            C::UnknownIssuer => "the server's certificate is not signed by a CA this run trusts \
                 (unknown issuer; --cacert FILE names a CA to trust)"
                .into(),
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet".into()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is not for this host name (name mismatch)".into()
            }
            C::Revoked => "the server's certificate is revoked".into(),
            C::BadSignature => "the server's certificate has a bad signature".into(),
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "the server's certificate is not one for a TLS server".into()
            }
            _ => "the server's certificate was refused".into(),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::CertificateRequired => {
                "the server requires a client certificate (--cert FILE, --key FILE)".into()
            }
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied => {
                format!("the server refused the client certificate ({alert:?})")
            }
            AlertDescription::ProtocolVersion | AlertDescription::InsufficientSecurity => {
                format!(
                    "the server refused the handshake: no TLS version or cipher in common ({alert:?})"
                )
            }
            _ => format!("the server refused the handshake ({alert:?})"),
        },
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".into(),
        rustls::Error::InvalidMessage(_) => {
            "the server did not answer in TLS (plain HTTP on an https URL?)".into()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the handshake failed: no TLS version or cipher in common".into()
        }
        _ => "the TLS handshake failed".into(),
    }
}
