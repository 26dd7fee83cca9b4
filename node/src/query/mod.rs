//! Local search, matchmaking and event agendas over the search index
//! ([`index::SearchIndex`], derived from the store). The API (`/v1/search`,
//! `/v1/match`, `/v1/events/{id}/agenda`) and the CLI's direct-store mode call the
//! same functions here, so both answer alike. Federated search and match
//! (`crate::fedquery`) run the same functions over a transient index of the union
//! of local and remote hits, so federated results rank exactly like local ones.

pub mod agenda;
pub mod index;
pub mod matching;
pub mod postings;
mod score;
mod search;
pub mod text;

pub use index::SearchIndex;
pub use search::{search, search_where};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use techmesh_protocol::body::{self, Body, Entry, Kind, TransferMode};
use techmesh_protocol::codes::Scheme;
use techmesh_protocol::record::Identity;
use techmesh_protocol::time::Date;

use index::{Doc, Inner};
use matching::MatchOptions;

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
