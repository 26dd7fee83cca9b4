//! The checks behind each fuzz target (`fuzz_targets/*.rs` are one-line wrappers),
//! kept in a library so they can also be run over the corpora as plain tests.
//!
//! Every function takes arbitrary bytes, must never panic, and asserts the
//! invariants that must hold whenever the input is accepted (round trips, bounds).

use std::path::Path;

use serde_json::Value;
use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::canonical;
use techmesh_protocol::record::{Identity, Keypair, Record, RecordHash, VerifyOptions};
use techmesh_protocol::sync::{
    self, Item, Range, SyncRequest, SyncResponse, FANOUT, MAX_RANGES_PER_MESSAGE,
};
use techmesh_protocol::time::Timestamp;

/// The verifier's clock in every target: inputs may be "from the future" of it.
const NOW: Timestamp = Timestamp(1_800_000_000);
/// Tolerated clock skew (the node's default order of magnitude).
const SKEW_SECS: u64 = 300;
/// Items of the synthetic store a sync message is processed against.
const SYNC_ITEMS: usize = 600;
/// Output budget of one sync answer (bytes), as the node gives `process_bounded`.
const SYNC_BUDGET: usize = 64 * 1024;
/// Longest JSONL line the import accepts (2 × the record limit, as the CLI).
const MAX_LINE_BYTES: usize = 2 * techmesh_protocol::record::MAX_RECORD_BYTES;

fn opts() -> VerifyOptions {
    VerifyOptions {
        now: NOW,
        max_future_skew_secs: SKEW_SECS,
    }
}

/// A record decoded from untrusted bytes: accepted only if canonical, and then it
/// names exactly those bytes; its identity and body survive a round trip.
pub fn record_verify(data: &[u8]) {
    let trusted = Record::decode_trusted(data);
    // The fast decoder (canonical scan, typed body from the bytes) must agree with
    // the exact one (JSON tree, canonical comparison, normal-form check).
    let exact = Record::decode_trusted_exact(data);
    match (&trusted, &exact) {
        (Ok(t), Ok(e)) => {
            assert_eq!(t.bytes(), e.bytes());
            assert_eq!(
                (t.publisher, t.seq, t.issued_at),
                (e.publisher, e.seq, e.issued_at)
            );
            assert_eq!(t.body, e.body);
        }
        (Err(t), Err(e)) => assert_eq!(t, e),
        _ => panic!("fast and exact decoders disagree: {trusted:?} vs {exact:?}"),
    }
    let verified = Record::verify(data, &opts());
    if let Ok(v) = &verified {
        let t = trusted
            .as_ref()
            .expect("a record that verifies must also decode");
        assert_eq!(v.hash(), t.hash());
    }
    let Ok(r) = trusted else { return };
    assert_eq!(r.bytes(), data, "a decoded record keeps its exact bytes");
    assert_eq!(r.hash(), RecordHash::of(data));
    let value = canonical::decode_strict(data).expect("a decoded record is canonical");
    assert_eq!(canonical::encode(&value), data);
    let id = r.identity();
    assert_eq!(Identity::from_key(&id.key()).as_ref(), Some(&id));
    assert_eq!(Identity::parse(&id.to_string()).as_ref(), Some(&id));
    let json = r.body.to_json();
    let again = Body::from_json(r.kind(), &json).expect("a decoded body parses again");
    assert_eq!(again.to_json(), json, "body JSON round trip");
}

/// Deterministic pseudo-random bytes (splitmix64), for the synthetic sync store.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A store of [`SYNC_ITEMS`] items sorted by id (what the node's store returns).
pub fn sync_items() -> Vec<Item> {
    let mut s = 7u64;
    let mut items: Vec<Item> = (0..SYNC_ITEMS)
        .map(|_| {
            let mut id = [0u8; 16];
            let mut hash = [0u8; 32];
            for c in id.chunks_mut(8).chain(hash.chunks_mut(8)) {
                c.copy_from_slice(&splitmix(&mut s).to_le_bytes());
            }
            Item {
                id,
                seq: splitmix(&mut s) % 8 + 1,
                hash,
            }
        })
        .collect();
    items.sort_by_key(|i| i.id);
    items
}

