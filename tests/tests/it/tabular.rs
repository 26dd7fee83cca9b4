//! Spreadsheet libraries and the DCAT-AP catalogue, through the CLI on real data dirs:
//! the sample libraries of scripts/demo-data/spreadsheets/ (UTF-8 CSV with Chinese
//! headers, the same as XLSX and as GBK CSV, an English partner library, a file of
//! broken rows), export → import round trips, and the DCAT export checked as RDF by
//! Python rdflib (scripts/check_dcat.py).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use techmesh_tests::{cli, demo_data};

fn sheet(name: &str) -> String {
    demo_data(&format!("spreadsheets/{name}"))
        .to_str()
        .unwrap()
        .to_string()
}

fn init(dir: &Path) {
    cli(
        dir,
        &["init", "--name", "湖北技术交易所", "--region", "CN-HB"],
    )
    .ok();
}

/// Current entry bodies of a data dir, by local id.
fn bodies(dir: &Path) -> BTreeMap<String, Value> {
    cli(dir, &["list", "--json", "--kind", "entry"])
        .ok()
        .stdout
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            let body = r["body"].clone();
            (body["local_id"].as_str().unwrap().to_string(), body)
        })
        .collect()
}

fn assert_same(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>, what: &str) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{what}: different ids"
    );
    for (id, body) in a {
        assert_eq!(body, &b[id], "{what}: {id} differs\n{}\n{}", body, b[id]);
    }
}

#[test]
fn csv_xlsx_and_gbk_libraries_import_to_the_same_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, x, g) = (
        tmp.path().join("a"),
        tmp.path().join("x"),
        tmp.path().join("g"),
    );
    for d in [&a, &x, &g] {
        init(d);
    }
    let r = cli(&a, &["import", &sheet("hubei-library.csv")]).ok();
    assert!(
        r.stderr.contains("imported 10 record(s)") && r.stderr.contains("10 inserted"),
        "{}",
        r.stderr
    );
    let csv = bodies(&a);
    assert_eq!(csv.len(), 10);

    // The row mapping: Chinese enumerations to the data model.
    let e = &csv["hbtx-2026-1001"];
    assert_eq!(e["entry_type"], "offer");
    assert_eq!(e["title"]["zh"], "钢桥面板U肋双面埋弧焊接机器人");
    assert!(e["title"]["en"]
        .as_str()
        .unwrap()
        .starts_with("Double-sided"));
    assert_eq!(
        e["classifications"],
        serde_json::json!([
            {"scheme": "ipc", "code": "B23K 37/02"},
            {"scheme": "ipc", "code": "B23K 9/18"},
            {"scheme": "gbt4754", "code": "C3491"},
            {"scheme": "cn-techfield", "code": "先进制造"}
        ])
    );
    assert_eq!(
        e["transfer_modes"],
        serde_json::json!(["licence", "technical_service"])
    );
    assert_eq!(
        e["trl"],
        serde_json::json!({"scheme": "cn-stage", "level": 5})
    );
    assert_eq!(
        e["organisation"],
        serde_json::json!({"name": {"zh": "武汉某桥梁科技有限公司"}, "kind": "enterprise", "country": "CN", "region": "CN-HB"})
    );
    assert_eq!(
        e["price"],
        serde_json::json!({"amount": "3000000", "currency": "CNY", "negotiable": true})
    );
    assert_eq!(e["target_countries"], serde_json::json!(["KZ", "UZ"]));
    assert_eq!(e["valid_from"], "2026-09-01");
    assert_eq!(e["valid_until"], "2028-08-31");
    assert_eq!(e["scope"], "international");
    let e = &csv["hbtx-2026-1002"];
    assert_eq!(
        e["transfer_modes"],
        serde_json::json!(["assignment", "equity_investment"])
    );
    assert_eq!(
        e["trl"],
        serde_json::json!({"scheme": "cn-stage", "level": 4})
    );
    assert_eq!(e["organisation"]["kind"], "university");
    assert_eq!(e["valid_from"], "2026-10-01");
    assert_eq!(e["scope"], "federation");
    let e = &csv["hbtx-2026-1003"];
    assert_eq!(e["organisation"]["kind"], "research_institute");
    assert_eq!(e["organisation"]["region"], "CN-HB"); // 湖北省潜江市
    assert!(e.get("ipr").is_none());
    let e = &csv["hbtx-2026-1005"];
    assert!(e.get("price").is_none(), "面议 has no amount: {e}");
    assert_eq!(
        e["ipr"],
        serde_json::json!({"status": "applied", "patents": ["CN116024521A"]})
    );
    assert_eq!(
        e["transfer_modes"],
        serde_json::json!(["rd_cooperation", "commissioned_rd"])
    );
    assert_eq!(csv["hbtx-2026-1007"]["ipr"]["status"], "secret_know_how");
    assert_eq!(csv["hbtx-2026-1007"]["scope"], "national");
    let r = &csv["hbtx-2026-1101"];
    assert_eq!(r["entry_type"], "request");
    assert_eq!(r["organisation"]["region"], "CN-HB");
    assert_eq!(r["classifications"][1]["code"], "C1530");
    assert!(csv["hbtx-2026-1102"].get("trl").is_none());

    // The XLSX (title row above the header, number and date cells) gives the same.
    let r = cli(&x, &["import", &sheet("hubei-library.xlsx")]).ok();
    assert!(r.stderr.contains("imported 10 record(s)"), "{}", r.stderr);
    assert_same(&csv, &bodies(&x), "xlsx vs csv");

    // GBK: refused with a clear message when UTF-8 is required, decoded otherwise.
    let strict = cli(
        &g,
        &[
            "import",
            "--encoding",
            "utf-8",
            &sheet("hubei-library-gbk.csv"),
        ],
    );
    assert_ne!(strict.code, 0);
    assert!(
        strict.stderr.contains("hubei-library-gbk.csv:1: not UTF-8")
            && strict.stderr.contains("CSV UTF-8")
            && strict.stderr.contains("--encoding gbk"),
        "{}",
        strict.stderr
    );
    assert!(bodies(&g).is_empty());
    let r = cli(&g, &["import", &sheet("hubei-library-gbk.csv")]).ok();
    assert!(
        r.stderr.contains("decoded as GBK/GB18030") && r.stderr.contains("imported 10 record(s)"),
        "{}",
        r.stderr
    );
    assert_same(&csv, &bodies(&g), "gbk vs utf-8");
    // An explicit --encoding gbk reads it silently.
    let g2 = tmp.path().join("g2");
    init(&g2);
    let r = cli(
        &g2,
        &[
            "import",
            "--encoding",
            "gbk",
            &sheet("hubei-library-gbk.csv"),
        ],
    )
    .ok();
    assert!(!r.stderr.contains("decoded as"), "{}", r.stderr);
    assert_same(&csv, &bodies(&g2), "--encoding gbk");

    // Importing the same sheet again changes nothing.
    let again = cli(&a, &["import", &sheet("hubei-library.xlsx")]).ok();
    assert!(again.stderr.contains("10 unchanged"), "{}", again.stderr);
}

