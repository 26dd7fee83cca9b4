//! The translation rules, each shown on real codes.

use super::*;

// ---- the real chain and the inverse -----------------------------------------------------

#[test]
fn real_chain_gbt4754_to_nace2_to_isic4() {
    let t = demo_translator();
    let r = tr(&t, Gbt4754, "C3841", Isic4);
    assert_eq!(brief(&r), ["2720 broad 0.9"]);
    assert_eq!(r[0].confidence, 0.9 * 1.0);
    assert_eq!(
        r[0].chain,
        [
            Step {
                set: set_id(1, "gbt4754-nace2-2026"),
                subject_scheme: Gbt4754,
                subject: "C3841".into(),
                applied_to: None,
                predicate: Broad,
                object_scheme: Nace2,
                object: "27.20".into(),
                confidence: 0.9,
                inverted: false,
            },
            Step {
                set: set_id(1, "nace2-isic4-2026"),
                subject_scheme: Nace2,
                subject: "27.20".into(),
                applied_to: None,
                predicate: Exact,
                object_scheme: Isic4,
                object: "2720".into(),
                confidence: 1.0,
                inverted: false,
            },
        ]
    );
    assert_eq!(chain_predicate(&r[0].chain), Some(Broad));
    // One step is enough for NACE; a non-normal spelling of the query works too.
    assert_eq!(brief(&tr(&t, Gbt4754, "c3841", Nace2)), ["27.20 broad 0.9"]);
    // Broad then broad stays broad: M7320 → 72.19 → 7210.
    assert_eq!(brief(&tr(&t, Gbt4754, "M7320", Isic4)), ["7210 broad 0.9"]);
    let json = r[0].to_json();
    assert_eq!(json["chain"][1]["predicate"], "exact");
    assert_eq!(json["predicate"], "broad");
}

#[test]
fn inverse_steps_walk_a_set_backwards() {
    let t = demo_translator();
    let r = tr(&t, Nace2, "27.20", Gbt4754);
    assert_eq!(brief(&r), ["C3841 narrow 0.9", "C3849 narrow 0.85"]);
    let step = &r[0].chain[0];
    assert!(step.inverted);
    assert_eq!(
        (step.subject.as_str(), step.predicate, step.object.as_str()),
        ("27.20", Narrow, "C3841")
    );
    // Two inverted steps: 2720 exact 27.20 narrow C3841.
    let r = tr(&t, Isic4, "2720", Gbt4754);
    assert_eq!(brief(&r), ["C3841 narrow 0.9", "C3849 narrow 0.85"]);
    assert!(r[0].chain.iter().all(|s| s.inverted));
    assert_eq!(r[0].chain[0].predicate, Exact);
    // exact, close and related are symmetric.
    assert_eq!(brief(&tr(&t, Nace2, "62.01", Gbt4754)), ["I6513 close 0.8"]);
    assert_eq!(
        brief(&tr(&t, Nace2, "30.30", Gbt4754)),
        ["C3963 related 0.6"]
    );
}

#[test]
fn predicate_algebra() {
    for p in [Exact, Close, Broad, Narrow, Related] {
        assert_eq!(inverse(inverse(p)), p);
        assert_eq!(compose(Exact, p), Some(p));
        assert_eq!(compose(p, Exact), Some(p));
    }
    assert_eq!(inverse(Broad), Narrow);
    assert_eq!(compose(Broad, Broad), Some(Broad));
    assert_eq!(compose(Narrow, Narrow), Some(Narrow));
    for (a, b) in [
        (Broad, Narrow),
        (Narrow, Broad),
        (Close, Close),
        (Related, Related),
        (Close, Broad),
        (Broad, Related),
        (Related, Close),
    ] {
        assert_eq!(compose(a, b), None, "{a:?} then {b:?}");
    }
}

// ---- hierarchy ------------------------------------------------------------------------

