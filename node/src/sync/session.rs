//! One sync session with one peer, as initiator (docs/PROTOCOL.md §8.6): ask our own
//! watermark (no-self-fork guard) and send the sketch in the same phase; read the
//! responder's difference or its table (asking for a bigger one when it does not peel,
//! falling back to range reconciliation after that); then fetch what we lack and push
//! what the peer lacks, all requests of a phase in flight together (at most
//! [`PIPELINE`]). Counts phases, messages and bytes for status and benchmarks.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_bytes::ByteBuf;

use techmesh_protocol::record::RecordHash;
use techmesh_protocol::sync::iblt::Iblt;
use techmesh_protocol::sync::sketch::{
    cells_per_message, check_table, read_table, retry_cells, sketch, MAX_TABLE_RETRIES, PIPELINE,
};
use techmesh_protocol::sync::{
    check_ranges, process, start, Item, Range, SyncRequest, SyncResponse, MAX_FETCH,
    MAX_RANGES_PER_ANSWER, MAX_RANGES_PER_MESSAGE,
};
use techmesh_protocol::trust::Member;

use super::server::pack;
use super::{hash_bufs, items_for, SyncConfig, SyncLink};
use crate::ingest::Ingest;

/// Most reconciliation rounds of the range fallback in one session (a bound against a
/// peer that never converges); a session that hits it still transfers what it learned.
const MAX_ROUNDS: u32 = 10_000;
/// Most retries after `Busy` of one request.
const MAX_BUSY_RETRIES: u32 = 5;
/// Hashes per `Fetch` (≈ 146 KiB of 1.1 KiB records: within one answer's budget; what
/// does not fit comes back as `remaining` and is asked for in the next phase).
pub const FETCH_CHUNK: usize = 128;
/// Most transfer phases (each one fetches what the previous answers left out).
const MAX_TRANSFER_PHASES: u32 = 64;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct SessionStats {
    /// Sequential request/response phases (the requests of one phase are in flight
    /// together and count once).
    pub round_trips: u32,
    /// Requests sent (each answered by one response).
    pub messages: u32,
    /// Latency periods with at most [`PIPELINE`] requests in flight: Σ over phases of
    /// ⌈requests / PIPELINE⌉.
    pub waves: u32,
    /// How the difference was found: "sketch", "table" or "ranges".
    pub method: &'static str,
    /// Cells of the last table read (0 if none), and bigger tables asked for.
    pub table_cells: u32,
    pub table_retries: u32,
    /// Range-reconciliation rounds (fallback only).
    pub rounds: u32,
    pub fetched: u64,
    pub pushed: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Largest single request or response (CBOR bytes).
    pub largest_message: u64,
}

fn wire_len<T: serde::Serialize>(v: &T) -> u64 {
    cbor4ii::serde::to_vec(Vec::new(), v)
        .map(|b| b.len() as u64)
        .unwrap_or(0)
}

/// One request, retried on `Busy`; with the bytes it took.
async fn ask_one(link: &dyn SyncLink, req: SyncRequest) -> (anyhow::Result<SyncResponse>, Tally) {
    let mut t = Tally::default();
    let mut busy = 0;
    let sent = wire_len(&req);
    loop {
        t.messages += 1;
        t.sent += sent;
        t.largest = t.largest.max(sent);
        let resp = match link.request(req.clone()).await {
            Ok(r) => r,
            Err(e) => return (Err(e), t),
        };
        let got = wire_len(&resp);
        t.received += got;
        t.largest = t.largest.max(got);
        match resp {
            SyncResponse::Busy { retry_after_ms } if busy < MAX_BUSY_RETRIES => {
                busy += 1;
                tokio::time::sleep(Duration::from_millis(retry_after_ms.min(10_000))).await;
            }
            SyncResponse::Refused { reason } => {
                return (Err(anyhow::anyhow!("peer refused: {reason}")), t)
            }
            other => return (Ok(other), t),
        }
    }
}

#[derive(Default)]
struct Tally {
    messages: u32,
    sent: u64,
    received: u64,
    largest: u64,
}

pub(crate) struct Session<'a> {
    pub ingest: &'a Ingest,
    pub link: &'a dyn SyncLink,
    pub stats: SessionStats,
    /// Records we refused (by policy) across sessions: not fetched again.
    pub refused: &'a super::Refused,
}

