//! The enumerations of spreadsheet libraries and their data-model values.
//!
//! Chinese project libraries write 合作方式, 单位类型, 成熟度, 所在地区 … in words;
//! the data model (DATA-MODEL.md §2) has fixed identifiers. Each [`Vocab`] lists, per
//! identifier, the Chinese word techmesh writes on export and the other spellings it
//! accepts on import (Chinese synonyms, the identifier itself, plain English). Matching
//! ignores case, spaces, `_` and `-`, so `rd_cooperation`, `RD cooperation` and
//! `rd-cooperation` are one value.

use techmesh_protocol::body::common::{is_country, is_region_of};
use techmesh_protocol::codes::{self, Scheme};

/// One controlled vocabulary: identifier, the Chinese word written on export, and the
/// accepted aliases (the identifier and the Chinese word are always accepted).
pub struct Vocab {
    /// What the values are, in messages ("transfer mode").
    pub what: &'static str,
    pub values: &'static [(&'static str, &'static str, &'static [&'static str])],
}

/// Fold a word for matching: lowercase, without spaces, `_`, `-` and `&`.
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '&'))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Vocab {
    /// The identifier named by `word`, or a message listing the accepted words (Chinese
    /// ones for a Chinese sheet, identifiers otherwise).
    pub fn parse(&self, word: &str, zh: bool) -> Result<&'static str, String> {
        let w = fold(word);
        for (id, cn, aliases) in self.values {
            if fold(id) == w || fold(cn) == w || aliases.iter().any(|a| fold(a) == w) {
                return Ok(id);
            }
        }
        Err(format!(
            "{word:?} is not a known {} ({})",
            self.what,
            self.known(zh)
        ))
    }

    /// The accepted words, as listed in messages.
    pub fn known(&self, zh: bool) -> String {
        let names: Vec<&str> = self
            .values
            .iter()
            .map(|(id, cn, _)| if zh { *cn } else { *id })
            .collect();
        names.join(", ")
    }

    /// The word written on export: the Chinese one or the identifier.
    pub fn word(&self, id: &str, zh: bool) -> String {
        match self.values.iter().find(|(i, _, _)| *i == id) {
            Some((_, cn, _)) if zh => (*cn).to_string(),
            _ => id.to_string(),
        }
    }
}

/// 合作方式 (Art. 16 of the Law on Promoting the Transformation of S&T Achievements
/// and the EEN partnership types).
pub const TRANSFER_MODES: Vocab = Vocab {
    what: "transfer mode",
    values: &[
        (
            "assignment",
            "技术转让",
            &[
                "转让",
                "专利转让",
                "成果转让",
                "专利权转让",
                "transfer",
                "sale",
            ],
        ),
        (
            "licence",
            "专利许可",
            &[
                "技术许可",
                "许可",
                "普通许可",
                "许可使用",
                "专利实施许可",
                "license",
                "licensing",
            ],
        ),
        (
            "exclusive_licence",
            "独占许可",
            &["排他许可", "独家许可", "exclusive license"],
        ),
        (
            "rd_cooperation",
            "合作开发",
            &[
                "联合开发",
                "合作研发",
                "联合研发",
                "产学研合作",
                "R&D cooperation",
                "joint development",
            ],
        ),
        (
            "commissioned_rd",
            "委托开发",
            &[
                "委托研发",
                "技术开发",
                "contract research",
                "commissioned R&D",
            ],
        ),
        ("joint_implementation", "合作实施", &["共同实施"]),
        (
            "equity_investment",
            "技术入股",
            &["作价入股", "作价投资", "入股", "技术作价入股", "equity"],
        ),
        ("technical_service", "技术服务", &["service"]),
        ("consulting", "技术咨询", &["咨询", "consultancy"]),
        ("other", "其他", &["其它"]),
    ],
};

/// 类型: a technology offer (科技成果) or an enterprise technology request (需求).
pub const ENTRY_TYPES: Vocab = Vocab {
    what: "entry type",
    values: &[
        (
            "offer",
            "成果",
            &["供给", "科技成果", "技术成果", "供", "技术供给", "supply"],
        ),
        (
            "request",
            "需求",
            &[
                "技术需求",
                "求",
                "企业需求",
                "企业技术需求",
                "demand",
                "need",
            ],
        ),
    ],
};

