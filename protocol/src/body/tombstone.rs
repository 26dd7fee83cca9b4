//! The `tombstone` body: the publisher withdraws one of its records. A tombstone takes
//! the identity of the record it withdraws, so it replaces that record like any newer
//! version would (and is itself replaced only by a newer version).

use serde::{Deserialize, Serialize};

use super::common::Checker;
use super::Kind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tombstone {
    /// Kind of the withdrawn record (`entry`, `mapping_set`, `event` or `membership`).
    pub target_kind: Kind,
    /// `local_id` of the withdrawn record.
    pub local_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Tombstone {
    pub fn check(&self, c: &mut Checker) {
        c.local_id("local_id", &self.local_id);
        if self.target_kind == Kind::Tombstone {
            c.fail("target_kind", "a tombstone cannot withdraw a tombstone");
        }
        if let Some(r) = &self.reason {
            c.text("reason", r, 500);
        }
    }
}
