//! Open311 GeoReport v2 under `/open311/v2/` (JSON only), thin over
//! [`crate::services::open311`]. The key is `api_key` (a query parameter or
//! a form field) or `Authorization: Bearer`, since our keys are the users'
//! bearer tokens; `jurisdiction_id` is taken and ignored (one server, one
//! jurisdiction). Every error answer of these routes is the spec's array,
//! `[{"code": 400, "description": "..."}]`, made in one place ([`errors`])
//! from the answer [`Error`] gave.

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use suishoupai_core::Locale;

use super::extract::{MAX_JSON_BYTES, Path, Query, check_sha256, read_body};
use super::forms::{self, Form, Limits};
use super::reports::serve_jpeg;
use crate::auth::bearer_token;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::open311::{self, GeoRequest, NewRequest, Presentation, Reader, RequestsQuery, Service};
use crate::services::{photos, sessions, whole_photos};
use crate::state::AppState;

/// The most a `POST requests.json` may weigh: one whole photo and the fields.
pub const MAX_POST_BYTES: usize = whole_photos::MAX_WHOLE_PHOTO_BYTES + 64 * 1024;

/// The server as the caller reached it, for the URLs in answers:
/// `X-Forwarded-Proto` from a proxy in front, else plain http.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let https = headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// The key of a request: `Authorization: Bearer` first, then `api_key`.
fn sent_key<'a>(headers: &'a HeaderMap, api_key: Option<&'a str>) -> Result<Option<&'a str>> {
    if let Some(header) = headers.get(AUTHORIZATION) {
        let token = header.to_str().ok().and_then(bearer_token);
        return token.map(Some).ok_or_else(|| Error::Forbidden("malformed Authorization header (expected `Bearer TOKEN`)".into()));
    }
    Ok(api_key.filter(|k| !k.is_empty()))
}

/// The user a key belongs to; a key that is not valid is 403, as the spec says.
async fn key_holder(app: &AppState, key: &str) -> Result<User> {
    let user = sessions::authenticate(app, key).await.map_err(|e| match e {
        Error::Unauthorized(why) => Error::Forbidden(format!("invalid api_key: {why}")),
        other => other,
    })?;
    super::observe::note_caller(user.id);
    Ok(user)
}

/// Who reads: the key's holder, or anyone when the server publishes cases.
async fn reader(app: &AppState, headers: &HeaderMap, api_key: Option<&str>) -> Result<Reader> {
    match sent_key(headers, api_key)? {
        Some(key) => Ok(Reader::Key(key_holder(app, key).await?)),
        None if app.settings.open311_public => Ok(Reader::Public),
        None => Err(Error::Unauthorized("an api_key is needed to read requests on this server".into())),
    }
}

fn locale(text: Option<&str>) -> Result<Locale> {
    text.map_or(Ok(Locale::ZhCn), |l| l.parse().map_err(|e: suishoupai_core::Error| Error::BadRequest(e.to_string())))
}

fn presentation(app: &AppState, headers: &HeaderMap, locale: Locale) -> Presentation {
    Presentation { locale, timezone: app.settings.timezone, media_base: format!("{}/open311/v2/media/", base_url(headers)) }
}

#[derive(Serialize)]
pub struct Discovery {
    changeset: &'static str,
    contact: &'static str,
    key_service: &'static str,
    endpoints: Vec<Endpoint>,
}

#[derive(Serialize)]
pub struct Endpoint {
    specification: &'static str,
    url: String,
    changeset: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    formats: Vec<&'static str>,
}

/// When this server's Open311 interface last changed.
const CHANGESET: &str = "2026-06-01T00:00:00+08:00";

/// `GET discovery.json`.
pub async fn discovery(headers: HeaderMap) -> axum::Json<Discovery> {
    axum::Json(Discovery {
        changeset: CHANGESET,
        contact: "the coordinators of this campaign",
        key_service: "keys are residents' tokens, given by the coordinators (`suishoupai-server user add --role resident`)",
        endpoints: vec![Endpoint {
            specification: "http://wiki.open311.org/GeoReport_v2",
            url: format!("{}/open311/v2", base_url(&headers)),
            changeset: CHANGESET,
            kind: "production",
            formats: vec!["application/json"],
        }],
    })
}

#[derive(Deserialize, Default)]
pub struct ServicesQuery {
    locale: Option<String>,
    #[allow(dead_code)]
    jurisdiction_id: Option<String>,
}

/// `GET services.json`: the catalogue, open to anyone (as the app's is).
pub async fn services(Query(query): Query<ServicesQuery>) -> Result<axum::Json<Vec<Service>>> {
    Ok(axum::Json(open311::services(locale(query.locale.as_deref())?)))
}

