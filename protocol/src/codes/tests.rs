//! Tests of code normalisation and hierarchies, per scheme.

use super::Scheme::*;
use super::*;
use proptest::prelude::*;

fn norm(scheme: Scheme, raw: &str) -> String {
    match normalise(scheme, raw) {
        Ok(n) => n,
        Err(e) => panic!("{e}"),
    }
}

fn refused(scheme: Scheme, raw: &str) -> CodeError {
    match normalise(scheme, raw) {
        Ok(n) => panic!("{raw:?} normalised to {n:?} but should be refused"),
        Err(e) => e,
    }
}

#[test]
fn scheme_identifiers_round_trip() {
    for scheme in Scheme::ALL {
        assert_eq!(Scheme::parse(scheme.as_str()), Some(scheme));
        assert_eq!(scheme.to_string().parse::<Scheme>(), Ok(scheme));
    }
    assert_eq!(Scheme::parse("IPC"), None);
    assert_eq!(Scheme::parse(" ipc"), None);
    let err = "xyz".parse::<Scheme>().unwrap_err();
    assert!(err
        .to_string()
        .starts_with("unknown classification scheme \"xyz\" (known: ipc, cpc, wipo35,"));
    assert!(err.to_string().ends_with("gbt22900, cn-stage)"));
}

#[test]
fn maturity_scales() {
    let maturity: Vec<Scheme> = Scheme::ALL
        .into_iter()
        .filter(|s| s.is_maturity())
        .collect();
    assert_eq!(maturity, [TrlEu, TrlNasa, Gbt22900, CnStage]);
    assert_eq!(TrlNasa.level_range(), Some((1, 9)));
    assert_eq!(CnStage.level_range(), Some((1, 5)));
    assert_eq!(Ipc.level_range(), None);
}

#[test]
fn ipc_variants() {
    for raw in [
        "H01M 10/0525",
        "H01M10/0525",
        "h01m 10/0525",
        "H01M   10/0525",
        "  H01M 10/0525\n",
        "H01M 010/0525",
        "H01M 10/0525 (2006.01)",
        "h01m10/0525(2010.01)",
    ] {
        assert_eq!(norm(Ipc, raw), "H01M 10/0525", "{raw:?}");
    }
    assert_eq!(norm(Ipc, "a61k31"), "A61K 31");
    assert_eq!(norm(Ipc, "B01D 53"), "B01D 53");
    assert_eq!(norm(Ipc, "A61K 31/00"), "A61K 31/00");
    assert_eq!(norm(Ipc, "g06n"), "G06N");
    assert_eq!(norm(Ipc, "H01"), "H01");
    assert_eq!(norm(Ipc, "h"), "H");
    assert_eq!(norm(Cpc, "y02e 60/10"), "Y02E 60/10");
    assert!(is_normal(Ipc, "H01M 10/0525"));
    assert!(!is_normal(Ipc, "H01M10/0525"));
}

