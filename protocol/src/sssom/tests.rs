use proptest::prelude::*;

use super::*;
use crate::body::mapping::Justification;
use crate::body::{Body, Kind};

const SAMPLE: &str = include_str!("../../../scripts/demo-data/sssom/gbt4754-nace2.sssom.tsv");
const BROKEN: &str = include_str!("../../../scripts/demo-data/sssom/broken.sssom.tsv");
const DEMO_JSON: &str = include_str!("../../../scripts/demo-data/mappings-gbt4754-nace2.json");

fn ok(file: &str, text: &str) -> MappingSet {
    match parse(file, text) {
        Ok(s) => s,
        Err(e) => panic!("{}", display_errors(&e)),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse("t.sssom.tsv", text) {
        Ok(s) => panic!("parsed: {s:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

const HEAD: &str = "\
# curie_map:
#   gbt4754: https://w3id.org/techmesh/scheme/gbt4754/
#   nace2: https://w3id.org/techmesh/scheme/nace2/
#   skos: http://www.w3.org/2004/02/skos/core#
#   semapv: https://w3id.org/semapv/vocab/
# mapping_set_id: https://w3id.org/techmesh/mapping-set/t
# license: https://spdx.org/licenses/CC0-1.0.html
subject_id\tpredicate_id\tobject_id\tmapping_justification\tconfidence
";

#[test]
fn the_sample_file_is_the_demo_mapping_set() {
    let s = ok("gbt4754-nace2.sssom.tsv", SAMPLE);
    let demo: MappingSet = serde_json::from_str(DEMO_JSON).unwrap();
    assert_eq!(s.local_id, "gbt4754-nace2-2026");
    assert_eq!(s.title.get("en"), demo.title.get("en"));
    assert_eq!(s.license.as_deref(), Some("CC-BY-4.0"));
    assert_eq!(
        (s.subject_scheme.as_str(), s.object_scheme.as_str()),
        ("gbt4754", "nace2")
    );
    assert_eq!(s.mappings, demo.mappings);
    // What import yields is a publishable body.
    let body = Body::MappingSet(Box::new(s.clone()));
    body.validate().unwrap();
    assert_eq!(body.kind(), Kind::MappingSet);
}

#[test]
fn the_broken_file_reports_every_error_with_its_line() {
    let e = match parse("broken.sssom.tsv", BROKEN) {
        Ok(_) => panic!("the broken sample parsed"),
        Err(e) => e,
    };
    let text = display_errors(&e);
    let expected = [
        "broken.sssom.tsv:1: license: missing in the YAML header",
        "broken.sssom.tsv:11: object_id: \"isic4:27.20\" is not a valid isic4 code (ISIC codes are written without dots, e.g. \"2720\")",
        "broken.sssom.tsv:12: subject_id: \"gbt4754:C3825|gbt4754:C3826\" has several values separated by \"|\"; subject_id takes exactly one",
        "broken.sssom.tsv:13: predicate_id: \"owl:sameAs\" is not supported: use skos:exactMatch, skos:closeMatch, skos:broadMatch, skos:narrowMatch or skos:relatedMatch",
        "broken.sssom.tsv:14: confidence: \"1.5\" is not a number from 0 to 1",
        "broken.sssom.tsv:15: subject_id: \"nace:C3581\": prefix \"nace\" is not declared in curie_map",
        "broken.sssom.tsv:16: object_id: \"isic4:3020\" is a isic4 code, but line 10 has a nace2 code: one mapping set relates one pair of schemes",
        "broken.sssom.tsv:17: mapping_justification: \"ManualMappingCuration\" is not a semapv term (e.g. semapv:ManualMappingCuration)",
        "broken.sssom.tsv:18: predicate_modifier: \"Maybe\" is not a predicate modifier (only \"Not\" exists)",
        "broken.sssom.tsv:19: repeats the mapping of line 10 (same subject, predicate and object)",
    ];
    assert_eq!(text, expected.join("\n"));
    assert_eq!(e[1].line, 11);
    assert_eq!(e[1].column.as_deref(), Some("object_id"));
}

#[test]
fn round_trip_parse_write_parse() {
    let first = ok("sample", SAMPLE);
    let written = write(&first);
    let second = ok("written", &written);
    assert_eq!(first, second);
    assert_eq!(write(&second), written, "writing is deterministic");
    assert!(written
        .starts_with("# curie_map:\n#   gbt4754: https://w3id.org/techmesh/scheme/gbt4754/\n"));
    assert!(written.contains("# license: \"https://spdx.org/licenses/CC-BY-4.0.html\"\n"));
    assert!(written.contains(
        "\ngbt4754:C3841\tskos:broadMatch\tnace2:27.20\tsemapv:ManualMappingCuration\t0.9\n"
    ));
}

fn mapping(s: &str, p: Predicate, o: &str, c: Option<f64>, j: Justification, neg: bool) -> Mapping {
    Mapping {
        subject: s.into(),
        predicate: p,
        object: o.into(),
        confidence: c,
        justification: Some(j),
        negated: neg,
    }
}

#[test]
fn awkward_codes_negations_and_licenses_round_trip() {
    let sets = [
        MappingSet {
            local_id: "ipc-techfield:v1.0".into(),
            title: [(
                "en".to_owned(),
                "IPC → 技术领域: \"quoted\" # not a comment".to_owned(),
            )]
            .into(),
            subject_scheme: "ipc".into(),
            object_scheme: "cn-techfield".into(),
            license: Some("free for members, see the agreement".into()),
            mappings: vec![
                mapping(
                    "H01M 10/0525",
                    Predicate::Broad,
                    "新能源与高效节能",
                    Some(0.95),
                    Justification::Manual,
                    false,
                ),
                mapping(
                    "G06N",
                    Predicate::Close,
                    "电子信息",
                    None,
                    Justification::Lexical,
                    false,
                ),
                mapping(
                    "G06N",
                    Predicate::Exact,
                    "电子信息",
                    Some(1.0),
                    Justification::Other,
                    true,
                ),
            ],
        },
        MappingSet {
            local_id: "een".into(),
            title: [("en".to_owned(), "EEN".to_owned())].into(),
            subject_scheme: "een-tech".into(),
            object_scheme: "een-tech".into(),
            license: None,
            mappings: vec![mapping(
                "04005001",
                Predicate::Exact,
                "004005001",
                None,
                Justification::Chaining,
                true,
            )],
        },
        MappingSet {
            local_id: "trl".into(),
            title: [("en".to_owned(), "TRL".to_owned())].into(),
            subject_scheme: "trl-eu".into(),
            object_scheme: "cn-stage".into(),
            license: Some("https://example.org/licence".into()),
            mappings: vec![mapping(
                "9",
                Predicate::Narrow,
                "5",
                Some(0.1),
                Justification::Inversion,
                false,
            )],
        },
    ];
    for s in sets {
        let text = write(&s);
        assert_eq!(ok("x", &text), s, "{text}");
    }
}

#[test]
fn header_subset_and_lenient_reading() {
    let text = "\
# # a YAML comment
# curie_map:
#   G: \"https://w3id.org/techmesh/scheme/gbt4754/\"   # any prefix name with our URI
#   nace2: 'http://example.org/nace/'
# mapping_set_id: 'https://example.org/sets/my set.sssom.tsv'
# mapping_set_description: A description # trailing comment
# license: https://creativecommons.org/licenses/by/4.0/
# creator_id:
#   - orcid:0000-0000-0000-0000
subject_id\tsubject_label\tpredicate_id\tobject_id\tmapping_justification\tconfidence\tauthor_id\r
G:c3841\t锂离子电池\thttp://www.w3.org/2004/02/skos/core#broadMatch\tnace2:2720\t\"semapv:ManualMappingCuration|semapv:LexicalMatching\"\t\t\r
\r
https://w3id.org/techmesh/scheme/gbt4754/M7320\t\tskos:broadMatch\thttp://example.org/nace/72.19\tsemapv:SemanticSimilarityThresholdMatching\t0.5\ta|b\r
";
    let s = ok("lenient", text);
    assert_eq!(s.local_id, "my-set");
    assert_eq!(s.title.get("en").map(String::as_str), Some("A description"));
    assert_eq!(
        s.license.as_deref(),
        Some("https://creativecommons.org/licenses/by/4.0/")
    );
    assert_eq!(s.subject_scheme, "gbt4754");
    assert_eq!(s.object_scheme, "nace2");
    assert_eq!(
        s.mappings,
        [
            mapping(
                "C3841",
                Predicate::Broad,
                "27.20",
                None,
                Justification::Manual,
                false
            ),
            mapping(
                "M7320",
                Predicate::Broad,
                "72.19",
                Some(0.5),
                Justification::Other,
                false
            ),
        ]
    );
    // Raw spaces in a CURIE are tolerated on import (the export encodes them).
    let ipc = "\
# curie_map:
#   ipc: https://w3id.org/techmesh/scheme/ipc/
#   wipo35: https://w3id.org/techmesh/scheme/wipo35/
# mapping_set_id: https://w3id.org/techmesh/mapping-set/ipc
# license: https://spdx.org/licenses/CC0-1.0.html
subject_id\tpredicate_id\tobject_id\tmapping_justification
ipc:H01M 10/0525\tskos:broadMatch\twipo35:01\tsemapv:ManualMappingCuration
ipc:H01M%2010/0526\tskos:broadMatch\twipo35:1\tsemapv:ManualMappingCuration
";
    let s = ok("ipc", ipc);
    assert_eq!(s.mappings[0].subject, "H01M 10/0525");
    assert_eq!(s.mappings[0].object, "1");
    assert_eq!(s.mappings[1].subject, "H01M 10/0526");
    assert_eq!(s.title.get("en").map(String::as_str), Some("ipc"));
    assert_eq!(s.license.as_deref(), Some("CC0-1.0"));
}

/// What `sssom parse` prints for an exported file: extra prefixes, a folded title, the
/// unused `cn_techfield` prefix dropped (its codes are IRIs), `1.0` confidences.
#[test]
fn reads_the_reference_tools_own_output() {
    let text = "\
# curie_map:
#   ipc: https://w3id.org/techmesh/scheme/ipc/
#   owl: http://www.w3.org/2002/07/owl#
#   semapv: https://w3id.org/semapv/vocab/
#   skos: http://www.w3.org/2004/02/skos/core#
#   sssom: https://w3id.org/sssom/
# license: https://w3id.org/techmesh/license/members%20only
# mapping_set_id: https://w3id.org/techmesh/mapping-set/fixtures-misc
# mapping_set_title: IPC to technology fields (negations, Chinese codes, no confidence,
#   folded by the YAML emitter)
subject_id\tpredicate_id\tpredicate_modifier\tobject_id\tmapping_justification\tconfidence
ipc:G06N\tskos:exactMatch\tNot\thttps://w3id.org/techmesh/scheme/cn-techfield/%E7%94%B5%E5%AD%90%E4%BF%A1%E6%81%AF\tsemapv:UnspecifiedMatching\t1.0
ipc:H01M%2010/0525\tskos:broadMatch\t\thttps://w3id.org/techmesh/scheme/cn-techfield/%E6%96%B0%E8%83%BD%E6%BA%90%E4%B8%8E%E9%AB%98%E6%95%88%E8%8A%82%E8%83%BD\tsemapv:ManualMappingCuration\t0.95
";
    let s = ok("reference-output", text);
    assert_eq!(
        s.title.get("en").map(String::as_str),
        Some("IPC to technology fields (negations, Chinese codes, no confidence, folded by the YAML emitter)")
    );
    assert_eq!(s.license.as_deref(), Some("members only"));
    assert_eq!(s.object_scheme, "cn-techfield");
    assert_eq!(
        s.mappings,
        [
            mapping(
                "G06N",
                Predicate::Exact,
                "电子信息",
                Some(1.0),
                Justification::Other,
                true
            ),
            mapping(
                "H01M 10/0525",
                Predicate::Broad,
                "新能源与高效节能",
                Some(0.95),
                Justification::Manual,
                false
            ),
        ]
    );
    let quoted = HEAD.replace(
        "# license:",
        "# mapping_set_title: \"one \\\n#   two\"\n# license:",
    );
    let s = ok(
        "quoted",
        &format!(
            "{quoted}gbt4754:C3841\tskos:broadMatch\tnace2:27.20\tsemapv:ManualMappingCuration\t\n"
        ),
    );
    assert_eq!(s.title.get("en").map(String::as_str), Some("one two"));
}

#[test]
fn header_and_table_errors() {
    assert_eq!(
        errors("subject_id\tpredicate_id\tobject_id\tmapping_justification\n"),
        [
            "t.sssom.tsv:1: curie_map: missing or empty in the YAML header",
            "t.sssom.tsv:1: mapping_set_id: missing in the YAML header",
            "t.sssom.tsv:1: license: missing in the YAML header",
            "t.sssom.tsv:1: the table has no mappings",
        ]
    );
    let e = errors(&HEAD.replace("subject_id\tpredicate_id", "subject_id\tpredicate"));
    assert_eq!(e, ["t.sssom.tsv:8: predicate_id: required column missing"]);
    let e = errors(&HEAD.replace(
        "# license: https://spdx.org/licenses/CC0-1.0.html",
        "# license: {a: b}",
    ));
    assert_eq!(
        e,
        [
            "t.sssom.tsv:7: license: YAML flow collections are not supported; use one `key: value` a line",
            "t.sssom.tsv:1: license: missing in the YAML header",
            "t.sssom.tsv:8: the table has no mappings",
        ]
    );
    let e = errors(&format!(
        "{HEAD}gbt4754:C3841\tskos:broadMatch\tnace2:27.20\textra\t1\tsurplus\n"
    ));
    assert_eq!(e, ["t.sssom.tsv:9: 6 fields, but the header has 5 columns"]);
    let e = errors(&format!(
        "{HEAD}gbt4754:C3841\tskos:broadMatch|skos:exactMatch\tnace2:27.20\tsemapv:ManualMappingCuration\t\n\
         gbt4754:C38411\tskos:broadMatch\tnace2:27.20\tsemapv:ManualMappingCuration\tx\n\
         foo:bar\tskos:broadMatch\tnace2:%zz\tsemapv:ManualMappingCuration\t\n"
    ));
    assert_eq!(
        e,
        [
            "t.sssom.tsv:9: predicate_id: \"skos:broadMatch|skos:exactMatch\" has several values separated by \"|\"; predicate_id takes exactly one",
            "t.sssom.tsv:10: subject_id: \"gbt4754:C38411\" is not a valid gbt4754 code (a section letter then 2, 3 or 4 digits, e.g. \"C\", \"C38\", \"C384\", \"C3841\")",
            "t.sssom.tsv:10: confidence: \"x\" is not a number from 0 to 1",
            "t.sssom.tsv:11: subject_id: \"foo:bar\": prefix \"foo\" is not declared in curie_map",
            "t.sssom.tsv:11: object_id: \"nace2:%zz\": a % must be followed by two hex digits",
        ]
    );
    let not_ours = HEAD.replace(
        "#   skos:",
        "#   mesh: http://id.nlm.nih.gov/mesh/\n#   skos:",
    );
    let e = errors(&format!(
        "{not_ours}mesh:D000001\tskos:exactMatch\tnace2:27.20\tsemapv:ManualMappingCuration\t\n"
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("t.sssom.tsv:10: subject_id: prefix \"mesh\" (http://id.nlm.nih.gov/mesh/) is not a techmesh classification scheme"),
        "{}",
        e[0]
    );
}

#[test]
fn split_keeps_every_mapping() {
    let s = ok("sample", SAMPLE);
    let parts = split(s.clone(), 8);
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2].local_id, "gbt4754-nace2-2026.part3");
    let all: Vec<Mapping> = parts.iter().flat_map(|p| p.mappings.clone()).collect();
    assert_eq!(all, s.mappings);
    assert_eq!(split(s.clone(), 100), [s]);
}

/// `TECHMESH_SSSOM_EXPORT_DIR=/tmp/x cargo test -p techmesh-protocol sssom::tests::export`
/// writes exported samples there, for `scripts/check_sssom.py` (the reference tool).
#[test]
fn export_samples_for_the_reference_tool() {
    let Some(dir) = std::env::var_os("TECHMESH_SSSOM_EXPORT_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut sets = vec![ok("sample", SAMPLE)];
    for json in [
        include_str!("../../../scripts/demo-data/mappings-nace2-isic4.json"),
        include_str!("../../../scripts/demo-data/mappings-ipc-wipo35.json"),
    ] {
        sets.push(serde_json::from_str(json).unwrap());
    }
    sets.push(MappingSet {
        local_id: "fixtures-misc".into(),
        title: [(
            "en".to_owned(),
            "IPC → 技术领域 (negations, Chinese codes, no confidence)".to_owned(),
        )]
        .into(),
        subject_scheme: "ipc".into(),
        object_scheme: "cn-techfield".into(),
        license: Some("members only".into()),
        mappings: vec![
            mapping(
                "H01M 10/0525",
                Predicate::Broad,
                "新能源与高效节能",
                Some(0.95),
                Justification::Manual,
                false,
            ),
            mapping(
                "G06N",
                Predicate::Close,
                "电子信息",
                None,
                Justification::Lexical,
                false,
            ),
            mapping(
                "G06N",
                Predicate::Exact,
                "电子信息",
                Some(1.0),
                Justification::Other,
                true,
            ),
        ],
    });
    sets.push(MappingSet {
        local_id: "een-negation".into(),
        title: [("en".to_owned(), "EEN leading zeros".to_owned())].into(),
        subject_scheme: "een-tech".into(),
        object_scheme: "een-tech".into(),
        license: None,
        mappings: vec![mapping(
            "04005001",
            Predicate::Exact,
            "004005001",
            None,
            Justification::Chaining,
            true,
        )],
    });
    for s in sets {
        let text = write(&s);
        assert_eq!(ok("export", &text), {
            let mut n = s.clone();
            for m in &mut n.mappings {
                m.justification.get_or_insert(Justification::Manual);
            }
            n.title = [(
                "en".to_owned(),
                s.title
                    .get("en")
                    .or(s.title.values().next())
                    .unwrap()
                    .clone(),
            )]
            .into();
            n
        });
        std::fs::write(dir.join(format!("{}.sssom.tsv", s.local_id)), text).unwrap();
    }
}

fn code_of(scheme: Scheme) -> BoxedStrategy<String> {
    let pick = |v: &'static [&'static str]| {
        prop::sample::select(v.to_vec())
            .prop_map(String::from)
            .boxed()
    };
    match scheme {
        Scheme::Ipc => pick(&["H01M", "H01M 10/0525", "A61K 31", "G06N 3/08", "B01D 53"]),
        Scheme::CnTechfield => pick(&["电子信息", "新能源与高效节能", "农业"]),
        Scheme::EenTech => pick(&["04001003", "004005001", "01003003", "04"]),
        Scheme::Nace2 => pick(&["27", "27.2", "27.20", "07.29"]),
        _ => pick(&["1", "5", "9"]),
    }
}

fn random_set() -> impl Strategy<Value = MappingSet> {
    let schemes = prop::sample::select(vec![
        Scheme::Ipc,
        Scheme::CnTechfield,
        Scheme::EenTech,
        Scheme::Nace2,
        Scheme::TrlEu,
        Scheme::Wipo35,
    ]);
    (
        schemes.clone(),
        schemes,
        "[A-Za-z0-9._:-]{1,20}",
        "\\PC{1,40}",
        prop::option::of("[A-Za-z0-9 .:/-]{1,30}"),
    )
        .prop_flat_map(|(s, o, id, title, license)| {
            let row = (
                code_of(s),
                prop::sample::select(vec![
                    Predicate::Exact,
                    Predicate::Close,
                    Predicate::Broad,
                    Predicate::Narrow,
                    Predicate::Related,
                ]),
                code_of(o),
                prop::option::of(0.0f64..=1.0),
                prop::sample::select(vec![
                    Justification::Manual,
                    Justification::Lexical,
                    Justification::Chaining,
                    Justification::Inversion,
                    Justification::Other,
                ]),
                any::<bool>(),
            );
            (
                Just((s, o, id, title, license)),
                prop::collection::vec(row, 1..12),
            )
        })
        .prop_map(|((s, o, id, title, license), rows)| {
            let mut seen = std::collections::HashSet::new();
            let mappings = rows
                .into_iter()
                .filter(|(a, p, b, ..)| seen.insert((a.clone(), *p, b.clone())))
                .map(|(a, p, b, c, j, n)| mapping(&a, p, &b, c, j, n))
                .collect();
            MappingSet {
                local_id: id,
                title: [("en".to_owned(), title.trim().to_owned() + "t")].into(),
                subject_scheme: s.as_str().into(),
                object_scheme: o.as_str().into(),
                license: license.map(|l| l.trim().to_owned() + "l"),
                mappings,
            }
        })
}

proptest! {
    #[test]
    fn write_then_parse_is_identity(s in random_set()) {
        let text = write(&s);
        match parse("p", &text) {
            Ok(back) => prop_assert_eq!(back, s),
            Err(e) => prop_assert!(false, "{}\n{}", display_errors(&e), text),
        }
    }
}

#[test]
fn a_text_license_written_as_a_long_uri_reads_back() {
    // Found by fuzzing (fuzz/regressions/sssom_parse-license-round-trip): a license
    // of 56 Chinese characters is valid (≤ 128 characters) but its percent-encoded
    // URI, as `write()` makes it, is far longer; the parser must read it back.
    let license = "技术转移合作协议".repeat(7);
    let uri = terms::license_uri(Some(&license));
    assert!(uri.chars().count() > 128, "{uri}");
    let text = HEAD.replace("https://spdx.org/licenses/CC0-1.0.html", &uri)
        + "gbt4754:C3841\tskos:broadMatch\tnace2:27.20\tsemapv:ManualMappingCuration\t0.9\n";
    let set = ok("lic.sssom.tsv", &text);
    assert_eq!(set.license.as_deref(), Some(license.as_str()));
    assert_eq!(ok("again.sssom.tsv", &write(&set)), set);
    // A license text over the bound is still refused.
    let long = terms::license_uri(Some(&"许".repeat(129)));
    let e = errors(&HEAD.replace("https://spdx.org/licenses/CC0-1.0.html", &long));
    assert!(
        e.iter().any(|x| x.contains("license: longer than 128")),
        "{e:?}"
    );
}
