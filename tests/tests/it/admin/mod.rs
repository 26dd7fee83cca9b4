//! Trust-list administration: the admin API and `techmesh trust`, hot reload
//! (SIGHUP and API), removal (keep / purge), key revocation and rotation, the
//! query-only observer, tokens and the audit log (read-only calls included).

use serde_json::{json, Value};
use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::Keypair;
use techmesh_protocol::time::Timestamp;
use techmesh_tests::{cli, wait_until, Federation, Node, Spec, DEADLINE};

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

fn admin_token(n: &Node) -> String {
    std::fs::read_to_string(n.dir.join("admin.token"))
        .unwrap()
        .trim()
        .into()
}

/// An admin call: `token` None = the node's admin token, Some("") = no token.
fn admin(
    n: &Node,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let url = format!("http://{}{path}", n.admin);
    let mut req = match method {
        "GET" => http().get(url),
        "DELETE" => http().delete(url),
        _ => http().post(url),
    };
    match token {
        None => req = req.bearer_auth(admin_token(n)),
        Some("") => {}
        Some(t) => req = req.bearer_auth(t),
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().expect("admin call");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// Every audit entry, reads included.
fn audit_all(n: &Node) -> Vec<Value> {
    let (s, v) = admin(n, "GET", "/admin/v1/audit?limit=1000", None, None);
    assert_eq!(s, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

/// Read-only actions: audited too (`read_only_admin_calls_are_audited`).
const READS: [&str; 5] = [
    "members.list",
    "peers.list",
    "audit.view",
    "anchors.list",
    "explain",
];

/// The audit log without the successful read-only calls: what changed or was refused.
fn audit(n: &Node) -> Vec<Value> {
    audit_all(n)
        .into_iter()
        .filter(|e| !(e["result"] == "ok" && READS.iter().any(|r| e["action"] == *r)))
        .collect()
}

fn keypair_file(path: &std::path::Path) -> Keypair {
    let text = std::fs::read_to_string(path).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).unwrap();
    Keypair::from_seed(&seed)
}

fn keypair_of(f: &Federation, i: usize) -> Keypair {
    keypair_file(&f.members[i].dir.join("keys/publisher.key"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A record of `kp` (JSON text) with this seq, local id and issue time.
fn signed(kp: &Keypair, seq: u64, local_id: &str, at: i64) -> String {
    let b = body::prepare(Kind::Entry, &crate::entry(local_id, "federation")).unwrap();
    let r = kp.sign(seq, Timestamp(at), b).unwrap();
    String::from_utf8(r.bytes().to_vec()).unwrap()
}

fn ingest(n: &Node, record: &str) -> Value {
    let (s, v) = n.post("/v1/ingest", &json!({"records": [record]}));
    assert_eq!(s, 200, "{v}");
    v[0].clone()
}

fn two_linked() -> Federation {
    let f = Federation::start(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[(0, 1)],
    );
    wait_until("hubei and guangdong connected", DEADLINE, || {
        let c = f.node(0).connected();
        (c.contains(&f.members[1].peer_id), c)
    });
    f
}

#[test]
fn removed_member_is_disconnected_at_once_its_records_marked_and_new_ones_refused() {
    let f = two_linked();
    let id = f.node(1).publish(&crate::entry("gd-1", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("gd-1 on hubei", DEADLINE, || (f.node(0).has(&id), ()));
    assert_eq!(
        f.node(0).get(&format!("/v1/record?id={id}")).1["publisher_status"],
        "member"
    );
    let (s, v) = admin(
        f.node(0),
        "DELETE",
        "/admin/v1/members/guangdong",
        None,
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["report"]["removed"], json!(["guangdong"]));
    assert_eq!(v["report"]["disconnected"], json!([f.members[1].peer_id]));
    assert_eq!(v["before"]["name"], "guangdong");
    assert_eq!(v["after"], Value::Null);
    let trust = std::fs::read_to_string(f.members[0].dir.join("trust.toml")).unwrap();
    assert!(!trust.contains("guangdong"), "{trust}");
    wait_until("guangdong disconnected from hubei", DEADLINE, || {
        let c = f.node(0).connected();
        (!c.contains(&f.members[1].peer_id), c)
    });
    // Kept (the default) and marked.
    let (s, held) = f.node(0).get(&format!("/v1/record?id={id}"));
    assert_eq!(s, 200);
    assert_eq!(held["publisher_status"], "former member");
    let listed = f.node(0).get("/v1/records").1;
    assert_eq!(listed[0]["publisher_status"], "former member", "{listed}");
    // Its new records are refused.
    let new = f.node(1).publish(&crate::entry("gd-2", "federation"));
    let (_, raw) = f
        .node(1)
        .get(&format!("/v1/record?id={}", new["id"].as_str().unwrap()));
    let r = ingest(f.node(0), raw["record"].as_str().unwrap());
    assert_eq!(r["status"], "refused", "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("not in the trust list"),
        "{r}"
    );
    assert!(f.node(0).log().contains("peer no longer in the trust list"));
    let a = audit(f.node(0));
    let last = a.last().unwrap();
    assert_eq!(last["action"], "members.remove");
    assert_eq!(last["target"], "guangdong");
    assert_eq!(last["result"], "ok");
    assert_eq!(
        last["before"]["publisher_keys"][0],
        f.members[1].publisher.as_str()
    );
    assert!(
        last["actor"].as_str().unwrap().starts_with("token:"),
        "{last}"
    );
}

#[test]
fn purge_on_removal_by_sighup_deletes_the_members_records() {
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[(0, 1)],
    );
    let text = f.trust_text(0).replace(
        "name = \"guangdong\"\n",
        "name = \"guangdong\"\non_removal = \"purge\"\n",
    );
    std::fs::write(f.members[0].dir.join("trust.toml"), text).unwrap();
    f.start_node(0);
    f.start_node(1);
    let mine = f.node(0).publish(&crate::entry("hb-1", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids: Vec<String> = (0..2)
        .map(|i| {
            f.node(1)
                .publish(&crate::entry(&format!("gd-{i}"), "federation"))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    wait_until("guangdong's records on hubei", DEADLINE, || {
        (ids.iter().all(|id| f.node(0).has(id)), f.node(0).total())
    });
    std::fs::write(f.members[0].dir.join("trust.toml"), "").unwrap();
    f.node(0).hup();
    wait_until("guangdong's records purged from hubei", DEADLINE, || {
        (f.node(0).total() == 1, f.node(0).total())
    });
    assert!(f.node(0).has(&mine));
    assert!(!f.node(0).has(&ids[0]));
    wait_until("guangdong disconnected", DEADLINE, || {
        let c = f.node(0).connected();
        (c.is_empty(), c)
    });
    let reload = wait_until("the SIGHUP reload audited", DEADLINE, || {
        let r = audit(f.node(0))
            .into_iter()
            .rev()
            .find(|e| e["action"] == "reload");
        (r.is_some(), r)
    })
    .unwrap();
    assert_eq!(reload["actor"], "sighup");
    assert_eq!(reload["details"]["purged"]["guangdong"], 2, "{reload}");
    assert_eq!(reload["before"]["guangdong"]["on_removal"], "purge");
    // The store stays consistent (checked with the node stopped).
    f.stop_node(0);
    let check = cli(&f.members[0].dir, &["check"]).ok();
    assert!(check.stdout.contains("0 problem(s)"), "{}", check.stdout);
}

#[test]
fn broken_trust_file_is_refused_and_the_old_list_keeps_running() {
    let f = two_linked();
    let path = f.members[0].dir.join("trust.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, good.replace("\"publish_events\"", "\"admin\"")).unwrap();
    let (s, v) = admin(f.node(0), "POST", "/admin/v1/reload", None, None);
    assert_eq!(s, 422, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("trust.toml:") && e.contains("member[0].roles: unknown role \"admin\""),
        "{e}"
    );
    f.node(0).hup();
    wait_until("SIGHUP reload refused and audited", DEADLINE, || {
        let a = audit(f.node(0));
        let seen = a
            .iter()
            .any(|e| e["actor"] == "sighup" && e["result"] == "failed");
        (seen, a.len())
    });
    assert!(f.node(0).log().contains("trust list NOT reloaded"));
    // A change through the API while the file is broken is refused too.
    let (s, _) = admin(
        f.node(0),
        "DELETE",
        "/admin/v1/members/guangdong",
        None,
        None,
    );
    assert_eq!(s, 409);
    // The old list is in force: still connected, new records still accepted.
    assert!(f.node(0).connected().contains(&f.members[1].peer_id));
    let id = f
        .node(1)
        .publish(&crate::entry("after-broken", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until("new record on hubei", DEADLINE, || (f.node(0).has(&id), ()));
    // A contradictory addition is refused and the file stays as it was.
    std::fs::write(&path, &good).unwrap();
    let (s, v) = admin(
        f.node(0),
        "POST",
        "/admin/v1/members",
        Some(json!({"name": "impostor", "country": "CN",
                    "publisher_keys": [f.members[1].publisher], "roles": ["publish_entries"]})),
        None,
    );
    assert_eq!(s, 422, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("member[1].publisher_keys")
            && e.contains("already listed under member \"guangdong\""),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    let (_, members) = admin(f.node(0), "GET", "/admin/v1/members", None, None);
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
    let failed: Vec<String> = audit(f.node(0))
        .iter()
        .filter(|e| e["result"] == "failed")
        .filter_map(|e| e["action"].as_str().map(String::from))
        .collect();
    assert_eq!(
        failed,
        ["reload", "reload", "members.remove", "members.add"]
    );
}

#[test]
fn observer_may_not_publish_or_replicate() {
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("observer", "CN")],
        &[(0, 1)],
    );
    let o = &f.members[1];
    let hubei_trust = format!(
        "[[member]]\nname = \"observer\"\ncountry = \"CN\"\npublisher_keys = [{:?}]\npeer_ids = [{:?}]\naddresses = [\"/ip4/127.0.0.1/tcp/{}\"]\nroles = [\"observer\"]\n",
        o.publisher, o.peer_id, o.port
    );
    std::fs::write(f.members[0].dir.join("trust.toml"), hubei_trust).unwrap();
    // Hubei syncs with nobody (an observer never replicates), so no peer can confirm
    // its seq: let it publish without.
    let cfg = f.members[0].dir.join("node.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "allow_publish_without_peer_seq = false",
        "allow_publish_without_peer_seq = true",
    );
    std::fs::write(&cfg, text).unwrap();
    // The observer signs a record of its own while offline.
    let tmp = tempfile::tempdir().unwrap();
    let body_file = tmp.path().join("o.json");
    std::fs::write(&body_file, crate::entry("obs-1", "federation").to_string()).unwrap();
    cli(&f.members[1].dir, &["publish", body_file.to_str().unwrap()]).ok();
    f.start_node(0);
    f.start_node(1);
    wait_until("observer connected to hubei", DEADLINE, || {
        let c = f.node(0).connected();
        (c.contains(&f.members[1].peer_id), c)
    });
    let hubei_peer = f.members[0].peer_id.clone();
    let sessions = || {
        f.node(1).peer_info(&hubei_peer)["sync"]["sessions"]
            .as_u64()
            .unwrap_or(0)
    };
    let id = f.node(0).publish(&crate::entry("hb-obs", "federation"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s0 = sessions();
    let info = wait_until(
        "two sync attempts of the observer after the publish, refused",
        DEADLINE,
        || {
            let i = f.node(1).peer_info(&hubei_peer);
            let done = i["sync"]["sessions"].as_u64().unwrap_or(0) >= s0 + 2;
            (done, i)
        },
    );
    assert!(
        info["sync"]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("observers do not replicate"),
        "{info}"
    );
    assert!(
        !f.node(1).has(&id),
        "the observer received a record\nOBS LOG:\n{}\nHUBEI LOG:\n{}",
        f.node(1).log(),
        f.node(0).log()
    );
    assert!(!f.node(0).has(&f.id(1, "entry", "obs-1")));
    // Its records are refused by policy from any path.
    let (_, raw) = f
        .node(1)
        .get(&format!("/v1/record?id={}", f.id(1, "entry", "obs-1")));
    let r = ingest(f.node(0), raw["record"].as_str().unwrap());
    assert_eq!(r["status"], "refused", "{r}");
    assert!(
        r["error"].as_str().unwrap().contains("may not publish"),
        "{r}"
    );
}

mod access;
mod keys;
