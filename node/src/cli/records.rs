//! The record commands: publish, import, get, list, withdraw, export, verify.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::record::{
    Identity, PublicKey, Record, RecordHash, VerifyOptions, MAX_RECORD_BYTES,
};

use super::backend::{Backend, Stored};
use super::Command;
use crate::datadir::DataDir;
use crate::store::ListFilter;

/// Longest accepted line of a JSONL file (a record is at most MAX_RECORD_BYTES).
const MAX_LINE_BYTES: usize = 2 * MAX_RECORD_BYTES;

pub fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::parse(s)
        .ok_or_else(|| format!("unknown kind {s:?} (entry, mapping_set, event, tombstone)"))
}

pub fn identity_json(dir: &DataDir) -> Result<Value> {
    let kp = dir.keypair()?;
    let p2p = dir.libp2p_keypair()?;
    Ok(serde_json::json!({
        "publisher": kp.public().to_hex(),
        "peer_id": p2p.public().to_peer_id().to_string(),
        "data_dir": dir.root.display().to_string(),
    }))
}

fn read_input(file: &Path) -> Result<String> {
    let mut s = String::new();
    if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut s)?;
    } else {
        File::open(file)
            .with_context(|| format!("opening {}", file.display()))?
            .read_to_string(&mut s)
            .with_context(|| format!("reading {} (it must be UTF-8 JSON)", file.display()))?;
    }
    Ok(s)
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// Resolve what a user typed to an identity: a full id, `kind/local_id` (own), a
/// bare local id (unique among current records), or a record hash.
fn resolve(b: &dyn Backend, spec: &str) -> Result<Record> {
    if let Some(id) = Identity::parse(spec) {
        return b.get(&id)?.ok_or_else(|| anyhow::anyhow!("no record {id}"));
    }
    if spec.len() == 64 {
        if let Some(h) = RecordHash::from_hex(spec) {
            if let Some(r) = b.get_by_hash(&h)? {
                return Ok(r);
            }
        }
    }
    if let Some((k, local)) = spec.split_once('/') {
        if let Some(kind) = Kind::parse(k) {
            let id = Identity {
                publisher: b.own_key(),
                kind,
                local_id: local.into(),
            };
            return b.get(&id)?.ok_or_else(|| anyhow::anyhow!("no record {id}"));
        }
    }
    let all = b.list(&ListFilter {
        include_tombstones: true,
        ..Default::default()
    })?;
    let hits: Vec<Record> = all
        .into_iter()
        .filter(|r| r.identity().local_id == spec)
        .collect();
    match hits.len() {
        0 => bail!("no record with id, local id or hash {spec:?}"),
        1 => Ok(hits.into_iter().next().expect("one hit")),
        _ => bail!(
            "local id {spec:?} is ambiguous; use one of:\n  {}",
            hits.iter()
                .map(|r| r.identity().to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
    }
}

fn print_stored(s: &[Stored]) -> Result<()> {
    for x in s {
        println!("{}", serde_json::to_string(x)?);
    }
    Ok(())
}

/// A short human line for a record.
fn summary_line(r: &Record) -> String {
    let title = match &r.body {
        Body::Entry(e) => e
            .title
            .get("en")
            .or_else(|| e.title.get("zh"))
            .or_else(|| e.title.values().next())
            .cloned(),
        Body::Event(e) => e
            .title
            .get("en")
            .or_else(|| e.title.values().next())
            .cloned(),
        Body::MappingSet(m) => m.title.values().next().cloned(),
        Body::Tombstone(t) => Some(format!("(withdrawn {})", t.target_kind)),
        Body::Membership(m) => Some(format!("{} ({} members)", m.federation, m.members.len())),
    }
    .unwrap_or_default();
    let id = r.identity();
    format!(
        "{:<11} {:<28} {:>6}  {}…  {}",
        r.kind().as_str(),
        id.local_id,
        r.seq,
        &r.publisher.to_hex()[..8],
        title
    )
}

pub fn run(b: &dyn Backend, dir: &DataDir, cmd: Command) -> Result<i32> {
    match cmd {
        Command::Publish { file, kind } => {
            let text = read_input(&file)?;
            let value: Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a JSON document", file.display()))?;
            let kind = kind.unwrap_or_else(|| body::detect_kind(&value));
            let body = body::prepare(kind, &value).map_err(|e| {
                anyhow::anyhow!(
                    "{}: invalid {kind} body:\n  {}",
                    file.display(),
                    e.0.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n  ")
                )
            })?;
            print_stored(&b.publish(vec![body], &|| {})?)?;
            Ok(0)
        }
        Command::Import {
            file,
            skip_invalid,
            kind,
            format,
            columns,
            dry_run,
            encoding,
        } => match crate::tabular::ImportFormat::resolve(format, &file) {
            crate::tabular::ImportFormat::Jsonl => {
                if dry_run || columns.is_some() {
                    bail!("--dry-run and --columns are for csv/xlsx imports");
                }
                import(b, &file, skip_invalid, kind)
            }
            format => {
                if kind.is_some_and(|k| k != Kind::Entry) {
                    bail!("a spreadsheet holds entries only (--kind entry)");
                }
                let opts = crate::tabular::ImportOptions {
                    file: &file,
                    format,
                    columns: columns.as_deref(),
                    dry_run,
                    skip_invalid,
                    encoding,
                };
                crate::tabular::import(b, &opts, &progress)
            }
        },
        Command::Get { id } => {
            let r = resolve(b, &id)?;
            let v: Value = serde_json::from_slice(r.bytes())?;
            let out = serde_json::json!({"id": r.identity().to_string(), "hash": r.hash().to_hex(), "record": v});
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(0)
        }
        Command::List {
            kind,
            publisher,
            all,
            json,
        } => {
            let publisher = match publisher.as_deref() {
                None => None,
                Some("self") => Some(b.own_key()),
                Some(p) => Some(PublicKey::from_hex(p).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--publisher {p:?}: not a publisher key (64 hex digits) or `self`"
                    )
                })?),
            };
            let recs = b.list(&ListFilter {
                kind,
                publisher,
                include_tombstones: all,
                limit: None,
            })?;
            let mut out = std::io::stdout().lock();
            for r in &recs {
                if json {
                    out.write_all(r.bytes())?;
                    out.write_all(b"\n")?;
                } else {
                    writeln!(out, "{}", summary_line(r))?;
                }
            }
            if !json {
                writeln!(out, "{} record(s)", recs.len())?;
            }
            Ok(0)
        }
        Command::Withdraw { id, reason } => {
            let r = resolve(b, &id)?;
            print_stored(&[b.withdraw(&r.identity(), reason)?])?;
            Ok(0)
        }
        Command::Export {
            file,
            format,
            headers,
            columns,
        } => match crate::tabular::ExportFormat::resolve(format, &file) {
            crate::tabular::ExportFormat::Jsonl => export_jsonl(b, &file),
            crate::tabular::ExportFormat::Dcat => crate::dcat::export(b, dir, &file),
            format => crate::tabular::export(b, &file, format, headers, columns.as_deref()),
        },
        Command::Init { .. }
        | Command::Id
        | Command::Verify { .. }
        | Command::Run { .. }
        | Command::Status
        | Command::Peers
        | Command::DebugInject { .. }
        | Command::DebugFlood { .. }
        | Command::DebugAbuse { .. }
        | Command::Check
        | Command::Translate { .. }
        | Command::Mappings(_)
        | Command::Search(_)
        | Command::Match(_)
        | Command::Events(_)
        | Command::Trust(_) => {
            unreachable!("handled in cli::run")
        }
    }
}

