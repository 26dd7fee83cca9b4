//! Store rules on a real sled database in a temp dir.

use serde_json::json;

use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::{Keypair, Record};
use techmesh_protocol::time::Timestamp;
use techmesh_protocol::vectors::sample_entry;

use super::{Applied, IndexKey, ListFilter, SledStore, Store};

pub(super) fn kp() -> Keypair {
    Keypair::from_seed(&[9; 32])
}

pub(super) fn entry(local_id: &str, title: &str, code: &str) -> body::Body {
    let mut v = sample_entry();
    v["local_id"] = json!(local_id);
    v["title"]["en"] = json!(title);
    v["classifications"] = json!([{"scheme": "ipc", "code": code}]);
    body::prepare(Kind::Entry, &v).unwrap()
}

pub(super) fn signed(seq: u64, b: body::Body) -> Record {
    kp().sign(seq, Timestamp(1_795_000_000), b).unwrap()
}

/// A tombstone withdrawing the entry `id` of [`kp`].
pub(super) fn tomb(seq: u64, id: &str) -> Record {
    signed(
        seq,
        body::prepare(
            Kind::Tombstone,
            &json!({"target_kind": "entry", "local_id": id}),
        )
        .unwrap(),
    )
}

/// A second publisher.
pub(super) fn other() -> Keypair {
    Keypair::from_seed(&[8; 32])
}

/// Records that exercise every store rule: `versions` versions spread over `ids`
/// entry ids of [`kp`] (replacements), a withdrawal of `e2`, an equivocation, and
/// `others` entries of a second publisher ([`other`]).
pub(super) fn mixed_records(versions: u64, ids: u64, others: u64) -> Vec<Record> {
    let mut recs: Vec<Record> = (0..versions)
        .map(|i| {
            signed(
                i + 1,
                entry(&format!("e{}", i % ids), &format!("v{i}"), "H01M"),
            )
        })
        .collect();
    recs.push(tomb(versions + 1, "e2"));
    recs.push(signed(versions + 2, entry("q", "one", "H01M")));
    recs.push(signed(versions + 2, entry("q", "two", "H01M")));
    recs.extend((0..others).map(|i| {
        other()
            .sign(
                i + 1,
                Timestamp(1_795_000_000),
                entry(&format!("o{i}"), "t", "G06N"),
            )
            .unwrap()
    }));
    recs
}

/// After a reopen, `late` is current, `entries` entries are counted and `check`
/// finds nothing (writing went on correctly from a cut end).
pub(super) fn assert_kept_after_reopen(dir: &std::path::Path, late: &Record, entries: u64) {
    let s = open(dir);
    assert_eq!(
        s.get(&late.identity()).unwrap().unwrap().hash(),
        late.hash()
    );
    assert_eq!(s.counts().unwrap().entry, entries);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}

pub(super) fn open(dir: &std::path::Path) -> SledStore {
    SledStore::open(dir, 16).unwrap()
}

#[test]
fn insert_duplicate_replace_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let v1 = signed(1, entry("e1", "first", "H01M 10/0525"));
    let v2 = signed(2, entry("e1", "second", "G06N 3/08"));
    assert_eq!(
        s.apply(std::slice::from_ref(&v1)).unwrap()[0].applied,
        Applied::Inserted
    );
    assert_eq!(
        s.apply(std::slice::from_ref(&v1)).unwrap()[0].applied,
        Applied::Duplicate
    );
    assert_eq!(
        s.apply(std::slice::from_ref(&v2)).unwrap()[0].applied,
        Applied::Replaced {
            previous: v1.hash()
        }
    );
    // The older version arriving late never overwrites the newer one.
    assert_eq!(
        s.apply(std::slice::from_ref(&v1)).unwrap()[0].applied,
        Applied::Stale { current: v2.hash() }
    );
    assert_eq!(s.get(&v1.identity()).unwrap().unwrap().hash(), v2.hash());
    assert!(
        s.get_by_hash(&v1.hash()).unwrap().is_none(),
        "superseded bytes are not kept"
    );
    // Index rows follow the current version only.
    let h01m = IndexKey::Code {
        scheme: Scheme::Ipc,
        code: "H01M".into(),
    };
    let g06n = IndexKey::Code {
        scheme: Scheme::Ipc,
        code: "G06N".into(),
    };
    assert!(s.find(&h01m).unwrap().is_empty());
    assert_eq!(s.find(&g06n).unwrap(), vec![v2.identity()]);
    assert_eq!(s.watermark(&kp().public()).unwrap(), Some(2));
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}

