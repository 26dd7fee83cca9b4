//! Routes of the admin API (v1). Every route needs `Authorization: Bearer
//! <DATA/admin.token>`; bodies are parsed only after the token is checked, so a
//! call without it is a 401 whatever it carries.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/admin/v1/members` | the running trust list |
//! | POST | `/admin/v1/members` | admit a member (JSON with the fields of `[[member]]`) |
//! | DELETE | `/admin/v1/members/{name}` | remove a member |
//! | POST | `/admin/v1/members/{name}/revoke` | `{key?, as_of?, max_seq?, reason?}` |
//! | POST | `/admin/v1/rotations` | accept a signed key rotation statement |
//! | POST | `/admin/v1/reload` | reload trust.toml |
//! | GET | `/admin/v1/peers` | peers and their state |
//! | POST | `/admin/v1/peers/{peer_id}/disconnect` | close a peer's connections |
//! | GET | `/admin/v1/audit?limit=N` | the last N audit entries (default 100) |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{Admin, AdminError, RevokeRequest};

type S = State<Arc<Admin>>;
type Answer = Result<Json<Value>, AdminError>;

pub fn router(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/admin/v1/members", get(members).post(add))
        .route("/admin/v1/members/{name}", delete(remove))
        .route("/admin/v1/members/{name}/revoke", post(revoke))
        .route("/admin/v1/rotations", post(rotation))
        .route("/admin/v1/reload", post(reload))
        .route("/admin/v1/peers", get(peers))
        .route("/admin/v1/peers/{peer_id}/disconnect", post(disconnect))
        .route("/admin/v1/audit", get(audit))
        .with_state(admin)
}

fn body<T: DeserializeOwned>(b: &Bytes) -> Result<T, AdminError> {
    let b: &[u8] = if b.is_empty() { b"{}" } else { b };
    serde_json::from_slice(b).map_err(|e| AdminError::bad(format!("request body: {e}")))
}

async fn members(State(a): S, h: HeaderMap) -> Answer {
    a.authorize(&h, "members.list", "")?;
    Ok(Json(a.members_json()))
}

async fn add(State(a): S, h: HeaderMap, b: Bytes) -> Answer {
    let actor = a.authorize(&h, "members.add", "")?;
    let member: Value = body(&b)?;
    Ok(Json(a.add_member(&actor, member).await?))
}

async fn remove(State(a): S, h: HeaderMap, Path(name): Path<String>) -> Answer {
    let actor = a.authorize(&h, "members.remove", &name)?;
    Ok(Json(a.remove_member(&actor, &name).await?))
}

async fn revoke(State(a): S, h: HeaderMap, Path(name): Path<String>, b: Bytes) -> Answer {
    let actor = a.authorize(&h, "members.revoke", &name)?;
    let req: RevokeRequest = body(&b)?;
    Ok(Json(a.revoke(&actor, &name, req).await?))
}

async fn rotation(State(a): S, h: HeaderMap, b: Bytes) -> Answer {
    let actor = a.authorize(&h, "rotation.accept", "")?;
    let statement: Value = body(&b)?;
    Ok(Json(a.accept_rotation(&actor, statement).await?))
}

async fn reload(State(a): S, h: HeaderMap) -> Answer {
    let actor = a.authorize(&h, "reload", "trust.toml")?;
    Ok(Json(a.reload(&actor).await?))
}

async fn peers(State(a): S, h: HeaderMap) -> Answer {
    a.authorize(&h, "peers.list", "")?;
    Ok(Json(a.peers_json().await))
}

async fn disconnect(State(a): S, h: HeaderMap, Path(peer): Path<String>) -> Answer {
    let actor = a.authorize(&h, "peers.disconnect", &peer)?;
    Ok(Json(a.disconnect(&actor, &peer).await?))
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<usize>,
}

async fn audit(State(a): S, h: HeaderMap, Query(q): Query<AuditQuery>) -> Answer {
    a.authorize(&h, "audit.view", "")?;
    let entries = a.audit_tail(q.limit.unwrap_or(100).min(100_000))?;
    Ok(Json(Value::Array(entries)))
}
