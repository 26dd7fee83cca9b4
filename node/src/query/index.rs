//! The search index: every current entry and event of the store, in memory, with an
//! inverted index over their text (all languages, see [`super::text`]) and posting
//! lists for every filter ([`super::postings`]). Derived from the store:
//! [`SearchIndex::load`] rebuilds it, and as a
//! [`RecordObserver`](crate::ingest::RecordObserver) it follows every new record
//! (new versions replace, tombstones remove).
//!
//! Layout: entries live in slots (`u32`); terms are interned (a dictionary of term
//! ids) and each term's postings are `(slot, weighted tf)` pairs; a document keeps
//! only its sorted `(term id, tf)` list (to score it against another and to remove
//! it). Classification codes are interned too (code ids). The fields a search reads
//! for every candidate (liveness, issue time, validity, text length) sit in one
//! compact array ([`Hot`]) beside the documents, with what breaks ties by id (a
//! publisher id, the local id's first bytes). Every live slot is also kept in
//! issue-time order (`by_time`), and what a search derives from all slots (the live
//! and valid set of a day, BM25 length norms) is cached per index generation.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use techmesh_protocol::body::{Body, Entry, Event, Kind};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::{Identity, PublicKey, Record, RecordHash};
use techmesh_protocol::time::{Date, Timestamp};

use super::postings::{self, Key, SlotSet};
use super::text;
use crate::ingest::RecordObserver;
use crate::store::{ListFilter, Store, StoreError};

/// Weights of the entry fields in term frequencies (a title word counts thrice).
const W_TITLE: f64 = 3.0;
const W_KEYWORDS: f64 = 2.0;
const W_SUMMARY: f64 = 1.5;
const W_DESCRIPTION: f64 = 1.0;

/// The weighted term frequencies of an entry's title, keywords, summary and
/// description in every language, and its weighted length. (Sums of the weights
/// above: exact in `f32` for any text an entry may hold.)
pub(super) fn term_bag(e: &Entry) -> (HashMap<String, f64>, f64) {
    let mut tf: HashMap<String, f64> = HashMap::new();
    let mut len = 0.0;
    let mut add = |lang: &str, s: &str, w: f64| {
        for t in text::tokens(lang, s) {
            *tf.entry(t).or_default() += w;
            len += w;
        }
    };
    for (lang, s) in &e.title {
        add(lang, s, W_TITLE);
    }
    for (lang, words) in &e.keywords {
        for s in words {
            add(lang, s, W_KEYWORDS);
        }
    }
    for (lang, s) in &e.summary {
        add(lang, s, W_SUMMARY);
    }
    for (lang, s) in &e.description {
        add(lang, s, W_DESCRIPTION);
    }
    (tf, len)
}

/// The weighted term frequencies of one entry, by term id of one index.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    /// `(term id, weighted tf)`, by id.
    pub(super) ids: Box<[(u32, f32)]>,
    /// Terms the index has no id for (only in an entry that is not indexed), by term.
    pub(super) other: Box<[(Box<str>, f32)]>,
    /// Weighted length.
    pub len: f64,
}

impl Terms {
    /// Distinct terms.
    pub fn count(&self) -> usize {
        self.ids.len() + self.other.len()
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
    /// Code id of each classification, in order (`u32::MAX`: unknown scheme).
    pub(super) codes: Box<[u32]>,
}

/// One indexed event.
#[derive(Debug, Clone)]
pub struct EventDoc {
    pub id: Identity,
    pub event: Arc<Event>,
}

/// What a search reads of every candidate, per slot.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hot {
    pub issued_at: i64,
    /// Valid from/until (days); an unparsable validity is from MAX until MIN.
    pub from: i64,
    pub until: i64,
    /// Weighted text length (0 for an empty slot).
    pub len: f32,
    pub live: bool,
    /// The publisher (an id of the index's publisher table) and the first 8 bytes of
    /// the local id (big-endian, zero-padded): ties are broken by entry id, and
    /// these decide most comparisons without reading the document.
    pub publisher: u32,
    pub local8: u64,
}

impl Hot {
    pub fn valid_on(&self, day: Date) -> bool {
        self.from <= day.0 && day.0 <= self.until
    }
}

