//! Form bodies, made the way Python's requests makes them: fields sent
//! `application/x-www-form-urlencoded` (requests' `data={...}`), or a
//! `multipart/form-data` body of text fields and files (requests'
//! `files=`, curl's `-F`).
//!
//! A form is made once, into one [`Bytes`] body with its boundary fixed,
//! before any request is sent: every attempt, redirect and (for a form of
//! the command line) every job shares it, and a signing hook sees exactly
//! the bytes the server gets. Files are read when the form is made, within
//! a bound given by the caller, and must be regular files, so making a
//! form always ends (no pipe, no device, no file that grows without end).
//!
//! ```
//! use tb_host::Job;
//! use tb_host::form::{self, FormField};
//!
//! let login = Job::get("http://127.0.0.1:8080/login")
//!     .method("POST")
//!     .form(form::urlencoded([("user", "ann"), ("scope", "read")]));
//! assert_eq!(login.body.as_deref(), Some(&b"user=ann&scope=read"[..]));
//!
//! let fields = [FormField::text("title", "Q3")];
//! let upload = Job::get("http://127.0.0.1:8080/upload")
//!     .method("POST")
//!     .form(form::multipart(&fields, 1 << 20)?);
//! assert!(upload.headers[0].1.starts_with("multipart/form-data; boundary="));
//! # Ok::<(), tb_host::form::FormError>(())
//! ```

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use reqwest::blocking::multipart;

/// The `Content-Type` of a form of [`urlencoded`] fields.
pub const URLENCODED: &str = "application/x-www-form-urlencoded";

/// One field of a multipart form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormField {
    /// The field's name.
    pub name: String,
    /// What the field holds.
    pub value: FieldValue,
    /// The file name the part is sent with; for a [`FieldValue::File`],
    /// the file's own name when absent.
    pub filename: Option<String>,
    /// The part's `Content-Type`; for a [`FieldValue::File`], guessed from
    /// its path's extension when absent (`application/octet-stream` when
    /// the extension says nothing), none for text.
    pub content_type: Option<String>,
}

/// What a field of a multipart form holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// This text (curl's `-F name=value`).
    Text(String),
    /// The file at this path, sent as a file: with a file name and a type
    /// (curl's `-F name=@path`, requests' `files=`).
    File(PathBuf),
    /// The contents of the file at this path, sent as a text field, with
    /// no file name (curl's `-F name=<path`).
    FileText(PathBuf),
}

impl FormField {
    /// A text field.
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> FormField {
        FormField {
            name: name.into(),
            value: FieldValue::Text(value.into()),
            filename: None,
            content_type: None,
        }
    }

    /// A file field: the file at `path`, named and typed from its path.
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>) -> FormField {
        FormField {
            name: name.into(),
            value: FieldValue::File(path.into()),
            filename: None,
            content_type: None,
        }
    }
}

/// A body made of form fields, with the `Content-Type` that says how to
/// read it (a multipart body's names its boundary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// The body.
    pub body: Bytes,
    /// Its `Content-Type`.
    pub content_type: String,
}

