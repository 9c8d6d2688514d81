//! The plugin's configuration: the `KEY=VALUE` pairs the operator passes
//! with `--plugin-config NAME:KEY=VALUE` (bare `KEY=VALUE` when only one
//! plugin is loaded). A plugin sees only its own keys, but ignoring keys
//! you do not know keeps a plugin easy to upgrade.
//!
//! Read it in [`Plugin::configure`](crate::Plugin::configure) and keep
//! the checked values in the plugin: an error there refuses the plugin
//! before any request is sent. Every error names the key and says what
//! was expected. Off `wasm32` the values come from
//! [`crate::testing::set_config`].
//!
//! ```
//! use std::time::Duration;
//! use guest_sdk::{config, testing};
//!
//! testing::set_config(&[("retries", "5"), ("timeout", "1.5s"), ("verbose", "yes")]);
//! assert_eq!(config::get_or("retries", 3u32), Ok(5));
//! assert_eq!(config::get_or("missing", 3u32), Ok(3));
//! assert_eq!(config::duration("timeout"), Ok(Some(Duration::from_millis(1500))));
//! assert_eq!(config::flag("verbose"), Ok(Some(true)));
//! ```
//!
//! # Secrets
//!
//! A secret given on the command line shows in the process list. The
//! operator can instead keep it in an environment variable, grant that
//! variable to the plugin (`--plugin-env NAME:VAR`) and name it with the
//! key's `-env` twin: [`secret`] reads `password=...` or
//! `password-env=VAR`, whichever was given.
//!
//! tb-host hides a secret from its logs and from the messages it records
//! (a plugin's errors included), and shows every other value, by the
//! key's name among other things: name a key that holds a secret so that
//! its last word says so (`client-secret`, `api-key`, `password`,
//! `session-token`; words with `secret`, `password`, `passwd`, `token`,
//! `key`, `credential`, `auth` or `signature`), and one that does not
//! otherwise (`token-url`, `client-id`), so an error can show it. An
//! operator can declare any key secret in the plugin's manifest.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

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

/// The value of `key` parsed as a `T`, or `default` if it was not given.
/// The error names the key and the value.
pub fn get_or<T>(key: &str, default: T) -> Result<T, String>
where
    T: FromStr,
    T::Err: Display,
{
    Ok(parse(key)?.unwrap_or(default))
}

/// The value of `key` as a duration, or `None` if it was not given: a
/// number (decimals allowed) and a unit, `ms`, `s`, `m` or `h`: `250ms`,
/// `1.5s`, `10m`. A bare number is refused, so no one guesses the unit.
pub fn duration(key: &str) -> Result<Option<Duration>, String> {
    let Some(value) = get(key) else {
        return Ok(None);
    };
    let text = value.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(invalid(
                key,
                &value,
                "expected a number and a unit: ms, s, m or h (as in 500ms or 30s)",
            ));
        }
    };
    match number.parse::<f64>() {
        Ok(number) if number.is_finite() => Duration::try_from_secs_f64(number * scale)
            .map(Some)
            .map_err(|error| invalid(key, &value, error)),
        _ => Err(invalid(key, &value, "expected a number before the unit")),
    }
}

/// The value of `key` as a yes/no switch, or `None` if it was not given:
/// `true`/`false`, `yes`/`no`, `on`/`off` or `1`/`0`, any case.
pub fn flag(key: &str) -> Result<Option<bool>, String> {
    let Some(value) = get(key) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(Some(true)),
        "false" | "no" | "off" | "0" => Ok(Some(false)),
        _ => Err(invalid(key, &value, "expected true or false")),
    }
}

