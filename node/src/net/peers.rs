//! What the node knows about its peers, for `techmesh status`/`peers` and the API:
//! connection state (written by the event loop) and sync state (written by the sync
//! driver).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncState {
    /// idle | running | ok | error
    pub state: String,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    pub rounds: u32,
    pub fetched: u64,
    pub pushed: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub sessions: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PeerInfo {
    pub peer_id: String,
    pub member: Option<String>,
    pub country: Option<String>,
    pub connected: bool,
    pub addresses: Vec<String>,
    pub connected_since: Option<String>,
    pub gossip_score: Option<f64>,
    pub strikes: u32,
    pub sync: SyncState,
}

#[derive(Default)]
pub struct PeerTable {
    inner: Mutex<BTreeMap<String, PeerInfo>>,
}

impl PeerTable {
    pub fn update(&self, peer: &str, f: impl FnOnce(&mut PeerInfo)) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(peer.to_string()).or_insert_with(|| PeerInfo {
            peer_id: peer.into(),
            ..Default::default()
        });
        f(e)
    }

    pub fn snapshot(&self) -> Vec<PeerInfo> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Peer ids currently connected.
    pub fn connected_ids(&self) -> std::collections::BTreeSet<String> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|p| p.connected)
            .map(|p| p.peer_id.clone())
            .collect()
    }

    pub fn get(&self, peer: &str) -> Option<PeerInfo> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(peer)
            .cloned()
    }
}
