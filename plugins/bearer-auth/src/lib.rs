//! # bearer-auth
//!
//! A tb-host plugin that sends `Authorization: Bearer <token>` with every
//! request, retries included, replacing any `Authorization` the request
//! had. It implements only `authorize`.
//!
//! | config key | meaning |
//! | --- | --- |
//! | `token` | the bearer token; required, without line breaks |
//!
//! ```text
//! tb-host run --plugin bearer_auth.wasm --plugin-config token=$TOKEN
//! ```
//!
//! The token is never logged, and never shown in an error message.

use guest_sdk::{ConfigKey, Plugin, Request, config, headers};

/// The plugin: the `Authorization` value it sends.
#[derive(Default)]
struct BearerAuth {
    /// `Bearer <token>`.
    authorization: String,
}

#[guest_sdk::plugin]
impl Plugin for BearerAuth {
    fn configure(&mut self) -> Result<(), String> {
        let token = config::require("token")?;
        if !headers::is_valid_value(&token) {
            return Err(
                "config key `token` must not contain line breaks or other control characters"
                    .to_owned(),
            );
        }
        self.authorization = format!("Bearer {}", token.trim());
        Ok(())
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        request.set_header("Authorization", &self.authorization)
    }

    fn config_keys() -> Option<Vec<ConfigKey>> {
        Some(vec![
            ConfigKey::new("token", "text", "the bearer token, one line")
                .required()
                .secret(),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::{HookSet, testing};

    #[test]
    fn sets_the_bearer_header_replacing_any_other() {
        testing::set_config(&[("token", "s3cret"), ("max-ms", "20")]);
        let mut plugin = testing::run::<BearerAuth>().unwrap();
        let mut request = testing::request("POST", "https://api.test/items");
        headers::append(&mut request.headers, "authorization", "Basic old");
        headers::append(&mut request.headers, "Accept", "*/*");
        plugin.authorize(&mut request).unwrap();
        assert_eq!(
            request.headers,
            [
                ("Authorization".to_owned(), "Bearer s3cret".to_owned()),
                ("Accept".to_owned(), "*/*".to_owned()),
            ]
        );
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://api.test/items");
    }

    #[test]
    fn token_is_required() {
        testing::set_config(&[]);
        let error = testing::run::<BearerAuth>().err().unwrap();
        assert!(error.contains("`token`"), "{error}");
        assert!(error.contains("--plugin-config token="), "{error}");
        testing::set_config(&[("token", "  ")]);
        assert!(testing::run::<BearerAuth>().is_err());
    }

    #[test]
    fn token_with_line_break_is_refused_without_echoing_it() {
        testing::set_config(&[("token", "abc\r\nX-Evil: 1")]);
        let error = testing::run::<BearerAuth>().err().unwrap();
        assert!(error.contains("`token`"), "{error}");
        assert!(!error.contains("abc"), "the token leaked: {error}");
    }

    #[test]
    fn only_authorize_is_a_hook_and_nothing_is_logged() {
        testing::set_config(&[("token", "s3cret")]);
        let info = testing::describe::<BearerAuth>().unwrap();
        assert_eq!(info.name, "bearer-auth");
        assert_eq!(info.hooks, HookSet::AUTHORIZE);
        let mut plugin = testing::run::<BearerAuth>().unwrap();
        plugin
            .authorize(&mut testing::request("GET", "https://api.test/"))
            .unwrap();
        assert_eq!(testing::logs(), []);
    }
}