/// Why a form could not be made. Each error names the field, and the file
/// where one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// A file of the form could not be read.
    #[error("field {name:?}: cannot read {}: {source}", path.display())]
    Read {
        /// The field's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The form's files together are larger than its bound.
    #[error(
        "field {name:?}: {} is too large: the files of one form may hold at most {limit} bytes together",
        path.display()
    )]
    TooLarge {
        /// The field's name.
        name: String,
        /// The file that went past the bound.
        path: PathBuf,
        /// The bound, in bytes.
        limit: u64,
    },
    /// A path that is not a regular file (a pipe, a device, a directory),
    /// which might never end or block the reader.
    #[error("field {name:?}: {} is not a regular file", path.display())]
    NotAFile {
        /// The field's name.
        name: String,
        /// The path.
        path: PathBuf,
    },
    /// A name, file name or type that cannot go in a part's head.
    #[error("field {name:?}: {problem}")]
    Head {
        /// The field's name.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// `pairs` as one `application/x-www-form-urlencoded` body, in order, a
/// name repeated for each of its values (requests' `data={...}`; spaces
/// as `+`).
pub fn urlencoded<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Form {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Form {
        body: body.into(),
        content_type: URLENCODED.to_owned(),
    }
}

/// `fields` as one `multipart/form-data` body (RFC 7578), in order, with a
/// random boundary. The files it names are read now, and may hold at most
/// `limit` bytes together.
pub fn multipart(fields: &[FormField], limit: u64) -> Result<Form, FormError> {
    let mut form = multipart::Form::new().percent_encode_noop();
    let mut left = limit;
    for field in fields {
        let head_error = |problem: String| FormError::Head {
            name: field.name.clone(),
            problem,
        };
        check_head_text("name", &field.name, "\"\r\n").map_err(head_error)?;
        if let Some(filename) = &field.filename {
            check_head_text("file name", filename, "\r\n").map_err(head_error)?;
        }
        let (part, filename, content_type) = match &field.value {
            FieldValue::Text(text) => (
                multipart::Part::text(text.clone()),
                field.filename.clone(),
                field.content_type.clone(),
            ),
            FieldValue::FileText(path) => (
                multipart::Part::bytes(read_bounded(&field.name, path, &mut left, limit)?),
                field.filename.clone(),
                field.content_type.clone(),
            ),
            FieldValue::File(path) => (
                multipart::Part::bytes(read_bounded(&field.name, path, &mut left, limit)?),
                Some(field.filename.clone().unwrap_or_else(|| file_name(path))),
                Some(
                    field
                        .content_type
                        .clone()
                        .unwrap_or_else(|| guess_type(path)),
                ),
            ),
        };
        let part = match filename {
            Some(filename) => part.file_name(filename),
            None => part,
        };
        let part = match content_type {
            // A media type has no line break: `mime` refuses one.
            Some(content_type) => part
                .mime_str(&content_type)
                .map_err(|_| head_error(format!("{content_type:?} is not a media type")))?,
            None => part,
        };
        form = form.part(field.name.clone(), part);
    }
    let content_type = format!("multipart/form-data; boundary={}", form.boundary());
    let mut body = Vec::new();
    form.into_reader()
        .read_to_end(&mut body)
        .expect("a form of bytes in memory reads whole");
    Ok(Form {
        body: body.into(),
        content_type,
    })
}

/// Refuses `text` (a part's `what`) if it holds one of `refused`, which
/// would end its place in the part's head.
fn check_head_text(what: &str, text: &str, refused: &str) -> Result<(), String> {
    match text.chars().find(|c| refused.contains(*c)) {
        Some(c) => Err(format!(
            "the {what} {text:?} holds {c:?}, which a form cannot carry there"
        )),
        None => Ok(()),
    }
}

/// The contents of the file at `path`, for field `name`, taken from the
/// `left` bytes of a form's bound `limit`.
fn read_bounded(name: &str, path: &Path, left: &mut u64, limit: u64) -> Result<Vec<u8>, FormError> {
    let read_error = |source| FormError::Read {
        name: name.to_owned(),
        path: path.to_owned(),
        source,
    };
    let too_large = || FormError::TooLarge {
        name: name.to_owned(),
        path: path.to_owned(),
        limit,
    };
    // Checked before opening: opening a pipe blocks until it has a writer.
    if !std::fs::metadata(path).map_err(read_error)?.is_file() {
        return Err(FormError::NotAFile {
            name: name.to_owned(),
            path: path.to_owned(),
        });
    }
    let file = File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > *left {
        return Err(too_large());
    }
    let mut contents = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // One byte past the bound tells a file that grew since from one that
    // fits (and bounds what is not a regular file).
    file.take(*left + 1)
        .read_to_end(&mut contents)
        .map_err(read_error)?;
    let read = contents.len() as u64;
    if read > *left {
        return Err(too_large());
    }
    *left -= read;
    Ok(contents)
}

/// The last component of `path`, the name a file is sent with.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The media type a file's extension implies, `application/octet-stream`
/// when it implies none.
fn guess_type(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `contents` in a directory of this test's own.
    fn file(test: &str, name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tb-host-form-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn urlencoded_forms_repeat_names_and_encode_as_requests_does() {
        let form = urlencoded([("a", "1 2"), ("b", "&="), ("a", "é")]);
        assert_eq!(&form.body[..], b"a=1+2&b=%26%3D&a=%C3%A9");
        assert_eq!(form.content_type, URLENCODED);
    }

    #[test]
    fn a_file_as_text_has_no_file_name_and_a_type_only_if_given() {
        let notes = file("text", "notes.txt", b"line one\n");
        let fields = [FormField {
            name: "notes".into(),
            value: FieldValue::FileText(notes),
            filename: None,
            content_type: Some("text/markdown".into()),
        }];
        let form = multipart(&fields, 100).unwrap();
        let body = String::from_utf8(form.body.to_vec()).unwrap();
        assert!(
            body.contains(
                "Content-Disposition: form-data; name=\"notes\"\r\nContent-Type: text/markdown\r\n\r\nline one\n\r\n"
            ),
            "{body}"
        );
    }

    #[test]
    fn files_past_the_bound_or_missing_are_refused_naming_the_field() {
        let big = file("bound", "big.bin", &[7; 60]);
        let fields = [FormField::file("a", &big), FormField::file("b", &big)];
        assert!(multipart(&fields, 120).is_ok(), "exactly the bound fits");
        let error = multipart(&fields, 119).unwrap_err().to_string();
        assert!(
            error.starts_with("field \"b\": ") && error.contains("at most 119 bytes together"),
            "{error}"
        );
        let error = multipart(&[FormField::file("c", "/no/such/file")], 10)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("field \"c\": cannot read /no/such/file:"),
            "{error}"
        );
        let error = multipart(&[FormField::file("d", "/dev/zero")], 10)
            .unwrap_err()
            .to_string();
        assert_eq!(error, "field \"d\": /dev/zero is not a regular file");
    }

    #[test]
    fn what_would_break_a_part_head_is_refused() {
        let quoted = FormField::text("a\"b", "x");
        assert!(
            multipart(&[quoted], 0)
                .unwrap_err()
                .to_string()
                .contains("holds '\"'")
        );
        let mut newline = FormField::text("a", "x");
        newline.filename = Some("x\r\nX-Injected: 1".into());
        assert!(multipart(&[newline], 0).is_err());
        let mut typed = FormField::text("a", "x");
        typed.content_type = Some("not a type".into());
        let error = multipart(&[typed], 0).unwrap_err().to_string();
        assert!(error.contains("is not a media type"), "{error}");
    }
}
