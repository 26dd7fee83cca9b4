//! Local publishing: assign the next seq, sign, and store through the one ingest
//! path (so our own records pass the same checks as anyone's).

use std::sync::Mutex;

use anyhow::Result;

use techmesh_protocol::body::{Body, Kind, Tombstone};
use techmesh_protocol::record::{Identity, Keypair, Record};

use crate::ingest::{now, Ingest};
use crate::store::ApplyOutcome;

/// A request that cannot be carried out as asked (HTTP 400): not the node's fault.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RequestError(pub String);

pub struct Publisher {
    keypair: Keypair,
    ingest: Ingest,
    /// Serialises seq assignment within this process (the store lock excludes others).
    seq_lock: Mutex<()>,
}

impl Publisher {
    pub fn new(keypair: Keypair, ingest: Ingest) -> Publisher {
        Publisher {
            keypair,
            ingest,
            seq_lock: Mutex::new(()),
        }
    }

    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// Sign `bodies` with consecutive seqs after the highest we ever used, store them
    /// atomically, and return them. `on_signed` is called after each signature (for
    /// progress bars).
    pub fn publish(
        &self,
        bodies: Vec<Body>,
        on_signed: &dyn Fn(),
    ) -> Result<Vec<(Record, ApplyOutcome)>> {
        self.publish_after(bodies, 0, on_signed)
    }

    /// As [`Publisher::publish`], with seqs above `min_seq` too (the highest seq of
    /// ours a peer reported: the no-self-fork guard).
    pub fn publish_after(
        &self,
        bodies: Vec<Body>,
        min_seq: u64,
        on_signed: &dyn Fn(),
    ) -> Result<Vec<(Record, ApplyOutcome)>> {
        let _g = self.seq_lock.lock().unwrap_or_else(|p| p.into_inner());
        let me = self.keypair.public();
        let first = self.ingest.store.watermark(&me)?.unwrap_or(0).max(min_seq) + 1;
        let at = now();
        for body in &bodies {
            self.check_scope_change(body)?;
        }
        let mut records = Vec::with_capacity(bodies.len());
        for (i, body) in bodies.into_iter().enumerate() {
            records.push(Ok(self.keypair.sign(first + i as u64, at, body)?));
            on_signed();
        }
        let results = self.ingest.store_checked(records);
        results
            .into_iter()
            .map(|r| r.map_err(anyhow::Error::from))
            .collect()
    }

    /// A new version may widen who receives a record (`national` → anything) but not
    /// change it otherwise: members that received the old version could not receive
    /// the new one, and would keep the old one forever.
    fn check_scope_change(&self, body: &Body) -> Result<()> {
        let (kind, local_id) = body.slot();
        if kind == Kind::Tombstone || body.kind() == Kind::Tombstone {
            return Ok(());
        }
        let id = Identity {
            publisher: self.keypair.public(),
            kind,
            local_id: local_id.to_string(),
        };
        let Some(old) = self.ingest.store.get(&id)? else {
            return Ok(());
        };
        if old.is_tombstone() {
            return Ok(());
        }
        let (from, to) = (old.body.scope(), body.scope());
        if from != to && from != techmesh_protocol::body::Scope::National {
            return Err(RequestError(format!(
                "{id}: scope cannot change from {} to {}: members that received it could not receive the new version. \
                 Withdraw it and publish under a new local_id instead",
                from.as_str(),
                to.as_str()
            ))
            .into());
        }
        Ok(())
    }

    /// Withdraw one of our records (errors of the request are [`RequestError`]s).
    pub fn withdraw(
        &self,
        id: &Identity,
        reason: Option<String>,
    ) -> Result<(Record, ApplyOutcome)> {
        let refuse = |m: String| -> anyhow::Error { RequestError(m).into() };
        if id.publisher != self.keypair.public() {
            return Err(refuse(format!(
                "{id} belongs to another publisher: only its publisher can withdraw it"
            )));
        }
        match self.ingest.store.get(id)? {
            None => return Err(refuse(format!("no record {id} in this store"))),
            Some(r) if r.is_tombstone() => {
                return Err(refuse(format!("{id} is already withdrawn")))
            }
            Some(_) => {}
        }
        if id.kind == Kind::Tombstone {
            return Err(refuse("a tombstone cannot be withdrawn".into()));
        }
        let body = Body::Tombstone(Tombstone {
            target_kind: id.kind,
            local_id: id.local_id.clone(),
            reason,
        });
        let mut out = self.publish(vec![body], &|| {})?;
        out.pop()
            .ok_or_else(|| anyhow::anyhow!("withdrawal produced no record"))
    }
}
