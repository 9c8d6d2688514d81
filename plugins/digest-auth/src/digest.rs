//! The Digest computations of RFC 7616 section 3.4 (and RFC 2617's form
//! without `qop`), and the challenge state one worker keeps.

use guest_sdk::auth::{self, quote};
use guest_sdk::{crypto, encoding};

/// Who answers challenges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password; never logged.
    pub password: String,
}

/// The hash a challenge names, and whether it is a `-sess` variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `MD5`, the default when a challenge names none.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The algorithm called `name` (case-insensitive), if supported.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    /// Its name as sent back.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// The hex digest of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => encoding::hex(crypto::md5(data)),
            Algorithm::Sha256 | Algorithm::Sha256Sess => encoding::hex(crypto::sha256(data)),
        }
    }

    /// How much it is preferred when a server offers several.
    fn strength(self) -> u8 {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => 1,
            Algorithm::Sha256 | Algorithm::Sha256Sess => 2,
        }
    }
}

/// The `response` value: `KD(H(A1), nonce:nc:cnonce:qop:H(A2))` with
/// `qop=auth` (`counted` gives the nc and cnonce), or `KD(H(A1),
/// nonce:H(A2))` without `qop`.
pub fn response(
    algorithm: Algorithm,
    credentials: &Credentials,
    realm: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    counted: Option<(&str, &str)>,
) -> String {
    let mut ha1 = algorithm.hash(&format!(
        "{}:{realm}:{}",
        credentials.username, credentials.password
    ));
    if let (Algorithm::Md5Sess | Algorithm::Sha256Sess, Some((_, cnonce))) = (algorithm, counted) {
        ha1 = algorithm.hash(&format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    match counted {
        Some((nc, cnonce)) => algorithm.hash(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => algorithm.hash(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// A server's Digest challenge, and how many times this worker has
/// answered its nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The realm.
    pub realm: String,
    /// The nonce.
    pub nonce: String,
    /// The opaque value to send back, if any.
    pub opaque: Option<String>,
    /// The hash.
    pub algorithm: Algorithm,
    /// Whether the server offered `qop=auth` (else RFC 2617's form).
    pub qop_auth: bool,
    /// Whether the server said the previous nonce was stale.
    pub stale: bool,
    /// The nonce count used so far.
    pub nc: u32,
}

impl Challenge {
    /// The strongest Digest challenge among `challenges` that this plugin
    /// can answer: a known algorithm, and `qop` absent or offering `auth`.
    pub fn best(challenges: &[auth::Challenge]) -> Option<Challenge> {
        challenges
            .iter()
            .filter(|challenge| challenge.is("Digest"))
            .filter_map(Challenge::from_offer)
            .max_by_key(|challenge| challenge.algorithm.strength())
    }

    fn from_offer(offer: &auth::Challenge) -> Option<Challenge> {
        let algorithm = Algorithm::from_name(offer.param("algorithm").unwrap_or("MD5"))?;
        let qop_auth = match offer.param("qop") {
            None => false,
            Some(qop) => {
                if !qop
                    .split(',')
                    .any(|option| option.trim().eq_ignore_ascii_case("auth"))
                {
                    return None;
                }
                true
            }
        };
        Some(Challenge {
            realm: offer.param("realm")?.to_owned(),
            nonce: offer.param("nonce")?.to_owned(),
            opaque: offer.param("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            stale: offer
                .param("stale")
                .is_some_and(|stale| stale.eq_ignore_ascii_case("true")),
            nc: 0,
        })
    }

    /// The `Authorization` value answering this challenge for `method
    /// uri`, counting one more use of the nonce.
    pub fn answer(
        &mut self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        self.nc += 1;
        let nc = format!("{:08x}", self.nc);
        let counted = self.qop_auth.then_some((nc.as_str(), cnonce));
        let response = response(
            self.algorithm,
            credentials,
            &self.realm,
            method,
            uri,
            &self.nonce,
            counted,
        );
        let mut value = format!(
            "Digest username={}, realm={}, uri={}, algorithm={}, nonce={}",
            quote(&credentials.username),
            quote(&self.realm),
            quote(uri),
            self.algorithm.name(),
            quote(&self.nonce),
        );
        if self.qop_auth {
            value.push_str(&format!(", nc={nc}, cnonce={}, qop=auth", quote(cnonce)));
        }
        value.push_str(&format!(", response={}", quote(&response)));
        if let Some(opaque) = &self.opaque {
            value.push_str(&format!(", opaque={}", quote(opaque)));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 section 3.9.1: the same request answered with each
    /// algorithm.
    fn rfc_7616(algorithm: Algorithm) -> String {
        response(
            algorithm,
            &Credentials {
                username: "Mufasa".into(),
                password: "Circle of Life".into(),
            },
            "http-auth@example.org",
            "GET",
            "/dir/index.html",
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            Some(("00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")),
        )
    }

    #[test]
    fn rfc_7616_example_with_md5() {
        assert_eq!(rfc_7616(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn rfc_7616_example_with_sha_256() {
        assert_eq!(
            rfc_7616(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn rfc_2617_example_with_qop() {
        let credentials = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let value = response(
            Algorithm::Md5,
            &credentials,
            "testrealm@host.com",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(("00000001", "0a4f113b")),
        );
        assert_eq!(value, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn without_qop_the_rfc_2069_form_is_used() {
        let credentials = Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        let ha1 = encoding::hex(crypto::md5("Mufasa:testrealm@host.com:Circle Of Life"));
        let ha2 = encoding::hex(crypto::md5("GET:/dir/index.html"));
        let expected = encoding::hex(crypto::md5(format!("{ha1}:abc:{ha2}")));
        let value = response(
            Algorithm::Md5,
            &credentials,
            "testrealm@host.com",
            "GET",
            "/dir/index.html",
            "abc",
            None,
        );
        assert_eq!(value, expected);
        let mut challenge = Challenge::best(&auth::parse_challenges(
            r#"Digest realm="testrealm@host.com", nonce="abc""#,
        ))
        .unwrap();
        let answer = challenge.answer(&credentials, "GET", "/dir/index.html", "unused");
        assert!(
            !answer.contains("qop") && !answer.contains("nc="),
            "{answer}"
        );
        assert!(
            answer.contains(&format!("response=\"{expected}\"")),
            "{answer}"
        );
    }

    #[test]
    fn sess_variants_hash_the_nonces_into_ha1() {
        let credentials = Credentials {
            username: "u".into(),
            password: "p".into(),
        };
        let ha1 = encoding::hex(crypto::sha256("u:r:p"));
        let ha1 = encoding::hex(crypto::sha256(format!("{ha1}:n:c")));
        let ha2 = encoding::hex(crypto::sha256("GET:/"));
        let expected = encoding::hex(crypto::sha256(format!("{ha1}:n:00000001:c:auth:{ha2}")));
        let value = response(
            Algorithm::Sha256Sess,
            &credentials,
            "r",
            "GET",
            "/",
            "n",
            Some(("00000001", "c")),
        );
        assert_eq!(value, expected);
    }

    #[test]
    fn the_strongest_answerable_offer_wins() {
        let offers = auth::parse_challenges(
            r#"Digest realm="r", nonce="a", algorithm=MD5, qop="auth", Digest realm="r", nonce="b", algorithm=SHA-256, qop="auth-int, auth", Digest realm="r", nonce="c", algorithm=SHA-512-256"#,
        );
        let best = Challenge::best(&offers).unwrap();
        assert_eq!(
            (best.algorithm, best.nonce.as_str(), best.qop_auth),
            (Algorithm::Sha256, "b", true)
        );
        assert!(Challenge::best(&auth::parse_challenges(r#"Digest nonce="no-realm""#)).is_none());
    }
}
