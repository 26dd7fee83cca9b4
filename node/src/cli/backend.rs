//! Where CLI commands act: directly on the store when no node runs on the data dir,
//! or through the running node's local API when one does (see `cli/mod.rs`).

use std::sync::{Arc, RwLock};

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use techmesh_protocol::body::Body;
use techmesh_protocol::record::{Identity, PublicKey, Record};

use crate::datadir::DataDir;
use crate::ingest::Ingest;
use crate::publish::Publisher;
use crate::store::{ListFilter, SledStore, Store, StoreError};

/// Result of storing one record, as printed by the CLI and returned by the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub id: String,
    pub hash: String,
    pub seq: u64,
    /// inserted | replaced | duplicate | stale | refused | invalid
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Stored {
    /// A record that did not get in: `refused` (policy) or `invalid`, with the reason.
    pub fn not_stored(e: &crate::ingest::IngestError) -> Stored {
        let status = if matches!(e, crate::ingest::IngestError::Refused(_)) {
            "refused"
        } else {
            "invalid"
        };
        Stored {
            id: String::new(),
            hash: String::new(),
            seq: 0,
            status: status.into(),
            error: Some(e.to_string()),
        }
    }

    pub fn of(r: &Record, applied: &crate::store::Applied) -> Stored {
        use crate::store::Applied::*;
        let status = match applied {
            Inserted => "inserted",
            Replaced { .. } => "replaced",
            Duplicate => "duplicate",
            Stale { .. } => "stale",
        };
        Stored {
            id: r.identity().to_string(),
            hash: r.hash().to_hex(),
            seq: r.seq,
            status: status.into(),
            error: None,
        }
    }
}

pub trait Backend {
    fn own_key(&self) -> PublicKey;
    /// Sign and store validated bodies (consecutive seqs, one atomic apply).
    fn publish(&self, bodies: Vec<Body>, on_signed: &dyn Fn()) -> Result<Vec<Stored>>;
    /// Verify, check policy and store signed records.
    fn ingest(&self, records: Vec<Vec<u8>>) -> Result<Vec<Stored>>;
    fn get(&self, id: &Identity) -> Result<Option<Record>>;
    fn get_by_hash(&self, hash: &techmesh_protocol::RecordHash) -> Result<Option<Record>>;
    fn list(&self, filter: &ListFilter) -> Result<Vec<Record>>;
    fn withdraw(&self, id: &Identity, reason: Option<String>) -> Result<Stored>;
    /// Translation results as `GET /v1/translate` returns them.
    fn translate(
        &self,
        scheme: &str,
        code: &str,
        to: &str,
        depth: usize,
    ) -> Result<serde_json::Value>;
    /// Mapping sets and conflicts as `GET /v1/mappings` returns them.
    fn mappings(&self) -> Result<serde_json::Value>;
    /// Search results as `GET /v1/search` returns them.
    fn search(&self, p: &crate::query::SearchParams) -> Result<serde_json::Value>;
    /// Ranked matches as `POST /v1/match` returns them.
    fn match_entries(&self, req: &crate::query::MatchRequest) -> Result<serde_json::Value>;
    /// An event's agenda as `GET /v1/events/{id}/agenda` returns it.
    fn agenda(
        &self,
        event: &str,
        p: &crate::query::agenda::AgendaParams,
    ) -> Result<serde_json::Value>;
}

/// Direct access: this process holds the store lock.
pub struct LocalBackend {
    publisher: Publisher,
}

impl LocalBackend {
    fn mappings_index(&self) -> Result<crate::mappings::Mappings> {
        let ingest = self.publisher.ingest();
        let trust = ingest
            .trust
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(crate::mappings::Mappings::load(
            &*ingest.store,
            &trust,
            self.own_key(),
        )?)
    }

    pub fn open(dir: &DataDir) -> Result<LocalBackend, anyhow::Error> {
        let cfg = dir.config()?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(
            &dir.store_dir(),
            *cfg.store.cache_mb.get_ref(),
        )?);
        let ingest = Ingest::new(
            store,
            Arc::new(RwLock::new(dir.trust()?)),
            dir.local_node()?,
            cfg.records.max_future_skew_secs,
        );
        Ok(LocalBackend {
            publisher: Publisher::new(dir.keypair()?, ingest),
        })
    }

    fn store(&self) -> &dyn Store {
        &*self.publisher.ingest().store
    }
}