#[test]
fn ipc_hierarchy_coverage() {
    let t = demo_translator();
    let r = tr(&t, Ipc, "H01M 10/0525", Wipo35);
    assert_eq!(brief(&r), ["1 broad 1"]);
    let step = &r[0].chain[0];
    assert_eq!(step.subject, "H01M");
    assert_eq!(step.applied_to.as_deref(), Some("H01M 10/0525"));
    assert_eq!(step.predicate, Broad);
    assert_eq!(step.effective_predicate(), Some(Broad));
    // Any spelling, any level below the subclass; the subclass itself directly.
    assert_eq!(
        brief(&tr(&t, Ipc, "h01m10/0525 (2006.01)", Wipo35)),
        ["1 broad 1"]
    );
    assert_eq!(brief(&tr(&t, Ipc, "H01M 10", Wipo35)), ["1 broad 1"]);
    let direct = tr(&t, Ipc, "H01M", Wipo35);
    assert_eq!(brief(&direct), ["1 broad 1"]);
    assert_eq!(direct[0].chain[0].applied_to, None);
    // Coverage runs downwards only; a sibling main group is covered by its own mapping.
    assert!(tr(&t, Ipc, "H01", Wipo35).is_empty());
    assert_eq!(brief(&tr(&t, Ipc, "A61K 8/02", Wipo35)), ["14 broad 1"]);
    assert_eq!(brief(&tr(&t, Ipc, "A61K 31/4439", Wipo35)), ["16 broad 1"]);
    assert!(tr(&t, Ipc, "A61K 9/00", Wipo35).is_empty());
    // Reverse: a field lists its IPC subclasses as narrower (not their subgroups).
    let r = tr(&t, Wipo35, "1", Ipc);
    assert_eq!(
        brief(&r),
        ["H01M narrow 1", "H02J narrow 1", "H02S narrow 0.95"]
    );
}

#[test]
fn hierarchy_through_a_chain_and_predicates_on_ancestors() {
    let mut t = demo_translator();
    let cpc_ipc = set(
        "cpc-ipc",
        Cpc,
        Ipc,
        &[("H01M 10/0525", Exact, "H01M 10/0525", 1.0, false)],
    );
    t.add_set(key(1), hash(10), &cpc_ipc).unwrap();
    // cpc H01M 10/0525 exact ipc H01M 10/0525, which H01M broad 1 covers.
    let r = tr(&t, Cpc, "H01M 10/0525", Wipo35);
    assert_eq!(brief(&r), ["1 broad 1"]);
    assert_eq!(r[0].chain.len(), 2);
    assert_eq!(r[0].chain[1].applied_to.as_deref(), Some("H01M 10/0525"));

    // exact on an ancestor → broad; narrow, close, related on an ancestor → nothing.
    let mut t = Translator::new(recognition(&[(1, &[(Ipc, CnTechfield)])]));
    let s = set(
        "ipc-techfield",
        Ipc,
        CnTechfield,
        &[
            ("H01M", Exact, "新能源与高效节能", 0.9, false),
            ("H01M", Narrow, "电子信息", 0.9, false),
            ("H01M", Close, "先进制造", 0.9, false),
            ("H01M", Related, "新材料及其应用", 0.9, false),
        ],
    );
    t.add_set(key(1), hash(1), &s).unwrap();
    assert_eq!(
        brief(&tr(&t, Ipc, "H01M 10/0525", CnTechfield)),
        ["新能源与高效节能 broad 0.9"]
    );
    assert_eq!(tr(&t, Ipc, "H01M", CnTechfield).len(), 4);
}

// ---- negation -------------------------------------------------------------------------

#[test]
fn a_negated_step_blocks_the_chain() {
    let mut t = demo_translator();
    // The NACE/ISIC authority itself says 27.20 is *not* an exact match of 2720.
    let not_exact = set(
        "nace2-isic4-errata",
        Nace2,
        Isic4,
        &[("27.20", Exact, "2720", 1.0, true)],
    );
    t.add_set(key(1), hash(20), &not_exact).unwrap();
    assert!(tr(&t, Gbt4754, "C3841", Isic4).is_empty());
    assert!(tr(&t, Nace2, "27.20", Isic4).is_empty());
    assert!(
        tr(&t, Isic4, "2720", Gbt4754).is_empty(),
        "blocked both ways"
    );
    // Other paths are untouched.
    assert_eq!(brief(&tr(&t, Gbt4754, "M7320", Isic4)), ["7210 broad 0.9"]);
    // Withdrawing the erratum restores the chain.
    assert!(t.remove_set(&set_id(1, "nace2-isic4-errata")));
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Isic4)), ["2720 broad 0.9"]);
}

