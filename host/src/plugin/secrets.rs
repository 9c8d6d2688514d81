//! The values an operator hands to plugins, kept out of everything tb-host
//! writes.
//!
//! A plugin's configuration and the environment variables granted to it
//! are where credentials live (`token=@file`, `--plugin-env API_KEY`);
//! its [`Manifest`] says which of them are secret (see [`super::manifest`]
//! for the rule), and the rest, such as a token endpoint's URL, may be
//! shown. The plugin may do what it likes with the secrets inside its
//! sandbox, but whatever
//! comes back out as text (its log lines, its error messages, the message
//! of a trap) passes through [`Secrets::redact`] first, and the command
//! line sends every log line through the same filter, so a careless or
//! hostile plugin cannot print them, nor can a dependency that logs a URL
//! a plugin signed.
//!
//! A secret is hidden in every form the host, its dependencies or a plugin
//! may write it in, not only as given (see [`Secrets`]): `forms` lists a
//! secret's forms, and `percent` finds each of them however it was
//! percent-encoded.

mod forms;
mod percent;

use std::borrow::Cow;

use super::Manifest;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not treated as secrets: they are flags and
/// small numbers (`retries=3`, `mode=query`) whose every occurrence would
/// otherwise be blotted out of messages, and no credential is this short.
pub const SECRET_MIN_LEN: usize = 6;

/// A set of secret values to hide from text, in every form text may hold
/// them: as given; percent-encoded, whichever characters were encoded,
/// in either case of hex, a space also as `+`; in base64, standard or
/// URL-safe, of it or of it percent-encoded (as OAuth 2.0 clients put it
/// in Basic credentials), on its own or inside encoded text such as HTTP
/// Basic's `user:secret` (where the character at either end, which mixes
/// in the bytes around it, stays); and escaped in a JSON or Rust string.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret that holds another is hidden whole.
    values: Vec<Secret>,
}

/// One secret and the forms it may be written in.
#[derive(Clone)]
struct Secret {
    value: String,
    /// [`forms::of`] the value, the value itself among them.
    forms: Vec<String>,
}

impl Secrets {
    /// The secrets among `values`: every value at least
    /// [`SECRET_MIN_LEN`] bytes long.
    pub fn new<I, S>(values: I) -> Secrets
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets = Secrets::default();
        secrets.extend(values);
        secrets
    }

    /// Everything `manifests` hand to their plugins that must never be
    /// shown: their secret config values and the values of the variables
    /// granted to them (see [`super::manifest`] for which values are
    /// secret). Of one manifest for that plugin's own messages; of every
    /// manifest of a run for the log.
    pub fn of_manifests<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> Secrets {
        let mut secrets = Secrets::default();
        secrets.extend_of_manifests(manifests);
        secrets
    }

    /// Adds the secrets of `manifests` (see [`Secrets::of_manifests`]).
    pub fn extend_of_manifests<'a>(&mut self, manifests: impl IntoIterator<Item = &'a Manifest>) {
        for manifest in manifests {
            self.extend(manifest.secret_values());
        }
    }

    /// Adds the secrets among `values` to the set.
    pub fn extend<I, S>(&mut self, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.values.extend(
            values
                .into_iter()
                .map(Into::into)
                .filter(|value| value.len() >= SECRET_MIN_LEN)
                .map(|value| Secret {
                    forms: forms::of(&value),
                    value,
                }),
        );
        self.values.sort_by(|a, b| {
            (b.value.len().cmp(&a.value.len())).then_with(|| a.value.cmp(&b.value))
        });
        self.values.dedup_by(|a, b| a.value == b.value);
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret in it, in any of its forms (see
    /// [`Secrets`]), replaced by [`REDACTED`]; borrowed when there was
    /// none, which is nearly always.
    ///
    /// ```
    /// use tb_host::plugin::Secrets;
    ///
    /// let secrets = Secrets::new(["s3cr3t token", "on"]);
    /// assert_eq!(
    ///     secrets.redact("sent s3cr3t token, ?key=s3cr3t%20token, logging on"),
    ///     "sent [redacted], ?key=[redacted], logging on"
    /// );
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for form in self.values.iter().flat_map(|secret| &secret.forms) {
            if let Some(hidden) = percent::replace_all(&text, form, REDACTED) {
                text = Cow::Owned(hidden);
            }
        }
        text
    }

    /// Like [`Secrets::redact`], for text that is owned already.
    pub fn redact_owned(&self, text: String) -> String {
        match self.redact(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(redacted) => redacted,
        }
    }
}

