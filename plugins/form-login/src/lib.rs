//! # form-login
//!
//! A tb-host plugin that logs every worker's session in once, when the
//! session is made: it POSTs a username and password as a form to a login
//! endpoint the operator granted (`host.fetch`), and keeps the cookies
//! the endpoint sets in the session's cookie jar, so every request of the
//! worker carries them, as a browser or a logged-in `requests.Session`
//! would. It implements only `auth_session`.
//!
//! | config key | meaning |
//! | --- | --- |
//! | `login-url` | the login endpoint; required; grant its host with `--plugin-allow-host` |
//! | `username` | the form's `username`; required |
//! | `password` | the form's `password`; required, a secret (`@FILE` reads it from a file) |
//! | `cookie-domain` | the host the cookies are sent to; the login URL's host by default |
//!
//! ```text
//! tb-host run --plugin form_login.wasm \
//!     --plugin-config login-url=https://app.example/login \
//!     --plugin-config username=robot --plugin-config password=@pw.txt \
//!     --plugin-allow-host app.example urls.txt
//! ```
//!
//! A login that answers anything but 2xx or 3xx, or sets no cookie, fails
//! the session (and so the worker's requests, each saying why); the next
//! request tries again.

use guest_sdk::url::Url;
use guest_sdk::{ConfigKey, Cookie, Plugin, SessionSettings, config, headers, http, log};

/// The plugin, as configured.
#[derive(Default)]
struct FormLogin {
    /// Where to log in.
    login_url: String,
    /// The form's `username`.
    username: String,
    /// The form's `password`.
    password: String,
    /// The host the session's cookies are for.
    domain: String,
}

#[guest_sdk::plugin]
impl Plugin for FormLogin {
    fn configure(&mut self) -> Result<(), String> {
        self.login_url = config::require("login-url")?;
        let url = Url::parse(&self.login_url)
            .map_err(|reason| config::invalid("login-url", &self.login_url, reason))?;
        self.username = config::require("username")?;
        self.password = config::require_secret("password")?;
        self.domain = config::get("cookie-domain")
            .unwrap_or_else(|| url.host().to_owned())
            .to_ascii_lowercase();
        Ok(())
    }

    fn auth_session(&mut self, mut session: SessionSettings) -> Result<SessionSettings, String> {
        let form = [
            ("username", self.username.as_str()),
            ("password", self.password.as_str()),
        ];
        let answer = http::fetch(&http::post_form(&self.login_url, &form))?;
        if !(200..400).contains(&answer.status) {
            return Err(format!(
                "the login at {} answered {}",
                self.login_url, answer.status
            ));
        }
        let mut kept = 0;
        for set in headers::get_all(&answer.headers, "Set-Cookie") {
            let Some((name, value)) = set.split(';').next().and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            let name = name.trim();
            session
                .cookies
                .retain(|cookie| !(cookie.name == name && cookie.domain == self.domain));
            session.cookies.push(Cookie {
                name: name.to_owned(),
                value: value.trim().to_owned(),
                domain: self.domain.clone(),
                host_only: true,
                path: "/".to_owned(),
                secure: false,
                http_only: true,
                expires: None,
            });
            kept += 1;
        }
        if kept == 0 {
            return Err(format!("the login at {} set no cookie", self.login_url));
        }
        log::info(&format!(
            "worker {} logged in ({kept} cookies)",
            session.worker
        ));
        Ok(session)
    }

    fn config_keys() -> Option<Vec<ConfigKey>> {
        Some(vec![
            ConfigKey::new("login-url", "text", "the login endpoint").required(),
            ConfigKey::new("username", "text", "the form's username").required(),
            ConfigKey::new("password", "text", "the form's password")
                .required()
                .secret(),
            ConfigKey::new(
                "password-env",
                "text",
                "a granted variable holding the password",
            ),
            ConfigKey::new("cookie-domain", "text", "the host the cookies are for"),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guest_sdk::{HookSet, testing};

    fn configured() -> testing::Instance<FormLogin> {
        testing::set_config(&[
            ("login-url", "https://app.test/login"),
            ("username", "robot"),
            ("password", "s3cret-pass"),
        ]);
        testing::run::<FormLogin>().unwrap()
    }

    #[test]
    fn logs_in_with_a_form_and_keeps_the_cookies_for_the_login_host() {
        let mut plugin = configured();
        testing::set_fetch(|request| {
            assert_eq!(request.method, "POST");
            assert_eq!(request.url, "https://app.test/login");
            assert_eq!(
                request.body.as_deref(),
                Some(&b"username=robot&password=s3cret-pass"[..])
            );
            Ok(testing::fetched(
                200,
                &[("Set-Cookie", "sid=abc123; Path=/; HttpOnly")],
                "",
            ))
        });
        let session = plugin.auth_session(testing::session(3)).unwrap();
        assert_eq!(session.cookies.len(), 1);
        let cookie = &session.cookies[0];
        assert_eq!(
            (cookie.name.as_str(), cookie.value.as_str()),
            ("sid", "abc123")
        );
        assert_eq!(cookie.domain, "app.test");
        assert!(cookie.host_only);
        assert_eq!(
            testing::describe::<FormLogin>().unwrap().hooks,
            HookSet::AUTH_SESSION
        );
    }

    #[test]
    fn a_refused_login_fails_the_session_without_the_password() {
        let mut plugin = configured();
        testing::set_fetch(|_| Ok(testing::fetched(401, &[], "no")));
        let error = plugin.auth_session(testing::session(0)).unwrap_err();
        assert!(error.contains("401"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        testing::set_fetch(|_| Ok(testing::fetched(200, &[], "")));
        let error = plugin.auth_session(testing::session(0)).unwrap_err();
        assert!(error.contains("set no cookie"), "{error}");
    }
}