/// 单位类型.
pub const ORG_KINDS: Vocab = Vocab {
    what: "organisation kind",
    values: &[
        (
            "university",
            "高校",
            &["大学", "学院", "高等院校", "高等学校", "院校", "college"],
        ),
        (
            "research_institute",
            "科研院所",
            &[
                "研究院",
                "研究所",
                "科研机构",
                "科研单位",
                "院所",
                "institute",
                "research institute",
            ],
        ),
        (
            "enterprise",
            "企业",
            &[
                "公司",
                "民营企业",
                "国有企业",
                "国企",
                "民企",
                "company",
                "business",
                "SME",
            ],
        ),
        ("hospital", "医院", &["医疗机构"]),
        (
            "government",
            "政府",
            &["政府机关", "政府部门", "机关", "public authority"],
        ),
        ("other", "其他", &["其它", "社会组织"]),
    ],
};

/// 共享范围 (DATA-MODEL.md §2 `scope`).
pub const SCOPES: Vocab = Vocab {
    what: "sharing scope",
    values: &[
        ("federation", "联盟", &["联盟内", "全联盟", "联盟共享"]),
        ("national", "国内", &["仅国内", "境内", "domestic"]),
        ("international", "国际", &["国际共享", "境外", "国际合作"]),
    ],
};

/// 知识产权状态.
pub const IPR_STATUSES: Vocab = Vocab {
    what: "IPR status",
    values: &[
        ("none", "无", &["没有", "no"]),
        (
            "secret_know_how",
            "技术秘密",
            &["专有技术", "技术诀窍", "know-how", "trade secret"],
        ),
        (
            "applied",
            "已申请",
            &["申请中", "审查中", "已受理", "pending", "filed"],
        ),
        ("granted", "已授权", &["授权", "已获授权"]),
    ],
};

/// 可议价: yes or no.
pub const BOOLS: Vocab = Vocab {
    what: "yes/no value",
    values: &[
        (
            "yes",
            "是",
            &["可", "可议价", "面议", "议价", "y", "true", "1", "可议"],
        ),
        (
            "no",
            "否",
            &["不可议价", "不议价", "n", "false", "0", "不可议"],
        ),
    ],
};

/// The 34 provincial-level divisions of China: ISO 3166-2 code, full name, short
/// name, pinyin/English name.
pub const PROVINCES: [(&str, &str, &str, &str); 34] = [
    ("CN-BJ", "北京市", "北京", "Beijing"),
    ("CN-TJ", "天津市", "天津", "Tianjin"),
    ("CN-HE", "河北省", "河北", "Hebei"),
    ("CN-SX", "山西省", "山西", "Shanxi"),
    ("CN-NM", "内蒙古自治区", "内蒙古", "Inner Mongolia"),
    ("CN-LN", "辽宁省", "辽宁", "Liaoning"),
    ("CN-JL", "吉林省", "吉林", "Jilin"),
    ("CN-HL", "黑龙江省", "黑龙江", "Heilongjiang"),
    ("CN-SH", "上海市", "上海", "Shanghai"),
    ("CN-JS", "江苏省", "江苏", "Jiangsu"),
    ("CN-ZJ", "浙江省", "浙江", "Zhejiang"),
    ("CN-AH", "安徽省", "安徽", "Anhui"),
    ("CN-FJ", "福建省", "福建", "Fujian"),
    ("CN-JX", "江西省", "江西", "Jiangxi"),
    ("CN-SD", "山东省", "山东", "Shandong"),
    ("CN-HA", "河南省", "河南", "Henan"),
    ("CN-HB", "湖北省", "湖北", "Hubei"),
    ("CN-HN", "湖南省", "湖南", "Hunan"),
    ("CN-GD", "广东省", "广东", "Guangdong"),
    ("CN-GX", "广西壮族自治区", "广西", "Guangxi"),
    ("CN-HI", "海南省", "海南", "Hainan"),
    ("CN-CQ", "重庆市", "重庆", "Chongqing"),
    ("CN-SC", "四川省", "四川", "Sichuan"),
    ("CN-GZ", "贵州省", "贵州", "Guizhou"),
    ("CN-YN", "云南省", "云南", "Yunnan"),
    ("CN-XZ", "西藏自治区", "西藏", "Tibet"),
    ("CN-SN", "陕西省", "陕西", "Shaanxi"),
    ("CN-GS", "甘肃省", "甘肃", "Gansu"),
    ("CN-QH", "青海省", "青海", "Qinghai"),
    ("CN-NX", "宁夏回族自治区", "宁夏", "Ningxia"),
    ("CN-XJ", "新疆维吾尔自治区", "新疆", "Xinjiang"),
    ("CN-TW", "台湾省", "台湾", "Taiwan"),
    ("CN-HK", "香港特别行政区", "香港", "Hong Kong"),
    ("CN-MO", "澳门特别行政区", "澳门", "Macao"),
];

