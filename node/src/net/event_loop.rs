//! The event loop: owns the Swarm, turns commands into swarm calls and swarm events
//! into [`NetEvent`]s, dials trust-listed peers with backoff, gates connections,
//! enforces topic entitlement and rate-limits inbound sync requests.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};

use techmesh_protocol::query::{QueryRequest, QueryResponse};
use techmesh_protocol::sync::{SyncRequest, SyncResponse};
use techmesh_protocol::trust::{topics, LocalNode, ScopeName, TrustList};

use super::behaviour::{Behaviour, BehaviourConfig, BehaviourEvent};
use super::entitlement;
use super::gossip::{self, Incoming, Verdict};
use super::{Command, NetConfig, NetEvent, PeerTable, QueryInbound};
use crate::ingest::{now, Ingest};

/// Redial state of one peer we want to be connected to.
struct Redial {
    next_at: Instant,
    delay: Duration,
}

/// Inbound sync rate limit of one peer: a token bucket and an in-flight count.
struct Bucket {
    tokens: f64,
    last: Instant,
    in_flight: usize,
}

pub struct EventLoop {
    swarm: Swarm<Behaviour>,
    cfg: NetConfig,
    commands: mpsc::Receiver<Command>,
    command_tx: mpsc::Sender<Command>,
    events: mpsc::Sender<NetEvent>,
    ingest: Ingest,
    trust: Arc<RwLock<TrustList>>,
    local: LocalNode,
    peers: Arc<PeerTable>,
    pending: Pending<SyncResponse>,
    redial: HashMap<PeerId, Redial>,
    buckets: HashMap<PeerId, Bucket>,
    strikes: HashMap<PeerId, u32>,
    blocked_until: HashMap<PeerId, Instant>,
    gossip_tx: mpsc::Sender<Incoming>,
    gossip_rx: Option<mpsc::Receiver<Incoming>>,
    pending_query: Pending<QueryResponse>,
    query_tx: mpsc::Sender<QueryInbound>,
    query_rx: Option<mpsc::Receiver<QueryInbound>>,
    /// (peer, topic) subscriptions already reported as not entitled (logged once).
    scope_reported: HashSet<(PeerId, String)>,
}

/// Inbound federated queries waiting for the query server.
const QUERY_QUEUE: usize = 256;

