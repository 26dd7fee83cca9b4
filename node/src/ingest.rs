//! The one path by which records enter the store: decode and verify (protocol),
//! decide with the trust policy (protocol), store durably (store). Gossip, sync,
//! imports of signed files and local publishing all come through here.

use std::sync::{Arc, RwLock};

use techmesh_protocol::record::{Record, VerifyOptions};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::trust::{LocalNode, PolicyRefusal, TrustList};
use techmesh_protocol::RecordError;

use crate::store::{ApplyOutcome, Store, StoreError};

/// Why a record did not get in.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The record itself is broken (bad signature, malformed, ...): the sender's fault.
    #[error("invalid record: {0}")]
    Invalid(#[from] RecordError),
    /// A valid record this node does not accept (untrusted publisher, scope, role).
    #[error("refused by policy: {0}")]
    Refused(#[from] PolicyRefusal),
    /// Gossiped on a topic that is not its scope's: the sender's fault.
    #[error("record arrived on the gossip topic of another scope")]
    WrongTopic,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Invalid(e) => e.reason(),
            IngestError::Refused(p) => p.reason(),
            IngestError::WrongTopic => "wrong_topic",
            IngestError::Store(_) => "store_error",
        }
    }
}

pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Timestamp(secs)
}

/// Something that follows every newly stored record (indexes derived from the store:
/// mappings, search). Called after the record is durable, on the storing thread.
pub trait RecordObserver: Send + Sync {
    fn on_new(&self, record: &Record);
    /// Records were deleted from the store (an administrator purged a removed
    /// member or a revoked key): forget them.
    fn on_purged(&self, _ids: &[techmesh_protocol::record::Identity]) {}
}

/// Shared by every component that receives records.
#[derive(Clone)]
pub struct Ingest {
    pub store: Arc<dyn Store>,
    pub trust: Arc<RwLock<TrustList>>,
    pub local: LocalNode,
    pub max_future_skew_secs: u64,
    pub observers: Arc<RwLock<Vec<Arc<dyn RecordObserver>>>>,
}

impl Ingest {
    pub fn new(
        store: Arc<dyn Store>,
        trust: Arc<RwLock<TrustList>>,
        local: LocalNode,
        max_future_skew_secs: u64,
    ) -> Ingest {
        Ingest {
            store,
            trust,
            local,
            max_future_skew_secs,
            observers: Arc::default(),
        }
    }

    pub fn observe(&self, o: Arc<dyn RecordObserver>) {
        self.observers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(o);
    }

    pub fn verify_opts(&self) -> VerifyOptions {
        VerifyOptions {
            now: now(),
            max_future_skew_secs: self.max_future_skew_secs,
        }
    }

    /// Delete `publisher`'s stored records selected by `doomed` (see
    /// [`Store::purge_publisher_where`]) and tell the observers.
    pub fn purge(
        &self,
        publisher: &techmesh_protocol::record::PublicKey,
        doomed: &dyn Fn(&Record) -> bool,
    ) -> Result<u64, StoreError> {
        let ids = self.store.purge_publisher_where(publisher, doomed)?;
        if !ids.is_empty() {
            for o in self
                .observers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
            {
                o.on_purged(&ids);
            }
        }
        Ok(ids.len() as u64)
    }

    /// Check a record's policy with the current trust list.
    pub fn policy(&self, r: &Record) -> Result<(), PolicyRefusal> {
        let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
        trust.accept(&self.local, r)
    }

    /// Verify and decide on each of `batch`; store the acceptable ones in one
    /// atomic, flushed apply. Results are in input order. The records are verified
    /// first, then the policy decides on all of them under one short read lock of
    /// the trust list (not held while verifying: a writer would stall every
    /// reader behind it), looking each publisher up once per run of its records.
    pub fn ingest_bytes(
        &self,
        batch: &[&[u8]],
    ) -> Vec<Result<(Record, ApplyOutcome), IngestError>> {
        let opts = self.verify_opts();
        let mut checked: Vec<Result<Record, IngestError>> = batch
            .iter()
            .map(|b| Ok(Record::verify(b, &opts)?))
            .collect();
        {
            let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
            let mut policy = trust.policy(&self.local);
            for slot in checked.iter_mut() {
                if let Ok(r) = slot {
                    if let Err(refusal) = policy.accept(r) {
                        *slot = Err(refusal.into());
                    }
                }
            }
        }
        self.store_checked(checked)
    }

    /// Store already verified records that passed policy (or carry their error).
    /// The records are moved into the store's batch and back into the results, not
    /// copied (a copy of a typed body is dozens of allocations).
    pub fn store_checked(
        &self,
        checked: Vec<Result<Record, IngestError>>,
    ) -> Vec<Result<(Record, ApplyOutcome), IngestError>> {
        let mut good: Vec<Record> = Vec::with_capacity(checked.len());
        let errors: Vec<Option<IngestError>> = checked
            .into_iter()
            .map(|r| match r {
                Ok(rec) => {
                    good.push(rec);
                    None
                }
                Err(e) => Some(e),
            })
            .collect();
        let outcomes = match self.store.apply(&good) {
            Ok(outcomes) => outcomes,
            Err(e) => {
                let msg = e.to_string();
                return errors
                    .into_iter()
                    .map(|slot| {
                        Err(slot.unwrap_or_else(|| {
                            IngestError::Store(StoreError::Corrupt {
                                what: "apply".into(),
                                detail: msg.clone(),
                            })
                        }))
                    })
                    .collect();
            }
        };
        let mut applied = good.into_iter().zip(outcomes);
        let observers = self.observers.read().unwrap_or_else(|p| p.into_inner());
        errors
            .into_iter()
            .map(|slot| {
                if let Some(e) = slot {
                    crate::activity::global().count(crate::activity::Event::Refused);
                    crate::metrics::global().refused(e.reason());
                    return Err(e);
                }
                let (rec, outcome) = applied.next().ok_or_else(|| StoreError::Corrupt {
                    what: "apply".into(),
                    detail: "missing outcome".into(),
                })?;
                if outcome.applied.is_new() {
                    for o in observers.iter() {
                        o.on_new(&rec);
                    }
                }
                Ok((rec, outcome))
            })
            .collect()
    }
}
