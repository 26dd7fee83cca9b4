//! Migrations of older store formats on open (1 → 3 → 4, 2 → 3 → 4, 3 → 4), each
//! also interrupted. Older stores are written row by row as those formats laid them
//! out (`keys.rs`).

use std::collections::{BTreeMap, HashMap};

use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::{Keypair, PublicKey, Record, RecordHash};
use techmesh_protocol::version::Version;

use super::keys::{self, key};
use super::segments::Segments;
use super::tests::{edit_raw, entry, kp, mixed_records, open, signed};
use super::{indexlog, IndexKey, ListFilter, SledStore, Store};

/// Write `records` as a closed format-3 store at `dir`: the winners' bytes in a
/// segment file with `c`/`h`/`y` rows, `s` rows for the first record of each
/// (publisher, seq), `w` rows, the segment end and marker 3.
fn write_format_3(dir: &std::path::Path, records: &[Record]) {
    let mut current: BTreeMap<Vec<u8>, Record> = BTreeMap::new();
    let mut seqs: HashMap<(PublicKey, u64), RecordHash> = HashMap::new();
    let mut wm: HashMap<PublicKey, u64> = HashMap::new();
    for r in records {
        seqs.entry((r.publisher, r.seq)).or_insert(r.hash());
        let w = wm.entry(r.publisher).or_insert(r.seq);
        *w = (*w).max(r.seq);
        let k = r.identity().key();
        if current
            .get(&k)
            .is_none_or(|c| Version::of(r).supersedes(&Version::of(c)))
        {
            current.insert(k, r.clone());
        }
    }
    let (segments, _) = Segments::open(dir, None).unwrap();
    let mut append = segments.begin().unwrap();
    edit_raw(dir, |t| {
        for (k, r) in &current {
            let mut v = r.seq.to_be_bytes().to_vec();
            v.extend_from_slice(&r.hash().0);
            t.insert(key(keys::CURRENT, &[k]), v).unwrap();
            let loc = append.push(r.bytes());
            t.insert(key(keys::BLOB, &[&r.hash().0]), &loc.encode()[..])
                .unwrap();
            let item = keys::SyncItem::of(r);
            t.insert(key(keys::SYNC, &[&item.id_digest]), item.encode_value())
                .unwrap();
        }
        for ((p, seq), h) in &seqs {
            t.insert(key(keys::SEQ, &[&p.0, &seq.to_be_bytes()]), &h.0[..])
                .unwrap();
        }
        for (p, w) in &wm {
            t.insert(key(keys::WATERMARK, &[&p.0]), &w.to_be_bytes()[..])
                .unwrap();
        }
        if !append.is_empty() {
            t.insert(keys::SEGMENT_END_KEY, &append.end().encode()[..])
                .unwrap();
        }
        t.insert(keys::COUNTS_KEY, &[0u8; 40][..]).unwrap();
        t.insert(keys::FORMAT_KEY, &b"3"[..]).unwrap();
    });
    segments.commit(append).unwrap();
}

fn marker(dir: &std::path::Path) -> Vec<u8> {
    let mut m = Vec::new();
    edit_raw(dir, |t| {
        m = t.get(keys::FORMAT_KEY).unwrap().unwrap().to_vec();
    });
    m
}

fn legacy_rows(dir: &std::path::Path) -> usize {
    let mut n = 0;
    edit_raw(dir, |t| {
        n = super::format::LEGACY_PREFIXES
            .iter()
            .map(|p| t.scan_prefix([*p]).count())
            .sum::<usize>()
            + usize::from(t.contains_key(keys::COUNTS_KEY).unwrap());
    });
    n
}

