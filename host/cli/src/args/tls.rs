//! `run`'s TLS flags: which servers to trust and the client certificate,
//! as curl names them. Applied by `crate::tls::apply`, which reads the
//! files.

use std::path::PathBuf;

use clap::Args;

/// How every session does TLS. These are the operator's alone: no plugin
/// can change them.
#[derive(Debug, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// Trust the CA certificates in FILE (PEM; a bundle may hold several)
    /// instead of the system's roots, as curl's --cacert: a server's
    /// certificate must then chain to one of these (its intermediates sent
    /// by the server).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Accept any server certificate without checking it (expired,
    /// self-signed, another name): the connection is encrypted, but to a
    /// server nobody checked. Warns once at the start.
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Show the client certificate in FILE (PEM: the certificate first,
    /// then any intermediates) to servers that ask for one (mutual TLS).
    /// Its key comes from --key, or else from FILE itself.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The private key (PEM: PKCS#8, RSA or EC) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
}