/// The key and the locale of a read.
#[derive(Deserialize, Default)]
pub struct ReadParams {
    api_key: Option<String>,
    locale: Option<String>,
}

/// Who reads, and how they are shown what they read.
async fn reading(app: &AppState, headers: &HeaderMap, p: &ReadParams) -> Result<(Reader, Presentation)> {
    let reader = reader(app, headers, p.api_key.as_deref()).await?;
    Ok((reader, presentation(app, headers, locale(p.locale.as_deref())?)))
}

/// The query of `GET requests.json`; parameters Open311 defines that this
/// server does not use (`jurisdiction_id`, extensions) are ignored.
#[derive(Deserialize, Default)]
pub struct RequestsParams {
    #[serde(flatten)]
    read: ReadParams,
    #[serde(flatten)]
    query: RequestsQuery,
}

/// `GET requests.json`.
pub async fn requests(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<RequestsParams>,
) -> Result<axum::Json<Vec<GeoRequest>>> {
    let (reader, how) = reading(&app, &headers, &p.read).await?;
    let filter = open311::filter(&p.query, app.now_ms())?;
    Ok(axum::Json(app.db(move |s| open311::list(s, &reader, &filter, &how)).await?))
}

/// `GET requests/{id}.json`: an array of the one request.
pub async fn request(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(p): Query<ReadParams>,
) -> Result<axum::Json<Vec<GeoRequest>>> {
    let (reader, how) = reading(&app, &headers, &p).await?;
    let id = file.strip_suffix(".json").ok_or_else(|| Error::NotFound(format!("no request {file} (the path ends in .json)")))?.to_owned();
    Ok(axum::Json(vec![app.db(move |s| open311::one(s, &reader, &id, &how)).await?]))
}

#[derive(Deserialize, Default)]
pub struct MediaParams {
    api_key: Option<String>,
}

/// `GET media/{sha256}`: a request's photo (its `media_url`), for whoever
/// may read the request.
pub async fn media(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(sha256): Path<String>,
    Query(p): Query<MediaParams>,
) -> Result<Response> {
    let reader = reader(&app, &headers, p.api_key.as_deref()).await?;
    check_sha256(&sha256)?;
    let bytes = photos::rendition_within(&app, reader.scope(), sha256.clone()).await?;
    Ok(serve_jpeg(&sha256, bytes))
}

#[derive(Serialize)]
pub struct Created {
    service_request_id: String,
    service_notice: String,
    account_id: Option<String>,
}

/// `POST requests.json`: a form (multipart with the photo as `media`, or
/// urlencoded, which then lacks the photo this server needs).
pub async fn create(State(app): State<AppState>, headers: HeaderMap, request: Request) -> Result<axum::Json<Vec<Created>>> {
    let is_multipart = headers.get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"multipart/form-data"));
    let query_key = Form::from_urlencoded(request.uri().query().unwrap_or_default().as_bytes())?.get("api_key").map(str::to_owned);
    let mut form = if is_multipart {
        let multipart = Multipart::from_request(request, &()).await.map_err(|e| Error::BadRequest(e.body_text()))?;
        forms::read(multipart, Limits { max_files: 1, max_file_bytes: whole_photos::MAX_WHOLE_PHOTO_BYTES }).await?
    } else {
        Form::from_urlencoded(&read_body(request.into_body(), MAX_JSON_BYTES).await?)?
    };
    let key = sent_key(&headers, form.get("api_key").or(query_key.as_deref()))?
        .ok_or_else(|| Error::Forbidden("an api_key is needed to submit a request (a resident's token)".into()))?;
    let user = key_holder(&app, key).await?;
    let new = NewRequest {
        service_code: form.get("service_code").map(str::to_owned),
        lat: form.get("lat").map(str::to_owned),
        long: form.get("long").map(str::to_owned),
        description: form.raw("description").map(str::to_owned),
        media: form.take_files("media").pop(),
    };
    let id = open311::submit(&app, user, new).await?;
    Ok(axum::Json(vec![Created { service_request_id: id, service_notice: String::new(), account_id: None }]))
}

/// One entry of an Open311 error answer.
#[derive(Serialize)]
struct Open311Error {
    code: u16,
    description: String,
}

/// Every error answer of the Open311 routes, in the spec's format: the
/// message of the [`crate::http::error`] answer (or the status's reason,
/// for an answer axum made), keeping the status and headers such as
/// WWW-Authenticate and Retry-After.
pub async fn errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let description = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.remove(CONTENT_TYPE);
    let mut answer = (status, axum::Json(vec![Open311Error { code: status.as_u16(), description }])).into_response();
    answer.headers_mut().extend(parts.headers);
    answer
}
