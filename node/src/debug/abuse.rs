//! `techmesh debug-abuse`: a trusted member that abuses the sync protocol
//! (`/techmesh/sync/2`, docs/PROTOCOL.md §8) or the federated query protocol
//! (`/techmesh/query/1`, `--protocol query`) with a libp2p client of its own, whose
//! codec can write what an honest node never would:
//!
//! - `oversized`: requests of garbage bigger than the node's message bound, then one
//!   valid request (the node must refuse the first and still answer the last);
//! - `concurrent`: many valid requests at once (the node answers a bounded number
//!   and says `Busy` to, or drops, the rest);
//! - `stall`: streams that start a request and then drip one byte a second without
//!   ever finishing (slowloris: the node must cut them);
//! - `huge-range`: sync: requests with far too many ranges, a fetch of far too many
//!   hashes, a range path deeper than any digest, and one range listing thousands of
//!   items; query: too many parameters, too long a parameter, too big a matchmaking
//!   subject, and a search asking for millions of records (each refused or answered
//!   within the bound).
//!
//! Prints one JSON object: counts by outcome, refusal reasons, the largest answer,
//! and how long each request lived.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::prelude::*;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use serde_bytes::ByteBuf;
use serde_json::json;

use techmesh_protocol::query::{
    Query, QueryRequest, QueryResponse, MAX_PARAMS, MAX_PARAM_BYTES, MAX_SUBJECT_BYTES,
};
use techmesh_protocol::sync::{Fingerprint, Item, Range, SyncRequest, SyncResponse};

use crate::datadir::DataDir;

/// The sync protocol name (docs/PROTOCOL.md §7).
const SYNC_PROTOCOL: &str = "/techmesh/sync/2";
/// The federated query protocol name (docs/PROTOCOL.md, "Federated query").
const QUERY_PROTOCOL: &str = "/techmesh/query/1";
/// Ranges in the huge-range request (the node allows 64).
const HUGE_RANGES: usize = 4000;
/// Hashes in the huge fetch (the node allows 1024).
const HUGE_FETCH: usize = 4000;
/// Items listed in one range (the node answers within its byte budget).
const HUGE_ITEMS: usize = 2500;
/// Garbage bytes of an oversized request, as a multiple of the message bound.
const OVERSIZE_FACTOR: usize = 4;
/// Interval between two bytes of a stalled request.
const DRIP_EVERY: Duration = Duration::from_secs(1);
/// A stalled stream that lived longer than this was held by the node (not dropped
/// at once for want of capacity).
const HELD_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Oversized,
    Concurrent,
    Stall,
    HugeRange,
}

/// Which protocol to abuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Sync,
    Query,
}

pub struct AbuseOptions {
    pub peer: String,
    pub protocol: Target,
    pub mode: Mode,
    /// Requests (concurrent, stall) or oversized requests (oversized).
    pub count: usize,
    /// Longest the whole run may take.
    pub duration: Duration,
}

/// What the abusive codec writes.
#[derive(Debug)]
pub enum AbuseRequest {
    /// A well-formed request (CBOR), encoded as an honest node would.
    Valid(Vec<u8>),
    /// This many bytes of garbage.
    Junk(usize),
    /// The start of a request, then one byte per [`DRIP_EVERY`], never finishing.
    Drip,
}

/// A decoded answer: answered | busy | refused, the reason, records carried, and
/// its size on the wire.
#[derive(Debug)]
pub struct Answer {
    what: &'static str,
    detail: String,
    records: usize,
    bytes: usize,
}

#[derive(Clone)]
struct AbuseCodec {
    target: Target,
    /// Largest answer read (above the node's bound, to see whether it keeps it).
    max_answer: u64,
}

fn decode_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Encoding our own well-formed messages into a Vec cannot fail.
    cbor4ii::serde::to_vec(Vec::new(), v).unwrap_or_default()
}

