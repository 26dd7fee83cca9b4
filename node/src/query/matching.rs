//! Matchmaking (DATA-MODEL §5): for a request, the offers that fit it — or for an
//! offer, the requests — ranked, each with the reasons.
//!
//! Hard conditions (an entry failing one is excluded, and says why): complementary
//! type, both valid on the day, scope (a `national` entry never meets an entry from
//! another country), transfer modes intersect (when both name some), the requester's
//! country is among the offer's target countries (or the offer names none, or both
//! are from one country), the offer's maturity is not below the request's minimum
//! (same scale, or through a recognised maturity mapping), and something connects
//! them (a classification or some shared text).
//!
//! The score adds weighted components, each reported with its contribution:
//! classification (best and mean over the request's codes: the same code or a
//! broader one 1.0, through a recognised mapping chain its confidence; a
//! `cn-techfield` overlap counts little, it is only a field), text similarity
//! (TF-IDF cosine over every language of both entries), maturity fit (1 when
//! checked, ½ when the scales are not related by any recognised set: "unknown", never
//! equated), transfer-mode overlap and country fit.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Value};

use techmesh_protocol::body::{Entry, EntryType, Predicate, Scope};
use techmesh_protocol::codes::{self, Scheme};
use techmesh_protocol::time::Date;
use techmesh_protocol::translate::{predicate_name, TranslateOptions, Translation};

use super::index::{Doc, Inner, Terms};
use crate::mappings::Mappings;

pub const W_CLASS: f64 = 0.5;
pub const W_TEXT: f64 = 0.3;
/// A cosine this high counts as a full text fit.
const TEXT_FULL: f64 = 0.3;
pub const W_MATURITY: f64 = 0.08;
pub const W_MODES: f64 = 0.06;
pub const W_COUNTRY: f64 = 0.06;
/// A shared `cn-techfield` value is only a field-level overlap.
const TECHFIELD_FACTOR: f64 = 0.25;
/// A `related` mapping says little.
const RELATED_FACTOR: f64 = 0.5;
/// Below this text similarity, text alone connects nothing.
const MIN_TEXT_ONLY: f64 = 0.12;

/// Translations of codes through the node's recognised mapping sets, memoised for
/// one query.
pub struct Translations<'a> {
    mappings: &'a Mappings,
    cache: RefCell<HashMap<(Scheme, String, Scheme), Vec<Translation>>>,
}

impl<'a> Translations<'a> {
    pub fn new(mappings: &'a Mappings) -> Translations<'a> {
        Translations {
            mappings,
            cache: RefCell::default(),
        }
    }

    pub fn get(&self, from: Scheme, code: &str, to: Scheme) -> Vec<Translation> {
        let key = (from, code.to_string(), to);
        if let Some(v) = self.cache.borrow().get(&key) {
            return v.clone();
        }
        let v = self
            .mappings
            .translate(from, code, to, &TranslateOptions::default());
        self.cache.borrow_mut().insert(key, v.clone());
        v
    }
}

/// How one code of an entry is matched by a wanted (broader or equal) code.
#[derive(Debug, Clone)]
pub struct CodeMatch {
    pub wanted: (Scheme, String),
    pub found: (Scheme, String),
    /// `exact`, `hierarchy` or `mapping`.
    pub how: &'static str,
    pub confidence: f64,
    pub translation: Option<Translation>,
}

impl CodeMatch {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "wanted": format!("{}:{}", self.wanted.0.as_str(), self.wanted.1),
            "matched": format!("{}:{}", self.found.0.as_str(), self.found.1),
            "how": self.how,
            "confidence": round(self.confidence),
        });
        if let Some(t) = &self.translation {
            v["via"] = json!({
                "code": format!("{}:{}", self.wanted.0.as_str(), t.code),
                "predicate": predicate_name(t.predicate),
                "confidence": round(t.confidence),
                "chain": t.chain.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
            });
        }
        v
    }
}

pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Does `found` (an entry's code) fall under `wanted` — the same code, a narrower
/// one, or a code that translates through recognised mappings to one of those?
/// The best way, if any.
pub fn code_match(
    tr: &Translations,
    wanted: (Scheme, &str),
    found: (Scheme, &str),
) -> Option<CodeMatch> {
    let mk = |how, confidence, translation| CodeMatch {
        wanted: (wanted.0, wanted.1.to_string()),
        found: (found.0, found.1.to_string()),
        how,
        confidence,
        translation,
    };
    if wanted.0 == found.0 {
        if wanted.1 == found.1 {
            return Some(mk("exact", 1.0, None));
        }
        if codes::covers(wanted.0, wanted.1, found.1) {
            return Some(mk("hierarchy", 1.0, None));
        }
        return None;
    }
    let mut best: Option<CodeMatch> = None;
    for t in tr.get(found.0, found.1, wanted.0) {
        let factor = match t.predicate {
            Predicate::Exact | Predicate::Broad | Predicate::Close => 1.0,
            Predicate::Related => RELATED_FACTOR,
            Predicate::Narrow => continue,
        };
        if !codes::covers(wanted.0, wanted.1, &t.code) {
            continue;
        }
        let c = t.confidence * factor;
        if best.as_ref().is_none_or(|b| c > b.confidence) {
            best = Some(mk("mapping", c, Some(t)));
        }
    }
    best
}

/// The classification fit of an offer to a request.
#[derive(Debug, Clone, Default)]
pub struct ClassFit {
    pub score: f64,
    pub matches: Vec<CodeMatch>,
}

pub fn class_fit(tr: &Translations, request: &Entry, offer: &Entry) -> ClassFit {
    let mut per_code = Vec::new();
    let mut matches = Vec::new();
    let mut covered = vec![false; offer.classifications.len()];
    for w in &request.classifications {
        let Some(ws) = Scheme::parse(&w.scheme) else {
            continue;
        };
        let factor = if ws == Scheme::CnTechfield {
            TECHFIELD_FACTOR
        } else {
            1.0
        };
        let mut best: Option<CodeMatch> = None;
        for (j, f) in offer.classifications.iter().enumerate() {
            let Some(fs) = Scheme::parse(&f.scheme) else {
                continue;
            };
            if let Some(mut m) = code_match(tr, (ws, &w.code), (fs, &f.code)) {
                covered[j] = true;
                m.confidence *= factor;
                if best.as_ref().is_none_or(|b| m.confidence > b.confidence) {
                    best = Some(m);
                }
            }
        }
        per_code.push(best.as_ref().map_or(0.0, |b| b.confidence));
        matches.extend(best);
    }
    if per_code.is_empty() {
        return ClassFit::default();
    }
    let max = per_code.iter().cloned().fold(0.0, f64::max);
    let mean = per_code.iter().sum::<f64>() / per_code.len() as f64;
    // Focus: the share of the offer's own codes (fields aside) that fall under
    // what is wanted — an offer wholly inside the request's field fits best.
    let own: Vec<usize> = (0..offer.classifications.len())
        .filter(|&j| offer.classifications[j].scheme != Scheme::CnTechfield.as_str())
        .collect();
    let inside = own.iter().filter(|&&j| covered[j]).count();
    let focus = if own.is_empty() {
        0.0
    } else {
        inside as f64 / own.len() as f64
    };
    ClassFit {
        score: if max > 0.0 {
            0.6 * max + 0.2 * mean + 0.2 * focus
        } else {
            0.0
        },
        matches,
    }
}

/// Maturity: `Ok(Some(..))` checked and fits, `Ok(None)` unknown (unrelated scales),
/// `Err(..)` checked and too low.
pub fn maturity_fit(tr: &Translations, request: &Entry, offer: &Entry) -> (f64, Value, bool) {
    let Some(min) = &request.trl else {
        return (1.0, json!({"status": "not_required"}), true);
    };
    let Some(have) = &offer.trl else {
        return (
            0.5,
            json!({"status": "unknown", "detail": "the offer states no maturity"}),
            true,
        );
    };
    let need = format!("{}:{}", min.scheme, min.level);
    let got = format!("{}:{}", have.scheme, have.level);
    if min.scheme == have.scheme {
        let ok = have.level >= min.level;
        return (
            if ok { 1.0 } else { 0.0 },
            json!({"status": if ok {"fits"} else {"too_low"}, "required": need, "offer": got}),
            ok,
        );
    }
    let (Some(rs), Some(os)) = (Scheme::parse(&min.scheme), Scheme::parse(&have.scheme)) else {
        return (
            0.5,
            json!({"status": "unknown", "required": need, "offer": got, "detail": "unknown maturity scale"}),
            true,
        );
    };
    let level = codes::normalise(os, &have.level.to_string()).unwrap_or_default();
    let mut best: Option<(u8, Translation)> = None;
    for t in tr.get(os, &level, rs) {
        if !matches!(t.predicate, Predicate::Exact | Predicate::Close) {
            continue;
        }
        if let Ok(l) = t.code.parse::<u8>() {
            if best.as_ref().is_none_or(|(b, _)| l > *b) {
                best = Some((l, t));
            }
        }
    }
    match best {
        Some((l, t)) => {
            let ok = l >= min.level;
            (
                if ok { t.confidence } else { 0.0 },
                json!({
                    "status": if ok {"fits"} else {"too_low"},
                    "required": need, "offer": got,
                    "offer_in_required_scale": format!("{}:{}", min.scheme, l),
                    "confidence": round(t.confidence),
                    "chain": t.chain.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
                }),
                ok,
            )
        }
        None => (
            0.5,
            json!({"status": "unknown", "required": need, "offer": got,
                   "detail": "no recognised mapping relates the two maturity scales; levels are not equated"}),
            true,
        ),
    }
}

fn org_key(e: &Entry) -> (String, BTreeSet<String>) {
    (
        e.organisation.country.clone(),
        e.organisation
            .name
            .values()
            .map(|n| n.trim().to_lowercase())
            .collect(),
    )
}

/// True when two entries come from the same organisation (a shared name, same country).
pub fn same_organisation(a: &Entry, b: &Entry) -> bool {
    let (ca, na) = org_key(a);
    let (cb, nb) = org_key(b);
    ca == cb && na.intersection(&nb).next().is_some()
}

/// Everything said about one (request, offer) pair.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub score: f64,
    pub excluded: Vec<String>,
    pub class: ClassFit,
    pub text: f64,
    pub explanation: Value,
}

