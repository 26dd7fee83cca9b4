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

use futures::future::BoxFuture;
use techmesh_protocol::record::RecordHash;
use techmesh_protocol::sync::{byte_prefix, under, Item, SyncRequest, SyncResponse};
use techmesh_protocol::trust::Member;

use crate::ingest::{now, Ingest};
use crate::net::{NetClient, NetEvent};

pub use server::answer;
pub use session::{SessionStats, FETCH_CHUNK};

/// Where a session's requests go: a peer over libp2p ([`NetClient`]), or, in
/// benchmarks, a responder's [`answer`] in memory. One request, one response.
pub trait SyncLink: Send + Sync {
    fn request(&self, req: SyncRequest) -> BoxFuture<'_, anyhow::Result<SyncResponse>>;
}

struct NetLink<'a> {
    net: &'a NetClient,
    peer: PeerId,
}

impl SyncLink for NetLink<'_> {
    fn request(&self, req: SyncRequest) -> BoxFuture<'_, anyhow::Result<SyncResponse>> {
        Box::pin(self.net.request(self.peer, req))
    }
}

/// One whole session as initiator through `link` with the peer whose trust-list entry
/// is `member`: what the node runs per peer, and what the sync benchmark drives.
pub async fn session(
    cfg: &SyncConfig,
    ingest: &Ingest,
    link: &dyn SyncLink,
    member: &Member,
    refused: &Refused,
    on_watermark: &(dyn Fn(u64) + Send + Sync),
) -> (SessionStats, anyhow::Result<()>) {
    let mut s = session::Session {
        ingest,
        link,
        stats: SessionStats::default(),
        refused,
    };
    let result = session::reconcile(cfg, &mut s, member, on_watermark).await;
    (s.stats, result)
}

/// A session with a connected peer, its outcome kept in the peer table.
async fn run_peer(
    cfg: &SyncConfig,
    ingest: &Ingest,
    net: &NetClient,
    peer: PeerId,
    refused: &Refused,
    on_watermark: &(dyn Fn(u64) + Send + Sync),
) {
    let Some(member) = member_of(ingest, &peer) else {
        return;
    };
    if member.roles.observer {
        return;
    }
    net.peers
        .update(&peer.to_string(), |p| p.sync.state = "running".into());
    let link = NetLink { net, peer };
    let (stats, result) = session(cfg, ingest, &link, &member, refused, on_watermark).await;
    tracing::debug!(%peer, ?stats, ok = result.is_ok(), "sync session finished");
    crate::activity::global().count(crate::activity::Event::SyncRound);
    net.peers.update(&peer.to_string(), |p| {
        p.sync.sessions += 1;
        p.sync.last_sync_at = Some(now().to_string());
        p.sync.rounds = stats.round_trips;
        p.sync.fetched += stats.fetched;
        p.sync.pushed += stats.pushed;
        p.sync.bytes_sent += stats.bytes_sent;
        p.sync.bytes_received += stats.bytes_received;
        match &result {
            Ok(()) => {
                p.sync.state = "ok".into();
                p.sync.last_error = None;
            }
            Err(e) => {
                p.sync.state = "error".into();
                p.sync.last_error = Some(format!("{e:#}"));
            }
        }
    });
}

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

/// Record hashes as the byte strings of the wire messages.
pub(crate) fn hash_bufs<'a>(
    hashes: impl IntoIterator<Item = &'a RecordHash>,
) -> Vec<serde_bytes::ByteBuf> {
    hashes
        .into_iter()
        .map(|h| serde_bytes::ByteBuf::from(h.0.to_vec()))
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
                run_peer(&cfg, &ingest, &net, peer, &refused, &*on_wm).await;
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