#[test]
fn a_negated_end_to_end_pair_blocks_a_longer_chain() {
    let mut t = demo_translator();
    let not_broad = set(
        "gbt4754-isic4-negations",
        Gbt4754,
        Isic4,
        &[("C3841", Broad, "2720", 1.0, true)],
    );
    t.add_set(key(1), hash(21), &not_broad).unwrap();
    // C3841 → 27.20 → 2720 would conclude "C3841 broad 2720": blocked.
    assert!(tr(&t, Gbt4754, "C3841", Isic4).is_empty());
    // Read backwards it is "2720 narrow C3841": blocked too.
    assert!(tr(&t, Isic4, "2720", Gbt4754)
        .iter()
        .all(|r| r.code != "C3841"));
    assert_eq!(
        brief(&tr(&t, Isic4, "2720", Gbt4754)),
        ["C3849 narrow 0.85"]
    );
    // The step to NACE itself is not what is negated.
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Nace2)), ["27.20 broad 0.9"]);
    // "not close" does not block a broad conclusion.
    t.remove_set(&set_id(1, "gbt4754-isic4-negations"));
    let not_close = set(
        "gbt4754-isic4-negations",
        Gbt4754,
        Isic4,
        &[("C3841", Close, "2720", 1.0, true)],
    );
    t.add_set(key(1), hash(22), &not_close).unwrap();
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Isic4)), ["2720 broad 0.9"]);
}

#[test]
fn negation_is_about_the_two_codes_only() {
    let mut t = demo_translator();
    // "H01M 10 is not broad-matched to field 1" blocks H01M 10 itself (through the
    // hierarchy it would have been), but does not spread to its subgroups.
    let s = set(
        "ipc-wipo35-neg",
        Ipc,
        Wipo35,
        &[("H01M 10", Broad, "1", 1.0, true)],
    );
    t.add_set(key(1), hash(23), &s).unwrap();
    assert!(tr(&t, Ipc, "H01M 10", Wipo35).is_empty());
    assert_eq!(brief(&tr(&t, Ipc, "H01M 10/0525", Wipo35)), ["1 broad 1"]);
    assert_eq!(brief(&tr(&t, Ipc, "H01M 2/10", Wipo35)), ["1 broad 1"]);
}

// ---- recognition and conflicts -------------------------------------------------------------

#[test]
fn an_unrecognised_authoritys_set_is_ignored() {
    let mut t = Translator::new(recognition(&[(1, &[(Nace2, Isic4)])]));
    // Key 2 is not in the trust list; key 1 is not recognised for gbt4754 → nace2.
    t.add_set(key(2), hash(1), &demo_gbt4754_nace2()).unwrap();
    let mut other = demo_gbt4754_nace2();
    other.local_id = "by-the-wrong-authority".into();
    t.add_set(key(1), hash(2), &other).unwrap();
    t.add_set(key(1), hash(3), &demo_nace2_isic4()).unwrap();
    assert!(tr(&t, Gbt4754, "C3841", Nace2).is_empty());
    assert!(tr(&t, Gbt4754, "C3841", Isic4).is_empty());
    assert_eq!(brief(&tr(&t, Nace2, "27.20", Isic4)), ["2720 exact 1"]);
    let sets = t.sets();
    let view: Vec<(String, bool)> = sets
        .iter()
        .map(|s| (s.id.local_id.clone(), s.recognised))
        .collect();
    assert_eq!(view.len(), 3);
    assert!(view.contains(&("gbt4754-nace2-2026".into(), false)));
    assert!(view.contains(&("by-the-wrong-authority".into(), false)));
    assert!(view.contains(&("nace2-isic4-2026".into(), true)));
    let st = t.status();
    assert_eq!(
        (
            st.sets,
            st.recognised_sets,
            st.unrecognised_sets,
            st.mappings_used
        ),
        (3, 1, 2, 21)
    );
    assert!(sets[0].to_json()["recognised"].is_boolean());

    // The administrators recognise key 2 (from the trust list): the same index now uses it.
    let member = |name: &str, k: u8, p: &[(Scheme, Scheme)]| Member {
        name: name.into(),
        country: "CN".into(),
        region: None,
        publisher_keys: vec![key(k)],
        peer_ids: vec![],
        addresses: vec![],
        roles: Roles {
            publish_mappings: pairs(p),
            ..Roles::default()
        },
        receive_scopes: Default::default(),
        ..Member::default()
    };
    let trust = TrustList {
        members: vec![
            member("nace-authority", 1, &[(Nace2, Isic4)]),
            member("entries-only", 3, &[]),
            member("gbt-authority", 2, &[(Gbt4754, Nace2)]),
        ],
        ..TrustList::default()
    };
    let r = Recognition::from_trust_list(&trust);
    assert_eq!(r.authorities().len(), 2);
    t.set_recognition(r);
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Isic4)), ["2720 broad 0.9"]);
    let gbt = t
        .sets()
        .into_iter()
        .find(|s| s.id.publisher == key(2))
        .unwrap();
    assert_eq!(
        (gbt.recognised, gbt.rank, gbt.authority.as_deref()),
        (true, Some(1), Some("gbt-authority"))
    );
}

