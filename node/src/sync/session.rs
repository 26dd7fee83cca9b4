//! One sync session with one peer, as initiator: learn our own watermark from the
//! peer (no-self-fork guard), reconcile ranges until nothing differs, fetch what we
//! lack, push what the peer lacks. Counts rounds and bytes for status and benchmarks.

use std::time::Duration;

use libp2p::PeerId;
use serde_bytes::ByteBuf;

use std::collections::HashSet;
use techmesh_protocol::record::RecordHash;

use techmesh_protocol::sync::{
    check_ranges, process, start, Range, SyncRequest, SyncResponse, MAX_FETCH,
    MAX_RANGES_PER_ANSWER, MAX_RANGES_PER_MESSAGE,
};

use super::server::pack;
use super::{items_for, member_of, SyncConfig};
use crate::ingest::{now, Ingest};
use crate::net::NetClient;

/// Most reconciliation rounds in one session (a bound against a peer that never
/// converges).
/// Each round answers up to 64 ranges, so this covers stores differing in millions
/// of records; a session that hits it still fetches and pushes what it learned.
const MAX_ROUNDS: u32 = 10_000;
/// Most retries after `Busy` in one session.
const MAX_BUSY_RETRIES: u32 = 5;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SessionStats {
    pub round_trips: u32,
    pub rounds: u32,
    pub fetched: u64,
    pub pushed: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

fn wire_len<T: serde::Serialize>(v: &T) -> u64 {
    cbor4ii::serde::to_vec(Vec::new(), v)
        .map(|b| b.len() as u64)
        .unwrap_or(0)
}

struct Session<'a> {
    ingest: &'a Ingest,
    net: &'a NetClient,
    peer: PeerId,
    stats: SessionStats,
    /// Records we refused (by policy) across sessions: not fetched again.
    refused: &'a super::Refused,
}

