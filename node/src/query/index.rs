//! The search index: every current entry and event of the store, in memory, with an
//! inverted index over their text (all languages, see [`super::text`]). Derived
//! from the store: [`SearchIndex::load`] rebuilds it, and as a
//! [`RecordObserver`](crate::ingest::RecordObserver) it follows every new record
//! (new versions replace, tombstones remove).

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use techmesh_protocol::body::{Body, Entry, Event, Kind};
use techmesh_protocol::record::{Identity, Record, RecordHash};
use techmesh_protocol::time::Timestamp;

use super::text::{self, QueryGroup};
use crate::ingest::RecordObserver;
use crate::store::{ListFilter, Store, StoreError};

/// Weights of the entry fields in term frequencies (a title word counts thrice).
const W_TITLE: f64 = 3.0;
const W_KEYWORDS: f64 = 2.0;
const W_SUMMARY: f64 = 1.5;
const W_DESCRIPTION: f64 = 1.0;

const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// Weighted term frequencies of one entry, and its weighted length.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    pub tf: HashMap<String, f64>,
    pub len: f64,
}

impl Terms {
    fn add(&mut self, lang: &str, text: &str, w: f64) {
        for t in text::tokens(lang, text) {
            *self.tf.entry(t).or_default() += w;
            self.len += w;
        }
    }

    /// The terms of every language of an entry's title, keywords, summary and description.
    pub fn of_entry(e: &Entry) -> Terms {
        let mut t = Terms::default();
        for (lang, s) in &e.title {
            t.add(lang, s, W_TITLE);
        }
        for (lang, words) in &e.keywords {
            for s in words {
                t.add(lang, s, W_KEYWORDS);
            }
        }
        for (lang, s) in &e.summary {
            t.add(lang, s, W_SUMMARY);
        }
        for (lang, s) in &e.description {
            t.add(lang, s, W_DESCRIPTION);
        }
        t
    }
}

/// One indexed entry.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: Identity,
    pub hash: RecordHash,
    pub issued_at: Timestamp,
    pub entry: Arc<Entry>,
    pub terms: Terms,
}

/// One indexed event.
#[derive(Debug, Clone)]
pub struct EventDoc {
    pub id: Identity,
    pub event: Arc<Event>,
}

#[derive(Default)]
pub struct Inner {
    docs: HashMap<u32, Doc>,
    slots: HashMap<Identity, u32>,
    next: u32,
    postings: HashMap<String, HashMap<u32, f64>>,
    total_len: f64,
    events: HashMap<Identity, EventDoc>,
}

impl Inner {
    fn remove(&mut self, id: &Identity) {
        if id.kind == Kind::Event {
            self.events.remove(id);
            return;
        }
        let Some(slot) = self.slots.remove(id) else {
            return;
        };
        if let Some(doc) = self.docs.remove(&slot) {
            self.total_len -= doc.terms.len;
            for t in doc.terms.tf.keys() {
                if let Some(p) = self.postings.get_mut(t) {
                    p.remove(&slot);
                    if p.is_empty() {
                        self.postings.remove(t);
                    }
                }
            }
        }
    }

