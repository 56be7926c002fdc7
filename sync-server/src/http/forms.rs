//! Forms sent as `multipart/form-data`, read by one bounded reader, with
//! files or without: the console's forms and Open311's requests with their
//! `media`. A form may name a first part that is checked before anything
//! else is read (the console's CSRF token), so that a refused form never
//! has a byte of its photo read.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};

use crate::error::Error;

/// How much of a form is read, at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: usize,
}

const MAX_PARTS: usize = 40;
const MAX_TEXT_BYTES: usize = 16 * 1024;

/// A form as read: its text fields and its files (empty file inputs dropped).
#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
    files: Vec<(String, Vec<u8>)>,
}

impl Form {
    /// The form of an `application/x-www-form-urlencoded` body (no files).
    pub fn from_urlencoded(body: &[u8]) -> Result<Form, Error> {
        let fields = serde_urlencoded::from_bytes(body).map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
        Ok(Form { fields, files: Vec::new() })
    }

    /// The field's value, trimmed; None when missing or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The field's value exactly as sent.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The field's value, or a 400 naming it.
    pub fn need(&self, name: &str) -> Result<&str, Error> {
        self.get(name).ok_or_else(|| Error::BadRequest(format!("the form has no `{name}`")))
    }

    pub fn take_files(&mut self, name: &str) -> Vec<Vec<u8>> {
        let (taken, kept) = std::mem::take(&mut self.files).into_iter().partition(|(n, _)| n == name);
        self.files = kept;
        taken.into_iter().map(|(_, bytes)| bytes).collect()
    }
}

/// Reads a form. When the first part is a text field named `first`, its
/// value goes to `check_first` (and not into the form) before anything
/// else is read; otherwise `check_first` sees None and the part is read as
/// any other. `fail` turns the reader's errors into the caller's.
pub async fn read_checking_first<E>(
    mut multipart: Multipart,
    limits: Limits,
    first: &str,
    check_first: impl FnOnce(Option<&str>) -> Result<(), E>,
    fail: impl Fn(Error) -> E,
) -> Result<Form, E> {
    let bad = |e: MultipartError| fail(Error::BadRequest(format!("the form could not be read: {}", e.body_text())));
    let mut check_first = Some(check_first);
    let mut form = Form::default();
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(fail(Error::TooLarge(format!("a form has at most {MAX_PARTS} parts"))));
        }
        let name = field.name().unwrap_or_default().to_owned();
        // A file input has a file name; a client that sends a photo
        // without one still gives it a content type that is not text.
        let is_file = field.file_name().is_some() || field.content_type().is_some_and(|t| !t.starts_with("text/"));
        if let Some(check) = check_first.take() {
            if name == first && !is_file {
                let value = read_text(&mut field).await.map_err(&fail)?;
                check(Some(&value))?;
                continue;
            }
            check(None)?;
        }
        if is_file {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if bytes.len() + chunk.len() > limits.max_file_bytes {
                    return Err(fail(Error::TooLarge(format!("a file of this form has at most {} bytes", limits.max_file_bytes))));
                }
                bytes.extend_from_slice(&chunk);
            }
            if bytes.is_empty() {
                continue;
            }
            if form.files.len() == limits.max_files {
                return Err(fail(Error::TooLarge(format!("this form takes at most {} files", limits.max_files))));
            }
            form.files.push((name, bytes));
        } else {
            let value = read_text(&mut field).await.map_err(&fail)?;
            form.fields.push((name, value));
        }
    }
    if let Some(check) = check_first {
        check(None)?;
    }
    Ok(form)
}

/// Reads a form with no part checked first.
pub async fn read(multipart: Multipart, limits: Limits) -> Result<Form, Error> {
    read_checking_first(multipart, limits, "", |_| Ok(()), |e| e).await
}

async fn read_text(field: &mut Field<'_>) -> Result<String, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| Error::BadRequest(format!("the form could not be read: {}", e.body_text())))? {
        if bytes.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(Error::TooLarge(format!("a text field has at most {MAX_TEXT_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| Error::BadRequest("a text field is not UTF-8".into()))
}