#[test]
fn hierarchy_indexes_find_narrower_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let r = signed(1, entry("e1", "t", "H01M 10/0525"));
    s.apply(std::slice::from_ref(&r)).unwrap();
    for code in ["H", "H01", "H01M", "H01M 10", "H01M 10/0525"] {
        let k = IndexKey::Code {
            scheme: Scheme::Ipc,
            code: code.into(),
        };
        assert_eq!(s.find(&k).unwrap(), vec![r.identity()], "{code}");
    }
    let k = IndexKey::Code {
        scheme: Scheme::Ipc,
        code: "H01M 1".into(),
    };
    assert!(s.find(&k).unwrap().is_empty(), "group 1 is not group 10");
    assert_eq!(s.find(&IndexKey::Country("CN".into())).unwrap().len(), 1);
    assert_eq!(
        s.find(&IndexKey::EntryType("offer".into())).unwrap().len(),
        1
    );
}

#[test]
fn tombstone_withdraws_and_removes_index_rows_and_newer_seq_republishes() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let e = signed(1, entry("e1", "t", "H01M"));
    let t = signed(
        2,
        body::prepare(
            Kind::Tombstone,
            &json!({"target_kind": "entry", "local_id": "e1"}),
        )
        .unwrap(),
    );
    s.apply(&[e.clone(), t.clone()]).unwrap();
    assert!(s.get(&e.identity()).unwrap().unwrap().is_tombstone());
    assert!(s.find(&IndexKey::Country("CN".into())).unwrap().is_empty());
    assert!(s.list(&ListFilter::default()).unwrap().is_empty());
    assert_eq!(
        s.list(&ListFilter {
            include_tombstones: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
    // The old entry arriving again does not resurrect it.
    assert!(matches!(
        s.apply(std::slice::from_ref(&e)).unwrap()[0].applied,
        Applied::Stale { .. }
    ));
    let again = signed(3, entry("e1", "back", "H01M"));
    assert!(s.apply(&[again]).unwrap()[0].applied.is_new());
    assert_eq!(s.counts().unwrap().entry, 1);
    assert!(s.check().unwrap().is_empty());
}

#[test]
fn equivocation_is_kept_as_evidence_and_the_lower_hash_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let a = signed(5, entry("e1", "one", "H01M"));
    let b = signed(5, entry("e1", "two", "H01M"));
    s.apply(std::slice::from_ref(&a)).unwrap();
    let out = s.apply(std::slice::from_ref(&b)).unwrap();
    assert_eq!(out[0].equivocation_with, Some(a.hash()));
    let ev = s.equivocations().unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].records.len(), 2);
    let winner = if a.hash() < b.hash() { &a } else { &b };
    assert_eq!(s.get(&a.identity()).unwrap().unwrap().hash(), winner.hash());
}

#[test]
fn everything_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let recs: Vec<Record> = (0..50)
        .map(|i| signed(i + 1, entry(&format!("e{i}"), "t", "H01M")))
        .collect();
    let digest = {
        let s = open(tmp.path());
        s.apply(&recs).unwrap();
        s.digest().unwrap()
    };
    let s = open(tmp.path());
    assert_eq!(s.digest().unwrap(), digest);
    assert_eq!(s.counts().unwrap().entry, 50);
    assert_eq!(s.watermark(&kp().public()).unwrap(), Some(50));
    assert!(s.check().unwrap().is_empty());
}

#[test]
fn a_second_open_of_the_same_store_is_refused_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let _s = open(tmp.path());
    let err = SledStore::open(tmp.path(), 16)
        .err()
        .expect("second open must fail");
    assert!(matches!(err, super::StoreError::Locked { .. }), "{err}");
}

