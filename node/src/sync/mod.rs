//! Anti-entropy sync (docs/PROTOCOL.md §7): the server answers peers' requests from
//! the store, the driver reconciles with every connected peer on connect and
//! periodically. Both filter by what the other side may receive (scope, observer),
//! and every record that arrives goes through the one ingest path.

mod server;
mod session;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libp2p::PeerId;
use tokio::sync::mpsc;
use tracing::Instrument;

use techmesh_protocol::sync::{byte_prefix, under, Item};
use techmesh_protocol::trust::Member;

use crate::ingest::Ingest;
use crate::net::{NetClient, NetEvent};

pub use session::SessionStats;

/// Bounds of sync (from node.toml).
#[derive(Clone)]
pub struct SyncConfig {
    pub interval: Duration,
    /// Byte budget for records in one message (below the network message bound).
    pub message_budget: usize,
}

/// Hashes of records this node refused by policy (bounded): sync does not fetch
/// them again and again. Cleared when the bound is hit.
#[derive(Default)]
pub struct Refused {
    inner: Mutex<HashSet<techmesh_protocol::RecordHash>>,
}

impl Refused {
    const MAX: usize = 100_000;

    pub fn insert(&self, h: techmesh_protocol::RecordHash) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() >= Self::MAX {
            s.clear();
        }
        s.insert(h);
    }

    pub fn contains(&self, h: &techmesh_protocol::RecordHash) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(h)
    }

    /// Forget everything (the trust list changed: refused records may now be welcome).
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// My items under a path that `member` may receive, sorted by id.
pub(crate) fn items_for(ingest: &Ingest, member: &Member, path: &[u8]) -> Vec<Item> {
    let Ok(rows) = ingest.store.sync_items(&byte_prefix(path)) else {
        return Vec::new();
    };
    let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
    rows.into_iter()
        .filter(|r| under(path, &r.id_digest))
        .filter(|r| trust.may_send_parts(&ingest.local, &r.publisher, r.scope, r.tombstone, member))
        .map(|r| Item {
            id: r.id_digest,
            seq: r.seq,
            hash: r.hash.0,
        })
        .collect()
}

pub(crate) fn member_of(ingest: &Ingest, peer: &PeerId) -> Option<Member> {
    let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
    trust.member_by_peer(&peer.to_string()).cloned()
}

/// Run the sync service: answer inbound requests, reconcile with peers on connect
/// and every `interval`.
pub async fn run(
    cfg: SyncConfig,
    ingest: Ingest,
    net: NetClient,
    mut events: mpsc::Receiver<NetEvent>,
    on_watermark: Arc<dyn Fn(u64) + Send + Sync>,
) {
    let running: Arc<Mutex<HashSet<PeerId>>> = Arc::default();
    let refused: Arc<Refused> = Arc::default();
    let mut last_trust = ingest
        .trust
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut tick = tokio::time::interval(cfg.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start_session = |peer: PeerId| {
        if !running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer)
        {
            return;
        }
        let (ingest, net, cfg, running, on_wm, refused) = (
            ingest.clone(),
            net.clone(),
            cfg.clone(),
            running.clone(),
            on_watermark.clone(),
            refused.clone(),
        );
        // One span per peer session: its log lines carry `peer` (JSON logs: `spans`).
        let span = tracing::info_span!("sync", %peer, role = "initiator");
        tokio::spawn(
            async move {
                session::run(&cfg, &ingest, &net, peer, &refused, &*on_wm).await;
                running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&peer);
            }
            .instrument(span),
        );
    };
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                None => return,
                Some(NetEvent::Connected(peer)) => start_session(peer),
                Some(NetEvent::Disconnected(_)) => {}
                Some(NetEvent::SyncRequest { peer, req, channel }) => {
                    let (ingest, net, budget) = (ingest.clone(), net.clone(), cfg.message_budget);
                    let span = tracing::info_span!("sync", %peer, role = "responder");
                    tokio::spawn(async move {
                        let resp = match tokio::task::spawn_blocking({
                            let ingest = ingest.clone();
                            move || server::answer(&ingest, &peer, req, budget)
                        }).await {
                            Ok(r) => r,
                            Err(e) => techmesh_protocol::sync::SyncResponse::Refused { reason: format!("internal error: {e}") },
                        };
                        let _ = net.respond(peer, channel, resp).await;
                    }.instrument(span));
                }
            },
            _ = tick.tick() => {
                // Records refused under an old trust list may be welcome now.
                let current = ingest.trust.read().unwrap_or_else(|p| p.into_inner()).clone();
                if current != last_trust {
                    refused.clear();
                    last_trust = current;
                }
                for p in net.peers.snapshot().into_iter().filter(|p| p.connected) {
                    if let Ok(peer) = p.peer_id.parse() {
                        start_session(peer);
                    }
                }
            }
        }
    }
}