/// Everything a reader can see of a store.
fn state(s: &SledStore) -> impl PartialEq + std::fmt::Debug {
    let listed: Vec<RecordHash> = s
        .list(&ListFilter {
            include_tombstones: true,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.hash())
        .collect();
    (
        s.digest().unwrap(),
        s.counts().unwrap(),
        s.sync_items(&[]).unwrap(),
        listed,
        s.watermark(&kp().public()).unwrap(),
        s.watermark(&Keypair::from_seed(&[8; 32]).public()).unwrap(),
    )
}

#[test]
fn a_format_3_store_is_migrated_to_4_with_the_same_state() {
    let recs = mixed_records(7, 5, 1);
    let reference = tempfile::tempdir().unwrap();
    let want = {
        let s = open(reference.path());
        s.apply(&recs).unwrap();
        state(&s)
    };
    let tmp = tempfile::tempdir().unwrap();
    write_format_3(tmp.path(), &recs);
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(state(&s), want);
    // The seq of every version ever seen came along: a record under a seq of a
    // superseded version is still an equivocation.
    let late = signed(2, entry("e1", "another v1", "H01M"));
    let out = s.apply(std::slice::from_ref(&late)).unwrap();
    assert_eq!(out[0].equivocation_with, Some(recs[1].hash()));
    drop(s);
    assert_eq!(marker(tmp.path()), b"4");
    assert_eq!(legacy_rows(tmp.path()), 0, "format-3 rows deleted");
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
}

#[test]
fn an_interrupted_migration_to_4_is_rebuilt_or_resumed() {
    let recs = mixed_records(7, 5, 1);
    let want = {
        let reference = tempfile::tempdir().unwrap();
        let s = open(reference.path());
        s.apply(&recs).unwrap();
        state(&s)
    };
    // Half-built: a partial log being built (and no marker 4) is discarded.
    let tmp = tempfile::tempdir().unwrap();
    write_format_3(tmp.path(), &recs);
    let dir = tmp.path().join(indexlog::DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(indexlog::BUILDING), b"TMIDX4\n\0half a fra").unwrap();
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(state(&s), want);
    assert!(!dir.join(indexlog::BUILDING).exists());
    drop(s);

    // Log complete and renamed, some format-3 rows already deleted, marker still 3:
    // the log is used and the deletion finishes.
    let tmp = tempfile::tempdir().unwrap();
    write_format_3(tmp.path(), &recs);
    edit_raw(tmp.path(), |t| {
        super::format::build_index_log(t, tmp.path()).unwrap();
        let half: Vec<_> = t
            .scan_prefix([keys::CURRENT])
            .map(|r| r.unwrap().0)
            .take(3)
            .collect();
        for k in half {
            t.remove(k).unwrap();
        }
        t.remove(keys::SEGMENT_END_KEY).unwrap();
    });
    assert_eq!(marker(tmp.path()), b"3");
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(state(&s), want);
    drop(s);
    assert_eq!(marker(tmp.path()), b"4");
    assert_eq!(legacy_rows(tmp.path()), 0);
}

#[test]
fn a_format_1_store_is_migrated_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let r = signed(1, entry("e1", "t", "H01M 10/0525"));
    write_format_3(tmp.path(), std::slice::from_ref(&r));
    // Format 1: no marker, and secondary-index rows ("i" ‖ index key ‖ 0 ‖ identity).
    edit_raw(tmp.path(), |t| {
        t.remove(keys::FORMAT_KEY).unwrap();
        for code in ["H", "H01", "H01M"] {
            let mut row = b"ic".to_vec();
            row.extend_from_slice(format!("ipc\x1f{code}\0").as_bytes());
            row.extend_from_slice(&r.identity().key());
            t.insert(row, &[][..]).unwrap();
        }
    });
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(s.get(&r.identity()).unwrap().unwrap().hash(), r.hash());
    let h01m = IndexKey::Code {
        scheme: Scheme::Ipc,
        code: "H01M".into(),
    };
    assert_eq!(s.find(&h01m).unwrap(), vec![r.identity()]);
    drop(s);
    assert_eq!(legacy_rows(tmp.path()), 0, "index rows deleted");
    assert_eq!(marker(tmp.path()), b"4");
}

/// Turn a format-3 store (closed) into what format 2 wrote: record bytes as `h`
/// values, no totals or segment-end rows, no segment files.
fn make_format_2(dir: &std::path::Path, records: &[Record]) {
    edit_raw(dir, |t| {
        for r in records {
            let k = key(keys::BLOB, &[&r.hash().0]);
            if t.get(&k).unwrap().is_some() {
                t.insert(k, r.bytes()).unwrap();
            }
        }
        t.remove(keys::COUNTS_KEY).unwrap();
        t.remove(keys::SEGMENT_END_KEY).unwrap();
        t.insert(keys::FORMAT_KEY, &b"2"[..]).unwrap();
    });
    std::fs::remove_dir_all(dir.join(super::segments::DIR)).unwrap();
}

#[test]
fn a_format_2_store_is_migrated_on_open_and_an_interrupted_migration_resumes() {
    let records: Vec<Record> = (0..7u64)
        .map(|i| {
            signed(
                i + 1,
                entry(&format!("e{}", i % 5), &format!("v{i}"), "H01M"),
            )
        })
        .collect();
    let (digest, counts) = {
        let reference = tempfile::tempdir().unwrap();
        let s = open(reference.path());
        s.apply(&records).unwrap();
        (s.digest().unwrap(), s.counts().unwrap())
    };
    assert_eq!(counts.entry, 5);
    let tmp = tempfile::tempdir().unwrap();
    write_format_3(tmp.path(), &records);
    make_format_2(tmp.path(), &records);
    // An interrupted migration: a segment file holding bytes no row references.
    let seg_dir = tmp.path().join(super::segments::DIR);
    std::fs::create_dir_all(&seg_dir).unwrap();
    std::fs::write(seg_dir.join("00000001.seg"), b"half a batch").unwrap();
    std::fs::write(seg_dir.join("00000002.seg"), b"never referenced").unwrap();
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(s.digest().unwrap(), digest);
    assert_eq!(s.counts().unwrap(), counts);
    for r in &records[2..] {
        assert_eq!(s.get(&r.identity()).unwrap().unwrap().hash(), r.hash());
        assert_eq!(s.get_by_hash(&r.hash()).unwrap().unwrap().hash(), r.hash());
    }
    assert!(!seg_dir.join("00000002.seg").exists());
    drop(s);
    assert_eq!(marker(tmp.path()), b"4");
    assert_eq!(legacy_rows(tmp.path()), 0);

    // A half-done 2 → 3 step (some rows moved, marker still 2) finishes on open.
    let tmp = tempfile::tempdir().unwrap();
    write_format_3(tmp.path(), &records);
    edit_raw(tmp.path(), |t| {
        let k = key(keys::BLOB, &[&records[6].hash().0]);
        t.insert(k, records[6].bytes()).unwrap();
        t.insert(keys::FORMAT_KEY, &b"2"[..]).unwrap();
    });
    let s = open(tmp.path());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    assert_eq!(s.digest().unwrap(), digest);
    assert_eq!(
        s.get(&records[6].identity()).unwrap().unwrap().hash(),
        records[6].hash()
    );
}
