//! Peers that should not get in, and members that misbehave.

use serde_json::json;
use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::Keypair;
use techmesh_protocol::time::Timestamp;
use techmesh_tests::{cli, wait_until, Federation, Spec, DEADLINE};

fn keypair_of(f: &Federation, i: usize) -> Keypair {
    let text = std::fs::read_to_string(f.members[i].dir.join("keys/publisher.key")).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).unwrap();
    Keypair::from_seed(&seed)
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
}

#[test]
fn untrusted_peer_can_neither_connect_nor_inject() {
    // X knows A, but A does not list X.
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("intruder", "CN")],
        &[],
    );
    let a = &f.members[0];
    let x_trust = format!(
        "[[member]]\nname = \"hubei\"\ncountry = \"CN\"\npublisher_keys = [{:?}]\npeer_ids = [{:?}]\naddresses = [\"/ip4/127.0.0.1/tcp/{}\"]\nroles = [\"publish_entries\"]\n",
        a.publisher, a.peer_id, a.port
    );
    std::fs::write(f.members[1].dir.join("trust.toml"), x_trust).unwrap();
    std::fs::write(f.members[0].dir.join("trust.toml"), "").unwrap();
    // X signs a record of its own while offline (direct store access).
    let tmp = tempfile::tempdir().unwrap();
    let body = tmp.path().join("x.json");
    std::fs::write(&body, crate::entry("intrusion-1", "federation").to_string()).unwrap();
    cli(&f.members[1].dir, &["publish", body.to_str().unwrap()]).ok();
    f.start_node(0);
    f.start_node(1);
    let x_peer = f.members[1].peer_id.clone();
    wait_until(
        "A logs the refused connection with X's peer id",
        DEADLINE,
        || {
            let log = f.node(0).log();
            (
                log.contains("refused incoming connection") && log.contains(&x_peer),
                (),
            )
        },
    );
    assert!(!f.node(0).connected().contains(&x_peer));
    assert!(f.node(1).connected().is_empty());
    // X's records never reach A, not even through the API's signed import.
    let (_, raw) = f.node(1).get(&format!(
        "/v1/record?id={}",
        f.id(1, "entry", "intrusion-1")
    ));
    let (_, v) = f
        .node(0)
        .post("/v1/ingest", &json!({"records": [raw["record"]]}));
    assert_eq!(v[0]["status"], "refused", "{v}");
    assert_eq!(f.node(0).total(), 0);
}

#[test]
fn forged_record_is_neither_stored_nor_forwarded_and_the_sender_is_penalised() {
    // A–B–C, and F (a trusted member gone bad) linked to B.
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("sichuan", "CN"),
            Spec::new("forger", "CN"),
        ],
        &[(0, 1), (1, 2), (1, 3)],
    );
    for i in 0..3 {
        f.start_node(i);
    }
    let original = f
        .node(0)
        .publish(&crate::entry("forge-target", "federation"));
    let id = original["id"].as_str().unwrap().to_string();
    wait_until("record on C", DEADLINE, || (f.node(2).has(&id), ()));
    // Tamper with A's record (valid shape, canonical, broken signature)...
    let (_, raw) = f.node(0).get(&format!("/v1/record?id={id}"));
    let forged = raw["record"]
        .as_str()
        .unwrap()
        .replace("Si/C-anode", "Fake-anode");
    // ...and sign an honest record of F's own, sent right after it.
    let tmp = tempfile::tempdir().unwrap();
    let honest = tmp.path().join("honest.json");
    std::fs::write(
        &honest,
        crate::entry("forger-honest", "federation").to_string(),
    )
    .unwrap();
    let fdir = f.members[3].dir.clone();
    cli(&fdir, &["publish", honest.to_str().unwrap()]).ok();
    let export = tmp.path().join("f.jsonl");
    cli(&fdir, &["export", export.to_str().unwrap()]).ok();
    let honest_line = std::fs::read_to_string(&export).unwrap();
    let lines = tmp.path().join("inject.jsonl");
    std::fs::write(&lines, format!("{forged}\n{honest_line}")).unwrap();
    let b_addr = format!(
        "/ip4/127.0.0.1/tcp/{}/p2p/{}",
        f.members[1].port, f.members[1].peer_id
    );
    cli(
        &fdir,
        &[
            "debug-inject",
            "--peer",
            &b_addr,
            "--topic",
            "techmesh/v1/federation",
            lines.to_str().unwrap(),
        ],
    )
    .ok();
    // The honest record travels B → C: by then the forged one had its chance too.
    let honest_id = f.id(3, "entry", "forger-honest");
    wait_until("F's honest record on C", DEADLINE, || {
        (f.node(2).has(&honest_id), ())
    });
    for n in [1, 2] {
        let held = f.node(n).get(&format!("/v1/record?id={id}")).1;
        assert_eq!(
            held["hash"], original["hash"],
            "node {n} holds a forged version"
        );
    }
    let info = f.node(1).peer_info(&f.members[3].peer_id);
    assert!(
        info["strikes"].as_u64().unwrap_or(0) >= 1,
        "forger not penalised: {info}"
    );
    assert!(f.node(1).log().contains("invalid record in gossip"));
}

#[test]
fn equivocation_is_detected_kept_as_evidence_and_does_not_split_the_federation() {
    let f = Federation::start(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("sichuan", "CN"),
        ],
        &[(0, 1), (1, 2)],
    );
    let first = f.node(0).publish(&crate::entry("eq-1", "federation"));
    let seq = first["seq"].as_u64().unwrap();
    let id = first["id"].as_str().unwrap().to_string();
    wait_until("record on C", DEADLINE, || (f.node(2).has(&id), ()));
    // A's key signs a different record under the same seq (a buggy or compromised publisher).
    let mut other = crate::entry("eq-1", "federation");
    other["title"]["en"] = "a second, different version".into();
    let rec = keypair_of(&f, 0)
        .sign(seq, now(), body::prepare(Kind::Entry, &other).unwrap())
        .unwrap();
    let twin = String::from_utf8(rec.bytes().to_vec()).unwrap();
    let (_, v) = f.node(2).post("/v1/ingest", &json!({"records": [twin]}));
    assert!(
        matches!(v[0]["status"].as_str(), Some("replaced" | "stale")),
        "{v}"
    );
    let ev = f.node(2).status()["equivocations"].clone();
    assert_eq!(ev.as_array().map(Vec::len), Some(1), "{ev}");
    assert_eq!(ev[0]["seq"], seq);
    assert_eq!(ev[0]["hashes"].as_array().map(Vec::len), Some(2));
    // Every node settles on the same winner (the lower hash).
    let winner = std::cmp::min(
        first["hash"].as_str().unwrap().to_string(),
        rec.hash().to_hex(),
    );
    wait_until("same winner everywhere", DEADLINE, || {
        let h: Vec<String> = (0..3)
            .map(|n| {
                f.node(n).get(&format!("/v1/record?id={id}")).1["hash"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        (h.iter().all(|x| *x == winner), h)
    });
}
