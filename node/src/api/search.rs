//! Search and matchmaking routes: `GET /v1/search`, `POST /v1/federated-search`,
//! `POST /v1/match` (`"federated": true` to ask the peers too),
//! `GET /v1/events/{id}/agenda` (`?format=csv` for a CSV file). Every search and
//! match result names its publisher's member (`"member"`) and who supplied it
//! (`"node"`: `"local"` or a peer's member name).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::{bad_request, ApiError, ApiState};
use crate::fedquery;
use crate::query::{self, agenda, MatchRequest, SearchParams};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/search", get(search))
        .route("/v1/federated-search", post(federated_search))
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
    if p.federated == Some(true) {
        let v = fedquery::federated_search(&s.node, p)
            .await
            .map_err(bad_request)?;
        return Ok(Json(v));
    }
    let v = on_index(&s, move |idx, m| query::search(idx, m, &p)).await?;
    let mut v = v.map_err(bad_request)?;
    name_members(&s, &mut v);
    Ok(Json(v))
}

/// Set `"member"` on every result of a local answer.
fn name_members(s: &ApiState, v: &mut Value) {
    let node = &s.node;
    let trust = node
        .ingest()
        .trust
        .read()
        .unwrap_or_else(|p| p.into_inner());
    query::name_members(v, &trust, &node.publisher_key(), node.name());
}

async fn federated_search(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(p): Json<SearchParams>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let v = fedquery::federated_search(&s.node, p)
        .await
        .map_err(bad_request)?;
    Ok(Json(v))
}

async fn match_(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(req): Json<MatchRequest>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    if req.federated {
        let v = fedquery::federated_match(&s.node, req)
            .await
            .map_err(bad_request)?;
        return Ok(Json(v));
    }
    let v = on_index(&s, move |idx, m| query::run_match(idx, m, &req)).await?;
    let mut v = v.map_err(bad_request)?;
    name_members(&s, &mut v);
    Ok(Json(v))
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