/// `techmesh export FILE` (jsonl): every current signed record, tombstones included.
fn export_jsonl(b: &dyn Backend, file: &Path) -> Result<i32> {
    let recs = b.list(&ListFilter {
        include_tombstones: true,
        ..Default::default()
    })?;
    let tmp = file.with_extension("jsonl.partial");
    let mut f = std::io::BufWriter::new(
        File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for r in &recs {
        f.write_all(r.bytes())?;
        f.write_all(b"\n")?;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, file)?;
    eprintln!(
        "exported {} signed record(s) to {}",
        recs.len(),
        file.display()
    );
    Ok(0)
}

/// One line of an import file after checking.
enum Line {
    Body(Body),
    Signed(Vec<u8>),
}

fn import(b: &dyn Backend, file: &Path, skip_invalid: bool, kind: Option<Kind>) -> Result<i32> {
    let reader =
        BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    let lines: Vec<(usize, String)> = reader
        .split(b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter_map(|(n, l)| match l {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) if s.trim().is_empty() => None,
                Ok(s) => Some(Ok((n, s))),
                Err(_) => Some(Ok((n, "\u{0}not-utf8".to_string()))),
            },
            Err(e) => Some(Err(e)),
        })
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", file.display()))?;
    let pb = progress(lines.len() as u64, "checking");
    let mut good: Vec<(usize, Line)> = Vec::new();
    let mut errors: Vec<(usize, String)> = Vec::new();
    let mut seen: HashMap<(Kind, String), usize> = HashMap::new();
    for (n, text) in &lines {
        pb.inc(1);
        let at = format!("{}:{n}", file.display());
        if text.starts_with('\u{0}') {
            errors.push((*n, format!("{at}: not UTF-8 text")));
            continue;
        }
        if text.len() > MAX_LINE_BYTES {
            errors.push((
                *n,
                format!(
                    "{at}: line is {} bytes, more than {MAX_LINE_BYTES}",
                    text.len()
                ),
            ));
            continue;
        }
        let value: Value = match serde_json::from_str(text.trim_end_matches('\r')) {
            Ok(v) => v,
            Err(e) => {
                errors.push((*n, format!("{at}: not JSON: {e}")));
                continue;
            }
        };
        if value.get("sig").is_some() && value.get("publisher").is_some() {
            good.push((
                *n,
                Line::Signed(text.trim_end_matches('\r').as_bytes().to_vec()),
            ));
            continue;
        }
        let k = kind.unwrap_or_else(|| body::detect_kind(&value));
        match body::prepare(k, &value) {
            Ok(body) => {
                let (slot_kind, local) = body.slot();
                if let Some(first) = seen.insert((slot_kind, local.to_string()), *n) {
                    errors.push((
                        *n,
                        format!("{at}: local_id: {local:?} is already used on line {first}"),
                    ));
                    continue;
                }
                good.push((*n, Line::Body(body)));
            }
            Err(errs) => errors.extend(errs.0.iter().map(|e| (*n, format!("{at}: {e}")))),
        }
    }
    pb.finish_and_clear();
    let bad_lines: std::collections::BTreeSet<usize> = errors.iter().map(|(n, _)| *n).collect();
    for (_, e) in &errors {
        eprintln!("{e}");
    }
    if !errors.is_empty() && !skip_invalid {
        eprintln!(
            "nothing imported: {} of {} line(s) invalid (fix them, or use --skip-invalid to import the {} valid line(s))",
            bad_lines.len(),
            lines.len(),
            good.len()
        );
        return Ok(1);
    }
    let (mut bodies, mut signed) = (Vec::new(), Vec::new());
    for (_, l) in good {
        match l {
            Line::Body(b) => bodies.push(b),
            Line::Signed(s) => signed.push(s),
        }
    }
    let pb = progress(bodies.len() as u64, "signing");
    let mut results = if bodies.is_empty() {
        vec![]
    } else {
        b.publish(bodies, &|| pb.inc(1))?
    };
    pb.finish_and_clear();
    if !signed.is_empty() {
        results.extend(b.ingest(signed)?);
    }
    let mut by_status: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &results {
        *by_status.entry(r.status.as_str()).or_default() += 1;
        if let Some(e) = &r.error {
            eprintln!("{}: signed record refused: {e}", file.display());
        }
    }
    let parts: Vec<String> = by_status.iter().map(|(k, v)| format!("{v} {k}")).collect();
    eprintln!(
        "imported {} record(s) from {} ({}){}",
        results.len(),
        file.display(),
        parts.join(", "),
        if bad_lines.is_empty() {
            String::new()
        } else {
            format!("; skipped {} invalid line(s)", bad_lines.len())
        }
    );
    let failed = results
        .iter()
        .any(|r| r.status == "invalid" || r.status == "refused");
    Ok(if failed { 1 } else { 0 })
}

/// `techmesh verify FILE`: every line must be a record that verifies.
pub fn verify_file(file: &Path, max_future_skew_secs: u64) -> Result<i32> {
    let reader =
        BufReader::new(File::open(file).with_context(|| format!("opening {}", file.display()))?);
    let opts = VerifyOptions {
        now: crate::ingest::now(),
        max_future_skew_secs,
    };
    let (mut ok, mut bad) = (0usize, 0usize);
    for (i, line) in reader.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {}", file.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match Record::verify(&line, &opts) {
            Ok(_) => ok += 1,
            Err(e) => {
                bad += 1;
                eprintln!("{}:{}: {e}", file.display(), i + 1);
            }
        }
    }
    println!("{ok} valid, {bad} invalid record(s) in {}", file.display());
    Ok(if bad == 0 && ok > 0 { 0 } else { 1 })
}
