//! Federated query (docs/PROTOCOL.md, "Federated query"): asking the trusted peers
//! a search or a match with a deadline, and answering their questions.
//!
//! - [`server`]: answers inbound `/techmesh/query/1` requests from the local index,
//!   only with records the asker is entitled to receive (the same
//!   `TrustList::may_send_parts` rule gossip and sync use), capped, with a per-peer
//!   rate limit and concurrency bound;
//! - [`ask`]: fans a query out to the permitted peers concurrently, waits for each at
//!   most the deadline, verifies every returned record (signature, then
//!   `TrustList::accept`), keeps the newest version per identity, merges with the
//!   local hits and ranks the union with the local search and match functions.

pub mod ask;
pub mod server;

use std::path::Path;

pub use ask::{federated_match, federated_search, DEFAULT_DEADLINE_MS};
pub use server::serve;

/// Bounds of the query server (node.toml `[query]`).
#[derive(Debug, Clone)]
pub struct FedQueryConfig {
    /// Queries answered per peer per minute (also the burst).
    pub requests_per_minute: u32,
    /// Queries answered at once per peer.
    pub concurrency_per_peer: usize,
    /// TEST-ONLY hook (see [`tamper_hook_enabled`]): corrupt every answered record.
    pub tamper: bool,
}

/// Name of the test-only tamper hook (an environment variable, or a file of this
/// name in the data directory).
pub const TAMPER_HOOK: &str = "TECHMESH_DEBUG_TAMPER_QUERY";

/// TEST-ONLY: should this node play a dishonest answerer that flips one hex digit of
/// the signature of every record it returns to a federated query? On when the
/// environment variable [`TAMPER_HOOK`] is `1` or a file named [`TAMPER_HOOK`] exists
/// in the data directory. It lets the integration tests show that askers reject
/// what a peer altered; it can do nothing a hostile peer could not do anyway.
pub fn tamper_hook_enabled(data_dir: &Path) -> bool {
    std::env::var(TAMPER_HOOK).is_ok_and(|v| v == "1") || data_dir.join(TAMPER_HOOK).exists()
}