/// Assess an offer for a request (the roles are fixed: `request` is the one whose
/// codes and minimum maturity are wanted).
pub fn assess(
    idx: &Inner,
    tr: &Translations,
    request: (&Entry, &Terms),
    offer: (&Entry, &Terms),
    today: Date,
) -> Assessment {
    let (req, req_terms) = request;
    let (off, off_terms) = offer;
    let mut excluded = Vec::new();
    for (e, role) in [(req, "request"), (off, "offer")] {
        if !e.valid_on(today) {
            excluded.push(format!(
                "{role} {} is not valid on {today} ({} … {})",
                e.local_id, e.valid_from, e.valid_until
            ));
        }
    }
    let rc = &req.organisation.country;
    let oc = &off.organisation.country;
    if (req.scope() == Scope::National || off.scope() == Scope::National) && rc != oc {
        excluded.push(format!(
            "scope: a national entry does not cross borders ({rc} ↔ {oc})"
        ));
    }
    // Transfer modes.
    let overlap: Vec<_> = off
        .transfer_modes
        .iter()
        .filter(|m| req.transfer_modes.contains(m))
        .collect();
    let modes_json: Vec<Value> = overlap
        .iter()
        .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
        .collect();
    let modes_score = if req.transfer_modes.is_empty() || off.transfer_modes.is_empty() {
        1.0
    } else if overlap.is_empty() {
        excluded.push("transfer modes: no overlap".into());
        0.0
    } else {
        1.0
    };
    // Countries.
    let (country_ok, country_why) = if rc == oc {
        (true, format!("same country ({rc})"))
    } else if !off.target_countries.is_empty() && !off.target_countries.contains(rc) {
        (
            false,
            format!(
                "the offer does not target {rc} ({})",
                off.target_countries.join(", ")
            ),
        )
    } else if !req.target_countries.is_empty() && !req.target_countries.contains(oc) {
        (
            false,
            format!(
                "the request does not look to {oc} ({})",
                req.target_countries.join(", ")
            ),
        )
    } else if off.target_countries.is_empty() {
        (
            true,
            format!("the offer names no target countries; requester in {rc}"),
        )
    } else {
        (true, format!("{rc} is a target country of the offer"))
    };
    if !country_ok {
        excluded.push(format!("country: {country_why}"));
    }
    let (mat_score, mat_json, mat_ok) = maturity_fit(tr, req, off);
    if !mat_ok {
        excluded.push("maturity: the offer is below the request's minimum".into());
    }
    let class = class_fit(tr, req, off);
    let (text, shared) = idx.cosine(req_terms, off_terms);
    if class.score == 0.0 && text < MIN_TEXT_ONLY {
        excluded.push("nothing in common: no classification fits, too little shared text".into());
    }
    let country_score = if country_ok { 1.0 } else { 0.0 };
    let text_fit = (text / TEXT_FULL).min(1.0);
    let score = W_CLASS * class.score
        + W_TEXT * text_fit
        + W_MATURITY * mat_score
        + W_MODES * modes_score
        + W_COUNTRY * country_score;
    let explanation = json!({
        "classification": {
            "score": round(class.score),
            "contribution": round(W_CLASS * class.score),
            "matches": class.matches.iter().map(CodeMatch::to_json).collect::<Vec<_>>(),
        },
        "text": {
            "similarity": round(text),
            "contribution": round(W_TEXT * text_fit),
            "shared_terms": shared,
            "languages": {
                "request": req.title.keys().chain(req.summary.keys()).collect::<BTreeSet<_>>(),
                "offer": off.title.keys().chain(off.summary.keys()).collect::<BTreeSet<_>>(),
            },
        },
        "maturity": {"contribution": round(W_MATURITY * mat_score), "detail": mat_json},
        "transfer_modes": {
            "overlap": modes_json,
            "contribution": round(W_MODES * modes_score),
        },
        "country": {"fits": country_ok, "detail": country_why, "contribution": round(W_COUNTRY * country_score)},
        "validity": {
            "request": format!("{} … {}", req.valid_from, req.valid_until),
            "offer": format!("{} … {}", off.valid_from, off.valid_until),
            "valid_on": today.to_string(),
        },
    });
    Assessment {
        score,
        excluded,
        class,
        text,
        explanation,
    }
}

