//! The admin API: the trust list, peers and the audit log of a running node, on
//! its own HTTP bind (`[admin] listen`, `127.0.0.1:7781` by default) with its own
//! bearer token (`DATA/admin.token`, mode 0600, created by `techmesh init`, or by
//! `techmesh run` for a data dir made before it existed).
//!
//! The admin token is separate from `DATA/api.token`: the API token is handed to
//! publishing tools (imports, spreadsheets), the admin token decides who the node
//! trusts. Neither is accepted in place of the other.
//!
//! `trust.toml` stays the single source of truth: every change through the API is
//! made to the file (validated as a whole, written atomically) and then applied
//! through the same path as a reload (SIGHUP or `POST /admin/v1/reload`):
//! [`Admin::apply`] sets the policy, re-gates connections (a removed member is
//! disconnected at once), purges what must be purged, and everything is written to
//! the audit log (`audit.rs`). A change or reload that does not validate changes
//! nothing: neither the file nor the running list.
//!
//! The running list is the *effective* one: the local list merged with the
//! membership lists of the federation anchors `trust.toml` names (`anchors.rs`),
//! recomputed when one of those lists changes. Read-only calls (members, peers,
//! anchors, explain, audit view) are audited too.

pub mod anchors;
mod audit;
mod changes;
mod routes;
pub mod trust_file;
mod views;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use techmesh_protocol::record::PublicKey;
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::rotation::SignedRotation;
use techmesh_protocol::trust::{Member, OnRemoval, TrustList};

use crate::datadir::DataDir;
use crate::node::Node;
pub use audit::Audit;
pub use routes::router;
use trust_file::{member_json, write_atomic, TrustFile};

/// An admin API error: status + message (JSON `{"error": ...}`).
#[derive(Debug)]
pub struct AdminError(pub StatusCode, pub String);

