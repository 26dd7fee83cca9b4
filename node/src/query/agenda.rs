//! Meeting agendas of matchmaking events (对接活动): the entries registered for an
//! event (their `events` field, or the event's `participants`) are paired request ×
//! offer with the matchmaker; the best pairs become one-to-one meetings, at most K
//! per participant, never two entries of the same organisation, each in a time slot
//! where both are free.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use techmesh_protocol::body::EntryType;
use techmesh_protocol::record::Identity;
use techmesh_protocol::time::Date;

use super::index::{Doc, EventDoc, Inner};
use super::matching::{assess, round, same_organisation, Translations};
use crate::mappings::Mappings;

/// Query parameters of `GET /v1/events/{id}/agenda`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AgendaParams {
    /// Most meetings per participant (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// Length of a slot in minutes (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_minutes: Option<u32>,
    /// First slot of each day, HH:MM (default 09:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_start: Option<String>,
    /// No slot ends after this, HH:MM (default 17:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_end: Option<String>,
    /// Pairs scoring below this get no meeting (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<f64>,
    /// Validity is checked on this day (default: the event's first day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub today: Option<String>,
    /// json (default) or csv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

fn hhmm(s: &str, what: &str) -> Result<u32, String> {
    let bad = || format!("{what}: {s:?} is not HH:MM");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || h * 60 + m > 24 * 60 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn fmt_hhmm(min: u32) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

fn find_event<'a>(idx: &'a Inner, spec: &str) -> Result<&'a EventDoc, String> {
    if let Some(id) = Identity::parse(spec) {
        return idx
            .events()
            .find(|e| e.id == id)
            .ok_or_else(|| format!("no current event {spec}"));
    }
    let hits: Vec<&EventDoc> = idx.events().filter(|e| e.id.local_id == spec).collect();
    match hits.len() {
        0 => Err(format!("no event with id or local id {spec:?}")),
        1 => Ok(hits[0]),
        _ => Err(format!(
            "event local id {spec:?} is ambiguous; give the full id"
        )),
    }
}

fn side(doc: &Doc) -> Value {
    json!({
        "id": doc.id.to_string(),
        "local_id": doc.entry.local_id,
        "title": doc.entry.title,
        "organisation": {"name": doc.entry.organisation.name, "country": doc.entry.organisation.country},
    })
}

