//! The filter side of the search index: posting lists of slots (sorted `u32`s) under
//! a [`Key`] per filterable property of an entry (type, organisation country, target
//! countries, scope, events, transfer modes, maturity, and every classification code
//! with its hierarchy ancestors), sets of slots as bits ([`SlotSet`]) to combine them,
//! and the bounded selection of the first hits in an order ([`TopK`], [`top_k`]).

use std::cmp::Ordering;

use techmesh_protocol::body::{Entry, EntryType, Scope, TransferMode};
use techmesh_protocol::codes::{self, Scheme};

/// What a posting list is about. Every entry is listed under each key it has.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Type(EntryType),
    /// The organisation's country, as written.
    Country(Box<str>),
    /// One of the target countries.
    Target(Box<str>),
    /// The entry names no target countries.
    NoTarget,
    /// `Entry::scope()` (the default when unset).
    Scope(Scope),
    Event(Box<str>),
    Mode(TransferMode),
    /// The maturity: scale as written, level.
    Trl(Box<str>, u8),
    /// A classification code or one of its hierarchy ancestors (normal form).
    Code(Scheme, Box<str>),
    /// Exactly this classification (an id of the index's code table).
    Exact(u32),
}

/// The keys of an entry, each once. `code_ids` are the ids of its classifications
/// (`None` for an unknown scheme), in order.
pub fn keys_of(e: &Entry, code_ids: &[Option<u32>]) -> Vec<Key> {
    let mut keys = vec![
        Key::Type(e.entry_type),
        Key::Country(e.organisation.country.as_str().into()),
        Key::Scope(e.scope()),
    ];
    if e.target_countries.is_empty() {
        keys.push(Key::NoTarget);
    }
    keys.extend(
        e.target_countries
            .iter()
            .map(|t| Key::Target(t.as_str().into())),
    );
    keys.extend(e.events.iter().map(|v| Key::Event(v.as_str().into())));
    keys.extend(e.transfer_modes.iter().map(|m| Key::Mode(*m)));
    if let Some(t) = &e.trl {
        keys.push(Key::Trl(t.scheme.as_str().into(), t.level));
    }
    for (c, id) in e.classifications.iter().zip(code_ids) {
        let (Some(scheme), Some(id)) = (Scheme::parse(&c.scheme), id) else {
            continue;
        };
        keys.push(Key::Exact(*id));
        keys.extend(
            codes::ancestors(scheme, &c.code)
                .into_iter()
                .map(|a| Key::Code(scheme, a.into())),
        );
    }
    let mut unique: Vec<Key> = Vec::with_capacity(keys.len());
    for k in keys {
        if !unique.contains(&k) {
            unique.push(k);
        }
    }
    unique
}

/// Add `slot` to a sorted list (slots are handed out in increasing order, so this is
/// a push but for re-indexing in place).
pub fn insert_sorted(list: &mut Vec<u32>, slot: u32) {
    match list.last() {
        Some(&last) if last >= slot => {
            if let Err(i) = list.binary_search(&slot) {
                list.insert(i, slot);
            }
        }
        _ => list.push(slot),
    }
}

pub fn remove_sorted(list: &mut Vec<u32>, slot: u32) {
    if let Ok(i) = list.binary_search(&slot) {
        list.remove(i);
    }
}

/// A set of slots, one bit each.
#[derive(Debug, Clone)]
pub struct SlotSet {
    words: Vec<u64>,
    count: usize,
}

impl SlotSet {
    /// An empty set over slots `0..n`.
    pub fn new(n: usize) -> SlotSet {
        SlotSet {
            words: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }

    pub fn insert(&mut self, slot: u32) {
        let (w, b) = (slot as usize / 64, slot % 64);
        if let Some(word) = self.words.get_mut(w) {
            if *word & (1 << b) == 0 {
                *word |= 1 << b;
                self.count += 1;
            }
        }
    }

    pub fn extend(&mut self, slots: &[u32]) {
        for s in slots {
            self.insert(*s);
        }
    }

    pub fn contains(&self, slot: u32) -> bool {
        self.words
            .get(slot as usize / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Keep only the slots also in `other` (a word-wise AND).
    pub fn intersect(&mut self, other: &SlotSet) {
        let mut count = 0;
        for (i, w) in self.words.iter_mut().enumerate() {
            *w &= other.words.get(i).copied().unwrap_or(0);
            count += w.count_ones() as usize;
        }
        self.count = count;
    }

    /// Keep only the slots `keep` admits.
    pub fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        for (i, w) in self.words.iter_mut().enumerate() {
            let mut bits = *w;
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                if !keep(i as u32 * 64 + b) {
                    *w &= !(1 << b);
                    self.count -= 1;
                }
            }
        }
    }

    /// The slots, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some(i as u32 * 64 + b)
            })
        })
    }
}

