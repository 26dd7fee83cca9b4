//! Hidden test tools that play a misbehaving member (`techmesh debug-*`). Each joins
//! the federation with this data dir's identity (so it passes the trust-list gate)
//! and then does what an honest node never would, so tests and benchmarks can show
//! that receivers verify, refuse, bound, do not forward and penalise. None of them
//! can do anything a hostile member with its own libp2p client could not.
//!
//! - `debug-inject` (here): publishes the lines of a file on a gossip topic unchecked;
//! - `debug-flood` ([`flood`]): signs fresh records as fast as it can and corrupts
//!   the signature of a share of them;
//! - `debug-abuse` ([`abuse`]): abuses the sync protocol (oversized messages, too
//!   many concurrent requests, streams that never finish, huge ranges).

pub mod abuse;
pub mod flood;

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::datadir::DataDir;
use crate::ingest::Ingest;
use crate::net::{self, NetClient, NetConfig};
use crate::store::{SledStore, Store};

/// Join the federation through `peer` with this data dir's identity, with penalties
/// of our own switched off (a test tool must not block the node it abuses).
pub(crate) async fn join(dir: &DataDir, peer: &str) -> Result<NetClient> {
    let cfg = dir.config()?;
    let local = dir.local_node()?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir.store_dir(), 16)?);
    let trust = Arc::new(RwLock::new(dir.trust()?));
    let ingest = Ingest::new(store, trust.clone(), local.clone(), 300);
    let net_cfg = NetConfig {
        listen: vec![],
        bootstrap: vec![peer.parse().context("--peer: not a multiaddr")?],
        max_message_bytes: *cfg.network.max_message_bytes.get_ref(),
        idle_timeout: Duration::from_secs(60),
        heartbeat: Duration::from_millis(200),
        redial_min: Duration::from_secs(1),
        redial_max: Duration::from_secs(2),
        sync_timeout: Duration::from_secs(10),
        sync_requests_per_minute: 60,
        sync_concurrency_per_peer: 1,
        max_strikes: u32::MAX,
        block_duration: Duration::from_secs(1),
    };
    let (client, _events, event_loop) =
        net::new(dir.libp2p_keypair()?, net_cfg, ingest, trust, local)?;
    tokio::spawn(event_loop.run());
    Ok(client)
}

/// Wait until some peer is subscribed to `topic` (gossip to nobody is lost).
pub(crate) async fn wait_for_topic_peer(client: &NetClient, topic: &str) -> Result<()> {
    let start = Instant::now();
    while client.topic_peers(topic.to_string()).await?.is_empty() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("no peer subscribed to {topic} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

pub async fn inject(dir: &DataDir, peer: &str, topic: &str, file: &std::path::Path) -> Result<()> {
    let client = join(dir, peer).await?;
    wait_for_topic_peer(&client, topic).await?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut n = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        client
            .gossip_raw(topic.to_string(), line.as_bytes().to_vec())
            .await?;
        n += 1;
    }
    // Let the messages leave before closing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.shutdown().await;
    println!("{{\"injected\": {n}}}");
    Ok(())
}
