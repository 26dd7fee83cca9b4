//! Federation anchors with real nodes: hub H publishes a signed membership list
//! naming member M; node N trusts anchor H (and lists H as a member to reach it)
//! but not M. N then admits M with the roles H granted, clipped to N's limits for
//! H; a local deny refuses M although H still lists it; when H replaces its list
//! without M, or withdraws it, M is no longer admitted. Only anchors may publish
//! membership lists, and `trust explain` / `trust list` say which rule decided.

use serde_json::{json, Value};
use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::Keypair;
use techmesh_protocol::time::Timestamp;
use techmesh_tests::{cli, wait_until, Federation, Spec, DEADLINE};

const H: usize = 0;
const M: usize = 1;
const N: usize = 2;

/// N's trust.toml: hub H as a member (to connect and sync) and as an anchor that
/// may grant publish_entries only, with `extra` appended (e.g. a deny).
fn n_trust(f: &Federation, extra: &str) -> String {
    let h = &f.members[H];
    format!(
        "[[member]]\nname = \"Hubei Hub\"\ncountry = \"CN\"\npublisher_keys = [\"{key}\"]\npeer_ids = [\"{peer}\"]\naddresses = [\"/ip4/127.0.0.1/tcp/{port}\"]\nroles = [\"publish_entries\"]\n\n\
         [[anchor]]\nname = \"Hubei Hub\"\npublisher_key = \"{key}\"\nmax_roles = [\"publish_entries\"]\nmax_receive_scopes = [\"federation\", \"international\"]\n{extra}",
        key = h.publisher,
        peer = h.peer_id,
        port = h.port,
    )
}

/// H's membership list body, naming M (granting more than N allows) when `with_m`.
fn list_body(f: &Federation, with_m: bool) -> Value {
    let m = &f.members[M];
    let members = if with_m {
        json!([{
            "name": "Wuhan Exchange", "country": "CN", "region": "CN-HB",
            "publisher_keys": [m.publisher], "peer_ids": [m.peer_id],
            "addresses": [format!("/ip4/127.0.0.1/tcp/{}", m.port)],
            "roles": ["publish_entries", "publish_events"],
            "receive_scopes": ["federation", "international", "national"],
        }])
    } else {
        json!([])
    };
    json!({"local_id": "hubei-federation", "federation": "Hubei Technology Federation", "members": members})
}

fn explain(f: &Federation, subject: &str) -> Value {
    cli(&f.members[N].dir, &["trust", "explain", subject, "--json"])
        .ok()
        .json()
}

fn connected(f: &Federation, a: usize, b: usize) -> bool {
    f.node(a).connected().contains(&f.members[b].peer_id)
}

fn keypair_of(f: &Federation, i: usize) -> Keypair {
    let text = std::fs::read_to_string(f.members[i].dir.join("keys/publisher.key")).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).unwrap();
    Keypair::from_seed(&seed)
}

