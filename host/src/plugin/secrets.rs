//! The values an operator hands to plugins, kept out of everything tb-host
//! writes.
//!
//! A plugin's configuration and the environment variables granted to it
//! are where credentials live (`token=@file`, `--plugin-env API_KEY`). The
//! plugin may do what it likes with them inside its sandbox, but whatever
//! comes back out as text (its log lines, its error messages, the message
//! of a trap) passes through [`Secrets::redact`] first, and the command
//! line sends every log line through the same filter, so a careless or
//! hostile plugin cannot print them, nor can a dependency that logs a URL
//! a plugin signed.

use std::borrow::Cow;

use super::Grants;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not treated as secrets: they are flags and
/// small numbers (`retries=3`, `mode=query`) whose every occurrence would
/// otherwise be blotted out of messages, and no credential is this short.
pub const SECRET_MIN_LEN: usize = 6;

/// The suffix of a configuration key whose value is the name of an
/// environment variable, not a secret.
const NAMES_A_VARIABLE: &str = "-env";

/// A set of secret values to hide from text.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret that holds another is hidden whole.
    values: Vec<String>,
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

    /// The secrets handed to one plugin: its configuration's values and
    /// the values of the environment variables granted to it. A key
    /// ending in `-env` is the exception: by guest-sdk's convention
    /// (`key-env=API_KEY`) its value names a variable, which messages must
    /// be able to show; the variable's value is a secret.
    pub fn of_plugin(config: &[(String, String)], grants: &Grants) -> Secrets {
        Secrets::of_plugins([(config, grants)])
    }

    /// The secrets handed to any of `plugins`, given as (configuration,
    /// grants): everything a run must hide.
    pub fn of_plugins<'a>(
        plugins: impl IntoIterator<Item = (&'a [(String, String)], &'a Grants)>,
    ) -> Secrets {
        let mut secrets = Secrets::default();
        for (config, grants) in plugins {
            secrets.extend(
                config
                    .iter()
                    .filter(|(key, _)| !key.ends_with(NAMES_A_VARIABLE))
                    .map(|(_, value)| value.as_str())
                    .chain(grants.env_values()),
            );
        }
        secrets
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
                .filter(|value| value.len() >= SECRET_MIN_LEN),
        );
        self.values
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.values.dedup();
    }

    /// Whether there is nothing to hide.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret in it replaced by [`REDACTED`]; borrowed
    /// when there was none, which is nearly always.
    ///
    /// ```
    /// use tb_host::plugin::Secrets;
    ///
    /// let secrets = Secrets::new(["s3cr3t-token", "on"]);
    /// assert_eq!(
    ///     secrets.redact("sent s3cr3t-token, logging on"),
    ///     "sent [redacted], logging on"
    /// );
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for secret in &self.values {
            if text.contains(secret.as_str()) {
                text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
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
    fn short_values_are_not_secrets_and_clean_text_is_borrowed() {
        let secrets = Secrets::new(["3", "query", "longer-value"]);
        assert!(matches!(
            secrets.redact("retry 3 in query mode"),
            Cow::Borrowed(_)
        ));
        assert!(Secrets::new(["short"]).is_empty());
    }

    #[test]
    fn a_key_env_value_names_a_variable_and_is_shown() {
        let config = [
            ("key-env".to_owned(), "WEATHER_KEY".to_owned()),
            ("token".to_owned(), "t0k3n-value".to_owned()),
        ];
        let grants = Grants::default().env("WEATHER_KEY", "k3y-value");
        let secrets = Secrets::of_plugin(&config, &grants);
        assert_eq!(
            secrets.redact("WEATHER_KEY=k3y-value token=t0k3n-value"),
            "WEATHER_KEY=[redacted] token=[redacted]"
        );
    }

    #[test]
    fn debug_shows_no_value() {
        let shown = format!("{:?}", Secrets::new(["s3cr3t-value"]));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
