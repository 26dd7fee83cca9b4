//! `techmesh debug-flood`: a trusted member gone bad that gossips fresh records as
//! fast as it can, with the signature of a share of them corrupted. The good ones
//! are valid records of this data dir's publisher key (local ids `flood-<run>-<n>`),
//! the bad ones carry local ids `flood-bad-<run>-<n>`, so a checker can tell at a
//! glance whether any bad record was stored anywhere.
//!
//! While it has no connection (the peer blocked it) it waits and resumes if it gets
//! back in. Prints one JSON line: how many records it sent (good, bad) and, if the
//! peer disconnected it, after how many records and seconds.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use techmesh_protocol::body::{self, Kind};
use techmesh_protocol::record::Keypair;

use crate::datadir::DataDir;
use crate::ingest::now;

/// Records signed between two looks at the connection state and the clock.
const BATCH: u64 = 64;

pub struct FloodOptions {
    pub peer: String,
    pub topic: String,
    /// Share of records whose signature is corrupted, 0.0–1.0.
    pub bad_ratio: f64,
    pub duration: Duration,
    /// Stop after this many records (default: only the duration bounds the run).
    pub max: Option<u64>,
}

/// A valid entry body with this local id.
fn body_of(local_id: &str) -> Result<body::Body> {
    let v = json!({
        "local_id": local_id,
        "entry_type": "offer",
        "title": {"en": format!("flood record {local_id}")},
        "summary": {"en": "sent by the debug-flood test tool"},
        "classifications": [{"scheme": "ipc", "code": "H01M 10/0525"}],
        "transfer_modes": ["licence"],
        "trl": {"scheme": "trl-eu", "level": 6},
        "organisation": {"name": {"en": "Flood"}, "kind": "university", "country": "CN"},
        "valid_from": "2026-03-01",
        "valid_until": "2027-03-01",
        "scope": "federation"
    });
    body::prepare(Kind::Entry, &v).map_err(|e| anyhow::anyhow!("flood body {local_id}: {e}"))
}

/// Change one hex digit inside the `sig` field: the bytes stay canonical JSON, the
/// signature no longer verifies.
fn corrupt_signature(bytes: &mut [u8]) -> Result<()> {
    const MARK: &[u8] = b"\"sig\":\"";
    let at = bytes
        .windows(MARK.len())
        .position(|w| w == MARK)
        .context("signed record without a \"sig\" field")?
        + MARK.len()
        + 10;
    let c = bytes.get_mut(at).context("signature field too short")?;
    *c = if *c == b'0' { b'1' } else { b'0' };
    Ok(())
}

/// Is the `n`-th record of the run a bad one? Spreads `ratio` evenly.
fn is_bad(n: u64, ratio: f64) -> bool {
    let before = (n as f64 * ratio).floor();
    let after = ((n + 1) as f64 * ratio).floor();
    after > before
}

pub async fn flood(dir: &DataDir, opts: FloodOptions) -> Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&opts.bad_ratio),
        "--bad-ratio must be between 0 and 1, got {}",
        opts.bad_ratio
    );
    let key: Keypair = dir.keypair()?;
    let client = super::join(dir, &opts.peer).await?;
    super::wait_for_topic_peer(&client, &opts.topic).await?;
    let run = now().0;
    // Above anything this key published by hand, increasing from run to run.
    let seq_base = (run as u64) * 1_000_000;
    let start = Instant::now();
    let (mut sent, mut bad) = (0u64, 0u64);
    let mut disconnected: Option<(u64, u64, f64)> = None;
    let max = opts.max.unwrap_or(u64::MAX);
    while start.elapsed() < opts.duration && sent < max {
        if client.peers.connected_ids().is_empty() {
            // Disconnected (blocked, most likely): nobody to send to; wait, and
            // carry on if we get back in.
            if disconnected.is_none() {
                disconnected = Some((sent, bad, start.elapsed().as_secs_f64()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        for _ in 0..BATCH.min(max - sent) {
            let n = sent;
            let wrong = is_bad(n, opts.bad_ratio);
            let local_id = if wrong {
                format!("flood-bad-{run}-{n}")
            } else {
                format!("flood-{run}-{n}")
            };
            let record = key.sign(seq_base + n + 1, now(), body_of(&local_id)?)?;
            let mut bytes = record.bytes().to_vec();
            if wrong {
                corrupt_signature(&mut bytes)?;
                bad += 1;
            }
            client.gossip_raw(opts.topic.clone(), bytes).await?;
            sent += 1;
        }
        tokio::task::yield_now().await;
    }
    let seconds = start.elapsed().as_secs_f64();
    client.shutdown().await;
    println!(
        "{}",
        json!({
            "run": run,
            "sent": sent,
            "good": sent - bad,
            "bad": bad,
            "seconds": seconds,
            "rate_per_s": sent as f64 / seconds.max(1e-9),
            "disconnected": disconnected.is_some(),
            "disconnected_after_sent": disconnected.map(|d| d.0),
            "disconnected_after_bad": disconnected.map(|d| d.1),
            "disconnected_after_s": disconnected.map(|d| d.2),
            "sent_after_disconnect": disconnected.map(|d| sent - d.0),
        })
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_of_the_records_are_bad_and_their_signature_fails() {
        let bad = (0..1000).filter(|&n| is_bad(n, 0.5)).count();
        assert_eq!(bad, 500);
        assert_eq!((0..10).filter(|&n| is_bad(n, 0.0)).count(), 0);
        assert_eq!((0..10).filter(|&n| is_bad(n, 1.0)).count(), 10);
        let key = Keypair::from_seed(&[7; 32]);
        let r = key.sign(1, now(), body_of("flood-t-1").unwrap()).unwrap();
        let mut bytes = r.bytes().to_vec();
        corrupt_signature(&mut bytes).unwrap();
        let opts = techmesh_protocol::record::VerifyOptions {
            now: now(),
            max_future_skew_secs: 300,
        };
        assert!(techmesh_protocol::record::Record::verify(r.bytes(), &opts).is_ok());
        assert!(matches!(
            techmesh_protocol::record::Record::verify(&bytes, &opts),
            Err(techmesh_protocol::RecordError::BadSignature)
        ));
    }
}