/// A classification code the index has seen (ids are never reused).
#[derive(Debug, Clone)]
pub(super) struct CodeInfo {
    pub scheme: Scheme,
    pub code: Box<str>,
    /// Live classifications with this code.
    pub uses: usize,
}

/// Holes (slots of replaced or withdrawn entries) tolerated before the slots are
/// renumbered: at least this many, and at least as many as live entries.
const MIN_HOLES_BEFORE_COMPACTING: usize = if cfg!(test) { 8 } else { 4096 };

#[derive(Default)]
pub struct Inner {
    /// Entries by slot. Slots are handed out in increasing order and never reused
    /// until [`Inner::compact`] renumbers them, so every posting list stays sorted.
    pub(super) docs: Vec<Option<Doc>>,
    pub(super) hot: Vec<Hot>,
    pub(super) live: usize,
    slots: HashMap<Identity, u32>,
    /// Term → term id, and back.
    pub(super) dict: HashMap<Box<str>, u32>,
    pub(super) words: Vec<Box<str>>,
    /// Term id → (slot, weighted term frequency), in slot order.
    pub(super) postings: Vec<Vec<(u32, f32)>>,
    /// Terms with a non-empty posting list.
    live_terms: usize,
    pub(super) total_len: f64,
    /// Filter key → slots, in slot order.
    pub(super) filters: HashMap<Key, Vec<u32>>,
    /// (scheme, code) → code id, and back.
    code_ids: HashMap<(Scheme, Box<str>), u32>,
    pub(super) codes: Vec<CodeInfo>,
    events: HashMap<Identity, EventDoc>,
    /// Publishers of entries (ids are never reused), and back.
    publishers: Vec<PublicKey>,
    publisher_ids: HashMap<PublicKey, u32>,
    /// Every live slot by `(issued_at, slot)`: `newest` walks it from the end and
    /// stops after the page, instead of ordering every hit.
    pub(super) by_time: BTreeSet<(i64, u32)>,
    /// Changes with every change of the entries (a new value after each apply or
    /// removal), so what is derived from them can be cached.
    generation: u64,
    /// The live (and valid on a day) slots of one generation: see [`Inner::base_set`].
    base_cache: Mutex<Vec<BaseSet>>,
    /// Each slot's BM25 length norm, of one generation: see [`Inner::norms`].
    norm_cache: Mutex<Option<(u64, Arc<Vec<f64>>)>>,
}

/// A cached base set: the live slots, and when `day` is set, only those valid then.
struct BaseSet {
    generation: u64,
    day: Option<i64>,
    set: Arc<SlotSet>,
}

/// Base sets kept at once (a day's valid set, the live set, and a day or two more).
const BASE_SETS_KEPT: usize = 4;