#[test]
fn english_partner_library_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("ke");
    cli(&d, &["init", "--country", "KE", "--region", "KE-30"]).ok();
    cli(&d, &["import", &sheet("partner-library-en.csv")]).ok();
    let b = bodies(&d);
    assert_eq!(b.len(), 5);
    let dryer = &b["cacic-lib-2026-001"];
    assert!(dryer["title"]["fr"]
        .as_str()
        .unwrap()
        .starts_with("Séchoir"));
    assert!(dryer["summary"]["fr"].is_string());
    assert_eq!(
        dryer["trl"],
        serde_json::json!({"scheme": "trl-eu", "level": 7})
    );
    assert_eq!(
        dryer["price"],
        serde_json::json!({"amount": "45000", "currency": "USD", "negotiable": true})
    );
    assert_eq!(
        dryer["target_countries"],
        serde_json::json!(["SN", "NG", "CN"])
    );
    assert_eq!(
        dryer["classifications"],
        serde_json::json!([{"scheme": "ipc", "code": "F26B 3/28"}, {"scheme": "isic4", "code": "2825"}])
    );
    let bikes = &b["cacic-lib-2026-002"];
    assert_eq!(bikes["trl"]["level"], 8); // "TRL 8"
    assert_eq!(
        bikes["transfer_modes"],
        serde_json::json!(["assignment", "rd_cooperation"])
    );
    assert_eq!(bikes["organisation"]["kind"], "enterprise"); // "Company"
    assert_eq!(bikes["organisation"]["region"], "GH-AA");
    assert_eq!(
        b["cacic-lib-2026-103"]["title"]["sw"],
        "Mitambo ya biogesi kwa mashamba madogo ya maziwa"
    );
    assert_eq!(b["cacic-lib-2026-101"]["entry_type"], "request");
}

