//! Column maps: which spreadsheet header means which entry field.
//!
//! Every column of a sheet is bound to a [`Field`]. Headers are recognised in three
//! ways, first match wins:
//!
//! 1. the `[columns]` of a column map file (`--columns MAP.toml`);
//! 2. the built-in map (unless the file says `base = "none"`): common Chinese headers
//!    (成果名称, 合作方式, 所在地区 …) and English ones (title_en, transfer_modes …);
//! 3. the field identifiers themselves (`title_fr`, `nace2`, `valid_from` …), always.
//!
//! Headers are compared after folding: lowercase, every run of characters other than
//! letters and digits turned into one `_`, `*` (required-column markers) dropped. So
//! `价格（万元）`, `价格(万元)` and `价格/万元` are one header, and so are `Title EN`
//! and `title_en`. Language columns take any BCP-47 tag: `title_fr`, `summary_ar`,
//! `keywords_ru`, `organisation_sw`.
//!
//! A column map file:
//!
//! ```toml
//! base = "builtin"          # or "none": only the columns below (and field ids)
//! [defaults]                # values for cells that are empty or columns that are absent
//! country = "CN"            # built-in: CN for a Chinese sheet, none for an English one
//! entry_type = "offer"      # built-in: from the title header (需求名称 → request) or offer
//! maturity_scheme = "cn-stage"  # for bare numbers in 成熟度: cn-stage (zh) / trl-eu (en)
//! currency = "CNY"          # built-in: CNY for a Chinese sheet
//! [columns]
//! "项目名称" = "title_zh"
//! "Technology readiness" = "maturity"
//! "联系人" = "ignore"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use anyhow::Result;
use serde::Deserialize;
use toml::Spanned;

use techmesh_config::ConfigError;
use techmesh_protocol::body::common::is_language_tag;
use techmesh_protocol::codes::Scheme;

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Id,
    Type,
    Title(String),
    Summary(String),
    Description(String),
    Keywords(String),
    /// Codes of one classification scheme.
    Class(Scheme),
    /// `SCHEME:CODE` items of any scheme.
    Classifications,
    Maturity,
    Modes,
    OrgName(String),
    OrgKind,
    Country,
    Region,
    IprStatus,
    Patents,
    /// Both dates in one cell: `2026-03-01至2027-03-01`.
    Validity,
    ValidFrom,
    ValidUntil,
    /// Amount in currency units.
    Price,
    /// Amount in units of 10 000 (万元).
    PriceWan,
    Currency,
    Negotiable,
    TargetCountries,
    Events,
    Scope,
    /// A column read and dropped (contacts, serial numbers, notes).
    Ignore,
}

/// Makes a language field (`Field::Title`, …) for a language tag.
pub type LangField = fn(String) -> Field;

/// The language-suffixed fields: base name of the identifier and constructor.
const LANG_FIELDS: [(&str, LangField); 5] = [
    ("title", Field::Title),
    ("summary", Field::Summary),
    ("description", Field::Description),
    ("keywords", Field::Keywords),
    ("organisation", Field::OrgName),
];

/// Single fields and their identifiers (the English headers).
const PLAIN_FIELDS: [(&str, Field); 21] = [
    ("id", Field::Id),
    ("type", Field::Type),
    ("classifications", Field::Classifications),
    ("maturity", Field::Maturity),
    ("transfer_modes", Field::Modes),
    ("organisation_kind", Field::OrgKind),
    ("country", Field::Country),
    ("region", Field::Region),
    ("ipr_status", Field::IprStatus),
    ("patents", Field::Patents),
    ("validity", Field::Validity),
    ("valid_from", Field::ValidFrom),
    ("valid_until", Field::ValidUntil),
    ("price", Field::Price),
    ("price_wan", Field::PriceWan),
    ("currency", Field::Currency),
    ("negotiable", Field::Negotiable),
    ("target_countries", Field::TargetCountries),
    ("events", Field::Events),
    ("scope", Field::Scope),
    ("ignore", Field::Ignore),
];

