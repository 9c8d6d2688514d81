//! The syntax of the form flags, curl's: `-F/--form` (a field of a
//! multipart form) and `--data-urlencode` (a piece of a urlencoded body).
//! Only the syntax is read here; the files they name are read when the
//! run sets up (`requests::apply`), once for every job.

use std::path::PathBuf;

use tb_host::form::{FieldValue, FormField};

/// One `-F` field: `NAME=VALUE`, `NAME=@PATH` (a file), `NAME=<PATH` (a
/// file's contents as a text field), each followed by any of `;type=TYPE`
/// and `;filename=NAME`. A value, path or parameter that holds `;` or
/// starts with `@`, `<` or `"` is written in double quotes, `\"` and `\\`
/// inside them standing for `"` and `\`.
pub fn parse_form_field(text: &str) -> Result<FormField, String> {
    let (name, rest) = text
        .split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| {
            format!("expected NAME=VALUE, NAME=@FILE or NAME=<FILE (as curl's -F), got {text:?}")
        })?;
    let (kind, rest) = match rest.as_bytes().first() {
        Some(b'@') => (Some(true), &rest[1..]),
        Some(b'<') => (Some(false), &rest[1..]),
        _ => (None, rest),
    };
    let (content, mut rest) = word(rest)?;
    let mut field = FormField {
        name: name.to_owned(),
        value: match kind {
            Some(true) => FieldValue::File(PathBuf::from(&content)),
            Some(false) => FieldValue::FileText(PathBuf::from(&content)),
            None => FieldValue::Text(content),
        },
        filename: None,
        content_type: None,
    };
    if matches!(field.value, FieldValue::File(ref path) | FieldValue::FileText(ref path) if path.as_os_str().is_empty())
    {
        return Err(format!("field {name:?}: no file named after @ or <"));
    }
    while let Some(params) = rest.strip_prefix(';') {
        let (key, value) = params.split_once('=').ok_or_else(|| {
            format!("field {name:?}: expected ;type=TYPE or ;filename=NAME after ';', got {params:?} (quote a value that holds ';')")
        })?;
        let (value, after) = word(value)?;
        match key.trim() {
            "type" => field.content_type = Some(value),
            "filename" => field.filename = Some(value),
            other => {
                return Err(format!(
                    "field {name:?}: unknown parameter {other:?}; the parameters are type= and filename= (quote a value that holds ';')"
                ));
            }
        }
        rest = after;
    }
    Ok(field)
}

/// A word of a `-F` field: up to the next `;`, or a double-quoted string.
/// Returns the word and what follows it.
fn word(text: &str) -> Result<(String, &str), String> {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find(';').unwrap_or(text.len());
        return Ok((text[..end].to_owned(), &text[end..]));
    };
    let mut word = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let after = &quoted[at + 1..];
                if !after.is_empty() && !after.starts_with(';') {
                    return Err(format!(
                        "{text:?}: expected ';' or the end after the closing quote"
                    ));
                }
                return Ok((word, after));
            }
            '\\' => match chars.next() {
                Some((_, escaped)) => word.push(escaped),
                None => break,
            },
            c => word.push(c),
        }
    }
    Err(format!("{text:?}: the quote is never closed"))
}

/// One `--data-urlencode` piece, as curl reads it: `CONTENT`, `=CONTENT`,
/// `NAME=CONTENT`, `@FILE` or `NAME@FILE` (whichever of `=` and `@` comes
/// first splits it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlencodedPiece {
    /// The name before the encoded content, if any (sent as given).
    pub name: Option<String>,
    /// The content to encode.
    pub content: PieceContent,
}

/// Where a `--data-urlencode` piece's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PieceContent {
    /// This text.
    Text(String),
    /// The contents of this file, read at the start.
    File(PathBuf),
}