/// Other English spellings of provinces.
const PROVINCE_ALIASES: [(&str, &str); 4] = [
    ("nei mongol", "CN-NM"),
    ("xizang", "CN-XZ"),
    ("macau", "CN-MO"),
    ("hongkong", "CN-HK"),
];

/// A region cell: an ISO 3166-2 code (`CN-HB`, `ke-30`) or the name of a Chinese
/// province, with or without 省/市/自治区 (湖北, 湖北省, 湖北省武汉市, Hubei).
/// Returns the ISO code; whether it belongs to the row's country is checked later.
pub fn parse_region(cell: &str) -> Result<String, String> {
    let s = cell.trim();
    let upper = s.to_ascii_uppercase();
    if let Some((cc, sub)) = upper.split_once('-') {
        if cc.len() == 2 && is_country(cc) && is_region_of(&upper, cc) && !sub.is_empty() {
            return Ok(upper);
        }
    }
    // Longest short name first: none is a prefix of another, but stay safe.
    let mut by_len: Vec<_> = PROVINCES.iter().collect();
    by_len.sort_by_key(|p| std::cmp::Reverse(p.2.chars().count()));
    for (code, _, short, _) in &by_len {
        if s.starts_with(short) {
            return Ok((*code).to_string());
        }
    }
    let folded = fold(s);
    for (code, _, _, en) in &PROVINCES {
        if fold(en) == folded {
            return Ok((*code).to_string());
        }
    }
    for (alias, code) in PROVINCE_ALIASES {
        if fold(alias) == folded {
            return Ok(code.to_string());
        }
    }
    Err(format!(
        "{s:?} is not an ISO 3166-2 region code (e.g. \"CN-HB\", \"KE-30\") or the name of a Chinese province (e.g. 湖北 or 湖北省)"
    ))
}

/// The region as written on export: the full Chinese name for a Chinese province in a
/// Chinese sheet, the ISO code otherwise.
pub fn region_word(code: &str, zh: bool) -> String {
    if zh {
        if let Some((_, full, _, _)) = PROVINCES.iter().find(|p| p.0 == code) {
            return (*full).to_string();
        }
    }
    code.to_string()
}

/// Countries that techmesh libraries commonly name in Chinese: code, Chinese name,
/// other names.
const COUNTRIES: [(&str, &str, &[&str]); 36] = [
    ("CN", "中国", &["中华人民共和国", "中国大陆", "China"]),
    ("KE", "肯尼亚", &["Kenya"]),
    ("EG", "埃及", &["Egypt"]),
    ("NG", "尼日利亚", &["Nigeria"]),
    ("ET", "埃塞俄比亚", &["Ethiopia"]),
    ("SN", "塞内加尔", &["Senegal"]),
    ("ZA", "南非", &["South Africa"]),
    ("TZ", "坦桑尼亚", &["Tanzania"]),
    ("UG", "乌干达", &["Uganda"]),
    ("RW", "卢旺达", &["Rwanda"]),
    ("GH", "加纳", &["Ghana"]),
    ("MA", "摩洛哥", &["Morocco"]),
    ("DZ", "阿尔及利亚", &["Algeria"]),
    ("KZ", "哈萨克斯坦", &["Kazakhstan"]),
    ("UZ", "乌兹别克斯坦", &["Uzbekistan"]),
    ("KG", "吉尔吉斯斯坦", &["Kyrgyzstan"]),
    ("TJ", "塔吉克斯坦", &["Tajikistan"]),
    ("RU", "俄罗斯", &["Russia"]),
    ("PK", "巴基斯坦", &["Pakistan"]),
    ("ID", "印度尼西亚", &["印尼", "Indonesia"]),
    ("MY", "马来西亚", &["Malaysia"]),
    ("TH", "泰国", &["Thailand"]),
    ("VN", "越南", &["Vietnam", "Viet Nam"]),
    ("LA", "老挝", &["Laos"]),
    ("KH", "柬埔寨", &["Cambodia"]),
    ("SG", "新加坡", &["Singapore"]),
    ("SA", "沙特阿拉伯", &["沙特", "Saudi Arabia"]),
    (
        "AE",
        "阿联酋",
        &["阿拉伯联合酋长国", "United Arab Emirates", "UAE"],
    ),
    ("TR", "土耳其", &["Turkey", "Türkiye"]),
    ("BR", "巴西", &["Brazil"]),
    ("DE", "德国", &["Germany"]),
    ("FR", "法国", &["France"]),
    ("GB", "英国", &["United Kingdom", "UK"]),
    ("US", "美国", &["United States", "USA"]),
    ("JP", "日本", &["Japan"]),
    ("KR", "韩国", &["South Korea", "Korea"]),
];

