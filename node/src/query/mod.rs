//! Local search, matchmaking and event agendas over the search index
//! ([`index::SearchIndex`], derived from the store). The API (`/v1/search`,
//! `/v1/match`, `/v1/events/{id}/agenda`) and the CLI's direct-store mode call the
//! same functions here, so both answer alike. Federated search and match
//! (`crate::fedquery`) run the same functions over a transient index of the union
//! of local and remote hits, so federated results rank exactly like local ones.

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
    /// Also ask the trusted peers (needs a running node: `crate::fedquery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<bool>,
    /// How long a federated search waits for peers, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// Federated queries go through a running node's network.
pub const NEEDS_RUNNING_NODE: &str =
    "a federated query asks the peers through the running node: start `techmesh run` first";

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
    search_where(idx, mappings, p, &|_| true)
}

/// Run a search over the documents of the index that `keep` admits (a federated
/// query answers only with what the asker may receive).
pub fn search_where(
    idx: &Inner,
    mappings: &Mappings,
    p: &SearchParams,
    keep: &dyn Fn(&Doc) -> bool,
) -> Result<Value, String> {
    if p.federated == Some(true) {
        return Err(NEEDS_RUNNING_NODE.into());
    }
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
    // With text, only the documents it matched are candidates.
    let candidates: Box<dyn Iterator<Item = (&Doc, f64)> + '_> = if has_text {
        let n_groups = groups.len() as f64;
        Box::new(idx.bm25_docs(&groups).into_iter().map(move |(doc, s, n)| {
            // Every group matched ranks above a partial match.
            (doc, s * (0.5 + 0.5 * (n as f64 / n_groups)))
        }))
    } else {
        Box::new(idx.docs().map(|doc| (doc, 0.0)))
    };

    let mut hits: Vec<(&Doc, f64, Value)> = Vec::new();
    for (doc, text_score) in candidates {
        if !keep(doc) {
            continue;
        }
        let e = &doc.entry;
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
        hits.push((doc, text_score, why));
    }
    let sort = p
        .sort
        .clone()
        .unwrap_or_else(|| if has_text { "relevance" } else { "newest" }.into());
    type Hit<'a> = (&'a Doc, f64, Value);
    let order: fn(&Hit, &Hit) -> std::cmp::Ordering = match sort.as_str() {
        "relevance" => |a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)),
        "newest" => |a, b| {
            b.0.issued_at
                .cmp(&a.0.issued_at)
                .then_with(|| a.0.id.cmp(&b.0.id))
        },
        "valid_until" => |a, b| {
            a.0.entry
                .valid_until
                .cmp(&b.0.entry.valid_until)
                .then_with(|| a.0.id.cmp(&b.0.id))
        },
        "title" => |a, b| {
            title_of(&a.0.entry)
                .cmp(&title_of(&b.0.entry))
                .then_with(|| a.0.id.cmp(&b.0.id))
        },
        x => {
            return Err(format!(
                "sort: {x:?} is not relevance, newest, valid_until or title"
            ))
        }
    };
    let total = hits.len();
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = p.offset.unwrap_or(0);
    // Only the first offset + limit hits in order are shown: select them, sort those.
    let shown = offset.saturating_add(limit);
    if shown < hits.len() {
        hits.select_nth_unstable_by(shown, order);
        hits.truncate(shown);
    }
    hits.sort_by(order);
    let results: Vec<Value> = hits
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(doc, s, mut why)| {
            if has_text {
                why["text_score"] = json!(round(s));
            }
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
    /// Also ask the trusted peers (`crate::fedquery`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub federated: bool,
    /// How long a federated match waits for peers, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

/// The subject of a match: an entry, and its identity when it is stored.
pub struct Subject {
    pub entry: std::sync::Arc<Entry>,
    pub id: Option<Identity>,
}

impl MatchRequest {
    pub fn options(&self) -> Result<MatchOptions, String> {
        Ok(MatchOptions {
            today: today(self.today.as_deref())?,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT),
            text_only: self.text_only,
            show_excluded: self.show_excluded,
        })
    }

    /// The entry to match: a stored one (by id) or the body given.
    pub fn subject(&self, idx: &Inner) -> Result<Subject, String> {
        match (&self.id, &self.entry) {
            (Some(id), None) => {
                let doc = resolve_entry(idx, id)?;
                Ok(Subject {
                    entry: doc.entry.clone(),
                    id: Some(doc.id.clone()),
                })
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
                Ok(Subject {
                    entry: std::sync::Arc::new(*e),
                    id: None,
                })
            }
            _ => Err("give exactly one of \"id\" (a stored entry) or \"entry\" (a body)".into()),
        }
    }
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
    if req.federated {
        return Err(NEEDS_RUNNING_NODE.into());
    }
    let opts = req.options()?;
    let subject = req.subject(idx)?;
    Ok(matching::match_entry(
        idx,
        mappings,
        &subject.entry,
        subject.id.as_ref(),
        &opts,
    ))
}

/// Name every result's publisher: `"member"` is the trust-list member name of the
/// publisher (or `own_name` for this node's records, null for a former member).
pub fn name_members(
    answer: &mut Value,
    trust: &techmesh_protocol::trust::TrustList,
    own: &techmesh_protocol::record::PublicKey,
    own_name: &str,
) {
    let Some(results) = answer["results"].as_array_mut() else {
        return;
    };
    for r in results {
        let key = r["publisher"]
            .as_str()
            .and_then(techmesh_protocol::record::PublicKey::from_hex);
        let member = match key {
            Some(k) if k == *own => Some(own_name.to_string()),
            Some(k) => trust.member_by_key(&k).map(|m| m.name.clone()),
            None => None,
        };
        r["member"] = json!(member);
    }
}