impl request_response::Codec for AbuseCodec {
    type Protocol = StreamProtocol;
    type Request = AbuseRequest;
    type Response = Answer;

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<AbuseRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        Err(io::Error::other("the abuse tool serves nothing"))
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Answer>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut buf = Vec::new();
        io.take(self.max_answer).read_to_end(&mut buf).await?;
        let (what, detail, records) = match self.target {
            Target::Sync => match cbor4ii::serde::from_slice(&buf).map_err(decode_error)? {
                SyncResponse::Refused { reason } => ("refused", reason, 0),
                SyncResponse::Busy { .. } => ("busy", String::new(), 0),
                SyncResponse::Records { records, .. } => ("answered", String::new(), records.len()),
                SyncResponse::Reconcile { records, .. } => {
                    ("answered", String::new(), records.len())
                }
                _ => ("answered", String::new(), 0),
            },
            Target::Query => match cbor4ii::serde::from_slice(&buf).map_err(decode_error)? {
                QueryResponse::Refused { reason } => ("refused", reason, 0),
                QueryResponse::Records { records, .. } => {
                    ("answered", String::new(), records.len())
                }
            },
        };
        Ok(Answer {
            what,
            detail,
            records,
            bytes: buf.len(),
        })
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: AbuseRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            AbuseRequest::Valid(data) => io.write_all(&data).await,
            AbuseRequest::Junk(n) => {
                let chunk = vec![0xffu8; 16 * 1024];
                let mut left = n;
                while left > 0 {
                    let k = left.min(chunk.len());
                    io.write_all(&chunk[..k]).await?;
                    left -= k;
                }
                io.flush().await
            }
            AbuseRequest::Drip => {
                // The first bytes of a request, then one byte at a time.
                let start = match self.target {
                    Target::Sync => encode(&SyncRequest::Reconcile { ranges: Vec::new() }),
                    Target::Query => encode(&search("battery", 10)),
                };
                io.write_all(&start[..start.len().min(4)]).await?;
                io.flush().await?;
                loop {
                    tokio::time::sleep(DRIP_EVERY).await;
                    io.write_all(&[0x00]).await?;
                    io.flush().await?;
                }
            }
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        _: &mut T,
        _: Answer,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        Err(io::Error::other("the abuse tool serves nothing"))
    }
}

type Behaviour = request_response::Behaviour<AbuseCodec>;

/// How one request ended.
struct Outcome {
    what: &'static str,
    detail: String,
    records: usize,
    bytes: usize,
    lived: Duration,
}

fn peer_of(addr: &Multiaddr) -> Result<PeerId> {
    addr.iter()
        .find_map(|p| match p {
            Protocol::P2p(id) => Some(id),
            _ => None,
        })
        .with_context(|| format!("--peer {addr}: needs a /p2p/<peer id> part"))
}

fn build_swarm(dir: &DataDir, max_message: usize, opts: &AbuseOptions) -> Result<Swarm<Behaviour>> {
    let codec = AbuseCodec {
        target: opts.protocol,
        max_answer: (OVERSIZE_FACTOR * max_message) as u64,
    };
    let protocol = match opts.protocol {
        Target::Sync => SYNC_PROTOCOL,
        Target::Query => QUERY_PROTOCOL,
    };
    let cfg = request_response::Config::default()
        .with_request_timeout(opts.duration + Duration::from_secs(5))
        .with_max_concurrent_streams(opts.count + 16);
    let behaviour = Behaviour::with_codec(
        codec,
        [(StreamProtocol::new(protocol), ProtocolSupport::Outbound)],
        cfg,
    );
    let idle = opts.duration + Duration::from_secs(10);
    Ok(
        libp2p::SwarmBuilder::with_existing_identity(dir.libp2p_keypair()?)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )?
            .with_behaviour(|_| behaviour)?
            .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
            .build(),
    )
}

