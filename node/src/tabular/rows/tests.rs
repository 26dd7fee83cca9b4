//! Tests of spreadsheet rows ↔ entry bodies.

use super::*;

#[test]
fn amounts_in_wan_round_trip_exactly() {
    for (wan, amount) in [
        ("150", "1500000"),
        ("12.5", "125000"),
        ("0.01", "100"),
        ("0.009950", "99.50"),
        ("120.00005", "1200000.5"),
        ("123.4567", "1234567"),
        ("0", "0"),
        ("0.00005", "0.5"),
    ] {
        assert_eq!(wan_to_amount(wan).as_deref(), Some(amount), "{wan}");
        assert_eq!(amount_to_wan(amount), wan, "{amount}");
    }
    assert_eq!(wan_to_amount("1,500万元").as_deref(), Some("15000000"));
    assert_eq!(wan_to_amount("150.0").as_deref(), Some("1500000"));
    assert_eq!(wan_to_amount(" 8 ").as_deref(), Some("80000"));
    for bad in ["abc", "-5", "1.2.3", "", "5."] {
        assert_eq!(wan_to_amount(bad), None, "{bad}");
    }
    assert_eq!(clean_amount("1,200,000元").as_deref(), Some("1200000"));
}

#[test]
fn dates_in_common_spellings() {
    let ok = |s: &str| -> Vec<String> { scan_dates(s).into_iter().map(|d| d.unwrap()).collect() };
    assert_eq!(ok("2026-03-01至2027-03-01"), ["2026-03-01", "2027-03-01"]);
    assert_eq!(ok("2026/3/1 ~ 2027/2/28"), ["2026-03-01", "2027-02-28"]);
    assert_eq!(
        ok("2026年3月1日到2027年3月1日"),
        ["2026-03-01", "2027-03-01"]
    );
    assert_eq!(ok("2026-03-01-2027-03-01"), ["2026-03-01", "2027-03-01"]);
    assert_eq!(ok("20260301—20270301"), ["2026-03-01", "2027-03-01"]);
    assert_eq!(ok("2026.3.1"), ["2026-03-01"]);
    assert_eq!(scan_dates("2026-02-30"), [Err("2026-02-30".to_string())]);
    assert!(scan_dates("明年").is_empty());
    assert!(scan_dates("12345").is_empty());
}

fn mapper(headers: &[&str]) -> Mapper {
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    match Mapper::bind(&ColumnMap::builtin(), &headers) {
        Ok(setup) => setup.mapper,
        Err(e) => panic!("{e:?}"),
    }
}

fn row(cells: &[&str]) -> Row {
    Row {
        number: 7,
        cells: cells.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn rows_map_to_bodies_and_errors_to_columns() {
    let m = mapper(&[
        "编号",
        "成果名称",
        "成果简介",
        "技术领域",
        "IPC分类号",
        "成熟度",
        "合作方式",
        "所属单位",
        "单位类型",
        "所在地区",
        "关键词",
        "有效期",
    ]);
    assert!(m.is_chinese());
    let good = row(&[
        "x-1",
        "名称",
        "简介",
        "电子信息",
        "g06n 3/08",
        "3",
        "作价投资",
        "某大学",
        "高校",
        "四川",
        "甲、乙",
        "2026-01-01至2026-12-31",
    ]);
    let Body::Entry(e) = m.map_row(&good).unwrap() else {
        panic!("not an entry")
    };
    assert_eq!(e.entry_type.as_str(), "offer");
    assert_eq!(e.classifications[0].code, "G06N 3/08");
    assert_eq!(
        e.trl.as_ref().map(|t| (t.scheme.as_str(), t.level)),
        Some(("cn-stage", 3))
    );
    assert_eq!(e.organisation.region.as_deref(), Some("CN-SC"));
    assert_eq!(e.organisation.country, "CN");
    let long = "长".repeat(70);
    let kw = format!("甲、{long}");
    let mut bad = good.clone();
    bad.cells[4] = "G06N 3/08、H01M/".into();
    bad.cells[10] = kw;
    bad.cells[9] = String::new();
    let errs: Vec<String> = m
        .map_row(&bad)
        .unwrap_err()
        .iter()
        .map(|e| m.describe(e))
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(
        errs[1].starts_with("IPC分类号: \"H01M/\" is not an IPC code"),
        "{errs:?}"
    );
    assert_eq!(
        errs[0],
        "关键词: item 2: is 70 characters long, more than 64"
    );
    // A request needs no maturity or transfer mode; an empty cell is not an error.
    let m = mapper(&[
        "id",
        "type",
        "title_en",
        "summary_en",
        "ipc",
        "organisation_en",
        "organisation_kind",
        "country",
        "valid_from",
        "valid_until",
        "transfer_modes",
    ]);
    assert!(!m.is_chinese());
    let r = row(&[
        "r-1",
        "request",
        "T",
        "S",
        "A01G",
        "Org",
        "other",
        "",
        "2026-01-01",
        "2026-02-01",
        "",
    ]);
    let errs: Vec<String> = m
        .map_row(&r)
        .unwrap_err()
        .iter()
        .map(|e| m.describe(e))
        .collect();
    assert_eq!(
        errs,
        ["country: is empty: give the ISO 3166-1 alpha-2 country code (e.g. KE)"]
    );
    let mut r = r;
    r.cells[7] = "ke".into();
    assert!(m.map_row(&r).is_ok());
}

#[test]
fn small_helpers() {
    assert_eq!(leading_code("C3841 锂离子电池制造"), "C3841");
    assert_eq!(leading_code("C3841锂离子电池制造"), "C3841");
    assert_eq!(leading_code("C3841"), "C3841");
    assert_eq!(column_name(0), "A");
    assert_eq!(column_name(25), "Z");
    assert_eq!(column_name(26), "AA");
    assert!(path_under("classifications[1].code", "classifications[1]"));
    assert!(!path_under(
        "classifications[11].code",
        "classifications[1]"
    ));
    assert_eq!(item_index("[3]"), Some(3));
    assert_eq!(
        split_list("技术许可、合作开发/技术入股", MODE_SEPS).len(),
        3
    );
}
