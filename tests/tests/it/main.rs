//! The one integration-test binary: real `techmesh` processes on 127.0.0.1.
//!
//! - `admin`: trust-list administration (admin API, reload, revocation, rotation);
//! - `cli`: the command line on one data dir (issue: foundation);
//! - `console`: the web console in headless Chromium (issue: web console);
//! - `federation`: gossip, late joiners, partitions, restarts (issue: federation);
//! - `hostile`: untrusted peers, forged records, equivocation;
//! - `quic`: the federation over QUIC v1 instead of TCP;
//! - `scope`: national / international scopes in gossip and sync;
//! - `self_fork`: the no-self-fork guard;
//! - `anchors`: federation anchors and local denies; `federated`: the federated query;
//! - `abuse`, `flood`, `crash`: hostile peers and SIGKILL loops (issue: reliability);
//! - `observability`: `/metrics`; `search`, `mappings`, `tabular`: their issues.

mod abuse;
mod admin;
mod anchors;
mod cli;
mod console;
mod crash;
mod federated;
mod federation;
mod flood;
mod hostile;
mod mappings;
mod observability;
mod observer;
mod quic;
mod scope;
mod search;
mod self_fork;
mod tabular;

use serde_json::{json, Value};

/// A valid offer entry with this local id and scope.
pub fn entry(local_id: &str, scope: &str) -> Value {
    json!({
        "local_id": local_id,
        "entry_type": "offer",
        "title": {"zh": "高安全硅碳负极锂离子电池", "en": format!("Si/C-anode lithium-ion cell {local_id}")},
        "summary": {"en": "Silicon-carbon composite anode with over 2000 cycles."},
        "classifications": [{"scheme": "ipc", "code": "H01M 10/0525"}],
        "transfer_modes": ["licence"],
        "trl": {"scheme": "trl-eu", "level": 6},
        "organisation": {"name": {"en": "Test University"}, "kind": "university", "country": "CN"},
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
        "scope": scope
    })
}