impl AdminError {
    pub fn bad(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::BAD_REQUEST, m.into())
    }
    pub fn not_found(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::NOT_FOUND, m.into())
    }
    pub fn conflict(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::CONFLICT, m.into())
    }
    pub fn forbidden(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::FORBIDDEN, m.into())
    }
    pub fn unprocessable(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::UNPROCESSABLE_ENTITY, m.into())
    }
    pub fn internal(m: impl Into<String>) -> AdminError {
        AdminError(StatusCode::INTERNAL_SERVER_ERROR, m.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

/// Files of the admin API in the data dir.
impl DataDir {
    pub fn admin_token_file(&self) -> PathBuf {
        self.root.join("admin.token")
    }
    /// Written by `techmesh run`: where the admin API listens.
    pub fn admin_addr_file(&self) -> PathBuf {
        self.root.join("admin.addr")
    }
    pub fn audit_file(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }
    pub fn admin_token(&self) -> Result<String> {
        let path = self.admin_token_file();
        Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_string())
    }
}

/// Create a new random token file (mode 0600), never overwriting one.
pub fn create_token(path: &Path) -> Result<()> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(format!("{}\n", hex::encode(b)).as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The admin token of `dir`, created when missing (data dirs from before it).
pub fn ensure_token(dir: &DataDir) -> Result<String> {
    let path = dir.admin_token_file();
    if !path.exists() {
        create_token(&path)?;
        tracing::info!(file = %path.display(), "created the admin API token");
    }
    dir.admin_token()
}

/// The name a token goes by in the audit log: never the token itself.
pub fn token_id(token: &str) -> String {
    format!(
        "token:{}",
        &hex::encode(Sha256::digest(token.as_bytes()))[..8]
    )
}

/// Who did it: the token's id (or `sighup`), and the operator name the caller
/// gave in `X-Techmesh-Operator` (unverified, for the log only).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub operator: Option<String>,
}

impl Actor {
    pub fn sighup() -> Actor {
        Actor {
            id: "sighup".into(),
            operator: None,
        }
    }
}

/// Body of `POST /admin/v1/members/{name}/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The key (default: the member's only key).
    pub key: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SSZ` (default: now).
    pub as_of: Option<String>,
    /// Also refuse records with a seq above this (catches backdated records).
    pub max_seq: Option<u64>,
    pub reason: Option<String>,
}

pub struct Admin {
    trust_path: PathBuf,
    node: Arc<Node>,
    token: String,
    token_id: String,
    audit: Audit,
    /// One trust-list change (or reload) at a time.
    lock: tokio::sync::Mutex<()>,
    /// The local list (trust.toml) last applied: the base of the effective list.
    local: std::sync::Mutex<TrustList>,
    /// Set when a membership record of an anchor is stored or withdrawn.
    anchors_changed: Arc<tokio::sync::Notify>,
}

/// Members by name.
fn by_name(list: &TrustList) -> BTreeMap<&str, &Member> {
    list.members.iter().map(|m| (m.name.as_str(), m)).collect()
}

/// Members added, removed or changed between two lists, as (before, after) JSON
/// maps name → member.
fn diff_json(old: &TrustList, new: &TrustList) -> (Value, Value) {
    let (o, n) = (by_name(old), by_name(new));
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    for (name, m) in &o {
        if n.get(name) != Some(m) {
            before.insert((*name).into(), member_json(m));
        }
    }
    for (name, m) in &n {
        if o.get(name) != Some(m) {
            after.insert((*name).into(), member_json(m));
        }
    }
    (Value::Object(before), Value::Object(after))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Admin {
    pub fn new(dir: &DataDir, node: Arc<Node>) -> Result<Admin> {
        let token = ensure_token(dir)?;
        let local = dir.trust()?;
        let anchors_changed = Arc::new(tokio::sync::Notify::new());
        node.ingest().observe(Arc::new(anchors::AnchorWatch {
            trust: node.ingest().trust.clone(),
            changed: anchors_changed.clone(),
        }));
        Ok(Admin {
            trust_path: dir.trust_toml(),
            node,
            token_id: token_id(&token),
            token,
            audit: Audit::open(&dir.audit_file())?,
            lock: tokio::sync::Mutex::new(()),
            local: std::sync::Mutex::new(local),
            anchors_changed,
        })
    }

    /// Recompute the effective list whenever an anchor's membership list changes
    /// (runs until the process ends).
    pub fn watch_anchors(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.anchors_changed.notified().await;
                me.refresh_anchors().await;
            }
        })
    }

    /// The effective list of `local` with what the store holds now.
    async fn effective(&self, local: &TrustList) -> TrustList {
        let store = self.node.store();
        let l = local.clone();
        let read = tokio::task::spawn_blocking(move || anchors::effective(&l, &*store))
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r.map_err(anyhow::Error::from));
        read.unwrap_or_else(|e| {
            tracing::error!("anchor lists not read, only the local list applies: {e:#}");
            local.clone()
        })
    }

    /// An anchor published, replaced or withdrew a membership list: recompute the
    /// effective list and apply it (audited as `anchors.refresh`, actor
    /// `anchor-list`), like a reload.
    pub async fn refresh_anchors(&self) {
        let _g = self.lock.lock().await;
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let new = self.effective(&local).await;
        if new == self.running() {
            return;
        }
        let (before, after) = diff_json(&self.running(), &new);
        let report = self.apply_effective(new).await;
        let actor = Actor {
            id: "anchor-list".into(),
            operator: None,
        };
        self.log(
            &actor,
            "anchors.refresh",
            "membership lists",
            before,
            after,
            Ok(&report),
        );
        tracing::info!("trust list recomputed: an anchor's membership list changed");
    }

    fn running(&self) -> TrustList {
        self.node
            .ingest()
            .trust
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn log(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        before: Value,
        after: Value,
        outcome: Result<&Value, &AdminError>,
    ) {
        let (result, error, details) = match outcome {
            Ok(d) => ("ok", None, d.clone()),
            Err(e) if e.0 == StatusCode::UNAUTHORIZED => {
                ("refused", Some(e.1.as_str()), Value::Null)
            }
            Err(e) => ("failed", Some(e.1.as_str()), Value::Null),
        };
        let entry = audit::Entry {
            actor: &actor.id,
            operator: actor.operator.as_deref(),
            action,
            target,
            before,
            after,
            result,
            error,
            details,
        };
        if let Err(e) = self.audit.append(entry) {
            tracing::error!("AUDIT LOG NOT WRITTEN: {e:#}");
        }
    }

    /// Check the bearer token; a missing or wrong one is refused (401), logged and
    /// audited, and changes nothing.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        action: &str,
        target: &str,
    ) -> Result<Actor, AdminError> {
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let operator = headers
            .get("x-techmesh-operator")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().filter(|c| !c.is_control()).take(64).collect());
        match presented {
            Some(t) if constant_time_eq(t.trim(), &self.token) => Ok(Actor {
                id: self.token_id.clone(),
                operator,
            }),
            other => {
                let who = if other.is_some() {
                    "wrong-token"
                } else {
                    "unauthenticated"
                };
                tracing::warn!(
                    action,
                    target,
                    who,
                    "admin call refused: missing or wrong bearer token"
                );
                let e = AdminError(
                    StatusCode::UNAUTHORIZED,
                    "admin calls need the bearer token in DATA/admin.token".into(),
                );
                let actor = Actor {
                    id: who.into(),
                    operator,
                };
                self.log(&actor, action, target, Value::Null, Value::Null, Err(&e));
                Err(e)
            }
        }
    }

    /// Apply a validated list everywhere: policy (new records of removed members
    /// and under revoked keys are refused from now on), connections (removed
    /// peers disconnected at once), mapping recognition; then purge what the list
    /// says to purge. `new` is the local list (trust.toml): the anchors' lists are
    /// merged in first. Returns a report.
    pub async fn apply(&self, new: TrustList) -> Value {
        *self.local.lock().unwrap_or_else(|p| p.into_inner()) = new.clone();
        let new = self.effective(&new).await;
        self.apply_effective(new).await
    }

    /// [`Admin::apply`] of an effective list.
    async fn apply_effective(&self, new: TrustList) -> Value {
        let old = self.running();
        let (o, n) = (by_name(&old), by_name(&new));
        let added: Vec<String> = n
            .keys()
            .filter(|k| !o.contains_key(*k))
            .map(|k| k.to_string())
            .collect();
        let removed: Vec<Member> = o
            .iter()
            .filter(|(k, _)| !n.contains_key(*k))
            .map(|(_, m)| (*m).clone())
            .collect();
        let changed: Vec<String> = n
            .iter()
            .filter(|(k, m)| o.get(*k).is_some_and(|old| old != *m))
            .map(|(k, _)| k.to_string())
            .collect();
        let new_peers: HashSet<&String> = new.members.iter().flat_map(|m| &m.peer_ids).collect();
        let connected: HashSet<String> = self
            .node
            .net()
            .map(|n| n.peers.connected_ids().into_iter().collect())
            .unwrap_or_default();
        let disconnected: Vec<String> = old
            .members
            .iter()
            .flat_map(|m| &m.peer_ids)
            .filter(|p| !new_peers.contains(p) && connected.contains(*p))
            .cloned()
            .collect();
        // What to purge: removed members set to purge (keys nobody else lists),
        // and records under newly revoked keys from the revocation on.
        let kept_keys: HashSet<PublicKey> = new
            .members
            .iter()
            .flat_map(|m| m.publisher_keys.iter().copied())
            .collect();
        let mut purges: Vec<(
            String,
            PublicKey,
            Option<techmesh_protocol::trust::Revocation>,
        )> = Vec::new();
        for m in removed.iter().filter(|m| m.on_removal == OnRemoval::Purge) {
            for k in m.publisher_keys.iter().filter(|k| !kept_keys.contains(k)) {
                purges.push((m.name.clone(), *k, None));
            }
        }
        for m in &new.members {
            let before = o.get(m.name.as_str());
            for r in &m.revoked {
                let known = before.is_some_and(|b| b.revoked.contains(r));
                if !known {
                    purges.push((m.name.clone(), r.key, Some(r.clone())));
                }
            }
        }
        self.node.set_trust(new.clone()).await;
        let ingest = self.node.ingest().clone();
        let purged = tokio::task::spawn_blocking(move || {
            let mut out: BTreeMap<String, u64> = BTreeMap::new();
            for (name, key, rev) in purges {
                let r = match &rev {
                    None => ingest.purge(&key, &|_| true),
                    Some(rv) => ingest.purge(&key, &|rec| rv.covers(rec)),
                };
                match r {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(member = %name, key = %key, records = n, "purged records");
                        }
                        *out.entry(name).or_default() += n;
                    }
                    Err(e) => tracing::error!(member = %name, "purge failed: {e}"),
                }
            }
            out
        })
        .await
        .unwrap_or_default();
        for m in &removed {
            tracing::info!(member = %m.name, on_removal = m.on_removal.as_str(), "member removed from the trust list");
        }
        json!({
            "members": new.members.len(),
            "added": added,
            "removed": removed.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
            "changed": changed,
            "disconnected": disconnected,
            "purged": purged,
        })
    }

    /// At start: purge records that revocations in the trust list refuse (a
    /// revocation added while the node was stopped). Cheap: only the revoked keys'
    /// records are read.
    pub async fn enforce_revocations(&self) {
        let list = self.running();
        let ingest = self.node.ingest().clone();
        let _ = tokio::task::spawn_blocking(move || {
            for m in &list.members {
                for r in &m.revoked {
                    match ingest.purge(&r.key, &|rec| r.covers(rec)) {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(member = %m.name, key = %r.key, records = n, "purged records under a revoked key"),
                        Err(e) => tracing::error!(member = %m.name, "purge failed: {e}"),
                    }
                }
            }
        })
        .await;
    }

    /// Reload `trust.toml` (SIGHUP and `POST /admin/v1/reload`). A file that does
    /// not validate leaves the running list untouched.
    pub async fn reload(&self, actor: &Actor) -> Result<Value, AdminError> {
        let _g = self.lock.lock().await;
        let new = match techmesh_config::trust::load(&self.trust_path) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("trust list NOT reloaded, the running list stays: {e}");
                let err = AdminError::unprocessable(format!(
                    "trust list NOT reloaded, the running list stays: {e}"
                ));
                self.log(
                    actor,
                    "reload",
                    "trust.toml",
                    Value::Null,
                    Value::Null,
                    Err(&err),
                );
                return Err(err);
            }
        };
        let (before, after) = diff_json(&self.running(), &self.effective(&new).await);
        let report = self.apply(new).await;
        self.log(
            actor,
            "reload",
            "trust.toml",
            before.clone(),
            after.clone(),
            Ok(&report),
        );
        tracing::info!("trust list reloaded");
        Ok(
            json!({"result": "ok", "action": "reload", "before": before, "after": after, "report": report}),
        )
    }
}

/// Bind the admin API, write `DATA/admin.addr`, and serve until `stop` changes.
pub async fn start(
    dir: &DataDir,
    admin: Arc<Admin>,
    listen: &str,
    mut stop: tokio::sync::watch::Receiver<bool>,
    // Also served on this bind: the public read API and the web console, so the
    // console's Admin page works same-origin.
    public: axum::Router,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let addr: std::net::SocketAddr = listen.parse().with_context(|| {
        format!("admin.listen: {listen:?} is not an address such as 127.0.0.1:7781")
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the admin API on {addr}"))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router(admin).merge(public))
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await;
    });
    std::fs::write(dir.admin_addr_file(), addr.to_string())?;
    Ok((addr, task))
}
