//! A queue's address: `redis://HOST[:PORT]/NAME[?db=N]`, NAME naming one
//! run's queue on that server.

use std::fmt;
use std::str::FromStr;

use super::QueueError;

/// Where a queue is: a Redis server, a database on it, and the queue's
/// name. Its `Display` is the address without a password, for messages.
#[derive(Clone, PartialEq, Eq)]
pub struct QueueAddress {
    /// The server's host name or address.
    pub host: String,
    /// The server's port (default 6379).
    pub port: u16,
    /// The database number (`?db=N`, default 0).
    pub db: i64,
    /// The queue's name: letters, digits, `-`, `_`, `.` and `:`.
    pub name: String,
    /// The user and password, when the URL has them (`redis://u:p@host/`).
    pub credentials: Option<(String, String)>,
}

impl FromStr for QueueAddress {
    type Err = QueueError;

    fn from_str(text: &str) -> Result<QueueAddress, QueueError> {
        let error = |reason: &str| QueueError::Address {
            address: shown(text),
            reason: reason.to_owned(),
        };
        let url = reqwest::Url::parse(text).map_err(|e| error(&e.to_string()))?;
        if url.scheme() != "redis" {
            return Err(error("the scheme must be redis://"));
        }
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| error("it names no host"))?;
        let name = url.path().trim_start_matches('/');
        if name.is_empty() {
            return Err(error("it names no queue: add /NAME"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(error(
                "a queue's name has only letters, digits, '-', '_', '.' and ':'",
            ));
        }
        let mut db = 0;
        for (key, value) in url.query_pairs() {
            match &*key {
                "db" => {
                    db = value
                        .parse()
                        .ok()
                        .filter(|db| *db >= 0)
                        .ok_or_else(|| error("db must be a database number, 0 or more"))?
                }
                _ => return Err(error(&format!("unknown query parameter {key:?}: only db"))),
            }
        }
        let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                url.username().to_owned(),
                url.password().unwrap_or("").to_owned(),
            )
        });
        Ok(QueueAddress {
            host: host.to_owned(),
            port: url.port().unwrap_or(6379),
            db,
            name: name.to_owned(),
            credentials,
        })
    }
}

/// `text` with any password replaced, for an error message.
fn shown(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => text.to_owned(),
    }
}

impl fmt::Display for QueueAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis://{}:{}/{}", self.host, self.port, self.name)?;
        if self.db != 0 {
            write!(f, "?db={}", self.db)?;
        }
        Ok(())
    }
}

impl fmt::Debug for QueueAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueAddress({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_server_database_and_queue() {
        let address: QueueAddress = "redis://10.0.0.5:6380/crawl-7?db=2".parse().unwrap();
        assert_eq!(
            (address.host.as_str(), address.port, address.db),
            ("10.0.0.5", 6380, 2)
        );
        assert_eq!(address.name, "crawl-7");
        assert_eq!(address.to_string(), "redis://10.0.0.5:6380/crawl-7?db=2");
        let plain: QueueAddress = "redis://localhost/q".parse().unwrap();
        assert_eq!((plain.port, plain.db), (6379, 0));
    }

    #[test]
    fn a_bad_address_says_what_is_wrong_without_its_password() {
        for (text, says) in [
            ("http://h/q", "scheme"),
            ("redis://h", "no queue"),
            ("redis://h/a b", "letters"),
            ("redis://h/q?db=x", "database number"),
            ("redis://h/q?size=1", "unknown query parameter"),
        ] {
            let error = text.parse::<QueueAddress>().unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        let error = "redis://u:s3cr3t@h/q?db=-1"
            .parse::<QueueAddress>()
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cr3t"), "{error}");
        let address: QueueAddress = "redis://u:s3cr3t@h/q".parse().unwrap();
        assert!(!format!("{address} {address:?}").contains("s3cr3t"));
    }
}
