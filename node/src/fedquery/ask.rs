//! Asking the federation: fan a query out to the trusted peers permitted to answer,
//! concurrently, each bounded by the deadline; believe only what verifies (strict
//! signature check, then this node's own `TrustList::accept`); keep the newest
//! version per identity (local store included); rank the union with the local
//! search / match functions over a transient index; report every peer's fate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use serde_json::{json, Value};

use techmesh_protocol::body::Body;
use techmesh_protocol::query::{
    Query, QueryRequest, QueryResponse, MAX_ANSWER_RECORDS, MAX_DEADLINE_MS,
};
use techmesh_protocol::record::{Identity, Record, RecordHash};
use techmesh_protocol::trust::{Member, TrustList};
use techmesh_protocol::version::Version;

use crate::net::QueryFailure;
use crate::node::Node;
use crate::query::{self, matching, MatchRequest, SearchIndex, SearchParams};

/// Deadline when the caller gives none, ms.
pub const DEFAULT_DEADLINE_MS: u64 = 2000;

/// The deadline to use for a requested one (default, clamped to 1 ms ..= max).
pub fn deadline(ms: Option<u64>) -> Duration {
    Duration::from_millis(ms.unwrap_or(DEFAULT_DEADLINE_MS).clamp(1, MAX_DEADLINE_MS))
}

/// A peer to ask (or that could not be asked).
struct Target {
    peer: PeerId,
    member: String,
    connected: bool,
}

/// Where one candidate record came from.
struct Candidate {
    record: Record,
    /// "local", or the member name of the peer that supplied it.
    node: String,
}

/// Everything gathered for one federated query.
struct Gathered {
    candidates: HashMap<Identity, Candidate>,
    peers: Vec<Value>,
    rejected: Vec<Value>,
}

/// The members permitted to answer: every trust-listed member with a peer id that
/// is not an observer (observers hold nothing) and that `may_see` admits.
fn targets(node: &Node, may_see: &dyn Fn(&TrustList, &Member) -> bool) -> Vec<Target> {
    let connected = node
        .net()
        .map(|n| n.peers.connected_ids())
        .unwrap_or_default();
    let trust = node
        .ingest()
        .trust
        .read()
        .unwrap_or_else(|p| p.into_inner());
    let mut out = Vec::new();
    for m in trust
        .members
        .iter()
        .filter(|m| !m.roles.observer && may_see(&trust, m))
    {
        for p in &m.peer_ids {
            if let Ok(peer) = p.parse::<PeerId>() {
                out.push(Target {
                    peer,
                    member: m.name.clone(),
                    connected: connected.contains(p),
                });
            }
        }
    }
    out
}

/// Local records by hash (the local hits, as candidates).
fn local_records(node: &Node, hashes: &[RecordHash]) -> Vec<Record> {
    hashes
        .iter()
        .filter_map(|h| node.ingest().store.get_by_hash(h).ok().flatten())
        .collect()
}

fn hashes_of(answer: &Value) -> Vec<RecordHash> {
    answer["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["hash"].as_str().and_then(RecordHash::from_hex))
                .collect()
        })
        .unwrap_or_default()
}

/// Ask every target, verify and merge. `local` are the local hits.
async fn gather(
    node: &Arc<Node>,
    req: QueryRequest,
    local: Vec<Record>,
    targets: Vec<Target>,
    deadline: Duration,
) -> Gathered {
    let mut peers = Vec::new();
    let mut asks = Vec::new();
    for t in targets {
        if !t.connected {
            peers.push(json!({
                "peer_id": t.peer.to_string(), "member": t.member, "status": "error",
                "latency_ms": 0, "count": 0, "rejected": 0, "error": "not connected",
            }));
            continue;
        }
        let (net, req) = (node.net().cloned(), req.clone());
        asks.push(async move {
            let started = Instant::now();
            let answer = match net {
                Some(n) => n.query(t.peer, req, deadline).await,
                None => Err(QueryFailure::Failed("no network".into())),
            };
            (t, started.elapsed(), answer)
        });
    }
    let answers = futures::future::join_all(asks).await;

    // Verification is CPU work: off the async threads.
    let node2 = node.clone();
    let (candidates, mut answered, rejected) =
        tokio::task::spawn_blocking(move || verify_and_merge(&node2, &req, local, answers))
            .await
            .unwrap_or_else(|e| {
                tracing::error!("federated query verification failed: {e}");
                (HashMap::new(), Vec::new(), Vec::new())
            });
    peers.append(&mut answered);
    peers.sort_by(|a, b| a["member"].as_str().cmp(&b["member"].as_str()));
    Gathered {
        candidates,
        peers,
        rejected,
    }
}

type Answer = (Target, Duration, Result<QueryResponse, QueryFailure>);

