//! Read-only views of the admin API: members with their connected peers, peers,
//! anchors, "which rule admits whom" and the audit log tail. Reads are audited
//! too (`log_read`).

use super::*;

impl Admin {
    /// Audit a read-only call (who looked at what, and when).
    pub fn log_read(&self, actor: &Actor, action: &str, target: &str, details: Value) {
        self.log(
            actor,
            action,
            target,
            Value::Null,
            Value::Null,
            Ok(&details),
        );
    }

    /// Which rule admits or refuses a publisher key or peer id.
    pub fn explain(&self, subject: &str) -> Value {
        let local = self.node.ingest().local.clone();
        self.running().explain(&local, subject)
    }

    /// The anchors, the lists held from each, the denies and the refused listings.
    pub async fn anchors_json(&self) -> Result<Value, AdminError> {
        let list = self.running();
        let store = self.node.store();
        let l = list.clone();
        let records = tokio::task::spawn_blocking(move || anchors::anchor_records(&l, &*store))
            .await
            .map_err(|e| AdminError::internal(e.to_string()))?
            .map_err(|e| AdminError::internal(e.to_string()))?;
        Ok(anchors::anchors_json(&list, &records))
    }

    /// The running trust list, each member with its connected peers.
    pub fn members_json(&self) -> Value {
        let connected: BTreeSet<String> = self
            .node
            .net()
            .map(|n| n.peers.connected_ids().into_iter().collect())
            .unwrap_or_default();
        let list = self.running();
        Value::Array(
            list.members
                .iter()
                .map(|m| {
                    let mut v = member_json(m);
                    v["source"] = m.source.to_json(&m.name);
                    v["connected_peers"] = json!(m
                        .peer_ids
                        .iter()
                        .filter(|p| connected.contains(*p))
                        .collect::<Vec<_>>());
                    v
                })
                .collect(),
        )
    }

    pub async fn peers_json(&self) -> Value {
        self.node.peers_json().await
    }

    pub fn audit_tail(&self, limit: usize) -> Result<Vec<Value>, AdminError> {
        self.audit
            .tail(limit)
            .map_err(|e| AdminError::internal(format!("{e:#}")))
    }
}
