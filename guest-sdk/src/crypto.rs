//! The hashes and MAC that HTTP authentication schemes are built from:
//! SHA-256 and HMAC-SHA256 (AWS Signature Version 4, HTTP Digest with
//! SHA-256) and MD5 (HTTP Digest as most servers still speak it).
//!
//! MD5 is broken for collision resistance; it is here only because
//! protocols still require it. Pair these with [`crate::encoding::hex`]
//! for the text forms protocols send.

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

/// The SHA-256 digest of `data`.
///
/// ```
/// use guest_sdk::{crypto, encoding};
/// assert_eq!(
///     encoding::hex(crypto::sha256("abc")),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
/// );
/// ```
pub fn sha256(data: impl AsRef<[u8]>) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The HMAC-SHA256 of `data` under `key` (RFC 2104).
///
/// ```
/// use guest_sdk::{crypto, encoding};
/// let mac = crypto::hmac_sha256("key", "The quick brown fox jumps over the lazy dog");
/// assert_eq!(
///     encoding::hex(mac),
///     "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
/// );
/// ```
pub fn hmac_sha256(key: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
        .expect("HMAC takes a key of any length");
    mac.update(data.as_ref());
    mac.finalize().into_bytes().into()
}

/// The MD5 digest of `data`, for protocols that still require it.
///
/// ```
/// use guest_sdk::{crypto, encoding};
/// assert_eq!(encoding::hex(crypto::md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
/// ```
pub fn md5(data: impl AsRef<[u8]>) -> [u8; 16] {
    Md5::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::hex;

    #[test]
    fn empty_inputs_match_the_published_digests() {
        assert_eq!(
            hex(sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
