//! Every rule of DATA-MODEL.md, each shown failing with the path it names.

use serde_json::{json, Value};

use crate::body::{self, Kind};
use crate::vectors::sample_entry;

/// The error text for the sample entry after `edit`, or "ok".
fn entry_err(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = sample_entry();
    edit(&mut v);
    match body::prepare(Kind::Entry, &v) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn sample_entry_is_valid() {
    assert_eq!(entry_err(|_| {}), "ok");
}

#[test]
fn required_fields_and_unknown_fields_are_named() {
    assert_eq!(
        entry_err(|v| {
            v.as_object_mut().unwrap().remove("summary");
        }),
        "missing field `summary`"
    );
    let e = entry_err(|v| v["titel"] = json!({"en": "x"}));
    assert!(e.starts_with("titel: unknown field `titel`"), "{e}");
    assert!(entry_err(|v| v["entry_type"] = json!("gift"))
        .starts_with("entry_type: unknown variant `gift`"));
    assert!(
        entry_err(|v| v["transfer_modes"] = json!(["licence", "barter"]))
            .starts_with("transfer_modes[1]: unknown variant `barter`")
    );
    assert!(entry_err(|v| v["organisation"]["kind"] = json!("club"))
        .starts_with("organisation.kind: unknown variant"));
    assert!(entry_err(|v| v["ipr"] = json!({"status": "pending"}))
        .starts_with("ipr.status: unknown variant"));
}

#[test]
fn classification_codes_are_checked_and_normalised() {
    let e = entry_err(|v| v["classifications"][1] = json!({"scheme": "ipc", "code": "H01M/"}));
    assert!(
        e.starts_with("classifications[1].code: \"H01M/\" is not an IPC code"),
        "{e}"
    );
    let e = entry_err(|v| v["classifications"][0] = json!({"scheme": "abc", "code": "1"}));
    assert_eq!(
        e,
        "classifications[0].scheme: \"abc\" is not a known classification scheme"
    );
    assert_eq!(
        entry_err(|v| v["classifications"] = json!([])),
        "classifications: needs at least one {scheme, code}"
    );
    // prepare() normalises; the signed body then holds the normal form.
    let mut v = sample_entry();
    v["classifications"][0] = json!({"scheme": "ipc", "code": "h01m 10/0525 (2006.01)"});
    let b = body::prepare(Kind::Entry, &v).unwrap();
    assert_eq!(
        b.as_entry().unwrap().classifications[0].code,
        "H01M 10/0525"
    );
    // ...and a receiver refuses a body that is not in normal form.
    let e = body::Body::from_json(Kind::Entry, &v)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("classifications[0].code: \"h01m 10/0525 (2006.01)\" is not in normal form"),
        "{e}"
    );
    let e = entry_err(|v| v["classifications"][1] = v["classifications"][0].clone());
    assert_eq!(e, "classifications[1]: repeats an earlier classification");
}

#[test]
fn language_maps_have_bounds_and_tags() {
    assert_eq!(
        entry_err(|v| v["title"] = json!({})),
        "title: needs at least one language"
    );
    assert_eq!(
        entry_err(|v| v["title"]["en"] = json!("t".repeat(257))),
        "title.en: is 257 characters long, more than 256"
    );
    assert_eq!(
        entry_err(|v| v["title"]["en"] = json!("标".repeat(256))),
        "ok"
    );
    assert_eq!(
        entry_err(|v| v["summary"]["zh"] = json!("摘".repeat(501))),
        "summary.zh: is 501 characters long, more than 500"
    );
    assert_eq!(
        entry_err(|v| v["description"] = json!({"fr": "d".repeat(4001)})),
        "description.fr: is 4001 characters long, more than 4000"
    );
    assert!(entry_err(|v| v["title"]["English"] = json!("x"))
        .starts_with("title.English: \"English\" is not a BCP-47 language tag"));
    assert_eq!(
        entry_err(|v| v["title"]["en"] = json!("  ")),
        "title.en: is empty"
    );
    let many: Vec<String> = (0..11).map(|i| format!("k{i}")).collect();
    assert_eq!(
        entry_err(|v| v["keywords"]["en"] = json!(many)),
        "keywords.en: has 11 items, more than 10"
    );
}