#[test]
fn bad_rows_are_reported_by_row_and_column_and_nothing_is_imported() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    init(&d);
    let r = cli(&d, &["import", &sheet("bad-rows.csv")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = &r.stderr;
    for expected in [
        "bad-rows.csv:3: 合作方式: \"以物易物\" is not a known transfer mode (技术转让, 专利许可,",
        "bad-rows.csv:4: 成熟度: \"量产阶段\" is not a maturity",
        "bad-rows.csv:5: IPC分类号: \"H01M/\" is not an IPC code",
        "bad-rows.csv:6: 成果名称: needs at least one language",
        "bad-rows.csv:7: 编号: \"ok-0001\" is already used on row 2",
        "bad-rows.csv:8: 所在地区: \"火星\" is not an ISO 3166-2 region code",
        "bad-rows.csv:9: 有效期: 2029-03-01 is more than 2 years after valid_from 2026-03-01",
        "bad-rows.csv:10: 行业分类: \"3841\" is not a GB/T 4754 code",
        "bad-rows.csv:11: 单位类型: \"外星机构\" is not a known organisation kind",
        "bad-rows.csv:11: 价格（万元）: \"一百\" is not an amount in 万元",
        "nothing imported: 9 of 11 row(s) invalid",
    ] {
        assert!(e.contains(expected), "missing {expected:?} in:\n{e}");
    }
    // One line per broken rule: rows 2 and 12 are fine, row 11 has two.
    let reported = e.lines().filter(|l| l.contains("bad-rows.csv:")).count();
    assert_eq!(reported, 10, "{e}");
    assert!(
        !e.contains("bad-rows.csv:2:") && !e.contains("bad-rows.csv:12:"),
        "{e}"
    );
    assert!(cli(&d, &["list"]).ok().stdout.contains("0 record(s)"));
    // A dry run reports the same and publishes nothing either.
    let dry = cli(&d, &["import", "--dry-run", &sheet("bad-rows.csv")]);
    assert_eq!(dry.code, 1);
    assert!(
        dry.stderr.contains("nothing imported: 9 of 11"),
        "{}",
        dry.stderr
    );
    // Only when asked: the valid rows.
    let r = cli(&d, &["import", "--skip-invalid", &sheet("bad-rows.csv")]).ok();
    assert!(
        r.stderr.contains("imported 2 record(s)") && r.stderr.contains("skipped 9 invalid row(s)"),
        "{}",
        r.stderr
    );
    assert_eq!(
        bodies(&d).keys().collect::<Vec<_>>(),
        ["ok-0001", "ok-0011"]
    );
}

#[test]
fn dry_run_shows_what_would_be_published_and_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    init(&d);
    let dry = cli(&d, &["import", "--dry-run", &sheet("hubei-library.xlsx")]).ok();
    let shown: Vec<Value> = dry
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 10, "{}", dry.stdout);
    assert!(
        dry.stderr
            .contains("hubei-library.xlsx:3: would publish entry/hbtx-2026-1001: 钢桥面板U肋双面埋弧焊接机器人"),
        "{}",
        dry.stderr
    );
    assert!(
        dry.stderr.contains("dry run: would publish 10 record(s)")
            && dry.stderr.contains("nothing was published"),
        "{}",
        dry.stderr
    );
    assert!(cli(&d, &["list"]).ok().stdout.contains("0 record(s)"));
    // What the dry run showed is what the import publishes.
    cli(&d, &["import", &sheet("hubei-library.xlsx")]).ok();
    let stored = bodies(&d);
    for body in &shown {
        assert_eq!(body, &stored[body["local_id"].as_str().unwrap()]);
    }
    // A second dry run knows the rows are current already.
    let again = cli(&d, &["import", "--dry-run", &sheet("hubei-library.csv")]).ok();
    assert!(
        again.stderr.contains("would publish 0 record(s)") && again.stderr.contains("10 unchanged"),
        "{}",
        again.stderr
    );
}

