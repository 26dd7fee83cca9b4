//! Prometheus metrics, served as OpenMetrics text at `GET /metrics` on the public API
//! (open unless `api.read_requires_token`, like every read).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `techmesh_records` | gauge | `kind` (current records in the store, cached ≤ 10 s) |
//! | `techmesh_records_ingested_total` | counter | `kind` (records newly stored) |
//! | `techmesh_records_refused_total` | counter | `reason` (IngestError::reason) |
//! | `techmesh_peers_connected` | gauge | — |
//! | `techmesh_peer_sync_lag_seconds` | gauge | `peer`, `member` (time since the last good sync) |
//! | `techmesh_peer_strikes` | gauge | `peer`, `member` |
//! | `techmesh_http_request_duration_seconds` | histogram | `method`, `route`, `status` |
//!
//! Query latency is the HTTP histogram of the query routes (`/v1/search`,
//! `/v1/match`, `/v1/federated-search`, `/v1/events/{id}/agenda`). Each HTTP request
//! also runs in a tracing span (`http` with method, route and a request number), so
//! JSON logs (`TECHMESH_LOG_FORMAT=json`) tie every line to its request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tracing::Instrument;

use techmesh_protocol::record::Record;
use techmesh_protocol::time::Timestamp;

use crate::ingest::RecordObserver;
use crate::net::PeerTable;
use crate::store::Store;

/// How long the store's record counts (a scan) are reused between scrapes.
const COUNTS_TTL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabel {
    peer: String,
    member: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabel {
    method: String,
    route: String,
    status: u16,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms … ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The node's metrics: counters updated as things happen, gauges read at scrape time.
pub struct Metrics {
    registry: Registry,
    records: Family<KindLabel, Gauge>,
    ingested: Family<KindLabel, Counter>,
    refused: Family<ReasonLabel, Counter>,
    peers_connected: Gauge,
    sync_lag: Family<PeerLabel, FloatGauge>,
    strikes: Family<PeerLabel, Gauge>,
    http: Family<HttpLabel, Histogram, fn() -> Histogram>,
    counts_cache: Mutex<Option<(Instant, crate::store::Counts)>>,
    requests: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("techmesh");
        let records = Family::<KindLabel, Gauge>::default();
        let ingested = Family::<KindLabel, Counter>::default();
        let refused = Family::<ReasonLabel, Counter>::default();
        let peers_connected = Gauge::default();
        let sync_lag = Family::<PeerLabel, FloatGauge>::default();
        let strikes = Family::<PeerLabel, Gauge>::default();
        let http = Family::<HttpLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "records",
            "Current records in the store, by kind (withdrawn identities count as tombstone)",
            records.clone(),
        );
        registry.register(
            "records_ingested",
            "Records newly stored (published here or received), by kind",
            ingested.clone(),
        );
        registry.register(
            "records_refused",
            "Records refused on the way in (gossip, sync, import, publish), by reason",
            refused.clone(),
        );
        registry.register(
            "peers_connected",
            "Trusted peers with an open connection",
            peers_connected.clone(),
        );
        registry.register(
            "peer_sync_lag_seconds",
            "Seconds since the last successful sync session with each known peer",
            sync_lag.clone(),
        );
        registry.register(
            "peer_strikes",
            "Invalid messages counted against each peer (disconnect at max_strikes)",
            strikes.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Latency of API requests by route (query routes: search, match, agenda)",
            http.clone(),
        );
        Metrics {
            registry,
            records,
            ingested,
            refused,
            peers_connected,
            sync_lag,
            strikes,
            http,
            counts_cache: Mutex::new(None),
            requests: AtomicU64::new(0),
        }
    }

    /// Count a refused record (called where ingest errors are handled).
    pub fn refused(&self, reason: &str) {
        self.refused
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    fn refresh(&self, store: &dyn Store, peers: Option<&PeerTable>, now: Timestamp) {
        let counts = {
            let mut cache = self.counts_cache.lock().unwrap_or_else(|p| p.into_inner());
            match &*cache {
                Some((at, c)) if at.elapsed() < COUNTS_TTL => Some(c.clone()),
                _ => match store.counts() {
                    Ok(c) => {
                        *cache = Some((Instant::now(), c.clone()));
                        Some(c)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics: counting records failed");
                        None
                    }
                },
            }
        };
        if let Some(c) = counts {
            for (kind, n) in [
                ("entry", c.entry),
                ("mapping_set", c.mapping_set),
                ("event", c.event),
                ("tombstone", c.tombstone),
                ("membership", c.membership),
            ] {
                self.records
                    .get_or_create(&KindLabel { kind: kind.into() })
                    .set(n as i64);
            }
        }
        let Some(peers) = peers else { return };
        let snapshot = peers.snapshot();
        self.peers_connected
            .set(snapshot.iter().filter(|p| p.connected).count() as i64);
        for p in snapshot {
            let label = PeerLabel {
                peer: p.peer_id.clone(),
                member: p.member.clone().unwrap_or_default(),
            };
            self.strikes.get_or_create(&label).set(p.strikes as i64);
            if let Some(at) = p.sync.last_sync_at.as_deref().and_then(Timestamp::parse) {
                self.sync_lag
                    .get_or_create(&label)
                    .set((now.0 - at.0).max(0) as f64);
            }
        }
    }

    /// The OpenMetrics text of every metric, gauges refreshed first.
    pub fn render(&self, store: &dyn Store, peers: Option<&PeerTable>) -> String {
        self.refresh(store, peers, crate::ingest::now());
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        out
    }
}

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// The metrics of this process (one node per process), like [`crate::activity`].
pub fn global() -> &'static Metrics {
    GLOBAL.get_or_init(Metrics::new)
}

/// The ingest hook: counts every newly stored record by kind.
pub struct MetricsObserver;

impl RecordObserver for MetricsObserver {
    fn on_new(&self, record: &Record) {
        global().stored(record);
    }
}

impl Metrics {
    fn stored(&self, record: &Record) {
        self.ingested
            .get_or_create(&KindLabel {
                kind: record.kind().as_str().to_string(),
            })
            .inc();
    }
}

/// Axum middleware: time every request into the HTTP histogram and run it inside an
/// `http` span (method, route, request number).
pub async fn track(req: Request, next: Next) -> Response {
    let m = global();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let n = m.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let span = tracing::info_span!("http", %method, %route, request = n);
    let start = Instant::now();
    let resp = next.run(req).instrument(span).await;
    m.http
        .get_or_create(&HttpLabel {
            method,
            route,
            status: resp.status().as_u16(),
        })
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`.
pub fn respond(m: &Metrics, store: &dyn Store, peers: Option<&PeerTable>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(store, peers),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SledStore::open(dir.path(), 8).unwrap();
        let m = Metrics::new();
        m.refused("bad_signature");
        m.refused("bad_signature");
        let peers = PeerTable::default();
        peers.update("12D3KooWpeer", |p| {
            p.connected = true;
            p.member = Some("hubei".into());
            p.strikes = 3;
        });
        let text = m.render(&store, Some(&peers));
        assert!(text.contains("techmesh_records_refused_total{reason=\"bad_signature\"} 2"));
        assert!(text.contains("techmesh_records{kind=\"entry\"} 0"));
        assert!(text.contains("techmesh_peers_connected 1"));
        assert!(text.contains("techmesh_peer_strikes{peer=\"12D3KooWpeer\",member=\"hubei\"} 3"));
        assert!(text.ends_with("# EOF\n"));
    }
}
