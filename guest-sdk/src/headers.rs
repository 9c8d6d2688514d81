//! Header lists ([`Headers`]: `(name, value)` pairs in order) as HTTP
//! treats them: names compare case-insensitively and may repeat.

use crate::Headers;

/// The value of the first field named `name`, if any.
pub fn get<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    get_all(headers, name).next()
}

/// The values of every field named `name`, in order.
pub fn get_all<'a>(headers: &'a Headers, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(field, _)| field.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Makes `name: value` the only field of that name: the first existing one
/// is replaced where it stands and the others removed, or the field is
/// appended if there was none.
pub fn set(headers: &mut Headers, name: &str, value: &str) {
    match headers
        .iter()
        .position(|(field, _)| field.eq_ignore_ascii_case(name))
    {
        Some(first) => {
            headers[first] = (name.to_owned(), value.to_owned());
            let mut index = 0;
            headers.retain(|(field, _)| {
                let keep = index <= first || !field.eq_ignore_ascii_case(name);
                index += 1;
                keep
            });
        }
        None => append(headers, name, value),
    }
}

/// Adds `name: value` after the existing fields, whatever they are.
pub fn append(headers: &mut Headers, name: &str, value: &str) {
    headers.push((name.to_owned(), value.to_owned()));
}

/// Removes every field named `name`; returns how many there were.
pub fn remove(headers: &mut Headers, name: &str) -> usize {
    let before = headers.len();
    headers.retain(|(field, _)| !field.eq_ignore_ascii_case(name));
    before - headers.len()
}

/// Whether `name` is a valid field name: a non-empty HTTP token (letters,
/// digits and ``!#$%&'*+-.^_`|~``). HTTP methods are tokens too.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

/// Whether `value` is a valid field value: no control characters (CR and
/// LF above all) other than tab.
pub fn is_valid_value(value: &str) -> bool {
    !value.chars().any(|c| c.is_control() && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn get_ignores_case_and_takes_the_first() {
        let headers = fields(&[("Accept", "a"), ("X-Id", "1"), ("x-id", "2")]);
        assert_eq!(get(&headers, "X-ID"), Some("1"));
        assert_eq!(get(&headers, "missing"), None);
        assert_eq!(get_all(&headers, "x-Id").collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn set_replaces_in_place_and_drops_duplicates() {
        let mut headers = fields(&[("A", "1"), ("x-id", "1"), ("B", "2"), ("X-Id", "2")]);
        set(&mut headers, "X-Id", "new");
        assert_eq!(headers, fields(&[("A", "1"), ("X-Id", "new"), ("B", "2")]));
    }

    #[test]
    fn set_appends_when_absent() {
        let mut headers = fields(&[("A", "1")]);
        set(&mut headers, "B", "2");
        assert_eq!(headers, fields(&[("A", "1"), ("B", "2")]));
    }

    #[test]
    fn append_keeps_existing_fields() {
        let mut headers = fields(&[("Via", "a")]);
        append(&mut headers, "via", "b");
        assert_eq!(get_all(&headers, "VIA").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn remove_counts_what_it_removed() {
        let mut headers = fields(&[("A", "1"), ("a", "2"), ("B", "3")]);
        assert_eq!(remove(&mut headers, "A"), 2);
        assert_eq!(remove(&mut headers, "A"), 0);
        assert_eq!(headers, fields(&[("B", "3")]));
    }

    #[test]
    fn names_and_values_are_checked() {
        assert!(is_valid_name("X-Request-Id"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("Bad Name"));
        assert!(!is_valid_name("Colon:"));
        assert!(is_valid_value("text\twith tab"));
        assert!(!is_valid_value("line\r\nbreak"));
    }
}
