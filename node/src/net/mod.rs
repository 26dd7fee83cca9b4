//! The network: one event loop owns the libp2p Swarm; everything else talks to it
//! through a cloneable [`NetClient`] (commands with oneshot replies) and hears from
//! it through [`NetEvent`]s. Nothing slow runs inside the loop: record verification
//! and storage run on the ingest worker, sync requests on the sync server, federated
//! queries on the query server (`crate::fedquery`), which gets them on a channel of
//! its own ([`EventLoop::take_query_requests`]).

mod behaviour;
mod entitlement;
mod event_loop;
mod gossip;
pub mod peers;
mod scoring;
mod transport;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Result;
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use techmesh_protocol::query::{QueryRequest, QueryResponse};
use techmesh_protocol::record::Record;
use techmesh_protocol::sync::{SyncRequest, SyncResponse};
use techmesh_protocol::trust::{LocalNode, TrustList};

use crate::ingest::Ingest;
pub use event_loop::EventLoop;
pub use peers::{PeerInfo, PeerTable};

/// Settings of the network layer (from node.toml).
#[derive(Clone)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub heartbeat: Duration,
    pub redial_min: Duration,
    pub redial_max: Duration,
    pub sync_timeout: Duration,
    /// Sync requests served per peer per minute.
    pub sync_requests_per_minute: u32,
    /// Sync requests served concurrently per peer.
    pub sync_concurrency_per_peer: usize,
    /// Invalid gossip messages tolerated from one peer before it is disconnected and
    /// blocked for `block_duration`.
    pub max_strikes: u32,
    pub block_duration: Duration,
}

pub enum Command {
    /// Gossip a record that is already stored.
    Gossip(Record),
    Request {
        peer: PeerId,
        req: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    },
    Respond {
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        resp: SyncResponse,
    },
    /// Ask a peer a federated query.
    Query {
        peer: PeerId,
        req: QueryRequest,
        reply: oneshot::Sender<Result<QueryResponse, String>>,
    },
    /// Answer an inbound federated query.
    RespondQuery {
        channel: ResponseChannel<QueryResponse>,
        resp: QueryResponse,
    },
    Validation {
        id: libp2p::gossipsub::MessageId,
        source: PeerId,
        topic: libp2p::gossipsub::TopicHash,
        verdict: gossip::Verdict,
    },
    Dial(Multiaddr),
    Disconnect(PeerId),
    /// The trust list changed: re-gate connections.
    TrustChanged,
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    /// Publish raw bytes on a topic, unchecked (the `debug inject` test tool only).
    GossipRaw {
        topic: String,
        data: Vec<u8>,
    },
    /// Peers known to be subscribed to a topic.
    TopicPeers(String, oneshot::Sender<Vec<PeerId>>),
    Shutdown(oneshot::Sender<()>),
}

/// What the network tells the rest of the node.
pub enum NetEvent {
    Connected(PeerId),
    Disconnected(PeerId),
    /// An inbound sync request to answer (send the answer with [`NetClient::respond`]).
    SyncRequest {
        peer: PeerId,
        req: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    },
}

/// An inbound federated query to answer (with [`NetClient::respond_query`]).
pub struct QueryInbound {
    pub peer: PeerId,
    pub req: QueryRequest,
    pub channel: ResponseChannel<QueryResponse>,
}

/// Why a federated query to one peer got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryFailure {
    /// No answer within the deadline.
    Timeout,
    /// The request failed (connection, protocol, codec): what went wrong.
    Failed(String),
}

#[derive(Clone)]
pub struct NetClient {
    tx: mpsc::Sender<Command>,
    pub peers: Arc<PeerTable>,
    pub local_peer_id: PeerId,
}

impl NetClient {
    async fn send(&self, c: Command) -> Result<()> {
        self.tx
            .send(c)
            .await
            .map_err(|_| anyhow::anyhow!("the network event loop has stopped"))
    }

    pub async fn gossip(&self, r: Record) -> Result<()> {
        self.send(Command::Gossip(r)).await
    }

    pub async fn request(&self, peer: PeerId, req: SyncRequest) -> Result<SyncResponse> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Request { peer, req, reply }).await?;
        rx.await
            .map_err(|_| anyhow::anyhow!("request dropped"))?
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Ask `peer` a federated query and wait for its answer at most `deadline`.
    pub async fn query(
        &self,
        peer: PeerId,
        req: QueryRequest,
        deadline: Duration,
    ) -> Result<QueryResponse, QueryFailure> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Query { peer, req, reply })
            .await
            .map_err(|e| QueryFailure::Failed(e.to_string()))?;
        match tokio::time::timeout(deadline, rx).await {
            Err(_) => Err(QueryFailure::Timeout),
            Ok(Err(_)) => Err(QueryFailure::Failed("request dropped".into())),
            Ok(Ok(r)) => r.map_err(QueryFailure::Failed),
        }
    }

    pub async fn respond_query(
        &self,
        channel: ResponseChannel<QueryResponse>,
        resp: QueryResponse,
    ) -> Result<()> {
        self.send(Command::RespondQuery { channel, resp }).await
    }

    pub async fn respond(
        &self,
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        resp: SyncResponse,
    ) -> Result<()> {
        self.send(Command::Respond {
            peer,
            channel,
            resp,
        })
        .await
    }

    pub async fn dial(&self, addr: Multiaddr) -> Result<()> {
        self.send(Command::Dial(addr)).await
    }

    pub async fn disconnect(&self, peer: PeerId) -> Result<()> {
        self.send(Command::Disconnect(peer)).await
    }

    pub async fn trust_changed(&self) -> Result<()> {
        self.send(Command::TrustChanged).await
    }

    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::ListenAddrs(tx)).await?;
        Ok(rx.await?)
    }

    pub async fn gossip_raw(&self, topic: String, data: Vec<u8>) -> Result<()> {
        self.send(Command::GossipRaw { topic, data }).await
    }

    pub async fn topic_peers(&self, topic: String) -> Result<Vec<PeerId>> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::TopicPeers(topic, tx)).await?;
        Ok(rx.await?)
    }

    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Build the network: a client, a stream of events, and the event loop to spawn.
pub fn new(
    key: libp2p::identity::Keypair,
    cfg: NetConfig,
    ingest: Ingest,
    trust: Arc<RwLock<TrustList>>,
    local: LocalNode,
) -> Result<(NetClient, mpsc::Receiver<NetEvent>, EventLoop)> {
    let (tx, rx) = mpsc::channel(1024);
    let (ev_tx, ev_rx) = mpsc::channel(1024);
    let peers = Arc::new(PeerTable::default());
    let local_peer_id = key.public().to_peer_id();
    let client = NetClient {
        tx: tx.clone(),
        peers: peers.clone(),
        local_peer_id,
    };
    let ev = EventLoop::new(key, cfg, rx, tx, ev_tx, ingest, trust, local, peers)?;
    Ok((client, ev_rx, ev))
}