impl Session<'_> {
    /// One phase: every request in flight together (at most [`PIPELINE`] at a time);
    /// the answers in request order.
    async fn phase(&mut self, reqs: Vec<SyncRequest>) -> anyhow::Result<Vec<SyncResponse>> {
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        self.stats.round_trips += 1;
        self.stats.waves += reqs.len().div_ceil(PIPELINE) as u32;
        let link = self.link;
        let answers: Vec<_> = futures::stream::iter(reqs)
            .map(|r| ask_one(link, r))
            .buffered(PIPELINE)
            .collect()
            .await;
        let mut out = Vec::with_capacity(answers.len());
        let mut first_err = None;
        for (resp, t) in answers {
            self.stats.messages += t.messages;
            self.stats.bytes_sent += t.sent;
            self.stats.bytes_received += t.received;
            self.stats.largest_message = self.stats.largest_message.max(t.largest);
            match resp {
                Ok(r) => out.push(r),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    async fn ask(&mut self, req: SyncRequest) -> anyhow::Result<SyncResponse> {
        let mut v = self.phase(vec![req]).await?;
        v.pop()
            .ok_or_else(|| anyhow::anyhow!("no answer to a request"))
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
                tracing::debug!(reason, "record from sync not stored");
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

/// What a session learned: hashes to fetch and to push.
#[derive(Default)]
struct Plan {
    fetch: Vec<RecordHash>,
    push: Vec<RecordHash>,
}

/// A whole session with the peer behind `link` (`member`: its trust-list entry).
pub(crate) async fn reconcile(
    cfg: &SyncConfig,
    s: &mut Session<'_>,
    member: &Member,
    on_watermark: &(dyn Fn(u64) + Send + Sync),
) -> anyhow::Result<()> {
    let ingest = s.ingest.clone();
    let mine = {
        let (ingest, member) = (ingest.clone(), member.clone());
        tokio::task::spawn_blocking(move || items_for(&ingest, &member, &[])).await?
    };
    let sk = sketch(&mine);
    // Phase 1: the watermark (no self-fork: what is the highest seq this peer holds
    // from us?) and the sketch, together.
    let me = ingest.local.publisher;
    let mut first = s
        .phase(vec![
            SyncRequest::Watermark { publisher: me.0 },
            SyncRequest::Sketch {
                count: sk.count,
                strata: ByteBuf::from(sk.strata),
                cells: ByteBuf::from(sk.cells),
            },
        ])
        .await?;
    let answer = first.pop().expect("two answers");
    if let Some(SyncResponse::Watermark { seq }) = first.pop() {
        on_watermark(seq.unwrap_or(0));
    }
    let mut plan = Plan::default();
    let mut truncated = false;
    match answer {
        SyncResponse::Diff {
            records,
            offer,
            need,
        } => {
            s.stats.method = "sketch";
            s.take(records).await;
            plan.fetch = hashes(&offer);
            plan.push = hashes(&need);
        }
        SyncResponse::Table { cells, from, data } => {
            match by_tables(cfg, s, &mine, cells, from, data).await? {
                Some(p) => {
                    s.stats.method = "table";
                    plan = p;
                }
                None => {
                    s.stats.method = "ranges";
                    truncated = by_ranges(s, member, &mut plan).await?;
                }
            }
        }
        _ => anyhow::bail!("peer answered a sketch with something else"),
    }
    transfer(cfg, s, member, plan).await?;
    if truncated {
        anyhow::bail!("reconciliation stopped after {MAX_ROUNDS} rounds; what was learned was transferred, the next session continues");
    }
    Ok(())
}

/// Read the responder's table (its first cells came with the sketch's answer), asking
/// for a bigger one while it does not peel. `None`: give up (fall back to ranges).
async fn by_tables(
    cfg: &SyncConfig,
    s: &mut Session<'_>,
    mine: &[Item],
    mut cells: u32,
    from: u32,
    data: ByteBuf,
) -> anyhow::Result<Option<Plan>> {
    let per_message = cells_per_message(cfg.message_budget);
    let mut first = Some((from, data));
    loop {
        // The answer's bounds: a valid size, chunks inside it (a hostile peer cannot
        // make us allocate more than MAX_TABLE_CELLS cells).
        let mut table =
            Iblt::new(cells as usize).map_err(|e| anyhow::anyhow!("peer's table: {e}"))?;
        let mut have = vec![false; cells.div_ceil(per_message) as usize];
        let mut chunks = Vec::new();
        if let Some((from, data)) = first.take() {
            chunks.push(SyncResponse::Table { cells, from, data });
        }
        for attempt in 0..3 {
            for c in chunks.drain(..) {
                let SyncResponse::Table {
                    cells: c_cells,
                    from,
                    data,
                } = c
                else {
                    anyhow::bail!("peer answered a table request with something else");
                };
                let len = (data.len() / techmesh_protocol::sync::iblt::CELL_BYTES) as u64;
                check_table(c_cells, from, len, per_message)
                    .map_err(|e| anyhow::anyhow!("peer's table: {e}"))?;
                if c_cells != cells || len == 0 || from % per_message != 0 {
                    anyhow::bail!("peer's table chunk does not match the request");
                }
                table
                    .fill(from as usize, &data)
                    .map_err(|e| anyhow::anyhow!("peer's table: {e}"))?;
                have[(from / per_message) as usize] = true;
            }
            let missing: Vec<SyncRequest> = have
                .iter()
                .enumerate()
                .filter(|(_, h)| !**h)
                .map(|(i, _)| {
                    let from = i as u32 * per_message;
                    SyncRequest::Table {
                        cells,
                        from,
                        len: per_message.min(cells - from),
                    }
                })
                .collect();
            if missing.is_empty() || attempt == 2 {
                break;
            }
            chunks = s.phase(missing).await?;
        }
        if have.iter().any(|h| !h) {
            anyhow::bail!("peer did not send its whole table");
        }
        s.stats.table_cells = cells;
        match read_table(&table, mine) {
            Ok(o) => {
                return Ok(Some(Plan {
                    fetch: o.i_lack,
                    push: o.they_lack,
                }))
            }
            Err(e) => {
                tracing::debug!(cells, "table did not peel: {e}");
                match retry_cells(cells) {
                    Some(bigger) if s.stats.table_retries < MAX_TABLE_RETRIES => {
                        s.stats.table_retries += 1;
                        cells = bigger;
                    }
                    _ => return Ok(None),
                }
            }
        }
    }
}

/// The fallback: range reconciliation (§8.4) until nothing differs. Inline records are
/// taken; hashes to fetch and push go into `plan`. `true`: stopped at the round bound.
async fn by_ranges(s: &mut Session<'_>, member: &Member, plan: &mut Plan) -> anyhow::Result<bool> {
    let ingest = s.ingest.clone();
    let mut mine = |path: &[u8]| items_for(&ingest, member, path);
    let mut queue = start(&mut mine);
    while !queue.is_empty() {
        s.stats.rounds += 1;
        if s.stats.rounds > MAX_ROUNDS {
            return Ok(true);
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
        plan.fetch.extend(hashes(&offer));
        plan.push.extend(hashes(&need));
        let out = process(&theirs, &mut mine);
        plan.fetch.extend(out.i_lack);
        plan.push.extend(out.they_lack);
        queue.extend(out.ranges);
    }
    Ok(false)
}

/// Fetch what we lack and push what the peer lacks, every message of a phase in flight
/// together; what a `Records` answer left out is asked for in the next phase. Records
/// we refused before are not asked for again.
async fn transfer(
    cfg: &SyncConfig,
    s: &mut Session<'_>,
    member: &Member,
    plan: Plan,
) -> anyhow::Result<()> {
    let Plan {
        mut fetch,
        mut push,
    } = plan;
    fetch.sort();
    fetch.dedup();
    fetch.retain(|h| !s.refused.contains(h));
    push.sort();
    push.dedup();
    let mut pushes = Vec::new();
    let mut pending = push;
    while !pending.is_empty() {
        let (records, left) = pack(s.ingest, member, &pending, cfg.message_budget);
        if records.is_empty() {
            break;
        }
        pushes.push(SyncRequest::Push { records });
        pending = left;
    }
    let chunk = FETCH_CHUNK.min(MAX_FETCH);
    for _ in 0..MAX_TRANSFER_PHASES {
        let fetches: Vec<Vec<RecordHash>> = fetch.chunks(chunk).map(|c| c.to_vec()).collect();
        let mut reqs: Vec<SyncRequest> = fetches
            .iter()
            .map(|c| SyncRequest::Fetch {
                hashes: hash_bufs(c),
            })
            .collect();
        reqs.append(&mut pushes);
        if reqs.is_empty() {
            return Ok(());
        }
        let answers = s.phase(reqs).await?;
        fetch = Vec::new();
        for (i, a) in answers.into_iter().enumerate() {
            match (fetches.get(i), a) {
                (Some(asked), SyncResponse::Records { records, remaining }) => {
                    let returned: HashSet<RecordHash> =
                        records.iter().map(|r| RecordHash::of(r)).collect();
                    s.take(records).await;
                    if remaining > 0 && !returned.is_empty() {
                        // Did not fit in one answer: ask again for exactly those.
                        fetch.extend(asked.iter().filter(|h| !returned.contains(h)));
                    }
                }
                (None, SyncResponse::Pushed { accepted, .. }) => {
                    s.stats.pushed += u64::from(accepted);
                }
                _ => anyhow::bail!("peer answered a fetch or push with something else"),
            }
        }
    }
    anyhow::bail!("records still missing after {MAX_TRANSFER_PHASES} transfer phases")
}
