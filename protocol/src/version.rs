//! Which version of an identity wins, and what counts as equivocation
//! (docs/PROTOCOL.md §5). Every node applies the same total order, so any set of
//! records applied in any order leaves every node with the same winners.

use crate::record::{Record, RecordHash};

/// The version key of a record: higher `seq` wins; for equal `seq` (equivocation
/// by the publisher) the lower hash wins, so nodes still agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub seq: u64,
    pub hash: RecordHash,
}

impl Version {
    pub fn of(r: &Record) -> Version {
        Version {
            seq: r.seq,
            hash: r.hash(),
        }
    }

    /// Does `self` replace `current` for the same identity?
    pub fn supersedes(&self, current: &Version) -> bool {
        self.seq > current.seq || (self.seq == current.seq && self.hash < current.hash)
    }
}

/// Two different records under one `(publisher, seq)`: the publisher signed both.
/// Both are kept as evidence.
pub fn is_equivocation(a: &Record, b: &Record) -> bool {
    a.publisher == b.publisher && a.seq == b.seq && a.hash() != b.hash()
}
