//! The local HTTP API (axum). Reading is open unless `api.read_requires_token`;
//! writing always needs `Authorization: Bearer <DATA/api.token>`. Errors are JSON
//! `{"error": "..."}` with a status that says whose fault it was.

pub mod client;
mod mappings;
pub use mappings::parse_code;
mod routes;
mod search;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::node::Node;

pub use routes::router;

#[derive(Clone)]
pub struct ApiState {
    pub node: Arc<Node>,
    pub token: Arc<String>,
    pub read_requires_token: bool,
}

/// An API error: status + message.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        let status = if e.downcast_ref::<crate::node::SeqNotConfirmed>().is_some() {
            StatusCode::CONFLICT
        } else if e.downcast_ref::<crate::publish::RequestError>().is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError(status, format!("{e:#}"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

pub fn bad_request(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// Constant-time comparison of the presented bearer token.
fn token_ok(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    presented.len() == token.len()
        && presented
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

impl ApiState {
    pub fn require_token(&self, headers: &HeaderMap, action: &str) -> Result<(), ApiError> {
        if token_ok(headers, &self.token) {
            Ok(())
        } else {
            tracing::warn!(action, "API call refused: missing or wrong bearer token");
            Err(ApiError(
                StatusCode::UNAUTHORIZED,
                format!("{action} needs the bearer token of this node (DATA/api.token)"),
            ))
        }
    }

    pub fn require_read(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.read_requires_token {
            self.require_token(headers, "reading")
        } else {
            Ok(())
        }
    }
}
