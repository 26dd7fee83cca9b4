//! `techmesh search`, `techmesh match` and `techmesh events agenda`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::backend::Backend;
use crate::query::agenda::{agenda_csv, first_text as text, AgendaParams};
use crate::query::{MatchRequest, SearchParams};

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Free text in any language (Chinese, English, French, …).
    pub query: Option<String>,
    /// Language of the query, when known.
    #[arg(long)]
    pub lang: Option<String>,
    /// offer or request.
    #[arg(long = "type")]
    pub entry_type: Option<String>,
    /// SCHEME:CODE[,SCHEME:CODE…]: under this code (hierarchy and recognised mappings).
    #[arg(long)]
    pub class: Option<String>,
    /// SCHEME:LEVEL: maturity at least this (same scale or a maturity mapping).
    #[arg(long)]
    pub min_trl: Option<String>,
    /// Transfer modes (comma-separated; any of them).
    #[arg(long)]
    pub mode: Option<String>,
    /// Organisation country.
    #[arg(long)]
    pub country: Option<String>,
    /// Target country.
    #[arg(long)]
    pub target: Option<String>,
    /// federation, national or international.
    #[arg(long)]
    pub scope: Option<String>,
    /// Registered for this event (local id).
    #[arg(long)]
    pub event: Option<String>,
    /// Include entries not valid today.
    #[arg(long)]
    pub all: bool,
    /// "Today" (YYYY-MM-DD).
    #[arg(long)]
    pub today: Option<String>,
    /// relevance, newest, valid_until or title.
    #[arg(long)]
    pub sort: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub offset: Option<usize>,
    #[command(flatten)]
    pub fed: FederatedArgs,
    /// Print the JSON answer.
    #[arg(long)]
    pub json: bool,
}

/// `--federated [--deadline-ms N]`, shared by `search` and `match`.
#[derive(Args, Debug)]
pub struct FederatedArgs {
    /// Also ask the trusted peers permitted to answer (needs the running node); results
    /// name the node that supplied them, and every peer's status is listed.
    #[arg(long)]
    pub federated: bool,
    /// With --federated: how long to wait for the peers, ms (default 2000, at most 10000).
    #[arg(long, requires = "federated")]
    pub deadline_ms: Option<u64>,
}