/// What to match and how.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    pub today: Date,
    pub limit: usize,
    /// Rank by BM25 of the subject's text alone (the evaluation baseline): no
    /// classification, no filters but type and validity.
    pub text_only: bool,
    /// Also list the excluded candidates that had something in common.
    pub show_excluded: bool,
}

pub fn entry_json(doc: &Doc) -> Value {
    let e = &doc.entry;
    json!({
        "id": doc.id.to_string(),
        "local_id": e.local_id,
        "entry_type": e.entry_type.as_str(),
        "title": e.title,
        "organisation": {"name": e.organisation.name, "country": e.organisation.country},
        "publisher": doc.id.publisher.to_hex(),
        "hash": doc.hash.to_hex(),
        "node": "local",
        "signature_verified": true,
    })
}

/// Rank the complementary entries for `subject` (a stored entry or an inline one).
pub fn match_entry(
    idx: &Inner,
    mappings: &Mappings,
    subject: &Entry,
    subject_id: Option<&techmesh_protocol::record::Identity>,
    opts: &MatchOptions,
) -> Value {
    match_entry_where(idx, mappings, subject, subject_id, opts, &|_| true)
}

/// [`match_entry`] over the candidates `keep` admits (a federated query answers only
/// with what the asker may receive).
pub fn match_entry_where(
    idx: &Inner,
    mappings: &Mappings,
    subject: &Entry,
    subject_id: Option<&techmesh_protocol::record::Identity>,
    opts: &MatchOptions,
    keep: &dyn Fn(&Doc) -> bool,
) -> Value {
    let tr = Translations::new(mappings);
    let subject_terms = idx.terms_of(subject);
    let want = match subject.entry_type {
        EntryType::Request => EntryType::Offer,
        EntryType::Offer => EntryType::Request,
    };
    let mut results: Vec<(f64, Value)> = Vec::new();
    let mut excluded: Vec<(f64, Value)> = Vec::new();
    for doc in idx.docs() {
        if doc.entry.entry_type != want || Some(&doc.id) == subject_id || !keep(doc) {
            continue;
        }
        if opts.text_only {
            if !doc.entry.valid_on(opts.today) {
                continue;
            }
            let s = idx.bm25_terms(&subject_terms, doc);
            if s > 0.0 {
                let mut v = entry_json(doc);
                v["score"] = json!(round(s));
                v["explanation"] = json!({"text_only_bm25": round(s)});
                results.push((s, v));
            }
            continue;
        }
        let a = if subject.entry_type == EntryType::Request {
            assess(
                idx,
                &tr,
                (subject, &subject_terms),
                (&doc.entry, &doc.terms),
                opts.today,
            )
        } else {
            assess(
                idx,
                &tr,
                (&doc.entry, &doc.terms),
                (subject, &subject_terms),
                opts.today,
            )
        };
        let mut v = entry_json(doc);
        v["score"] = json!(round(a.score));
        v["explanation"] = a.explanation;
        if a.excluded.is_empty() {
            results.push((a.score, v));
        } else if opts.show_excluded && (a.class.score > 0.0 || a.text >= MIN_TEXT_ONLY) {
            v["excluded"] = json!(a.excluded);
            excluded.push((a.score, v));
        }
    }
    let order = |x: &(f64, Value), y: &(f64, Value)| {
        y.0.total_cmp(&x.0)
            .then_with(|| x.1["id"].as_str().cmp(&y.1["id"].as_str()))
    };
    results.sort_by(order);
    excluded.sort_by(order);
    let total = results.len();
    let mut out = json!({
        "subject": {
            "id": subject_id.map(|i| i.to_string()),
            "local_id": subject.local_id,
            "entry_type": subject.entry_type.as_str(),
            "title": subject.title,
        },
        "looking_for": want.as_str(),
        "method": if opts.text_only { "text_only_bm25" } else { "matchmaking" },
        "scope": "local",
        "today": opts.today.to_string(),
        "total": total,
        "results": results.into_iter().take(opts.limit).map(|(_, v)| v).collect::<Vec<_>>(),
    });
    if opts.show_excluded {
        out["excluded"] = Value::Array(excluded.into_iter().map(|(_, v)| v).collect());
    }
    if !subject.valid_on(opts.today) {
        out["warning"] = json!(format!(
            "the subject entry is not valid on {} ({} … {})",
            opts.today, subject.valid_from, subject.valid_until
        ));
    }
    out
}