impl Field {
    /// The identifier: used in column map files and as the English header.
    pub fn id(&self) -> String {
        let lang = |base: &str, l: &str| format!("{base}_{l}");
        match self {
            Field::Title(l) => lang("title", l),
            Field::Summary(l) => lang("summary", l),
            Field::Description(l) => lang("description", l),
            Field::Keywords(l) => lang("keywords", l),
            Field::OrgName(l) => lang("organisation", l),
            Field::Class(s) => s.as_str().replace('-', "_"),
            other => PLAIN_FIELDS
                .iter()
                .find(|(_, f)| f == other)
                .map(|(id, _)| (*id).to_string())
                .unwrap_or_default(),
        }
    }

    /// The field named by an identifier (or an English alias). Case and separators
    /// are ignored except in the language tag, which is kept as written.
    pub fn parse(s: &str) -> Option<Field> {
        let s = s.trim();
        if let Some(f) = lang_field(s) {
            return Some(f);
        }
        let folded = fold_header(s);
        if let Some((_, f)) = PLAIN_FIELDS.iter().find(|(id, _)| *id == folded) {
            return Some(f.clone());
        }
        if let Some(scheme) = Scheme::ALL
            .into_iter()
            .find(|sc| !sc.is_maturity() && sc.as_str().replace('-', "_") == folded)
        {
            return Some(Field::Class(scheme));
        }
        ENGLISH_ALIASES
            .iter()
            .find(|(alias, _)| *alias == folded)
            .map(|(_, f)| f())
    }

    /// The identifiers, as listed in messages.
    pub fn known() -> String {
        let mut ids: Vec<String> = LANG_FIELDS
            .iter()
            .map(|(b, _)| format!("{b}_<lang>"))
            .collect();
        ids.extend(PLAIN_FIELDS.iter().map(|(id, _)| id.to_string()));
        ids.extend(
            Scheme::ALL
                .iter()
                .filter(|s| !s.is_maturity())
                .map(|s| s.as_str().replace('-', "_")),
        );
        ids.join(", ")
    }
}

/// `title_fr`, `Summary (en)`, `organization.zh-Hant`: a language field, tag as written.
fn lang_field(s: &str) -> Option<Field> {
    let lower = s.to_ascii_lowercase();
    let bases: [(&str, usize); 8] = [
        ("title", 0),
        ("summary", 1),
        ("description", 2),
        ("keywords", 3),
        ("organisation", 4),
        ("organization", 4),
        ("org_name", 4),
        ("organisation_name", 4),
    ];
    for (base, i) in bases {
        let Some(rest) = lower.strip_prefix(base) else {
            continue;
        };
        let Some(sep) = rest.chars().next() else {
            continue;
        };
        if !matches!(sep, '_' | '.' | ' ' | '(' | '-') {
            continue;
        }
        let tag = s[base.len() + sep.len_utf8()..]
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        // The primary language subtag is lowercase (`EN` → `en`); the rest is kept.
        let tag = match tag.split_once('-') {
            Some((p, rest)) => format!("{}-{rest}", p.to_ascii_lowercase()),
            None => tag.to_ascii_lowercase(),
        };
        if is_language_tag(&tag) {
            return Some(LANG_FIELDS[i].1(tag));
        }
    }
    None
}

mod headers;
use headers::{builtin_chinese, chinese_headers, ENGLISH_ALIASES};
pub use headers::{chinese_header, fold_header, is_chinese};

/// Which language a sheet's headers are in (decides the defaults and the words used
/// in messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Headers {
    /// Chinese headers (成果名称, 合作方式 …) and Chinese words (技术转让, 湖北省 …).
    Zh,
    /// English headers (the field identifiers) and identifiers as values.
    En,
}

/// Defaults for cells that are empty or columns that are absent.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub country: Option<String>,
    pub entry_type: Option<String>,
    pub maturity_scheme: Option<Scheme>,
    pub currency: Option<String>,
}

/// A column map: the built-in one, possibly extended or replaced by a file.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// Folded header → field, from the file.
    columns: HashMap<String, Field>,
    /// Field → header written on export (the file's first header for it).
    export: HashMap<Field, String>,
    builtin: bool,
    pub defaults: Defaults,
}

impl Default for ColumnMap {
    fn default() -> Self {
        ColumnMap::builtin()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    base: Option<Spanned<String>>,
    #[serde(default)]
    defaults: DefaultsFile,
    #[serde(default)]
    columns: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    country: Option<Spanned<String>>,
    entry_type: Option<Spanned<String>>,
    maturity_scheme: Option<Spanned<String>>,
    currency: Option<Spanned<String>>,
}

impl ColumnMap {
    pub fn builtin() -> ColumnMap {
        ColumnMap {
            columns: HashMap::new(),
            export: HashMap::new(),
            builtin: true,
            defaults: Defaults::default(),
        }
    }

