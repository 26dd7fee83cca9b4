//! The audit log `DATA/audit.jsonl`: one JSON object per line, appended and
//! fsynced before the admin call answers. Every state-changing admin action and
//! every refused (unauthenticated) admin call is written:
//!
//! ```json
//! {"at":"2026-11-28T11:59:00Z","actor":"token:3f2a9c1e","action":"members.remove",
//!  "target":"Guangdong Technology Exchange","before":{...},"after":null,"result":"ok"}
//! ```
//!
//! `actor` is `token:<first 8 hex digits of SHA-256(token)>` (never the token),
//! `sighup`, `unauthenticated` (no token) or `wrong-token`; `result` is `ok`,
//! `failed` (refused as invalid, nothing changed: see `error`) or `refused` (401).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde_json::{json, Value};

pub struct Audit {
    path: PathBuf,
    file: Mutex<File>,
}

/// One line of the log.
pub struct Entry<'a> {
    pub actor: &'a str,
    pub operator: Option<&'a str>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Value,
    pub after: Value,
    pub result: &'a str,
    pub error: Option<&'a str>,
    pub details: Value,
}

impl Audit {
    pub fn open(path: &Path) -> Result<Audit> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening the audit log {}", path.display()))?;
        Ok(Audit {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Append one entry and fsync it.
    pub fn append(&self, e: Entry<'_>) -> Result<()> {
        let mut v = json!({
            "at": crate::ingest::now().to_string(),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "before": e.before,
            "after": e.after,
            "result": e.result,
        });
        if let Some(op) = e.operator {
            v["operator"] = json!(op);
        }
        if let Some(err) = e.error {
            v["error"] = json!(err);
        }
        if !e.details.is_null() {
            v["details"] = e.details;
        }
        let mut line = serde_json::to_vec(&v)?;
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .with_context(|| format!("writing the audit log {}", self.path.display()))
    }

    /// The last `limit` entries, oldest first.
    pub fn tail(&self, limit: usize) -> Result<Vec<Value>> {
        let _g = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let f = File::open(&self.path)
            .with_context(|| format!("reading the audit log {}", self.path.display()))?;
        let mut out = std::collections::VecDeque::with_capacity(limit.min(1024));
        for line in BufReader::new(f).lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let v =
                serde_json::from_str(&line).unwrap_or_else(|_| json!({"unreadable_line": line}));
            if out.len() == limit {
                out.pop_front();
            }
            if limit > 0 {
                out.push_back(v);
            }
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_reads_the_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("audit.jsonl");
        let a = Audit::open(&path).unwrap();
        for i in 0..5 {
            a.append(Entry {
                actor: "token:00000000",
                operator: None,
                action: "members.add",
                target: &format!("m{i}"),
                before: Value::Null,
                after: json!({"name": format!("m{i}")}),
                result: "ok",
                error: None,
                details: Value::Null,
            })
            .unwrap();
        }
        let t = a.tail(2).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["target"], "m3");
        assert_eq!(t[1]["after"]["name"], "m4");
        assert!(t[1]["at"].as_str().unwrap().ends_with('Z'));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Reopening appends.
        drop(a);
        let a = Audit::open(&path).unwrap();
        assert_eq!(a.tail(100).unwrap().len(), 5);
    }
}
