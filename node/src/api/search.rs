//! Search and matchmaking routes: `GET /v1/search`, `POST /v1/match`,
//! `GET /v1/events/{id}/agenda` (`?format=csv` for a CSV file).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::{bad_request, ApiError, ApiState};
use crate::query::{self, agenda, MatchRequest, SearchParams};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/search", get(search))
        .route("/v1/match", post(match_))
        .route("/v1/events/{id}/agenda", get(event_agenda))
}

/// Run a query on the node's index off the async threads.
async fn on_index<T: Send + 'static>(
    s: &ApiState,
    f: impl FnOnce(&query::index::Inner, &crate::mappings::Mappings) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let node = s.node.clone();
    tokio::task::spawn_blocking(move || {
        let idx = node.search.read();
        f(&idx, &node.mappings)
    })
    .await
    .map_err(|e| ApiError::from(anyhow::anyhow!(e)))
}

async fn search(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let v = on_index(&s, move |idx, m| query::search(idx, m, &p)).await?;
    Ok(Json(v.map_err(bad_request)?))
}

async fn match_(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(req): Json<MatchRequest>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let v = on_index(&s, move |idx, m| query::run_match(idx, m, &req)).await?;
    Ok(Json(v.map_err(bad_request)?))
}

async fn event_agenda(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<agenda::AgendaParams>,
) -> Result<Response, ApiError> {
    s.require_read(&headers)?;
    let csv = matches!(p.format.as_deref(), Some("csv"));
    let v = on_index(&s, move |idx, m| agenda::agenda(idx, m, &id, &p))
        .await?
        .map_err(bad_request)?;
    if csv {
        let text = agenda::agenda_csv(&v).map_err(|e| ApiError::from(anyhow::anyhow!(e)))?;
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response());
    }
    Ok(Json(v).into_response())
}
