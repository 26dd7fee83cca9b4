//! `techmesh translate` and `techmesh mappings import|export|list`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::Value;

use techmesh_protocol::body::mapping::MAX_MAPPINGS;
use techmesh_protocol::body::{self, Body, Kind};
use techmesh_protocol::sssom;

use super::backend::Backend;
use crate::store::ListFilter;

#[derive(Subcommand, Debug)]
pub enum MappingsCommand {
    /// Publish mapping sets from SSSOM/TSV (or a JSON mapping-set body). Nothing is
    /// published from a file with any error.
    Import { file: std::path::PathBuf },
    /// Write every mapping set held as SSSOM/TSV files into DIR (one per set).
    Export { dir: std::path::PathBuf },
    /// Recognised sets, unrecognised sets, and conflicts between authorities.
    List,
}

/// `SCHEME:CODE` → (scheme, code).
fn split_code(s: &str) -> Result<(&str, &str)> {
    s.split_once(':')
        .ok_or_else(|| anyhow::anyhow!("{s:?}: write SCHEME:CODE, e.g. gbt4754:C3841"))
}

pub fn translate(b: &dyn Backend, what: &str, to: &str, depth: usize, json: bool) -> Result<i32> {
    let (scheme, code) = split_code(what)?;
    let v = b.translate(scheme, code, to, depth)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    let results = v["results"].as_array().cloned().unwrap_or_default();
    if results.is_empty() {
        println!("no {to} code for {scheme}:{code} through the recognised mapping sets");
        return Ok(1);
    }
    for r in &results {
        println!(
            "{to}:{}  {}  confidence {}",
            r["code"].as_str().unwrap_or(""),
            r["predicate"].as_str().unwrap_or(""),
            r["confidence"]
        );
        for step in r["chain"].as_array().into_iter().flatten() {
            println!(
                "    {}:{} --{}{}--> {}:{}  ({}, set {})",
                step["subject_scheme"].as_str().unwrap_or(""),
                step["subject"].as_str().unwrap_or(""),
                step["predicate"].as_str().unwrap_or(""),
                if step["inverted"] == true {
                    ", inverted"
                } else {
                    ""
                },
                step["object_scheme"].as_str().unwrap_or(""),
                step["object"].as_str().unwrap_or(""),
                step["confidence"],
                step["set"].as_str().unwrap_or(""),
            );
        }
    }
    Ok(0)
}

pub fn run(b: &dyn Backend, cmd: MappingsCommand) -> Result<i32> {
    match cmd {
        MappingsCommand::Import { file } => import(b, &file),
        MappingsCommand::Export { dir } => export(b, &dir),
        MappingsCommand::List => {
            println!("{}", serde_json::to_string_pretty(&b.mappings()?)?);
            Ok(0)
        }
    }
}

fn import(b: &dyn Backend, file: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} (it must be UTF-8)", file.display()))?;
    let name = file.display().to_string();
    let sets = if name.ends_with(".json") {
        let v: Value = serde_json::from_str(&text).with_context(|| format!("{name}: not JSON"))?;
        match body::prepare(Kind::MappingSet, &v) {
            Ok(Body::MappingSet(m)) => vec![*m],
            Ok(_) => unreachable!("prepared as a mapping set"),
            Err(e) => bail!(
                "{name}: invalid mapping set:\n  {}",
                e.0.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ),
        }
    } else {
        match sssom::parse(&name, &text) {
            Ok(set) => sssom::split(set, MAX_MAPPINGS),
            Err(errors) => {
                for e in &errors {
                    eprintln!("{e}");
                }
                eprintln!("nothing published: {} error(s) in {name}", errors.len());
                return Ok(1);
            }
        }
    };
    let mut bodies = Vec::new();
    for s in sets {
        let v = Body::MappingSet(Box::new(s)).to_json();
        let prepared =
            body::prepare(Kind::MappingSet, &v).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        bodies.push(prepared);
    }
    for s in b.publish(bodies, &|| {})? {
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(0)
}

fn export(b: &dyn Backend, dir: &Path) -> Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sets = b.list(&ListFilter {
        kind: Some(Kind::MappingSet),
        ..Default::default()
    })?;
    for r in &sets {
        let Body::MappingSet(m) = &r.body else {
            continue;
        };
        let path = dir.join(format!("{}.sssom.tsv", m.local_id));
        std::fs::write(&path, sssom::write(m))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    eprintln!(
        "exported {} mapping set(s) to {}",
        sets.len(),
        dir.display()
    );
    Ok(0)
}
