//! Who may call the admin API (tokens), `techmesh trust` over it, and the audit of
//! every call, read-only ones included.

use super::*;

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