    fn apply(&mut self, r: &Record) {
        let id = r.identity();
        match &r.body {
            Body::Entry(e) => {
                if let Some(old) = self.slots.get(&id).and_then(|s| self.docs.get(s)) {
                    if old.hash == r.hash() {
                        return;
                    }
                }
                self.remove(&id);
                let slot = self.next;
                self.next += 1;
                let terms = Terms::of_entry(e);
                for (t, f) in &terms.tf {
                    self.postings.entry(t.clone()).or_default().insert(slot, *f);
                }
                self.total_len += terms.len;
                self.slots.insert(id.clone(), slot);
                self.docs.insert(
                    slot,
                    Doc {
                        id,
                        hash: r.hash(),
                        issued_at: r.issued_at,
                        entry: Arc::new((**e).clone()),
                        terms,
                    },
                );
            }
            Body::Event(e) => {
                self.events.insert(
                    id.clone(),
                    EventDoc {
                        id,
                        event: Arc::new((**e).clone()),
                    },
                );
            }
            Body::Tombstone(_) => self.remove(&id),
            Body::MappingSet(_) => {}
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn docs(&self) -> impl Iterator<Item = &Doc> {
        self.docs.values()
    }

    pub fn get(&self, id: &Identity) -> Option<&Doc> {
        self.slots.get(id).and_then(|s| self.docs.get(s))
    }

    pub fn events(&self) -> impl Iterator<Item = &EventDoc> {
        self.events.values()
    }

    fn avg_len(&self) -> f64 {
        if self.docs.is_empty() {
            1.0
        } else {
            (self.total_len / self.docs.len() as f64).max(1.0)
        }
    }

    /// Inverse document frequency (BM25's, always positive).
    pub fn idf(&self, term: &str) -> f64 {
        let n = self.docs.len() as f64;
        let df = self.postings.get(term).map_or(0, HashMap::len) as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn bm25_term(&self, tf: f64, len: f64, idf: f64) -> f64 {
        let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len / self.avg_len());
        idf * tf * (BM25_K1 + 1.0) / (tf + norm)
    }

    /// BM25 of each document matching at least one group: `(doc, score, groups
    /// matched)`. A group scores its best alternative.
    pub fn bm25(&self, groups: &[QueryGroup]) -> HashMap<Identity, (f64, usize)> {
        let mut acc: HashMap<u32, (f64, usize)> = HashMap::new();
        for g in groups {
            // Strong terms (weight 1): the best one counts. Weak terms (a Han run's
            // single characters): only when all of them occur, then their sum.
            let mut best: HashMap<u32, f64> = HashMap::new();
            let mut weak: HashMap<u32, (f64, usize)> = HashMap::new();
            let n_weak = g.terms.iter().filter(|(_, w)| *w < 1.0).count();
            for (term, w) in &g.terms {
                let Some(post) = self.postings.get(term) else {
                    continue;
                };
                let idf = self.idf(term);
                for (slot, tf) in post {
                    let len = self.docs.get(slot).map_or(1.0, |d| d.terms.len);
                    let s = w * self.bm25_term(*tf, len, idf);
                    if *w < 1.0 {
                        let x = weak.entry(*slot).or_default();
                        x.0 += s;
                        x.1 += 1;
                    } else {
                        let b = best.entry(*slot).or_default();
                        if s > *b {
                            *b = s;
                        }
                    }
                }
            }
            for (slot, (s, n)) in weak {
                if n == n_weak {
                    let b = best.entry(slot).or_default();
                    if s > *b {
                        *b = s;
                    }
                }
            }
            for (slot, s) in best {
                let a = acc.entry(slot).or_default();
                a.0 += s;
                a.1 += 1;
            }
        }
        acc.into_iter()
            .filter_map(|(slot, v)| self.docs.get(&slot).map(|d| (d.id.clone(), v)))
            .collect()
    }

    /// BM25 of one document for a bag of query terms (each distinct term once).
    pub fn bm25_terms(&self, query: &Terms, doc: &Doc) -> f64 {
        query
            .tf
            .keys()
            .filter_map(|t| {
                doc.terms
                    .tf
                    .get(t)
                    .map(|tf| self.bm25_term(*tf, doc.terms.len, self.idf(t)))
            })
            .sum()
    }

    /// Cosine similarity of the TF-IDF vectors of two term bags, in [0, 1].
    pub fn cosine(&self, a: &Terms, b: &Terms) -> (f64, Vec<String>) {
        // Single Han characters are there for search; as evidence of similar text
        // they are noise (bigrams carry the words).
        let single_han = |t: &str| {
            let mut c = t.chars();
            matches!((c.next(), c.next()), (Some(x), None) if text::is_cjk(x))
        };
        let w = |tf: f64, t: &str| {
            if single_han(t) {
                0.0
            } else {
                (1.0 + tf.ln().max(0.0)) * self.idf(t)
            }
        };
        let na: f64 =
            a.tf.iter()
                .map(|(t, f)| w(*f, t).powi(2))
                .sum::<f64>()
                .sqrt();
        let nb: f64 =
            b.tf.iter()
                .map(|(t, f)| w(*f, t).powi(2))
                .sum::<f64>()
                .sqrt();
        if na == 0.0 || nb == 0.0 {
            return (0.0, Vec::new());
        }
        let (small, large) = if a.tf.len() <= b.tf.len() {
            (a, b)
        } else {
            (b, a)
        };
        let mut shared: Vec<(f64, &String)> = Vec::new();
        let mut dot = 0.0;
        for (t, f) in &small.tf {
            if let Some(g) = large.tf.get(t) {
                let x = w(*f, t) * w(*g, t);
                if x == 0.0 {
                    continue;
                }
                dot += x;
                shared.push((x, t));
            }
        }
        shared.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(y.1)));
        let top = shared.iter().take(8).map(|(_, t)| (*t).clone()).collect();
        ((dot / (na * nb)).clamp(0.0, 1.0), top)
    }
}

/// The node's search index (see the module docs).
#[derive(Default)]
pub struct SearchIndex {
    inner: RwLock<Inner>,
}

impl SearchIndex {
    pub fn new() -> SearchIndex {
        SearchIndex::default()
    }

    /// Build from every current entry and event of the store.
    pub fn load(store: &dyn Store) -> Result<SearchIndex, StoreError> {
        let idx = SearchIndex::new();
        {
            let mut inner = idx.inner.write().unwrap_or_else(|p| p.into_inner());
            for kind in [Kind::Entry, Kind::Event] {
                for r in store.list(&ListFilter {
                    kind: Some(kind),
                    ..Default::default()
                })? {
                    inner.apply(&r);
                }
            }
        }
        Ok(idx)
    }

    /// Take in one record (new version, tombstone, event).
    pub fn apply(&self, r: &Record) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .apply(r);
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl RecordObserver for SearchIndex {
    fn on_new(&self, r: &Record) {
        let relevant = match &r.body {
            Body::Entry(_) | Body::Event(_) => true,
            Body::Tombstone(t) => matches!(t.target_kind, Kind::Entry | Kind::Event),
            Body::MappingSet(_) => false,
        };
        if relevant {
            self.apply(r);
        }
    }

    fn on_purged(&self, ids: &[Identity]) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            inner.remove(id);
        }
    }
}
