//! The libp2p behaviour of a techmesh node. Gating behaviours come first so a
//! connection from a peer outside the trust list is refused right after the noise
//! handshake, before any application protocol runs (rust-libp2p #4870).

use std::collections::HashSet;
use std::time::Duration;

use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, connection_limits, identify, identity, ping, request_response, StreamProtocol,
};
use sha2::{Digest, Sha256};

use techmesh_protocol::body::common::is_country;
use techmesh_protocol::query::{QueryRequest, QueryResponse, MAX_DEADLINE_MS};
use techmesh_protocol::sync::{SyncRequest, SyncResponse};
use techmesh_protocol::trust::topics;

pub const SYNC_PROTOCOL: &str = "/techmesh/sync/2";
pub const QUERY_PROTOCOL: &str = "/techmesh/query/1";
pub const GOSSIP_PROTOCOL: &str = "/techmesh/gossip/1";
pub const IDENTIFY_PROTOCOL: &str = "/techmesh/id/1";

pub type Gossipsub =
    gossipsub::Behaviour<gossipsub::IdentityTransform, gossipsub::WhitelistSubscriptionFilter>;

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Only trust-listed peers may connect.
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    /// Peers penalised for misbehaviour, for a while.
    pub block: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub limits: connection_limits::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub gossipsub: Gossipsub,
    pub sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
    /// Federated query (docs/PROTOCOL.md, "Federated query").
    pub query: request_response::cbor::Behaviour<QueryRequest, QueryResponse>,
}

/// Bounds and timings of the behaviour.
pub struct BehaviourConfig {
    pub max_message_bytes: usize,
    pub heartbeat: Duration,
    pub sync_timeout: Duration,
}

const ISO_COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Every topic of the project: the fixed ones and one national topic per country.
pub fn all_topic_names() -> Vec<String> {
    let mut names = vec![
        topics::tombstones(),
        format!("{}federation", topics::PREFIX),
        format!("{}international", topics::PREFIX),
    ];
    names.extend(
        ISO_COUNTRIES
            .split(' ')
            .filter(|c| is_country(c))
            .map(|c| format!("{}national/{c}", topics::PREFIX)),
    );
    names
}

/// The whitelist: our topics only (a peer subscribing to anything else is ignored).
fn topic_whitelist() -> HashSet<gossipsub::TopicHash> {
    all_topic_names()
        .into_iter()
        .map(|n| IdentTopic::new(n).hash())
        .collect()
}

impl Behaviour {
    pub fn new(key: &identity::Keypair, cfg: &BehaviourConfig) -> anyhow::Result<Behaviour> {
        let gossip_cfg = gossipsub::ConfigBuilder::default()
            .protocol_id_prefix(GOSSIP_PROTOCOL)
            .validate_messages()
            .validation_mode(ValidationMode::Strict)
            .message_id_fn(|m: &gossipsub::Message| {
                MessageId::from(Sha256::digest(&m.data).to_vec())
            })
            .max_transmit_size(cfg.max_message_bytes)
            .heartbeat_interval(cfg.heartbeat)
            // Start pruning at once (the default waits 5 s): a peer scored down after
            // it joined a mesh leaves it at the next heartbeat.
            .heartbeat_initial_delay(cfg.heartbeat)
            // A federation of tens of nodes: small meshes, everyone reachable in a few hops.
            .mesh_n(4)
            .mesh_n_low(2)
            .mesh_n_high(8)
            .mesh_outbound_min(1)
            .gossip_lazy(4)
            .history_length(6)
            .history_gossip(3)
            .flood_publish(true)
            .build()
            .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
        let mut gossipsub = gossipsub::Behaviour::new_with_subscription_filter(
            MessageAuthenticity::Signed(key.clone()),
            gossip_cfg,
            gossipsub::WhitelistSubscriptionFilter(topic_whitelist()),
        )
        .map_err(|e| anyhow::anyhow!("gossipsub: {e}"))?;
        let (params, thresholds) = super::scoring::params();
        gossipsub
            .with_peer_score(params, thresholds)
            .map_err(|e| anyhow::anyhow!("gossipsub scoring: {e}"))?;
        let codec = request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(cfg.max_message_bytes as u64)
            .set_response_size_maximum(cfg.max_message_bytes as u64);
        let sync = request_response::Behaviour::with_codec(
            codec,
            [(
                StreamProtocol::new(SYNC_PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_response::Config::default()
                .with_request_timeout(cfg.sync_timeout)
                .with_max_concurrent_streams(16),
        );
        let query_codec = request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(cfg.max_message_bytes as u64)
            .set_response_size_maximum(cfg.max_message_bytes as u64);
        // The asker gives up at its own deadline; this only reclaims what is left.
        let query = request_response::Behaviour::with_codec(
            query_codec,
            [(
                StreamProtocol::new(QUERY_PROTOCOL),
                request_response::ProtocolSupport::Full,
            )],
            request_response::Config::default()
                .with_request_timeout(Duration::from_millis(MAX_DEADLINE_MS + 5_000))
                .with_max_concurrent_streams(32),
        );
        Ok(Behaviour {
            allow: allow_block_list::Behaviour::default(),
            block: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established_per_peer(Some(2))
                    .with_max_pending_incoming(Some(64))
                    .with_max_established(Some(512)),
            ),
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.into(),
                key.public(),
            )),
            ping: ping::Behaviour::new(ping::Config::new()),
            gossipsub,
            sync,
            query,
        })
    }
}
