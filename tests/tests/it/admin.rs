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
fn revocation_as_of_a_time_refuses_later_records_and_keeps_earlier_ones() {
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[],
    );
    f.start_node(0);
    let gd = keypair_of(&f, 1);
    let t = now();
    let early = signed(&gd, 1, "early", t - 7200);
    let late = signed(&gd, 2, "late", t - 60);
    assert_eq!(ingest(f.node(0), &early)["status"], "inserted");
    assert_eq!(ingest(f.node(0), &late)["status"], "inserted");
    let as_of = Timestamp(t - 3600).to_string();
    let (s, v) = admin(
        f.node(0),
        "POST",
        "/admin/v1/members/guangdong/revoke",
        Some(json!({"as_of": as_of, "reason": "key compromised"})),
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["report"]["purged"]["guangdong"], 1, "{v}");
    assert_eq!(v["after"]["revoked"][0]["as_of"], as_of.as_str());
    let early_id = f.id(1, "entry", "early");
    let (_, held) = f.node(0).get(&format!("/v1/record?id={early_id}"));
    assert_eq!(held["publisher_status"], "member");
    assert!(!f.node(0).has(&f.id(1, "entry", "late")));
    // Later records under the key are refused, from any path; earlier ones are not.
    let r = ingest(f.node(0), &late);
    assert_eq!(r["status"], "refused");
    assert!(
        r["error"].as_str().unwrap().contains("revoked as of"),
        "{r}"
    );
    assert_eq!(
        ingest(f.node(0), &signed(&gd, 3, "now", t))["status"],
        "refused"
    );
    assert_eq!(
        ingest(f.node(0), &signed(&gd, 4, "older", t - 5000))["status"],
        "inserted"
    );
    // Revoking twice is a conflict; the file says what is in force.
    let (s, _) = admin(
        f.node(0),
        "POST",
        "/admin/v1/members/guangdong/revoke",
        Some(json!({})),
        None,
    );
    assert_eq!(s, 409);
    let trust = std::fs::read_to_string(f.members[0].dir.join("trust.toml")).unwrap();
    assert!(trust.contains(&format!("as_of = \"{as_of}\"")), "{trust}");
    // It survives a restart (trust.toml is the source of truth).
    f.node_mut(0).restart();
    assert_eq!(
        ingest(f.node(0), &signed(&gd, 5, "again", t))["status"],
        "refused"
    );
    let last = audit(f.node(0))
        .into_iter()
        .rev()
        .find(|e| e["result"] == "ok")
        .unwrap();
    assert_eq!(last["action"], "members.revoke");
    assert_eq!(last["before"]["revoked"], json!([]));
}

#[test]
fn key_rotation_is_accepted_where_allowed_and_refused_otherwise() {
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("sichuan", "CN"),
        ],
        &[],
    );
    let text = f.trust_text(0).replace(
        "name = \"guangdong\"\n",
        "name = \"guangdong\"\nallow_rotation = true\n",
    );
    std::fs::write(f.members[0].dir.join("trust.toml"), text).unwrap();
    f.start_node(0);
    let tmp = tempfile::tempdir().unwrap();
    let old_gd = keypair_of(&f, 1);
    let before_rotation = signed(&old_gd, 1, "before-rotation", now() - 600);
    // Guangdong rotates (its node stopped).
    let st = tmp.path().join("gd-rotation.json");
    let out = cli(
        &f.members[1].dir,
        &["trust", "rotate", "--out", st.to_str().unwrap()],
    )
    .ok()
    .json();
    assert_eq!(out["old_key"], f.members[1].publisher.as_str());
    let new_gd = keypair_of(&f, 1);
    assert_eq!(new_gd.public().to_hex(), out["new_key"].as_str().unwrap());
    let retired = out["retired_key_file"].as_str().unwrap();
    assert_eq!(
        keypair_file(std::path::Path::new(retired)).public(),
        old_gd.public()
    );
    // Its new records are refused until the rotation is accepted.
    let first_new = signed(&new_gd, 1, "new-key-1", now());
    assert_eq!(ingest(f.node(0), &first_new)["status"], "refused");
    // A tampered statement is refused.
    let mut forged: Value = serde_json::from_str(&std::fs::read_to_string(&st).unwrap()).unwrap();
    forged["new_key"] = json!(keypair_of(&f, 2).public().to_hex());
    let forged_file = tmp.path().join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let r = cli(
        &f.members[0].dir,
        &["trust", "accept-rotation", forged_file.to_str().unwrap()],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("signature"), "{}", r.stderr);
    // Accepted: the new key is added, the old one stays listed and is retired.
    let accepted = cli(
        &f.members[0].dir,
        &["trust", "accept-rotation", st.to_str().unwrap()],
    )
    .ok()
    .json();
    assert_eq!(accepted["target"], "guangdong");
    let keys = &accepted["after"]["publisher_keys"];
    assert_eq!(keys.as_array().map(Vec::len), Some(2), "{accepted}");
    assert_eq!(
        accepted["after"]["revoked"][0]["key"],
        f.members[1].publisher.as_str()
    );
    assert_eq!(ingest(f.node(0), &first_new)["status"], "inserted");
    assert_eq!(ingest(f.node(0), &before_rotation)["status"], "inserted");
    let after_rotation = signed(&old_gd, 2, "old-key-after", now() + 60);
    assert_eq!(ingest(f.node(0), &after_rotation)["status"], "refused");
    // The same statement again: the new key is already listed.
    let again = cli(
        &f.members[0].dir,
        &["trust", "accept-rotation", st.to_str().unwrap()],
    );
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already listed"), "{}", again.stderr);
    // Sichuan may not rotate here.
    let sc = tmp.path().join("sc-rotation.json");
    cli(
        &f.members[2].dir,
        &["trust", "rotate", "--out", sc.to_str().unwrap()],
    )
    .ok();
    let r = cli(
        &f.members[0].dir,
        &["trust", "accept-rotation", sc.to_str().unwrap()],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("allow_rotation") && r.stderr.contains("403"),
        "{}",
        r.stderr
    );
    let sc_new = keypair_of(&f, 2);
    assert_eq!(
        ingest(f.node(0), &signed(&sc_new, 1, "sc-new", now()))["status"],
        "refused"
    );
    // A running node's key is not rotated under it.
    let busy = cli(
        &f.members[0].dir,
        &[
            "trust",
            "rotate",
            "--out",
            tmp.path().join("x.json").to_str().unwrap(),
        ],
    );
    assert_ne!(busy.code, 0);
    assert!(busy.stderr.contains("stop it first"), "{}", busy.stderr);
    let actions: Vec<(String, String)> = audit(f.node(0))
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("rotation.accept".into(), "failed".into()),
            ("rotation.accept".into(), "ok".into()),
            ("rotation.accept".into(), "failed".into()),
            ("rotation.accept".into(), "failed".into()),
        ]
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