#[test]
fn csv_and_xlsx_exports_round_trip_to_identical_bodies() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    init(&a);
    cli(&a, &["import", &sheet("hubei-library.csv")]).ok();
    cli(&a, &["import", &sheet("partner-library-en.csv")]).ok();
    // JSON entries in fr/ar/sw/ru with descriptions, events, several maturity scales
    // and classifications out of the usual column order.
    for f in [
        "entries-africa.jsonl",
        "entries-kazakhstan.jsonl",
        "entries-hubei.jsonl",
    ] {
        cli(&a, &["import", demo_data(f).to_str().unwrap()]).ok();
    }
    let original = bodies(&a);
    assert_eq!(original.len(), 10 + 5 + 11 + 9 + 12);
    let cases: [(&str, &[&str]); 4] = [
        ("lib.csv", &[]),
        ("lib.xlsx", &[]),
        ("lib-en.csv", &["--headers", "en"]),
        ("lib-en.xlsx", &["--format", "xlsx", "--headers", "en"]),
    ];
    for (name, extra) in cases {
        let out = tmp.path().join(name);
        let mut args = vec!["export", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let r = cli(&a, &args).ok();
        assert!(r.stderr.contains("exported 47 entries"), "{}", r.stderr);
        let b = tmp.path().join(format!("b-{name}"));
        init(&b);
        let imported = cli(&b, &["import", out.to_str().unwrap()]).ok();
        assert!(
            imported.stderr.contains("imported 47 record(s)"),
            "{}",
            imported.stderr
        );
        assert_same(&original, &bodies(&b), name);
    }
    let zh = std::fs::read_to_string(tmp.path().join("lib.csv")).unwrap();
    assert!(
        zh.starts_with("\u{feff}编号,类型,成果名称,英文名称,成果简介"),
        "{}",
        &zh[..200]
    );
    assert!(zh.contains("湖北省") && zh.contains("专利许可、技术服务"));
    let en = std::fs::read_to_string(tmp.path().join("lib-en.csv")).unwrap();
    assert!(
        en.starts_with("\u{feff}id,type,title_en,title_zh,summary_en"),
        "{}",
        &en[..200]
    );
}

#[test]
fn a_column_map_file_maps_other_headers_and_reports_its_own_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    init(&d);
    let map = tmp.path().join("MAP.toml");
    std::fs::write(
        &map,
        "# headers of the county exchange\n[defaults]\nentry_type = \"offer\"\n[columns]\n\"项目代码\" = \"id\"\n\"技术名称（中文）\" = \"title_zh\"\n\"内容摘要\" = \"summary_zh\"\n\"领域\" = \"cn_techfield\"\n\"转化方式\" = \"transfer_modes\"\n\"阶段\" = \"maturity\"\n\"完成人单位\" = \"organisation_zh\"\n\"单位性质\" = \"organisation_kind\"\n\"起\" = \"valid_from\"\n\"止\" = \"valid_until\"\n\"电话\" = \"ignore\"\n",
    )
    .unwrap();
    let sheet = tmp.path().join("county.csv");
    std::fs::write(
        &sheet,
        "项目代码,技术名称（中文）,内容摘要,领域,转化方式,阶段,完成人单位,单位性质,起,止,电话\nxc-001,稻虾共作绿色种养技术,稻田养殖小龙虾与水稻种植结合，减少化肥农药用量。,农业,技术服务；技术咨询,可以量产,某县农业技术推广中心,政府,2026年9月1日,2027年8月31日,0716-1234567\n",
    )
    .unwrap();
    let r = cli(
        &d,
        &[
            "import",
            "--columns",
            map.to_str().unwrap(),
            sheet.to_str().unwrap(),
        ],
    )
    .ok();
    assert!(r.stderr.contains("imported 1 record(s)"), "{}", r.stderr);
    let b = bodies(&d);
    let e = &b["xc-001"];
    assert_eq!(e["entry_type"], "offer");
    assert_eq!(e["organisation"]["kind"], "government");
    assert_eq!(e["organisation"]["country"], "CN");
    assert_eq!(e["valid_from"], "2026-09-01");
    assert_eq!(
        e["transfer_modes"],
        serde_json::json!(["technical_service", "consulting"])
    );
    // Export with the same map writes its headers, and reads back the same.
    let out = tmp.path().join("county-out.csv");
    cli(
        &d,
        &[
            "export",
            "--columns",
            map.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("\u{feff}项目代码,类型,技术名称（中文）"),
        "{text}"
    );
    let d2 = tmp.path().join("n2");
    init(&d2);
    cli(
        &d2,
        &[
            "import",
            "--columns",
            map.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    )
    .ok();
    assert_same(&b, &bodies(&d2), "custom map");
    // Mistakes in the map file name its line and column.
    std::fs::write(
        &map,
        "[columns]\n\"项目代码\" = \"id\"\n\"名称\" = \"titel_zh\"\n",
    )
    .unwrap();
    let bad = cli(
        &d,
        &[
            "import",
            "--columns",
            map.to_str().unwrap(),
            sheet.to_str().unwrap(),
        ],
    );
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr
            .contains("MAP.toml:3:8: columns.名称: \"titel_zh\" is not a field"),
        "{}",
        bad.stderr
    );
    // Without the map, the sheet lacks required columns: said before any row.
    let nomap = cli(&d, &["import", sheet.to_str().unwrap()]);
    assert_ne!(nomap.code, 0);
    assert!(
        nomap.stderr.contains("county.csv:1: no column for the id"),
        "{}",
        nomap.stderr
    );
}

