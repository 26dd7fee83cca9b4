//! `techmesh run`: start the node (store, network, sync, API), announce readiness,
//! and shut down gracefully on SIGINT/SIGTERM (stop accepting, close peers, flush
//! the store). SIGHUP reloads the trust list; a broken file leaves the running list
//! untouched.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use crate::api::{router, ApiState};
use crate::console;
use crate::datadir::DataDir;
use crate::ingest::Ingest;
use crate::net::{self, NetConfig};
use crate::node::{Node, SeqGuard};
use crate::publish::Publisher;
use crate::store::{SledStore, Store};
use crate::sync::{self, SyncConfig};

pub struct RunOptions {
    pub listen: Vec<String>,
    pub api: Option<String>,
    /// Admin API bind address (default: `[admin] listen`).
    pub admin: Option<String>,
}

fn parse_addrs(list: &[String], what: &str) -> Result<Vec<libp2p::Multiaddr>> {
    list.iter()
        .map(|a| {
            a.parse().with_context(|| {
                format!("{what}: {a:?} is not a multiaddr such as /ip4/0.0.0.0/tcp/7700")
            })
        })
        .collect()
}

pub async fn run(dir: &DataDir, opts: RunOptions) -> Result<()> {
    let cfg = dir.config()?;
    let trust_list = dir.trust()?;
    let keypair = dir.keypair()?;
    let p2p_key = dir.libp2p_keypair()?;
    let local = dir.local_node()?;
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open(&dir.store_dir(), *cfg.store.cache_mb.get_ref()).map_err(|e| match e {
            crate::store::StoreError::Locked { path } => {
                anyhow::anyhow!("a node is already running on {path}")
            }
            other => other.into(),
        })?,
    );
    // The effective list: trust.toml plus the stored lists of its anchors.
    let trust_list = crate::admin::anchors::effective(&trust_list, &*store)?;
    let has_members = !trust_list.members.is_empty();
    let trust = Arc::new(RwLock::new(trust_list));
    let ingest = Ingest::new(
        store.clone(),
        trust.clone(),
        local.clone(),
        cfg.records.max_future_skew_secs,
    );
    let mappings = Arc::new(crate::mappings::Mappings::load(
        &*store,
        &trust.read().unwrap_or_else(|p| p.into_inner()),
        local.publisher,
    )?);
    ingest.observe(mappings.clone());
    let search = Arc::new(crate::query::SearchIndex::load(&*store)?);
    ingest.observe(search.clone());
    ingest.observe(Arc::new(crate::activity::ActivityObserver));
    ingest.observe(Arc::new(crate::metrics::MetricsObserver));
    let listen = if opts.listen.is_empty() {
        cfg.listen()
    } else {
        opts.listen.clone()
    };
    let max_message_bytes = *cfg.network.max_message_bytes.get_ref();
    let net_cfg = NetConfig {
        listen: parse_addrs(&listen, "network.listen")?,
        bootstrap: parse_addrs(&cfg.bootstrap(), "network.bootstrap")?,
        max_message_bytes,
        idle_timeout: Duration::from_secs(cfg.network.idle_timeout_secs),
        heartbeat: Duration::from_millis(cfg.network.heartbeat_ms),
        redial_min: Duration::from_secs(cfg.network.redial_min_secs),
        redial_max: Duration::from_secs(cfg.network.redial_max_secs),
        sync_timeout: Duration::from_secs(30),
        sync_requests_per_minute: cfg.sync.requests_per_minute,
        sync_concurrency_per_peer: 4,
        max_strikes: 20,
        block_duration: Duration::from_secs(600),
    };
    let (client, events, mut event_loop) = net::new(
        p2p_key,
        net_cfg,
        ingest.clone(),
        trust.clone(),
        local.clone(),
    )?;
    let seq_guard = Arc::new(SeqGuard::new(
        has_members,
        cfg.records.allow_publish_without_peer_seq,
    ));
    let publisher = Arc::new(Publisher::new(keypair, ingest.clone()));
    let node = Arc::new(
        Node::new(publisher, Some(client.clone()), seq_guard.clone(), mappings)
            .with_search(search)
            .with_name(cfg.node.name.clone()),
    );
    if let Some(queries) = event_loop.take_query_requests() {
        let qcfg = crate::fedquery::FedQueryConfig {
            requests_per_minute: cfg.query.requests_per_minute,
            concurrency_per_peer: cfg.query.concurrency_per_peer,
            tamper: crate::fedquery::tamper_hook_enabled(&dir.root),
        };
        tokio::spawn(crate::fedquery::serve(qcfg, node.clone(), queries));
    }
    let net_task = tokio::spawn(event_loop.run());
    let guard = seq_guard.clone();
    let sync_cfg = SyncConfig {
        interval: Duration::from_secs(cfg.sync.interval_secs.max(1)),
        message_budget: max_message_bytes * 3 / 4,
    };
    let sync_task = tokio::spawn(sync::run(
        sync_cfg,
        ingest.clone(),
        client.clone(),
        events,
        Arc::new(move |seq| guard.learned(seq)),
    ));

    let api_addr: SocketAddr = opts
        .api
        .as_deref()
        .unwrap_or(&cfg.api.listen)
        .parse()
        .context("api.listen: not an address such as 127.0.0.1:7780")?;
    let listener = tokio::net::TcpListener::bind(api_addr)
        .await
        .with_context(|| format!("binding the API on {api_addr}"))?;
    let api_addr = listener.local_addr()?;
    let state = ApiState {
        node: node.clone(),
        token: Arc::new(dir.token()?),
        read_requires_token: cfg.api.read_requires_token,
    };
    let public_state = state.clone();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let api_task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router(public_state).merge(console::router(console::Bind::Public)),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.changed().await;
        })
        .await;
    });
    std::fs::write(dir.api_addr_file(), api_addr.to_string())?;
    let admin = Arc::new(crate::admin::Admin::new(dir, node.clone())?);
    admin.enforce_revocations().await;
    admin.watch_anchors();
    let (admin_addr, admin_task) = crate::admin::start(
        dir,
        admin.clone(),
        opts.admin.as_deref().unwrap_or(&cfg.admin.listen),
        stop_tx.subscribe(),
        router(state).merge(console::router(console::Bind::Admin)),
    )
    .await?;

    // Wait until the listeners are up, then announce readiness on stdout.
    let mut p2p = Vec::new();
    for _ in 0..100 {
        p2p = client.listen_addrs().await?;
        if !p2p.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = serde_json::json!({
        "event": "ready",
        "api": api_addr.to_string(),
        "admin": admin_addr.to_string(),
        "p2p": p2p.iter().map(|a| format!("{a}/p2p/{}", client.local_peer_id)).collect::<Vec<_>>(),
        "peer_id": client.local_peer_id.to_string(),
        "publisher": local.publisher.to_hex(),
    });
    println!("{ready}");
    tracing::info!(api = %api_addr, "node ready");

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            // Same path as POST /admin/v1/reload: validated, applied, audited, logged.
            _ = hup.recv() => { let _ = admin.reload(&crate::admin::Actor::sighup()).await; }
        }
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = api_task.await;
    let _ = admin_task.await;
    client.shutdown().await;
    sync_task.abort();
    let _ = net_task.await;
    store.flush()?;
    let _ = std::fs::remove_file(dir.api_addr_file());
    let _ = std::fs::remove_file(dir.admin_addr_file());
    tracing::info!("stopped cleanly");
    Ok(())
}
