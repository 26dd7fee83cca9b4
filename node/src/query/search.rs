//! `GET /v1/search` over the index: every filter becomes a set of slots, taken from
//! the posting lists ([`super::postings`]) once per query, and all are ANDed into
//! the cached set of live (valid today) slots ([`Inner::base_set`]). With text, only
//! the admitted documents' postings are scored, streaming into a bounded top-k;
//! without, the total is the set's size and `newest` walks the issue-time order
//! ([`Inner::by_time`]) until the page is full. Only the first `offset + limit` hits
//! in order are kept and explained.

use std::cmp::Ordering;

use serde_json::{json, Value};

use techmesh_protocol::body::{self, Entry};
use techmesh_protocol::codes::{self, Scheme};

use super::index::{Doc, Inner};
use super::matching::{self, code_match, entry_json, round, Translations};
use super::postings::{Key, SlotSet, TopK};
use super::{
    list, parse_mode, parse_scheme_code, text, today, SearchParams, DEFAULT_LIMIT, MAX_LIMIT,
    NEEDS_RUNNING_NODE,
};
use crate::mappings::Mappings;

/// Run a search over the index.
pub fn search(idx: &Inner, mappings: &Mappings, p: &SearchParams) -> Result<Value, String> {
    run(idx, mappings, p, None)
}

/// Run a search over the documents of the index that `keep` admits (a federated
/// query answers only with what the asker may receive).
pub fn search_where(
    idx: &Inner,
    mappings: &Mappings,
    p: &SearchParams,
    keep: &dyn Fn(&Doc) -> bool,
) -> Result<Value, String> {
    run(idx, mappings, p, Some(keep))
}

/// Does a maturity `scheme:level` reach at least `min` (same scale, or through a
/// recognised maturity mapping — never by equating level numbers)?
fn trl_fit(tr: &Translations, scheme: &str, level: u8, min: (Scheme, u8)) -> Option<Value> {
    let hs = Scheme::parse(scheme)?;
    if hs == min.0 {
        return (level >= min.1).then(|| json!({"trl": format!("{scheme}:{level}")}));
    }
    let code = codes::normalise(hs, &level.to_string()).ok()?;
    tr.get(hs, &code, min.0)
        .into_iter()
        .filter(|t| matches!(t.predicate, body::Predicate::Exact | body::Predicate::Close))
        .find(|t| t.code.parse::<u8>().is_ok_and(|l| l >= min.1))
        .map(|t| {
            json!({
                "trl": format!("{scheme}:{level}"),
                "as": format!("{}:{}", min.0.as_str(), t.code),
                "confidence": round(t.confidence),
                "chain": t.chain.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
            })
        })
}

/// The entries with a code under any of `classes`: the same scheme through the code
/// postings (which list every ancestor), other schemes by translating each distinct
/// code of the index once (as `code_match` does for one entry).
fn class_set(idx: &Inner, tr: &Translations, classes: &[(Scheme, String)]) -> SlotSet {
    let mut set = SlotSet::new(idx.docs.len());
    for (ws, wc) in classes {
        set.extend(idx.posting(&Key::Code(*ws, wc.as_str().into())));
        for (id, c) in idx.codes.iter().enumerate() {
            if c.uses == 0 || c.scheme == *ws {
                continue;
            }
            if code_match(tr, (*ws, wc), (c.scheme, &c.code)).is_some() {
                set.extend(idx.posting(&Key::Exact(id as u32)));
            }
        }
    }
    set
}

/// The best way an entry's codes fall under `classes` (the first best, as listed).
fn class_why(
    tr: &Translations,
    classes: &[(Scheme, String)],
    e: &Entry,
) -> Option<matching::CodeMatch> {
    let mut best: Option<matching::CodeMatch> = None;
    for (ws, wc) in classes {
        for c in &e.classifications {
            let Some(cs) = Scheme::parse(&c.scheme) else {
                continue;
            };
            if let Some(m) = code_match(tr, (*ws, wc), (cs, &c.code)) {
                if best.as_ref().is_none_or(|b| m.confidence > b.confidence) {
                    best = Some(m);
                }
            }
        }
    }
    best
}

