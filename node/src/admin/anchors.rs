//! Federation anchors on a running node. The trust list in force is the effective
//! one: the local list of `trust.toml` merged with the membership records that the
//! anchors it names have published (`TrustList::with_anchor_lists`, pure, in the
//! protocol crate). It is recomputed
//! - at start (`techmesh run`, from the records already stored),
//! - on every reload or admin change (`Admin::apply`),
//! - whenever a membership record of one of those anchors is stored or withdrawn
//!   ([`AnchorWatch`] wakes [`super::Admin::refresh_anchors`]),
//!
//! and applied through the same path as a reload (`Node::set_trust`, connections
//! re-gated at once).

use std::sync::{Arc, RwLock};

use serde_json::{json, Value};
use tokio::sync::Notify;

use techmesh_protocol::body::{Body, Kind};
use techmesh_protocol::record::Record;
use techmesh_protocol::trust::anchors::AnchorList;
use techmesh_protocol::trust::TrustList;

use crate::ingest::RecordObserver;
use crate::store::{ListFilter, Store, StoreError};

/// The stored, current (not withdrawn) membership records of `local`'s anchors.
pub fn anchor_records(local: &TrustList, store: &dyn Store) -> Result<Vec<Record>, StoreError> {
    let mut out = Vec::new();
    for a in &local.anchors {
        out.extend(store.list(&ListFilter {
            kind: Some(Kind::Membership),
            publisher: Some(a.publisher_key),
            include_tombstones: false,
            limit: None,
        })?);
    }
    Ok(out)
}

/// The effective trust list of `local` given what `store` holds.
pub fn effective(local: &TrustList, store: &dyn Store) -> Result<TrustList, StoreError> {
    let records = anchor_records(local, store)?;
    let lists: Vec<AnchorList<'_>> = records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Membership(m) => Some(AnchorList {
                publisher: r.publisher,
                seq: r.seq,
                list: m,
            }),
            _ => None,
        })
        .collect();
    Ok(local.with_anchor_lists(&lists))
}

/// The anchors of `list` and the lists this node holds from each, as JSON.
pub fn anchors_json(list: &TrustList, records: &[Record]) -> Value {
    let anchors: Vec<Value> = list
        .anchors
        .iter()
        .map(|a| {
            let lists: Vec<Value> = records
                .iter()
                .filter(|r| r.publisher == a.publisher_key)
                .filter_map(|r| match &r.body {
                    Body::Membership(m) => Some(json!({
                        "local_id": m.local_id,
                        "federation": m.federation,
                        "seq": r.seq,
                        "issued_at": r.issued_at.to_string(),
                        "members": m.members.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
                    })),
                    _ => None,
                })
                .collect();
            json!({
                "name": a.name,
                "publisher_key": a.publisher_key.to_hex(),
                "max_roles": a.max_roles.names(),
                "max_publish_mappings": a.max_roles.publish_mappings.iter()
                    .map(|(x, y)| format!("{}->{}", x.as_str(), y.as_str())).collect::<Vec<_>>(),
                "max_receive_scopes": a.max_receive_scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "denied": list.deny_of_key(&a.publisher_key).map(|(i, d)| d.describe(i)),
                "lists": lists,
            })
        })
        .collect();
    json!({
        "anchors": anchors,
        "denies": list.denies.iter().enumerate().map(|(i, d)| json!({
            "rule": format!("deny[{i}]"),
            "name": d.name,
            "publisher_key": d.publisher_key.map(|k| k.to_hex()),
            "peer_id": d.peer_id,
            "reason": d.reason,
        })).collect::<Vec<_>>(),
        "refused": list.refused.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
    })
}

/// Wakes the refresh task when a membership record (or its withdrawal) of one of
/// the running list's anchors is stored.
pub struct AnchorWatch {
    pub trust: Arc<RwLock<TrustList>>,
    pub changed: Arc<Notify>,
}

impl RecordObserver for AnchorWatch {
    fn on_new(&self, r: &Record) {
        if r.body.slot().0 != Kind::Membership {
            return;
        }
        let ours = self
            .trust
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .anchor_by_key(&r.publisher)
            .is_some();
        if ours {
            // A stored permit: a change while the task is busy is never lost.
            self.changed.notify_one();
        }
    }
}
