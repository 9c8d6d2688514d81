//! An access token as the token endpoint answers it (RFC 6749 section
//! 5.1), or the endpoint's error (section 5.2), and when to replace it.

use std::time::{Duration, SystemTime};

use guest_sdk::Fetched;
use serde::Deserialize;

/// The most of an error body quoted when it is not the JSON RFC 6749 asks
/// for.
const QUOTED: usize = 200;

/// A token and its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The access token; never logged.
    pub value: String,
    /// When the endpoint said it expires; `None` if it did not say.
    pub expires_at: Option<SystemTime>,
    /// How long it was issued for (`expires_in`).
    pub lifetime: Duration,
    /// How many requests this worker has sent with it.
    pub uses: u32,
}

/// The fields of a successful response that the plugin uses.
#[derive(Deserialize)]
struct Issued {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// The fields of an error response.
#[derive(Deserialize)]
struct Refused {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Token {
    /// The token in a token endpoint's answer received at `now`, or what
    /// the endpoint said went wrong.
    pub fn from_response(fetched: &Fetched, now: SystemTime) -> Result<Token, String> {
        if fetched.status != 200 {
            return Err(refusal(fetched));
        }
        let issued: Issued = serde_json::from_slice(&fetched.body)
            .map_err(|error| format!("the token response is not the JSON expected: {error}"))?;
        if !issued.token_type.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "the token type is {:?}; only Bearer tokens are supported",
                issued.token_type
            ));
        }
        if issued.access_token.is_empty()
            || !guest_sdk::headers::is_valid_value(&issued.access_token)
        {
            return Err("the access token is empty or not valid in a header".to_owned());
        }
        // Some providers send the number as a string.
        let seconds = match &issued.expires_in {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => n.as_u64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        let lifetime = Duration::from_secs(seconds.unwrap_or(0));
        Ok(Token {
            value: issued.access_token,
            expires_at: seconds.map(|_| now + lifetime),
            lifetime,
            uses: 0,
        })
    }

    /// Whether to fetch a new token instead, at `now`: when less than
    /// `refresh_before` (at most half the lifetime) is left.
    pub fn is_stale(&self, now: SystemTime, refresh_before: Duration) -> bool {
        let Some(expires_at) = self.expires_at else {
            return false;
        };
        let margin = refresh_before.min(self.lifetime / 2);
        now + margin >= expires_at
    }
}

/// What a token endpoint's error answer says.
fn refusal(fetched: &Fetched) -> String {
    match serde_json::from_slice::<Refused>(&fetched.body) {
        Ok(Refused {
            error,
            error_description: Some(description),
        }) => format!("answered {}: {error}: {description}", fetched.status),
        Ok(Refused { error, .. }) => format!("answered {}: {error}", fetched.status),
        Err(_) => {
            let text = String::from_utf8_lossy(&fetched.body);
            let text: String = text.chars().take(QUOTED).collect();
            format!("answered {} {:?}", fetched.status, text.trim())
        }
    }
}
