//! The plugin's configuration: the `KEY=VALUE` pairs the operator passes
//! with `--plugin-config NAME:KEY=VALUE` (bare `KEY=VALUE` when only one
//! plugin is loaded). A plugin sees only its own keys, but ignoring keys
//! you do not know keeps a plugin easy to upgrade.
//!
//! Read it in [`Plugin::configure`](crate::Plugin::configure) and keep
//! the checked values in the plugin: an error there refuses the plugin
//! before any request is sent. Off `wasm32` the values come from
//! [`crate::testing::set_config`].

use std::fmt::Display;
use std::str::FromStr;

use crate::host;

/// The value of `key`, or `None` if the operator did not give it.
pub fn get(key: &str) -> Option<String> {
    host::config(key)
}

/// Every key given, in the order given. For open-ended keys such as
/// `header.<Name>`.
pub fn keys() -> Vec<String> {
    host::config_keys()
}

/// The value of `key`, which must be given and not blank. The error tells
/// the operator how to pass it.
pub fn require(key: &str) -> Result<String, String> {
    match get(key) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        Some(_) => Err(format!(
            "config key `{key}` is empty: pass --plugin-config {key}=VALUE"
        )),
        None => Err(format!(
            "config key `{key}` is required: pass --plugin-config {key}=VALUE"
        )),
    }
}

/// The value of `key` parsed as a `T` (surrounding whitespace ignored), or
/// `None` if it was not given. The error names the key and the value.
pub fn parse<T>(key: &str) -> Result<Option<T>, String>
where
    T: FromStr,
    T::Err: Display,
{
    let Some(value) = get(key) else {
        return Ok(None);
    };
    value
        .trim()
        .parse()
        .map(Some)
        .map_err(|error| invalid(key, &value, error))
}

/// The value of `key` as a comma-separated list, items trimmed and empty
/// items dropped, or `None` if it was not given. `a, b,,c` is
/// `["a", "b", "c"]`.
pub fn list(key: &str) -> Option<Vec<String>> {
    get(key).map(|value| {
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// The message for a value of `key` that the plugin cannot use, for
/// [`Plugin::configure`](crate::Plugin::configure) to return. Do not pass
/// a secret as `value`.
pub fn invalid(key: &str, value: &str, reason: impl Display) -> String {
    format!("config key `{key}` has invalid value `{value}`: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::set_config;

    #[test]
    fn get_and_keys_read_the_given_pairs() {
        set_config(&[("b", "1"), ("a", "2"), ("b", "3")]);
        assert_eq!(get("b").as_deref(), Some("3"));
        assert_eq!(get("missing"), None);
        assert_eq!(keys(), ["b", "a"]);
    }

    #[test]
    fn require_says_how_to_pass_the_key() {
        set_config(&[("blank", " ")]);
        assert_eq!(
            require("token").unwrap_err(),
            "config key `token` is required: pass --plugin-config token=VALUE"
        );
        assert_eq!(
            require("blank").unwrap_err(),
            "config key `blank` is empty: pass --plugin-config blank=VALUE"
        );
        set_config(&[("token", "abc")]);
        assert_eq!(require("token").unwrap(), "abc");
    }

    #[test]
    fn parse_names_key_and_value() {
        set_config(&[("n", " 42 "), ("bad", "forty")]);
        assert_eq!(parse::<u32>("n"), Ok(Some(42)));
        assert_eq!(parse::<u32>("missing"), Ok(None));
        let error = parse::<u32>("bad").unwrap_err();
        assert!(
            error.starts_with("config key `bad` has invalid value `forty`: "),
            "{error}"
        );
    }

    #[test]
    fn list_splits_trims_and_drops_empty_items() {
        set_config(&[("l", " a, b,,c ,"), ("empty", "")]);
        assert_eq!(list("l"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(list("empty"), Some(vec![]));
        assert_eq!(list("missing"), None);
    }
}
