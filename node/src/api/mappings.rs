//! Mapping routes: `GET /v1/translate?scheme=&code=&to=[&depth=]` and
//! `GET /v1/mappings` (recognised sets, unrecognised sets, conflicts).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use techmesh_protocol::codes::{self, Scheme};
use techmesh_protocol::translate::TranslateOptions;

use super::{bad_request, ApiError, ApiState};
use crate::mappings::translations_json;

#[derive(Deserialize)]
pub struct TranslateQuery {
    scheme: String,
    code: String,
    to: String,
    depth: Option<usize>,
}

/// Parse `scheme` and normalise `code`, or say which parameter is wrong.
pub fn parse_code(scheme: &str, code: &str) -> Result<(Scheme, String), String> {
    let s = Scheme::parse(scheme)
        .ok_or_else(|| format!("scheme: {scheme:?} is not a known classification scheme"))?;
    let c = codes::normalise(s, code).map_err(|e| format!("code: {e}"))?;
    Ok((s, c))
}

pub async fn translate(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<TranslateQuery>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let (scheme, code) = parse_code(&q.scheme, &q.code).map_err(bad_request)?;
    let to = Scheme::parse(&q.to).ok_or_else(|| {
        bad_request(format!(
            "to: {:?} is not a known classification scheme",
            q.to
        ))
    })?;
    let opts = TranslateOptions {
        max_depth: q.depth.unwrap_or(3).clamp(1, 6),
        ..TranslateOptions::default()
    };
    let results = s.node.mappings.translate(scheme, &code, to, &opts);
    Ok(Json(translations_json((scheme, &code), to, &results)))
}

pub async fn list(State(s): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    Ok(Json(s.node.mappings.status_json()))
}
