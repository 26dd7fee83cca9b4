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
//! | GET | `/admin/v1/anchors` | federation anchors, their lists, denies, refused listings |
//! | GET | `/admin/v1/explain?key=HEX` or `?peer=PEER_ID` | which rule admits or refuses it |
//!
//! Every call is audited, the read-only ones too (`members.list`, `peers.list`,
//! `audit.view`, `anchors.list`, `explain`).
//! | GET | `/admin/v1/activity?buckets=N` | ingest and sync counts per 10 s (`crate::activity`) |

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
        .route("/admin/v1/anchors", get(anchors))
        .route("/admin/v1/explain", get(explain))
        .route("/admin/v1/activity", get(activity))
        .with_state(admin)
}

fn body<T: DeserializeOwned>(b: &Bytes) -> Result<T, AdminError> {
    let b: &[u8] = if b.is_empty() { b"{}" } else { b };
    serde_json::from_slice(b).map_err(|e| AdminError::bad(format!("request body: {e}")))
}

async fn members(State(a): S, h: HeaderMap) -> Answer {
    let actor = a.authorize(&h, "members.list", "")?;
    let list = a.members_json();
    let n = list.as_array().map_or(0, Vec::len);
    a.log_read(
        &actor,
        "members.list",
        "",
        serde_json::json!({"members": n}),
    );
    Ok(Json(list))
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
    let actor = a.authorize(&h, "peers.list", "")?;
    let peers = a.peers_json().await;
    let n = peers.as_array().map_or(0, Vec::len);
    a.log_read(&actor, "peers.list", "", serde_json::json!({"peers": n}));
    Ok(Json(peers))
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
    let actor = a.authorize(&h, "audit.view", "")?;
    let limit = q.limit.unwrap_or(100).min(100_000);
    let entries = a.audit_tail(limit)?;
    a.log_read(
        &actor,
        "audit.view",
        "",
        serde_json::json!({"limit": limit, "entries": entries.len()}),
    );
    Ok(Json(Value::Array(entries)))
}

async fn anchors(State(a): S, h: HeaderMap) -> Answer {
    let actor = a.authorize(&h, "anchors.list", "")?;
    let v = a.anchors_json().await;
    a.log_read(&actor, "anchors.list", "", Value::Null);
    Ok(Json(v?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainQuery {
    key: Option<String>,
    peer: Option<String>,
}

async fn explain(State(a): S, h: HeaderMap, Query(q): Query<ExplainQuery>) -> Answer {
    let target = q.key.clone().or(q.peer.clone()).unwrap_or_default();
    let actor = a.authorize(&h, "explain", &target)?;
    let subject = match (q.key, q.peer) {
        (Some(k), None) => k,
        (None, Some(p)) => p,
        _ => {
            let e = AdminError::bad("give exactly one of key=<64 hex digits> or peer=<peer id>");
            a.log(
                &actor,
                "explain",
                &target,
                Value::Null,
                Value::Null,
                Err(&e),
            );
            return Err(e);
        }
    };
    let v = a.explain(&subject);
    a.log_read(&actor, "explain", &subject, v.clone());
    Ok(Json(v))
}

#[derive(Deserialize)]
struct ActivityQuery {
    buckets: Option<usize>,
}

async fn activity(State(a): S, h: HeaderMap, Query(q): Query<ActivityQuery>) -> Answer {
    let actor = a.authorize(&h, "activity.view", "")?;
    let n = q.buckets.unwrap_or(crate::activity::DEFAULT_WINDOW);
    a.log_read(
        &actor,
        "activity.view",
        "",
        serde_json::json!({"buckets": n}),
    );
    Ok(Json(
        crate::activity::global().json(n, crate::ingest::now()),
    ))
}
