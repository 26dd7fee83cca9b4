//! Gossipsub peer scoring: a peer that delivers invalid messages (rejected by our
//! validation) loses score quickly and is graylisted; honest peers stay near zero.

use libp2p::gossipsub::{IdentTopic, PeerScoreParams, PeerScoreThresholds, TopicScoreParams};

/// Below this score gossipsub ignores everything a peer sends; we then disconnect
/// and block it too (its invalid messages would no longer reach our strike count).
pub const GRAYLIST_THRESHOLD: f64 = -1000.0;

/// Below this score we publish nothing to a peer.
pub const PUBLISH_THRESHOLD: f64 = -500.0;

pub fn params() -> (PeerScoreParams, PeerScoreThresholds) {
    let mut p = PeerScoreParams::default();
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        // Invalid deliveries: each counts squared, weighted heavily, decays slowly.
        invalid_message_deliveries_weight: -100.0,
        invalid_message_deliveries_decay: 0.9,
        // Do not punish quiet peers: a federation publishes rarely.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_cap: 100.0,
        ..TopicScoreParams::default()
    };
    for name in super::behaviour::all_topic_names() {
        p.topics.insert(IdentTopic::new(name).hash(), topic.clone());
    }
    // Allow many peers behind one IP (loopback tests, NAT'd exchanges).
    p.ip_colocation_factor_weight = 0.0;
    p.behaviour_penalty_weight = -10.0;
    let t = PeerScoreThresholds {
        gossip_threshold: -100.0,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (p, t)
}