fn verify_and_merge(
    node: &Node,
    req: &QueryRequest,
    local: Vec<Record>,
    answers: Vec<Answer>,
) -> (HashMap<Identity, Candidate>, Vec<Value>, Vec<Value>) {
    let ingest = node.ingest();
    let opts = ingest.verify_opts();
    let mut candidates: HashMap<Identity, Candidate> = local
        .into_iter()
        .map(|r| {
            (
                r.identity(),
                Candidate {
                    record: r,
                    node: "local".into(),
                },
            )
        })
        .collect();
    let mut peers = Vec::new();
    let mut rejected = Vec::new();
    for (t, latency, answer) in answers {
        let mut status = json!({
            "peer_id": t.peer.to_string(), "member": t.member,
            "latency_ms": latency.as_millis() as u64, "count": 0, "rejected": 0,
        });
        let records = match answer {
            Err(QueryFailure::Timeout) => {
                status["status"] = json!("timeout");
                status["error"] = json!(format!("no answer within {} ms", req.deadline_ms));
                peers.push(status);
                continue;
            }
            Err(QueryFailure::Failed(e)) => {
                status["status"] = json!("error");
                status["error"] = json!(e);
                peers.push(status);
                continue;
            }
            Ok(QueryResponse::Refused { reason }) => {
                status["status"] = json!("refused");
                status["error"] = json!(reason);
                peers.push(status);
                continue;
            }
            Ok(resp @ QueryResponse::Records { .. }) => {
                if let Err(e) = resp.check_cap(req) {
                    status["status"] = json!("error");
                    status["error"] = json!(format!("answer ignored: {e}"));
                    peers.push(status);
                    continue;
                }
                let QueryResponse::Records {
                    records,
                    total,
                    truncated,
                } = resp
                else {
                    continue;
                };
                status["total"] = json!(total);
                status["truncated"] = json!(truncated);
                records
            }
        };
        let (mut count, mut bad) = (0u32, 0u32);
        for bytes in records {
            let checked = Record::verify(&bytes, &opts)
                .map_err(|e| format!("invalid record: {e}"))
                .and_then(|r| match r.body {
                    Body::Entry(_) => Ok(r),
                    _ => Err(format!("not an entry but a {} record", r.kind())),
                })
                .and_then(|r| {
                    ingest
                        .policy(&r)
                        .map(|()| r)
                        .map_err(|e| format!("refused by this node's policy: {e}"))
                });
            let r = match checked {
                Ok(r) => r,
                Err(reason) => {
                    bad += 1;
                    tracing::warn!(peer = %t.peer, member = %t.member, "federated answer: {reason}");
                    let hash = RecordHash::of(&bytes).to_hex();
                    rejected.push(json!({
                        "peer_id": t.peer.to_string(), "member": t.member,
                        "hash": hash, "reason": reason,
                    }));
                    continue;
                }
            };
            count += 1;
            offer(node, &mut candidates, r, &t.member);
        }
        status["status"] = json!("ok");
        status["count"] = json!(count);
        status["rejected"] = json!(bad);
        peers.push(status);
    }
    (candidates, peers, rejected)
}

/// Keep `r` if it is the newest version of its identity seen so far, the local
/// store's current version included (a local tombstone or newer version wins).
fn offer(node: &Node, candidates: &mut HashMap<Identity, Candidate>, r: Record, from: &str) {
    let id = r.identity();
    let v = Version::of(&r);
    if let Some(c) = candidates.get(&id) {
        if !v.supersedes(&Version::of(&c.record)) {
            return;
        }
    }
    if let Ok(Some(stored)) = node.ingest().store.get(&id) {
        // Only a newer version held here (or a local tombstone) makes the peer's copy
        // no news. The same version is kept: the local hits came from the search index,
        // which follows the store a moment later, so a version stored just before the
        // query may be missing from them (and asking the index now, after the local
        // search, would not tell whether it was there then).
        if Version::of(&stored).supersedes(&v) {
            return;
        }
    }
    candidates.insert(
        id,
        Candidate {
            record: r,
            node: from.to_string(),
        },
    );
}

/// A transient index of the candidates (ranked with the local functions).
fn transient_index(candidates: &HashMap<Identity, Candidate>) -> SearchIndex {
    let idx = SearchIndex::new();
    for c in candidates.values() {
        idx.apply(&c.record);
    }
    idx
}