#[test]
fn admin_calls_without_or_with_a_wrong_token_change_nothing_and_are_audited() {
    let mut f = Federation::init(
        &[Spec::new("hubei", "CN"), Spec::new("guangdong", "CN")],
        &[],
    );
    use std::os::unix::fs::PermissionsExt;
    let tok = f.members[0].dir.join("admin.token");
    assert_eq!(
        std::fs::metadata(&tok).unwrap().permissions().mode() & 0o777,
        0o600
    );
    f.start_node(0);
    let n = f.node(0);
    let path = n.dir.join("trust.toml");
    let before = std::fs::read_to_string(&path).unwrap();
    let api_token = std::fs::read_to_string(n.dir.join("api.token")).unwrap();
    let calls: Vec<(&str, &str, Option<Value>)> = vec![
        ("GET", "/admin/v1/members", None),
        (
            "POST",
            "/admin/v1/members",
            Some(json!({"name": "x", "country": "CN"})),
        ),
        ("DELETE", "/admin/v1/members/guangdong", None),
        (
            "POST",
            "/admin/v1/members/guangdong/revoke",
            Some(json!({})),
        ),
        ("POST", "/admin/v1/reload", None),
        ("GET", "/admin/v1/peers", None),
        (
            "POST",
            "/admin/v1/peers/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/disconnect",
            None,
        ),
        ("GET", "/admin/v1/audit", None),
        ("POST", "/admin/v1/rotations", Some(json!({}))),
        ("GET", "/admin/v1/anchors", None),
        (
            "GET",
            "/admin/v1/explain?peer=12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
            None,
        ),
    ];
    for (method, p, body) in &calls {
        for token in ["", "not-the-token", api_token.trim()] {
            let (s, v) = admin(n, method, p, body.clone(), Some(token));
            assert_eq!(s, 401, "{method} {p} with {token:?}: {v}");
        }
    }
    // The admin token is not a publishing token either.
    let (s, _) = n.post_with(
        "/v1/publish",
        &json!({"bodies": [crate::entry("x", "federation")]}),
        Some(&admin_token(n)),
    );
    assert_eq!(s, 401);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    let (_, members) = admin(n, "GET", "/admin/v1/members", None, None);
    assert_eq!(members[0]["name"], "guangdong");
    let a = audit(n);
    assert_eq!(a.len(), calls.len() * 3, "{a:?}");
    assert!(a.iter().all(|e| e["result"] == "refused"));
    let actors: std::collections::BTreeSet<&str> =
        a.iter().filter_map(|e| e["actor"].as_str()).collect();
    assert_eq!(actors, ["unauthenticated", "wrong-token"].into());
    assert!(a
        .iter()
        .any(|e| e["action"] == "members.remove" && e["target"] == "guangdong"));
    let raw = std::fs::read_to_string(n.dir.join("audit.jsonl")).unwrap();
    assert!(!raw.contains(api_token.trim()) && !raw.contains("not-the-token"));
}

