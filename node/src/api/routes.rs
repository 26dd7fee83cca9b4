//! Route handlers of the local API (v1).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};

use super::{bad_request, ApiError, ApiState};
use crate::cli::Stored;
use crate::store::ListFilter;

/// Largest request body (publish and ingest carry whole import files while a node
/// runs: 20 000 entries are ~10 MB; axum's default limit is 2 MB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/id", get(id))
        .route("/v1/status", get(status))
        .route("/v1/peers", get(peers))
        .route("/v1/records", get(list))
        .route("/v1/record", get(get_one))
        .route("/v1/publish", post(publish))
        .route("/v1/ingest", post(ingest))
        .route("/v1/withdraw", post(withdraw))
        .route("/v1/translate", get(super::mappings::translate))
        .route("/v1/mappings", get(super::mappings::list))
        .route("/metrics", get(metrics))
        .merge(super::search::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .route_layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

/// `GET /metrics`: Prometheus / OpenMetrics text (see [`crate::metrics`]).
async fn metrics(
    State(s): State<ApiState>,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    s.require_read(&headers)?;
    let node = s.node.clone();
    tokio::task::spawn_blocking(move || {
        crate::metrics::respond(
            crate::metrics::global(),
            &*node.store(),
            node.net().map(|n| &*n.peers),
        )
    })
    .await
    .map_err(|e| ApiError::from(anyhow::anyhow!(e)))
}

fn record_json(s: &ApiState, r: &Record) -> Value {
    let ingest = s.node.ingest();
    let status = ingest
        .trust
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .publisher_status(&ingest.local, r);
    json!({
        "id": r.identity().to_string(),
        "hash": r.hash().to_hex(),
        "record": String::from_utf8_lossy(r.bytes()),
        // self | member | former member | revoked key (docs/OPERATIONS.md §2)
        "publisher_status": status,
    })
}

async fn id(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({"publisher": s.node.publisher_key().to_hex(), "peer_id": s.node.peer_id()}))
}

async fn status(State(s): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    Ok(Json(s.node.status().await?))
}

async fn peers(State(s): State<ApiState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    Ok(Json(s.node.peers_json().await))
}

#[derive(Deserialize)]
struct ListQuery {
    kind: Option<String>,
    publisher: Option<String>,
    #[serde(default)]
    all: bool,
    limit: Option<usize>,
}

async fn list(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let kind = q
        .kind
        .as_deref()
        .map(|k| Kind::parse(k).ok_or_else(|| bad_request(format!("kind: unknown kind {k:?}"))))
        .transpose()?;
    let publisher = q
        .publisher
        .as_deref()
        .map(|p| {
            PublicKey::from_hex(p)
                .ok_or_else(|| bad_request(format!("publisher: {p:?} is not a publisher key")))
        })
        .transpose()?;
    let filter = ListFilter {
        kind,
        publisher,
        include_tombstones: q.all,
        limit: q.limit,
    };
    let node = s.node.clone();
    let recs = tokio::task::spawn_blocking(move || node.store().list(&filter))
        .await
        .map_err(|e| anyhow::anyhow!(e))??;
    Ok(Json(Value::Array(
        recs.iter().map(|r| record_json(&s, r)).collect(),
    )))
}

#[derive(Deserialize)]
struct GetQuery {
    id: Option<String>,
    hash: Option<String>,
}

async fn get_one(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Query(q): Query<GetQuery>,
) -> Result<Json<Value>, ApiError> {
    s.require_read(&headers)?;
    let r = match (q.id, q.hash) {
        (Some(id), _) => {
            let id = Identity::parse(&id).ok_or_else(|| {
                bad_request(format!("id: {id:?} is not <publisher>/<kind>/<local_id>"))
            })?;
            s.node.store().get(&id)?
        }
        (None, Some(h)) => {
            let h =
                RecordHash::from_hex(&h).ok_or_else(|| bad_request("hash: not 64 hex digits"))?;
            s.node.store().get_by_hash(&h)?
        }
        (None, None) => {
            return Err(bad_request(
                "give ?id=<publisher>/<kind>/<local_id> or ?hash=<hex>",
            ))
        }
    };
    match r {
        Some(r) => Ok(Json(record_json(&s, &r))),
        None => Err(ApiError(
            axum::http::StatusCode::NOT_FOUND,
            "no such record".into(),
        )),
    }
}

#[derive(Deserialize)]
struct PublishRequest {
    bodies: Vec<Value>,
    #[serde(default)]
    kind: Option<String>,
}

async fn publish(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(req): Json<PublishRequest>,
) -> Result<Json<Vec<Stored>>, ApiError> {
    s.require_token(&headers, "publishing")?;
    let fixed = req
        .kind
        .as_deref()
        .map(|k| Kind::parse(k).ok_or_else(|| bad_request(format!("kind: unknown kind {k:?}"))))
        .transpose()?;
    let mut bodies = Vec::with_capacity(req.bodies.len());
    let mut errors = Vec::new();
    for (i, v) in req.bodies.iter().enumerate() {
        let kind = fixed.unwrap_or_else(|| body::detect_kind(v));
        match body::prepare(kind, v) {
            Ok(b) => bodies.push(b),
            Err(e) => errors.extend(e.0.iter().map(|fe| format!("bodies[{i}].{fe}"))),
        }
    }
    if !errors.is_empty() {
        return Err(bad_request(errors.join("; ")));
    }
    let node = s.node.clone();
    Ok(Json(node.publish(bodies).await?))
}

#[derive(Deserialize)]
struct IngestRequest {
    records: Vec<String>,
}

async fn ingest(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(req): Json<IngestRequest>,
) -> Result<Json<Vec<Stored>>, ApiError> {
    s.require_token(&headers, "importing signed records")?;
    let node = s.node.clone();
    Ok(Json(
        node.ingest_signed(req.records.into_iter().map(String::into_bytes).collect())
            .await?,
    ))
}

#[derive(Deserialize)]
struct WithdrawRequest {
    id: String,
    reason: Option<String>,
}

async fn withdraw(
    State(s): State<ApiState>,
    headers: HeaderMap,
    Json(req): Json<WithdrawRequest>,
) -> Result<Json<Stored>, ApiError> {
    s.require_token(&headers, "withdrawing")?;
    let id = Identity::parse(&req.id).ok_or_else(|| {
        bad_request(format!(
            "id: {:?} is not <publisher>/<kind>/<local_id>",
            req.id
        ))
    })?;
    Ok(Json(s.node.withdraw(id, req.reason).await?))
}
