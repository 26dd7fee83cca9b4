//! Receiving gossip: a worker verifies, decides and stores incoming records off the
//! event loop, in batches, and hands back one validation verdict per message.
//! `Reject` only for the sender's own fault (malformed, bad signature); `Ignore` for
//! policy, for what we already hold, and for what depends on our own view (clock
//! skew, the publisher's country that decides the topic).

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

pub async fn worker(
    mut rx: mpsc::Receiver<Incoming>,
    ingest: Ingest,
    commands: mpsc::Sender<Command>,
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
        let (batch, verdicts) = match tokio::task::spawn_blocking(move || {
            let verdicts = judge(&ing, &batch);
            (batch, verdicts)
        })
        .await
        {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("gossip ingest worker panicked: {e}");
                continue;
            }
        };
        for (m, verdict) in batch.into_iter().zip(verdicts) {
            if commands
                .send(Command::Validation {
                    id: m.id,
                    source: m.source,
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

fn judge(ingest: &Ingest, batch: &[Incoming]) -> Vec<Verdict> {
    let opts = ingest.verify_opts();
    let checked: Vec<Result<Record, IngestError>> = batch
        .iter()
        .map(|m| {
            let r = Record::verify(&m.data, &opts)?;
            ingest.policy(&r)?;
            let topic = {
                let trust = ingest.trust.read().unwrap_or_else(|p| p.into_inner());
                trust.topic_for(&ingest.local, &r)
            };
            if topic.is_none_or(|t| IdentTopic::new(t).hash() != m.topic) {
                return Err(IngestError::WrongTopic);
            }
            Ok(r)
        })
        .collect();
    ingest
        .store_checked(checked)
        .into_iter()
        .zip(batch)
        .map(|(res, m)| match res {
            Ok((rec, outcome)) if outcome.applied.is_new() => {
                tracing::debug!(peer = %m.source, id = %rec.identity(), seq = rec.seq, "stored record from gossip");
                Verdict::Accept
            }
            Ok(_) => Verdict::Ignore,
            // A future timestamp depends on our clock, a wrong topic on our view of
            // the publisher's country: not provably the sender's fault.
            Err(e @ IngestError::Invalid(techmesh_protocol::RecordError::FromTheFuture { .. })) | Err(e @ IngestError::WrongTopic) => {
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
        })
        .collect()
}