/// The first `k` of `items` in `order` (a total order), sorted: a bounded heap, so
/// picking one page of many hits costs a pass over them, not a sort of them all.
pub fn top_k<T>(items: Vec<T>, k: usize, order: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut top = TopK::new(k, order);
    for item in items {
        top.push(item);
    }
    top.into_sorted()
}

/// The streaming form of [`top_k`]: items are pushed one by one (no list of them
/// all is ever built).
pub struct TopK<T, F> {
    k: usize,
    order: F,
    /// A max-heap under `order`: its root is the worst of the best `k` so far.
    heap: Vec<T>,
}

impl<T, F: Fn(&T, &T) -> Ordering> TopK<T, F> {
    pub fn new(k: usize, order: F) -> TopK<T, F> {
        TopK {
            k,
            order,
            heap: Vec::with_capacity(k.min(1024)),
        }
    }

    /// Would `item` be kept (is it before the worst kept one, or is there room)?
    pub fn admits(&self, item: &T) -> bool {
        self.heap.len() < self.k
            || (self.k > 0 && (self.order)(item, &self.heap[0]) == Ordering::Less)
    }

    pub fn push(&mut self, item: T) {
        if self.k == 0 {
            return;
        }
        let order = &self.order;
        let heap = &mut self.heap;
        if heap.len() < self.k {
            heap.push(item);
            let mut i = heap.len() - 1;
            while i > 0 {
                let parent = (i - 1) / 2;
                if order(&heap[i], &heap[parent]) != Ordering::Greater {
                    break;
                }
                heap.swap(i, parent);
                i = parent;
            }
        } else if order(&item, &heap[0]) == Ordering::Less {
            heap[0] = item;
            let mut i = 0;
            loop {
                let (l, r) = (2 * i + 1, 2 * i + 2);
                let mut worst = i;
                if l < heap.len() && order(&heap[l], &heap[worst]) == Ordering::Greater {
                    worst = l;
                }
                if r < heap.len() && order(&heap[r], &heap[worst]) == Ordering::Greater {
                    worst = r;
                }
                if worst == i {
                    break;
                }
                heap.swap(i, worst);
                i = worst;
            }
        }
    }

    /// The kept items, first first.
    pub fn into_sorted(self) -> Vec<T> {
        let mut heap = self.heap;
        heap.sort_by(&self.order);
        heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_the_head_of_the_sorted_list() {
        let items: Vec<u32> = (0..500).map(|i| (i * 7919) % 1009).collect();
        let mut sorted = items.clone();
        sorted.sort();
        for k in [0, 1, 2, 19, 120, 499, 500, 501] {
            let got = top_k(items.clone(), k, |a, b| a.cmp(b));
            assert_eq!(got, sorted[..k.min(items.len())].to_vec(), "k={k}");
        }
    }

    #[test]
    fn slot_sets_count_and_iterate_in_order() {
        let mut s = SlotSet::new(200);
        s.extend(&[3, 64, 3, 199, 0]);
        assert_eq!(s.len(), 4);
        assert!(s.contains(64) && !s.contains(65) && !s.contains(10_000));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 64, 199]);
        let mut t = SlotSet::new(100);
        t.extend(&[0, 5, 64, 99]);
        let mut u = s.clone();
        u.intersect(&t);
        assert_eq!((u.len(), u.iter().collect::<Vec<_>>()), (2, vec![0, 64]));
        s.retain(|x| x % 2 == 1);
        assert_eq!((s.len(), s.iter().collect::<Vec<_>>()), (2, vec![3, 199]));
    }

    #[test]
    fn sorted_lists_stay_sorted() {
        let mut l = vec![];
        for s in [1, 5, 3, 9, 5] {
            insert_sorted(&mut l, s);
        }
        assert_eq!(l, vec![1, 3, 5, 9]);
        remove_sorted(&mut l, 5);
        remove_sorted(&mut l, 4);
        assert_eq!(l, vec![1, 3, 9]);
    }
}