fn round_trip<T>(msg: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = cbor4ii::serde::to_vec(Vec::new(), msg).expect("encoding a decoded message");
    let back: T = cbor4ii::serde::from_slice(&bytes).expect("decoding a re-encoded message");
    assert_eq!(&back, msg, "CBOR round trip");
}

/// Process ranges against the synthetic store; check the answer's bounds.
fn process_ranges(ranges: &[Range], items: &[Item], budget: usize) {
    let mut under = |path: &[u8]| -> Vec<Item> {
        items
            .iter()
            .filter(|it| sync::under(path, &it.id))
            .copied()
            .collect()
    };
    let (out, answered) = sync::process_bounded(ranges, &mut under, budget);
    assert!(answered <= ranges.len());
    assert!(
        ranges.is_empty() || answered >= 1,
        "at least one range is answered"
    );
    assert!(
        out.ranges.len() <= answered * usize::from(FANOUT),
        "{} ranges answer {answered}",
        out.ranges.len()
    );
    let mine: std::collections::HashSet<[u8; 32]> = items.iter().map(|i| i.hash).collect();
    assert!(out.they_lack.iter().all(|h| mine.contains(&h.0)));
}

/// A sync request or response decoded from untrusted CBOR: it re-encodes to itself;
/// a request within the server's bounds is answered within its budget; the ranges of
/// a response are processed as the initiating side does.
pub fn sync_messages(data: &[u8]) {
    let items = sync_items();
    if let Ok(req) = cbor4ii::serde::from_slice::<SyncRequest>(data) {
        round_trip(&req);
        if let SyncRequest::Sketch {
            count,
            strata,
            cells,
        } = &req
        {
            // The server's size check first, then its step (peel or size a table).
            if sync::sketch::check_sketch(strata, cells).is_ok() {
                let _ = sync::sketch::answer_sketch(*count, strata, cells, &items);
            }
        }
        if let SyncRequest::Reconcile { ranges } = &req {
            // The server's checks (node/src/sync/server.rs) come first.
            if ranges.len() <= MAX_RANGES_PER_MESSAGE
                && ranges.iter().all(|r| sync::valid_path(r.path()))
            {
                process_ranges(ranges, &items, SYNC_BUDGET / 2);
            }
        }
    }
    if let Ok(resp) = cbor4ii::serde::from_slice::<SyncResponse>(data) {
        round_trip(&resp);
        if let SyncResponse::Table { cells, from, data } = &resp {
            // The initiator's checks (node/src/sync/session.rs), then it peels.
            let per_message = sync::sketch::cells_per_message(SYNC_BUDGET);
            let len = (data.len() / sync::iblt::CELL_BYTES) as u64;
            if sync::sketch::check_table(*cells, *from, len, per_message).is_ok() {
                if let Ok(mut t) = sync::iblt::Iblt::new(*cells as usize) {
                    if t.fill(*from as usize, data).is_ok() {
                        let _ = sync::sketch::read_table(&t, &items);
                    }
                }
            }
        }
        if let SyncResponse::Reconcile { ranges, .. } = &resp {
            // The initiator (node/src/sync/session.rs) processes what came back.
            process_ranges(ranges, &items, usize::MAX);
        }
    }
}

