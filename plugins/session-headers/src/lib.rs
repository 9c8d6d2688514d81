//! # session-headers
//!
//! A tb-host plugin that adds fixed headers to every worker's session, so
//! every request of the run carries them (Python's session
//! `initializer`). It implements only `init_session`.
//!
//! | config key | meaning |
//! | --- | --- |
//! | `header.<Name>` | send header `<Name>` with this value; give one or more |
//!
//! ```text
//! tb-host run --plugin session_headers.wasm \
//!     --plugin-config header.X-Team=search --plugin-config header.Accept=application/json
//! ```
//!
//! A header the session already has is replaced. Header names are logged
//! at debug level; values never are.

use guest_sdk::{Plugin, SessionSettings, config, headers, log};

/// The prefix of the config keys that name a header.
const PREFIX: &str = "header.";

/// The plugin: the headers it adds, in the order given.
#[derive(Default)]
struct SessionHeaders {
    /// `(name, value)` pairs, checked.
    headers: Vec<(String, String)>,
}

#[guest_sdk::plugin]
impl Plugin for SessionHeaders {
    fn configure(&mut self) -> Result<(), String> {
        for key in config::keys() {
            let Some(name) = key.strip_prefix(PREFIX) else {
                continue;
            };
            if !headers::is_valid_name(name) {
                return Err(format!(
                    "config key `{key}`: `{name}` is not a valid header name \
                     (letters, digits and !#$%&'*+-.^_`|~ only)"
                ));
            }
            let value = config::get(&key).unwrap_or_default();
            if !headers::is_valid_value(&value) {
                return Err(format!(
                    "config key `{key}`: the value must not contain line breaks \
                     or other control characters"
                ));
            }
            self.headers.push((name.to_owned(), value));
        }
        if self.headers.is_empty() {
            return Err(format!(
                "no header given: pass --plugin-config {PREFIX}<Name>=VALUE \
                 (config key `{PREFIX}<Name>`) for each header to add"
            ));
        }
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        log::debug(&format!("adding to every session: {}", names.join(", ")));
        Ok(())
    }

    fn init_session(&mut self, mut session: SessionSettings) -> Result<SessionSettings, String> {
        for (name, value) in &self.headers {
            headers::set(&mut session.headers, name, value);
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::{HookSet, Level, testing};

    #[test]
    fn adds_every_configured_header() {
        testing::set_config(&[
            ("token", "ignored"),
            ("header.X-Team", "search"),
            ("header.Accept", "application/json"),
        ]);
        let mut plugin = testing::run::<SessionHeaders>().unwrap();
        let mut session = testing::session(3);
        headers::append(&mut session.headers, "accept", "*/*");
        headers::append(&mut session.headers, "X-Keep", "1");
        let session = plugin.init_session(session).unwrap();
        assert_eq!(session.worker, 3);
        assert_eq!(
            session.headers,
            [
                ("Accept".to_owned(), "application/json".to_owned()),
                ("X-Keep".to_owned(), "1".to_owned()),
                ("X-Team".to_owned(), "search".to_owned()),
            ]
        );
    }

    #[test]
    fn an_empty_value_is_allowed() {
        testing::set_config(&[("header.X-Empty", "")]);
        let mut plugin = testing::run::<SessionHeaders>().unwrap();
        let session = plugin.init_session(testing::session(0)).unwrap();
        assert_eq!(headers::get(&session.headers, "x-empty"), Some(""));
    }

    #[test]
    fn needs_at_least_one_header() {
        testing::set_config(&[("token", "x")]);
        let error = testing::run::<SessionHeaders>().err().unwrap();
        assert!(error.contains("header.<Name>"), "{error}");
    }

    #[test]
    fn refuses_invalid_names_and_values() {
        testing::set_config(&[("header.Bad Name", "x")]);
        let error = testing::run::<SessionHeaders>().err().unwrap();
        assert!(error.contains("`header.Bad Name`"), "{error}");
        testing::set_config(&[("header.", "x")]);
        let error = testing::run::<SessionHeaders>().err().unwrap();
        assert!(error.contains("`header.`"), "{error}");
        testing::set_config(&[("header.X-Split", "a\r\nb")]);
        let error = testing::run::<SessionHeaders>().err().unwrap();
        assert!(error.contains("`header.X-Split`"), "{error}");
    }

    #[test]
    fn only_init_session_is_a_hook_and_values_are_not_logged() {
        testing::set_config(&[("header.X-Api-Key", "s3cret")]);
        let info = testing::describe::<SessionHeaders>().unwrap();
        assert_eq!(info.name, "session-headers");
        assert_eq!(info.hooks, HookSet::INIT_SESSION);
        let logs = testing::take_logs();
        assert_eq!(
            logs,
            [(
                Level::Debug,
                "adding to every session: X-Api-Key".to_owned()
            )]
        );
    }
}