#[test]
fn a_conflict_is_resolved_by_priority_and_listed() {
    let a = set("a", Nace2, Isic4, &[("72.19", Broad, "7210", 1.0, false)]);
    // Authority 2 states the opposite direction of containment, from the ISIC side.
    let b = set("b", Isic4, Nace2, &[("7210", Broad, "72.19", 0.7, false)]);
    // Authority 3 agrees with authority 1 (from its side): not a conflict.
    let c = set("c", Isic4, Nace2, &[("7210", Narrow, "72.19", 0.5, false)]);
    let both = [(Nace2, Isic4), (Isic4, Nace2)];
    let build = |order: &[(u8, &[(Scheme, Scheme)])]| {
        let mut t = Translator::new(recognition(order));
        t.add_set(key(2), hash(2), &b).unwrap();
        t.add_set(key(1), hash(1), &a).unwrap();
        t.add_set(key(3), hash(3), &c).unwrap();
        t
    };
    let t = build(&[(1, &both), (2, &both), (3, &both)]);
    assert_eq!(brief(&tr(&t, Nace2, "72.19", Isic4)), ["7210 broad 1"]);
    let conflicts = t.conflicts();
    assert_eq!(conflicts.len(), 1);
    let c0 = &conflicts[0];
    assert_eq!(
        (
            c0.subject_scheme,
            c0.subject.as_str(),
            c0.object_scheme,
            c0.object.as_str()
        ),
        (Nace2, "72.19", Isic4, "7210")
    );
    assert_eq!(c0.winner.len(), 1);
    assert_eq!(
        (
            c0.winner[0].set.local_id.as_str(),
            c0.winner[0].rank,
            c0.winner[0].predicate
        ),
        ("a", 0, Broad)
    );
    assert_eq!(
        c0.overridden.len(),
        1,
        "the agreeing authority is not listed"
    );
    let lost = &c0.overridden[0];
    assert_eq!(
        (
            lost.set.local_id.as_str(),
            lost.rank,
            lost.predicate,
            lost.negated
        ),
        ("b", 1, Narrow, false),
        "oriented as the winner: 72.19 narrow 7210"
    );
    assert_eq!(lost.authority, "authority-2");
    assert_eq!(c0.to_json()["overridden"][0]["predicate"], "narrow");
    assert_eq!(t.status().conflicts, 1);

    // Authority 2 first: its statement wins, shown in its own orientation.
    let t = build(&[(2, &both), (1, &both), (3, &both)]);
    assert_eq!(brief(&tr(&t, Nace2, "72.19", Isic4)), ["7210 narrow 0.7"]);
    let c0 = &t.conflicts()[0];
    assert_eq!(
        (
            c0.subject.as_str(),
            c0.winner[0].predicate,
            c0.winner[0].set.local_id.as_str()
        ),
        ("7210", Broad, "b")
    );
    let lost: Vec<&str> = c0
        .overridden
        .iter()
        .map(|c| c.set.local_id.as_str())
        .collect();
    assert_eq!(lost, ["a", "c"]);

    // A negation from a higher-ranked authority beats a positive mapping, visibly.
    let neg = set("neg", Nace2, Isic4, &[("72.19", Broad, "7210", 1.0, true)]);
    let mut t = build(&[(4, &both), (1, &both), (2, &both), (3, &both)]);
    t.add_set(key(4), hash(4), &neg).unwrap();
    assert!(tr(&t, Nace2, "72.19", Isic4).is_empty());
    let c0 = &t.conflicts()[0];
    assert!(c0.winner[0].negated);
    assert_eq!(c0.overridden.len(), 3);
    // Withdrawing it brings authority 1 back.
    t.remove_set(&set_id(4, "neg"));
    assert_eq!(brief(&tr(&t, Nace2, "72.19", Isic4)), ["7210 broad 1"]);
}

