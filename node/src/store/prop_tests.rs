//! Property test of the store through the [`Store`] trait (issue 8, item 5): any set
//! of records — several publishers, replacements by newer seqs, tombstones,
//! equivocations (two records under one seq), duplicates — applied in any order and
//! any batching yields the same digest, and each identity holds the version the
//! protocol's order picks (higher seq, then lower hash).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::json;

use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::{Identity, Keypair, Record};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::vectors::sample_entry;
use techmesh_protocol::version::Version;

use super::{ListFilter, SledStore, Store};

/// Publishers, local ids and seqs are drawn from small pools so that generated sets
/// are full of replacements, tombstones over entries and equivocations.
const PUBLISHERS: u8 = 2;
const LOCAL_IDS: u8 = 4;
const MAX_SEQ: u64 = 6;
const MAX_RECORDS: usize = 14;

/// What one generated record is.
#[derive(Debug, Clone)]
enum Op {
    Entry { local: u8, variant: u8 },
    Tombstone { local: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..LOCAL_IDS, 0..3u8).prop_map(|(local, variant)| Op::Entry { local, variant }),
        1 => (0..LOCAL_IDS).prop_map(|local| Op::Tombstone { local }),
    ]
}

fn record(publisher: u8, seq: u64, op: &Op) -> Record {
    let body = match op {
        Op::Entry { local, variant } => {
            let mut v = sample_entry();
            v["local_id"] = json!(format!("e{local}"));
            v["title"]["en"] = json!(format!("variant {variant}"));
            body::prepare(Kind::Entry, &v).unwrap()
        }
        Op::Tombstone { local } => body::prepare(
            Kind::Tombstone,
            &json!({"target_kind": "entry", "local_id": format!("e{local}")}),
        )
        .unwrap(),
    };
    Keypair::from_seed(&[publisher + 1; 32])
        .sign(seq, Timestamp(1_795_000_000), body)
        .unwrap()
}

/// The winner of each identity by the protocol's version order.
fn expected(records: &[Record]) -> BTreeMap<Identity, Record> {
    let mut won: BTreeMap<Identity, Record> = BTreeMap::new();
    for r in records {
        let replace = won
            .get(&r.identity())
            .is_none_or(|cur| Version::of(r).supersedes(&Version::of(cur)));
        if replace {
            won.insert(r.identity(), r.clone());
        }
    }
    won
}

fn store_with(batches: &[&[Record]]) -> (tempfile::TempDir, SledStore) {
    let tmp = tempfile::tempdir().unwrap();
    let s = SledStore::open(tmp.path(), 16).unwrap();
    for b in batches {
        s.apply(b).unwrap();
    }
    (tmp, s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_set_in_any_order_and_batching_gives_one_digest(
        spec in prop::collection::vec((0..PUBLISHERS, 1..=MAX_SEQ, op()), 1..MAX_RECORDS),
        order in any::<u64>(),
        batch in 1usize..5,
    ) {
        let records: Vec<Record> = spec.iter().map(|(p, s, o)| record(*p, *s, o)).collect();
        // A permutation drawn from `order` (Fisher-Yates with a splitmix stream).
        let mut shuffled = records.clone();
        let mut state = order;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let z = (state ^ (state >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            shuffled.swap(i, (z % (i as u64 + 1)) as usize);
        }
        // Reference: one at a time, in generation order.
        let one_by_one: Vec<&[Record]> = records.chunks(1).collect();
        let (_t1, reference) = store_with(&one_by_one);
        // Shuffled, in batches, with every record applied twice.
        let mut batches: Vec<&[Record]> = shuffled.chunks(batch).collect();
        batches.extend(records.chunks(batch).rev());
        let (_t2, other) = store_with(&batches);

        prop_assert_eq!(reference.digest().unwrap(), other.digest().unwrap());
        let want = expected(&records);
        for s in [&reference, &other] {
            prop_assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
            prop_assert_eq!(s.counts().unwrap().total(), want.len() as u64);
            for (id, r) in &want {
                let got = s.get(id).unwrap().map(|g| g.hash());
                prop_assert_eq!(got, Some(r.hash()), "identity {}", id);
            }
            let listed = s.list(&ListFilter { include_tombstones: true, ..ListFilter::default() }).unwrap();
            prop_assert_eq!(listed.len(), want.len());
        }
    }
}
