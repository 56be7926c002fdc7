//! Signing in and out, and the language switch.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::forms::{self, Limits};
use super::page::{ConsoleError, Layout, html, see_other};
use super::session::{Lang, SESSION_COOKIE, SIGN_IN_COOKIE, Staff, cookie, same_token, set_cookie};
use crate::auth;
use crate::error::Error;
use crate::http::extract::Query;
use crate::services::sign_in;
use crate::state::AppState;

const NO_FILES: Limits = Limits { max_files: 0, max_file_bytes: 0 };

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    l: Layout,
    name: String,
    message: Option<String>,
}

/// The form, with a fresh token that must come back with it and in the cookie set here.
fn form_page(lang: Lang, status: StatusCode, name: String, message: Option<String>) -> Result<Response, ConsoleError> {
    let token = auth::new_token().map_err(|e| ConsoleError::Page(e, lang.0))?;
    let heading = super::i18n::text(lang.0).sign_in;
    let page = SignInPage { l: Layout::anonymous(lang.0, token.clone(), "/console/sign-in", heading), name, message };
    let mut answer = html(status, &page);
    let (header, value) = set_cookie(SIGN_IN_COOKIE, &token, Some(3600));
    answer.headers_mut().append(header, value);
    Ok(answer)
}

pub async fn form(lang: Lang) -> Result<Response, ConsoleError> {
    form_page(lang, StatusCode::OK, String::new(), None)
}

pub async fn submit(
    State(app): State<AppState>,
    lang: Lang,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    let fail = |e: Error| ConsoleError::Page(e, lang.0);
    let form = forms::read(
        multipart,
        NO_FILES,
        |sent| match (sent, expected.as_deref()) {
            (Some(sent), Some(expected)) if same_token(sent, expected) => Ok(()),
            _ => Err(fail(Error::Forbidden("the sign-in form's CSRF token is missing or wrong; reload the page and try again".into()))),
        },
        fail,
    )
    .await?;
    let name = form.get("name").unwrap_or_default().to_owned();
    // Passwords are taken as typed: no trimming.
    let password = form.get("password").map(|_| form_password(&form)).unwrap_or_default();
    let (who, now_ms) = (name.clone(), app.now_ms());
    let address = peer.ip().to_string();
    match app.db(move |s| sign_in::sign_in(s, &who, &password, &address, now_ms)).await {
        Ok(signed) => {
            let to = if signed.user.role == crate::model::Role::Department { "/console/queue" } else { "/console/cases" };
            let mut answer = see_other(to);
            let (header, value) = set_cookie(SESSION_COOKIE, &signed.cookie, Some(sign_in::SESSION_MS / 1000));
            answer.headers_mut().append(header, value);
            let (header, value) = set_cookie(SIGN_IN_COOKIE, "", None);
            answer.headers_mut().append(header, value);
            Ok(answer)
        }
        Err(e @ (Error::Unauthorized(_) | Error::Forbidden(_) | Error::TooManyAttempts { .. })) => {
            let status = crate::http::error::status_and_code(&e).0;
            let mut answer = form_page(lang, status, name, Some(e.to_string()))?;
            if let Error::TooManyAttempts { retry_after_secs, .. } = e {
                answer.headers_mut().insert(axum::http::header::RETRY_AFTER, retry_after_secs.into());
            }
            Ok(answer)
        }
        Err(e) => Err(fail(e)),
    }
}

/// The password field untrimmed (a password may begin or end with a space).
fn form_password(form: &forms::Form) -> String {
    form.raw("password").unwrap_or_default().to_owned()
}

pub async fn sign_out(
    State(app): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ConsoleError> {
    forms::read(multipart, NO_FILES, |sent| staff.check_csrf(sent), |e| staff.fail(e)).await?;
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        app.db(move |s| sign_in::sign_out(s, &value)).await.map_err(|e| staff.fail(e))?;
    }
    let mut answer = see_other("/console/sign-in");
    let (header, value) = set_cookie(SESSION_COOKIE, "", None);
    answer.headers_mut().append(header, value);
    Ok(answer)
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: String,
    back: Option<String>,
}

/// Sets the language cookie and goes back to the page it was asked from.
pub async fn switch_language(Query(query): Query<LangQuery>) -> Response {
    let value = if query.to == "en" { "en" } else { "zh" };
    let mut answer = see_other(query.back.as_deref().unwrap_or("/console/"));
    let (header, cookie) = set_cookie(super::session::LANG_COOKIE, value, Some(365 * 24 * 3600));
    answer.headers_mut().append(header, cookie);
    answer.into_response()
}
