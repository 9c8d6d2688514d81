//! Finding a text however it was percent-encoded on its way into a URL, a
//! form body or a message.
//!
//! Encoders differ in what they encode (the `url` crate's query, path and
//! userinfo sets each leave other characters as they are; guest-sdk
//! encodes all but the unreserved ones; a form encodes a space as `+`)
//! and in the case of their hex digits. Rather than list every form a
//! secret can take, the search lets each byte of it be written as
//! itself, as `%XX` in either case, or, for a space, as `+`: that finds
//! every such form, the raw text included, and nothing else.

use std::ops::Range;

/// `text` with every occurrence of `needle`, raw or percent-encoded in
/// any way, replaced by `with`; `None` when there was none.
pub(super) fn replace_all(text: &str, needle: &str, with: &str) -> Option<String> {
    let mut replaced = String::new();
    let mut copied = 0;
    while let Some(found) = find(text, needle, copied) {
        replaced.push_str(&text[copied..found.start]);
        replaced.push_str(with);
        copied = found.end;
    }
    if copied == 0 {
        return None;
    }
    replaced.push_str(&text[copied..]);
    Some(replaced)
}

/// The bytes of the first occurrence of `needle` in `text` at or after
/// `from`, raw or percent-encoded in any way. Both ends fall on character
/// boundaries: `text` is UTF-8, so a character is either all raw or all
/// encoded.
fn find(text: &str, needle: &str, from: usize) -> Option<Range<usize>> {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    let first = *needle.first()?;
    (from..text.len())
        .filter(|&start| {
            let byte = text[start];
            byte == first || byte == b'%' || (byte == b'+' && first == b' ')
        })
        .find_map(|start| matched_len(&text[start..], needle).map(|len| start..start + len))
}

/// How many bytes at the start of `text` spell `needle`, each of its bytes
/// raw, as `%XX` or (a space) as `+`.
fn matched_len(text: &[u8], needle: &[u8]) -> Option<usize> {
    let mut at = 0;
    for (index, &byte) in needle.iter().enumerate() {
        let next = *text.get(at)?;
        if next == b'%' && text.get(at + 1..at + 3).and_then(hex_byte) == Some(byte) {
            if byte != b'%' {
                at += 3;
                continue;
            }
            // `%25` is an encoded `%`, or a raw one followed by `25`: try
            // the first, then the second. Only a `%` in `needle` branches.
            if let Some(rest) = matched_len(&text[at + 3..], &needle[index + 1..]) {
                return Some(at + 3 + rest);
            }
        }
        if next == byte || (next == b'+' && byte == b' ') {
            at += 1;
        } else {
            return None;
        }
    }
    Some(at)
}

/// The byte two hex digits (either case) stand for.
fn hex_byte(digits: &[u8]) -> Option<u8> {
    let digit = |d: u8| char::from(d).to_digit(16);
    match digits {
        &[high, low] => Some((digit(high)? * 16 + digit(low)?) as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDLE: &str = "SECRET KEY/777+é";

    fn hidden(text: &str) -> String {
        replace_all(text, NEEDLE, "[x]").unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn finds_the_raw_text_and_every_way_of_encoding_it() {
        for written in [
            "SECRET KEY/777+é",
            // guest-sdk and percent-encoding's NON_ALPHANUMERIC: all of it.
            "SECRET%20KEY%2F777%2B%C3%A9",
            "SECRET%20KEY%2f777%2b%c3%a9",
            // The url crate's query set: only the space and the non-ASCII.
            "SECRET%20KEY/777+%C3%A9",
            // A form: the space as `+`.
            "SECRET+KEY%2F777%2B%C3%A9",
        ] {
            assert_eq!(
                hidden(&format!("?k={written}&x=1")),
                "?k=[x]&x=1",
                "{written}"
            );
        }
    }

    #[test]
    fn a_plus_is_a_space_only_where_the_needle_has_one() {
        assert_eq!(hidden("SECRET+KEY/777 é"), "SECRET+KEY/777 é");
        assert_eq!(hidden("%53ECRET KEY/777+é"), "[x]");
        assert_eq!(hidden("SECRET KEY/777%2Bé, SECRET KEY/777+é"), "[x], [x]");
    }

    #[test]
    fn a_percent_in_the_needle_matches_raw_or_encoded() {
        let hide = |text: &str| replace_all(text, "50%25-off", "[x]");
        assert_eq!(hide("a 50%25-off b").as_deref(), Some("a [x] b"));
        assert_eq!(hide("a 50%2525-off b").as_deref(), Some("a [x] b"));
        assert_eq!(hide("a 50%-off b"), None);
    }

    #[test]
    fn text_without_it_is_left_alone() {
        assert_eq!(replace_all("SECRET KEY/77 and %zz %2", NEEDLE, "[x]"), None);
        assert_eq!(replace_all("SECRET KEY/777+e", NEEDLE, "[x]"), None);
    }
}
