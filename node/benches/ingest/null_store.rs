//! A test double for the ingest benchmark: a [`Store`] that keeps only each
//! identity's current (seq, hash) in a `HashMap` and does no I/O, so that
//! "ingest with a null store" measures the ingest path without the store: decode,
//! verify, policy, batching, moving the records in and out, the observers.
//! Version order as the real store's (higher seq, then lower hash); everything
//! except `apply` and `counts` answers "nothing".

use std::collections::HashMap;
use std::sync::Mutex;

use techmesh_node::store::{
    Applied, ApplyOutcome, Counts, Evidence, IndexKey, ListFilter, Store, StoreError, SyncItem,
};
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};

#[derive(Default)]
pub struct NullStore {
    current: Mutex<HashMap<Identity, (u64, RecordHash)>>,
}

impl Store for NullStore {
    fn apply(&self, records: &[Record]) -> Result<Vec<ApplyOutcome>, StoreError> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let outcomes = records
            .iter()
            .map(|r| {
                let new = (r.seq, r.hash());
                let id = r.identity();
                let applied = match current.get(&id).copied() {
                    None => Applied::Inserted,
                    Some(old) if old == new => Applied::Duplicate,
                    Some((seq, hash)) if seq > r.seq || (seq == r.seq && hash < r.hash()) => {
                        Applied::Stale { current: hash }
                    }
                    Some((_, previous)) => Applied::Replaced { previous },
                };
                if applied.is_new() {
                    current.insert(id, new);
                }
                ApplyOutcome {
                    applied,
                    equivocation_with: None,
                }
            })
            .collect();
        Ok(outcomes)
    }
    fn get(&self, _: &Identity) -> Result<Option<Record>, StoreError> {
        Ok(None)
    }
    fn get_by_hash(&self, _: &RecordHash) -> Result<Option<Record>, StoreError> {
        Ok(None)
    }
    fn list(&self, _: &ListFilter) -> Result<Vec<Record>, StoreError> {
        Ok(Vec::new())
    }
    fn find(&self, _: &IndexKey) -> Result<Vec<Identity>, StoreError> {
        Ok(Vec::new())
    }
    fn watermark(&self, _: &PublicKey) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
    fn equivocations(&self) -> Result<Vec<Evidence>, StoreError> {
        Ok(Vec::new())
    }
    /// Every identity counted as an entry (the benchmark stores entries only).
    fn counts(&self) -> Result<Counts, StoreError> {
        let n = self.current.lock().unwrap_or_else(|p| p.into_inner()).len();
        Ok(Counts {
            entry: n as u64,
            ..Counts::default()
        })
    }
    fn sync_items(&self, _: &[u8]) -> Result<Vec<SyncItem>, StoreError> {
        Ok(Vec::new())
    }
    fn digest(&self) -> Result<[u8; 32], StoreError> {
        Ok([0; 32])
    }
    fn check(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn purge_publisher_where(
        &self,
        _: &PublicKey,
        _: &dyn Fn(&Record) -> bool,
    ) -> Result<Vec<Identity>, StoreError> {
        Ok(Vec::new())
    }
}