#[test]
fn trust_cli_commands_use_the_admin_api() {
    let mut f = Federation::init(
        &[
            Spec::new("hubei", "CN"),
            Spec::new("guangdong", "CN"),
            Spec::new("sichuan", "CN"),
        ],
        &[],
    );
    let d = f.members[0].dir.clone();
    std::fs::write(d.join("trust.toml"), "").unwrap();
    let r = cli(&d, &["trust", "list"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no node is running"), "{}", r.stderr);
    f.start_node(0);
    let sc = f.members[2].publisher.clone();
    let bad = cli(
        &d,
        &[
            "trust",
            "add",
            "--name",
            "Sichuan",
            "--country",
            "China",
            "--publisher-key",
            &sc,
        ],
    );
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("member[0].country"), "{}", bad.stderr);
    let added = cli(
        &d,
        &[
            "trust",
            "add",
            "--name",
            "Sichuan Exchange",
            "--country",
            "CN",
            "--region",
            "CN-SC",
            "--publisher-key",
            &sc,
            "--role",
            "publish_entries",
            "--publish-mappings",
            "gbt4754->nace2",
            "--on-removal",
            "purge",
        ],
    )
    .ok()
    .json();
    assert_eq!(added["report"]["added"], json!(["Sichuan Exchange"]));
    let list = cli(&d, &["trust", "list"]).ok().stdout;
    assert!(
        list.contains("Sichuan Exchange\tCN\troles=publish_entries"),
        "{list}"
    );
    let listed = cli(&d, &["trust", "list", "--json"]).ok().json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    cli(
        &d,
        &[
            "trust",
            "revoke",
            "Sichuan Exchange",
            "--as-of",
            "2030-01-01T00:00:00Z",
        ],
    )
    .ok();
    cli(&d, &["trust", "reload"]).ok();
    let removed = cli(&d, &["trust", "remove", "Sichuan Exchange"])
        .ok()
        .json();
    assert_eq!(removed["before"]["on_removal"], "purge");
    let missing = cli(&d, &["trust", "remove", "Sichuan Exchange"]);
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);
    let peers = cli(&d, &["trust", "peers"]).ok().json();
    assert!(peers.is_array());
    let why = cli(&d, &["trust", "explain", &sc]).ok().stdout;
    assert!(why.starts_with("REFUSED: not in the trust list"), "{why}");
    let lines = cli(&d, &["trust", "audit"]).ok().stdout;
    let entries: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "members.add",
            "members.add",
            "members.list",
            "anchors.list",
            "members.list",
            "members.revoke",
            "reload",
            "members.remove",
            "members.remove",
            "peers.list",
            "explain",
        ]
    );
    assert!(entries.iter().all(|e| e["operator"].is_string()));
    let trust = std::fs::read_to_string(d.join("trust.toml")).unwrap();
    assert!(!trust.contains("Sichuan"), "{trust}");
}

#[test]
fn read_only_admin_calls_are_audited() {
    let mut f = Federation::init(&[Spec::new("hubei", "CN")], &[]);
    f.start_node(0);
    let n = f.node(0);
    let me = n.publisher.clone();
    for p in [
        "/admin/v1/members".to_string(),
        "/admin/v1/peers".to_string(),
        "/admin/v1/anchors".to_string(),
        format!("/admin/v1/explain?key={me}"),
        "/admin/v1/audit?limit=3".to_string(),
    ] {
        let (s, v) = admin(n, "GET", &p, None, None);
        assert_eq!(s, 200, "{p}: {v}");
    }
    let a = audit_all(n);
    let reads: Vec<(&str, &str)> = a
        .iter()
        .filter(|e| e["result"] == "ok")
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reads,
        [
            ("members.list", ""),
            ("peers.list", ""),
            ("anchors.list", ""),
            ("explain", me.as_str()),
            ("audit.view", ""),
        ]
    );
    for e in &a {
        assert!(e["actor"].as_str().unwrap().starts_with("token:"), "{e}");
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert_eq!(e["before"], Value::Null);
    }
    let explain = a.iter().find(|e| e["action"] == "explain").unwrap();
    assert_eq!(explain["details"]["rule"], "this node's own publisher key");
    let view = a.last().unwrap();
    assert_eq!(view["details"], json!({"limit": 3, "entries": 3}));
    // Neither key nor peer (or both): refused as a bad request, and audited.
    let (s, _) = admin(n, "GET", "/admin/v1/explain", None, None);
    assert_eq!(s, 400);
    let last = audit_all(n).into_iter().last().unwrap();
    assert_eq!(
        (&last["action"], &last["result"]),
        (&json!("explain"), &json!("failed"))
    );
}
