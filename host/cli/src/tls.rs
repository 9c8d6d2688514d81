//! `run`'s TLS flags applied: the CA file read and trusted in place of
//! the system's roots (as curl's `--cacert`), the client certificate and
//! key read, `-k` warned about once.

use std::path::Path;

use super::SetupError;
use super::args::TlsArgs;
use tb_host::PoolBuilder;
use tb_host::tls::{Certificates, Identity};

/// Applies `args` to `builder`. A file that cannot be read, or holds no
/// certificate or key, is a set-up error naming the flag and the file.
pub fn apply(mut builder: PoolBuilder, args: &TlsArgs) -> Result<PoolBuilder, SetupError> {
    if let Some(path) = &args.cacert {
        let pem = read("--cacert", path)?;
        let roots = Certificates::from_pem(&pem)
            .map_err(|e| SetupError::new(format!("--cacert {}: {e}", path.display())))?;
        builder = builder
            .add_root_certificates(roots)
            .tls_built_in_root_certs(false);
    }
    if let Some(cert) = &args.cert {
        let certificates = read("--cert", cert)?;
        let (flag, key_path) = match &args.key {
            Some(key) => ("--key", key.as_path()),
            None => ("--cert", cert.as_path()),
        };
        let key = if key_path == cert {
            certificates.clone()
        } else {
            read(flag, key_path)?
        };
        let identity = Identity::from_pem(&certificates, &key).map_err(|e| {
            SetupError::new(format!(
                "--cert {} (key from {flag} {}): {e}",
                cert.display(),
                key_path.display()
            ))
        })?;
        builder = builder.identity(identity);
    }
    if args.insecure {
        tracing::warn!(
            "-k/--insecure: server certificates are not checked; the connections are encrypted, but to servers nobody verified"
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// The contents of `path`, given to `flag`.
fn read(flag: &str, path: &Path) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path)
        .map_err(|e| SetupError::new(format!("cannot read {flag} {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flag_tests::{assert_shows, run_args};
    use tb_host::Pool;

    #[test]
    fn without_tls_flags_the_system_roots_are_trusted_and_checked() {
        let builder = apply(Pool::builder(), &run_args(&[]).tls).unwrap();
        assert_shows(
            &builder,
            &[
                "tls_system_roots: true",
                "tls_added_roots: 0",
                "tls_accept_invalid: false",
                "tls_identity: false",
            ],
        );
    }

    #[test]
    fn insecure_turns_checking_off() {
        let builder = apply(Pool::builder(), &run_args(&["-k"]).tls).unwrap();
        assert_shows(&builder, &["tls_accept_invalid: true"]);
    }

    #[test]
    fn a_cacert_that_is_missing_or_not_pem_is_named() {
        let error = |args: &[&str]| {
            apply(Pool::builder(), &run_args(args).tls)
                .err()
                .unwrap()
                .to_string()
        };
        let missing = error(&["--cacert", "/no/such/ca.pem"]);
        assert!(
            missing.contains("cannot read --cacert /no/such/ca.pem"),
            "{missing}"
        );
        let not_pem = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let text = error(&["--cacert", not_pem]);
        assert!(text.contains("no PEM certificate"), "{text}");
        let text = error(&["--cert", not_pem]);
        assert!(
            text.contains("--cert") && text.contains("no PEM certificate"),
            "{text}"
        );
    }
}