// ---- chaining rules, maturity scales, bounds ---------------------------------------------

#[test]
fn close_and_related_do_not_chain() {
    let mut t = demo_translator();
    // exact passes close / related through...
    assert_eq!(brief(&tr(&t, Gbt4754, "I6513", Isic4)), ["6201 close 0.8"]);
    assert_eq!(
        brief(&tr(&t, Gbt4754, "C3963", Isic4)),
        ["3030 related 0.6"]
    );
    // ...but close∘close, related∘broad and close∘broad give nothing.
    t.set_recognition(recognition(&[(
        1,
        &[
            (Gbt4754, Nace2),
            (Nace2, Isic4),
            (Nace2, CnTechfield),
            (Isic4, CnTechfield),
        ],
    )]));
    let s = set(
        "nace2-techfield",
        Nace2,
        CnTechfield,
        &[
            ("62.01", Close, "电子信息", 1.0, false),
            ("30.30", Broad, "航空航天", 1.0, false),
            ("26.60", Broad, "生物医药和医疗器械", 1.0, false),
        ],
    );
    t.add_set(key(1), hash(30), &s).unwrap();
    assert!(
        tr(&t, Gbt4754, "I6513", CnTechfield).is_empty(),
        "close∘close"
    );
    assert!(
        tr(&t, Gbt4754, "C3963", CnTechfield).is_empty(),
        "related∘broad"
    );
    assert!(
        tr(&t, Gbt4754, "C3581", CnTechfield).is_empty(),
        "close∘broad"
    );
    // A broad chain does go through.
    assert_eq!(
        brief(&tr(&t, Nace2, "30.30", CnTechfield)),
        ["航空航天 broad 1"]
    );
}

#[test]
fn maturity_scales_are_never_equated_without_a_set() {
    let mut t = demo_translator();
    assert!(tr(&t, TrlEu, "5", TrlNasa).is_empty());
    assert!(tr(&t, TrlEu, "TRL 5", Gbt22900).is_empty());
    let s = set(
        "trl-eu-nasa",
        TrlEu,
        TrlNasa,
        &[("5", Close, "5", 1.0, false)],
    );
    t.add_set(key(1), hash(40), &s).unwrap();
    assert_eq!(brief(&tr(&t, TrlEu, "TRL 5", TrlNasa)), ["5 close 1"]);
    assert_eq!(brief(&tr(&t, TrlNasa, "5", TrlEu)), ["5 close 1"]);
    assert!(
        tr(&t, TrlEu, "6", TrlNasa).is_empty(),
        "only the published level"
    );
    assert!(tr(&t, TrlEu, "5", Gbt22900).is_empty());
    assert!(tr(&t, TrlEu, "5", CnStage).is_empty());
}

