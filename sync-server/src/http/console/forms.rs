//! The console's forms, all sent as `multipart/form-data` so that one
//! bounded reader takes them all, with files or without. The CSRF token
//! must be the form's first part (every form of the console puts it
//! first), so that it is checked before a byte of a photo is read.

use axum::extract::Multipart;

use super::page::ConsoleError;
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

/// Reads a form; `check_csrf` sees the first part's value when it is named
/// `csrf` (None otherwise) before anything else is read.
pub async fn read(
    mut multipart: Multipart,
    limits: Limits,
    check_csrf: impl FnOnce(Option<&str>) -> Result<(), ConsoleError>,
    fail: impl Fn(Error) -> ConsoleError,
) -> Result<Form, ConsoleError> {
    let bad =
        |e: axum::extract::multipart::MultipartError| fail(Error::BadRequest(format!("the form could not be read: {}", e.body_text())));
    let mut first = multipart.next_field().await.map_err(bad)?;
    let csrf = match first.as_mut() {
        Some(field) if field.name() == Some("csrf") => Some(read_text(field, &fail).await?),
        _ => None,
    };
    // A field holds the stream until dropped.
    drop(first);
    check_csrf(csrf.as_deref())?;
    let mut form = Form::default();
    let mut parts = 1;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(fail(Error::TooLarge(format!("a form has at most {MAX_PARTS} parts"))));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_some() {
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
            let value = read_text(&mut field, &fail).await?;
            form.fields.push((name, value));
        }
    }
    Ok(form)
}

async fn read_text(field: &mut axum::extract::multipart::Field<'_>, fail: &impl Fn(Error) -> ConsoleError) -> Result<String, ConsoleError> {
    let mut bytes = Vec::new();
    while let Some(chunk) =
        field.chunk().await.map_err(|e| fail(Error::BadRequest(format!("the form could not be read: {}", e.body_text()))))?
    {
        if bytes.len() + chunk.len() > MAX_TEXT_BYTES {
            return Err(fail(Error::TooLarge(format!("a text field has at most {MAX_TEXT_BYTES} bytes"))));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| fail(Error::BadRequest("a text field is not UTF-8".into())))
}