/// Build the agenda of an event.
pub fn agenda(
    idx: &Inner,
    mappings: &Mappings,
    event: &str,
    p: &AgendaParams,
) -> Result<Value, String> {
    let ev = find_event(idx, event)?;
    let k = p.k.unwrap_or(3).max(1);
    let slot_minutes = p.slot_minutes.unwrap_or(30).clamp(5, 24 * 60);
    let day_start = hhmm(p.day_start.as_deref().unwrap_or("09:00"), "day_start")?;
    let day_end = hhmm(p.day_end.as_deref().unwrap_or("17:00"), "day_end")?;
    if day_end < day_start + slot_minutes {
        return Err("day_end: no slot fits between day_start and day_end".into());
    }
    let min_score = p.min_score.unwrap_or(0.3);
    let first = Date::parse(&ev.event.starts_on).ok_or("event: bad starts_on")?;
    let last = Date::parse(&ev.event.ends_on).unwrap_or(first);
    let today = match &p.today {
        Some(t) => Date::parse(t).ok_or_else(|| format!("today: {t:?} is not YYYY-MM-DD"))?,
        None => first,
    };

    // Participants: registered through their `events`, or listed by the event.
    let local = &ev.id.local_id;
    let full = ev.id.to_string();
    let listed = |d: &Doc| {
        ev.event
            .participants
            .iter()
            .any(|p| *p == d.id.local_id || *p == d.id.to_string())
    };
    let mut participants: Vec<&Doc> = idx
        .docs()
        .filter(|d| d.entry.events.iter().any(|e| e == local || *e == full) || listed(d))
        .collect();
    participants.sort_by(|a, b| a.id.cmp(&b.id));
    let requests: Vec<&Doc> = participants
        .iter()
        .copied()
        .filter(|d| d.entry.entry_type == EntryType::Request)
        .collect();
    let offers: Vec<&Doc> = participants
        .iter()
        .copied()
        .filter(|d| d.entry.entry_type == EntryType::Offer)
        .collect();

    // Every (request, offer) pair the matchmaker accepts, best first.
    let tr = Translations::new(mappings);
    let mut pairs = Vec::new();
    let mut same_org = 0usize;
    for r in &requests {
        for o in &offers {
            if same_organisation(&r.entry, &o.entry) {
                same_org += 1;
                continue;
            }
            let a = assess(idx, &tr, (&r.entry, &r.terms), (&o.entry, &o.terms), today);
            if a.excluded.is_empty() && a.score >= min_score {
                pairs.push((a.score, *r, *o, a.explanation));
            }
        }
    }
    pairs.sort_by(|x, y| {
        y.0.total_cmp(&x.0)
            .then_with(|| x.1.id.cmp(&y.1.id))
            .then_with(|| x.2.id.cmp(&y.2.id))
    });

    // Slots over the event's days.
    let mut slots: Vec<(Date, u32)> = Vec::new();
    let mut d = first;
    while d <= last {
        let mut t = day_start;
        while t + slot_minutes <= day_end {
            slots.push((d, t));
            t += slot_minutes;
        }
        d = Date(d.0 + 1);
    }

    let mut count: HashMap<&Identity, usize> = HashMap::new();
    let mut busy: HashMap<&Identity, Vec<bool>> = HashMap::new();
    let mut meetings = Vec::new();
    let mut unscheduled = Vec::new();
    let mut over_k = 0usize;
    for (score, r, o, why) in &pairs {
        if count.get(&r.id).copied().unwrap_or(0) >= k
            || count.get(&o.id).copied().unwrap_or(0) >= k
        {
            over_k += 1;
            continue;
        }
        let free = |id: &Identity, busy: &HashMap<&Identity, Vec<bool>>, i: usize| {
            busy.get(id).is_none_or(|b| !b[i])
        };
        let slot = (0..slots.len()).find(|&i| free(&r.id, &busy, i) && free(&o.id, &busy, i));
        let Some(i) = slot else {
            unscheduled.push(
                json!({"request": side(r), "offer": side(o), "score": round(*score),
                                    "reason": "no common free slot"}),
            );
            continue;
        };
        for id in [&r.id, &o.id] {
            busy.entry(id).or_insert_with(|| vec![false; slots.len()])[i] = true;
            *count.entry(id).or_default() += 1;
        }
        let (day, start) = slots[i];
        meetings.push(json!({
            "slot": i + 1,
            "date": day.to_string(),
            "start": fmt_hhmm(start),
            "end": fmt_hhmm(start + slot_minutes),
            "request": side(r),
            "offer": side(o),
            "score": round(*score),
            "explanation": why,
        }));
    }
    meetings.sort_by_key(|m| m["slot"].as_u64());
    Ok(json!({
        "event": {"id": full, "local_id": local, "title": ev.event.title,
                  "starts_on": ev.event.starts_on, "ends_on": ev.event.ends_on},
        "k": k,
        "slot_minutes": slot_minutes,
        "day_start": fmt_hhmm(day_start),
        "day_end": fmt_hhmm(day_end),
        "min_score": min_score,
        "valid_on": today.to_string(),
        "participants": {"requests": requests.len(), "offers": offers.len()},
        "candidate_pairs": pairs.len(),
        "skipped": {"same_organisation": same_org, "participant_at_k": over_k},
        "meetings": meetings,
        "unscheduled": unscheduled,
    }))
}

/// The first text of a multilingual value: en, zh, fr, ru, then any language.
pub fn first_text(v: &Value) -> String {
    ["en", "zh", "fr", "ru"]
        .iter()
        .find_map(|l| v[l].as_str())
        .or_else(|| {
            v.as_object()
                .and_then(|m| m.values().find_map(Value::as_str))
        })
        .unwrap_or("")
        .to_string()
}

/// The meetings of an agenda as CSV (one row per meeting).
pub fn agenda_csv(agenda: &Value) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "slot",
        "date",
        "start",
        "end",
        "request_id",
        "request_title",
        "request_organisation",
        "request_country",
        "offer_id",
        "offer_title",
        "offer_organisation",
        "offer_country",
        "score",
    ])?;
    for m in agenda["meetings"].as_array().into_iter().flatten() {
        let s = |v: &Value| v.as_str().unwrap_or("").to_string();
        let row = [
            m["slot"].to_string(),
            s(&m["date"]),
            s(&m["start"]),
            s(&m["end"]),
            s(&m["request"]["local_id"]),
            first_text(&m["request"]["title"]),
            first_text(&m["request"]["organisation"]["name"]),
            s(&m["request"]["organisation"]["country"]),
            s(&m["offer"]["local_id"]),
            first_text(&m["offer"]["title"]),
            first_text(&m["offer"]["organisation"]["name"]),
            s(&m["offer"]["organisation"]["country"]),
            m["score"].to_string(),
        ];
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
