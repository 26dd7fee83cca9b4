//! Answering federated queries: who is answered (trust-list members, within a
//! per-peer rate and concurrency limit), and with what (current local records that
//! match and that the asker may receive, capped at the request's bound).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::PeerId;
use serde_bytes::ByteBuf;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::query::{Query, QueryRequest, QueryResponse};
use techmesh_protocol::record::RecordHash;
use techmesh_protocol::trust::Member;

use super::FedQueryConfig;
use crate::net::QueryInbound;
use crate::node::Node;
use crate::query::index::Doc;
use crate::query::matching::{self, MatchOptions};
use crate::query::{self, SearchParams};

/// Queries answered at once by this node, whoever asks.
pub const MAX_CONCURRENT_ANSWERS: usize = 8;

/// Per-peer token bucket (capacity and refill: `per_minute`) and in-flight count.
struct Bucket {
    tokens: f64,
    last: Instant,
    in_flight: usize,
}

/// The per-peer rate limit and concurrency bound, and the node-wide bound.
pub struct Limiter {
    per_minute: f64,
    concurrency: usize,
    buckets: Mutex<HashMap<PeerId, Bucket>>,
    total: Mutex<usize>,
}

/// An admitted query; releases its slots when dropped.
pub struct Admitted {
    limiter: Arc<Limiter>,
    peer: PeerId,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut b = self
            .limiter
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(b) = b.get_mut(&self.peer) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
        let mut t = self.limiter.total.lock().unwrap_or_else(|p| p.into_inner());
        *t = t.saturating_sub(1);
    }
}

impl Limiter {
    pub fn new(per_minute: u32, concurrency: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            per_minute: f64::from(per_minute.max(1)),
            concurrency: concurrency.max(1),
            buckets: Mutex::default(),
            total: Mutex::default(),
        })
    }

    /// Admit one query from `peer`, or say why not.
    pub fn admit(self: &Arc<Self>, peer: PeerId) -> Result<Admitted, String> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(peer).or_insert(Bucket {
            tokens: self.per_minute,
            last: Instant::now(),
            in_flight: 0,
        });
        let elapsed = b.last.elapsed().as_secs_f64();
        b.last = Instant::now();
        b.tokens = (b.tokens + elapsed * self.per_minute / 60.0).min(self.per_minute);
        if b.tokens < 1.0 {
            return Err(format!(
                "rate limit: more than {} queries per minute from you",
                self.per_minute
            ));
        }
        if b.in_flight >= self.concurrency {
            return Err(format!(
                "rate limit: more than {} of your queries at once",
                self.concurrency
            ));
        }
        let mut total = self.total.lock().unwrap_or_else(|p| p.into_inner());
        if *total >= MAX_CONCURRENT_ANSWERS {
            return Err("busy: too many queries at once, try again later".into());
        }
        *total += 1;
        b.tokens -= 1.0;
        b.in_flight += 1;
        Ok(Admitted {
            limiter: self.clone(),
            peer,
        })
    }
}

/// Serve inbound federated queries until the network stops.
pub async fn serve(
    cfg: FedQueryConfig,
    node: Arc<Node>,
    mut inbound: mpsc::Receiver<QueryInbound>,
) {
    let Some(net) = node.net().cloned() else {
        return;
    };
    if cfg.tamper {
        tracing::warn!(
            "TEST HOOK {} is on: this node corrupts the signature of every record it returns to a federated query",
            super::TAMPER_HOOK
        );
    }
    let limiter = Limiter::new(cfg.requests_per_minute, cfg.concurrency_per_peer);
    while let Some(QueryInbound { peer, req, channel }) = inbound.recv().await {
        let Some(member) = crate::sync::member_of(node.ingest(), &peer) else {
            tracing::warn!(%peer, "federated query from a peer outside the trust list refused");
            let resp = QueryResponse::refused("you are not in this node's trust list");
            let _ = net.respond_query(channel, resp).await;
            continue;
        };
        let admitted = match limiter.admit(peer) {
            Ok(a) => a,
            Err(why) => {
                tracing::info!(%peer, member = %member.name, "federated query refused: {why}");
                let _ = net
                    .respond_query(channel, QueryResponse::refused(why))
                    .await;
                continue;
            }
        };
        let (node, net, tamper) = (node.clone(), net.clone(), cfg.tamper);
        tokio::spawn(async move {
            let started = Instant::now();
            let name = member.name.clone();
            let resp = tokio::task::spawn_blocking(move || {
                let _admitted = admitted;
                answer(&node, &member, &req, tamper)
            })
            .await
            .unwrap_or_else(|e| QueryResponse::refused(format!("internal error: {e}")));
            match &resp {
                QueryResponse::Records { records, total, .. } => tracing::debug!(
                    %peer, member = %name, records = records.len(), total,
                    ms = started.elapsed().as_millis() as u64, "answered federated query"
                ),
                QueryResponse::Refused { reason } => {
                    tracing::info!(%peer, member = %name, "federated query refused: {reason}")
                }
            }
            let _ = net.respond_query(channel, resp).await;
        });
    }
}

/// Parameters that concern only the asker (paging, federation), never sent.
const LOCAL_ONLY: [&str; 4] = ["limit", "offset", "federated", "deadline_ms"];

/// Search parameters as text pairs (the wire form), without paging.
pub fn params_to_wire(p: &SearchParams) -> BTreeMap<String, String> {
    let Ok(Value::Object(m)) = serde_json::to_value(p) else {
        return BTreeMap::new();
    };
    m.into_iter()
        .filter(|(k, _)| !LOCAL_ONLY.contains(&k.as_str()))
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect()
}