impl Inner {
    fn remove(&mut self, id: &Identity) {
        if id.kind == Kind::Event {
            self.events.remove(id);
            return;
        }
        let Some(slot) = self.slots.remove(id) else {
            return;
        };
        self.generation += 1;
        if let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) {
            self.live -= 1;
            self.hot[slot as usize].live = false;
            self.by_time
                .remove(&(self.hot[slot as usize].issued_at, slot));
            self.total_len -= doc.terms.len;
            for &(t, _) in doc.terms.ids.iter() {
                let p = &mut self.postings[t as usize];
                if let Ok(i) = p.binary_search_by_key(&slot, |(s, _)| *s) {
                    p.remove(i);
                    if p.is_empty() {
                        self.live_terms -= 1;
                    }
                }
            }
            let ids: Vec<Option<u32>> = doc.codes.iter().map(|c| code_opt(*c)).collect();
            for key in postings::keys_of(&doc.entry, &ids) {
                if let Some(list) = self.filters.get_mut(&key) {
                    postings::remove_sorted(list, slot);
                    if list.is_empty() {
                        self.filters.remove(&key);
                    }
                }
            }
            for c in doc.codes.iter().filter_map(|c| code_opt(*c)) {
                self.codes[c as usize].uses -= 1;
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
        let mut hot = Vec::with_capacity(self.live);
        for (old, doc) in std::mem::take(&mut self.docs).into_iter().enumerate() {
            if let Some(doc) = doc {
                renumber[old] = docs.len() as u32;
                docs.push(Some(doc));
                hot.push(self.hot[old]);
            }
        }
        self.docs = docs;
        self.hot = hot;
        self.by_time = std::mem::take(&mut self.by_time)
            .into_iter()
            .map(|(t, slot)| (t, renumber[slot as usize]))
            .collect();
        for slot in self.slots.values_mut() {
            *slot = renumber[*slot as usize];
        }
        for p in &mut self.postings {
            for (slot, _) in p.iter_mut() {
                *slot = renumber[*slot as usize];
            }
        }
        for list in self.filters.values_mut() {
            for slot in list.iter_mut() {
                *slot = renumber[*slot as usize];
            }
        }
    }

    fn doc(&self, slot: u32) -> Option<&Doc> {
        self.docs.get(slot as usize).and_then(Option::as_ref)
    }

    /// The id of a term, a new one if it has none.
    fn term_id(&mut self, t: String) -> u32 {
        if let Some(id) = self.dict.get(t.as_str()) {
            return *id;
        }
        let id = self.words.len() as u32;
        let t: Box<str> = t.into();
        self.words.push(t.clone());
        self.dict.insert(t, id);
        self.postings.push(Vec::new());
        id
    }

    fn publisher_id(&mut self, key: &PublicKey) -> u32 {
        if let Some(id) = self.publisher_ids.get(key) {
            return *id;
        }
        let id = self.publishers.len() as u32;
        self.publishers.push(*key);
        self.publisher_ids.insert(*key, id);
        id
    }

    /// The order of two indexed entries' ids (`Identity`'s order: publisher, then
    /// local id — all are entries), mostly from [`Hot`] alone.
    pub(super) fn id_cmp(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let (x, y) = (&self.hot[a as usize], &self.hot[b as usize]);
        let first = if x.publisher == y.publisher {
            x.local8.cmp(&y.local8)
        } else {
            self.publishers[x.publisher as usize].cmp(&self.publishers[y.publisher as usize])
        };
        first.then_with(|| {
            let id = |slot: u32| self.doc(slot).map(|d| &d.id);
            id(a).cmp(&id(b))
        })
    }

    fn code_id(&mut self, scheme: Scheme, code: &str) -> u32 {
        if let Some(id) = self.code_ids.get(&(scheme, code.into())) {
            return *id;
        }
        let id = self.codes.len() as u32;
        self.codes.push(CodeInfo {
            scheme,
            code: code.into(),
            uses: 0,
        });
        self.code_ids.insert((scheme, code.into()), id);
        id
    }

    /// The terms of an entry in this index's term ids (terms it does not know are
    /// kept by name).
    pub fn terms_of(&self, e: &Entry) -> Terms {
        let (tf, len) = term_bag(e);
        let mut ids = Vec::new();
        let mut other = Vec::new();
        for (t, f) in tf {
            match self.dict.get(t.as_str()) {
                Some(id) => ids.push((*id, f as f32)),
                None => other.push((Box::<str>::from(t), f as f32)),
            }
        }
        ids.sort_unstable_by_key(|(id, _)| *id);
        other.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Terms {
            ids: ids.into(),
            other: other.into(),
            len,
        }
    }

    pub(super) fn apply(&mut self, r: &Record) {
        let id = r.identity();
        match &r.body {
            Body::Entry(e) => {
                if let Some(old) = self.slots.get(&id).and_then(|s| self.doc(*s)) {
                    if old.hash == r.hash() {
                        return;
                    }
                }
                self.remove(&id);
                self.generation += 1;
                let slot = self.docs.len() as u32;
                self.by_time.insert((r.issued_at.0, slot));
                let (tf, len) = term_bag(e);
                let mut ids: Vec<(u32, f32)> = tf
                    .into_iter()
                    .map(|(t, f)| (self.term_id(t), f as f32))
                    .collect();
                ids.sort_unstable_by_key(|(t, _)| *t);
                for &(t, f) in &ids {
                    let p = &mut self.postings[t as usize];
                    if p.is_empty() {
                        self.live_terms += 1;
                    }
                    p.push((slot, f));
                }
                self.total_len += len;
                let code_ids: Vec<Option<u32>> = e
                    .classifications
                    .iter()
                    .map(|c| Scheme::parse(&c.scheme).map(|s| self.code_id(s, &c.code)))
                    .collect();
                for c in code_ids.iter().flatten() {
                    self.codes[*c as usize].uses += 1;
                }
                for key in postings::keys_of(e, &code_ids) {
                    postings::insert_sorted(self.filters.entry(key).or_default(), slot);
                }
                let valid = Date::parse(&e.valid_from).zip(Date::parse(&e.valid_until));
                let publisher = self.publisher_id(&id.publisher);
                self.hot.push(Hot {
                    issued_at: r.issued_at.0,
                    from: valid.map_or(i64::MAX, |v| v.0 .0),
                    until: valid.map_or(i64::MIN, |v| v.1 .0),
                    len: len as f32,
                    live: true,
                    publisher,
                    local8: local8(&id.local_id),
                });
                self.slots.insert(id.clone(), slot);
                self.docs.push(Some(Doc {
                    id,
                    hash: r.hash(),
                    issued_at: r.issued_at,
                    entry: Arc::new((**e).clone()),
                    terms: Terms {
                        ids: ids.into(),
                        other: Box::default(),
                        len,
                    },
                    codes: code_ids.iter().map(|c| c.unwrap_or(u32::MAX)).collect(),
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

    /// The entry in `slot` (a slot a posting list or a search named).
    pub(super) fn slot_doc(&self, slot: u32) -> Option<&Doc> {
        self.doc(slot)
    }

    /// Distinct terms in the inverted index.
    pub fn term_count(&self) -> usize {
        self.live_terms
    }

    pub fn events(&self) -> impl Iterator<Item = &EventDoc> {
        self.events.values()
    }

    /// The slots listed under `key` (sorted).
    pub(super) fn posting(&self, key: &Key) -> &[u32] {
        self.filters.get(key).map_or(&[], Vec::as_slice)
    }

    /// The live slots, or with `day` only those valid on it: cached per generation
    /// of the index and day, so most searches take it without a pass over the slots.
    pub(super) fn base_set(&self, day: Option<Date>) -> Arc<SlotSet> {
        let day = day.map(|d| d.0);
        let mut cache = self.base_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|b| b.generation == self.generation);
        if let Some(b) = cache.iter().find(|b| b.day == day) {
            return b.set.clone();
        }
        let mut set = SlotSet::new(self.hot.len());
        for (slot, h) in self.hot.iter().enumerate() {
            if h.live && day.is_none_or(|d| h.valid_on(Date(d))) {
                set.insert(slot as u32);
            }
        }
        let set = Arc::new(set);
        if cache.len() >= BASE_SETS_KEPT {
            cache.remove(0);
        }
        cache.push(BaseSet {
            generation: self.generation,
            day,
            set: set.clone(),
        });
        set
    }

    /// Each slot's BM25 length normalisation `k1 · (1 − b + b · len ÷ avg len)`,
    /// cached per generation (it changes with the average length).
    pub(super) fn norms(&self) -> Arc<Vec<f64>> {
        let mut cache = self.norm_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, norms)) = &*cache {
            if *generation == self.generation {
                return norms.clone();
            }
        }
        let norms: Arc<Vec<f64>> = Arc::new(
            self.hot
                .iter()
                .map(|h| self.bm25_norm(f64::from(h.len)))
                .collect(),
        );
        *cache = Some((self.generation, norms.clone()));
        norms
    }

    /// Every filter key that has entries.
    pub(super) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.filters.keys()
    }
}

/// The first 8 bytes of a local id as a big-endian number, zero-padded: when two
/// differ, they order as the ids do (when equal, the ids must be compared).
fn local8(local_id: &str) -> u64 {
    let mut b = [0u8; 8];
    let n = local_id.len().min(8);
    b[..n].copy_from_slice(&local_id.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

fn code_opt(c: u32) -> Option<u32> {
    (c != u32::MAX).then_some(c)
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
#[path = "index_tests.rs"]
pub(super) mod tests;