/// Ingest one signed record into N; its result (status, error).
fn ingest_into_n(f: &Federation, record: &[u8]) -> Value {
    let (s, v) = f.node(N).post(
        "/v1/ingest",
        &json!({"records": [String::from_utf8_lossy(record)]}),
    );
    assert_eq!(s, 200, "{v}");
    v[0].clone()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn anchor_lists_admit_members_within_limits_and_local_denies_win() {
    // H and M know everyone; N's own list is replaced below.
    let mut f = Federation::init(
        &[
            Spec::new("hub", "CN"),
            Spec::new("wuhan", "CN"),
            Spec::new("node", "CN"),
        ],
        &[(H, M), (H, N), (M, N)],
    );
    let n_toml = f.members[N].dir.join("trust.toml");
    std::fs::write(&n_toml, n_trust(&f, "")).unwrap();
    for i in [H, M, N] {
        f.start_node(i);
    }
    wait_until("N connected to H", DEADLINE, || {
        (connected(&f, N, H), f.node(N).connected())
    });
    // Before any list, N refuses M: not in its trust list.
    let x = explain(&f, &f.members[M].publisher);
    assert_eq!(x["admitted"], false, "{x}");
    assert!(
        x["rule"]
            .as_str()
            .unwrap()
            .contains("not in the trust list"),
        "{x}"
    );
    assert!(!connected(&f, N, M));

    // H publishes its list with `techmesh publish FILE` (the kind is detected).
    wait_until("H's seq confirmed by a peer", DEADLINE, || {
        let s = f.node(H).status();
        (s["seq_confirmed_by_peer"] == true, s["peers"].clone())
    });
    let file = f.members[H].dir.join("membership.json");
    std::fs::write(&file, list_body(&f, true).to_string()).unwrap();
    let published = cli(&f.members[H].dir, &["publish", file.to_str().unwrap()])
        .ok()
        .json();
    let list_id = f.id(H, "membership", "hubei-federation");
    assert_eq!(published["id"], list_id.as_str(), "{published}");

    // N takes the list from its anchor, admits M and connects to it.
    wait_until("N connected to M through H's list", DEADLINE, || {
        (connected(&f, N, M), f.node(N).connected())
    });
    let x = explain(&f, &f.members[M].publisher);
    assert_eq!(x["admitted"], true, "{x}");
    assert_eq!(
        x["rule"],
        "admitted by anchor \"Hubei Hub\" list hubei-federation seq 1"
    );
    // H granted publish_events and national too: above N's limit for H, clipped.
    assert_eq!(x["roles"], json!(["publish_entries"]), "{x}");
    assert_eq!(
        x["receive_scopes"],
        json!(["federation", "international"]),
        "{x}"
    );
    assert_eq!(
        x["source"]["clipped"],
        json!(["role publish_events", "receive_scopes national"])
    );
    let by_peer = explain(&f, &f.members[M].peer_id);
    assert_eq!(by_peer["member"], "Wuhan Exchange");
    // M's entries reach N; its events are refused (publish_events was clipped).
    let e = f.node(M).publish(&crate::entry("wh-1", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("M's entry on N", DEADLINE, || (f.node(N).has(&e), ()));
    let m_key = keypair_of(&f, M);
    let event = body::prepare(
        Kind::Event,
        &json!({"local_id": "ev-1", "title": {"en": "Matchmaking"}, "starts_on": "2027-03-01",
                "ends_on": "2027-03-02", "organiser": {"name": {"en": "Wuhan"}, "country": "CN"},
                "mode": "online"}),
    )
    .unwrap();
    let ev = m_key.sign(90, Timestamp(now()), event).unwrap();
    let r = ingest_into_n(&f, ev.bytes());
    assert_eq!(r["status"], "refused", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("may not publish event"),
        "{r}"
    );
    // A membership list from M, which is no anchor, is refused.
    let fake = body::prepare(Kind::Membership, &list_body(&f, true)).unwrap();
    let fake = m_key.sign(91, Timestamp(now()), fake).unwrap();
    let r = ingest_into_n(&f, fake.bytes());
    assert_eq!(r["status"], "refused", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("not a trusted anchor"),
        "{r}"
    );
    // `trust list` says which rule admitted whom.
    let list = cli(&f.members[N].dir, &["trust", "list"]).ok().stdout;
    assert!(
        list.contains("Wuhan Exchange\tCN\troles=publish_entries\tmappings=\tkeys=")
            && list.contains("admitted by anchor \"Hubei Hub\" list hubei-federation seq 1")
            && list.contains("admitted by local member \"Hubei Hub\""),
        "{list}"
    );

    // A local deny wins: M is refused and disconnected though H still lists it.
    let deny = format!(
        "\n[[deny]]\npublisher_key = \"{}\"\nreason = \"contract ended\"\n",
        f.members[M].publisher
    );
    std::fs::write(&n_toml, n_trust(&f, &deny)).unwrap();
    let reload = cli(&f.members[N].dir, &["trust", "reload"]).ok().json();
    assert_eq!(reload["report"]["removed"], json!(["Wuhan Exchange"]));
    wait_until("N disconnected from M", DEADLINE, || {
        (!connected(&f, N, M), f.node(N).connected())
    });
    let x = explain(&f, &f.members[M].publisher);
    assert_eq!(x["admitted"], false);
    assert_eq!(x["rule"], "refused by local rule deny[0] (contract ended)");
    let later = body::prepare(Kind::Entry, &crate::entry("wh-2", "federation")).unwrap();
    let later = m_key.sign(92, Timestamp(now()), later).unwrap();
    let r = ingest_into_n(&f, later.bytes());
    assert_eq!(r["status"], "refused", "{r}");
    assert!(r["error"].as_str().unwrap().contains("deny[0]"), "{r}");
    let list = cli(&f.members[N].dir, &["trust", "list"]).ok().stdout;
    assert!(
        list.contains("REFUSED Wuhan Exchange\tlisted by anchor \"Hubei Hub\" list hubei-federation seq 1\tlocal rule deny[0] (contract ended)"),
        "{list}"
    );

    // Without the deny M is back; then H replaces its list without M: M is out.
    std::fs::write(&n_toml, n_trust(&f, "")).unwrap();
    cli(&f.members[N].dir, &["trust", "reload"]).ok();
    wait_until("N reconnected to M", DEADLINE, || {
        (connected(&f, N, M), f.node(N).connected())
    });
    f.node(H).publish(&list_body(&f, false));
    wait_until("M no longer admitted by N", DEADLINE, || {
        let x = explain(&f, &f.members[M].publisher);
        (x["admitted"] == false, x)
    });
    wait_until("N disconnected from M again", DEADLINE, || {
        (!connected(&f, N, M), f.node(N).connected())
    });
    let x = explain(&f, &f.members[M].publisher);
    assert!(
        x["rule"]
            .as_str()
            .unwrap()
            .contains("not in the trust list"),
        "{x}"
    );
    // The recomputation is audited with the members it removed.
    let audit = cli(&f.members[N].dir, &["trust", "audit", "--limit", "1000"])
        .ok()
        .stdout;
    let refreshes: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "anchors.refresh")
        .collect();
    assert!(
        refreshes
            .iter()
            .any(|e| e["before"]["Wuhan Exchange"].is_object() && e["actor"] == "anchor-list"),
        "{refreshes:?}"
    );

    // H withdraws its list: N holds no list from H any more.
    cli(
        &f.members[H].dir,
        &["withdraw", "membership/hubei-federation"],
    )
    .ok();
    wait_until("the withdrawal reached N", DEADLINE, || {
        let a = cli(&f.members[N].dir, &["trust", "anchors"]).ok().json();
        let lists = a["anchors"][0]["lists"].clone();
        (lists == json!([]), lists)
    });
    let r = f.node(N).get(&format!("/v1/record?id={list_id}")).1;
    assert!(
        r["record"].as_str().unwrap_or("").contains("tombstone"),
        "{r}"
    );
}