/// Send `reqs` all at once and wait for each to end (or `deadline`).
async fn exchange(
    swarm: &mut Swarm<Behaviour>,
    peer: PeerId,
    reqs: Vec<AbuseRequest>,
    deadline: Instant,
) -> Vec<Outcome> {
    let mut pending: HashMap<OutboundRequestId, Instant> = reqs
        .into_iter()
        .map(|r| (swarm.behaviour_mut().send_request(&peer, r), Instant::now()))
        .collect();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match tokio::time::timeout(left, swarm.select_next_some()).await {
            Ok(ev) => ev,
            Err(_) => break,
        };
        match ev {
            SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            }) => {
                if let Some(t) = pending.remove(&request_id) {
                    out.push(Outcome {
                        what: response.what,
                        detail: response.detail,
                        records: response.records,
                        bytes: response.bytes,
                        lived: t.elapsed(),
                    });
                }
            }
            SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                request_id,
                error,
                ..
            }) => {
                if let Some(t) = pending.remove(&request_id) {
                    out.push(Outcome {
                        what: "failed",
                        detail: error.to_string(),
                        records: 0,
                        bytes: 0,
                        lived: t.elapsed(),
                    });
                }
            }
            _ => {}
        }
    }
    for t in pending.into_values() {
        out.push(Outcome {
            what: "open",
            detail: "still open when the run ended".into(),
            records: 0,
            bytes: 0,
            lived: t.elapsed(),
        });
    }
    out
}

fn search(q: &str, limit: u32) -> QueryRequest {
    QueryRequest {
        query: Query::Search {
            params: [("q".to_string(), q.to_string())].into(),
        },
        limit,
        deadline_ms: 5_000,
    }
}

/// Query requests over each bound, and one asking for far more records than any
/// answer may carry.
fn huge_query_requests() -> Vec<AbuseRequest> {
    let many = QueryRequest {
        query: Query::Search {
            params: (0..MAX_PARAMS * 4)
                .map(|i| (format!("p{i}"), "x".to_string()))
                .collect(),
        },
        limit: 10,
        deadline_ms: 5_000,
    };
    let long = QueryRequest {
        query: Query::Search {
            params: [("q".to_string(), "x".repeat(MAX_PARAM_BYTES * 2))].into(),
        },
        limit: 10,
        deadline_ms: 5_000,
    };
    let subject = QueryRequest {
        query: Query::Match {
            entry: "x".repeat(MAX_SUBJECT_BYTES + MAX_SUBJECT_BYTES / 2),
            today: None,
        },
        limit: 10,
        deadline_ms: 5_000,
    };
    [many, long, subject, search("lithium", u32::MAX)]
        .iter()
        .map(|r| AbuseRequest::Valid(encode(r)))
        .collect()
}

fn huge_range_requests() -> Vec<AbuseRequest> {
    let fp = |i: usize| Range::Fp {
        path: vec![(i % 16) as u8],
        fp: Fingerprint {
            count: 1,
            xor: [i as u8; 16],
        },
    };
    let items: Vec<Item> = (0..HUGE_ITEMS)
        .map(|i| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            Item { id, seq: 1, hash }
        })
        .collect();
    [
        SyncRequest::Reconcile {
            ranges: (0..HUGE_RANGES).map(fp).collect(),
        },
        SyncRequest::Fetch {
            hashes: (0..HUGE_FETCH)
                .map(|i| ByteBuf::from([i as u8; 32].to_vec()))
                .collect(),
        },
        SyncRequest::Reconcile {
            ranges: vec![Range::Fp {
                path: vec![0; 40],
                fp: Fingerprint::default(),
            }],
        },
        SyncRequest::Reconcile {
            ranges: vec![Range::Items {
                path: Vec::new(),
                items,
            }],
        },
    ]
    .iter()
    .map(|r| AbuseRequest::Valid(encode(r)))
    .collect()
}

/// A small valid request: the root fingerprint of an empty set, or a search.
fn small_request(target: Target) -> AbuseRequest {
    AbuseRequest::Valid(match target {
        Target::Sync => encode(&SyncRequest::Reconcile {
            ranges: vec![Range::Fp {
                path: Vec::new(),
                fp: Fingerprint::default(),
            }],
        }),
        Target::Query => encode(&search("battery", 10)),
    })
}

