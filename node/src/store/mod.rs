//! The store: every record this node holds, behind a trait so the rest of the node
//! (network, sync, API) never knows how it is kept (segment files, an index log
//! replayed into memory, and sled for what is rare: see `keys.rs`).
//!
//! Rules every implementation keeps:
//! - a record and its index rows are applied atomically, and the store is flushed
//!   before [`Store::apply`] returns (callers acknowledge only after that);
//! - applying the same record twice stores it once ([`Applied::Duplicate`]);
//! - an older version never overwrites a newer one ([`Applied::Stale`]), using the
//!   protocol's version order (higher seq, then lower hash);
//! - two different records under one `(publisher, seq)` are kept as evidence.

mod check;
mod digestmap;
mod format;
mod indexlog;
mod keys;
mod memindex;
mod segments;
mod sled_store;

pub use keys::{IndexKey, SyncItem};
pub use sled_store::SledStore;

#[cfg(test)]
mod format_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod tests;

use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};
use techmesh_protocol::Kind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database error: {0}")]
    Db(#[from] sled::Error),
    #[error("the store at {path} is in use by another process (is `techmesh run` running there?)")]
    Locked { path: String },
    #[error("the store at {path} cannot be opened: {detail}")]
    Format { path: String, detail: String },
    #[error("store holds a corrupt row under {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("store file error while {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

/// What applying one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// First version of this identity.
    Inserted,
    /// Replaced an older version (which is no longer readable; its bytes stay in a
    /// segment file as garbage until compaction).
    Replaced { previous: RecordHash },
    /// This exact record was already stored.
    Duplicate,
    /// A newer version is already stored; nothing changed (but equivocation
    /// evidence may have been recorded).
    Stale { current: RecordHash },
}

impl Applied {
    /// Did the record become (or stay) the current version? New information only.
    pub fn is_new(&self) -> bool {
        matches!(self, Applied::Inserted | Applied::Replaced { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOutcome {
    pub applied: Applied,
    /// Set when another record with the same (publisher, seq) was seen before.
    pub equivocation_with: Option<RecordHash>,
}

/// Two records a publisher signed under the same seq.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub publisher: PublicKey,
    pub seq: u64,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub entry: u64,
    pub mapping_set: u64,
    pub event: u64,
    pub tombstone: u64,
    /// Federation anchors' membership lists.
    pub membership: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.entry + self.mapping_set + self.event + self.tombstone + self.membership
    }
}

/// Filter of [`Store::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub kind: Option<Kind>,
    pub publisher: Option<PublicKey>,
    pub include_tombstones: bool,
    pub limit: Option<usize>,
}

pub trait Store: Send + Sync + 'static {
    /// Apply verified, policy-accepted records as one atomic batch, flushed before
    /// returning. Records may be in any order; the result is in input order.
    fn apply(&self, records: &[Record]) -> Result<Vec<ApplyOutcome>, StoreError>;
    fn get(&self, id: &Identity) -> Result<Option<Record>, StoreError>;
    fn get_by_hash(&self, hash: &RecordHash) -> Result<Option<Record>, StoreError>;
    /// Current versions, in identity order.
    fn list(&self, filter: &ListFilter) -> Result<Vec<Record>, StoreError>;
    /// Identities of current, non-withdrawn entries that `key` selects (e.g. a
    /// classification code and everything narrower). May scan the whole store: the
    /// node's own lookups go through the in-memory index of `query/`.
    fn find(&self, key: &IndexKey) -> Result<Vec<Identity>, StoreError>;
    /// Highest seq seen from `publisher` (any version, even superseded).
    fn watermark(&self, publisher: &PublicKey) -> Result<Option<u64>, StoreError>;
    fn equivocations(&self) -> Result<Vec<Evidence>, StoreError>;
    fn counts(&self) -> Result<Counts, StoreError>;
    /// Sync items (identity digest, seq, hash, scope, publisher) whose identity
    /// digest starts with `prefix` (bytes; a trailing half byte via `nibbles`).
    fn sync_items(&self, prefix: &[u8]) -> Result<Vec<SyncItem>, StoreError>;
    /// SHA-256 over every current (identity digest, hash), in order: equal on two
    /// nodes exactly when they hold the same current versions.
    fn digest(&self) -> Result<[u8; 32], StoreError>;
    /// Cross-check records against their current-version, sync and watermark rows and
    /// the format marker (for `techmesh check`): problems found.
    fn check(&self) -> Result<Vec<String>, StoreError>;
    fn flush(&self) -> Result<(), StoreError>;
    /// Delete the current records of `publisher` for which `doomed` holds, with
    /// their index and sync rows, in one atomic, flushed batch. Seq rows, the
    /// watermark and equivocation evidence stay (a purged seq never counts as
    /// unused). Returns the identities removed.
    fn purge_publisher_where(
        &self,
        publisher: &PublicKey,
        doomed: &dyn Fn(&Record) -> bool,
    ) -> Result<Vec<Identity>, StoreError>;
    /// Delete every current record of `publisher` (see [`Store::purge_publisher_where`]).
    fn purge_publisher(&self, publisher: &PublicKey) -> Result<u64, StoreError> {
        Ok(self.purge_publisher_where(publisher, &|_| true)?.len() as u64)
    }
}