    /// Load a column map file; every error names the file, line and column.
    pub fn load(path: &Path) -> Result<ColumnMap> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
        Ok(ColumnMap::parse(path, &text)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ColumnMap, ConfigError> {
        let file: MapFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        let at = |span: std::ops::Range<usize>, field: &str, msg: String| {
            ConfigError::at(path, text, Some(span), Some(field.to_string()), msg)
        };
        let builtin = match &file.base {
            None => true,
            Some(b) => match b.get_ref().as_str() {
                "builtin" => true,
                "none" => false,
                other => {
                    return Err(at(
                        b.span(),
                        "base",
                        format!("{other:?} is not a base map (\"builtin\" or \"none\")"),
                    ))
                }
            },
        };
        let mut defaults = Defaults::default();
        let d = &file.defaults;
        if let Some(c) = &d.country {
            let code = super::enums::parse_country(c.get_ref())
                .map_err(|e| at(c.span(), "defaults.country", e))?;
            defaults.country = Some(code);
        }
        if let Some(t) = &d.entry_type {
            let ty = super::enums::ENTRY_TYPES
                .parse(t.get_ref(), false)
                .map_err(|e| at(t.span(), "defaults.entry_type", e))?;
            defaults.entry_type = Some(ty.to_string());
        }
        if let Some(m) = &d.maturity_scheme {
            let scheme = Scheme::parse(m.get_ref())
                .filter(|s| s.is_maturity())
                .ok_or_else(|| {
                    at(
                        m.span(),
                        "defaults.maturity_scheme",
                        format!(
                            "{:?} is not a maturity scale (cn-stage, trl-eu, trl-nasa, gbt22900)",
                            m.get_ref()
                        ),
                    )
                })?;
            defaults.maturity_scheme = Some(scheme);
        }
        if let Some(c) = &d.currency {
            let cur = c.get_ref();
            if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at(
                    c.span(),
                    "defaults.currency",
                    format!("{cur:?} is not an ISO 4217 currency code such as \"CNY\""),
                ));
            }
            defaults.currency = Some(cur.clone());
        }
        let mut entries: Vec<_> = file.columns.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut columns: HashMap<String, Field> = HashMap::new();
        let mut first_header: HashMap<String, String> = HashMap::new();
        let mut export = HashMap::new();
        for (header, field) in entries {
            let name = format!("columns.{}", header.get_ref());
            let f = Field::parse(field.get_ref()).ok_or_else(|| {
                at(
                    field.span(),
                    &name,
                    format!(
                        "{:?} is not a field (known: {})",
                        field.get_ref(),
                        Field::known()
                    ),
                )
            })?;
            let folded = fold_header(header.get_ref());
            if folded.is_empty() {
                return Err(at(header.span(), &name, "the header is empty".into()));
            }
            if let Some(prev) = first_header.insert(folded.clone(), header.get_ref().clone()) {
                return Err(at(
                    header.span(),
                    &name,
                    format!("{prev:?} and {:?} are the same header", header.get_ref()),
                ));
            }
            if f != Field::Ignore {
                export
                    .entry(f.clone())
                    .or_insert_with(|| header.get_ref().clone());
            }
            columns.insert(folded, f);
        }
        Ok(ColumnMap {
            columns,
            export,
            builtin,
            defaults,
        })
    }

    /// The field of a header, or `None` when the map does not know it.
    pub fn field(&self, header: &str) -> Option<Field> {
        let folded = fold_header(header);
        if folded.is_empty() {
            return None;
        }
        if let Some(f) = self.columns.get(&folded) {
            return Some(f.clone());
        }
        if self.builtin {
            if let Some(f) = builtin_chinese().get(&folded) {
                return Some(f.clone());
            }
        }
        Field::parse(header)
    }

    /// The header written on export for `field`.
    pub fn export_header(&self, field: &Field, headers: Headers) -> String {
        if let Some(h) = self.export.get(field) {
            return h.clone();
        }
        if headers == Headers::Zh && self.builtin {
            if let Some(h) = chinese_header(field) {
                return h.to_string();
            }
        }
        field.id()
    }