#[test]
fn offers_need_modes_and_maturity_requests_do_not() {
    assert_eq!(
        entry_err(|v| v["transfer_modes"] = json!([])),
        "transfer_modes: an offer needs at least one transfer mode"
    );
    assert_eq!(
        entry_err(|v| {
            v.as_object_mut().unwrap().remove("trl");
        }),
        "trl: an offer needs a maturity level {scheme, level}"
    );
    assert_eq!(
        entry_err(|v| {
            v["entry_type"] = json!("request");
            v["transfer_modes"] = json!([]);
            v.as_object_mut().unwrap().remove("trl");
        }),
        "ok"
    );
    assert_eq!(
        entry_err(|v| v["transfer_modes"] = json!(["licence", "licence"])),
        "transfer_modes: lists a mode twice"
    );
    assert_eq!(
        entry_err(|v| v["trl"] = json!({"scheme": "trl-eu", "level": 10})),
        "trl.level: 10 is outside trl-eu's levels 1-9"
    );
    assert_eq!(
        entry_err(|v| v["trl"] = json!({"scheme": "cn-stage", "level": 6})),
        "trl.level: 6 is outside cn-stage's levels 1-5"
    );
    assert!(
        entry_err(|v| v["trl"] = json!({"scheme": "ipc", "level": 3}))
            .starts_with("trl.scheme: \"ipc\" is not a maturity scale")
    );
}

#[test]
fn organisation_countries_price_and_dates() {
    assert!(entry_err(|v| v["organisation"]["country"] = json!("XX"))
        .starts_with("organisation.country: \"XX\" is not an ISO 3166-1"));
    // region must belong to the country
    assert!(entry_err(|v| v["organisation"]["region"] = json!("KE-30"))
        .starts_with("organisation.region: \"KE-30\" is not an ISO 3166-2 subdivision of \"CN\""));
    assert!(
        entry_err(|v| v["target_countries"] = json!(["KE", "Kenya"]))
            .starts_with("target_countries[1]: \"Kenya\"")
    );
    assert!(entry_err(|v| v["price"]["amount"] = json!("1,200,000"))
        .starts_with("price.amount: \"1,200,000\" is not a decimal amount"));
    assert!(entry_err(|v| v["price"]["amount"] = json!("-5")).starts_with("price.amount"));
    assert!(entry_err(|v| v["price"]["currency"] = json!("yuan")).starts_with("price.currency"));
    assert_eq!(
        entry_err(|v| v["valid_from"] = json!("2026-13-01")),
        "valid_from: \"2026-13-01\" is not a date YYYY-MM-DD"
    );
    assert_eq!(
        entry_err(|v| v["valid_until"] = json!("2026-02-01")),
        "valid_until: 2026-02-01 is before valid_from 2026-03-01"
    );
    assert_eq!(entry_err(|v| v["valid_until"] = json!("2028-03-01")), "ok");
    assert_eq!(
        entry_err(|v| v["valid_until"] = json!("2028-03-02")),
        "valid_until: 2028-03-02 is more than 2 years after valid_from 2026-03-01"
    );
    assert!(
        entry_err(|v| v["scope"] = json!("planet")).starts_with("scope: unknown variant `planet`")
    );
    assert!(entry_err(|v| v["events"] = json!(["bad id"]))
        .starts_with("events[0]: \"bad id\" is not a local id"));
    assert!(entry_err(|v| v["local_id"] = json!("a/b"))
        .starts_with("local_id: \"a/b\" is not a local id"));
}

#[test]
fn several_broken_rules_are_all_reported() {
    let e = entry_err(|v| {
        v["title"] = json!({});
        v["valid_from"] = json!("soon");
    });
    assert_eq!(
        e,
        "title: needs at least one language; valid_from: \"soon\" is not a date YYYY-MM-DD"
    );
}

