//! `techmesh debug inject`: a test tool that plays a misbehaving member. It joins
//! the federation with this data dir's identity and publishes the lines of a file
//! on a gossip topic *without any checks*, so tests can show that receivers verify,
//! refuse, do not forward and penalise. It cannot do anything a hostile peer with
//! its own libp2p client could not.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::datadir::DataDir;
use crate::ingest::Ingest;
use crate::net::{self, NetConfig};
use crate::store::{SledStore, Store};

pub async fn inject(dir: &DataDir, peer: &str, topic: &str, file: &std::path::Path) -> Result<()> {
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
    let start = Instant::now();
    while client.topic_peers(topic.to_string()).await?.is_empty() {
        if start.elapsed() > Duration::from_secs(60) {
            bail!("no peer subscribed to {topic} within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
