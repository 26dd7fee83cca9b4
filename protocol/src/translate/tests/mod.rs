//! The translation rules, each shown on real codes, and the properties of the engine.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::body::mapping::{Justification, Mapping, MappingSet};
use crate::body::Kind;
use crate::record::Keypair;
use crate::trust::{Member, Roles, TrustList};
use Predicate::*;
use Scheme::*;

// ---- helpers --------------------------------------------------------------------------

fn key(n: u8) -> PublicKey {
    Keypair::from_seed(&[n; 32]).public()
}

fn hash(n: u64) -> RecordHash {
    RecordHash::of(&n.to_le_bytes())
}

/// A row: subject, predicate, object, confidence, negated.
type Row<'a> = (&'a str, Predicate, &'a str, f64, bool);

fn set(local_id: &str, s: Scheme, o: Scheme, rows: &[Row]) -> MappingSet {
    MappingSet {
        local_id: local_id.into(),
        title: [("en".to_owned(), local_id.to_owned())].into(),
        subject_scheme: s.as_str().into(),
        object_scheme: o.as_str().into(),
        license: Some("CC-BY-4.0".into()),
        mappings: rows
            .iter()
            .map(
                |&(subject, predicate, object, confidence, negated)| Mapping {
                    subject: subject.into(),
                    predicate,
                    object: object.into(),
                    confidence: Some(confidence),
                    justification: Some(Justification::Manual),
                    negated,
                },
            )
            .collect(),
    }
}

fn demo(json: &str) -> MappingSet {
    serde_json::from_str(json).expect("demo mapping set parses")
}

fn demo_gbt4754_nace2() -> MappingSet {
    demo(include_str!(
        "../../../../scripts/demo-data/mappings-gbt4754-nace2.json"
    ))
}

fn demo_nace2_isic4() -> MappingSet {
    demo(include_str!(
        "../../../../scripts/demo-data/mappings-nace2-isic4.json"
    ))
}

fn demo_ipc_wipo35() -> MappingSet {
    demo(include_str!(
        "../../../../scripts/demo-data/mappings-ipc-wipo35.json"
    ))
}

fn pairs(p: &[(Scheme, Scheme)]) -> BTreeSet<(Scheme, Scheme)> {
    p.iter().copied().collect()
}

/// Keys 1.. are authorities ranked in this order, recognised for `pairs`.
fn recognition(authorities: &[(u8, &[(Scheme, Scheme)])]) -> Recognition {
    let mut r = Recognition::default();
    for &(k, p) in authorities {
        r.push(format!("authority-{k}"), vec![key(k)], pairs(p));
    }
    r
}

/// Key 1: the GB/T, NACE/ISIC, WIPO and maturity authority of the demo federation.
fn demo_translator() -> Translator {
    let mut t = Translator::new(recognition(&[(
        1,
        &[
            (Gbt4754, Nace2),
            (Nace2, Isic4),
            (Ipc, Wipo35),
            (Cpc, Ipc),
            (TrlEu, TrlNasa),
            (Gbt4754, Isic4),
        ],
    )]));
    for (i, s) in [demo_gbt4754_nace2(), demo_nace2_isic4(), demo_ipc_wipo35()]
        .iter()
        .enumerate()
    {
        assert_eq!(t.add_set(key(1), hash(i as u64), s), Ok(AddOutcome::Added));
    }
    t
}

fn tr(t: &Translator, s: Scheme, code: &str, target: Scheme) -> Vec<Translation> {
    t.translate(s, code, target, &TranslateOptions::default())
}

/// `code predicate confidence` of each result, for compact assertions.
fn brief(results: &[Translation]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.code,
                predicate_name(r.predicate),
                r.confidence
            )
        })
        .collect()
}

fn set_id(k: u8, local_id: &str) -> Identity {
    Identity {
        publisher: key(k),
        kind: Kind::MappingSet,
        local_id: local_id.into(),
    }
}

mod properties;
mod rules;
