//! The caller, as an extractor: handlers that take a [`User`] answer 401
//! to a request without a valid token before they run.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::observe::note_caller;
use crate::auth::bearer_token;
use crate::error::{Error, Result};
use crate::model::User;
use crate::services::sessions;
use crate::state::AppState;

impl FromRequestParts<AppState> for User {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| Error::Unauthorized("missing Authorization header (expected `Bearer TOKEN`)".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or_else(|| Error::Unauthorized("malformed Authorization header (expected `Bearer TOKEN`)".into()))?;
        let user = sessions::authenticate(state, token).await?;
        note_caller(user.id);
        Ok(user)
    }
}
