//! Writes the seed inputs that need the crates to produce: CBOR sync requests and
//! responses and federated queries (as the node sends them) into
//! `CORPUS/sync_messages/` and `CORPUS/query_messages/`, and `node.toml`
//! / `trust.toml` texts into `CORPUS/config_files/`. `scripts/fuzz.sh seed` runs it
//! (the other seeds are copied from docs/vectors and scripts/demo-data).

use serde_bytes::ByteBuf;
use techmesh_protocol::query::{Query, QueryRequest, QueryResponse};
use techmesh_protocol::sync::{Fingerprint, Item, Range, SyncRequest, SyncResponse};

fn write<T: serde::Serialize>(dir: &std::path::Path, name: &str, msg: &T) {
    let bytes = cbor4ii::serde::to_vec(Vec::new(), msg).expect("encoding a seed");
    std::fs::write(dir.join(name), bytes).expect("writing a seed");
}

fn main() {
    let corpus =
        std::path::PathBuf::from(std::env::args().nth(1).expect("usage: seeds CORPUS_DIR"));
    config_seeds(&corpus.join("config_files"));
    query_seeds(&corpus.join("query_messages"));
    let dir = corpus.join("sync_messages");
    std::fs::create_dir_all(&dir).expect("creating the seed dir");
    let item = |n: u8| Item {
        id: [n; 16],
        seq: u64::from(n) + 1,
        hash: [n.wrapping_mul(7); 32],
    };
    let fp = Fingerprint {
        count: 3,
        xor: [0x5a; 16],
    };
    write(
        &dir,
        "req-root-fp",
        &SyncRequest::Reconcile {
            ranges: vec![Range::Fp { path: vec![], fp }],
        },
    );
    write(
        &dir,
        "req-items",
        &SyncRequest::Reconcile {
            ranges: vec![
                Range::Items {
                    path: vec![1, 2],
                    items: vec![item(0x12), item(0x12 + 1)],
                },
                Range::Fp { path: vec![3], fp },
            ],
        },
    );
    write(
        &dir,
        "req-deep-path",
        &SyncRequest::Reconcile {
            ranges: vec![Range::Items {
                path: vec![0xa; 32],
                items: vec![item(0xaa)],
            }],
        },
    );
    write(
        &dir,
        "req-fetch",
        &SyncRequest::Fetch {
            hashes: vec![ByteBuf::from(vec![1u8; 32]), ByteBuf::from(vec![2u8; 32])],
        },
    );
    write(
        &dir,
        "req-push",
        &SyncRequest::Push {
            records: vec![ByteBuf::from(b"{\"v\":1}".to_vec())],
        },
    );
    write(
        &dir,
        "req-watermark",
        &SyncRequest::Watermark { publisher: [3; 32] },
    );
    write(
        &dir,
        "resp-reconcile",
        &SyncResponse::Reconcile {
            processed: 2,
            ranges: vec![
                Range::Fp {
                    path: vec![4, 5],
                    fp,
                },
                Range::Items {
                    path: vec![6],
                    items: vec![item(0x60)],
                },
            ],
            records: vec![ByteBuf::from(b"{}".to_vec())],
            offer: vec![ByteBuf::from(vec![9u8; 32])],
            need: vec![ByteBuf::from(vec![8u8; 32])],
        },
    );
    // A range one nibble deeper than a whole digest, under an item the receiver
    // holds: `sync::under` once indexed past the digest on it (found by this target).
    let held = techmesh_fuzz::sync_items()[0];
    let mut deep: Vec<u8> = held.id.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect();
    deep.push(0);
    write(
        &dir,
        "resp-too-deep-path",
        &SyncResponse::Reconcile {
            processed: 1,
            ranges: vec![Range::Items {
                path: deep,
                items: vec![held],
            }],
            records: vec![],
            offer: vec![],
            need: vec![],
        },
    );
    write(
        &dir,
        "resp-records",
        &SyncResponse::Records {
            records: vec![ByteBuf::from(b"{}".to_vec())],
            remaining: 4,
        },
    );
    write(
        &dir,
        "resp-pushed",
        &SyncResponse::Pushed {
            accepted: 1,
            refused: 2,
        },
    );
    write(
        &dir,
        "resp-watermark",
        &SyncResponse::Watermark { seq: Some(17) },
    );
    write(
        &dir,
        "resp-busy",
        &SyncResponse::Busy {
            retry_after_ms: 250,
        },
    );
    write(
        &dir,
        "resp-refused",
        &SyncResponse::Refused {
            reason: "over a bound".into(),
        },
    );
}

/// A trust list exercising every member field (docs/OPERATIONS.md §2).
const TRUST: &str = r#"[[member]]
name = "Guangdong Technology Exchange"
country = "CN"
region = "CN-GD"
publisher_keys = ["af3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714"]
peer_ids = ["12D3KooWGzCkLHR7xMM6Gn3cKDvzDJrYBmFqqMkRYRn7YW7Ur3zd"]
addresses = ["/ip4/203.0.113.7/tcp/7700"]
roles = ["publish_entries", "publish_events"]
publish_mappings = ["gbt4754->nace2"]
receive_scopes = ["federation", "national"]
on_removal = "purge"
allow_rotation = true
revoked = [{ key = "0f3d20264f9c26ef085b5ce537f417d424037a0963a6386ff6d050e5bf773714", as_of = "2026-11-01T00:00:00Z", reason = "laptop stolen" }]

[[member]]
name = "Kenya observer"
country = "KE"
publisher_keys = []
roles = ["observer"]
"#;

fn config_seeds(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("creating the seed dir");
    let node =
        techmesh_config::NodeConfig::default_text("Hubei Technology Exchange", "CN", Some("CN-HB"));
    std::fs::write(dir.join("node.toml"), node).expect("writing a seed");
    let plain = techmesh_config::NodeConfig::default_text("Kenya", "KE", None);
    std::fs::write(dir.join("node-no-region.toml"), plain).expect("writing a seed");
    std::fs::write(dir.join("trust.toml"), TRUST).expect("writing a seed");
    std::fs::write(dir.join("trust-empty.toml"), "").expect("writing a seed");
}

fn query_seeds(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("creating the seed dir");
    let params = [("q", "锂电"), ("class", "ipc:H01M"), ("type", "offer")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    write(
        dir,
        "req-search",
        &QueryRequest {
            query: Query::Search { params },
            limit: 20,
            deadline_ms: 3000,
        },
    );
    let entry = r#"{"local_id":"r1","entry_type":"request","title":{"en":"battery recycling"},"classifications":[{"scheme":"ipc","code":"H01M 10/54"}]}"#;
    write(
        dir,
        "req-match",
        &QueryRequest {
            query: Query::Match {
                entry: entry.into(),
                today: Some("2026-11-28".into()),
            },
            limit: 5,
            deadline_ms: 10_000,
        },
    );
    let record = std::fs::read("../docs/vectors/valid-entry.json")
        .ok()
        .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
        .and_then(|v| v["record"].as_str().map(|s| s.as_bytes().to_vec()))
        .unwrap_or_default();
    write(
        dir,
        "resp-records",
        &QueryResponse::Records {
            records: vec![ByteBuf::from(record)],
            total: 7,
            truncated: true,
        },
    );
    write(
        dir,
        "resp-refused",
        &QueryResponse::refused("too many requests"),
    );
}