/// A secret: the value of `key`, or of the environment variable that
/// `KEY-env` names (which the operator must grant with `--plugin-env`),
/// or `None` if neither was given. Giving both is an error, and so is an
/// empty value or a variable the plugin cannot see. No error shows the
/// secret.
///
/// ```
/// use guest_sdk::{config, testing};
///
/// testing::set_config(&[("password-env", "API_PASSWORD")]);
/// testing::set_env(&[("API_PASSWORD", "s3cret")]);
/// assert_eq!(config::secret("password"), Ok(Some("s3cret".to_owned())));
/// testing::set_env(&[]);
/// assert!(config::secret("password").unwrap_err().contains("--plugin-env"));
/// ```
pub fn secret(key: &str) -> Result<Option<String>, String> {
    let env_key = format!("{key}-env");
    let value = match (get(key), get(&env_key)) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "config keys `{key}` and `{env_key}` are both given: pass only one"
            ));
        }
        (Some(value), None) => value,
        (None, Some(variable)) => {
            let variable = variable.trim();
            crate::host::env(variable).ok_or_else(|| {
                format!(
                    "config key `{env_key}` names the environment variable {variable}, \
                     which this plugin cannot see: grant it with --plugin-env NAME:{variable} \
                     and make sure it is set"
                )
            })?
        }
        (None, None) => return Ok(None),
    };
    if value.trim().is_empty() {
        return Err(format!("config key `{key}` is empty"));
    }
    Ok(Some(value.trim().to_owned()))
}

/// Like [`secret`], but one of `key` and `KEY-env` must be given.
pub fn require_secret(key: &str) -> Result<String, String> {
    secret(key)?.ok_or_else(|| {
        format!(
            "config key `{key}` is required: pass --plugin-config {key}=VALUE, or \
             --plugin-config {key}-env=VAR with --plugin-env NAME:VAR"
        )
    })
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
    fn get_or_falls_back_only_when_absent() {
        set_config(&[("n", "7"), ("bad", "x")]);
        assert_eq!(get_or("n", 1u8), Ok(7));
        assert_eq!(get_or("missing", 1u8), Ok(1));
        assert!(get_or("bad", 1u8).unwrap_err().contains("`bad`"));
    }

    #[test]
    fn durations_need_a_unit() {
        set_config(&[
            ("ms", "250ms"),
            ("s", " 1.5 s "),
            ("m", "2m"),
            ("h", "1h"),
            ("bare", "30"),
            ("unit", "ms"),
            ("neg", "-1s"),
            ("week", "1w"),
        ]);
        assert_eq!(duration("ms"), Ok(Some(Duration::from_millis(250))));
        assert_eq!(duration("s"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(duration("m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(duration("h"), Ok(Some(Duration::from_secs(3600))));
        assert_eq!(duration("missing"), Ok(None));
        for key in ["bare", "unit", "neg", "week"] {
            let error = duration(key).unwrap_err();
            assert!(error.starts_with(&format!("config key `{key}`")), "{error}");
        }
    }

    #[test]
    fn flags_read_common_spellings() {
        set_config(&[("a", "YES"), ("b", "off"), ("c", "1"), ("d", "maybe")]);
        assert_eq!(flag("a"), Ok(Some(true)));
        assert_eq!(flag("b"), Ok(Some(false)));
        assert_eq!(flag("c"), Ok(Some(true)));
        assert_eq!(flag("missing"), Ok(None));
        assert!(flag("d").unwrap_err().contains("`d`"));
    }

    #[test]
    fn secrets_come_from_config_or_a_granted_variable() {
        crate::testing::set_env(&[("GRANTED", " from-env ")]);
        set_config(&[("key", "direct")]);
        assert_eq!(secret("key"), Ok(Some("direct".to_owned())));
        set_config(&[("key-env", "GRANTED")]);
        assert_eq!(require_secret("key"), Ok("from-env".to_owned()));
        set_config(&[("key", "a"), ("key-env", "GRANTED")]);
        assert!(secret("key").unwrap_err().contains("both"));
        set_config(&[("key-env", "NOT_GRANTED")]);
        let error = secret("key").unwrap_err();
        assert!(error.contains("--plugin-env NAME:NOT_GRANTED"), "{error}");
        set_config(&[("key", " ")]);
        assert!(secret("key").unwrap_err().contains("empty"));
        set_config(&[]);
        assert_eq!(secret("key"), Ok(None));
        assert!(require_secret("key").unwrap_err().contains("key-env=VAR"));
    }

    #[test]
    fn list_splits_trims_and_drops_empty_items() {
        set_config(&[("l", " a, b,,c ,"), ("empty", "")]);
        assert_eq!(list("l"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(list("empty"), Some(vec![]));
        assert_eq!(list("missing"), None);
    }
}
