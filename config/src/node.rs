//! `node.toml`: this node's identity facts, listening addresses and bounds.
//!
//! Every key has a safe default, unknown keys are refused (a typo must not silently
//! fall back to a default), and every value is checked with its line in the file.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::ConfigError;
use techmesh_protocol::body::common::{is_country, is_region_of};

/// Smallest allowed network message: the largest record (128 KiB) plus framing.
pub const MIN_MESSAGE_BYTES: usize = 160 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub node: NodeSection,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub api: ApiSection,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub records: RecordsSection,
    #[serde(default)]
    pub sync: SyncSection,
    #[serde(default)]
    pub query: QuerySection,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Human name of this exchange.
    pub name: String,
    /// ISO 3166-1 alpha-2 country of this exchange (scope `national` is decided by it).
    pub country: Spanned<String>,
    /// ISO 3166-2 region, optional.
    #[serde(default)]
    pub region: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSection {
    /// libp2p multiaddrs to listen on: `/ip4/…/tcp/PORT` (TCP + noise + yamux)
    /// and/or `/ip4/…/udp/PORT/quic-v1` (QUIC v1); see [`crate::addr`].
    pub listen: Vec<Spanned<String>>,
    /// Extra peers to dial besides the addresses in trust.toml (same forms).
    pub bootstrap: Vec<Spanned<String>>,
    /// Upper bound of any single network message (gossip, sync, query), bytes.
    pub max_message_bytes: Spanned<usize>,
    /// Connections stay open this long without traffic.
    pub idle_timeout_secs: u64,
    /// Gossipsub heartbeat.
    pub heartbeat_ms: u64,
    /// Redial backoff: first delay and cap.
    pub redial_min_secs: u64,
    pub redial_max_secs: u64,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            listen: vec![Spanned::new(0..0, "/ip4/0.0.0.0/tcp/7700".into())],
            bootstrap: vec![],
            max_message_bytes: Spanned::new(0..0, 256 * 1024),
            idle_timeout_secs: 3600,
            heartbeat_ms: 700,
            redial_min_secs: 1,
            redial_max_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// HTTP API bind address (local only by default).
    pub listen: String,
    /// Whether reading (search, get, list) also needs the bearer token.
    pub read_requires_token: bool,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: "127.0.0.1:7780".into(),
            read_requires_token: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSection {
    /// Admin API bind address (trust list, peers, audit log); its own bearer token
    /// is `DATA/admin.token`. Local only by default.
    pub listen: String,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            listen: "127.0.0.1:7781".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// sled page cache, MiB.
    pub cache_mb: Spanned<u64>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            cache_mb: Spanned::new(0..0, 64),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordsSection {
    /// Records dated further than this in the future are refused.
    pub max_future_skew_secs: u64,
    /// Publishing needs the latest own seq confirmed by a peer (or this override).
    pub allow_publish_without_peer_seq: bool,
}

impl Default for RecordsSection {
    fn default() -> Self {
        RecordsSection {
            max_future_skew_secs: 300,
            allow_publish_without_peer_seq: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Anti-entropy runs with every connected peer this often.
    pub interval_secs: u64,
    /// Sync requests served per peer per minute.
    pub requests_per_minute: u32,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            interval_secs: 30,
            requests_per_minute: 600,
        }
    }
}

/// Federated queries this node answers (docs/PROTOCOL.md, "Federated query").
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuerySection {
    /// Federated queries answered per peer per minute (more are refused).
    pub requests_per_minute: u32,
    /// Federated queries answered concurrently per peer (more are refused).
    pub concurrency_per_peer: usize,
}

impl Default for QuerySection {
    fn default() -> Self {
        QuerySection {
            requests_per_minute: 600,
            concurrency_per_peer: 4,
        }
    }
}

impl NodeConfig {
    /// Read and check `path`.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
        NodeConfig::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<NodeConfig, ConfigError> {
        let cfg: NodeConfig =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        let err = |span, field: &str, msg: String| {
            ConfigError::at(path, text, Some(span), Some(field.into()), msg)
        };
        let c = &cfg.node.country;
        if !is_country(c.get_ref()) {
            return Err(err(
                c.span(),
                "node.country",
                format!(
                    "{:?} is not an ISO 3166-1 alpha-2 country code such as \"CN\"",
                    c.get_ref()
                ),
            ));
        }
        if let Some(r) = &cfg.node.region {
            if !is_region_of(r.get_ref(), c.get_ref()) {
                return Err(err(
                    r.span(),
                    "node.region",
                    format!(
                        "{:?} is not an ISO 3166-2 region of {}",
                        r.get_ref(),
                        c.get_ref()
                    ),
                ));
            }
        }
        let m = &cfg.network.max_message_bytes;
        if !(MIN_MESSAGE_BYTES..=16 * 1024 * 1024).contains(m.get_ref()) {
            return Err(err(
                m.span(),
                "network.max_message_bytes",
                format!(
                    "{} is outside {MIN_MESSAGE_BYTES}..=16777216 (a message must hold the largest record plus framing)",
                    m.get_ref()
                ),
            ));
        }
        for (what, list, listen) in [
            ("network.listen", &cfg.network.listen, true),
            ("network.bootstrap", &cfg.network.bootstrap, false),
        ] {
            for (i, a) in list.iter().enumerate() {
                crate::addr::check(a.get_ref(), listen)
                    .map_err(|m| err(a.span(), &format!("{what}[{i}]"), m))?;
            }
        }
        let cache = &cfg.store.cache_mb;
        if !(8..=65536).contains(cache.get_ref()) {
            return Err(err(
                cache.span(),
                "store.cache_mb",
                format!("{} is outside 8..=65536", cache.get_ref()),
            ));
        }
        Ok(cfg)
    }

    pub fn country(&self) -> &str {
        self.node.country.get_ref()
    }

    /// `[network] listen` as plain strings.
    pub fn listen(&self) -> Vec<String> {
        self.network
            .listen
            .iter()
            .map(|a| a.get_ref().clone())
            .collect()
    }

    /// `[network] bootstrap` as plain strings.
    pub fn bootstrap(&self) -> Vec<String> {
        self.network
            .bootstrap
            .iter()
            .map(|a| a.get_ref().clone())
            .collect()
    }

    /// The commented default file written by `techmesh init`.
    pub fn default_text(name: &str, country: &str, region: Option<&str>) -> String {
        let region = region
            .map(|r| format!("region = {r:?}\n"))
            .unwrap_or_else(|| "# region = \"CN-HB\"   # ISO 3166-2, optional\n".into());
        format!(
            r#"# techmesh node configuration. Unknown keys are refused; every key below shows
# its default. See docs/OPERATIONS.md.

[node]
name = {name:?}
country = {country:?}     # ISO 3166-1 alpha-2: decides who receives `national` records
{region}
[network]
# libp2p listen addresses. TCP (+ noise + yamux) is the default; add QUIC v1 with
# a UDP address, e.g. ["/ip4/0.0.0.0/tcp/7700", "/ip4/0.0.0.0/udp/7700/quic-v1"].
# Peers are dialled over whatever their trust.toml `addresses` say (tcp or quic-v1).
listen = ["/ip4/0.0.0.0/tcp/7700"]
bootstrap = []                        # extra peers to dial (trust.toml addresses are dialled too)
max_message_bytes = 262144            # one bound for every gossip, sync and query message
idle_timeout_secs = 3600              # quiet peers stay connected this long
heartbeat_ms = 700                    # gossipsub heartbeat
redial_min_secs = 1                   # redial backoff: first delay ...
redial_max_secs = 60                  # ... and cap

[api]
listen = "127.0.0.1:7780"             # HTTP API; keep it local unless fronted by a proxy
read_requires_token = false           # reading needs the bearer token too

[admin]
listen = "127.0.0.1:7781"             # admin API (trust list, peers, audit log); token: DATA/admin.token

[store]
cache_mb = 64                         # sled page cache

[records]
max_future_skew_secs = 300            # refuse records dated further in the future
allow_publish_without_peer_seq = false  # see "no self-fork" in docs/OPERATIONS.md

[sync]
interval_secs = 30                    # anti-entropy with every peer this often
requests_per_minute = 600             # sync requests served per peer per minute

[query]
requests_per_minute = 600             # federated queries answered per peer per minute
concurrency_per_peer = 4              # ... and at once
"#
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeConfig, String> {
        NodeConfig::parse(Path::new("node.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn default_text_parses_to_defaults() {
        let cfg = parse(&NodeConfig::default_text("Hubei", "CN", Some("CN-HB"))).unwrap();
        assert_eq!(cfg.country(), "CN");
        assert_eq!(*cfg.store.cache_mb.get_ref(), 64);
        assert_eq!(cfg.sync.interval_secs, SyncSection::default().interval_secs);
        let cfg = parse(&NodeConfig::default_text("Kenya", "KE", None)).unwrap();
        assert!(cfg.node.region.is_none());
        assert_eq!(cfg.admin.listen, AdminSection::default().listen);
        let cfg = parse("[node]\nname = \"x\"\ncountry = \"CN\"\n").unwrap();
        assert_eq!(cfg.admin.listen, "127.0.0.1:7781");
    }

    #[test]
    fn unknown_keys_are_refused_with_file_line_and_field() {
        let e = parse("[node]\nname = \"x\"\ncountry = \"CN\"\n\n[store]\ncache_mbb = 5\n")
            .unwrap_err();
        assert!(
            e.starts_with("node.toml:6:1: cache_mbb: unknown field `cache_mbb`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = parse("[node]\nname = \"x\"\ncountry = \"China\"\n").unwrap_err();
        assert_eq!(e, "node.toml:3:11: node.country: \"China\" is not an ISO 3166-1 alpha-2 country code such as \"CN\"");
        let e = parse("[node]\nname = \"x\"\ncountry = \"CN\"\nregion = \"KE-30\"\n").unwrap_err();
        assert!(e.starts_with("node.toml:4:10: node.region:"), "{e}");
        let e =
            parse("[node]\nname = \"x\"\ncountry = \"CN\"\n[store]\ncache_mb = 1\n").unwrap_err();
        assert_eq!(e, "node.toml:5:12: store.cache_mb: 1 is outside 8..=65536");
        let e = parse("[node]\nname = \"x\"\ncountry = \"CN\"\n[sync]\ninterval_secs = \"soon\"\n")
            .unwrap_err();
        assert!(e.starts_with("node.toml:5:17: "), "{e}");
        let e = parse("[node]\nname = \"x\"\n").unwrap_err();
        assert!(e.contains("missing field `country`"), "{e}");
    }

    #[test]
    fn quic_listen_addresses_are_accepted_and_bad_ones_named() {
        let base = "[node]\nname = \"x\"\ncountry = \"CN\"\n[network]\n";
        let cfg = parse(&format!(
            "{base}listen = [\"/ip4/0.0.0.0/tcp/7700\", \"/ip4/0.0.0.0/udp/7700/quic-v1\"]\n"
        ))
        .unwrap();
        assert_eq!(
            cfg.listen(),
            ["/ip4/0.0.0.0/tcp/7700", "/ip4/0.0.0.0/udp/7700/quic-v1"]
        );
        let e = parse(&format!(
            "{base}listen = [\"/ip4/0.0.0.0/tcp/7700\",\n  \"/ip4/0.0.0.0/udp/7700/quic\"]\n"
        ))
        .unwrap_err();
        assert!(
            e.starts_with("node.toml:6:3: network.listen[1]: \"/ip4/0.0.0.0/udp/7700/quic\": /quic is QUIC draft-29"),
            "{e}"
        );
        let e = parse(&format!("{base}bootstrap = [\"/ip4/10.0.0.1/udp/7700\"]\n")).unwrap_err();
        assert!(
            e.starts_with("node.toml:5:14: network.bootstrap[0]: ") && e.contains("/quic-v1"),
            "{e}"
        );
    }
}