/// Never the values themselves: how many there are.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_every_occurrence_and_the_longer_of_two_overlapping_secrets() {
        let secrets = Secrets::new(["abcdef", "abcdef-123456"]);
        assert_eq!(
            secrets.redact("abcdef-123456 and abcdef, abcdef"),
            "[redacted] and [redacted], [redacted]"
        );
    }

    #[test]
    fn a_secret_is_hidden_encoded_as_urls_forms_base64_and_json_write_it() {
        let secrets = Secrets::new([r#"SECRET KEY/777+x "ü" \ ÿ~"#]);
        for written in [
            "SECRET%20KEY%2F777%2Bx%20%22%C3%BC%22%20%5C%20%C3%BF~",
            "SECRET%20KEY%2f777%2bx%20%22%c3%bc%22%20%5c%20%c3%bf~",
            "SECRET+KEY%2F777%2Bx+%22%C3%BC%22+%5C+%C3%BF~",
            // The url crate's query encode set leaves `/`, `+` and `\`.
            r"SECRET%20KEY/777+x%20%22%C3%BC%22%20\%20%C3%BF~",
            "U0VDUkVUIEtFWS83NzcreCAiw7wiIFwgw79+",
            "U0VDUkVUIEtFWS83NzcreCAiw7wiIFwgw79-",
            // ... and in a URL, percent-encoded.
            "U0VDUkVUIEtFWS83NzcreCAiw7wiIFwgw79%2B",
            r#"SECRET KEY/777+x \"ü\" \\ ÿ~"#,
        ] {
            let text = format!("?appid={written}&x=1");
            assert_eq!(secrets.redact(&text), "?appid=[redacted]&x=1", "{written}");
        }
        // Basic `user:secret`: only a character at either end, which mixes
        // in the bytes around it, shows.
        let basic = "Basic dXNlcjpTRUNSRVQgS0VZLzc3Nyt4ICLDvCIgXCDDv34=";
        assert_eq!(secrets.redact(basic), "Basic dXNlcjp[redacted]4=");
    }

    #[test]
    fn short_values_are_not_secrets_and_clean_text_is_borrowed() {
        let secrets = Secrets::new(["3", "query", "longer-value"]);
        assert!(matches!(
            secrets.redact("retry 3 in query mode"),
            Cow::Borrowed(_)
        ));
        assert!(Secrets::new(["short"]).is_empty());
    }

    #[test]
    fn a_run_hides_the_secrets_of_every_manifest_and_shows_the_rest() {
        let api = Manifest {
            config: vec![
                ("key-env".to_owned(), "WEATHER_KEY".to_owned()),
                ("token".to_owned(), "t0k3n-value".to_owned()),
                (
                    "token-url".to_owned(),
                    "https://idp.example/token".to_owned(),
                ),
            ],
            env: vec![("WEATHER_KEY".to_owned(), "k3y-value".to_owned())],
            ..Manifest::new("api.wasm")
        };
        let other = Manifest {
            config: vec![("decoy".to_owned(), "declared-secret".to_owned())],
            secrets: vec!["decoy".to_owned()],
            ..Manifest::new("other.wasm")
        };
        let secrets = Secrets::of_manifests([&api, &other]);
        assert_eq!(
            secrets.redact(
                "WEATHER_KEY=k3y-value token=t0k3n-value at https://idp.example/token, declared-secret"
            ),
            "WEATHER_KEY=[redacted] token=[redacted] at https://idp.example/token, [redacted]"
        );
    }

    #[test]
    fn debug_shows_no_value() {
        let shown = format!("{:?}", Secrets::new(["s3cr3t-value"]));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
