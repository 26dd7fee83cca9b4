//! Spreadsheet headers: how they are folded for comparison, the English aliases and
//! the built-in table of common Chinese headers (成果名称, 合作方式 …).

use super::*;

/// Fold a header for comparison: lowercase, runs of non-alphanumerics → `_`, `*` and
/// a byte-order mark dropped.
pub fn fold_header(h: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in h.chars().filter(|c| !matches!(c, '*' | '\u{feff}')) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Does the header contain Chinese characters?
pub fn is_chinese(h: &str) -> bool {
    h.chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c))
}

/// English headers beyond the identifiers.
#[allow(clippy::type_complexity)]
pub(super) const ENGLISH_ALIASES: &[(&str, fn() -> Field)] = &[
    ("local_id", || Field::Id),
    ("entry_type", || Field::Type),
    ("title", || Field::Title("en".into())),
    ("summary", || Field::Summary("en".into())),
    ("description", || Field::Description("en".into())),
    ("keywords", || Field::Keywords("en".into())),
    ("organisation", || Field::OrgName("en".into())),
    ("organization", || Field::OrgName("en".into())),
    ("organisation_name", || Field::OrgName("en".into())),
    ("organization_name", || Field::OrgName("en".into())),
    ("organization_kind", || Field::OrgKind),
    ("organisation_type", || Field::OrgKind),
    ("organization_type", || Field::OrgKind),
    ("tech_field", || Field::Class(Scheme::CnTechfield)),
    ("techfield", || Field::Class(Scheme::CnTechfield)),
    ("technology_field", || Field::Class(Scheme::CnTechfield)),
    ("industry", || Field::Class(Scheme::Gbt4754)),
    ("industry_code", || Field::Class(Scheme::Gbt4754)),
    ("ipc_codes", || Field::Class(Scheme::Ipc)),
    ("trl", || Field::Maturity),
    ("modes", || Field::Modes),
    ("transfer_mode", || Field::Modes),
    ("patent_numbers", || Field::Patents),
    ("valid_to", || Field::ValidUntil),
    ("valid_through", || Field::ValidUntil),
    ("amount", || Field::Price),
    ("price_negotiable", || Field::Negotiable),
];

/// Chinese headers: field, the header written on export, other headers accepted.
pub(super) fn chinese_headers() -> Vec<(Field, &'static str, &'static [&'static str])> {
    use Field::*;
    let zh = || "zh".to_string();
    let en = || "en".to_string();
    vec![
        (
            Id,
            "编号",
            &["项目编号", "成果编号", "需求编号", "条目编号"][..],
        ),
        (Type, "类型", &["供需类型", "条目类型", "类别"]),
        (
            Title(zh()),
            "成果名称",
            &["需求名称", "项目名称", "技术名称", "名称", "中文名称"],
        ),
        (Title(en()), "英文名称", &["英文标题", "成果英文名称"]),
        (
            Summary(zh()),
            "成果简介",
            &[
                "需求简介",
                "简介",
                "摘要",
                "项目简介",
                "技术简介",
                "需求描述",
            ],
        ),
        (Summary(en()), "英文简介", &["英文摘要"]),
        (
            Description(zh()),
            "详细介绍",
            &["详细描述", "技术详情", "详细说明"],
        ),
        (Description(en()), "英文详细介绍", &["英文详细描述"]),
        (Keywords(zh()), "关键词", &["关键字"]),
        (Keywords(en()), "英文关键词", &["英文关键字"]),
        (
            Class(Scheme::CnTechfield),
            "技术领域",
            &["所属领域", "所属技术领域"],
        ),
        (
            Class(Scheme::Gbt4754),
            "行业分类",
            &["所属行业", "国民经济行业分类", "行业代码", "行业分类代码"],
        ),
        (
            Class(Scheme::Ipc),
            "IPC分类号",
            &["IPC分类", "IPC", "国际专利分类", "国际专利分类号"],
        ),
        (Classifications, "其他分类", &["其它分类"]),
        (
            Maturity,
            "成熟度",
            &[
                "技术成熟度",
                "成熟度阶段",
                "所处阶段",
                "技术阶段",
                "成果阶段",
            ],
        ),
        (
            Modes,
            "合作方式",
            &["转化方式", "交易方式", "合作形式", "转让方式"],
        ),
        (
            OrgName(zh()),
            "所属单位",
            &[
                "单位名称",
                "完成单位",
                "需求单位",
                "持有单位",
                "成果持有单位",
                "依托单位",
            ],
        ),
        (OrgName(en()), "单位英文名称", &["英文单位名称"]),
        (OrgKind, "单位类型", &["单位性质", "机构类型"]),
        (Country, "国家", &["国别", "所在国家"]),
        (
            Region,
            "所在地区",
            &["地区", "省份", "所在省份", "所在地", "所属地区"],
        ),
        (IprStatus, "知识产权状态", &["知识产权", "专利状态"]),
        (
            Patents,
            "专利号",
            &["专利", "专利号码", "相关专利", "专利申请号"],
        ),
        (Validity, "有效期", &["有效期限"]),
        (
            ValidFrom,
            "有效期起",
            &["有效期开始", "开始日期", "起始日期"],
        ),
        (
            ValidUntil,
            "有效期止",
            &["有效期至", "有效期结束", "截止日期", "结束日期"],
        ),
        (
            PriceWan,
            "价格（万元）",
            &[
                "价格",
                "转让价格（万元）",
                "参考价格（万元）",
                "意向价格（万元）",
                "报价（万元）",
                "金额（万元）",
                "预算（万元）",
            ],
        ),
        (Price, "价格（元）", &["金额（元）", "报价（元）"]),
        (Currency, "币种", &["货币"]),
        (Negotiable, "可议价", &["是否面议", "是否可议价", "面议"]),
        (TargetCountries, "目标国家", &["意向国家", "目标市场"]),
        (Events, "对接活动", &["参加活动", "对接会"]),
        (Scope, "共享范围", &["发布范围", "公开范围", "共享级别"]),
        (
            Ignore,
            "序号",
            &["联系人", "联系电话", "电话", "邮箱", "备注", "联系方式"],
        ),
    ]
}

/// Folded Chinese header → field (built once).
pub(super) fn builtin_chinese() -> &'static HashMap<String, Field> {
    static MAP: OnceLock<HashMap<String, Field>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m = HashMap::new();
        for (f, main, aliases) in chinese_headers() {
            m.insert(fold_header(main), f.clone());
            for a in aliases {
                m.insert(fold_header(a), f.clone());
            }
        }
        m
    })
}

/// The header written on export for `field` in a Chinese sheet, when there is one.
pub fn chinese_header(field: &Field) -> Option<&'static str> {
    chinese_headers()
        .into_iter()
        .find(|(f, _, _)| f == field)
        .map(|(_, h, _)| h)
}
