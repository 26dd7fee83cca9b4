//! A running node: the store, the publisher, the network client and the sync
//! service, wired together. The API and `techmesh run` use it; it owns no I/O loop
//! itself (those are the network event loop and the sync service).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use serde_json::{json, Value};

use techmesh_protocol::body::Body;
use techmesh_protocol::record::{Identity, PublicKey};

use crate::cli::Stored;
use crate::net::NetClient;
use crate::publish::Publisher;
use crate::store::Store;

/// The no-self-fork guard: publishing waits until a peer told us the highest seq it
/// holds from us (so a node restored from an old backup cannot reuse seqs), unless
/// there is nobody to ask or the operator overrides it.
pub struct SeqGuard {
    confirmed: AtomicBool,
    peer_watermark: AtomicU64,
    override_: bool,
    has_members: bool,
}

impl SeqGuard {
    pub fn new(has_members: bool, override_: bool) -> SeqGuard {
        SeqGuard {
            confirmed: AtomicBool::new(false),
            peer_watermark: AtomicU64::new(0),
            override_,
            has_members,
        }
    }

    pub fn learned(&self, seq: u64) {
        self.peer_watermark.fetch_max(seq, Ordering::SeqCst);
        self.confirmed.store(true, Ordering::SeqCst);
    }

    pub fn peer_watermark(&self) -> u64 {
        self.peer_watermark.load(Ordering::SeqCst)
    }

    pub fn check(&self) -> Result<()> {
        if self.override_ || !self.has_members || self.confirmed.load(Ordering::SeqCst) {
            return Ok(());
        }
        Err(SeqNotConfirmed.into())
    }
}

/// Publishing refused by the no-self-fork guard (HTTP 409).
#[derive(Debug, thiserror::Error)]
#[error(
    "not publishing yet: no peer has confirmed this node's latest seq, so a restored or lost store could reuse seq numbers (self-fork). \
     Wait until a trusted peer is connected, or set records.allow_publish_without_peer_seq = true in node.toml if you are sure this store is current"
)]
pub struct SeqNotConfirmed;

pub struct Node {
    publisher: Arc<Publisher>,
    net: Option<NetClient>,
    pub seq_guard: Arc<SeqGuard>,
    pub mappings: Arc<crate::mappings::Mappings>,
    /// Search and matchmaking index (empty until [`Node::with_search`]).
    pub search: Arc<crate::query::SearchIndex>,
    /// This node's name (node.toml), for results it supplies itself.
    name: String,
}

impl Node {
    pub fn new(
        publisher: Arc<Publisher>,
        net: Option<NetClient>,
        seq_guard: Arc<SeqGuard>,
        mappings: Arc<crate::mappings::Mappings>,
    ) -> Node {
        Node {
            publisher,
            net,
            seq_guard,
            mappings,
            search: Arc::default(),
            name: String::new(),
        }
    }

    /// This node's name (node.toml `[node] name`).
    pub fn with_name(mut self, name: impl Into<String>) -> Node {
        self.name = name.into();
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Use this search index (loaded from the store and observing ingest).
    pub fn with_search(mut self, search: Arc<crate::query::SearchIndex>) -> Node {
        self.search = search;
        self
    }

    pub fn ingest(&self) -> &crate::ingest::Ingest {
        self.publisher.ingest()
    }

    /// Apply a new trust list everywhere: policy, connections, mapping recognition.
    pub async fn set_trust(&self, trust: techmesh_protocol::trust::TrustList) {
        self.mappings.trust_changed(&trust);
        *self
            .ingest()
            .trust
            .write()
            .unwrap_or_else(|p| p.into_inner()) = trust;
        if let Some(net) = &self.net {
            let _ = net.trust_changed().await;
        }
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.publisher.ingest().store.clone()
    }

    pub fn publisher_key(&self) -> PublicKey {
        self.publisher.keypair().public()
    }

    pub fn peer_id(&self) -> Option<String> {
        self.net.as_ref().map(|n| n.local_peer_id.to_string())
    }

    pub fn net(&self) -> Option<&NetClient> {
        self.net.as_ref()
    }

    /// Store first (durably), then gossip.
    pub async fn publish(&self, bodies: Vec<Body>) -> Result<Vec<Stored>> {
        self.seq_guard.check()?;
        let p = self.publisher.clone();
        let min_seq = self.seq_guard.peer_watermark();
        let results =
            tokio::task::spawn_blocking(move || p.publish_after(bodies, min_seq, &|| {})).await??;
        let out = results
            .iter()
            .map(|(r, o)| Stored::of(r, &o.applied))
            .collect();
        for (r, _) in &results {
            tracing::info!(id = %r.identity(), seq = r.seq, hash = %r.hash(), "published");
        }
        if let Some(net) = &self.net {
            for (r, o) in results {
                if o.applied.is_new() {
                    net.gossip(r).await?;
                }
            }
        }
        Ok(out)
    }

    pub async fn withdraw(&self, id: Identity, reason: Option<String>) -> Result<Stored> {
        self.seq_guard.check()?;
        let p = self.publisher.clone();
        let (r, o) = tokio::task::spawn_blocking(move || p.withdraw(&id, reason)).await??;
        let stored = Stored::of(&r, &o.applied);
        if let Some(net) = &self.net {
            net.gossip(r).await?;
        }
        Ok(stored)
    }

    /// Signed records from a file or another tool: verify, policy, store, gossip.
    pub async fn ingest_signed(&self, records: Vec<Vec<u8>>) -> Result<Vec<Stored>> {
        let ingest = self.publisher.ingest().clone();
        let results = tokio::task::spawn_blocking(move || {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            ingest.ingest_bytes(&refs)
        })
        .await?;
        let mut out = Vec::new();
        for r in results {
            match r {
                Ok((rec, o)) => {
                    out.push(Stored::of(&rec, &o.applied));
                    if o.applied.is_new() {
                        if let Some(net) = &self.net {
                            net.gossip(rec).await?;
                        }
                    }
                }
                Err(e) => out.push(Stored::not_stored(&e)),
            }
        }
        Ok(out)
    }

    pub async fn peers_json(&self) -> Value {
        match &self.net {
            Some(n) => serde_json::to_value(n.peers.snapshot()).unwrap_or(Value::Null),
            None => json!([]),
        }
    }

    pub async fn status(&self) -> Result<Value> {
        let store = self.store();
        let (counts, digest, equivocations) = tokio::task::spawn_blocking(move || -> Result<_> {
            Ok((store.counts()?, store.digest()?, store.equivocations()?))
        })
        .await??;
        let peers = self
            .net
            .as_ref()
            .map(|n| n.peers.snapshot())
            .unwrap_or_default();
        Ok(json!({
            "publisher": self.publisher_key().to_hex(),
            "peer_id": self.peer_id(),
            "records": counts,
            "records_total": counts.total(),
            "store_digest": hex::encode(digest),
            "peers_connected": peers.iter().filter(|p| p.connected).count(),
            "peers": peers,
            "equivocations": equivocations.iter().map(|e| json!({
                "publisher": e.publisher.to_hex(),
                "seq": e.seq,
                "hashes": e.records.iter().map(|r| r.hash().to_hex()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "seq_confirmed_by_peer": self.seq_guard.check().is_ok(),
        }))
    }
}
