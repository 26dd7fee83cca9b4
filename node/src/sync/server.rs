//! Answering a peer's sync request from the store. Every bound is checked before
//! any work: number of ranges, path validity, fetch size, message byte budget.

use libp2p::PeerId;
use serde_bytes::ByteBuf;

use techmesh_protocol::record::{PublicKey, RecordHash};
use techmesh_protocol::sync::iblt::Iblt;
use techmesh_protocol::sync::sketch::{
    answer_sketch, cells_per_message, check_sketch, check_table, SketchAnswer,
};
use techmesh_protocol::sync::{
    check_ranges, process_bounded, SyncRequest, SyncResponse, MAX_FETCH, MAX_RANGES_PER_MESSAGE,
};

use super::{hash_bufs, items_for, member_of};
use crate::ingest::Ingest;

fn refused(reason: impl Into<String>) -> SyncResponse {
    SyncResponse::Refused {
        reason: reason.into(),
    }
}

/// Records (by hash) that `member` may receive, packed into `budget` bytes.
pub(crate) fn pack(
    ingest: &Ingest,
    member: &techmesh_protocol::trust::Member,
    hashes: &[RecordHash],
    budget: usize,
) -> (Vec<ByteBuf>, Vec<RecordHash>) {
    let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Vec::new();
    let mut left = Vec::new();
    let mut used = 0usize;
    for h in hashes {
        let Ok(Some(r)) = ingest.store.get_by_hash(h) else {
            continue;
        };
        if !trust.may_send(&ingest.local, &r, member) {
            continue;
        }
        let n = r.bytes().len() + 8;
        if used + n > budget {
            left.push(*h);
            continue;
        }
        used += n;
        out.push(ByteBuf::from(r.bytes().to_vec()));
    }
    (out, left)
}

/// Cells `from .. from + len` of my table of `cells` cells (sizes already checked).
fn table_chunk(
    mine: &[techmesh_protocol::sync::Item],
    cells: u32,
    from: u32,
    len: u32,
    budget: usize,
) -> SyncResponse {
    match Iblt::of(cells as usize, mine) {
        Ok(t) => {
            let len = len.min(cells_per_message(budget));
            SyncResponse::Table {
                cells,
                from,
                data: ByteBuf::from(t.encode_range(from as usize, len as usize)),
            }
        }
        Err(e) => refused(format!("table: {e}")),
    }
}

/// The answer to one request of `peer` (bounds first; `budget`: bytes of records or
/// table cells per answer).
pub fn answer(ingest: &Ingest, peer: &PeerId, req: SyncRequest, budget: usize) -> SyncResponse {
    let Some(member) = member_of(ingest, peer) else {
        return refused("you are not in this node's trust list");
    };
    if member.roles.observer {
        return refused("observers do not replicate");
    }
    match req {
        SyncRequest::Sketch {
            count,
            strata,
            cells,
        } => {
            if let Err(e) = check_sketch(&strata, &cells) {
                return refused(e);
            }
            let mine = items_for(ingest, &member, &[]);
            match answer_sketch(count, &strata, &cells, &mine) {
                Err(e) => refused(e),
                Ok(SketchAnswer::Diff(out)) => {
                    let (records, offer) = pack(ingest, &member, &out.they_lack, budget);
                    SyncResponse::Diff {
                        records,
                        offer: hash_bufs(&offer),
                        need: hash_bufs(&out.i_lack),
                    }
                }
                Ok(SketchAnswer::Table(cells)) => {
                    table_chunk(&mine, cells, 0, cells_per_message(budget), budget)
                }
            }
        }
        SyncRequest::Table { cells, from, len } => {
            let per_message = cells_per_message(budget);
            if let Err(e) = check_table(cells, from, u64::from(len), per_message) {
                return refused(e);
            }
            let mine = items_for(ingest, &member, &[]);
            table_chunk(&mine, cells, from, len, budget)
        }
        SyncRequest::Reconcile { ranges } => {
            if let Err(e) = check_ranges(&ranges, MAX_RANGES_PER_MESSAGE) {
                return refused(e);
            }
            // Half the budget for ranges and hashes, the rest for records inline.
            let (out, processed) = process_bounded(
                &ranges,
                &mut |path| items_for(ingest, &member, path),
                budget / 2,
            );
            let (records, offer) = pack(ingest, &member, &out.they_lack, budget / 2);
            SyncResponse::Reconcile {
                processed: processed as u32,
                ranges: out.ranges,
                records,
                offer: hash_bufs(&offer),
                need: hash_bufs(&out.i_lack),
            }
        }
        SyncRequest::Fetch { hashes } => {
            if hashes.len() > MAX_FETCH {
                return refused(format!(
                    "fetch of {} records, more than {MAX_FETCH}",
                    hashes.len()
                ));
            }
            let hashes: Vec<RecordHash> = hashes
                .iter()
                .filter_map(|h| h.as_slice().try_into().ok().map(RecordHash))
                .collect();
            let (records, left) = pack(ingest, &member, &hashes, budget);
            SyncResponse::Records {
                records,
                remaining: left.len() as u32,
            }
        }
        SyncRequest::Push { records } => {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            let results = ingest.ingest_bytes(&refs);
            let accepted = results
                .iter()
                .filter(|r| r.as_ref().is_ok_and(|(_, o)| o.applied.is_new()))
                .count() as u32;
            let refused_n = results.iter().filter(|r| r.is_err()).count() as u32;
            SyncResponse::Pushed {
                accepted,
                refused: refused_n,
            }
        }
        SyncRequest::Watermark { publisher } => match ingest.store.watermark(&PublicKey(publisher))
        {
            Ok(seq) => SyncResponse::Watermark { seq },
            Err(e) => refused(format!("store error: {e}")),
        },
    }
}