mod orders {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Applying any set of records in any order, in any batching, yields the same digest.
        #[test]
        fn any_order_same_digest(perm in Just((0..12usize).collect::<Vec<_>>()).prop_shuffle(), split in 1usize..12) {
            let mut recs = Vec::new();
            for i in 0..4u64 {
                let id = format!("e{}", i % 3);
                recs.push(signed(i + 1, entry(&id, &format!("v{i}"), "H01M")));
            }
            recs.push(signed(5, body::prepare(Kind::Tombstone, &json!({"target_kind": "entry", "local_id": "e0"})).unwrap()));
            recs.push(signed(6, entry("e2", "equivocating-a", "G06N")));
            recs.push(signed(6, entry("e2", "equivocating-b", "G06N")));
            while recs.len() < 12 {
                let n = recs.len() as u64;
                recs.push(signed(10 + n, entry(&format!("x{n}"), "t", "C02F")));
            }
            let reference = {
                let tmp = tempfile::tempdir().unwrap();
                let s = open(tmp.path());
                s.apply(&recs).unwrap();
                s.digest().unwrap()
            };
            let shuffled: Vec<Record> = perm.iter().map(|&i| recs[i].clone()).collect();
            let tmp = tempfile::tempdir().unwrap();
            let s = open(tmp.path());
            for chunk in shuffled.chunks(split) {
                s.apply(chunk).unwrap();
            }
            prop_assert_eq!(s.digest().unwrap(), reference);
            prop_assert!(s.check().unwrap().is_empty());
        }
    }
}

#[test]
fn purge_publisher_removes_records_indexes_and_sync_rows_but_keeps_watermarks() {
    let tmp = tempfile::tempdir().unwrap();
    let s = open(tmp.path());
    let other = Keypair::from_seed(&[8; 32]);
    let mine = [
        signed(1, entry("p1", "one", "H01M 10/0525")),
        signed(2, entry("p2", "two", "G06N 3/08")),
    ];
    let theirs = other
        .sign(
            1,
            Timestamp(1_795_000_000),
            entry("o1", "other", "H01M 10/0525"),
        )
        .unwrap();
    s.apply(&mine).unwrap();
    s.apply(std::slice::from_ref(&theirs)).unwrap();
    let digest_before = s.digest().unwrap();
    // A filtered purge removes only what the filter selects.
    let gone = s
        .purge_publisher_where(&kp().public(), &|r| r.seq >= 2)
        .unwrap();
    assert_eq!(gone, vec![mine[1].identity()]);
    assert_ne!(s.digest().unwrap(), digest_before);
    assert_eq!(s.purge_publisher(&kp().public()).unwrap(), 1);
    assert!(s.get(&mine[0].identity()).unwrap().is_none());
    assert!(s.get_by_hash(&mine[0].hash()).unwrap().is_none());
    let code = IndexKey::Code {
        scheme: Scheme::Ipc,
        code: "H01M".into(),
    };
    assert_eq!(s.find(&code).unwrap(), vec![theirs.identity()]);
    assert_eq!(s.counts().unwrap().total(), 1);
    assert_eq!(s.sync_items(&[]).unwrap().len(), 1);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    // The watermark stays: purged seqs are never handed out again.
    assert_eq!(s.watermark(&kp().public()).unwrap(), Some(2));
    assert_eq!(s.purge_publisher(&kp().public()).unwrap(), 0);
    // The same record can come back (e.g. the member is admitted again).
    assert_eq!(
        s.apply(std::slice::from_ref(&mine[0])).unwrap()[0].applied,
        Applied::Inserted
    );
    assert!(s.check().unwrap().is_empty());
}

/// Rewrite the raw sled tree of a closed store (to fake what older formats wrote).
pub(super) fn edit_raw(dir: &std::path::Path, edit: impl FnOnce(&sled::Tree)) {
    let db = SledStore::sled_config(dir, 16).open().unwrap();
    let tree = db.open_tree("records").unwrap();
    edit(&tree);
    db.flush().unwrap();
}