#[derive(Args, Debug)]
pub struct MatchArgs {
    /// The entry to match: full id or local id (omit with --entry).
    pub id: Option<String>,
    /// An entry body (JSON file) to match without storing it.
    #[arg(long)]
    pub entry: Option<PathBuf>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long)]
    pub today: Option<String>,
    /// Rank by BM25 of the entry's text only (the evaluation baseline).
    #[arg(long)]
    pub text_only: bool,
    /// Also show excluded candidates and why.
    #[arg(long)]
    pub show_excluded: bool,
    #[command(flatten)]
    pub fed: FederatedArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Meeting agenda of a matchmaking event: ranked (request, offer) pairs.
    Agenda {
        /// Event id or local id.
        id: String,
        /// Most meetings per participant.
        #[arg(long, default_value_t = 3)]
        k: usize,
        /// Slot length in minutes.
        #[arg(long, default_value_t = 30)]
        slot_minutes: u32,
        #[arg(long)]
        day_start: Option<String>,
        #[arg(long)]
        day_end: Option<String>,
        #[arg(long)]
        min_score: Option<f64>,
        /// Validity day (default: the event's first day).
        #[arg(long)]
        today: Option<String>,
        /// Write the meetings as CSV to this file (`-`: stdout).
        #[arg(long)]
        csv: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// ` [from <node>]` for a result a peer supplied.
fn supplied_by(r: &Value) -> String {
    match r["node"].as_str() {
        Some(n) if n != "local" => format!("  [from {n}]"),
        _ => String::new(),
    }
}

/// The peers of a federated answer: one line each, then rejected records.
fn print_peers(v: &Value) {
    for p in v["peers"].as_array().into_iter().flatten() {
        println!(
            "peer {:<24} {:<8} {:>5} ms  {} record(s){}{}",
            p["member"].as_str().unwrap_or("?"),
            p["status"].as_str().unwrap_or("?"),
            p["latency_ms"],
            p["count"],
            match p["rejected"].as_u64() {
                Some(n) if n > 0 => format!(", {n} rejected"),
                _ => String::new(),
            },
            p["error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    for r in v["rejected"].as_array().into_iter().flatten() {
        println!(
            "rejected from {}: {}",
            r["member"].as_str().unwrap_or("?"),
            r["reason"].as_str().unwrap_or("?")
        );
    }
}

pub fn search(b: &dyn Backend, a: SearchArgs) -> Result<i32> {
    let p = SearchParams {
        q: a.query,
        lang: a.lang,
        entry_type: a.entry_type,
        class: a.class,
        min_trl: a.min_trl,
        mode: a.mode,
        country: a.country,
        target: a.target,
        scope: a.scope,
        event: a.event,
        valid: a.all.then_some(false),
        today: a.today,
        sort: a.sort,
        limit: a.limit,
        offset: a.offset,
        federated: a.fed.federated.then_some(true),
        deadline_ms: a.fed.deadline_ms,
    };
    let v = b.search(&p)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let results = v["results"].as_array().cloned().unwrap_or_default();
    print_peers(&v);
    println!(
        "{} result(s){}",
        v["total"],
        if results.len() < v["total"].as_u64().unwrap_or(0) as usize {
            format!(", showing {}", results.len())
        } else {
            String::new()
        }
    );
    for r in &results {
        println!(
            "{:<8} {:<20} {:>7}  {}{}",
            r["entry_type"].as_str().unwrap_or(""),
            r["local_id"].as_str().unwrap_or(""),
            r["score"],
            text(&r["title"]),
            supplied_by(r)
        );
        if let Some(c) = r["why"]["classification"].as_object() {
            println!(
                "         {} ⊇ {} ({}, confidence {})",
                c["wanted"].as_str().unwrap_or(""),
                c["matched"].as_str().unwrap_or(""),
                c["how"].as_str().unwrap_or(""),
                c["confidence"]
            );
        }
    }
    Ok(0)
}

pub fn match_(b: &dyn Backend, a: MatchArgs) -> Result<i32> {
    let entry = match &a.entry {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not JSON", f.display()))?,
            )
        }
        None => None,
    };
    let req = MatchRequest {
        id: a.id,
        entry,
        limit: a.limit,
        today: a.today,
        text_only: a.text_only,
        show_excluded: a.show_excluded,
        federated: a.fed.federated,
        deadline_ms: a.fed.deadline_ms,
    };
    let v = b.match_entries(&req)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    print_peers(&v);
    println!(
        "{} {} for {} ({}){}",
        v["total"],
        v["looking_for"].as_str().unwrap_or(""),
        v["subject"]["local_id"].as_str().unwrap_or(""),
        text(&v["subject"]["title"]),
        v["warning"]
            .as_str()
            .map(|w| format!("\nwarning: {w}"))
            .unwrap_or_default()
    );
    for r in v["results"].as_array().into_iter().flatten() {
        println!(
            "{:>7}  {:<20} {}{}",
            r["score"],
            r["local_id"].as_str().unwrap_or(""),
            text(&r["title"]),
            supplied_by(r)
        );
        let x = &r["explanation"];
        for m in x["classification"]["matches"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let via = m["via"]["chain"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|s| {
                            format!(
                                " {}:{} -{}-> {}:{}",
                                s["subject_scheme"].as_str().unwrap_or(""),
                                s["subject"].as_str().unwrap_or(""),
                                s["predicate"].as_str().unwrap_or(""),
                                s["object_scheme"].as_str().unwrap_or(""),
                                s["object"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<String>()
                })
                .unwrap_or_default();
            println!(
                "           code {} ⊇ {} ({}, {}){}",
                m["wanted"].as_str().unwrap_or(""),
                m["matched"].as_str().unwrap_or(""),
                m["how"].as_str().unwrap_or(""),
                m["confidence"],
                via
            );
        }
        if x["text"].is_object() {
            println!(
                "           text {}; maturity {}; modes {}; country {}",
                x["text"]["similarity"],
                x["maturity"]["detail"]["status"].as_str().unwrap_or(""),
                x["transfer_modes"]["overlap"],
                x["country"]["detail"].as_str().unwrap_or("")
            );
        }
    }
    for r in v["excluded"].as_array().into_iter().flatten() {
        println!(
            "excluded {:<20} {}",
            r["local_id"].as_str().unwrap_or(""),
            r["excluded"]
        );
    }
    Ok(0)
}

pub fn events(b: &dyn Backend, cmd: EventsCommand) -> Result<i32> {
    match cmd {
        EventsCommand::Agenda {
            id,
            k,
            slot_minutes,
            day_start,
            day_end,
            min_score,
            today,
            csv,
            json,
        } => {
            let p = AgendaParams {
                k: Some(k),
                slot_minutes: Some(slot_minutes),
                day_start,
                day_end,
                min_score,
                today,
                format: None,
            };
            let v = b.agenda(&id, &p)?;
            if let Some(path) = csv {
                let text = agenda_csv(&v)?;
                if path.as_os_str() == "-" {
                    print!("{text}");
                } else {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "{} meeting(s) written to {}",
                        v["meetings"].as_array().map_or(0, Vec::len),
                        path.display()
                    );
                }
                if !json {
                    return Ok(0);
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(0);
            }
            println!(
                "{}: {} meeting(s), at most {} per participant, {}-minute slots",
                text(&v["event"]["title"]),
                v["meetings"].as_array().map_or(0, Vec::len),
                v["k"],
                v["slot_minutes"]
            );
            for m in v["meetings"].as_array().into_iter().flatten() {
                println!(
                    "{} {}-{}  {:<20} × {:<20} {}",
                    m["date"].as_str().unwrap_or(""),
                    m["start"].as_str().unwrap_or(""),
                    m["end"].as_str().unwrap_or(""),
                    m["request"]["local_id"].as_str().unwrap_or(""),
                    m["offer"]["local_id"].as_str().unwrap_or(""),
                    m["score"]
                );
            }
            Ok(0)
        }
    }
}