pub async fn abuse(dir: &DataDir, opts: AbuseOptions) -> Result<()> {
    let addr: Multiaddr = opts.peer.parse().context("--peer: not a multiaddr")?;
    let peer = peer_of(&addr)?;
    let max_message = *dir.config()?.network.max_message_bytes.get_ref();
    let mut swarm = build_swarm(dir, max_message, &opts)?;
    swarm
        .dial(addr.clone())
        .with_context(|| format!("dialling {addr}"))?;
    let start = Instant::now();
    let deadline = start + opts.duration;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, swarm.select_next_some()).await {
            Err(_) => bail!("not connected to {addr} within {:?}", opts.duration),
            Ok(SwarmEvent::ConnectionEstablished { peer_id, .. }) if peer_id == peer => break,
            Ok(SwarmEvent::OutgoingConnectionError { error, .. }) => {
                bail!("cannot connect to {addr}: {error}")
            }
            Ok(_) => {}
        }
    }
    let outcomes = match opts.mode {
        Mode::Oversized => {
            let junk = (0..opts.count)
                .map(|_| AbuseRequest::Junk(OVERSIZE_FACTOR * max_message))
                .collect();
            let mut o = exchange(&mut swarm, peer, junk, deadline).await;
            let valid = vec![small_request(opts.protocol)];
            o.extend(exchange(&mut swarm, peer, valid, deadline).await);
            o
        }
        Mode::Concurrent => {
            let reqs = (0..opts.count)
                .map(|_| small_request(opts.protocol))
                .collect();
            exchange(&mut swarm, peer, reqs, deadline).await
        }
        Mode::Stall => {
            let reqs = (0..opts.count).map(|_| AbuseRequest::Drip).collect();
            exchange(&mut swarm, peer, reqs, deadline).await
        }
        Mode::HugeRange => {
            let reqs = match opts.protocol {
                Target::Sync => huge_range_requests(),
                Target::Query => huge_query_requests(),
            };
            exchange(&mut swarm, peer, reqs, deadline).await
        }
    };
    println!("{}", report(&opts, &outcomes, start.elapsed()));
    Ok(())
}

/// An error text without the yamux stream ids (`00000001/13:`), so equal errors
/// count together.
fn without_stream_ids(detail: &str) -> String {
    detail
        .split_whitespace()
        .filter(|w| {
            let core = w.trim_end_matches(':');
            !(core.contains('/') && core.chars().all(|c| c.is_ascii_hexdigit() || c == '/'))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn report(opts: &AbuseOptions, outcomes: &[Outcome], took: Duration) -> serde_json::Value {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.what).or_default() += 1;
        if !o.detail.is_empty() {
            *reasons
                .entry(format!("{}: {}", o.what, without_stream_ids(&o.detail)))
                .or_default() += 1;
        }
    }
    let mut lived: Vec<u64> = outcomes
        .iter()
        .map(|o| o.lived.as_millis() as u64)
        .collect();
    lived.sort_unstable();
    json!({
        "mode": format!("{:?}", opts.mode),
        "protocol": format!("{:?}", opts.protocol),
        "requests": outcomes.len(),
        "answered": counts.get("answered").copied().unwrap_or(0),
        "busy": counts.get("busy").copied().unwrap_or(0),
        "refused": counts.get("refused").copied().unwrap_or(0),
        "failed": counts.get("failed").copied().unwrap_or(0),
        "open": counts.get("open").copied().unwrap_or(0),
        "held": outcomes.iter().filter(|o| o.lived > HELD_AFTER).count(),
        "reasons": reasons,
        "max_answer_bytes": outcomes.iter().map(|o| o.bytes).max().unwrap_or(0),
        "max_answer_records": outcomes.iter().map(|o| o.records).max().unwrap_or(0),
        "outcomes": outcomes.iter().map(|o| o.what).collect::<Vec<_>>(),
        "lived_ms": lived,
        "seconds": took.as_secs_f64(),
    })
}