fn union(idx: &Inner, keys: impl IntoIterator<Item = Key>) -> SlotSet {
    let mut set = SlotSet::new(idx.docs.len());
    for k in keys {
        set.extend(idx.posting(&k));
    }
    set
}

fn run(
    idx: &Inner,
    mappings: &Mappings,
    p: &SearchParams,
    keep: Option<&dyn Fn(&Doc) -> bool>,
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
    let sort = p
        .sort
        .clone()
        .unwrap_or_else(|| if has_text { "relevance" } else { "newest" }.into());
    if !matches!(
        sort.as_str(),
        "relevance" | "newest" | "valid_until" | "title"
    ) {
        return Err(format!(
            "sort: {sort:?} is not relevance, newest, valid_until or title"
        ));
    }

    // Every filter as a set of slots.
    let mut sets: Vec<SlotSet> = Vec::new();
    if let Some(t) = entry_type {
        sets.push(union(idx, [Key::Type(t)]));
    }
    if !countries.is_empty() {
        sets.push(union(
            idx,
            countries.iter().map(|c| Key::Country(c.as_str().into())),
        ));
    }
    if !targets.is_empty() {
        // Entries listing one of them, or listing none.
        let listed = targets.iter().map(|t| Key::Target(t.as_str().into()));
        sets.push(union(idx, listed.chain([Key::NoTarget])));
    }
    if let Some(s) = scope {
        sets.push(union(idx, [Key::Scope(s)]));
    }
    if let Some(ev) = &p.event {
        sets.push(union(idx, [Key::Event(ev.as_str().into())]));
    }
    if !modes.is_empty() {
        sets.push(union(idx, modes.iter().map(|m| Key::Mode(*m))));
    }
    if !classes.is_empty() {
        sets.push(class_set(idx, &tr, &classes));
    }
    if let Some(min) = min_trl {
        let fits: Vec<Key> = idx
            .keys()
            .filter(|k| matches!(k, Key::Trl(s, l) if trl_fit(&tr, s, *l, min).is_some()))
            .cloned()
            .collect();
        sets.push(union(idx, fits));
    }
    // The admitted slots: live, valid today (unless asked otherwise), in every
    // filter set and kept by `keep`.
    let mut admitted: SlotSet = (*idx.base_set(valid_only.then_some(today))).clone();
    for s in &sets {
        admitted.intersect(s);
    }
    if let Some(keep) = keep {
        admitted.retain(|slot| idx.slot_doc(slot).is_some_and(keep));
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = p.offset.unwrap_or(0);
    // Only the first offset + limit hits in order are shown.
    let want = offset.saturating_add(limit);
    let (total, shown) = if has_text {
        let n_groups = groups.len() as f64;
        let mut total = 0;
        let mut top = TopK::new(want, hit_order(idx, &sort));
        idx.bm25_each(&groups, Some(&admitted), |slot, s, n| {
            total += 1;
            // Every group matched ranks above a partial match.
            top.push((slot, s * (0.5 + 0.5 * (n as f64 / n_groups))));
        });
        (total, top.into_sorted())
    } else {
        let total = admitted.len();
        // Walking the issue-time order visits about want × live ÷ total slots;
        // ordering the hits costs a pass over all of them.
        let walk = want.saturating_mul(idx.live) <= total.saturating_mul(total);
        let shown = if sort == "newest" && walk {
            newest_first(idx, &admitted, want)
        } else {
            first_in_order(idx, &sort, admitted.iter().map(|s| (s, 0.0)), want)
        };
        (total, shown)
    };
    let doc = |slot: u32| idx.slot_doc(slot);
    let mut results: Vec<Value> = Vec::new();
    for (slot, s) in shown.into_iter().skip(offset).take(limit) {
        let Some(doc) = doc(slot) else {
            continue;
        };
        let mut why = json!({});
        if !classes.is_empty() {
            if let Some(m) = class_why(&tr, &classes, &doc.entry) {
                why["classification"] = m.to_json();
            }
        }
        if let Some(min) = min_trl {
            if let Some(t) = &doc.entry.trl {
                if let Some(v) = trl_fit(&tr, &t.scheme, t.level, min) {
                    why["maturity"] = v;
                }
            }
        }
        if has_text {
            why["text_score"] = json!(round(s));
        }
        let mut v = entry_json(doc);
        v["score"] = json!(round(s));
        v["summary"] = json!(doc.entry.summary);
        v["classifications"] = json!(doc.entry.classifications);
        v["valid_until"] = json!(doc.entry.valid_until);
        v["why"] = why;
        results.push(v);
    }
    let mut answer = json!({
        "total": total,
        "offset": offset,
        "limit": limit,
        "sort": sort,
        "today": today.to_string(),
        "query_terms": groups.iter().map(|g| json!({"text": g.text, "terms": g.terms.iter().map(|t| &t.0).collect::<Vec<_>>()})).collect::<Vec<_>>(),
    });
    // Moved in, not serialised again.
    answer["results"] = Value::Array(results);
    Ok(answer)
}

/// A hit: slot and text score.
type Hit = (u32, f64);

/// The first `k` hits in the order `sort` (ties by entry id).
fn first_in_order(idx: &Inner, sort: &str, hits: impl Iterator<Item = Hit>, k: usize) -> Vec<Hit> {
    if sort == "title" {
        let order = |a: &(Hit, String), b: &(Hit, String)| {
            a.1.cmp(&b.1).then_with(|| idx.id_cmp(a.0 .0, b.0 .0))
        };
        let mut top = TopK::new(k, order);
        for h in hits {
            let t = idx.slot_doc(h.0).map(|d| title_of(&d.entry));
            top.push((h, t.unwrap_or_default()));
        }
        return top.into_sorted().into_iter().map(|x| x.0).collect();
    }
    let mut top = TopK::new(k, hit_order(idx, sort));
    for h in hits {
        top.push(h);
    }
    top.into_sorted()
}

/// The order of hits under `sort` (but `title`), ties by entry id.
fn hit_order<'a>(idx: &'a Inner, sort: &'a str) -> impl Fn(&Hit, &Hit) -> Ordering + 'a {
    let issued = |h: &Hit| idx.hot[h.0 as usize].issued_at;
    let until = |h: &Hit| idx.slot_doc(h.0).map(|d| d.entry.valid_until.as_str());
    move |a: &Hit, b: &Hit| -> Ordering {
        let first = match sort {
            "relevance" => b.1.total_cmp(&a.1),
            "newest" => issued(b).cmp(&issued(a)),
            _ => until(a).cmp(&until(b)),
        };
        first.then_with(|| idx.id_cmp(a.0, b.0))
    }
}

/// The first `k` admitted slots, newest first (ties by entry id): a walk of the
/// issue-time order from its end that stops after `k` hits and the rest of the
/// last one's issue time.
fn newest_first(idx: &Inner, admitted: &SlotSet, k: usize) -> Vec<Hit> {
    if k == 0 {
        return Vec::new();
    }
    let mut out: Vec<(i64, u32)> = Vec::new();
    for &(t, slot) in idx.by_time.iter().rev() {
        if out.len() >= k && out.last().is_some_and(|l| l.0 != t) {
            break;
        }
        if admitted.contains(slot) {
            out.push((t, slot));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| idx.id_cmp(a.1, b.1)));
    out.truncate(k);
    out.into_iter().map(|(_, slot)| (slot, 0.0)).collect()
}

fn title_of(e: &Entry) -> String {
    e.title
        .get("en")
        .or_else(|| e.title.values().next())
        .cloned()
        .unwrap_or_default()
        .to_lowercase()
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
