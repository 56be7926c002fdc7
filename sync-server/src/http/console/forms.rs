//! The console's forms, all sent as `multipart/form-data` and read by
//! [`crate::http::forms`]. The CSRF token must be the form's first part
//! (every form of the console puts it first), so that it is checked before
//! a byte of a photo is read.

use axum::extract::Multipart;

use super::page::ConsoleError;
use crate::error::Error;
pub use crate::http::forms::{Form, Limits};

/// Reads a form; `check_csrf` sees the first part's value when it is named
/// `csrf` (None otherwise) before anything else is read.
pub async fn read(
    multipart: Multipart,
    limits: Limits,
    check_csrf: impl FnOnce(Option<&str>) -> Result<(), ConsoleError>,
    fail: impl Fn(Error) -> ConsoleError,
) -> Result<Form, ConsoleError> {
    crate::http::forms::read_checking_first(multipart, limits, "csrf", check_csrf, fail).await
}
