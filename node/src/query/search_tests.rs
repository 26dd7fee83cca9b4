//! Tests of the search shortcuts: each must pick exactly what ordering every hit
//! would (the issue-time walk for `newest`, the cached base sets).

use proptest::prelude::*;
use serde_json::json;

use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::{Keypair, Record};
use techmesh_protocol::time::{Date, Timestamp};
use techmesh_protocol::vectors::sample_entry;

use super::*;
use crate::query::index::tests::tombstone;

fn entry_at(kp: &Keypair, seq: u64, local_id: &str, issued: i64, until: &str) -> Record {
    let mut v = sample_entry();
    v["local_id"] = json!(local_id);
    v["title"] = json!({"en": format!("pump {local_id} {seq}")});
    v["valid_from"] = json!("2026-01-01");
    v["valid_until"] = json!(until);
    let b = body::prepare(Kind::Entry, &v).unwrap();
    kp.sign(seq, Timestamp(issued), b).unwrap()
}

/// One change: (publisher, local id, issue time offset — few, so many ties — or a
/// withdrawal, validity).
type Op = (usize, u8, Option<u8>, bool);

fn build(ops: &[Op]) -> Inner {
    let mut idx = Inner::default();
    apply(&mut idx, ops, 1);
    idx
}

/// Apply `ops`, numbered from `first_seq`.
fn apply(idx: &mut Inner, ops: &[Op], first_seq: u64) {
    let kps = [Keypair::from_seed(&[21; 32]), Keypair::from_seed(&[22; 32])];
    for (i, (p, local, at, long)) in ops.iter().enumerate() {
        let (kp, local) = (&kps[*p], format!("e{local}"));
        let seq = first_seq + i as u64;
        let r = match at {
            Some(t) => {
                let until = if *long { "2027-12-31" } else { "2026-03-01" };
                entry_at(kp, seq, &local, 1_795_000_000 + i64::from(*t), until)
            }
            None => tombstone(kp, seq, &local),
        };
        idx.apply(&r);
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let op = (
        0..2usize,
        0..24u8,
        proptest::option::weighted(0.85, 0..6u8),
        any::<bool>(),
    );
    proptest::collection::vec(op, 1..70)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn newest_walk_picks_what_ordering_every_hit_picks(
        ops in ops(),
        mask in any::<u64>(),
        k in 0..40usize,
    ) {
        let idx = build(&ops);
        // The time order holds exactly the live slots with their issue times.
        let live: Vec<(i64, u32)> = idx
            .hot
            .iter()
            .enumerate()
            .filter(|(_, h)| h.live)
            .map(|(s, h)| (h.issued_at, s as u32))
            .collect();
        let mut in_order = live.clone();
        in_order.sort();
        prop_assert_eq!(idx.by_time.iter().copied().collect::<Vec<_>>(), in_order);

        let mut admitted = (*idx.base_set(None)).clone();
        admitted.retain(|s| mask >> (s % 64) & 1 == 1);
        let walked = newest_first(&idx, &admitted, k);
        let ordered = first_in_order(&idx, "newest", admitted.iter().map(|s| (s, 0.0)), k);
        prop_assert_eq!(walked, ordered);
    }

    #[test]
    fn cached_base_sets_follow_every_change(ops in ops(), split in 0..70usize) {
        let split = split.min(ops.len());
        let mut idx = build(&ops[..split]);
        let day = Date::parse("2026-06-01").unwrap();
        let _ = (idx.base_set(Some(day)), idx.base_set(None));
        // The rest goes to the index whose sets were cached: they must follow.
        apply(&mut idx, &ops[split..], split as u64 + 1);
        let fresh = |valid: bool| -> Vec<u32> {
            idx.hot
                .iter()
                .enumerate()
                .filter(|(_, h)| h.live && (!valid || h.valid_on(day)))
                .map(|(s, _)| s as u32)
                .collect()
        };
        prop_assert_eq!(idx.base_set(Some(day)).iter().collect::<Vec<_>>(), fresh(true));
        prop_assert_eq!(idx.base_set(None).iter().collect::<Vec<_>>(), fresh(false));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Ties are broken by `Inner::id_cmp` (publisher table and 8-byte prefixes):
    /// the same order as comparing the identities, also for ids sharing a prefix,
    /// shorter than 8 bytes or prefixes of each other.
    #[test]
    fn id_order_from_the_slots_is_the_identity_order(
        ids in proptest::collection::vec((0..3usize, "[ab:.-]{1,11}"), 1..40),
    ) {
        let kps: Vec<Keypair> = (0..3u8).map(|i| Keypair::from_seed(&[30 + i; 32])).collect();
        let mut idx = Inner::default();
        for (seq, (p, local)) in ids.iter().enumerate() {
            idx.apply(&entry_at(&kps[*p], seq as u64 + 1, local, 1_795_000_000, "2027-01-01"));
        }
        let slots: Vec<u32> = (0..idx.hot.len() as u32)
            .filter(|s| idx.slot_doc(*s).is_some())
            .collect();
        for &a in &slots {
            for &b in &slots {
                let (x, y) = (&idx.slot_doc(a).unwrap().id, &idx.slot_doc(b).unwrap().id);
                prop_assert_eq!(idx.id_cmp(a, b), x.cmp(y), "{:?} {:?}", x, y);
            }
        }
    }
}

/// Entries whose text is drawn from a few words (English and Han), so queries
/// match many of them with many equal scores.
fn text_entry(kp: &Keypair, seq: u64, local_id: &str, words: &[&str]) -> Record {
    let mut v = sample_entry();
    v["local_id"] = json!(local_id);
    v["title"] = json!({"en": words.join(" ")});
    v["summary"] = json!({"zh": words.concat()});
    let b = body::prepare(Kind::Entry, &v).unwrap();
    kp.sign(seq, Timestamp(1_795_000_000 + seq as i64), b)
        .unwrap()
}

const WORDS: [&str; 8] = [
    "solar", "battery", "pump", "wind", "锂电", "电池", "太阳", "监测",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Scoring only the admitted slots, with the weak-term shortcuts, gives each
    /// of them exactly (bit for bit) the score and group count of a document-by-
    /// document reference scoring every group's terms in order, and skips no match.
    #[test]
    fn shortcut_scoring_equals_exhaustive_scoring(
        docs in proptest::collection::vec(proptest::collection::vec(0..WORDS.len(), 1..5), 1..40),
        query in proptest::collection::vec(0..WORDS.len() + 1, 1..4),
        mask in any::<u64>(),
    ) {
        let kp = Keypair::from_seed(&[41; 32]);
        let mut idx = Inner::default();
        for (i, ws) in docs.iter().enumerate() {
            let words: Vec<&str> = ws.iter().map(|w| WORDS[*w]).collect();
            idx.apply(&text_entry(&kp, i as u64 + 1, &format!("t{}", i % 30), &words));
        }
        // One more word that no entry has: "锂池" (its bigram and 锂… are rare).
        let q: Vec<&str> = query.iter().map(|w| WORDS.get(*w).copied().unwrap_or("锂池")).collect();
        let groups = text::query_groups(&q.join(" "), None);
        let mut only = (*idx.base_set(None)).clone();
        only.retain(|s| mask >> (s % 64) & 1 == 1);
        let mut want = reference_scores(&idx, &groups);
        want.retain(|(s, _, _)| only.contains(*s));
        let mut got = Vec::new();
        idx.bm25_each(&groups, Some(&only), |s, score, n| got.push((s, score, n)));
        got.sort_by_key(|x| x.0);
        prop_assert_eq!(got, want);
    }
}

/// BM25 of every document, one at a time: per group the best strong term, or the
/// sum of the weak terms (in order) when all occur.
fn reference_scores(idx: &Inner, groups: &[text::QueryGroup]) -> Vec<(u32, f64, usize)> {
    let mut out = Vec::new();
    for slot in 0..idx.hot.len() as u32 {
        let Some(doc) = idx.slot_doc(slot) else {
            continue;
        };
        let norm = idx.bm25_norm(f64::from(idx.hot[slot as usize].len));
        let (mut score, mut matched) = (0.0, 0);
        for g in groups {
            let n_weak = g.terms.iter().filter(|(_, w)| *w < 1.0).count();
            let (mut best, mut weak, mut weak_n) = (0.0f64, 0.0, 0);
            for (term, w) in &g.terms {
                let Some(id) = idx.dict.get(term.as_str()) else {
                    continue;
                };
                let Ok(j) = doc.terms.ids.binary_search_by_key(id, |x| x.0) else {
                    continue;
                };
                let tf = f64::from(doc.terms.ids[j].1);
                let idf = idx.idf_of(idx.postings[*id as usize].len());
                let s = w * (idf * tf * (super::super::score::BM25_K1 + 1.0) / (tf + norm));
                if *w < 1.0 {
                    weak += s;
                    weak_n += 1;
                } else if s > best {
                    best = s;
                }
            }
            let all_weak = n_weak > 0 && weak_n == n_weak;
            if best > 0.0 || all_weak {
                score += if all_weak && weak > best { weak } else { best };
                matched += 1;
            }
        }
        if matched > 0 {
            out.push((slot, score, matched));
        }
    }
    out
}