/// Set `"node"` (who supplied it) and `"member"` (the publisher's member name) on
/// every result, and add the peers' statuses.
fn finish(node: &Node, answer: &mut Value, g: Gathered, deadline: Duration) {
    {
        let trust = node
            .ingest()
            .trust
            .read()
            .unwrap_or_else(|p| p.into_inner());
        query::name_members(answer, &trust, &node.publisher_key(), node.name());
    }
    if let Some(rs) = answer["results"].as_array_mut() {
        for r in rs {
            let supplier = r["id"]
                .as_str()
                .and_then(Identity::parse)
                .and_then(|id| g.candidates.get(&id))
                .map(|c| c.node.clone())
                .unwrap_or_else(|| "local".into());
            r["node"] = json!(supplier);
        }
    }
    let partial = g.peers.iter().any(|p| p["status"] != "ok");
    answer["federated"] = json!(true);
    answer["deadline_ms"] = json!(deadline.as_millis() as u64);
    answer["partial"] = json!(partial);
    answer["peers"] = Value::Array(g.peers);
    answer["rejected"] = Value::Array(g.rejected);
}

/// `POST /v1/federated-search`: the local search and the permitted peers', merged.
pub async fn federated_search(node: &Arc<Node>, mut p: SearchParams) -> Result<Value, String> {
    let deadline = deadline(p.deadline_ms.take());
    p.federated = None;
    let want = (p.offset.unwrap_or(0) + p.limit.unwrap_or(query::DEFAULT_LIMIT))
        .clamp(1, MAX_ANSWER_RECORDS);
    // Local hits first (this also checks the parameters before anyone is asked).
    let (n, lp) = (node.clone(), p.clone());
    let local = tokio::task::spawn_blocking(move || -> Result<Vec<Record>, String> {
        let mut lp = lp;
        lp.limit = Some(want);
        lp.offset = None;
        let v = query::search(&n.search.read(), &n.mappings, &lp)?;
        Ok(local_records(&n, &hashes_of(&v)))
    })
    .await
    .map_err(|e| format!("internal error: {e}"))??;
    let req = QueryRequest {
        query: Query::Search {
            params: super::server::params_to_wire(&p),
        },
        limit: want as u32,
        deadline_ms: deadline.as_millis() as u64,
    };
    req.validate().map_err(|e| e.to_string())?;
    let targets = targets(node, &|_, _| true);
    let g = gather(node, req, local, targets, deadline).await;
    let n = node.clone();
    tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let idx = transient_index(&g.candidates);
        let mut v = query::search(&idx.read(), &n.mappings, &p)?;
        finish(&n, &mut v, g, deadline);
        Ok(v)
    })
    .await
    .map_err(|e| format!("internal error: {e}"))?
}

/// `POST /v1/match` with `"federated": true`: candidates from the local index and
/// from the peers permitted to see the subject, ranked together.
pub async fn federated_match(node: &Arc<Node>, req: MatchRequest) -> Result<Value, String> {
    let deadline = deadline(req.deadline_ms);
    let (n, r) = (node.clone(), req.clone());
    let (subject, opts, local) = tokio::task::spawn_blocking(move || {
        let idx = n.search.read();
        let opts = r.options()?;
        let subject = r.subject(&idx)?;
        let mut wide = opts.clone();
        wide.limit = MAX_ANSWER_RECORDS;
        wide.show_excluded = false;
        let v = matching::match_entry(
            &idx,
            &n.mappings,
            &subject.entry,
            subject.id.as_ref(),
            &wide,
        );
        drop(idx);
        Ok::<_, String>((subject, opts, local_records(&n, &hashes_of(&v))))
    })
    .await
    .map_err(|e| format!("internal error: {e}"))??;
    // Only peers that may receive the subject itself are told about it.
    let publisher = subject
        .id
        .as_ref()
        .map(|i| i.publisher)
        .unwrap_or_else(|| node.publisher_key());
    let scope = subject.entry.scope();
    let local_node = node.ingest().local.clone();
    let may_see = |trust: &TrustList, m: &Member| {
        trust.may_send_parts(&local_node, &publisher, scope, false, m)
    };
    let targets = targets(node, &may_see);
    let entry = Body::Entry(Box::new((*subject.entry).clone())).to_json();
    let qreq = QueryRequest {
        query: Query::Match {
            entry: entry.to_string(),
            today: Some(opts.today.to_string()),
        },
        limit: opts.limit.clamp(1, MAX_ANSWER_RECORDS) as u32,
        deadline_ms: deadline.as_millis() as u64,
    };
    qreq.validate().map_err(|e| e.to_string())?;
    let g = gather(node, qreq, local, targets, deadline).await;
    let n = node.clone();
    tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let idx = transient_index(&g.candidates);
        let mut v = matching::match_entry(
            &idx.read(),
            &n.mappings,
            &subject.entry,
            subject.id.as_ref(),
            &opts,
        );
        v["scope"] = json!("federated");
        finish(&n, &mut v, g, deadline);
        Ok(v)
    })
    .await
    .map_err(|e| format!("internal error: {e}"))?
}