/// The one segment file of a small store.
fn only_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let seg_dir = dir.join(super::segments::DIR);
    let files: Vec<_> = std::fs::read_dir(&seg_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn a_torn_or_garbage_segment_tail_is_cut_off_and_everything_acknowledged_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let acked: Vec<Record> = (0..4u64)
        .map(|i| signed(i + 1, entry(&format!("e{i}"), "t", "H01M")))
        .collect();
    let late = signed(9, entry("late", "t", "G06N"));
    let acked_len = {
        let s = open(tmp.path());
        s.apply(&acked[..2]).unwrap();
        s.apply(&acked[2..]).unwrap();
        std::fs::metadata(only_segment(tmp.path())).unwrap().len()
    };
    let seg = only_segment(tmp.path());
    let reopen_and_check = |what: &str| {
        let s = open(tmp.path());
        assert!(s.check().unwrap().is_empty(), "{what}: {:?}", s.check());
        for r in &acked {
            assert_eq!(
                s.get(&r.identity()).unwrap().unwrap().hash(),
                r.hash(),
                "{what}"
            );
        }
        assert_eq!(s.counts().unwrap().entry, 4, "{what}");
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len(),
            acked_len,
            "{what}: tail cut"
        );
    };
    // Garbage appended (e.g. a batch whose sled rows never committed).
    let append = |bytes: &[u8]| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(bytes).unwrap();
    };
    append(&[0xAB; 300]);
    reopen_and_check("garbage tail");
    // A torn record: the frame and half the bytes of a real record.
    let mut torn = (late.bytes().len() as u32).to_le_bytes().to_vec();
    torn.extend_from_slice(&crc32fast::hash(late.bytes()).to_le_bytes());
    torn.extend_from_slice(&late.bytes()[..late.bytes().len() / 2]);
    append(&torn);
    reopen_and_check("torn record");
    // A whole record that no sled row references.
    torn.extend_from_slice(&late.bytes()[late.bytes().len() / 2..]);
    append(&torn);
    reopen_and_check("unreferenced whole record");
    // Writing goes on from the cut end.
    let s = open(tmp.path());
    assert!(s.apply(std::slice::from_ref(&late)).unwrap()[0]
        .applied
        .is_new());
    drop(s);
    assert_kept_after_reopen(tmp.path(), &late, 5);
}

#[test]
fn a_segment_missing_acknowledged_bytes_is_refused_and_a_flipped_byte_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let r = signed(1, entry("e1", "t", "H01M"));
    open(tmp.path()).apply(std::slice::from_ref(&r)).unwrap();
    let seg = only_segment(tmp.path());
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[len as usize - 3] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    {
        let s = open(tmp.path());
        assert!(s.get(&r.identity()).is_err(), "CRC mismatch is an error");
        let problems = s.check().unwrap();
        assert!(problems.iter().any(|p| p.contains("CRC")), "{problems:?}");
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let err = SledStore::open(tmp.path(), 16).err().expect("refused");
    assert!(
        err.to_string().contains("acknowledged records are missing"),
        "{err}"
    );
}

#[test]
fn counts_follow_inserts_replacements_withdrawals_and_purges_and_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let s = open(tmp.path());
        s.apply(&[
            signed(1, entry("a", "t", "H01M")),
            signed(2, entry("b", "t", "H01M")),
            signed(3, entry("a", "t2", "H01M")),
            tomb(4, "b"),
        ])
        .unwrap();
        let c = s.counts().unwrap();
        assert_eq!((c.entry, c.tombstone), (1, 1), "{c:?}");
        s.apply(&[signed(5, entry("b", "back", "H01M")), tomb(6, "a")])
            .unwrap();
        let c = s.counts().unwrap();
        assert_eq!((c.entry, c.tombstone), (1, 1), "{c:?}");
        assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
    }
    let s = open(tmp.path());
    assert_eq!(s.counts().unwrap(), s.recount().unwrap());
    s.purge_publisher(&kp().public()).unwrap();
    assert_eq!(s.counts().unwrap().total(), 0);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}

#[test]
fn a_store_of_an_unknown_format_is_refused_with_its_format_named() {
    let tmp = tempfile::tempdir().unwrap();
    open(tmp.path())
        .apply(&[signed(1, entry("e1", "t", "H01M"))])
        .unwrap();
    edit_raw(tmp.path(), |t| {
        t.insert(super::keys::FORMAT_KEY, &b"9"[..]).unwrap();
    });
    let err = SledStore::open(tmp.path(), 16)
        .err()
        .expect("format 9 must be refused");
    assert!(
        matches!(err, super::StoreError::Format { .. }) && err.to_string().contains("format 9"),
        "{err}"
    );
}

#[test]
fn check_reports_leftover_index_rows_and_a_missing_marker() {
    let tmp = tempfile::tempdir().unwrap();
    let r = signed(1, entry("e1", "t", "H01M"));
    open(tmp.path()).apply(std::slice::from_ref(&r)).unwrap();
    let s = open(tmp.path());
    s.tree.insert(b"icx", &[][..]).unwrap();
    s.tree.remove(super::keys::FORMAT_KEY).unwrap();
    let problems = s.check().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
}
