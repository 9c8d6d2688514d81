//! HTTP authentication framing (RFC 9110 section 11): the `Basic`
//! credentials, and the challenges a server sends in `WWW-Authenticate`.
//!
//! ```
//! use guest_sdk::auth;
//!
//! let headers = vec![(
//!     "WWW-Authenticate".to_owned(),
//!     r#"Digest realm="api", nonce="abc", qop="auth", Basic realm="api""#.to_owned(),
//! )];
//! let challenges = auth::challenges(&headers);
//! assert_eq!(challenges[0].scheme, "Digest");
//! assert_eq!(challenges[0].param("NONCE"), Some("abc"));
//! assert_eq!(challenges[1].scheme, "Basic");
//! ```

use crate::{Headers, encoding, headers};

/// `Basic <base64(user:password)>`, the value of an `Authorization`
/// header (RFC 7617).
///
/// ```
/// assert_eq!(guest_sdk::auth::basic("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", encoding::base64(format!("{user}:{password}")))
}

/// `text` as an HTTP quoted-string: in double quotes, with `"` and `\`
/// escaped by a backslash.
///
/// ```
/// assert_eq!(guest_sdk::auth::quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
/// ```
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// One challenge from `WWW-Authenticate`: a scheme and its parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as the server wrote it (compare it case-insensitively).
    pub scheme: String,
    /// The parameters in order, names as written, values unquoted. A
    /// token68 (as in `Negotiate abc==`) has an empty name.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name`, compared case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(given, _)| given.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the scheme is `scheme`, compared case-insensitively.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// Every challenge in the `WWW-Authenticate` fields of `response_headers`,
/// in order. What cannot be read is skipped, not an error: a server's
/// odd challenge for another scheme must not stop a plugin.
pub fn challenges(response_headers: &Headers) -> Vec<Challenge> {
    headers::get_all(response_headers, "WWW-Authenticate")
        .flat_map(parse_challenges)
        .collect()
}

/// The challenges in one `WWW-Authenticate` value:
/// `1#( scheme [ 1*SP ( token68 / #auth-param ) ] )`.
pub fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut lexer = Lexer { rest: value };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        lexer.skip_separators();
        let Some(word) = lexer.token() else {
            if lexer.rest.is_empty() {
                return challenges;
            }
            // Not a token: skip the character and read on.
            lexer.bump();
            continue;
        };
        lexer.skip_spaces();
        if lexer.peek() == Some('=') {
            // `name=value`: a parameter of the current challenge, or a
            // token68 ending in `=` right after the scheme.
            let save = lexer.rest;
            lexer.bump();
            lexer.skip_spaces();
            let value = if lexer.peek() == Some('"') {
                lexer.quoted()
            } else {
                lexer.token().map(str::to_owned)
            };
            match (value, challenges.last_mut()) {
                (Some(value), Some(challenge)) => challenge.params.push((word.to_owned(), value)),
                _ => {
                    lexer.rest = save;
                    let padding = lexer.take_while(|c| c == '=');
                    if let Some(challenge) = challenges.last_mut() {
                        challenge
                            .params
                            .push((String::new(), format!("{word}{padding}")));
                    }
                }
            }
        } else {
            challenges.push(Challenge {
                scheme: word.to_owned(),
                params: Vec::new(),
            });
            // A token68 may follow the scheme directly.
            let save = lexer.rest;
            if let Some(token68) = lexer.token() {
                lexer.skip_spaces();
                if matches!(lexer.peek(), None | Some(',')) {
                    if let Some(challenge) = challenges.last_mut() {
                        challenge.params.push((String::new(), token68.to_owned()));
                    }
                } else {
                    lexer.rest = save;
                }
            }
        }
    }
}

/// A cursor over a header value.
struct Lexer<'a> {
    rest: &'a str,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) {
        let mut chars = self.rest.chars();
        chars.next();
        self.rest = chars.as_str();
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !keep(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn skip_spaces(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t');
    }

    fn skip_separators(&mut self) {
        self.take_while(|c| c == ' ' || c == '\t' || c == ',');
    }

    /// An HTTP token (or token68 body: `/` and `+` included), if one
    /// starts here.
    fn token(&mut self) -> Option<&'a str> {
        let token =
            self.take_while(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c));
        (!token.is_empty()).then_some(token)
    }

    /// A quoted-string starting here, unescaped; an unterminated one runs
    /// to the end.
    fn quoted(&mut self) -> Option<String> {
        self.bump();
        let mut value = String::new();
        let mut chars = self.rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => value.extend(chars.next()),
                c => value.push(c),
            }
        }
        self.rest = chars.as_str();
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(challenge: &Challenge) -> Vec<(&str, &str)> {
        challenge
            .params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn rfc_7616_challenges_with_two_algorithms() {
        let value = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let challenges = parse_challenges(value);
        assert_eq!(challenges.len(), 2);
        assert!(challenges.iter().all(|c| c.is("digest")));
        assert_eq!(challenges[0].param("algorithm"), Some("SHA-256"));
        assert_eq!(challenges[1].param("algorithm"), Some("MD5"));
        assert_eq!(challenges[1].param("qop"), Some("auth, auth-int"));
        assert_eq!(
            challenges[0].param("nonce"),
            Some("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v")
        );
    }

    #[test]
    fn escapes_token68_and_bare_schemes() {
        let challenges = parse_challenges(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Negotiate abc/+d==, Bare"#,
        );
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Newauth", "Basic", "Negotiate", "Bare"]);
        assert_eq!(
            pairs(&challenges[0]),
            [
                ("realm", "apps"),
                ("type", "1"),
                ("title", r#"Login to "apps""#)
            ]
        );
        assert_eq!(pairs(&challenges[2]), [("", "abc/+d==")]);
        assert!(challenges[3].params.is_empty());
    }

    #[test]
    fn every_field_is_read_and_junk_skipped() {
        let headers = vec![
            (
                "www-authenticate".to_owned(),
                "Basic realm=\"a\"".to_owned(),
            ),
            ("Other".to_owned(), "Digest x=1".to_owned()),
            (
                "WWW-Authenticate".to_owned(),
                ", ;;Bearer error=\"invalid_token\"".to_owned(),
            ),
        ];
        let found = challenges(&headers);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].param("error"), Some("invalid_token"));
        assert!(parse_challenges("").is_empty());
        assert_eq!(
            parse_challenges(r#"Digest nonce="unterminated"#)[0].param("nonce"),
            Some("unterminated")
        );
    }
}
