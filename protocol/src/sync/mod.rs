//! Anti-entropy sync: messages and the pure reconciliation logic (docs/PROTOCOL.md §7).
//!
//! Each node's shareable records form a set of items `(identity digest, seq, hash)`,
//! ordered by the 16-byte identity digest (SHA-256 of the identity key, so items are
//! spread uniformly). A *range* is a path of 4-bit nibbles: all items whose digest
//! starts with those nibbles. Its *fingerprint* is the item count and the XOR of the
//! first 16 bytes of every item's record hash.
//!
//! Reconciliation (range-based, in the manner of negentropy): the initiator sends the
//! root fingerprint; a side that finds a range's fingerprint different answers with
//! the range's items when it holds at most [`ITEMS_THRESHOLD`] of them, else with the
//! fingerprints of its 16 sub-ranges. A side that receives items compares them with
//! its own, version by version, and knows exactly which records each side lacks.
//! The sides alternate until no range differs.
//!
//! Since `/techmesh/sync/2` a session first tries set reconciliation by invertible Bloom
//! lookup tables ([`iblt`], sized by the [`strata`] estimator; the steps are in
//! [`sketch`]); the range reconciliation above is its fallback when a table does not
//! peel within [`sketch::MAX_TABLE_RETRIES`] retries.

pub mod iblt;
pub mod sketch;
pub mod strata;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::record::RecordHash;
use crate::version::Version;

/// Children per range.
pub const FANOUT: u8 = 16;
/// A range with at most this many items is sent as items, not split further.
pub const ITEMS_THRESHOLD: usize = 32;
/// Deepest range path (32 nibbles = the whole 16-byte digest).
pub const MAX_PATH: usize = 32;
/// Most ranges one message may carry.
pub const MAX_RANGES_PER_MESSAGE: usize = 64;
/// Most hashes one fetch may ask for.
pub const MAX_FETCH: usize = 1024;
/// A side that receives items for a range where it holds more than this many answers
/// with sub-range fingerprints instead, so no answer about one range grows large.
pub const ITEMS_ANSWER_LIMIT: usize = 4 * ITEMS_THRESHOLD;
/// Estimated encoded bytes of parts of a message (for output budgets).
const FP_BYTES: usize = 48;
const ITEM_BYTES: usize = 64;
const HASH_BYTES: usize = 36;

/// One record version in a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    #[serde(with = "serde_bytes")]
    pub id: [u8; 16],
    pub seq: u64,
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
}

impl Item {
    fn version(&self) -> Version {
        Version {
            seq: self.seq,
            hash: RecordHash(self.hash),
        }
    }
}

/// Count and XOR of the items of a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    pub count: u32,
    #[serde(with = "serde_bytes")]
    pub xor: [u8; 16],
}

impl Fingerprint {
    pub fn of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Fingerprint {
        let mut fp = Fingerprint::default();
        for it in items {
            fp.count += 1;
            for (x, h) in fp.xor.iter_mut().zip(&it.hash[..16]) {
                *x ^= h;
            }
        }
        fp
    }
}

/// What one side says about one range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Range {
    /// "My items under this path have this fingerprint."
    Fp {
        #[serde(with = "serde_bytes")]
        path: Vec<u8>,
        fp: Fingerprint,
    },
    /// "These are all my items under this path."
    Items {
        #[serde(with = "serde_bytes")]
        path: Vec<u8>,
        items: Vec<Item>,
    },
}

