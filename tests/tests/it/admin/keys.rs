//! Key revocation as of a time and key rotation, through the admin API.

use super::*;

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