    /// Headers accepted for `field` (for "no column for …" messages).
    pub fn accepted(&self, field: &Field) -> Vec<String> {
        let mut out: Vec<String> = self
            .export
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, h)| h.clone())
            .collect();
        if self.builtin {
            if let Some((_, main, aliases)) =
                chinese_headers().into_iter().find(|(f, _, _)| f == field)
            {
                out.push(main.to_string());
                out.extend(aliases.iter().take(3).map(|a| a.to_string()));
            }
        }
        out.push(field.id());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_and_resolve() {
        let m = ColumnMap::builtin();
        assert_eq!(fold_header("价格（万元）"), fold_header("价格/万元"));
        assert_eq!(fold_header("价格(万元)"), "价格_万元");
        assert_eq!(fold_header(" Title EN *"), "title_en");
        assert_eq!(m.field("价格/万元"), Some(Field::PriceWan));
        assert_eq!(m.field("成果名称"), Some(Field::Title("zh".into())));
        assert_eq!(m.field("需求名称"), Some(Field::Title("zh".into())));
        assert_eq!(m.field("英文名称"), Some(Field::Title("en".into())));
        assert_eq!(m.field("IPC分类号"), Some(Field::Class(Scheme::Ipc)));
        assert_eq!(m.field("ipc"), Some(Field::Class(Scheme::Ipc)));
        assert_eq!(m.field("nace2"), Some(Field::Class(Scheme::Nace2)));
        assert_eq!(
            m.field("cn_techfield"),
            Some(Field::Class(Scheme::CnTechfield))
        );
        assert_eq!(
            m.field("title_zh-Hant"),
            Some(Field::Title("zh-Hant".into()))
        );
        assert_eq!(m.field("Summary (fr)"), Some(Field::Summary("fr".into())));
        assert_eq!(
            m.field("organisation_sw"),
            Some(Field::OrgName("sw".into()))
        );
        assert_eq!(m.field("Transfer modes"), Some(Field::Modes));
        assert_eq!(m.field("Title EN"), Some(Field::Title("en".into())));
        assert_eq!(
            m.field("techfield"),
            Some(Field::Class(Scheme::CnTechfield))
        );
        assert_eq!(m.field("Valid from"), Some(Field::ValidFrom));
        assert_eq!(m.field("联系人"), Some(Field::Ignore));
        assert_eq!(m.field("无关列"), None);
        for (f, main, _) in chinese_headers() {
            assert_eq!(m.field(main), Some(f.clone()), "{main}");
            assert_eq!(m.field(&f.id()), Some(f.clone()), "{}", f.id());
        }
    }

    #[test]
    fn map_file_overrides_and_reports_lines() {
        let p = Path::new("MAP.toml");
        let m = ColumnMap::parse(
            p,
            "base = \"none\"\n[defaults]\ncountry = \"KE\"\n[columns]\n\"Project\" = \"title_en\"\n\"Code\" = \"id\"\n",
        )
        .unwrap();
        assert_eq!(m.field("project"), Some(Field::Title("en".into())));
        assert_eq!(m.field("成果名称"), None);
        assert_eq!(m.field("title_zh"), Some(Field::Title("zh".into())));
        assert_eq!(m.defaults.country.as_deref(), Some("KE"));
        assert_eq!(
            m.export_header(&Field::Title("en".into()), Headers::Zh),
            "Project"
        );
        let e = ColumnMap::parse(p, "[columns]\n\"A\" = \"id\"\n\"B\" = \"titel\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MAP.toml:3:7: columns.B: \"titel\" is not a field (known:"),
            "{e}"
        );
        let e = ColumnMap::parse(p, "[defaults]\ncountry = \"China!\"\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MAP.toml:2:11: defaults.country:"),
            "{e}"
        );
        let e = ColumnMap::parse(p, "[colums]\n").unwrap_err();
        assert!(e.to_string().starts_with("MAP.toml:1:"), "{e}");
        let e = ColumnMap::parse(
            p,
            "[columns]\n\"价格(万元)\" = \"price_wan\"\n\"价格/万元\" = \"price\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("MAP.toml:3:1:"), "{e}");
    }
}