impl Backend for LocalBackend {
    fn own_key(&self) -> PublicKey {
        self.publisher.keypair().public()
    }

    fn publish(&self, bodies: Vec<Body>, on_signed: &dyn Fn()) -> Result<Vec<Stored>> {
        Ok(self
            .publisher
            .publish(bodies, on_signed)?
            .iter()
            .map(|(r, o)| Stored::of(r, &o.applied))
            .collect())
    }

    fn ingest(&self, records: Vec<Vec<u8>>) -> Result<Vec<Stored>> {
        let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
        Ok(self
            .publisher
            .ingest()
            .ingest_bytes(&refs)
            .into_iter()
            .map(|r| match r {
                Ok((rec, o)) => Stored::of(&rec, &o.applied),
                Err(e) => Stored::not_stored(&e),
            })
            .collect())
    }

    fn get(&self, id: &Identity) -> Result<Option<Record>> {
        Ok(self.store().get(id)?)
    }

    fn get_by_hash(&self, hash: &techmesh_protocol::RecordHash) -> Result<Option<Record>> {
        Ok(self.store().get_by_hash(hash)?)
    }

    fn list(&self, filter: &ListFilter) -> Result<Vec<Record>> {
        Ok(self.store().list(filter)?)
    }

    fn withdraw(&self, id: &Identity, reason: Option<String>) -> Result<Stored> {
        let (r, o) = self.publisher.withdraw(id, reason)?;
        Ok(Stored::of(&r, &o.applied))
    }

    fn translate(
        &self,
        scheme: &str,
        code: &str,
        to: &str,
        depth: usize,
    ) -> Result<serde_json::Value> {
        let (s, c) = crate::api::parse_code(scheme, code).map_err(|e| anyhow!(e))?;
        let t = techmesh_protocol::codes::Scheme::parse(to)
            .ok_or_else(|| anyhow!("--to: {to:?} is not a known classification scheme"))?;
        let opts = techmesh_protocol::translate::TranslateOptions {
            max_depth: depth,
            ..Default::default()
        };
        let results = self.mappings_index()?.translate(s, &c, t, &opts);
        Ok(crate::mappings::translations_json((s, &c), t, &results))
    }

    fn mappings(&self) -> Result<serde_json::Value> {
        Ok(self.mappings_index()?.status_json())
    }

    fn search(&self, p: &crate::query::SearchParams) -> Result<serde_json::Value> {
        let idx = crate::query::SearchIndex::load(self.store())?;
        let v = crate::query::search(&idx.read(), &self.mappings_index()?, p);
        v.map_err(|e| anyhow!(e))
    }

    fn match_entries(&self, req: &crate::query::MatchRequest) -> Result<serde_json::Value> {
        let idx = crate::query::SearchIndex::load(self.store())?;
        let v = crate::query::run_match(&idx.read(), &self.mappings_index()?, req);
        v.map_err(|e| anyhow!(e))
    }

    fn agenda(
        &self,
        event: &str,
        p: &crate::query::agenda::AgendaParams,
    ) -> Result<serde_json::Value> {
        let idx = crate::query::SearchIndex::load(self.store())?;
        let v = crate::query::agenda::agenda(&idx.read(), &self.mappings_index()?, event, p);
        v.map_err(|e| anyhow!(e))
    }
}

/// Open the store directly, or fall back to the running node's API.
pub fn open(dir: &DataDir) -> Result<Box<dyn Backend>> {
    match LocalBackend::open(dir) {
        Ok(b) => Ok(Box::new(b)),
        Err(e) => match e.downcast_ref::<StoreError>() {
            Some(StoreError::Locked { .. }) => {
                let api: Box<dyn Backend> = Box::new(crate::api::client::ApiBackend::connect(dir)?);
                Ok(api)
            }
            _ => Err(anyhow!(e)),
        },
    }
}