impl EventLoop {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        key: libp2p::identity::Keypair,
        cfg: NetConfig,
        commands: mpsc::Receiver<Command>,
        command_tx: mpsc::Sender<Command>,
        events: mpsc::Sender<NetEvent>,
        ingest: Ingest,
        trust: Arc<RwLock<TrustList>>,
        local: LocalNode,
        peers: Arc<PeerTable>,
    ) -> anyhow::Result<EventLoop> {
        let bcfg = BehaviourConfig {
            max_message_bytes: cfg.max_message_bytes,
            heartbeat: cfg.heartbeat,
            sync_timeout: cfg.sync_timeout,
        };
        let swarm = super::transport::build_swarm(key, &bcfg, cfg.idle_timeout)?;
        let (gossip_tx, gossip_rx) = mpsc::channel(4096);
        let (query_tx, query_rx) = mpsc::channel(QUERY_QUEUE);
        Ok(EventLoop {
            swarm,
            cfg,
            commands,
            command_tx,
            events,
            ingest,
            trust,
            local,
            peers,
            pending: HashMap::new(),
            redial: HashMap::new(),
            buckets: HashMap::new(),
            strikes: HashMap::new(),
            blocked_until: HashMap::new(),
            gossip_tx,
            gossip_rx: Some(gossip_rx),
            pending_query: HashMap::new(),
            query_tx,
            query_rx: Some(query_rx),
            scope_reported: HashSet::new(),
        })
    }

    /// The inbound federated queries, for the query server. A node that does not
    /// take them refuses every query.
    pub fn take_query_requests(&mut self) -> Option<mpsc::Receiver<QueryInbound>> {
        self.query_rx.take()
    }

    fn trust(&self) -> std::sync::RwLockReadGuard<'_, TrustList> {
        self.trust.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Allow exactly the trust-listed peers; drop connections to anyone else.
    fn apply_trust(&mut self) {
        let allowed: HashSet<PeerId> = self
            .trust()
            .members
            .iter()
            .flat_map(|m| m.peer_ids.iter())
            .filter_map(|p| p.parse().ok())
            .collect();
        let current: Vec<PeerId> = self
            .swarm
            .behaviour()
            .allow
            .allowed_peers()
            .iter()
            .copied()
            .collect();
        for p in current {
            if !allowed.contains(&p) {
                self.swarm.behaviour_mut().allow.disallow_peer(p);
                self.redial.remove(&p);
                tracing::info!(peer = %p, "peer no longer in the trust list: disconnected");
            }
        }
        for p in &allowed {
            self.swarm.behaviour_mut().allow.allow_peer(*p);
            self.redial.entry(*p).or_insert(Redial {
                next_at: Instant::now(),
                delay: self.cfg.redial_min,
            });
        }
    }

    fn member_name(&self, peer: &PeerId) -> Option<(String, String)> {
        self.trust()
            .member_by_peer(&peer.to_string())
            .map(|m| (m.name.clone(), m.country.clone()))
    }

    /// Addresses to dial for a peer: from the trust list.
    fn addresses_of(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.trust()
            .member_by_peer(&peer.to_string())
            .map(|m| m.addresses.iter().filter_map(|a| a.parse().ok()).collect())
            .unwrap_or_default()
    }

    fn dial_due(&mut self) {
        let now_i = Instant::now();
        let due: Vec<PeerId> = self
            .redial
            .iter()
            .filter(|(p, r)| r.next_at <= now_i && !self.swarm.is_connected(p))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            let addrs = self.addresses_of(&p);
            if let Some(r) = self.redial.get_mut(&p) {
                r.next_at = now_i + r.delay;
                r.delay = (r.delay * 2).min(self.cfg.redial_max);
            }
            if addrs.is_empty() {
                continue;
            }
            let opts = DialOpts::peer_id(p).addresses(addrs).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(peer = %p, "dial not started: {e}");
            }
        }
    }

    /// Any peer subscribed to `topic` (any topic if None) without being entitled
    /// to it gets no gossip from us at all (it still syncs, filtered per record).
    fn enforce_entitlement(&mut self, topic_name: Option<&str>) {
        let offenders =
            entitlement::offenders(&self.swarm.behaviour().gossipsub, &self.trust(), topic_name);
        for (peer, topic) in offenders {
            if self.scope_reported.insert((peer, topic.clone())) {
                tracing::warn!(%peer, %topic, "peer subscribed to a topic it may not receive: no gossip to it");
            }
            entitlement::deny(&mut self.swarm.behaviour_mut().gossipsub, &peer);
        }
    }

    fn strike(&mut self, peer: PeerId) {
        let n = self.strikes.entry(peer).or_default();
        *n += 1;
        let n = *n;
        self.peers.update(&peer.to_string(), |p| p.strikes = n);
        // Gossipsub graylists a peer after a few invalid messages (scoring.rs) and then
        // drops the rest unseen, so the strike count alone could stall below the
        // bound: a graylisted peer is blocked at once.
        let graylisted = self
            .swarm
            .behaviour()
            .gossipsub
            .peer_score(&peer)
            .is_some_and(|s| s < super::scoring::GRAYLIST_THRESHOLD);
        if n >= self.cfg.max_strikes || graylisted {
            tracing::warn!(%peer, strikes = n, graylisted, "peer sent too many invalid records: disconnected and blocked");
            self.swarm.behaviour_mut().block.block_peer(peer);
            self.blocked_until
                .insert(peer, Instant::now() + self.cfg.block_duration);
            self.strikes.remove(&peer);
        }
    }

    fn unblock_expired(&mut self) {
        let now_i = Instant::now();
        let expired: Vec<PeerId> = self
            .blocked_until
            .iter()
            .filter(|(_, t)| **t <= now_i)
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.blocked_until.remove(&p);
            self.swarm.behaviour_mut().block.unblock_peer(p);
            tracing::info!(peer = %p, "block expired");
        }
    }

    /// Token bucket + concurrency check for an inbound sync request.
    fn admit_sync(&mut self, peer: PeerId) -> bool {
        let per_min = f64::from(self.cfg.sync_requests_per_minute.max(1));
        let b = self.buckets.entry(peer).or_insert(Bucket {
            tokens: per_min,
            last: Instant::now(),
            in_flight: 0,
        });
        let elapsed = b.last.elapsed().as_secs_f64();
        b.last = Instant::now();
        b.tokens = (b.tokens + elapsed * per_min / 60.0).min(per_min);
        if b.tokens < 1.0 || b.in_flight >= self.cfg.sync_concurrency_per_peer {
            return false;
        }
        b.tokens -= 1.0;
        b.in_flight += 1;
        true
    }

    pub async fn run(mut self) {
        for addr in self.cfg.listen.clone() {
            if let Err(e) = self.swarm.listen_on(addr.clone()) {
                tracing::error!(%addr, "cannot listen: {e}");
            }
        }
        let subscribe_to = topics::subscriptions(&self.local.country, &ScopeName::all());
        for t in subscribe_to {
            if let Err(e) = self
                .swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&IdentTopic::new(t.clone()))
            {
                tracing::error!(topic = %t, "cannot subscribe: {e}");
            }
        }
        self.apply_trust();
        for addr in self.cfg.bootstrap.clone() {
            let _ = self.swarm.dial(addr);
        }
        // Nobody took the query requests: close the channel so queries are refused.
        self.query_rx = None;
        if let Some(rx) = self.gossip_rx.take() {
            tokio::spawn(gossip::worker(
                rx,
                self.ingest.clone(),
                self.command_tx.clone(),
                gossip::Strikes::new(self.cfg.max_strikes, self.cfg.block_duration),
            ));
        }
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm_event(ev).await,
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Shutdown(done)) => {
                        tracing::info!("network shutting down");
                        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                        for p in connected {
                            let _ = self.swarm.disconnect_peer_id(p);
                        }
                        let _ = done.send(());
                        return;
                    }
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = tick.tick() => {
                    self.dial_due();
                    self.unblock_expired();
                    let scores: Vec<(PeerId, Option<f64>)> = self.swarm.connected_peers().map(|p| (*p, self.swarm.behaviour().gossipsub.peer_score(p))).collect();
                    for (p, s) in scores {
                        self.peers.update(&p.to_string(), |i| i.gossip_score = s);
                    }
                }
            }
        }
    }

    fn on_command(&mut self, c: Command) {
        match c {
            Command::Gossip(record) => {
                let topic = self.trust().topic_for(&self.local, &record);
                let Some(topic) = topic else { return };
                self.enforce_entitlement(Some(&topic));
                let hash = IdentTopic::new(topic.clone()).hash();
                let g = &self.swarm.behaviour().gossipsub;
                if let Some(peer) = entitlement::unentitled_recipient(g, &self.trust(), &hash) {
                    tracing::warn!(id = %record.identity(), %peer, %topic, "not gossiped: a peer not entitled to the topic could receive it; sync will carry it");
                    return;
                }
                match self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(IdentTopic::new(topic), record.bytes().to_vec())
                {
                    Ok(_) => tracing::debug!(id = %record.identity(), "gossiped"),
                    Err(e) => {
                        tracing::debug!(id = %record.identity(), "not gossiped ({e}); sync will carry it")
                    }
                }
            }
            Command::Request { peer, req, reply } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
                self.pending.insert(id, reply);
            }
            Command::Respond {
                peer,
                channel,
                resp,
            } => {
                if let Some(b) = self.buckets.get_mut(&peer) {
                    b.in_flight = b.in_flight.saturating_sub(1);
                }
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, resp);
            }
            Command::Query { peer, req, reply } => {
                let id = self.swarm.behaviour_mut().query.send_request(&peer, req);
                self.pending_query.insert(id, reply);
            }
            Command::RespondQuery { channel, resp } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .query
                    .send_response(channel, resp);
            }
            Command::Validation {
                id,
                source,
                topic,
                mut verdict,
            } => {
                if verdict == Verdict::Accept {
                    // Forwarding follows: make sure nobody unentitled is subscribed,
                    // and forward nothing while one is still in the topic's mesh.
                    self.enforce_entitlement(None);
                    let g = &self.swarm.behaviour().gossipsub;
                    if let Some(peer) = entitlement::unentitled_in_mesh(g, &self.trust(), &topic) {
                        tracing::warn!(%peer, %topic, "record stored but not forwarded: the topic's mesh still holds a peer not entitled to it; sync carries it");
                        verdict = Verdict::Ignore;
                    }
                }
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, verdict.acceptance());
                if verdict == Verdict::Reject {
                    self.strike(source);
                }
            }
            Command::Dial(addr) => {
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, "dial failed: {e}");
                }
            }
            Command::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::TrustChanged => {
                self.apply_trust();
                let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                for p in connected {
                    if self.trust().member_by_peer(&p.to_string()).is_none() {
                        let _ = self.swarm.disconnect_peer_id(p);
                    }
                }
                self.enforce_entitlement(None);
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::GossipRaw { topic, data } => {
                if let Err(e) = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(IdentTopic::new(topic), data)
                {
                    tracing::warn!("raw publish failed: {e}");
                }
            }
            Command::TopicPeers(topic, reply) => {
                let hash = IdentTopic::new(topic).hash();
                let peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, ts)| ts.contains(&&hash))
                    .map(|(p, _)| *p)
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Shutdown(_) => unreachable!("handled in run"),
        }
    }

    async fn on_swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(
                    "listening on {}",
                    address
                        .clone()
                        .with(Protocol::P2p(*self.swarm.local_peer_id()))
                );
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                // Before its subscriptions arrive: gossipsub adds a subscribing peer
                // to a mesh that needs peers unless its score is already negative,
                // and forwards to mesh peers without looking at scores, so scoring
                // it down only after `Subscribed` leaves it in the mesh (and sent
                // every relayed message) until a heartbeat prunes it.
                if entitlement::denied_at_connect(&self.trust(), &self.local, &peer_id) {
                    entitlement::deny(&mut self.swarm.behaviour_mut().gossipsub, &peer_id);
                }
                let who = self.member_name(&peer_id);
                if let Some(r) = self.redial.get_mut(&peer_id) {
                    r.delay = self.cfg.redial_min;
                }
                let addr = endpoint.get_remote_address().to_string();
                self.peers.update(&peer_id.to_string(), |p| {
                    p.connected = true;
                    p.member = who.as_ref().map(|w| w.0.clone());
                    p.country = who.as_ref().map(|w| w.1.clone());
                    if !p.addresses.contains(&addr) {
                        p.addresses.push(addr);
                    }
                    if p.connected_since.is_none() {
                        p.connected_since = Some(now().to_string());
                    }
                });
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, member = ?who.map(|w| w.0), "connected");
                    let _ = self.events.send(NetEvent::Connected(peer_id)).await;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::info!(peer = %peer_id, cause = ?cause.map(|c| c.to_string()), "disconnected");
                self.peers.update(&peer_id.to_string(), |p| {
                    p.connected = false;
                    p.connected_since = None;
                });
                if let Some(r) = self.redial.get_mut(&peer_id) {
                    r.next_at = Instant::now() + r.delay;
                }
                let _ = self.events.send(NetEvent::Disconnected(peer_id)).await;
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error,
                send_back_addr,
                ..
            } => {
                tracing::warn!(peer = ?peer_id.map(|p| p.to_string()), from = %send_back_addr, "refused incoming connection: {error}");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, "dial failed: {error}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e).await,
            SwarmEvent::Behaviour(BehaviourEvent::Sync(e)) => self.on_sync(e).await,
            SwarmEvent::Behaviour(BehaviourEvent::Query(e)) => self.on_query(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(
                libp2p::identify::Event::Received { peer_id, info, .. },
            )) => {
                tracing::debug!(peer = %peer_id, agent = %info.agent_version, "identified");
            }
            _ => {}
        }
    }

    async fn on_gossip(&mut self, e: gossipsub::Event) {
        match e {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let incoming = Incoming {
                    id: message_id.clone(),
                    source: propagation_source,
                    topic: message.topic,
                    data: message.data,
                };
                if self.gossip_tx.try_send(incoming).is_err() {
                    // Overloaded: drop it without blame; sync will repair.
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            gossipsub::MessageAcceptance::Ignore,
                        );
                }
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "subscribed");
                self.enforce_entitlement(None);
            }
            _ => {}
        }
    }

    async fn on_sync(&mut self, e: request_response::Event<SyncRequest, SyncResponse>) {
        match e {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if !self.admit_sync(peer) {
                        let _ = self.swarm.behaviour_mut().sync.send_response(
                            channel,
                            SyncResponse::Busy {
                                retry_after_ms: 1000,
                            },
                        );
                        return;
                    }
                    if let Err(
                        mpsc::error::TrySendError::Full(NetEvent::SyncRequest { channel, .. })
                        | mpsc::error::TrySendError::Closed(NetEvent::SyncRequest {
                            channel, ..
                        }),
                    ) = self.events.try_send(NetEvent::SyncRequest {
                        peer,
                        req: request,
                        channel,
                    }) {
                        if let Some(b) = self.buckets.get_mut(&peer) {
                            b.in_flight = b.in_flight.saturating_sub(1);
                        }
                        let _ = self.swarm.behaviour_mut().sync.send_response(
                            channel,
                            SyncResponse::Busy {
                                retry_after_ms: 1000,
                            },
                        );
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    settle(&mut self.pending, request_id, Ok(response));
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                tracing::debug!(%peer, "sync request failed: {error}");
                settle(&mut self.pending, request_id, Err(error.to_string()));
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "inbound sync failed: {error}");
                if let Some(b) = self.buckets.get_mut(&peer) {
                    b.in_flight = b.in_flight.saturating_sub(1);
                }
            }
            _ => {}
        }
    }

    /// Federated query traffic: inbound requests go to the query server (which
    /// decides who is answered); answers go to whoever asked.
    fn on_query(&mut self, e: request_response::Event<QueryRequest, QueryResponse>) {
        match e {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let inbound = QueryInbound {
                        peer,
                        req: request,
                        channel,
                    };
                    if let Err(e) = self.query_tx.try_send(inbound) {
                        let (why, inbound) = match e {
                            mpsc::error::TrySendError::Full(i) => {
                                ("too many queries waiting: try again later", i)
                            }
                            mpsc::error::TrySendError::Closed(i) => {
                                ("this node does not answer federated queries", i)
                            }
                        };
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .query
                            .send_response(inbound.channel, QueryResponse::refused(why));
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    settle(&mut self.pending_query, request_id, Ok(response));
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                tracing::debug!(%peer, "query request failed: {error}");
                settle(&mut self.pending_query, request_id, Err(error.to_string()));
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "inbound query failed: {error}");
            }
            _ => {}
        }
    }
}

/// Outbound requests waiting for their answer, by request id.
type Pending<T> = HashMap<OutboundRequestId, oneshot::Sender<Result<T, String>>>;

/// Hand the outcome of an outbound request to whoever waits for it (if anyone still
/// does: a caller that gave up has dropped its receiver).
fn settle<T>(pending: &mut Pending<T>, id: OutboundRequestId, outcome: Result<T, String>) {
    if let Some(tx) = pending.remove(&id) {
        let _ = tx.send(outcome);
    }
}
