//! Receiving gossip: a worker verifies, decides and stores incoming records off the
//! event loop, in batches, and hands back one validation verdict per message.
//! `Reject` only for the sender's own fault (malformed, bad signature); `Ignore` for
//! policy, for what we already hold, and for what depends on our own view (clock
//! skew, the publisher's country that decides the topic).
//!
//! The worker counts the `Reject`s it hands out per sender, as the event loop counts
//! strikes: once a sender reaches `max_strikes` (and is blocked), the messages from
//! it still queued or in the same batch are dropped unverified (`Ignore`) until the
//! block expires, so a flooder costs at most `max_strikes` signature checks.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::gossipsub::{IdentTopic, MessageAcceptance, MessageId, TopicHash};
use libp2p::PeerId;
use tokio::sync::mpsc;

use techmesh_protocol::record::Record;

use super::Command;
use crate::ingest::{Ingest, IngestError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Ignore,
    Reject,
}

impl Verdict {
    pub fn acceptance(self) -> MessageAcceptance {
        match self {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Ignore => MessageAcceptance::Ignore,
            Verdict::Reject => MessageAcceptance::Reject,
        }
    }
}

pub struct Incoming {
    pub id: MessageId,
    pub source: PeerId,
    pub topic: TopicHash,
    pub data: Vec<u8>,
}

/// Most messages verified in one blocking batch.
const BATCH: usize = 256;

/// Invalid records seen per sender, and since when a sender is struck out.
pub struct Strikes {
    max: u32,
    block: Duration,
    by_peer: HashMap<PeerId, (u32, Option<Instant>)>,
}

impl Strikes {
    pub fn new(max: u32, block: Duration) -> Strikes {
        Strikes {
            max,
            block,
            by_peer: HashMap::new(),
        }
    }

    /// Is `peer` struck out (its messages dropped unverified)? Forgets it once its
    /// block has expired.
    fn struck_out(&mut self, peer: &PeerId) -> bool {
        match self.by_peer.get(peer) {
            Some((_, Some(since))) if since.elapsed() < self.block => true,
            Some((_, Some(_))) => {
                self.by_peer.remove(peer);
                false
            }
            _ => false,
        }
    }

    fn add(&mut self, peer: PeerId) {
        let e = self.by_peer.entry(peer).or_insert((0, None));
        e.0 = e.0.saturating_add(1);
        if e.0 >= self.max && e.1.is_none() {
            e.1 = Some(Instant::now());
        }
    }
}

pub async fn worker(
    mut rx: mpsc::Receiver<Incoming>,
    ingest: Ingest,
    commands: mpsc::Sender<Command>,
    mut strikes: Strikes,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let ing = ingest.clone();
        let (batch, verdicts, back) = match tokio::task::spawn_blocking(move || {
            let verdicts = judge(&ing, &batch, &mut strikes);
            (batch, verdicts, strikes)
        })
        .await
        {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("gossip ingest worker panicked: {e}");
                return;
            }
        };
        strikes = back;
        for (m, verdict) in batch.into_iter().zip(verdicts) {
            if commands
                .send(Command::Validation {
                    id: m.id,
                    source: m.source,
                    topic: m.topic,
                    verdict,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

fn judge(ingest: &Ingest, batch: &[Incoming], strikes: &mut Strikes) -> Vec<Verdict> {
    let opts = ingest.verify_opts();
    let mut verdicts = vec![Verdict::Ignore; batch.len()];
    // Indices of the messages verified (not from a struck-out sender) and their checks.
    let mut judged = Vec::new();
    let mut checked: Vec<Result<Record, IngestError>> = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        if strikes.struck_out(&m.source) {
            tracing::debug!(peer = %m.source, "gossip from a struck-out peer dropped unverified");
            continue;
        }
        let res = check(ingest, &opts, m);
        if matches!(&res, Err(IngestError::Invalid(e)) if !matches!(e, techmesh_protocol::RecordError::FromTheFuture { .. }))
        {
            strikes.add(m.source);
        }
        judged.push(i);
        checked.push(res);
    }
    for (res, i) in ingest.store_checked(checked).into_iter().zip(judged) {
        verdicts[i] = verdict(res, &batch[i]);
    }
    verdicts
}

/// Verify one message and decide on it with the trust policy and its topic.
fn check(
    ingest: &Ingest,
    opts: &techmesh_protocol::record::VerifyOptions,
    m: &Incoming,
) -> Result<Record, IngestError> {
    let r = Record::verify(&m.data, opts)?;
    ingest.policy(&r)?;
    let topic = {
        let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
        trust.topic_for(&ingest.local, &r)
    };
    if topic.is_none_or(|t| IdentTopic::new(t).hash() != m.topic) {
        return Err(IngestError::WrongTopic);
    }
    Ok(r)
}

fn verdict(
    res: Result<(Record, crate::store::ApplyOutcome), IngestError>,
    m: &Incoming,
) -> Verdict {
    match res {
        Ok((rec, outcome)) if outcome.applied.is_new() => {
            tracing::debug!(peer = %m.source, id = %rec.identity(), seq = rec.seq, "stored record from gossip");
            Verdict::Accept
        }
        Ok(_) => Verdict::Ignore,
        // A future timestamp depends on our clock, a wrong topic on our view of
        // the publisher's country: not provably the sender's fault.
        Err(e @ IngestError::Invalid(techmesh_protocol::RecordError::FromTheFuture { .. }))
        | Err(e @ IngestError::WrongTopic) => {
            tracing::info!(peer = %m.source, reason = e.reason(), "record from gossip ignored: {e}");
            Verdict::Ignore
        }
        Err(e @ IngestError::Invalid(_)) => {
            tracing::warn!(peer = %m.source, reason = e.reason(), "invalid record in gossip: {e}");
            Verdict::Reject
        }
        Err(e) => {
            tracing::debug!(peer = %m.source, reason = e.reason(), "record from gossip not stored: {e}");
            Verdict::Ignore
        }
    }
}