/// A country cell: an ISO 3166-1 alpha-2 code (any case) or a name from the table.
pub fn parse_country(cell: &str) -> Result<String, String> {
    let s = cell.trim();
    let upper = s.to_ascii_uppercase();
    if upper.len() == 2 && is_country(&upper) {
        return Ok(upper);
    }
    let folded = fold(s);
    for (code, zh, others) in &COUNTRIES {
        if fold(zh) == folded || others.iter().any(|o| fold(o) == folded) {
            return Ok((*code).to_string());
        }
    }
    Err(format!(
        "{s:?} is not an ISO 3166-1 alpha-2 country code (e.g. \"CN\", \"KE\") or a known country name"
    ))
}

/// The country as written on export: its Chinese name in a Chinese sheet when known.
pub fn country_word(code: &str, zh: bool) -> String {
    if zh {
        if let Some((_, name, _)) = COUNTRIES.iter().find(|c| c.0 == code) {
            return (*name).to_string();
        }
    }
    code.to_string()
}

/// A maturity cell: a cn-stage name (通过中试), `SCHEME:LEVEL` or `SCHEME LEVEL`
/// (`trl-eu:6`, `gbt22900 7`), `TRL 6` (trl-eu, or the default scheme when that is a
/// TRL scale), or a bare level of `default`.
pub fn parse_maturity(cell: &str, default: Scheme) -> Result<(Scheme, u8), String> {
    let s = cell.trim();
    if let Some(level) = codes::cn_stage_level(s) {
        return Ok((Scheme::CnStage, level));
    }
    let bad = || {
        format!(
            "{s:?} is not a maturity: write a stage ({}), a level of {default}, or SCHEME:LEVEL such as trl-eu:6",
            (1..=5)
                .filter_map(codes::cn_stage_name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let level_of = |scheme: Scheme, raw: &str| -> Result<(Scheme, u8), String> {
        codes::normalise(scheme, raw)
            .map_err(|e| e.to_string())
            .and_then(|n| n.parse::<u8>().map_err(|_| bad()))
            .map(|l| (scheme, l))
    };
    let split = s
        .split_once(':')
        .or_else(|| s.split_once('：'))
        .or_else(|| s.split_once(' '));
    if let Some((scheme, level)) = split {
        if let Some(scheme) = Scheme::parse(&scheme.trim().to_ascii_lowercase()) {
            if scheme.is_maturity() {
                return level_of(scheme, level.trim());
            }
        }
    }
    if s.len() >= 3 && s.is_char_boundary(3) && s[..3].eq_ignore_ascii_case("trl") {
        let scheme = if matches!(default, Scheme::TrlEu | Scheme::TrlNasa) {
            default
        } else {
            Scheme::TrlEu
        };
        return level_of(scheme, s);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return level_of(default, s);
    }
    Err(bad())
}

/// The maturity as written on export: the stage name for cn-stage in a Chinese
/// sheet, `SCHEME:LEVEL` otherwise.
pub fn maturity_word(scheme: &str, level: u8, zh: bool) -> String {
    if zh && scheme == Scheme::CnStage.as_str() {
        if let Some(name) = codes::cn_stage_name(level) {
            return name.to_string();
        }
    }
    format!("{scheme}:{level}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_modes_in_chinese_and_english() {
        for (word, id) in [
            ("技术转让", "assignment"),
            ("专利许可", "licence"),
            ("技术许可", "licence"),
            ("独占许可", "exclusive_licence"),
            ("合作开发", "rd_cooperation"),
            ("委托开发", "commissioned_rd"),
            ("技术入股", "equity_investment"),
            ("作价入股", "equity_investment"),
            ("作价投资", "equity_investment"),
            ("技术咨询", "consulting"),
            ("技术服务", "technical_service"),
            ("其他", "other"),
            ("R&D cooperation", "rd_cooperation"),
            ("rd_cooperation", "rd_cooperation"),
            (" Licence ", "licence"),
            ("exclusive-licence", "exclusive_licence"),
        ] {
            assert_eq!(TRANSFER_MODES.parse(word, true), Ok(id), "{word}");
        }
        let e = TRANSFER_MODES.parse("以物易物", true).unwrap_err();
        assert!(
            e.starts_with("\"以物易物\" is not a known transfer mode (技术转让, 专利许可,"),
            "{e}"
        );
        assert!(TRANSFER_MODES
            .parse("barter", false)
            .unwrap_err()
            .contains("(assignment, licence,"));
        for (id, _, _) in TRANSFER_MODES.values {
            let zh = TRANSFER_MODES.word(id, true);
            assert_eq!(TRANSFER_MODES.parse(&zh, true), Ok(*id));
        }
    }

    #[test]
    fn organisation_kinds_scopes_and_types() {
        assert_eq!(ORG_KINDS.parse("大学", true), Ok("university"));
        assert_eq!(ORG_KINDS.parse("研究院", true), Ok("research_institute"));
        assert_eq!(ORG_KINDS.parse("企业", true), Ok("enterprise"));
        assert_eq!(
            ORG_KINDS.parse("Research institute", false),
            Ok("research_institute")
        );
        assert_eq!(SCOPES.parse("国内", true), Ok("national"));
        assert_eq!(SCOPES.parse("联盟", true), Ok("federation"));
        assert_eq!(ENTRY_TYPES.parse("供给", true), Ok("offer"));
        assert_eq!(ENTRY_TYPES.parse("需求", true), Ok("request"));
        assert_eq!(BOOLS.parse("面议", true), Ok("yes"));
        assert_eq!(IPR_STATUSES.parse("已授权", true), Ok("granted"));
    }

    #[test]
    fn regions_and_countries() {
        assert_eq!(PROVINCES.len(), 34);
        for (code, full, short, en) in PROVINCES {
            assert!(is_region_of(code, "CN"), "{code}");
            assert_eq!(parse_region(full).as_deref(), Ok(code));
            assert_eq!(parse_region(short).as_deref(), Ok(code));
            assert_eq!(parse_region(en).as_deref(), Ok(code));
            assert_eq!(parse_region(&region_word(code, true)).as_deref(), Ok(code));
        }
        assert_eq!(parse_region("湖北省武汉市").as_deref(), Ok("CN-HB"));
        assert_eq!(parse_region("cn-hb").as_deref(), Ok("CN-HB"));
        assert_eq!(parse_region("KE-30").as_deref(), Ok("KE-30"));
        assert_eq!(parse_region("Shaanxi").as_deref(), Ok("CN-SN"));
        assert!(parse_region("火星").is_err());
        assert_eq!(parse_country("中国").as_deref(), Ok("CN"));
        assert_eq!(parse_country("ke").as_deref(), Ok("KE"));
        assert_eq!(parse_country("肯尼亚").as_deref(), Ok("KE"));
        assert!(parse_country("XX").is_err());
        for (code, _, _) in COUNTRIES {
            assert!(is_country(code), "{code}");
            assert_eq!(
                parse_country(&country_word(code, true)).as_deref(),
                Ok(code)
            );
        }
    }

    #[test]
    fn maturity_cells() {
        use Scheme::*;
        assert_eq!(parse_maturity("通过中试", CnStage), Ok((CnStage, 4)));
        assert_eq!(parse_maturity("3", CnStage), Ok((CnStage, 3)));
        assert_eq!(parse_maturity("trl-eu:6", CnStage), Ok((TrlEu, 6)));
        assert_eq!(parse_maturity("gbt22900 7", CnStage), Ok((Gbt22900, 7)));
        assert_eq!(parse_maturity("TRL 6", CnStage), Ok((TrlEu, 6)));
        assert_eq!(parse_maturity("TRL6", TrlNasa), Ok((TrlNasa, 6)));
        assert_eq!(parse_maturity("6", TrlEu), Ok((TrlEu, 6)));
        assert!(parse_maturity("6", CnStage).is_err());
        assert!(parse_maturity("量产阶段", CnStage)
            .unwrap_err()
            .contains("正在研发"));
        for (scheme, level) in [(CnStage, 2), (TrlEu, 9), (Gbt22900, 1)] {
            for zh in [true, false] {
                let w = maturity_word(scheme.as_str(), level, zh);
                assert_eq!(parse_maturity(&w, TrlEu), Ok((scheme, level)), "{w}");
            }
        }
    }
}
