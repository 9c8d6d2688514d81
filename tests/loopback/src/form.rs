//! The `/form...` answer: the form a request carried, as a server reads
//! it, for tests of what a client's form sends. A urlencoded body is read
//! with `form_urlencoded`, a multipart one with `multer` (the parser of
//! axum): the test sees the fields and parts a real server would, file
//! names, types and exact bytes included.

use std::convert::Infallible;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::FutureExt as _;
use serde_json::{Value, json};

use crate::exchange::{Reply, Request};

/// 200 with JSON `{"content_type", "fields": [[name, value], ...],
/// "parts": [{"name", "filename", "content_type", "size", "base64"}, ...]}`:
/// `fields` the urlencoded pairs or the multipart parts without a file
/// name, `parts` every multipart part. 415 for a body of another type, 400
/// for a multipart body that does not parse.
pub(crate) fn read(request: &Request<'_>) -> Reply {
    let content_type = request.header("content-type").unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (fields, parts) = match essence.as_str() {
        "application/x-www-form-urlencoded" => (
            form_urlencoded::parse(request.body())
                .map(|(name, value)| json!([name, value]))
                .collect(),
            Vec::new(),
        ),
        "multipart/form-data" => match multipart(content_type, request.body()) {
            Ok(read) => read,
            Err(error) => return Reply::text(400, &format!("not a multipart form: {error}")),
        },
        _ => return Reply::text(415, &format!("not a form: {content_type:?}")),
    };
    Reply::json(&json!({
        "content_type": content_type,
        "fields": fields,
        "parts": parts,
    }))
}

/// The text fields and the parts of a multipart `body`.
fn multipart(content_type: &str, body: &[u8]) -> Result<(Vec<Value>, Vec<Value>), String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let body = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async { Ok::<Bytes, Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let read = async move {
        let mut fields = Vec::new();
        let mut parts = Vec::new();
        while let Some(part) = form.next_field().await? {
            let name = part.name().unwrap_or("").to_owned();
            let filename = part.file_name().map(str::to_owned);
            let part_type = part.content_type().map(ToString::to_string);
            let bytes = part.bytes().await?;
            if filename.is_none() {
                fields.push(json!([name, String::from_utf8_lossy(&bytes)]));
            }
            parts.push(json!({
                "name": name,
                "filename": filename,
                "content_type": part_type,
                "size": bytes.len(),
                "base64": BASE64.encode(&bytes),
            }));
        }
        Ok::<_, multer::Error>((fields, parts))
    };
    // The whole body is in memory: every step of the parser is ready at once.
    match read.now_or_never() {
        Some(read) => read.map_err(|e| e.to_string()),
        None => Err("the parser waited for more of a body it had whole".to_owned()),
    }
}
