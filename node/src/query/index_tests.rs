//! Tests of the search index: replacement, withdrawal and compaction keep the term
//! and filter postings as a fresh index would have them.

use super::*;
use serde_json::json;
use techmesh_protocol::body;
use techmesh_protocol::record::Keypair;
use techmesh_protocol::vectors::sample_entry;

use crate::query::text;

fn entry_with(kp: &Keypair, seq: u64, local_id: &str, title: &str, ipc: &str, cc: &str) -> Record {
    let mut v = sample_entry();
    v["local_id"] = json!(local_id);
    v["title"] = json!({"en": title});
    v["summary"] = json!({"en": "test entry"});
    v["classifications"] = json!([{"scheme": "ipc", "code": ipc}]);
    v["organisation"]["country"] = json!(cc);
    if let Some(o) = v.as_object_mut() {
        o.remove("keywords");
        if let Some(org) = o.get_mut("organisation").and_then(|x| x.as_object_mut()) {
            org.remove("region");
        }
    }
    let b = body::prepare(Kind::Entry, &v).unwrap();
    kp.sign(seq, Timestamp(1_795_000_000), b).unwrap()
}

fn entry(kp: &Keypair, seq: u64, local_id: &str, title: &str) -> Record {
    entry_with(kp, seq, local_id, title, "H01M 10/0525", "CN")
}

/// A tombstone withdrawing the entry `local_id` of `kp` (shared with the search tests).
pub(in crate::query) fn tombstone(kp: &Keypair, seq: u64, local_id: &str) -> Record {
    let b = body::prepare(
        Kind::Tombstone,
        &json!({"target_kind": "entry", "local_id": local_id}),
    )
    .unwrap();
    kp.sign(seq, Timestamp(1_795_000_100), b).unwrap()
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

/// Local ids listed under a filter key.
fn under(idx: &Inner, key: &Key) -> Vec<String> {
    let mut ids: Vec<String> = idx
        .posting(key)
        .iter()
        .map(|s| idx.slot_doc(*s).expect("a live slot").id.local_id.clone())
        .collect();
    ids.sort();
    ids
}

/// Every posting list is sorted and names live slots only.
fn assert_postings_sound(idx: &Inner) {
    for p in &idx.postings {
        assert!(p.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(p.iter().all(|(s, _)| idx.slot_doc(*s).is_some()));
    }
    for (k, list) in &idx.filters {
        assert!(!list.is_empty(), "{k:?} left empty");
        assert!(list.windows(2).all(|w| w[0] < w[1]), "{k:?}");
        assert!(list.iter().all(|s| idx.slot_doc(*s).is_some()), "{k:?}");
    }
    let live_terms = idx.postings.iter().filter(|p| !p.is_empty()).count();
    assert_eq!(idx.term_count(), live_terms);
    for (slot, h) in idx.hot.iter().enumerate() {
        assert_eq!(h.live, idx.slot_doc(slot as u32).is_some(), "slot {slot}");
    }
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
    assert_eq!(churned.term_count(), fresh.term_count());
    for (i, _) in titles.iter().enumerate() {
        let id = Identity {
            publisher: kp.public(),
            kind: Kind::Entry,
            local_id: format!("e{i}"),
        };
        assert!(churned.get(&id).is_some_and(|d| d.id == id));
    }
    assert_postings_sound(&churned);
}

#[test]
fn filter_postings_follow_replacement_and_withdrawal() {
    let kp = Keypair::from_seed(&[8; 32]);
    let mut idx = Inner::default();
    idx.apply(&entry_with(&kp, 1, "a", "solar pump", "H01M 10/0525", "CN"));
    idx.apply(&entry_with(&kp, 2, "b", "wind blade", "F03D 17/00", "KE"));
    let h01m = Key::Code(Scheme::Ipc, "H01M".into());
    let f03d = Key::Code(Scheme::Ipc, "F03D".into());
    assert_eq!(under(&idx, &h01m), ["a"]);
    assert_eq!(under(&idx, &Key::Code(Scheme::Ipc, "H".into())), ["a"]);
    assert_eq!(under(&idx, &Key::Country("KE".into())), ["b"]);

    // A new version of "a" moves it to F03D and Kenya: it leaves its old lists.
    idx.apply(&entry_with(&kp, 3, "a", "wind tower", "F03D 17/00", "KE"));
    assert!(under(&idx, &h01m).is_empty());
    assert!(!idx.filters.contains_key(&h01m), "empty lists are dropped");
    assert_eq!(under(&idx, &f03d), ["a", "b"]);
    assert_eq!(under(&idx, &Key::Country("KE".into())), ["a", "b"]);
    assert!(under(&idx, &Key::Country("CN".into())).is_empty());
    assert!(scores(&idx, "solar").is_empty());
    assert_eq!(scores(&idx, "wind").len(), 2);
    assert_postings_sound(&idx);

    // Withdrawn: "b" is in no list and no text posting.
    idx.apply(&tombstone(&kp, 4, "b"));
    assert_eq!(under(&idx, &f03d), ["a"]);
    assert_eq!(under(&idx, &Key::Country("KE".into())), ["a"]);
    assert_eq!(scores(&idx, "blade"), vec![]);
    assert_eq!(idx.len(), 1);
    let f03d_exact = idx
        .codes
        .iter()
        .position(|c| &*c.code == "F03D 17/00")
        .expect("code id");
    assert_eq!(idx.codes[f03d_exact].uses, 1);
    assert_eq!(under(&idx, &Key::Exact(f03d_exact as u32)), ["a"]);
    assert_postings_sound(&idx);

    // Churn past the compaction threshold: lists renumbered, still right.
    for seq in 5..40 {
        let (code, cc) = if seq % 2 == 0 {
            ("H01M 4/38", "CN")
        } else {
            ("F03D 17/00", "KE")
        };
        idx.apply(&entry_with(
            &kp,
            seq,
            "a",
            &format!("wind m{seq}"),
            code,
            cc,
        ));
    }
    assert!(idx.docs.len() < 10, "{} slots", idx.docs.len());
    assert_eq!(under(&idx, &f03d), ["a"]);
    assert_eq!(under(&idx, &Key::Country("KE".into())), ["a"]);
    assert!(under(&idx, &h01m).is_empty());
    assert_postings_sound(&idx);
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

#[test]
fn terms_of_an_unindexed_entry_keep_unknown_terms_by_name() {
    let kp = Keypair::from_seed(&[9; 32]);
    let mut idx = Inner::default();
    idx.apply(&entry(&kp, 1, "a", "solar pump"));
    let Body::Entry(e) = entry(&kp, 2, "x", "solar zeppelin").body else {
        panic!("an entry")
    };
    let t = idx.terms_of(&e);
    assert!(t.other.iter().any(|(w, _)| &**w == "zeppelin"));
    let doc = idx.docs().next().expect("a");
    let (sim, shared) = idx.cosine(&t, &doc.terms);
    assert!(
        sim > 0.0 && shared.contains(&"solar".to_string()),
        "{shared:?}"
    );
    assert!(idx.bm25_terms(&t, doc) > 0.0);
}