/// The wire form back to search parameters (unknown names are ignored).
pub fn params_from_wire(m: &BTreeMap<String, String>) -> Result<SearchParams, String> {
    let mut obj = serde_json::Map::new();
    for (k, v) in m {
        let value = match k.as_str() {
            k if LOCAL_ONLY.contains(&k) => continue,
            "valid" => match v.as_str() {
                "true" => json!(true),
                "false" => json!(false),
                _ => return Err(format!("valid: {v:?} is not true or false")),
            },
            _ => json!(v),
        };
        obj.insert(k.clone(), value);
    }
    serde_json::from_value(Value::Object(obj)).map_err(|e| format!("search parameters: {e}"))
}

/// The answer to one admitted query.
pub fn answer(node: &Node, member: &Member, req: &QueryRequest, tamper: bool) -> QueryResponse {
    if let Err(e) = req.validate() {
        return QueryResponse::refused(e.to_string());
    }
    let cap = req.answer_cap();
    let ingest = node.ingest();
    let idx = node.search.read();
    let answer = {
        let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
        let keep = |d: &Doc| {
            trust.may_send_parts(
                &ingest.local,
                &d.id.publisher,
                d.entry.scope(),
                false,
                member,
            )
        };
        match &req.query {
            Query::Search { params } => {
                let mut p = match params_from_wire(params) {
                    Ok(p) => p,
                    Err(e) => return QueryResponse::refused(e),
                };
                p.limit = Some(cap);
                p.offset = None;
                query::search_where(&idx, &node.mappings, &p, &keep)
            }
            Query::Match { entry, today } => subject_match(&idx, node, entry, today, cap, &keep),
        }
    };
    let v = match answer {
        Ok(v) => v,
        Err(e) => return QueryResponse::refused(e),
    };
    drop(idx);
    let hashes: Vec<RecordHash> = v["results"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["hash"].as_str().and_then(RecordHash::from_hex))
                .collect()
        })
        .unwrap_or_default();
    let mut records = Vec::with_capacity(hashes.len());
    for h in hashes.iter().take(cap) {
        match ingest.store.get_by_hash(h) {
            Ok(Some(r)) => {
                let mut bytes = r.bytes().to_vec();
                if tamper {
                    flip_signature_digit(&mut bytes);
                }
                records.push(ByteBuf::from(bytes));
            }
            Ok(None) => {}
            Err(e) => return QueryResponse::refused(format!("store error: {e}")),
        }
    }
    let total = v["total"].as_u64().unwrap_or(0) as u32;
    QueryResponse::Records {
        truncated: (total as usize) > records.len(),
        records,
        total,
    }
}

fn subject_match(
    idx: &query::index::Inner,
    node: &Node,
    entry: &str,
    today: &Option<String>,
    cap: usize,
    keep: &dyn Fn(&Doc) -> bool,
) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(entry).map_err(|e| format!("match subject: not JSON: {e}"))?;
    let Body::Entry(e) = body::prepare(Kind::Entry, &v).map_err(|e| {
        format!(
            "match subject: {}",
            e.0.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?
    else {
        return Err("match subject: not an entry body".into());
    };
    let opts = MatchOptions {
        today: query::today(today.as_deref())?,
        limit: cap,
        text_only: false,
        show_excluded: false,
    };
    Ok(matching::match_entry_where(
        idx,
        &node.mappings,
        &e,
        None,
        &opts,
        keep,
    ))
}

/// TEST HOOK only: change one hex digit of the record's `"sig"` (still well-formed,
/// no longer a valid signature).
fn flip_signature_digit(bytes: &mut [u8]) {
    const KEY: &[u8] = b"\"sig\":\"";
    if let Some(at) = bytes.windows(KEY.len()).position(|w| w == KEY) {
        let i = at + KEY.len();
        if let Some(b) = bytes.get_mut(i) {
            *b = if *b == b'0' { b'1' } else { b'0' };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_params_round_trip_through_the_wire_form() {
        let p = SearchParams {
            q: Some("锂电".into()),
            entry_type: Some("offer".into()),
            valid: Some(false),
            limit: Some(5),
            offset: Some(10),
            ..Default::default()
        };
        let wire = params_to_wire(&p);
        assert_eq!(wire.get("type").map(String::as_str), Some("offer"));
        assert!(!wire.contains_key("limit") && !wire.contains_key("offset"));
        let back = params_from_wire(&wire).expect("parses");
        assert_eq!(back.q.as_deref(), Some("锂电"));
        assert_eq!(back.entry_type.as_deref(), Some("offer"));
        assert_eq!(back.valid, Some(false));
        assert_eq!(back.limit, None);
        let mut bad = wire.clone();
        bad.insert("valid".into(), "maybe".into());
        assert!(params_from_wire(&bad).unwrap_err().contains("valid"));
    }

    fn refusal(r: Result<Admitted, String>) -> String {
        match r {
            Ok(_) => panic!("admitted, expected a refusal"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_limiter_refuses_over_rate_and_concurrency() {
        let l = Limiter::new(2, 1);
        let p = PeerId::random();
        let a = l.admit(p).expect("first");
        assert!(refusal(l.admit(p)).contains("at once"));
        drop(a);
        let _b = l.admit(p).expect("second");
        drop(_b);
        assert!(refusal(l.admit(p)).contains("per minute"));
        // Another peer has its own bucket.
        assert!(l.admit(PeerId::random()).is_ok());
    }

    #[test]
    fn tampering_breaks_only_the_signature() {
        let mut b = br#"{"body":{},"sig":"ab12","v":1}"#.to_vec();
        flip_signature_digit(&mut b);
        assert_eq!(&b, br#"{"body":{},"sig":"0b12","v":1}"#);
    }
}
