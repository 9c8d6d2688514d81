//! Byte encodings that credentials travel in: standard base64 (HTTP Basic,
//! most token formats) and lower-case hex (digests and signatures).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `bytes` in standard base64 with padding (RFC 4648 section 4).
///
/// ```
/// assert_eq!(guest_sdk::encoding::base64("user:pass"), "dXNlcjpwYXNz");
/// ```
pub fn base64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// The bytes of standard, padded base64 `text`; the error says why it is
/// not base64 (it never echoes `text`, which may be a secret).
///
/// ```
/// assert_eq!(guest_sdk::encoding::base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
/// assert!(guest_sdk::encoding::base64_decode("not base64!").is_err());
/// ```
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .map_err(|error| format!("not valid base64: {error}"))
}

/// `bytes` as lower-case hex, two digits a byte.
///
/// ```
/// assert_eq!(guest_sdk::encoding::hex([0x00, 0xab, 0x10]), "00ab10");
/// ```
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = bytes.as_ref();
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain), encoded);
            assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn hex_covers_every_digit() {
        assert_eq!(
            hex([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
            "0123456789abcdef"
        );
        assert_eq!(hex([]), "");
    }
}
