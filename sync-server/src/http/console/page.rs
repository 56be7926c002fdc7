//! What every console page shares: the layout's data, rendering a
//! template to an answer, and the one mapping from errors to pages.

use askama::Template;
use axum::http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use suishoupai_core::Locale;

use super::i18n::{self, Text};
use super::session::Staff;
use crate::error::Error;
use crate::http::error::status_and_code;
use crate::model::Role;

/// The layout's data: the words, who is signed in, and the CSRF token the
/// page's forms carry.
pub struct Layout {
    pub t: &'static Text,
    pub user: Option<String>,
    pub role: Option<&'static str>,
    pub csrf: String,
    pub coordinator: bool,
    pub admin: bool,
    /// Where this page is, for the language switch to come back to.
    pub here: String,
    /// The page's title after the console's.
    pub heading: String,
}

impl Layout {
    pub fn for_staff(staff: &Staff, here: impl Into<String>, heading: impl Into<String>) -> Layout {
        let role = staff.user.role;
        Layout {
            t: i18n::text(staff.locale),
            user: Some(staff.user.name.clone()),
            role: Some(i18n::role_name(role, staff.locale)),
            csrf: staff.csrf.clone(),
            coordinator: matches!(role, Role::Coordinator | Role::Admin),
            admin: role == Role::Admin,
            here: here.into(),
            heading: heading.into(),
        }
    }

    pub fn anonymous(locale: Locale, csrf: String, here: &str, heading: &str) -> Layout {
        Layout {
            t: i18n::text(locale),
            user: None,
            role: None,
            csrf,
            coordinator: false,
            admin: false,
            here: here.to_owned(),
            heading: heading.to_owned(),
        }
    }
}

/// A rendered page with its status.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], body).into_response(),
        Err(e) => {
            tracing::error!(detail = %e, "rendering a console page");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered; it has been logged").into_response()
        }
    }
}

/// A redirect after a form, to a page of this console only.
pub fn see_other(to: &str) -> Response {
    let to = if to.starts_with("/console") && !to.starts_with("//") { to } else { "/console/" };
    (StatusCode::SEE_OTHER, [(LOCATION, HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/console/")))]).into_response()
}

/// Why a console request did not get its page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No session: to the sign-in page.
    SignIn,
    Page(Error, Locale),
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    l: Layout,
    status: u16,
    message: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => see_other("/console/sign-in"),
            ConsoleError::Page(e, locale) => {
                let (status, _) = status_and_code(&e);
                let message = if status.is_server_error() {
                    tracing::error!(detail = %e, "a console request failed");
                    "the server failed to handle this request; it has been logged".to_owned()
                } else {
                    e.to_string()
                };
                let t = i18n::text(locale);
                let page =
                    ErrorPage { l: Layout::anonymous(locale, String::new(), "/console/", t.error), status: status.as_u16(), message };
                let mut answer = html(status, &page);
                if let Error::TooManyAttempts { retry_after_secs, .. } | Error::QuotaExceeded { retry_after_secs, .. } = e {
                    answer.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
                }
                answer
            }
        }
    }
}
