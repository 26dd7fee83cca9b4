//! Local search, matchmaking and event agendas over the search index
//! ([`index::SearchIndex`], derived from the store). The API (`/v1/search`,
//! `/v1/match`, `/v1/events/{id}/agenda`) and the CLI's direct-store mode call the
//! same functions here, so both answer alike.

pub mod agenda;
pub mod index;
pub mod matching;
pub mod text;

pub use index::SearchIndex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use techmesh_protocol::body::{self, Body, Entry, Kind, TransferMode};
use techmesh_protocol::codes::{self, Scheme};
use techmesh_protocol::record::Identity;
use techmesh_protocol::time::Date;

use index::{Doc, Inner};
use matching::{code_match, entry_json, round, MatchOptions, Translations};

use crate::mappings::Mappings;

/// Query parameters of `GET /v1/search` (lists are comma-separated).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchParams {
    /// Free text, any language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Language of `q` when known (stems only that way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `offer` or `request`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub entry_type: Option<String>,
    /// `scheme:code[,scheme:code…]`: entries with a code under any of them (hierarchy,
    /// recognised mappings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// `scheme:level`: maturity at least this (same scale or through a maturity mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_trl: Option<String>,
    /// Transfer modes, any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Organisation country (any of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Target country: entries listing it, or listing none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// federation | national | international.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Registered for this event (its local id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Only entries valid today (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    /// "Today" (YYYY-MM-DD), default the clock's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
    /// relevance (default with q) | newest (default without) | valid_until | title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<usize>,
}

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 1000;

fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// `today` from a parameter, or the clock's day.
pub fn today(s: Option<&str>) -> Result<Date, String> {
    match s {
        Some(s) => Date::parse(s).ok_or_else(|| format!("today: {s:?} is not YYYY-MM-DD")),
        None => Ok(crate::ingest::now().date()),
    }
}

/// `scheme:code` → scheme and normal code.
pub fn parse_scheme_code(s: &str, what: &str) -> Result<(Scheme, String), String> {
    let (scheme, code) = s
        .split_once(':')
        .ok_or_else(|| format!("{what}: {s:?}: write SCHEME:CODE, e.g. ipc:H01M"))?;
    crate::api::parse_code(scheme.trim(), code.trim()).map_err(|e| format!("{what}: {e}"))
}

fn parse_mode(s: &str) -> Result<TransferMode, String> {
    serde_json::from_value(json!(s)).map_err(|_| format!("mode: {s:?} is not a transfer mode"))
}

/// Does `e` have a maturity of at least `min` (same scale, or through a recognised
/// maturity mapping — never by equating level numbers)?
fn trl_at_least(tr: &Translations, e: &Entry, min: (Scheme, u8)) -> Option<Value> {
    let have = e.trl.as_ref()?;
    let hs = Scheme::parse(&have.scheme)?;
    if hs == min.0 {
        return (have.level >= min.1)
            .then(|| json!({"trl": format!("{}:{}", have.scheme, have.level)}));
    }
    let code = codes::normalise(hs, &have.level.to_string()).ok()?;
    tr.get(hs, &code, min.0)
        .into_iter()
        .filter(|t| matches!(t.predicate, body::Predicate::Exact | body::Predicate::Close))
        .find(|t| t.code.parse::<u8>().is_ok_and(|l| l >= min.1))
        .map(|t| {
            json!({
                "trl": format!("{}:{}", have.scheme, have.level),
                "as": format!("{}:{}", min.0.as_str(), t.code),
                "confidence": round(t.confidence),
                "chain": t.chain.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
            })
        })
}