/// The venv python made by scripts/test.sh, with rdflib.
fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/test.sh (it creates the venv and installs rdflib from scripts/requirements-test.txt)",
        py.display()
    );
    let ok = std::process::Command::new(&py)
        .args(["-c", "import rdflib"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "rdflib is not installed in {}: run scripts/test.sh (it installs scripts/requirements-test.txt)",
        py.display()
    );
    py
}

#[test]
fn dcat_export_is_valid_rdf_for_rdflib() {
    let py = python();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("n");
    init(&d);
    cli(&d, &["import", &sheet("hubei-library.csv")]).ok();
    cli(&d, &["import", &sheet("partner-library-en.csv")]).ok();
    let set = tmp.path().join("set.json");
    std::fs::write(
        &set,
        serde_json::json!({
            "local_id": "gbt4754-nace2-library",
            "title": {"en": "GB/T 4754 to NACE Rev.2 (library sample)", "zh": "国民经济行业分类与NACE对照（样例）"},
            "subject_scheme": "gbt4754",
            "object_scheme": "nace2",
            "license": "CC-BY-4.0",
            "mappings": [
                {"subject": "C3491", "predicate": "close", "object": "28.99", "confidence": 0.8, "justification": "manual"},
                {"subject": "C2921", "predicate": "broad", "object": "22.21", "confidence": 0.9}
            ]
        })
        .to_string(),
    )
    .unwrap();
    cli(&d, &["publish", set.to_str().unwrap()]).ok();
    let out = tmp.path().join("catalogue.jsonld");
    let r = cli(&d, &["export", "--format", "dcat", out.to_str().unwrap()]).ok();
    assert!(
        r.stderr.contains("15 entr(ies) and 1 mapping set(s)"),
        "{}",
        r.stderr
    );
    let check = std::process::Command::new(&py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check_dcat.py"))
        .arg(&out)
        .args([
            "--entries",
            "15",
            "--offers",
            "9",
            "--requests",
            "6",
            "--datasets",
            "1",
            "--title",
            "zh=钢桥面板U肋双面埋弧焊接机器人",
            "--title",
            "fr=Séchoir hybride à assistance solaire pour la mangue et le manioc",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && stdout.trim_end().ends_with(" passed, 0 failed"),
        "check_dcat.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The JSON-LD itself: context, catalogue publisher, one record per resource.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["@context"]["dcat"], "http://www.w3.org/ns/dcat#");
    let own = cli(&d, &["id"]).ok().json()["publisher"]
        .as_str()
        .unwrap()
        .to_string();
    let graph = doc["@graph"].as_array().unwrap();
    let catalog = graph.iter().find(|n| n["@type"] == "dcat:Catalog").unwrap();
    assert_eq!(
        catalog["dct:publisher"]["@id"],
        format!("urn:techmesh:publisher:{own}")
    );
    assert_eq!(catalog["dcat:record"].as_array().unwrap().len(), 16);
    assert!(graph.iter().any(|n| n["@id"]
        == format!("urn:techmesh:record:{own}/entry/hbtx-2026-1001")
        && n["@type"][0] == "schema:Offer"));
}
