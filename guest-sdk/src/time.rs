//! Time as plugins need it: the current time (which tests can fix with
//! [`crate::testing::set_now`]), HTTP dates (IMF-fixdate, RFC 9110
//! section 5.6.7) and the civil UTC fields that signing schemes print.
//!
//! In a component the clock is the host's WASI wall clock. Call [`now`]
//! rather than `SystemTime::now()` so that a plugin's time-dependent code
//! (token expiry, signature dates) can be tested at a fixed instant.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current time: the host's clock in a component, or the time set by
/// [`crate::testing::set_now`] in a native test (the real clock if none
/// was set).
pub fn now() -> SystemTime {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(fixed) = crate::testing::fake::now() {
        return fixed;
    }
    SystemTime::now()
}

/// `time` as an HTTP date, in IMF-fixdate form.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let time = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(guest_sdk::time::http_date(time), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn http_date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

/// The time an HTTP date names: IMF-fixdate, or the obsolete RFC 850 and
/// asctime forms that RFC 9110 says recipients must still accept. `None`
/// if `text` is none of them.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let time = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// for text in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
///     assert_eq!(guest_sdk::time::parse_http_date(text), Some(time));
/// }
/// assert_eq!(guest_sdk::time::parse_http_date("yesterday"), None);
/// ```
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

/// A moment as civil UTC fields, for formats that print them (such as the
/// `20150830T123600Z` of AWS Signature Version 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    /// The year, e.g. 2015.
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, 1 to 31.
    pub day: u32,
    /// The hour, 0 to 23.
    pub hour: u32,
    /// The minute, 0 to 59.
    pub minute: u32,
    /// The second, 0 to 59.
    pub second: u32,
}

impl UtcDateTime {
    /// The UTC fields of `time` (whole seconds; a time before 1970 counts
    /// as 1970-01-01T00:00:00).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use guest_sdk::time::UtcDateTime;
    /// let utc = UtcDateTime::from(UNIX_EPOCH + Duration::from_secs(1_440_938_160));
    /// assert_eq!(utc.basic_iso8601(), "20150830T123600Z");
    /// assert_eq!((utc.year, utc.month, utc.day), (2015, 8, 30));
    /// ```
    pub fn from(time: SystemTime) -> UtcDateTime {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let days = (seconds / 86_400) as i64;
        let of_day = (seconds % 86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        UtcDateTime {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// `YYYYMMDD`.
    pub fn basic_date(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// `YYYYMMDDTHHMMSSZ`: ISO 8601 basic format in UTC.
    pub fn basic_iso8601(&self) -> String {
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.basic_date(),
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// The (year, month, day) of the day `days` after 1970-01-01, in the
/// proleptic Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_fields_agree_with_http_dates_over_centuries() {
        // httpdate is an independent calendar implementation: compare a
        // spread of instants, leap days and year ends included.
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mut seconds = 0u64;
        while seconds < 253_402_300_799 {
            let time = UNIX_EPOCH + Duration::from_secs(seconds);
            let utc = UtcDateTime::from(time);
            let expected = format!(
                "{:02} {} {:04} {:02}:{:02}:{:02}",
                utc.day,
                months[utc.month as usize - 1],
                utc.year,
                utc.hour,
                utc.minute,
                utc.second
            );
            assert_eq!(&http_date(time)[5..25], expected, "at {seconds}");
            seconds += 86_399 * 37 + 13;
        }
    }

    #[test]
    fn leap_day_and_epoch() {
        let leap = UtcDateTime::from(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
        assert_eq!(
            UtcDateTime::from(UNIX_EPOCH).basic_iso8601(),
            "19700101T000000Z"
        );
    }

    #[test]
    fn now_follows_the_fake_clock() {
        let fixed = UNIX_EPOCH + Duration::from_secs(1_000);
        crate::testing::set_now(fixed);
        assert_eq!(now(), fixed);
        crate::testing::advance(Duration::from_secs(5));
        assert_eq!(now(), fixed + Duration::from_secs(5));
    }
}
