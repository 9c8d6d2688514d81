//! # api-key
//!
//! A tb-host plugin that sends an API key with every request, in a header
//! (`X-API-Key` unless configured otherwise) or in a query parameter. It
//! implements only `authorize`. The key comes from the configuration or,
//! better, from an environment variable the operator grants the plugin,
//! so that it does not show in the process list.
//!
//! | config key | default | meaning |
//! | --- | --- | --- |
//! | `key` (or `key-env`) | required | the API key, or the granted environment variable holding it |
//! | `header` | `X-API-Key` | the header to send it in |
//! | `query` | none | send it in this query parameter instead of a header |
//!
//! ```text
//! tb-host run --plugin api_key.wasm --plugin-env api_key:WEATHER_KEY \
//!     --plugin-config key-env=WEATHER_KEY --plugin-config query=appid urls.txt
//! ```
//!
//! The key replaces any value of the same header or parameter, and is
//! never logged.

use guest_sdk::url::Url;
use guest_sdk::{Plugin, Request, config, headers};

/// Where the key goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Placement {
    /// In this header.
    Header(String),
    /// In this query parameter.
    Query(String),
}

impl Default for Placement {
    fn default() -> Placement {
        Placement::Header("X-API-Key".to_owned())
    }
}

/// The plugin: the key and where it goes.
#[derive(Default)]
pub struct ApiKey {
    key: String,
    placement: Placement,
}

#[guest_sdk::plugin]
impl Plugin for ApiKey {
    fn configure(&mut self) -> Result<(), String> {
        self.key = config::require_secret("key")?;
        if !headers::is_valid_value(&self.key) {
            return Err("config key `key` must not contain control characters".to_owned());
        }
        self.placement = match (config::get("header"), config::get("query")) {
            (Some(_), Some(_)) => {
                return Err(
                    "config keys `header` and `query` are both given: pass only one".to_owned(),
                );
            }
            (Some(name), None) if headers::is_valid_name(name.trim()) => {
                Placement::Header(name.trim().to_owned())
            }
            (Some(name), None) => {
                return Err(config::invalid("header", &name, "not a valid header name"));
            }
            (None, Some(name)) if !name.trim().is_empty() => {
                Placement::Query(name.trim().to_owned())
            }
            (None, Some(name)) => return Err(config::invalid("query", &name, "must not be empty")),
            (None, None) => Placement::default(),
        };
        Ok(())
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        match &self.placement {
            Placement::Header(name) => request.set_header(name, &self.key),
            Placement::Query(name) => {
                let mut url = Url::parse(&request.url())?;
                url.set_query_param(name, &self.key);
                request.set_url(&url.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::HookSet;
    use guest_sdk::testing::{self, With};

    fn configured(pairs: &[(&str, &str)]) -> testing::Instance<ApiKey> {
        testing::set_config(pairs);
        testing::run::<ApiKey>().unwrap()
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        testing::set_config(pairs);
        testing::run::<ApiKey>().err().unwrap()
    }

    #[test]
    fn the_key_goes_in_x_api_key_by_default() {
        let mut plugin = configured(&[("key", "k-123")]);
        assert_eq!(
            testing::describe::<ApiKey>().unwrap().hooks,
            HookSet::AUTHORIZE
        );
        let mut request =
            testing::request("GET", "https://api.test/").with_header("x-api-key", "old");
        plugin.authorize(&mut request).unwrap();
        assert_eq!(
            request.headers,
            [("X-API-Key".to_owned(), "k-123".to_owned())]
        );
        assert_eq!(request.url, "https://api.test/");
    }

    #[test]
    fn a_header_name_can_be_chosen() {
        let mut plugin = configured(&[("key", "k"), ("header", "Api-Token")]);
        let mut request = testing::request("GET", "https://api.test/");
        plugin.authorize(&mut request).unwrap();
        assert_eq!(headers::get(&request.headers, "api-token"), Some("k"));
    }

    #[test]
    fn a_query_parameter_is_set_encoded_replacing_any_other() {
        let mut plugin = configured(&[("key", "a b&c"), ("query", "api_key")]);
        let mut request = testing::request("GET", "https://api.test/v1?q=x&api_key=old#frag");
        plugin.authorize(&mut request).unwrap();
        assert_eq!(
            request.url,
            "https://api.test/v1?q=x&api_key=a%20b%26c#frag"
        );
        assert!(request.headers.is_empty());
    }

    #[test]
    fn the_key_can_come_from_a_granted_variable() {
        testing::set_env(&[("SERVICE_KEY", "from-env")]);
        let mut plugin = configured(&[("key-env", "SERVICE_KEY")]);
        let mut request = testing::request("GET", "https://api.test/");
        plugin.authorize(&mut request).unwrap();
        assert_eq!(
            headers::get(&request.headers, "x-api-key"),
            Some("from-env")
        );
        let error = refused(&[("key-env", "NOT_GRANTED")]);
        assert!(error.contains("--plugin-env NAME:NOT_GRANTED"), "{error}");
    }

    #[test]
    fn bad_configuration_is_refused_without_echoing_the_key() {
        assert!(refused(&[]).contains("`key`"));
        assert!(refused(&[("key", "k"), ("header", "X"), ("query", "q")]).contains("both"));
        assert!(refused(&[("key", "k"), ("header", "Bad Name")]).contains("`header`"));
        assert!(refused(&[("key", "k"), ("query", " ")]).contains("`query`"));
        let error = refused(&[("key", "sec\r\nret")]);
        assert!(!error.contains("sec"), "{error}");
        let mut plugin = configured(&[("key", "k")]);
        plugin
            .authorized(testing::request("GET", "https://api.test/"))
            .unwrap();
        assert_eq!(testing::logs(), []);
    }
}
