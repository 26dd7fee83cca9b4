//! Properties of the translation engine, checked on generated mapping sets.

use super::*;

// ---- properties -----------------------------------------------------------------------

/// Random mappings between a few schemes, from authorities 1..=3, one set per
/// (authority, pair) and at most one statement per authority and code pair.
fn random_sets(
    schemes: &'static [(Scheme, &'static [&'static str])],
    max_rows: usize,
) -> impl Strategy<Value = Vec<(u8, MappingSet)>> {
    let row = (
        1u8..=3,
        0..schemes.len(),
        0usize..40,
        0..schemes.len(),
        0usize..40,
        prop::sample::select(vec![Exact, Close, Broad, Narrow, Related]),
        prop::sample::select(vec![1.0, 0.9, 0.8, 0.5]),
        prop::bool::weighted(0.15),
    );
    prop::collection::vec(row, 1..max_rows).prop_map(move |rows| {
        let mut seen = BTreeSet::new();
        let mut sets: Vec<(u8, MappingSet)> = Vec::new();
        for (k, si, sc, oi, oc, p, conf, neg) in rows {
            let (s, scodes) = schemes[si];
            let (o, ocodes) = schemes[oi];
            if s == o {
                continue;
            }
            let (sc, oc) = (scodes[sc % scodes.len()], ocodes[oc % ocodes.len()]);
            let pair = if (s, sc) < (o, oc) {
                (s, sc, o, oc)
            } else {
                (o, oc, s, sc)
            };
            if !seen.insert((k, pair)) {
                continue;
            }
            let local_id = format!("a{k}-{s}-{o}");
            let m = Mapping {
                subject: sc.into(),
                predicate: p,
                object: oc.into(),
                confidence: Some(conf),
                justification: None,
                negated: neg,
            };
            match sets
                .iter_mut()
                .find(|(kk, x)| *kk == k && x.local_id == local_id)
            {
                Some((_, x)) => x.mappings.push(m),
                None => {
                    let mut x = set(&local_id, s, o, &[]);
                    x.mappings.push(m);
                    sets.push((k, x));
                }
            }
        }
        sets
    })
}

fn all_pairs(schemes: &[(Scheme, &[&str])]) -> Vec<(Scheme, Scheme)> {
    let mut v = Vec::new();
    for (a, _) in schemes {
        for (b, _) in schemes {
            if a != b {
                v.push((*a, *b));
            }
        }
    }
    v
}

fn load(schemes: &[(Scheme, &[&str])], sets: &[(u8, MappingSet)]) -> Translator {
    let p = all_pairs(schemes);
    let mut t = Translator::new(recognition(&[(2, &p), (1, &p), (3, &p)]));
    for (i, (k, s)) in sets.iter().enumerate() {
        t.add_set(key(*k), hash(i as u64), s).unwrap();
    }
    t
}

const FLAT: &[(Scheme, &[&str])] = &[
    (Wipo35, &["1", "2", "3", "4", "5", "6"]),
    (TrlNasa, &["1", "2", "3", "4", "5"]),
];

const GRAPH: &[(Scheme, &[&str])] = &[
    (
        Ipc,
        &[
            "H01M",
            "H01M 10",
            "H01M 10/0525",
            "H01M 4/00",
            "G06N",
            "G06N 3/08",
        ],
    ),
    (Wipo35, &["1", "6", "7"]),
    (Nace2, &["27", "27.2", "27.20", "62.01", "72.19"]),
    (Isic4, &["2720", "6201", "7210"]),
    (TrlEu, &["1", "5", "9"]),
];

fn every_code(schemes: &[(Scheme, &[&str])]) -> Vec<(Scheme, &'static str)> {
    let mut v = Vec::new();
    for (s, codes) in GRAPH.iter().chain(FLAT) {
        if schemes.iter().any(|(x, _)| x == s) {
            for c in *codes {
                v.push((*s, *c));
            }
        }
    }
    v
}

fn check_invariants(query: Scheme, results: &[Translation], max_depth: usize) {
    for w in results.windows(2) {
        assert!(
            w[0].confidence > w[1].confidence
                || (w[0].confidence == w[1].confidence && w[0].code < w[1].code),
            "sorted and unique"
        );
    }
    for r in results {
        assert!(!r.chain.is_empty() && r.chain.len() <= max_depth);
        let product: f64 = r.chain.iter().map(|s| s.confidence).product();
        assert_eq!(r.confidence, product, "confidence is the product");
        assert_eq!(chain_predicate(&r.chain), Some(r.predicate));
        let mut schemes = vec![query];
        for (i, s) in r.chain.iter().enumerate() {
            assert!(
                !schemes.contains(&s.object_scheme),
                "scheme revisited: {r:?}"
            );
            schemes.push(s.object_scheme);
            if i > 0 {
                let prev = &r.chain[i - 1];
                let reached = s.applied_to.as_ref().unwrap_or(&s.subject);
                assert_eq!(reached, &prev.object, "steps connect");
            }
            if let Some(a) = &s.applied_to {
                assert!(codes::covers(s.subject_scheme, &s.subject, a) && a != &s.subject);
            }
        }
        assert_eq!(r.chain.last().unwrap().object, r.code);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// If a → b directly with p, then b → a directly with inverse(p), same confidence.
    #[test]
    fn inverse_consistency(sets in random_sets(FLAT, 40)) {
        let t = load(FLAT, &sets);
        for (s, code) in every_code(FLAT) {
            let other = if s == Wipo35 { TrlNasa } else { Wipo35 };
            for r in tr(&t, s, code, other) {
                prop_assert_eq!(r.chain.len(), 1);
                let back = tr(&t, other, &r.code, s);
                let found = back.iter().find(|b| b.code == code);
                prop_assert!(found.is_some(), "{} {} -> {} has no way back", s, code, r.code);
                let b = found.unwrap();
                prop_assert_eq!(b.predicate, inverse(r.predicate));
                prop_assert_eq!(b.confidence, r.confidence);
                prop_assert_eq!(b.chain[0].inverted, !r.chain[0].inverted);
            }
        }
    }

    /// Random graphs with cycles: the search ends, and every result obeys the rules.
    #[test]
    fn terminates_and_respects_the_rules(
        sets in random_sets(GRAPH, 80),
        max_depth in 1usize..=6,
    ) {
        let t = load(GRAPH, &sets);
        let opts = TranslateOptions { max_depth, ..TranslateOptions::default() };
        for (s, code) in every_code(GRAPH) {
            for (target, _) in GRAPH {
                let r = t.translate(s, code, *target, &opts);
                check_invariants(s, &r, max_depth);
            }
        }
        let status = t.status();
        prop_assert_eq!(status.conflicts, t.conflicts().len());
    }

    /// Loading the same sets in any order (with detours) gives identical answers.
    #[test]
    fn load_order_does_not_matter(
        (sets, shuffled) in random_sets(GRAPH, 60)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        let a = load(GRAPH, &sets);
        let mut b = Translator::new(a.recognition().clone());
        // Detour: an extra set that is added and withdrawn, and a replaced version.
        let extra = set("extra", Nace2, Isic4, &[("27.20", Narrow, "7210", 0.3, false)]);
        b.add_set(key(1), hash(1000), &extra).unwrap();
        for (k, s) in &shuffled {
            let i = sets.iter().position(|x| &x.1 == s && x.0 == *k).unwrap();
            let mut early = s.clone();
            early.mappings.truncate(1);
            b.add_set(key(*k), hash(5000 + i as u64), &early).unwrap();
            b.add_set(key(*k), hash(i as u64), s).unwrap();
        }
        b.remove_set(&set_id(1, "extra"));
        for (s, code) in every_code(GRAPH) {
            for (target, _) in GRAPH {
                prop_assert_eq!(tr(&a, s, code, *target), tr(&b, s, code, *target));
            }
        }
        prop_assert_eq!(a.conflicts(), b.conflicts());
        prop_assert_eq!(a.sets(), b.sets());
    }
}

#[test]
fn records_feed_the_index() {
    use crate::body::{Body, Tombstone};
    use crate::time::Timestamp;
    let now = Timestamp::parse("2026-11-28T12:00:00Z").unwrap();
    let kp = Keypair::from_seed(&[1; 32]);
    let mut t = Translator::new(recognition(&[(1, &[(Gbt4754, Nace2)])]));
    let record = kp
        .sign(1, now, Body::MappingSet(Box::new(demo_gbt4754_nace2())))
        .unwrap();
    assert_eq!(t.apply_record(&record), Ok(Some(AddOutcome::Added)));
    assert_eq!(t.apply_record(&record), Ok(Some(AddOutcome::Unchanged)));
    assert_eq!(t.sets()[0].hash, record.hash());
    assert_eq!(brief(&tr(&t, Gbt4754, "C3841", Nace2)), ["27.20 broad 0.9"]);
    let tombstone = Body::Tombstone(Tombstone {
        target_kind: Kind::MappingSet,
        local_id: "gbt4754-nace2-2026".into(),
        reason: None,
    });
    let withdrawn = kp.sign(2, now, tombstone).unwrap();
    assert_eq!(t.apply_record(&withdrawn), Ok(None));
    assert!(t.sets().is_empty());
    assert!(tr(&t, Gbt4754, "C3841", Nace2).is_empty());
}