#[test]
fn mapping_set_rules() {
    let ok = json!({
        "local_id": "m1", "title": {"en": "t"}, "subject_scheme": "gbt4754", "object_scheme": "nace2",
        "mappings": [{"subject": "C3841", "predicate": "broad", "object": "27.20", "confidence": 0.9}]
    });
    assert!(body::prepare(Kind::MappingSet, &ok).is_ok());
    let err = |edit: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        edit(&mut v);
        body::prepare(Kind::MappingSet, &v)
            .map(|_| "ok".to_string())
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(
        err(&|v| v["mappings"][0]["confidence"] = json!(1.5)),
        "mappings[0].confidence: 1.5 is outside [0, 1]"
    );
    assert!(err(&|v| v["mappings"][0]["predicate"] = json!("same"))
        .starts_with("mappings[0].predicate: unknown variant `same`"));
    assert!(err(&|v| v["object_scheme"] = json!("nace"))
        .starts_with("object_scheme: \"nace\" is not a known"));
    assert_eq!(
        err(&|v| v["mappings"] = json!([])),
        "mappings: needs at least one mapping"
    );
    assert!(err(&|v| v["mappings"][0]["object"] = json!("27.20.x"))
        .starts_with("mappings[0].object: \"27.20.x\" is not a"));
    assert!(err(&|v| {
        let m = v["mappings"][0].clone();
        v["mappings"].as_array_mut().unwrap().push(m);
    })
    .starts_with("mappings[1]: repeats"));
}

#[test]
fn event_rules() {
    let ok = json!({
        "local_id": "cacic-2027", "title": {"zh": "中非技术转移对接会", "en": "China-Africa matchmaking"},
        "starts_on": "2027-03-15", "ends_on": "2027-03-17",
        "organiser": {"name": {"zh": "湖北技术交易所"}, "country": "CN"},
        "themes": [{"scheme": "gbt4754", "code": "C3841"}], "mode": "hybrid",
        "venue": {"city": "Wuhan", "country": "CN"}, "participants": []
    });
    assert!(body::prepare(Kind::Event, &ok).is_ok());
    let err = |edit: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        edit(&mut v);
        body::prepare(Kind::Event, &v)
            .map(|_| "ok".to_string())
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(
        err(&|v| v["ends_on"] = json!("2027-03-01")),
        "ends_on: 2027-03-01 is before starts_on 2027-03-15"
    );
    assert_eq!(
        err(&|v| v["ends_on"] = json!("2027-06-01")),
        "ends_on: the event lasts more than 60 days"
    );
    assert_eq!(
        err(&|v| {
            v.as_object_mut().unwrap().remove("venue");
        }),
        "venue: an onsite or hybrid event needs a venue {city, country}"
    );
    assert_eq!(
        err(&|v| {
            v.as_object_mut().unwrap().remove("venue");
            v["mode"] = json!("online");
        }),
        "ok"
    );
    assert!(err(&|v| v["participants"] = json!(["abc"]))
        .starts_with("participants[0]: \"abc\" is not a publisher key"));
}

#[test]
fn a_body_must_be_an_object() {
    let e = body::prepare(Kind::Entry, &json!([1]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "a body must be a JSON object");
}

#[test]
fn received_bodies_must_be_in_normal_form() {
    let ok = body::prepare(Kind::Entry, &sample_entry())
        .unwrap()
        .to_json();
    assert!(body::Body::from_json(Kind::Entry, &ok).is_ok());
    let refuse = |edit: &dyn Fn(&mut Value)| {
        let mut v = ok.clone();
        edit(&mut v);
        body::Body::from_json(Kind::Entry, &v)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refuse(&|v| v["trl"] = json!(["trl-eu", 6])),
        "trl: is not in normal form (must be a JSON object, not an array)"
    );
    assert_eq!(
        refuse(&|v| v["ipr"] = Value::Null),
        "ipr: is not in normal form (this member must be left out when empty or null)"
    );
    assert_eq!(
        refuse(&|v| v["events"] = json!([])),
        "events: is not in normal form (this member must be left out when empty or null)"
    );
}

#[test]
fn whole_number_confidences_are_one_number() {
    let v = json!({
        "local_id": "m1", "title": {"en": "t"}, "subject_scheme": "nace2", "object_scheme": "isic4",
        "mappings": [{"subject": "27.20", "predicate": "exact", "object": "2720", "confidence": 1}]
    });
    let b = body::prepare(Kind::MappingSet, &v).unwrap();
    // What the publisher signs (1.0 as f64) is accepted back by receivers.
    assert!(body::Body::from_json(Kind::MappingSet, &b.to_json()).is_ok());
    assert!(body::Body::from_json(Kind::MappingSet, &v).is_ok());
}
