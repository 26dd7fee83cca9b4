//! The node's view of standard mappings (互信互认): every stored mapping set, indexed
//! for translation, used only where the trust list recognises its publisher for its
//! scheme pair. Fed incrementally by the ingest path; rebuilt from the store at start.

use std::collections::BTreeSet;
use std::sync::RwLock;

use serde_json::{json, Value};

use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::{PublicKey, Record};
use techmesh_protocol::translate::{Recognition, TranslateOptions, Translation, Translator};
use techmesh_protocol::trust::TrustList;
use techmesh_protocol::Kind;

use crate::ingest::RecordObserver;
use crate::store::{ListFilter, Store, StoreError};

pub struct Mappings {
    own: PublicKey,
    translator: RwLock<Translator>,
}

/// The trust list's authorities, then this node itself (its administrators'
/// own sets, for any pair, with the lowest priority).
fn recognition(trust: &TrustList, own: PublicKey) -> Recognition {
    let mut r = Recognition::from_trust_list(trust);
    let all: BTreeSet<(Scheme, Scheme)> = Scheme::ALL
        .iter()
        .flat_map(|a| Scheme::ALL.iter().map(move |b| (*a, *b)))
        .filter(|(a, b)| a != b)
        .collect();
    r.push("this node", vec![own], all);
    r
}

impl Mappings {
    pub fn load(
        store: &dyn Store,
        trust: &TrustList,
        own: PublicKey,
    ) -> Result<Mappings, StoreError> {
        let mut t = Translator::new(recognition(trust, own));
        for r in store.list(&ListFilter {
            kind: Some(Kind::MappingSet),
            ..Default::default()
        })? {
            if let Err(e) = t.apply_record(&r) {
                tracing::warn!(id = %r.identity(), "mapping set not indexed: {e}");
            }
        }
        Ok(Mappings {
            own,
            translator: RwLock::new(t),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Translator> {
        self.translator.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The trust list changed: recognition changes, the index is rebuilt.
    pub fn trust_changed(&self, trust: &TrustList) {
        let mut t = self.translator.write().unwrap_or_else(|p| p.into_inner());
        t.set_recognition(recognition(trust, self.own));
    }

    pub fn translate(
        &self,
        scheme: Scheme,
        code: &str,
        to: Scheme,
        opts: &TranslateOptions,
    ) -> Vec<Translation> {
        self.read().translate(scheme, code, to, opts)
    }

    /// Recognised and unrecognised sets, and conflicts between authorities.
    pub fn status_json(&self) -> Value {
        let t = self.read();
        let sets: Vec<Value> = t.sets().iter().map(|s| s.to_json()).collect();
        let (recognised, unrecognised): (Vec<Value>, Vec<Value>) =
            sets.into_iter().partition(|s| s["recognised"] == true);
        json!({
            "recognised": recognised,
            "unrecognised": unrecognised,
            "conflicts": t.conflicts().iter().map(|c| c.to_json()).collect::<Vec<_>>(),
        })
    }
}

impl RecordObserver for Mappings {
    fn on_new(&self, r: &Record) {
        let relevant = r.kind() == Kind::MappingSet
            || (r.is_tombstone() && r.identity().kind == Kind::MappingSet);
        if relevant {
            let mut t = self.translator.write().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = t.apply_record(r) {
                tracing::warn!(id = %r.identity(), "mapping set not indexed: {e}");
            }
        }
    }

    fn on_purged(&self, ids: &[techmesh_protocol::record::Identity]) {
        let mut t = self.translator.write().unwrap_or_else(|p| p.into_inner());
        for id in ids.iter().filter(|id| id.kind == Kind::MappingSet) {
            t.remove_set(id);
        }
    }
}

/// JSON of translation results, as the API and CLI show them.
pub fn translations_json(from: (Scheme, &str), to: Scheme, results: &[Translation]) -> Value {
    json!({
        "from": {"scheme": from.0.as_str(), "code": from.1},
        "to": to.as_str(),
        "results": results.iter().map(|t| t.to_json()).collect::<Vec<_>>(),
    })
}