#[test]
fn ipc_malformed() {
    let e = refused(Ipc, "H01M/");
    assert!(
        e.to_string().starts_with(r#""H01M/" is not an IPC code"#),
        "{e}"
    );
    assert_eq!(e.scheme, Ipc);
    assert_eq!(e.raw, "H01M/");
    for raw in [
        "I01M",
        "H1M",
        "H01M 10/",
        "H01M 10/0525X",
        "",
        "   ",
        "H01M 10/5",
        "H01M 0/00",
        "H01M 12345/00",
        "H01M 10/0525 (2006)",
        "H01M 10/0525 2006.01)",
        "Y02E 60/10",
        "H01M\u{7}10/00",
        "H01M 10 /00",
    ] {
        refused(Ipc, raw);
    }
    assert!(refused(Ipc, "H01M 10/5").reason().contains("2 to 6 digits"));
    assert_eq!(
        refused(Cpc, "I01M").to_string(),
        r#""I01M" is not a CPC code (the section letter must be A to H or Y, e.g. "H01M 10/0525")"#
    );
    assert!(refused(Ipc, &"H".repeat(65)).reason().contains("64 bytes"));
    let long = refused(Ipc, &"字".repeat(100));
    assert!(long.raw.ends_with('…') && long.raw.len() < 110);
}

#[test]
fn ipc_and_cpc_hierarchy() {
    assert_eq!(
        ancestors(Ipc, "H01M 10/0525"),
        ["H", "H01", "H01M", "H01M 10", "H01M 10/0525"]
    );
    assert_eq!(
        ancestors(Ipc, "H01M 10/00"),
        ["H", "H01", "H01M", "H01M 10", "H01M 10/00"]
    );
    assert_eq!(ancestors(Ipc, "A61K 31"), ["A", "A61", "A61K", "A61K 31"]);
    assert_eq!(ancestors(Ipc, "H01"), ["H", "H01"]);
    assert_eq!(
        ancestors(Cpc, "Y02E 60/10"),
        ["Y", "Y02", "Y02E", "Y02E 60", "Y02E 60/10"]
    );
    assert_eq!(ancestors(Ipc, "H01M/"), Vec::<String>::new());
    assert!(covers(Ipc, "H01M", "H01M 10/0525"));
    assert!(covers(Ipc, "H01M 10", "H01M 10/0525"));
    assert!(covers(Ipc, "H01M 10/0525", "H01M 10/0525"));
    assert!(covers(Cpc, "Y02E", "Y02E 60/10"));
    assert!(!covers(Ipc, "H01M 10/0525", "H01M"));
    assert!(!covers(Ipc, "H01M 10/00", "H01M 10/0525"));
    assert!(!covers(Ipc, "H01M 1", "H01M 10/0525"));
    assert!(!covers(Ipc, "H02J", "H01M 10/0525"));
    assert!(!covers(Ipc, "A61K 8", "A61K 31"));
}

#[test]
fn industry_codes() {
    assert_eq!(norm(Nace2, "2720"), "27.20");
    assert_eq!(norm(Nace2, "272"), "27.2");
    assert_eq!(norm(Nace2, "27.2"), "27.2");
    assert_eq!(norm(Nace2, " 72.19 "), "72.19");
    assert_eq!(norm(Nace2, "01.11"), "01.11");
    for raw in [
        "C", "C27.20", "2", "27.", "27.200", "27.2.0", "27201", "00.10", "2a",
    ] {
        refused(Nace2, raw);
    }
    assert_eq!(ancestors(Nace2, "27.20"), ["27", "27.2", "27.20"]);
    assert!(covers(Nace2, "27", "2720"));
    assert!(!covers(Nace2, "27.1", "27.20"));

    assert_eq!(norm(Isic4, "2720"), "2720");
    for raw in ["2", "27201", "C2720", "27.20", "0010"] {
        refused(Isic4, raw);
    }
    assert_eq!(ancestors(Isic4, "2720"), ["27", "272", "2720"]);
    assert!(covers(Isic4, "72", "7210"));
    assert!(!covers(Isic4, "721", "7220"));

    for (raw, normal) in [
        ("C", "C"),
        ("c38", "C38"),
        ("C384", "C384"),
        ("c3841", "C3841"),
        ("I6513", "I6513"),
    ] {
        assert_eq!(norm(Gbt4754, raw), normal);
    }
    assert!(refused(Gbt4754, "3841")
        .reason()
        .contains("section letter is required"));
    for raw in ["U3841", "C3", "C38411", "CC38", "C 3841"] {
        refused(Gbt4754, raw);
    }
    assert_eq!(ancestors(Gbt4754, "C3841"), ["C", "C38", "C384", "C3841"]);
    assert!(covers(Gbt4754, "M", "M7320"));
    assert!(!covers(Gbt4754, "C38", "C3941"));

    for raw in ["520", "52020", "5202010"] {
        assert_eq!(norm(Gbt13745, raw), raw);
    }
    for raw in ["52", "5202", "520201", "52020100", "520.20"] {
        refused(Gbt13745, raw);
    }
    assert_eq!(ancestors(Gbt13745, "5202010"), ["520", "52020", "5202010"]);
    assert!(covers(Gbt13745, "520", "52020"));
}

#[test]
fn een_keywords_keep_leading_zeros() {
    assert_eq!(norm(EenTech, "04001003"), "04001003");
    assert_eq!(norm(EenTech, "004005001"), "004005001");
    assert_ne!(norm(EenTech, "004005001"), norm(EenTech, "04005001"));
    for raw in ["4", "0400100300", "04-001-003", "O4001003"] {
        refused(EenTech, raw);
    }
    assert_eq!(ancestors(EenTech, "04001003"), ["04", "04001", "04001003"]);
    assert_eq!(ancestors(EenTech, "04001"), ["04", "04001"]);
    assert_eq!(ancestors(EenTech, "004005001"), ["004005001"]);
    assert!(covers(EenTech, "04", "04005001"));
    assert!(!covers(EenTech, "04", "004005001"));
    assert!(!covers(EenTech, "04005001", "004005001"));
}

#[test]
fn flat_lists() {
    assert_eq!(norm(Wipo35, "06"), "6");
    assert_eq!(norm(Wipo35, "35"), "35");
    for raw in ["0", "36", "6a", "-6", "99999999999999999999"] {
        refused(Wipo35, raw);
    }
    assert_eq!(ancestors(Wipo35, "6"), ["6"]);

    for field in [
        "电子信息",
        "新能源与高效节能",
        "生物医药和医疗器械",
        "城市建设与社会发展",
    ] {
        assert!(is_normal(CnTechfield, field), "{field}");
    }
    assert_eq!(
        norm(CnTechfield, "　生物、医药和医疗器械 "),
        "生物医药和医疗器械"
    );
    let e = refused(CnTechfield, "量子计算");
    assert!(e.to_string().starts_with(
        r#""量子计算" is not a technology field (cn-techfield) code (known fields: 电子信息,"#
    ));
    assert_eq!(ancestors(CnTechfield, "农业"), ["农业"]);
}

#[test]
fn maturity_levels() {
    for scheme in [TrlEu, TrlNasa, Gbt22900] {
        for raw in ["6", "TRL 6", "trl6", "TRL-6", "Trl 06"] {
            assert_eq!(norm(scheme, raw), "6", "{raw:?}");
        }
        for raw in ["0", "10", "TRL", "level 6", "6.5", "TRL6a"] {
            refused(scheme, raw);
        }
    }
    assert_eq!(norm(CnStage, "通过中试"), "4");
    assert_eq!(norm(CnStage, "5"), "5");
    assert!(refused(CnStage, "6").reason().contains("正在研发"));
    refused(CnStage, "TRL 3");
    assert_eq!(cn_stage_name(1), Some("正在研发"));
    assert_eq!(cn_stage_name(5), Some("可以量产"));
    assert_eq!(cn_stage_name(0), None);
    assert_eq!(cn_stage_name(6), None);
    for level in 1..=5 {
        assert_eq!(cn_stage_name(level).and_then(cn_stage_level), Some(level));
    }
    assert_eq!(cn_stage_level("量产"), None);
    assert!(!covers(TrlEu, "5", "6"));
}

#[test]
fn fixture_codes_normalise() {
    let codes = [
        (Ipc, "H02J"),
        (Ipc, "C12N"),
        (Ipc, "A61K 8"),
        (Wipo35, "27"),
        (Nace2, "62.01"),
        (Isic4, "6201"),
        (Gbt4754, "M7320"),
        (EenTech, "01003003"),
        (TrlEu, "5"),
    ];
    for (scheme, code) in codes {
        assert!(is_normal(scheme, code), "{scheme} {code}");
    }
}

fn plausible_code() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-hA-HyYiI][0-9]{1,2}[a-zA-Z]? *[0-9]{0,5}(/[0-9]{0,7})?( ?\\(20[0-9]{2}\\.0[0-9]\\))?",
        "[a-uA-U]?[0-9]{1,5}(\\.[0-9]{1,3})?",
        "(TRL|trl)?[ -]?[0-9]{1,3}",
        "(电子信息|农业|生物、医药和医疗器械|正在研发|可以量产|量子)",
        "\\PC{0,12}",
    ]
}

proptest! {
    #[test]
    fn normalise_is_idempotent_and_ancestors_cover(
        scheme in prop::sample::select(Scheme::ALL.to_vec()),
        raw in plausible_code(),
    ) {
        if let Ok(normal) = normalise(scheme, &raw) {
            prop_assert_eq!(normalise(scheme, &normal), Ok(normal.clone()));
            prop_assert!(is_normal(scheme, &normal));
            let chain = ancestors(scheme, &normal);
            prop_assert_eq!(chain.last(), Some(&normal));
            for ancestor in &chain {
                prop_assert!(is_normal(scheme, ancestor), "{} is not normal", ancestor);
                prop_assert!(covers(scheme, ancestor, &normal));
            }
        } else {
            prop_assert!(ancestors(scheme, &raw).is_empty());
        }
    }
}
