//! Text scores over the search index: BM25 of a query (search) or of an entry's
//! terms (the text-only match baseline), and TF-IDF cosine of two entries (matching).

use std::collections::HashMap;

use techmesh_protocol::record::Identity;

use super::index::{Doc, Inner, Terms};
use super::postings::SlotSet;
use super::text::{self, QueryGroup};

pub(super) const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// What [`Inner::bm25_each`] keeps of one slot while it scores a query.
#[derive(Debug, Default, Clone, Copy)]
struct Acc {
    /// Best strong term of the current group.
    best: f64,
    /// Sum of the weak terms of the current group, and how many of them occurred.
    weak: f64,
    weak_n: u32,
    /// Groups matched so far, and their score.
    groups: u32,
    score: f64,
}

/// Per-thread scratch of [`Inner::bm25_each`], indexed by slot; every entry it
/// touches is reset before it returns.
#[derive(Default)]
struct Scratch {
    acc: Vec<Acc>,
    touched: Vec<u32>,
    matched: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Inner {
    fn avg_len(&self) -> f64 {
        if self.live == 0 {
            1.0
        } else {
            (self.total_len / self.live as f64).max(1.0)
        }
    }

    fn df(&self, term: &str) -> usize {
        self.dict
            .get(term)
            .map_or(0, |id| self.postings[*id as usize].len())
    }

    /// Inverse document frequency (BM25's, always positive).
    pub fn idf(&self, term: &str) -> f64 {
        self.idf_of(self.df(term))
    }

    pub(super) fn idf_of(&self, df: usize) -> f64 {
        let n = self.live as f64;
        let df = df as f64;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn bm25_term(&self, tf: f64, len: f64, idf: f64) -> f64 {
        idf * tf * (BM25_K1 + 1.0) / (tf + self.bm25_norm(len))
    }

    /// BM25's length normalisation of a document of weighted length `len`.
    pub(super) fn bm25_norm(&self, len: f64) -> f64 {
        BM25_K1 * (1.0 - BM25_B + BM25_B * len / self.avg_len())
    }

    /// BM25 of each document matching at least one group: `(doc, score, groups
    /// matched)`. A group scores its best alternative.
    pub fn bm25(&self, groups: &[QueryGroup]) -> HashMap<Identity, (f64, usize)> {
        self.bm25_docs(groups)
            .into_iter()
            .map(|(d, s, n)| (d.id.clone(), (s, n)))
            .collect()
    }

    /// As [`Inner::bm25`], as a list in slot order and without copying identities.
    pub fn bm25_docs(&self, groups: &[QueryGroup]) -> Vec<(&Doc, f64, usize)> {
        self.bm25_slots(groups)
            .into_iter()
            .filter_map(|(slot, s, n)| self.slot_doc(slot).map(|d| (d, s, n)))
            .collect()
    }

    /// As [`Inner::bm25`], by slot in slot order.
    pub(super) fn bm25_slots(&self, groups: &[QueryGroup]) -> Vec<(u32, f64, usize)> {
        let mut out = Vec::new();
        self.bm25_each(groups, None, |slot, s, n| out.push((slot, s, n)));
        out.sort_unstable_by_key(|x| x.0);
        out
    }

    /// Call `f(slot, score, groups matched)` for each document matching at least one
    /// group (in no particular order), only for the slots in `only` if given (a
    /// document's score depends on its own postings alone, so the others are skipped
    /// before any work on them). What search iterates over: only the documents the
    /// text matched.
    pub(super) fn bm25_each(
        &self,
        groups: &[QueryGroup],
        only: Option<&SlotSet>,
        mut f: impl FnMut(u32, f64, usize),
    ) {
        let n = self.docs.len();
        let norms = self.norms();
        SCRATCH.with(|scratch| {
            let mut sc = scratch.borrow_mut();
            let Scratch {
                acc,
                touched,
                matched,
            } = &mut *sc;
            if acc.len() < n {
                acc.resize(n, Acc::default());
            }
            for g in groups {
                // Strong terms (weight 1): the best one counts. Weak terms (a Han run's
                // single characters): only when all of them occur, then their sum.
                let n_weak = g.terms.iter().filter(|(_, w)| *w < 1.0).count() as u32;
                let posting = |term: &str| {
                    self.dict
                        .get(term)
                        .map_or(&[][..], |id| self.postings[*id as usize].as_slice())
                };
                // The weak sum counts only when every weak term occurs: if one occurs
                // nowhere, the weak terms change nothing; otherwise the k-th weak term
                // matters only to the documents that had the k before it.
                let weak_possible = g
                    .terms
                    .iter()
                    .all(|(t, w)| *w >= 1.0 || !posting(t).is_empty());
                let mut weak_seen = 0u32;
                for (term, w) in &g.terms {
                    let post = posting(term);
                    if post.is_empty() {
                        continue;
                    }
                    let weak = *w < 1.0;
                    if weak && !weak_possible {
                        continue;
                    }
                    let idf = self.idf_of(post.len());
                    let before = weak_seen;
                    weak_seen += u32::from(weak);
                    for &(slot, tf) in post {
                        if only.is_some_and(|o| !o.contains(slot)) {
                            continue;
                        }
                        let i = slot as usize;
                        if weak && before > 0 && acc[i].weak_n != before {
                            continue;
                        }
                        let tf = f64::from(tf);
                        let s = w * (idf * tf * (BM25_K1 + 1.0) / (tf + norms[i]));
                        let a = &mut acc[i];
                        if a.best == 0.0 && a.weak_n == 0 {
                            touched.push(slot);
                        }
                        if weak {
                            a.weak += s;
                            a.weak_n += 1;
                        } else if s > a.best {
                            a.best = s;
                        }
                    }
                }
                for &slot in touched.iter() {
                    let a = &mut acc[slot as usize];
                    let all_weak = n_weak > 0 && a.weak_n == n_weak;
                    let mut b = a.best;
                    if all_weak && a.weak > b {
                        b = a.weak;
                    }
                    if a.best > 0.0 || all_weak {
                        if a.groups == 0 {
                            matched.push(slot);
                        }
                        a.score += b;
                        a.groups += 1;
                    }
                    (a.best, a.weak, a.weak_n) = (0.0, 0.0, 0);
                }
                touched.clear();
            }
            for &slot in matched.iter() {
                let a = std::mem::take(&mut acc[slot as usize]);
                f(slot, a.score, a.groups as usize);
            }
            matched.clear();
        })
    }

    /// BM25 of one document for a bag of query terms (each distinct term once).
    pub fn bm25_terms(&self, query: &Terms, doc: &Doc) -> f64 {
        // Terms the index does not know occur in no indexed document.
        let mut sum = 0.0;
        for_shared(&query.ids, &doc.terms.ids, |t, _, tf| {
            let idf = self.idf_of(self.postings[t as usize].len());
            sum += self.bm25_term(f64::from(tf), doc.terms.len, idf);
        });
        sum
    }

    /// Cosine similarity of the TF-IDF vectors of two term bags, in [0, 1], and the
    /// (at most 8) shared terms that weigh most.
    pub fn cosine(&self, a: &Terms, b: &Terms) -> (f64, Vec<String>) {
        // Single Han characters are there for search; as evidence of similar text
        // they are noise (bigrams carry the words).
        let single_han = |t: &str| {
            let mut c = t.chars();
            matches!((c.next(), c.next()), (Some(x), None) if text::is_cjk(x))
        };
        let w_known = |tf: f32, t: u32| {
            if single_han(&self.words[t as usize]) {
                0.0
            } else {
                (1.0 + f64::from(tf).ln().max(0.0)) * self.idf_of(self.postings[t as usize].len())
            }
        };
        let w_other = |tf: f32, t: &str| {
            if single_han(t) {
                0.0
            } else {
                (1.0 + f64::from(tf).ln().max(0.0)) * self.idf_of(0)
            }
        };
        let norm = |x: &Terms| -> f64 {
            let known: f64 = x.ids.iter().map(|(t, f)| w_known(*f, *t).powi(2)).sum();
            let other: f64 = x.other.iter().map(|(t, f)| w_other(*f, t).powi(2)).sum();
            (known + other).sqrt()
        };
        let (na, nb) = (norm(a), norm(b));
        if na == 0.0 || nb == 0.0 {
            return (0.0, Vec::new());
        }
        let mut shared: Vec<(f64, &str)> = Vec::new();
        let mut dot = 0.0;
        for_shared(&a.ids, &b.ids, |t, f, g| {
            let x = w_known(f, t) * w_known(g, t);
            if x != 0.0 {
                dot += x;
                shared.push((x, self.words[t as usize].as_ref()));
            }
        });
        // Terms unknown to the index (two entries neither of which is indexed).
        for (t, f) in a.other.iter() {
            if let Ok(j) = b
                .other
                .binary_search_by(|(u, _)| u.as_ref().cmp(t.as_ref()))
            {
                let x = w_other(*f, t) * w_other(b.other[j].1, t);
                if x != 0.0 {
                    dot += x;
                    shared.push((x, t.as_ref()));
                }
            }
        }
        shared.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(y.1)));
        let top = shared.iter().take(8).map(|(_, t)| t.to_string()).collect();
        ((dot / (na * nb)).clamp(0.0, 1.0), top)
    }
}

/// Call `f(term, tf in a, tf in b)` for every term id in both sorted lists.
fn for_shared(a: &[(u32, f32)], b: &[(u32, f32)], mut f: impl FnMut(u32, f32, f32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(a[i].0, a[i].1, b[j].1);
                i += 1;
                j += 1;
            }
        }
    }
}