/// Run a search over the index.
pub fn search(idx: &Inner, mappings: &Mappings, p: &SearchParams) -> Result<Value, String> {
    let tr = Translations::new(mappings);
    let today = today(p.today.as_deref())?;
    let entry_type = match p.entry_type.as_deref() {
        None | Some("") | Some("any") => None,
        Some("offer") => Some(body::EntryType::Offer),
        Some("request") => Some(body::EntryType::Request),
        Some(x) => return Err(format!("type: {x:?} is not offer or request")),
    };
    let classes = list(&p.class)
        .iter()
        .map(|c| parse_scheme_code(c, "class"))
        .collect::<Result<Vec<_>, _>>()?;
    let min_trl = match &p.min_trl {
        None => None,
        Some(s) => {
            let (scheme, level) = parse_scheme_code(s, "min_trl")?;
            if !scheme.is_maturity() {
                return Err(format!(
                    "min_trl: {} is not a maturity scale",
                    scheme.as_str()
                ));
            }
            Some((
                scheme,
                level.parse::<u8>().map_err(|_| "min_trl: bad level")?,
            ))
        }
    };
    let modes = list(&p.mode)
        .iter()
        .map(|m| parse_mode(m))
        .collect::<Result<Vec<_>, _>>()?;
    let countries: Vec<String> = list(&p.country).iter().map(|c| c.to_uppercase()).collect();
    let targets: Vec<String> = list(&p.target).iter().map(|c| c.to_uppercase()).collect();
    let scope = match p.scope.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            serde_json::from_value::<body::Scope>(json!(s)).map_err(|_| {
                format!("scope: {s:?} is not federation, national or international")
            })?,
        ),
    };
    let valid_only = p.valid.unwrap_or(true);
    let groups =
        p.q.as_deref()
            .map(|q| text::query_groups(q, p.lang.as_deref()))
            .unwrap_or_default();
    let has_text = !groups.is_empty();
    let text_scores = if has_text {
        idx.bm25(&groups)
    } else {
        Default::default()
    };

    let mut hits: Vec<(&Doc, f64, Value)> = Vec::new();
    for doc in idx.docs() {
        let e = &doc.entry;
        let text_score = if has_text {
            match text_scores.get(&doc.id) {
                // Every group matched ranks above a partial match.
                Some((s, n)) => s * (0.5 + 0.5 * (*n as f64 / groups.len() as f64)),
                None => continue,
            }
        } else {
            0.0
        };
        if entry_type.is_some_and(|t| t != e.entry_type) {
            continue;
        }
        if valid_only && !e.valid_on(today) {
            continue;
        }
        if !countries.is_empty() && !countries.contains(&e.organisation.country) {
            continue;
        }
        if !targets.is_empty()
            && !e.target_countries.is_empty()
            && !targets.iter().any(|t| e.target_countries.contains(t))
        {
            continue;
        }
        if scope.is_some_and(|s| s != e.scope()) {
            continue;
        }
        if let Some(ev) = &p.event {
            if !e.events.contains(ev) {
                continue;
            }
        }
        if !modes.is_empty() && !e.transfer_modes.iter().any(|m| modes.contains(m)) {
            continue;
        }
        let mut why = json!({});
        if !classes.is_empty() {
            let mut best: Option<matching::CodeMatch> = None;
            for (ws, wc) in &classes {
                for c in &e.classifications {
                    let Some(cs) = Scheme::parse(&c.scheme) else {
                        continue;
                    };
                    if let Some(m) = code_match(&tr, (*ws, wc), (cs, &c.code)) {
                        if best.as_ref().is_none_or(|b| m.confidence > b.confidence) {
                            best = Some(m);
                        }
                    }
                }
            }
            match best {
                Some(m) => why["classification"] = m.to_json(),
                None => continue,
            }
        }
        if let Some(min) = min_trl {
            match trl_at_least(&tr, e, min) {
                Some(v) => why["maturity"] = v,
                None => continue,
            }
        }
        if has_text {
            why["text_score"] = json!(round(text_score));
        }
        hits.push((doc, text_score, why));
    }
    let sort = p
        .sort
        .clone()
        .unwrap_or_else(|| if has_text { "relevance" } else { "newest" }.into());
    match sort.as_str() {
        "relevance" => hits.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id))),
        "newest" => hits.sort_by(|a, b| {
            b.0.issued_at
                .cmp(&a.0.issued_at)
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        "valid_until" => hits.sort_by(|a, b| {
            a.0.entry
                .valid_until
                .cmp(&b.0.entry.valid_until)
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        "title" => hits.sort_by(|a, b| {
            title_of(&a.0.entry)
                .cmp(&title_of(&b.0.entry))
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
        x => {
            return Err(format!(
                "sort: {x:?} is not relevance, newest, valid_until or title"
            ))
        }
    }
    let total = hits.len();
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = p.offset.unwrap_or(0);
    let results: Vec<Value> = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(doc, s, why)| {
            let mut v = entry_json(doc);
            v["score"] = json!(round(s));
            v["summary"] = json!(doc.entry.summary);
            v["classifications"] = json!(doc.entry.classifications);
            v["valid_until"] = json!(doc.entry.valid_until);
            v["why"] = why;
            v
        })
        .collect();
    Ok(json!({
        "total": total,
        "offset": offset,
        "limit": limit,
        "sort": sort,
        "today": today.to_string(),
        "query_terms": groups.iter().map(|g| json!({"text": g.text, "terms": g.terms.iter().map(|t| &t.0).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "results": results,
    }))
}

fn title_of(e: &Entry) -> String {
    e.title
        .get("en")
        .or_else(|| e.title.values().next())
        .cloned()
        .unwrap_or_default()
        .to_lowercase()
}

/// Body of `POST /v1/match`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MatchRequest {
    /// A stored entry: full id `<publisher>/entry/<local_id>` or a bare local id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Or an entry body, not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
    /// The evaluation baseline: rank by BM25 of the entry's text only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_only: bool,
    /// Also list excluded candidates with their reasons.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_excluded: bool,
}

/// A stored entry by full id or unique local id.
pub fn resolve_entry<'a>(idx: &'a Inner, spec: &str) -> Result<&'a Doc, String> {
    if let Some(id) = Identity::parse(spec) {
        return idx
            .get(&id)
            .ok_or_else(|| format!("no current entry {spec}"));
    }
    let hits: Vec<&Doc> = idx.docs().filter(|d| d.id.local_id == spec).collect();
    match hits.len() {
        0 => Err(format!("no current entry with id or local id {spec:?}")),
        1 => Ok(hits[0]),
        _ => Err(format!(
            "local id {spec:?} is ambiguous; use one of: {}",
            hits.iter()
                .map(|d| d.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Run `POST /v1/match`.
pub fn run_match(idx: &Inner, mappings: &Mappings, req: &MatchRequest) -> Result<Value, String> {
    let opts = MatchOptions {
        today: today(req.today.as_deref())?,
        limit: req.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
        text_only: req.text_only,
        show_excluded: req.show_excluded,
    };
    match (&req.id, &req.entry) {
        (Some(id), None) => {
            let doc = resolve_entry(idx, id)?;
            Ok(matching::match_entry(
                idx,
                mappings,
                &doc.entry,
                Some(&doc.id),
                &opts,
            ))
        }
        (None, Some(v)) => {
            let b = body::prepare(Kind::Entry, v).map_err(|e| {
                format!(
                    "entry: {}",
                    e.0.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })?;
            let Body::Entry(e) = b else {
                return Err("entry: not an entry body".into());
            };
            Ok(matching::match_entry(idx, mappings, &e, None, &opts))
        }
        _ => Err("give exactly one of \"id\" (a stored entry) or \"entry\" (a body)".into()),
    }
}