impl Session<'_> {
    async fn ask(&mut self, req: SyncRequest) -> anyhow::Result<SyncResponse> {
        let mut busy = 0;
        loop {
            self.stats.bytes_sent += wire_len(&req);
            self.stats.round_trips += 1;
            let resp = self.net.request(self.peer, req.clone()).await?;
            self.stats.bytes_received += wire_len(&resp);
            match resp {
                SyncResponse::Busy { retry_after_ms } if busy < MAX_BUSY_RETRIES => {
                    busy += 1;
                    tokio::time::sleep(Duration::from_millis(retry_after_ms.min(10_000))).await;
                }
                SyncResponse::Refused { reason } => anyhow::bail!("peer refused: {reason}"),
                other => return Ok(other),
            }
        }
    }

    /// Ingest records received from the peer (verify, policy, store).
    async fn take(&mut self, records: Vec<ByteBuf>) {
        if records.is_empty() {
            return;
        }
        let ingest = self.ingest.clone();
        let res = tokio::task::spawn_blocking(move || {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            let out = ingest.ingest_bytes(&refs);
            out.iter()
                .zip(&records)
                .map(|(r, bytes)| match r {
                    Ok((rec, o)) => {
                        if o.applied.is_new() {
                            tracing::debug!(id = %rec.identity(), seq = rec.seq, "stored record from sync");
                        }
                        (o.applied.is_new(), None)
                    }
                    Err(e) => (false, Some((e.reason(), RecordHash::of(bytes)))),
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        for (new, err) in res {
            if new {
                self.stats.fetched += 1;
            }
            if let Some((reason, hash)) = err {
                tracing::debug!(peer = %self.peer, reason, "record from sync not stored");
                self.refused.insert(hash);
            }
        }
    }
}

fn hashes(v: &[ByteBuf]) -> Vec<RecordHash> {
    v.iter()
        .filter_map(|h| h.as_slice().try_into().ok().map(RecordHash))
        .collect()
}

pub async fn run(
    cfg: &SyncConfig,
    ingest: &Ingest,
    net: &NetClient,
    peer: PeerId,
    refused: &super::Refused,
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
    let mut s = Session {
        ingest,
        net,
        peer,
        stats: SessionStats::default(),
        refused,
    };
    let result = reconcile(cfg, &mut s, &member, on_watermark).await;
    let stats = s.stats;
    tracing::debug!(%peer, ?stats, ok = result.is_ok(), "sync session finished");
    crate::activity::global().count(crate::activity::Event::SyncRound);
    net.peers.update(&peer.to_string(), |p| {
        p.sync.sessions += 1;
        p.sync.last_sync_at = Some(now().to_string());
        p.sync.rounds = stats.rounds;
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

async fn reconcile(
    cfg: &SyncConfig,
    s: &mut Session<'_>,
    member: &techmesh_protocol::trust::Member,
    on_watermark: &(dyn Fn(u64) + Send + Sync),
) -> anyhow::Result<()> {
    // No self-fork: what is the highest seq this peer holds from us?
    let me = s.ingest.local.publisher;
    if let SyncResponse::Watermark { seq } =
        s.ask(SyncRequest::Watermark { publisher: me.0 }).await?
    {
        on_watermark(seq.unwrap_or(0));
    }
    let ingest = s.ingest.clone();
    let mut mine = |path: &[u8]| items_for(&ingest, member, path);
    let mut queue = start(&mut mine);
    let mut truncated = false;
    let (mut to_fetch, mut to_push) = (Vec::new(), Vec::new());
    while !queue.is_empty() {
        s.stats.rounds += 1;
        if s.stats.rounds > MAX_ROUNDS {
            truncated = true;
            break;
        }
        let batch: Vec<Range> = queue
            .drain(..queue.len().min(MAX_RANGES_PER_MESSAGE))
            .collect();
        let SyncResponse::Reconcile {
            processed,
            ranges: theirs,
            records,
            offer,
            need,
        } = s
            .ask(SyncRequest::Reconcile {
                ranges: batch.clone(),
            })
            .await?
        else {
            anyhow::bail!("peer answered a reconcile request with something else");
        };
        // The answer keeps the same bounds as a request (a peer could send a path
        // deeper than an id, or thousands of ranges).
        check_ranges(&theirs, MAX_RANGES_PER_ANSWER)
            .map_err(|e| anyhow::anyhow!("peer's reconcile answer: {e}"))?;
        // What did not fit in the answer goes first into the next request.
        let processed = (processed as usize).clamp(1, batch.len());
        queue.splice(0..0, batch[processed..].iter().cloned());
        s.take(records).await;
        to_fetch.extend(hashes(&offer));
        to_push.extend(hashes(&need));
        let out = process(&theirs, &mut mine);
        to_fetch.extend(out.i_lack);
        to_push.extend(out.they_lack);
        queue.extend(out.ranges);
    }
    // Fetch what we lack, in bounded batches; what the peer sent but we refused is
    // remembered and not asked for again.
    to_fetch.sort();
    to_fetch.dedup();
    to_fetch.retain(|h| !s.refused.contains(h));
    let mut queue = to_fetch;
    while !queue.is_empty() {
        let chunk: Vec<RecordHash> = queue.drain(..queue.len().min(MAX_FETCH)).collect();
        let SyncResponse::Records { records, remaining } = s
            .ask(SyncRequest::Fetch {
                hashes: chunk.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect(),
            })
            .await?
        else {
            anyhow::bail!("peer answered a fetch with something else");
        };
        let returned: HashSet<RecordHash> = records.iter().map(|r| RecordHash::of(r)).collect();
        s.take(records).await;
        if remaining > 0 && !returned.is_empty() {
            // The rest did not fit in one message: ask again for exactly those.
            queue.extend(chunk.into_iter().filter(|h| !returned.contains(h)));
        }
    }
    // Push what the peer lacks, in messages within the budget.
    to_push.sort();
    to_push.dedup();
    let mut pending = to_push;
    while !pending.is_empty() {
        let (records, left) = pack(s.ingest, member, &pending, cfg.message_budget);
        if records.is_empty() {
            break;
        }
        let n = records.len() as u64;
        if let SyncResponse::Pushed { accepted, .. } = s.ask(SyncRequest::Push { records }).await? {
            s.stats.pushed += u64::from(accepted).min(n);
        }
        pending = left;
    }
    if truncated {
        anyhow::bail!("reconciliation stopped after {MAX_ROUNDS} rounds; what was learned was transferred, the next session continues");
    }
    Ok(())
}
