//! Who a console request comes from: the session cookie, the language
//! cookie, and the CSRF token every form carries.
//!
//! The session cookie is `HttpOnly` (no script reads it) and
//! `SameSite=Strict` (no other site's page sends it); on top of that every
//! form carries the session's CSRF token, checked before anything else is
//! done with the form. The sign-in form, which has no session yet, carries
//! a token that must equal a cookie set with the form (a double submit),
//! so that another site cannot sign a browser in to an account of its own.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use suishoupai_core::Locale;

use super::page::ConsoleError;
use crate::error::Error;
use crate::model::User;
use crate::services::sign_in;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "sp_session";
pub const SIGN_IN_COOKIE: &str = "sp_sign_in";
pub const LANG_COOKIE: &str = "sp_lang";

/// A signed-in staff member, with the CSRF token of their session and the
/// language they read in.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: User,
    pub csrf: String,
    pub locale: Locale,
}

/// The language of the request: the cookie's, else Chinese.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Locale);

/// The value of cookie `name` in the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` for `name`: HttpOnly, SameSite=Strict, the whole site;
/// `None` as the age deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<i64>) -> (axum::http::HeaderName, HeaderValue) {
    let age = max_age_secs.unwrap_or(0);
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={age}");
    (SET_COOKIE, HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("sp_invalid=; Max-Age=0")))
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(match cookie(&parts.headers, LANG_COOKIE).as_deref() {
            Some("en") => Locale::En,
            _ => Locale::ZhCn,
        }))
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ConsoleError> {
        let Lang(locale) = Lang::from_request_parts(parts, app).await.unwrap_or(Lang(Locale::ZhCn));
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(ConsoleError::SignIn) };
        let now_ms = app.now_ms();
        let found = app.db(move |s| sign_in::session(s, &value, now_ms)).await.map_err(|e| ConsoleError::Page(e, locale))?;
        let session = found.ok_or(ConsoleError::SignIn)?;
        crate::http::observe::note_caller(session.user.id);
        Ok(Staff { user: session.user, csrf: session.csrf, locale })
    }
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Staff {
    /// 403 unless the form carried this session's CSRF token.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ConsoleError> {
        match sent {
            Some(token) if same_token(token, &self.csrf) => Ok(()),
            _ => Err(ConsoleError::Page(
                Error::Forbidden("the form's CSRF token is missing or wrong; reload the page and try again".into()),
                self.locale,
            )),
        }
    }

    pub fn fail(&self, e: Error) -> ConsoleError {
        ConsoleError::Page(e, self.locale)
    }
}