/// Reads one `--data-urlencode` value (see [`UrlencodedPiece`]).
pub fn parse_urlencoded_piece(text: &str) -> Result<UrlencodedPiece, String> {
    let name = |name: &str| (!name.is_empty()).then(|| name.to_owned());
    let piece = match text.find(['=', '@']) {
        Some(at) if text.as_bytes()[at] == b'@' => {
            let path = &text[at + 1..];
            if path.is_empty() {
                return Err(format!("{text:?}: no file named after @"));
            }
            UrlencodedPiece {
                name: name(&text[..at]),
                content: PieceContent::File(path.into()),
            }
        }
        Some(at) => UrlencodedPiece {
            name: name(&text[..at]),
            content: PieceContent::Text(text[at + 1..].to_owned()),
        },
        None => UrlencodedPiece {
            name: None,
            content: PieceContent::Text(text.to_owned()),
        },
    };
    Ok(piece)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(
        name: &str,
        value: FieldValue,
        filename: Option<&str>,
        content_type: Option<&str>,
    ) -> FormField {
        FormField {
            name: name.to_owned(),
            value,
            filename: filename.map(str::to_owned),
            content_type: content_type.map(str::to_owned),
        }
    }

    #[test]
    fn form_fields_read_as_curl_reads_them() {
        let text = |t: &str| FieldValue::Text(t.to_owned());
        let file = |p: &str| FieldValue::File(p.into());
        let cases = [
            ("a=1", field("a", text("1"), None, None)),
            ("a=", field("a", text(""), None, None)),
            ("a=x=y", field("a", text("x=y"), None, None)),
            ("f=@d/p.png", field("f", file("d/p.png"), None, None)),
            (
                "f=@p.bin;type=image/png;filename=cat.png",
                field("f", file("p.bin"), Some("cat.png"), Some("image/png")),
            ),
            (
                "f=<notes.txt;type=text/plain",
                field(
                    "f",
                    FieldValue::FileText("notes.txt".into()),
                    None,
                    Some("text/plain"),
                ),
            ),
            (
                r#"a="x;y \"z\"";type=text/x"#,
                field("a", text(r#"x;y "z""#), None, Some("text/x")),
            ),
            (
                r#"a="@not a file""#,
                field("a", text("@not a file"), None, None),
            ),
            (
                r#"f=@"my;file";filename="a;b""#,
                field("f", file("my;file"), Some("a;b"), None),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(parse_form_field(given), Ok(expected), "{given}");
        }
    }

    #[test]
    fn bad_form_fields_say_what_is_wrong() {
        let cases = [
            ("novalue", "expected NAME=VALUE"),
            ("=v", "expected NAME=VALUE"),
            ("f=@", "no file named"),
            ("a=1;b", "expected ;type=TYPE or ;filename=NAME"),
            ("a=1;encoder=base64", r#"unknown parameter "encoder""#),
            (r#"a="open"#, "never closed"),
            (r#"a="x"y"#, "after the closing quote"),
        ];
        for (given, expected) in cases {
            let error = parse_form_field(given).unwrap_err();
            assert!(error.contains(expected), "{given}: {error}");
        }
    }

    #[test]
    fn urlencoded_pieces_split_at_the_first_equals_or_at_sign() {
        let piece = |name: Option<&str>, content: PieceContent| UrlencodedPiece {
            name: name.map(str::to_owned),
            content,
        };
        let text = |t: &str| PieceContent::Text(t.to_owned());
        let cases = [
            ("a b", piece(None, text("a b"))),
            ("=a=b", piece(None, text("a=b"))),
            ("q=a@b c", piece(Some("q"), text("a@b c"))),
            ("@f.txt", piece(None, PieceContent::File("f.txt".into()))),
            (
                "q@f=.txt",
                piece(Some("q"), PieceContent::File("f=.txt".into())),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(parse_urlencoded_piece(given), Ok(expected), "{given}");
        }
        assert!(parse_urlencoded_piece("q@").is_err());
    }
}