#[test]
fn depth_bound_and_no_scheme_revisited() {
    let mut t = Translator::new(recognition(&[(
        1,
        &[
            (Gbt4754, Nace2),
            (Nace2, Isic4),
            (Isic4, CnTechfield),
            (CnTechfield, Wipo35),
            (Wipo35, Nace2),
        ],
    )]));
    let sets = [
        set(
            "s1",
            Gbt4754,
            Nace2,
            &[("C3841", Exact, "27.20", 1.0, false)],
        ),
        set("s2", Nace2, Isic4, &[("27.20", Exact, "2720", 1.0, false)]),
        set(
            "s3",
            Isic4,
            CnTechfield,
            &[("2720", Exact, "新能源与高效节能", 1.0, false)],
        ),
        set(
            "s4",
            CnTechfield,
            Wipo35,
            &[("新能源与高效节能", Exact, "1", 1.0, false)],
        ),
        // A cycle back into NACE.
        set("s5", Wipo35, Nace2, &[("1", Exact, "27.20", 1.0, false)]),
    ];
    for (i, s) in sets.iter().enumerate() {
        t.add_set(key(1), hash(i as u64), s).unwrap();
    }
    assert_eq!(
        brief(&tr(&t, Gbt4754, "C3841", CnTechfield)),
        ["新能源与高效节能 exact 1"]
    );
    // Four steps to wipo35 on the long path, but the cycle gives a two-step one.
    let r = tr(&t, Gbt4754, "C3841", Wipo35);
    assert_eq!(brief(&r), ["1 exact 1"]);
    assert_eq!(r[0].chain.len(), 2, "shortest of equally confident paths");
    let deep = t.translate(
        Gbt4754,
        "C3841",
        Wipo35,
        &TranslateOptions {
            max_depth: 1,
            ..TranslateOptions::default()
        },
    );
    assert!(deep.is_empty());
    // No path re-enters a scheme: nothing maps gbt4754 to itself.
    assert!(tr(&t, Gbt4754, "C3841", Gbt4754).is_empty());
    for target in [Nace2, Isic4, CnTechfield, Wipo35] {
        for r in tr(&t, Gbt4754, "C3841", target) {
            let mut seen = vec![Gbt4754];
            for s in &r.chain {
                assert!(!seen.contains(&s.object_scheme), "{r:?}");
                seen.push(s.object_scheme);
            }
        }
    }
}

#[test]
fn best_path_wins_and_options_apply() {
    let mut t = demo_translator();
    // A direct gbt4754 → isic4 mapping, less confident than the chain.
    let direct = set(
        "gbt-isic",
        Gbt4754,
        Isic4,
        &[("C3841", Exact, "2720", 0.5, false)],
    );
    t.add_set(key(1), hash(50), &direct).unwrap();
    let r = tr(&t, Gbt4754, "C3841", Isic4);
    assert_eq!(brief(&r), ["2720 broad 0.9"]);
    assert_eq!(r[0].chain.len(), 2);
    let opts = TranslateOptions {
        min_confidence: 0.95,
        ..TranslateOptions::default()
    };
    assert!(t.translate(Gbt4754, "C3841", Isic4, &opts).is_empty());
    let r = t.translate(
        Nace2,
        "27.20",
        Gbt4754,
        &TranslateOptions {
            limit: Some(1),
            ..TranslateOptions::default()
        },
    );
    assert_eq!(brief(&r), ["C3841 narrow 0.9"]);
    // Not a code of the scheme, or an unknown code: nothing.
    assert!(tr(&t, Gbt4754, "3841", Isic4).is_empty());
    assert!(tr(&t, Gbt4754, "C9999", Isic4).is_empty());
}

#[test]
fn sets_are_replaced_and_removed_incrementally() {
    let mut t = demo_translator();
    let mut v2 = demo_nace2_isic4();
    assert_eq!(t.add_set(key(1), hash(1), &v2), Ok(AddOutcome::Unchanged));
    v2.mappings[0].confidence = Some(0.5);
    assert_eq!(t.add_set(key(1), hash(99), &v2), Ok(AddOutcome::Replaced));
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Isic4)), ["2720 broad 0.45"]);
    assert!(t.remove_set(&set_id(1, "nace2-isic4-2026")));
    assert!(!t.remove_set(&set_id(1, "nace2-isic4-2026")));
    assert!(tr(&t, Gbt4754, "C3841", Isic4).is_empty());
    assert_eq!(t.sets().len(), 2);
    // Codes are normalised on the way in; bad ones are refused with their place.
    let raw = set("raw", Nace2, Isic4, &[("2720", Exact, "2720", 1.0, false)]);
    t.add_set(key(1), hash(7), &raw).unwrap();
    assert_eq!(brief(&tr(&t, Nace2, "27.20", Isic4)), ["2720 exact 1"]);
    let bad = set(
        "bad",
        Nace2,
        Isic4,
        &[("27.20", Exact, "27.20", 1.0, false)],
    );
    let err = t.add_set(key(1), hash(8), &bad).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("mappings[0].object: \"27.20\" is not an ISIC"));
    let mut unknown = bad.clone();
    unknown.object_scheme = "isic5".into();
    assert_eq!(
        t.add_set(key(1), hash(8), &unknown)
            .unwrap_err()
            .to_string(),
        "object_scheme: \"isic5\" is not a known classification scheme"
    );
}
