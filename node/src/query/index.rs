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

/// Holes (slots of replaced or withdrawn entries) tolerated before the slots are
/// renumbered: at least this many, and at least as many as live entries.
const MIN_HOLES_BEFORE_COMPACTING: usize = if cfg!(test) { 8 } else { 4096 };

#[derive(Default)]
pub struct Inner {
    /// Entries by slot. Slots are handed out in increasing order and never reused
    /// until [`Inner::compact`] renumbers them, so every posting list stays sorted.
    docs: Vec<Option<Doc>>,
    live: usize,
    slots: HashMap<Identity, u32>,
    /// Term → (slot, weighted term frequency), in slot order.
    postings: HashMap<String, Vec<(u32, f64)>>,
    total_len: f64,
    events: HashMap<Identity, EventDoc>,
}

/// Per-thread scratch of [`Inner::bm25_slots`], indexed by slot; every entry it
/// touches is reset before it returns.
#[derive(Default)]
struct Scratch {
    best: Vec<f64>,
    weak: Vec<(f64, u32)>,
    acc: Vec<(f64, u32)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
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
        if let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) {
            self.live -= 1;
            self.total_len -= doc.terms.len;
            for t in doc.terms.tf.keys() {
                if let Some(p) = self.postings.get_mut(t) {
                    if let Ok(i) = p.binary_search_by_key(&slot, |(s, _)| *s) {
                        p.remove(i);
                    }
                    if p.is_empty() {
                        self.postings.remove(t);
                    }
                }
            }
        }
        let holes = self.docs.len() - self.live;
        if holes >= MIN_HOLES_BEFORE_COMPACTING && holes > self.live {
            self.compact();
        }
    }

    /// Renumber the slots without holes (order kept, so posting lists stay sorted).
    fn compact(&mut self) {
        let mut renumber = vec![u32::MAX; self.docs.len()];
        let mut docs = Vec::with_capacity(self.live);
        for (old, doc) in std::mem::take(&mut self.docs).into_iter().enumerate() {
            if let Some(doc) = doc {
                renumber[old] = docs.len() as u32;
                docs.push(Some(doc));
            }
        }
        self.docs = docs;
        for slot in self.slots.values_mut() {
            *slot = renumber[*slot as usize];
        }
        for p in self.postings.values_mut() {
            for (slot, _) in p.iter_mut() {
                *slot = renumber[*slot as usize];
            }
        }
    }

    fn doc(&self, slot: u32) -> Option<&Doc> {
        self.docs.get(slot as usize).and_then(Option::as_ref)
    }

    fn apply(&mut self, r: &Record) {
        let id = r.identity();
        match &r.body {
            Body::Entry(e) => {
                if let Some(old) = self.slots.get(&id).and_then(|s| self.doc(*s)) {
                    if old.hash == r.hash() {
                        return;
                    }
                }
                self.remove(&id);
                let slot = self.docs.len() as u32;
                let terms = Terms::of_entry(e);
                for (t, f) in &terms.tf {
                    match self.postings.get_mut(t) {
                        Some(p) => p.push((slot, *f)),
                        None => {
                            self.postings.insert(t.clone(), vec![(slot, *f)]);
                        }
                    }
                }
                self.total_len += terms.len;
                self.slots.insert(id.clone(), slot);
                self.docs.push(Some(Doc {
                    id,
                    hash: r.hash(),
                    issued_at: r.issued_at,
                    entry: Arc::new((**e).clone()),
                    terms,
                }));
                self.live += 1;
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
            Body::MappingSet(_) | Body::Membership(_) => {}
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Every indexed entry, in slot order (the order they were indexed in).
    pub fn docs(&self) -> impl Iterator<Item = &Doc> {
        self.docs.iter().flatten()
    }

    pub fn get(&self, id: &Identity) -> Option<&Doc> {
        self.slots.get(id).and_then(|s| self.doc(*s))
    }

    /// Distinct terms in the inverted index.
    pub fn term_count(&self) -> usize {
        self.postings.len()
    }

    pub fn events(&self) -> impl Iterator<Item = &EventDoc> {
        self.events.values()
    }

    fn avg_len(&self) -> f64 {
        if self.live == 0 {
            1.0
        } else {
            (self.total_len / self.live as f64).max(1.0)
        }
    }

    /// Inverse document frequency (BM25's, always positive).
    pub fn idf(&self, term: &str) -> f64 {
        self.idf_of(self.postings.get(term).map_or(0, Vec::len))
    }

    fn idf_of(&self, df: usize) -> f64 {
        let n = self.live as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn bm25_term(&self, tf: f64, len: f64, idf: f64) -> f64 {
        let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len / self.avg_len());
        idf * tf * (BM25_K1 + 1.0) / (tf + norm)
    }

    /// BM25 of each document matching at least one group: `(doc, score, groups
    /// matched)`. A group scores its best alternative.
    pub fn bm25(&self, groups: &[QueryGroup]) -> HashMap<Identity, (f64, usize)> {
        self.bm25_docs(groups)
            .into_iter()
            .map(|(d, s, n)| (d.id.clone(), (s, n)))
            .collect()
    }

    /// As [`Inner::bm25`], as a list in slot order and without copying identities
    /// (what search iterates over: only the documents the text matched).
    pub fn bm25_docs(&self, groups: &[QueryGroup]) -> Vec<(&Doc, f64, usize)> {
        let n = self.docs.len();
        let avg = self.avg_len();
        SCRATCH.with(|scratch| {
            let mut sc = scratch.borrow_mut();
            let Scratch { best, weak, acc } = &mut *sc;
            best.resize(n.max(best.len()), 0.0);
            weak.resize(n.max(weak.len()), (0.0, 0));
            acc.resize(n.max(acc.len()), (0.0, 0));
            let mut matched: Vec<u32> = Vec::new();
            let mut touched: Vec<u32> = Vec::new();
            for g in groups {
                // Strong terms (weight 1): the best one counts. Weak terms (a Han run's
                // single characters): only when all of them occur, then their sum.
                let n_weak = g.terms.iter().filter(|(_, w)| *w < 1.0).count() as u32;
                for (term, w) in &g.terms {
                    let Some(post) = self.postings.get(term) else {
                        continue;
                    };
                    let idf = self.idf_of(post.len());
                    for &(slot, tf) in post {
                        let i = slot as usize;
                        let len = self.docs[i].as_ref().map_or(1.0, |d| d.terms.len);
                        let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * len / avg);
                        let s = w * (idf * tf * (BM25_K1 + 1.0) / (tf + norm));
                        if best[i] == 0.0 && weak[i].1 == 0 {
                            touched.push(slot);
                        }
                        if *w < 1.0 {
                            weak[i].0 += s;
                            weak[i].1 += 1;
                        } else if s > best[i] {
                            best[i] = s;
                        }
                    }
                }
                for &slot in &touched {
                    let i = slot as usize;
                    let mut b = best[i];
                    if n_weak > 0 && weak[i].1 == n_weak && weak[i].0 > b {
                        b = weak[i].0;
                    }
                    let counted = best[i] > 0.0 || (n_weak > 0 && weak[i].1 == n_weak);
                    if counted {
                        if acc[i].1 == 0 {
                            matched.push(slot);
                        }
                        acc[i].0 += b;
                        acc[i].1 += 1;
                    }
                    best[i] = 0.0;
                    weak[i] = (0.0, 0);
                }
                touched.clear();
            }
            matched.sort_unstable();
            matched
                .into_iter()
                .filter_map(|slot| {
                    let i = slot as usize;
                    let (score, groups) = std::mem::take(&mut acc[i]);
                    self.doc(slot).map(|d| (d, score, groups as usize))
                })
                .collect()
        })
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
            Body::MappingSet(_) | Body::Membership(_) => false,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use techmesh_protocol::body;
    use techmesh_protocol::record::Keypair;
    use techmesh_protocol::vectors::sample_entry;

    fn entry(kp: &Keypair, seq: u64, local_id: &str, title: &str) -> Record {
        let mut v = sample_entry();
        v["local_id"] = json!(local_id);
        v["title"] = json!({"en": title});
        v["summary"] = json!({"en": "test entry"});
        if let Some(o) = v.as_object_mut() {
            o.remove("keywords");
        }
        let b = body::prepare(Kind::Entry, &v).unwrap();
        kp.sign(seq, Timestamp(1_795_000_000), b).unwrap()
    }

    fn scores(idx: &Inner, q: &str) -> Vec<(String, f64, usize)> {
        let mut out: Vec<_> = idx
            .bm25(&text::query_groups(q, None))
            .into_iter()
            .map(|(id, (s, n))| (id.local_id, s, n))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn replacing_versions_compacts_slots_and_scores_as_a_fresh_index() {
        let kp = Keypair::from_seed(&[5; 32]);
        let titles = ["solar pump", "wind blade", "solar cell", "battery pack"];
        let mut churned = Inner::default();
        let mut seq = 0;
        for round in 0..6 {
            for (i, t) in titles.iter().enumerate() {
                seq += 1;
                churned.apply(&entry(&kp, seq, &format!("e{i}"), &format!("{t} r{round}")));
            }
        }
        // 24 versions, 20 replaced: the holes were compacted away along the way.
        assert!(churned.docs.len() < 24, "{} slots", churned.docs.len());
        let mut fresh = Inner::default();
        for (i, t) in titles.iter().enumerate() {
            fresh.apply(&entry(
                &kp,
                100 + i as u64,
                &format!("e{i}"),
                &format!("{t} r5"),
            ));
        }
        assert_eq!(churned.len(), 4);
        for q in ["solar", "r5", "wind battery", "r1"] {
            assert_eq!(scores(&churned, q), scores(&fresh, q), "{q}");
        }
        assert_eq!(scores(&churned, "solar").len(), 2);
        for (i, _) in titles.iter().enumerate() {
            let id = Identity {
                publisher: kp.public(),
                kind: Kind::Entry,
                local_id: format!("e{i}"),
            };
            assert!(churned.get(&id).is_some_and(|d| d.id == id));
        }
        // Posting lists stay in slot order (what removal's binary search needs).
        assert!(churned
            .postings
            .values()
            .all(|p| p.windows(2).all(|w| w[0].0 < w[1].0)));
    }

    #[test]
    fn han_characters_count_only_when_all_occur() {
        let kp = Keypair::from_seed(&[6; 32]);
        let mut idx = Inner::default();
        idx.apply(&entry(&kp, 1, "a", "锂离子电池"));
        idx.apply(&entry(&kp, 2, "b", "电动汽车"));
        // "池电" is no bigram of either; its characters all occur only in "a".
        let hits = scores(&idx, "池电");
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].0, "a");
    }
}
