//! # oauth2-client-credentials
//!
//! A tb-host plugin that authenticates requests with an OAuth 2.0 access
//! token from the client-credentials grant (RFC 6749 section 4.4). It
//! implements `authorize` and `decide-retry`.
//!
//! - `authorize` sends `Authorization: Bearer <token>`. The first request
//!   of each worker fetches a token from the token endpoint through the
//!   host (`host.fetch`, so the operator must grant the endpoint's host
//!   with `--plugin-allow-host`); later requests reuse it until shortly
//!   before it expires (`expires_in`), then fetch a new one.
//! - `decide-retry` handles a `401` to a request that carried a token:
//!   the token is dropped, and the request is sent again at once (the
//!   next `authorize` fetches a fresh token). A token fetched for that
//!   very request and refused all the same is not retried: the server
//!   refuses this client, and retrying would only loop.
//!
//! A token endpoint's error (RFC 6749 section 5.2) fails the request with
//! the endpoint's `error` and `error_description`. The client secret and
//! the tokens are never logged nor put in an error message.
//!
//! | config key | default | meaning |
//! | --- | --- | --- |
//! | `token-url` | required | the token endpoint, `https://idp.example/oauth/token` |
//! | `client-id` | required | the client identifier |
//! | `client-secret` (or `client-secret-env`) | required | the client secret, or the granted environment variable holding it |
//! | `scope` | none | space-separated scopes to ask for |
//! | `audience` | none | the `audience` parameter some providers want (Auth0, Okta) |
//! | `client-auth` | `basic` | `basic`: HTTP Basic (RFC 6749 section 2.3.1); `body`: `client_id` and `client_secret` in the form |
//! | `refresh-before` | `30s` | fetch a new token this long before the old one expires (at most half its lifetime) |
//!
//! ```text
//! tb-host run --plugin oauth2_client_credentials.wasm \
//!     --plugin-allow-host idp.example.com --plugin-env oauth2_client_credentials:CLIENT_SECRET \
//!     --plugin-config token-url=https://idp.example.com/oauth/token \
//!     --plugin-config client-id=my-app --plugin-config client-secret-env=CLIENT_SECRET urls.txt
//! ```

mod token;

use std::time::Duration;

use guest_sdk::{
    Attempt, Decision, Outcome, Plugin, Request, RetryInterest, auth, config, headers, http, log,
    time, url,
};

use token::Token;

/// How the client proves who it is to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ClientAuth {
    /// HTTP Basic with the form-encoded id and secret.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the request body.
    Body,
}

/// The plugin: how to get a token, and the token of this worker.
#[derive(Default)]
pub struct OAuth2ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    audience: Option<String>,
    client_auth: ClientAuth,
    refresh_before: Duration,
    /// The cached token, if any.
    token: Option<Token>,
}

#[guest_sdk::plugin]
impl Plugin for OAuth2ClientCredentials {
    fn configure(&mut self) -> Result<(), String> {
        let token_url = config::require("token-url")?.trim().to_owned();
        let parsed = url::Url::parse(&token_url)
            .map_err(|reason| config::invalid("token-url", &token_url, reason))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(config::invalid(
                "token-url",
                &token_url,
                "expected an http or https URL",
            ));
        }
        self.token_url = token_url;
        self.client_id = config::require("client-id")?.trim().to_owned();
        self.client_secret = config::require_secret("client-secret")?;
        self.scope = config::get("scope").filter(|scope| !scope.trim().is_empty());
        self.audience = config::get("audience").filter(|audience| !audience.trim().is_empty());
        self.client_auth = match config::get("client-auth").as_deref().map(str::trim) {
            None | Some("basic") => ClientAuth::Basic,
            Some("body") => ClientAuth::Body,
            Some(other) => {
                return Err(config::invalid(
                    "client-auth",
                    other,
                    "expected basic or body",
                ));
            }
        };
        self.refresh_before =
            config::duration("refresh-before")?.unwrap_or(Duration::from_secs(30));
        Ok(())
    }

    fn authorize(&mut self, request: &mut Request) -> Result<(), String> {
        let now = time::now();
        if self
            .token
            .as_ref()
            .is_none_or(|token| token.is_stale(now, self.refresh_before))
        {
            self.token = Some(self.fetch_token()?);
        }
        let token = self.token.as_mut().expect("a token was just made sure of");
        token.uses += 1;
        request.set_header("Authorization", &format!("Bearer {}", token.value))
    }

    /// Only a 401 (a refused token) concerns this plugin: the host spares
    /// the call for every other response.
    fn retry_interest(&self) -> RetryInterest {
        RetryInterest {
            statuses: vec![(401, 401)],
            ..RetryInterest::default()
        }
    }

    fn decide_retry(
        &mut self,
        request: &Request,
        outcome: &Outcome,
        _attempt: &Attempt,
    ) -> Result<Decision, String> {
        let sent = request.header("Authorization");
        let sent = sent
            .as_deref()
            .and_then(|value| value.strip_prefix("Bearer "));
        let (Some(401), Some(sent)) = (outcome.status(), sent) else {
            return Ok(Decision::Defer);
        };
        let current = self.token.as_ref().filter(|token| token.value == sent);
        let fetched_for_this_request = current.is_some_and(|token| token.uses == 1);
        if current.is_some() {
            self.token = None;
        }
        if fetched_for_this_request {
            log::warn("a freshly fetched token was refused with 401: not retrying");
            return Ok(Decision::Defer);
        }
        log::debug("a token was refused with 401: retrying with a fresh one");
        Ok(Decision::RetryAfter(0))
    }
}

impl OAuth2ClientCredentials {
    /// Asks the token endpoint for a new token (RFC 6749 section 4.4.2).
    fn fetch_token(&self) -> Result<Token, String> {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience));
        }
        if self.client_auth == ClientAuth::Body {
            form.push(("client_id", &self.client_id));
            form.push(("client_secret", &self.client_secret));
        }
        let mut request = http::post_form(&self.token_url, &form);
        if self.client_auth == ClientAuth::Basic {
            // RFC 6749 section 2.3.1: form-encode both before Basic.
            let basic = auth::basic(
                &url::encode(&self.client_id),
                &url::encode(&self.client_secret),
            );
            headers::set(&mut request.headers, "Authorization", &basic);
        }
        let fetched = http::fetch(&request)?;
        let token = Token::from_response(&fetched, time::now())
            .map_err(|reason| format!("token endpoint {}: {reason}", self.token_url))?;
        log::info(&match token.expires_at {
            Some(_) => format!(
                "fetched an access token (expires in {} s)",
                token.lifetime.as_secs()
            ),
            None => "fetched an access token (no expiry given)".to_owned(),
        });
        Ok(token)
    }
}

#[cfg(test)]
mod tests;
