//! Format 4 across reopens: the index log replays to the same state, a torn or
//! garbage tail is cut (and the segments back to the end its last frame names),
//! equivocation and purges are remembered.

use techmesh_protocol::record::{Record, RecordHash};
use techmesh_protocol::time::Timestamp;

use super::indexlog;
use super::tests::{assert_kept_after_reopen, entry, kp, mixed_records, open, other, signed};
use super::{Applied, ListFilter, SledStore, Store};

fn log_len(dir: &std::path::Path) -> u64 {
    std::fs::metadata(indexlog::log_path(dir)).unwrap().len()
}

fn append(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Everything a reader can see, plus the seq entry of every record applied.
fn state(s: &SledStore, applied: &[Record]) -> impl PartialEq + std::fmt::Debug {
    let listed: Vec<RecordHash> = s
        .list(&ListFilter {
            include_tombstones: true,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.hash())
        .collect();
    let index = s.index();
    let seqs: Vec<Option<[u8; 32]>> = applied
        .iter()
        .map(|r| {
            index
                .publisher_id(&r.publisher)
                .and_then(|p| index.seq_hash(p, r.seq))
        })
        .collect();
    let by_hash: Vec<bool> = applied
        .iter()
        .map(|r| index.row_by_hash(&r.hash()).is_some())
        .collect();
    let rows: Vec<_> = index.rows().copied().collect();
    drop(index);
    (
        s.digest().unwrap(),
        s.counts().unwrap(),
        s.sync_items(&[]).unwrap(),
        listed,
        (
            s.watermark(&kp().public()).unwrap(),
            s.watermark(&other().public()).unwrap(),
        ),
        s.equivocations().unwrap().len(),
        (seqs, by_hash, rows),
    )
}

#[test]
fn state_after_reopen_equals_state_before() {
    let tmp = tempfile::tempdir().unwrap();
    let recs = mixed_records(30, 11, 5);
    let before = {
        let s = open(tmp.path());
        for chunk in recs.chunks(7) {
            s.apply(chunk).unwrap();
        }
        s.purge_publisher_where(&other().public(), &|r| r.seq % 2 == 0)
            .unwrap();
        state(&s, &recs)
    };
    let s = open(tmp.path());
    assert_eq!(state(&s, &recs), before);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
}

#[test]
fn a_torn_or_garbage_index_log_tail_is_cut_with_the_segments_past_its_end() {
    let tmp = tempfile::tempdir().unwrap();
    let acked: Vec<Record> = (0..4u64)
        .map(|i| signed(i + 1, entry(&format!("e{i}"), "t", "H01M")))
        .collect();
    let late = signed(9, entry("late", "t", "G06N"));
    let log = indexlog::log_path(tmp.path());
    let (acked_log, late_frame) = {
        let s = open(tmp.path());
        s.apply(&acked[..2]).unwrap();
        s.apply(&acked[2..]).unwrap();
        let acked_log = log_len(tmp.path());
        s.apply(std::slice::from_ref(&late)).unwrap();
        let bytes = std::fs::read(&log).unwrap();
        (acked_log, bytes[acked_log as usize..].to_vec())
    };
    let check = |what: &str| {
        let s = open(tmp.path());
        assert!(s.check().unwrap().is_empty(), "{what}: {:?}", s.check());
        for r in &acked {
            assert_eq!(
                s.get(&r.identity()).unwrap().unwrap().hash(),
                r.hash(),
                "{what}"
            );
        }
        assert!(s.get(&late.identity()).unwrap().is_none(), "{what}");
        assert_eq!(s.counts().unwrap().entry, 4, "{what}");
        assert_eq!(s.watermark(&kp().public()).unwrap(), Some(4), "{what}");
        assert_eq!(log_len(tmp.path()), acked_log, "{what}: log tail cut");
    };
    // The last batch's frame torn in half: its record bytes are in the segment
    // (fsynced first) but the batch never committed.
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.set_len(acked_log + late_frame.len() as u64 / 2).unwrap();
    drop(f);
    check("half a frame");
    // Garbage after the last frame.
    append(&log, &[0xAB; 300]);
    check("garbage tail");
    // A whole frame with one byte flipped (CRC mismatch).
    let mut flipped = late_frame.clone();
    let at = flipped.len() - 5;
    flipped[at] ^= 0x40;
    append(&log, &flipped);
    check("CRC mismatch");
    // A frame header only.
    append(&log, &late_frame[..8]);
    check("header only");
    // Writing goes on from the cut ends.
    {
        let s = open(tmp.path());
        assert_eq!(
            s.apply(std::slice::from_ref(&late)).unwrap()[0].applied,
            Applied::Inserted
        );
    }
    assert_kept_after_reopen(tmp.path(), &late, 5);
}

#[test]
fn a_bad_index_log_header_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    open(tmp.path())
        .apply(&[signed(1, entry("e1", "t", "H01M"))])
        .unwrap();
    let log = indexlog::log_path(tmp.path());
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[0] = b'X';
    std::fs::write(&log, bytes).unwrap();
    let err = SledStore::open(tmp.path(), 16).err().expect("refused");
    assert!(err.to_string().contains("index log"), "{err}");
    std::fs::remove_file(&log).unwrap();
    let err = SledStore::open(tmp.path(), 16).err().expect("refused");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn equivocation_is_detected_across_reopens_even_after_the_version_is_superseded() {
    let tmp = tempfile::tempdir().unwrap();
    let a = signed(5, entry("e1", "one", "H01M"));
    let b = signed(5, entry("e1", "two", "H01M"));
    let newer = signed(6, entry("e1", "three", "H01M"));
    let c = signed(5, entry("e1", "four", "H01M"));
    open(tmp.path()).apply(std::slice::from_ref(&a)).unwrap();
    {
        let s = open(tmp.path());
        let out = s.apply(std::slice::from_ref(&b)).unwrap();
        assert_eq!(out[0].equivocation_with, Some(a.hash()));
        s.apply(std::slice::from_ref(&newer)).unwrap();
    }
    let s = open(tmp.path());
    // Seq 5's first version is superseded now; its hash is still remembered.
    let out = s.apply(std::slice::from_ref(&c)).unwrap();
    assert_eq!(out[0].equivocation_with, Some(a.hash()));
    assert!(matches!(out[0].applied, Applied::Stale { .. }));
    assert_eq!(s.equivocations().unwrap().len(), 1);
    assert_eq!(s.equivocations().unwrap()[0].records.len(), 3);
    assert_eq!(s.get(&a.identity()).unwrap().unwrap().hash(), newer.hash());
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}

#[test]
fn a_purge_holds_across_reopen_and_its_seqs_stay_seen() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = [
        signed(1, entry("p1", "one", "H01M")),
        signed(2, entry("p2", "two", "G06N")),
    ];
    let theirs = other()
        .sign(1, Timestamp(1_795_000_000), entry("o1", "t", "H01M"))
        .unwrap();
    {
        let s = open(tmp.path());
        s.apply(&mine).unwrap();
        s.apply(std::slice::from_ref(&theirs)).unwrap();
        assert_eq!(s.purge_publisher(&kp().public()).unwrap(), 2);
    }
    let s = open(tmp.path());
    assert!(s.get(&mine[0].identity()).unwrap().is_none());
    assert!(s.get_by_hash(&mine[1].hash()).unwrap().is_none());
    assert_eq!(s.counts().unwrap().total(), 1);
    assert_eq!(s.watermark(&kp().public()).unwrap(), Some(2));
    assert_eq!(s.sync_items(&[]).unwrap().len(), 1);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
    // A purged seq is not unused: another record under it is an equivocation.
    let again = signed(2, entry("p2", "different", "G06N"));
    assert_eq!(
        s.apply(std::slice::from_ref(&again)).unwrap()[0].equivocation_with,
        Some(mine[1].hash())
    );
    // The same record can come back.
    assert_eq!(
        s.apply(std::slice::from_ref(&mine[0])).unwrap()[0].applied,
        Applied::Inserted
    );
    drop(s);
    let s = open(tmp.path());
    assert_eq!(s.counts().unwrap().total(), 3);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}

#[test]
fn the_index_log_is_compacted_and_an_interrupted_compaction_leaves_the_old_log() {
    let tmp = tempfile::tempdir().unwrap();
    let recs: Vec<Record> = (0..60u64)
        .map(|i| {
            signed(
                i + 1,
                entry(&format!("e{}", i % 3), &format!("v{i}"), "H01M"),
            )
        })
        .collect();
    let s = open(tmp.path());
    s.compact_min.store(0, std::sync::atomic::Ordering::Relaxed);
    let (mut longest, mut shrank) = (0, false);
    for r in &recs {
        s.apply(std::slice::from_ref(r)).unwrap();
        let len = log_len(tmp.path());
        shrank |= len < longest;
        longest = longest.max(len);
    }
    assert!(shrank, "the log was compacted at least once");
    let before = state(&s, &recs);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
    // A compaction that stops before its rename: the new log is written, the old stays.
    super::indexlog::IndexLog::compact_without_switching(tmp.path(), &s.index()).unwrap();
    drop(s);
    let compacting = tmp.path().join(indexlog::DIR).join(indexlog::COMPACTING);
    assert!(compacting.exists());
    let s = open(tmp.path());
    assert!(!compacting.exists(), "left-over compaction removed at open");
    assert_eq!(state(&s, &recs), before);
    // An older version under a superseded seq is still told apart after compaction.
    let again = signed(2, entry("e1", "not v1", "H01M"));
    assert_eq!(
        s.apply(std::slice::from_ref(&again)).unwrap()[0].equivocation_with,
        Some(recs[1].hash())
    );
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check());
}