/// `node.toml` and `trust.toml` parsing: any text gives a config or an error that
/// can be displayed (with its line and column).
pub fn config_files(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match techmesh_config::NodeConfig::parse(Path::new("node.toml"), text) {
        Ok(cfg) => {
            let _ = cfg.country();
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match techmesh_config::trust::parse(Path::new("trust.toml"), text) {
        Ok(list) => assert_eq!(list.clone(), list),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// One line of a JSONL import, checked as `techmesh import` checks it
/// (node/src/cli/records.rs): size, JSON, then a signed record is verified and a
/// body is prepared. A body that prepares must sign, verify and read back equal.
fn import_line(line: &[u8], key: &Keypair) {
    let Ok(text) = std::str::from_utf8(line) else {
        return;
    };
    if text.trim().is_empty() || text.len() > MAX_LINE_BYTES {
        return;
    }
    let text = text.trim_end_matches('\r');
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    if value.get("sig").is_some() && value.get("publisher").is_some() {
        record_verify(text.as_bytes());
        return;
    }
    let kind = body::detect_kind(&value);
    let Ok(b) = body::prepare(kind, &value) else {
        return;
    };
    let json = b.to_json();
    match key.sign(1, NOW, b) {
        Ok(r) => {
            let back = Record::verify(r.bytes(), &opts()).expect("own record verifies");
            assert_eq!(back.body.to_json(), json, "body survives signing");
            assert_eq!(back.kind() == Kind::Tombstone, kind == Kind::Tombstone);
        }
        Err(techmesh_protocol::error::RecordError::TooLarge { .. }) => {}
        Err(e) => panic!("a prepared body failed to sign: {e}"),
    }
}

/// A JSONL import file: every line through [`import_line`].
pub fn jsonl_import(data: &[u8]) {
    let key = Keypair::from_seed(&[42; 32]);
    for line in data.split(|&b| b == b'\n') {
        import_line(line, &key);
    }
}

/// SSSOM/TSV: any text parses to a mapping set or to displayable errors; a parsed
/// set written back parses again and writes identically.
pub fn sssom_parse(data: &[u8]) {
    use techmesh_protocol::sssom;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match sssom::parse("fuzz.sssom.tsv", text) {
        Ok(set) => {
            let written = sssom::write(&set);
            let again = sssom::parse("written.sssom.tsv", &written).unwrap_or_else(|e| {
                panic!(
                    "written SSSOM does not parse:\n{}\n{written}",
                    sssom::display_errors(&e)
                )
            });
            assert_eq!(sssom::write(&again), written, "writing is stable");
        }
        Err(errors) => assert!(!sssom::display_errors(&errors).is_empty()),
    }
}

/// A federated query request or answer decoded from untrusted CBOR
/// (protocol/src/query.rs): it re-encodes to itself; a request within its bounds has
/// a bounded answer cap and its matchmaking subject is checked like any entry body;
/// every record of an answer goes through [`record_verify`]; refusal reasons are cut
/// to their bound.
pub fn query_messages(data: &[u8]) {
    use techmesh_protocol::query::{
        Query, QueryRequest, QueryResponse, MAX_ANSWER_RECORDS, MAX_REASON_BYTES,
    };
    if let Ok(req) = cbor4ii::serde::from_slice::<QueryRequest>(data) {
        round_trip(&req);
        if req.validate().is_ok() {
            assert!((1..=MAX_ANSWER_RECORDS).contains(&req.answer_cap()));
            if let Query::Match { entry, .. } = &req.query {
                if let Ok(v) = serde_json::from_str::<Value>(entry) {
                    let _ = body::prepare(Kind::Entry, &v);
                }
            }
        }
    }
    if let Ok(resp) = cbor4ii::serde::from_slice::<QueryResponse>(data) {
        round_trip(&resp);
        let asked = QueryRequest {
            query: Query::Search {
                params: Default::default(),
            },
            limit: 10,
            deadline_ms: 1000,
        };
        match &resp {
            QueryResponse::Records { records, .. } => {
                if resp.check_cap(&asked).is_ok() {
                    assert!(records.len() <= asked.answer_cap());
                    records.iter().for_each(|r| record_verify(r));
                }
            }
            QueryResponse::Refused { reason } => {
                let QueryResponse::Refused { reason: cut } = QueryResponse::refused(reason.clone())
                else {
                    unreachable!("refused() builds a refusal");
                };
                assert!(cut.len() <= MAX_REASON_BYTES && reason.starts_with(&cut));
            }
        }
    }
}