impl Range {
    pub fn path(&self) -> &[u8] {
        match self {
            Range::Fp { path, .. } | Range::Items { path, .. } => path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// First message of a session: my item count, my strata estimator
    /// ([`strata::STRATA_BYTES`]) and my IBLT of [`sketch::SKETCH_CELLS`] cells.
    Sketch {
        count: u32,
        strata: ByteBuf,
        cells: ByteBuf,
    },
    /// Send me cells `from .. from + len` of your IBLT of `cells` cells.
    Table { cells: u32, from: u32, len: u32 },
    /// One reconciliation round (the first one carries the root range).
    Reconcile { ranges: Vec<Range> },
    /// Send me these records (by hash) if you hold them as current versions.
    Fetch { hashes: Vec<ByteBuf> },
    /// Here are records you lack (you asked for them via `need`).
    Push { records: Vec<ByteBuf> },
    /// What is the highest seq you hold from this publisher? (no-self-fork guard)
    Watermark {
        #[serde(with = "serde_bytes")]
        publisher: [u8; 32],
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// The responder peeled the initiator's sketch: the records the initiator lacks
    /// (inline as far as they fit, the rest as `offer` hashes to fetch) and the hashes
    /// of the initiator's records it lacks (`need`: push them).
    Diff {
        records: Vec<ByteBuf>,
        offer: Vec<ByteBuf>,
        need: Vec<ByteBuf>,
    },
    /// Cells `from ..` of the responder's IBLT of `cells` cells (as many as fit).
    Table {
        cells: u32,
        from: u32,
        data: ByteBuf,
    },
    /// The responder's side of the round: ranges still differing, its own records the
    /// initiator lacks (inline as far as they fit, the rest as `offer` hashes to
    /// fetch), and hashes of initiator records it lacks (`need`: push them).
    ///
    /// `processed` says how many of the request's ranges were answered (the rest did
    /// not fit in one response: send them again).
    Reconcile {
        processed: u32,
        ranges: Vec<Range>,
        records: Vec<ByteBuf>,
        offer: Vec<ByteBuf>,
        need: Vec<ByteBuf>,
    },
    /// Records asked for (what fits in one message; `remaining` were left out).
    Records {
        records: Vec<ByteBuf>,
        remaining: u32,
    },
    Pushed {
        accepted: u32,
        refused: u32,
    },
    Watermark {
        seq: Option<u64>,
    },
    /// Too many requests from you right now: try again later.
    Busy {
        retry_after_ms: u64,
    },
    /// The request was malformed or over a bound.
    Refused {
        reason: String,
    },
}

/// Does a digest fall under a nibble path? Nothing falls under a path longer than a
/// digest (a peer may send one: `fuzz/corpus/sync_messages/resp-too-deep-path`).
pub fn under(path: &[u8], digest: &[u8; 16]) -> bool {
    path.len() <= MAX_PATH
        && path.iter().enumerate().all(|(i, &n)| {
            let b = digest[i / 2];
            let nib = if i % 2 == 0 { b >> 4 } else { b & 0x0f };
            nib == n
        })
}

/// Whole bytes of a path (for prefix scans; filter the odd nibble with [`under`]).
pub fn byte_prefix(path: &[u8]) -> Vec<u8> {
    path.chunks_exact(2).map(|c| (c[0] << 4) | c[1]).collect()
}

/// Most ranges an answer to one reconcile request can carry.
pub const MAX_RANGES_PER_ANSWER: usize = MAX_RANGES_PER_MESSAGE * FANOUT as usize;

pub fn valid_path(path: &[u8]) -> bool {
    path.len() <= MAX_PATH && path.iter().all(|&n| n < FANOUT)
}

/// The bounds every received set of ranges must keep, whichever side receives it: at
/// most `max` of them (a request: [`MAX_RANGES_PER_MESSAGE`]; an answer, whose every
/// differing range may split in [`FANOUT`]: [`MAX_RANGES_PER_ANSWER`]), each path within
/// [`valid_path`].
pub fn check_ranges(ranges: &[Range], max: usize) -> Result<(), String> {
    if ranges.len() > max {
        return Err(format!("{} ranges, more than {max}", ranges.len()));
    }
    match ranges.iter().find(|r| !valid_path(r.path())) {
        Some(bad) => Err(format!("invalid range path of length {}", bad.path().len())),
        None => Ok(()),
    }
}

/// What a side concluded about one range it was told about.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Ranges to send back (still differing).
    pub ranges: Vec<Range>,
    /// My record hashes the other side lacks or holds an older version of.
    pub they_lack: Vec<RecordHash>,
    /// Their record hashes I lack or hold an older version of.
    pub i_lack: Vec<RecordHash>,
}

impl Outcome {
    pub fn merge(&mut self, o: Outcome) {
        self.ranges.extend(o.ranges);
        self.they_lack.extend(o.they_lack);
        self.i_lack.extend(o.i_lack);
    }

    pub fn is_done(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// My answer to a fingerprint for `path`, given my items under it (sorted by id).
fn answer_fp(path: &[u8], theirs: &Fingerprint, mine: &[Item]) -> Vec<Range> {
    if Fingerprint::of(mine) == *theirs {
        return vec![];
    }
    if mine.len() <= ITEMS_THRESHOLD || path.len() >= MAX_PATH {
        return vec![Range::Items {
            path: path.to_vec(),
            items: mine.to_vec(),
        }];
    }
    split(path, mine)
}

/// Compare their items with mine, id by id and version by version (§5.1).
pub fn compare(mine: &[Item], theirs: &[Item]) -> Outcome {
    answer_items(&[], theirs, mine)
}

/// Compare their full item list for a range with mine.
fn answer_items(path: &[u8], theirs: &[Item], mine: &[Item]) -> Outcome {
    let mine_by_id: BTreeMap<[u8; 16], &Item> = mine.iter().map(|i| (i.id, i)).collect();
    let theirs_by_id: BTreeMap<[u8; 16], &Item> = theirs
        .iter()
        .filter(|i| under(path, &i.id))
        .map(|i| (i.id, i))
        .collect();
    let mut out = Outcome::default();
    for (id, t) in &theirs_by_id {
        match mine_by_id.get(id) {
            None => out.i_lack.push(RecordHash(t.hash)),
            Some(m) if t.version().supersedes(&m.version()) => out.i_lack.push(RecordHash(t.hash)),
            Some(m) if m.version().supersedes(&t.version()) => {
                out.they_lack.push(RecordHash(m.hash))
            }
            Some(_) => {}
        }
    }
    for (id, m) in &mine_by_id {
        if !theirs_by_id.contains_key(id) {
            out.they_lack.push(RecordHash(m.hash));
        }
    }
    out
}

/// My answer to one range the other side sent.
fn answer(r: &Range, mine: &[Item]) -> Outcome {
    match r {
        Range::Fp { path, fp } => Outcome {
            ranges: answer_fp(path, fp, mine),
            ..Outcome::default()
        },
        // They hold few here but I hold many: narrow down instead of listing them all.
        Range::Items { path, .. } if mine.len() > ITEMS_ANSWER_LIMIT && path.len() < MAX_PATH => {
            Outcome {
                ranges: split(path, mine),
                ..Outcome::default()
            }
        }
        Range::Items { path, items } => answer_items(path, items, mine),
    }
}

/// The FANOUT child ranges of `path`, each with the fingerprint of my items under it.
fn split(path: &[u8], mine: &[Item]) -> Vec<Range> {
    (0..FANOUT)
        .map(|n| {
            let mut child = path.to_vec();
            child.push(n);
            let fp = Fingerprint::of(mine.iter().filter(|it| under(&child, &it.id)));
            Range::Fp { path: child, fp }
        })
        .collect()
}

/// Estimated encoded size of an outcome (ranges and hashes; records not included).
fn outcome_bytes(o: &Outcome) -> usize {
    let ranges: usize = o
        .ranges
        .iter()
        .map(|r| match r {
            Range::Fp { path, .. } => FP_BYTES + path.len(),
            Range::Items { path, items } => FP_BYTES + path.len() + ITEM_BYTES * items.len(),
        })
        .sum();
    ranges + HASH_BYTES * (o.they_lack.len() + o.i_lack.len())
}

/// Process the ranges the other side sent. `items_under(path)` returns my items
/// under a path, sorted by id.
pub fn process(ranges: &[Range], items_under: &mut dyn FnMut(&[u8]) -> Vec<Item>) -> Outcome {
    process_bounded(ranges, items_under, usize::MAX).0
}

/// As [`process`], but stop once the answer would exceed `budget` bytes (at least
/// one range is always answered). Returns how many ranges were answered.
pub fn process_bounded(
    ranges: &[Range],
    items_under: &mut dyn FnMut(&[u8]) -> Vec<Item>,
    budget: usize,
) -> (Outcome, usize) {
    let mut out = Outcome::default();
    let mut used = 0;
    for (i, r) in ranges.iter().enumerate() {
        let o = answer(r, &items_under(r.path()));
        let size = outcome_bytes(&o);
        if i > 0 && used + size > budget {
            return (out, i);
        }
        used += size;
        out.merge(o);
    }
    (out, ranges.len())
}

/// The first message of a session: my root fingerprint.
pub fn start(items_under: &mut dyn FnMut(&[u8]) -> Vec<Item>) -> Vec<Range> {
    let mine = items_under(&[]);
    if mine.len() <= ITEMS_THRESHOLD {
        vec![Range::Items {
            path: vec![],
            items: mine,
        }]
    } else {
        vec![Range::Fp {
            path: vec![],
            fp: Fingerprint::of(&mine),
        }]
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::Item;

    /// An item with an id from a counter, a hash derived from (id, seq).
    pub fn item(n: u32, seq: u64) -> Item {
        use sha2::{Digest, Sha256};
        let id: [u8; 32] = Sha256::digest(n.to_be_bytes()).into();
        let mut id16 = [0u8; 16];
        id16.copy_from_slice(&id[..16]);
        let h: [u8; 32] =
            Sha256::digest([&n.to_be_bytes()[..], &seq.to_be_bytes()].concat()).into();
        Item {
            id: id16,
            seq,
            hash: h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::item;
    use super::*;

    #[test]
    fn received_ranges_are_bounded_in_number_and_depth() {
        let set: Vec<Item> = (0..100).map(|n| item(n, 1)).collect();
        let ranges = start(&mut lookup(&set));
        assert_eq!(check_ranges(&ranges, MAX_RANGES_PER_MESSAGE), Ok(()));
        let many = vec![ranges[0].clone(); MAX_RANGES_PER_MESSAGE + 1];
        assert!(check_ranges(&many, MAX_RANGES_PER_MESSAGE)
            .unwrap_err()
            .contains("more than"));
        assert_eq!(check_ranges(&many, MAX_RANGES_PER_ANSWER), Ok(()));
        let deep = vec![Range::Items {
            path: vec![0u8; MAX_PATH + 1],
            items: vec![],
        }];
        assert!(check_ranges(&deep, MAX_RANGES_PER_ANSWER)
            .unwrap_err()
            .contains("invalid range path"));
    }

    fn lookup(set: &[Item]) -> impl FnMut(&[u8]) -> Vec<Item> + '_ {
        move |path: &[u8]| {
            let mut v: Vec<Item> = set.iter().filter(|i| under(path, &i.id)).copied().collect();
            v.sort_by_key(|i| i.id);
            v
        }
    }

    /// Run a whole session between two in-memory sets; return (rounds, a_lacks, b_lacks).
    fn session(a: &[Item], b: &[Item]) -> (usize, Vec<RecordHash>, Vec<RecordHash>) {
        let mut la = lookup(a);
        let mut lb = lookup(b);
        let mut msg = start(&mut la);
        let (mut a_lacks, mut b_lacks, mut rounds) = (vec![], vec![], 0);
        let mut b_turn = true;
        while !msg.is_empty() {
            rounds += 1;
            assert!(rounds < 40, "no termination");
            let out = if b_turn {
                process(&msg, &mut lb)
            } else {
                process(&msg, &mut la)
            };
            if b_turn {
                b_lacks.extend(out.i_lack);
                a_lacks.extend(out.they_lack);
            } else {
                a_lacks.extend(out.i_lack);
                b_lacks.extend(out.they_lack);
            }
            msg = out.ranges;
            b_turn = !b_turn;
        }
        a_lacks.sort();
        b_lacks.sort();
        (rounds, a_lacks, b_lacks)
    }

    #[test]
    fn identical_sets_finish_in_one_round() {
        let a: Vec<Item> = (0..5000).map(|n| item(n, 1)).collect();
        let (rounds, x, y) = session(&a, &a);
        assert_eq!((rounds, x.len(), y.len()), (1, 0, 0));
    }

    #[test]
    fn finds_exactly_the_differences_including_newer_versions() {
        let base: Vec<Item> = (0..20_000).map(|n| item(n, 1)).collect();
        let mut a = base.clone();
        let mut b = base.clone();
        a.push(item(1_000_001, 1)); // only A has it
        b.push(item(2_000_002, 1)); // only B has it
        a[7] = item(7, 2); // A has a newer version of 7
        b[9] = item(9, 3); // B has a newer version of 9
        let (rounds, a_lacks, b_lacks) = session(&a, &b);
        let mut want_a = vec![
            RecordHash(item(2_000_002, 1).hash),
            RecordHash(item(9, 3).hash),
        ];
        let mut want_b = vec![
            RecordHash(item(1_000_001, 1).hash),
            RecordHash(item(7, 2).hash),
        ];
        want_a.sort();
        want_b.sort();
        assert_eq!(a_lacks, want_a);
        assert_eq!(b_lacks, want_b);
        assert!(rounds <= 5, "{rounds} rounds");
    }

    #[test]
    fn empty_side_gets_everything() {
        let a: Vec<Item> = (0..3000).map(|n| item(n, 1)).collect();
        let (_, a_lacks, b_lacks) = session(&a, &[]);
        assert!(a_lacks.is_empty());
        assert_eq!(b_lacks.len(), 3000);
        let (_, a_lacks, b_lacks) = session(&[], &a);
        assert_eq!(a_lacks.len(), 3000);
        assert!(b_lacks.is_empty());
    }

    #[test]
    fn bounded_answers_converge_and_stay_small() {
        // Half of 8000 differ, all on one side: many ranges, answered a budget at a time.
        let a: Vec<Item> = (0..8000).map(|n| item(n, 1)).collect();
        let b: Vec<Item> = (0..4000).map(|n| item(n, 1)).collect();
        let mut la = lookup(&a);
        let mut lb = lookup(&b);
        let mut queue = start(&mut la);
        let (mut a_lacks, mut b_lacks) = (Vec::new(), Vec::new());
        let mut rounds = 0;
        while !queue.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000);
            let n = queue.len().min(MAX_RANGES_PER_MESSAGE);
            let batch: Vec<Range> = queue.drain(..n).collect();
            let (out, done) = process_bounded(&batch, &mut lb, 64 * 1024);
            assert!(outcome_bytes(&out) <= 64 * 1024 + 16 * ITEM_BYTES * ITEMS_ANSWER_LIMIT);
            queue.splice(0..0, batch[done..].iter().cloned());
            b_lacks.extend(out.i_lack);
            a_lacks.extend(out.they_lack);
            let back = process(&out.ranges, &mut la);
            a_lacks.extend(back.i_lack);
            b_lacks.extend(back.they_lack);
            queue.extend(back.ranges);
        }
        b_lacks.sort();
        b_lacks.dedup();
        assert_eq!(b_lacks.len(), 4000);
        assert!(a_lacks.is_empty());
    }

    #[test]
    fn paths_and_prefixes() {
        let d = [0xab; 16];
        assert!(under(&[], &d) && under(&[0xa], &d) && under(&[0xa, 0xb, 0xa], &d));
        assert!(!under(&[0xb], &d));
        assert_eq!(byte_prefix(&[0xa, 0xb, 0xc]), vec![0xab]);
        assert!(valid_path(&[1, 2, 15]) && !valid_path(&[16]) && !valid_path(&[0; 33]));
    }
}
