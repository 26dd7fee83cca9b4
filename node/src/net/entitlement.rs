//! Who may receive which gossip topic, and how that is enforced.
//!
//! A member may be subscribed to a topic only if its trust-list entry entitles it
//! (`topics::entitled`: its country and `receive_scopes`; observers to nothing).
//! gossipsub has no per-peer subscription filter, so a peer that subscribes to a
//! topic it may not receive (a same-country member whose `receive_scopes` exclude
//! `national`, or a hostile one) is handled in three layers:
//!
//! 1. **At connect** ([`denied_at_connect`]): a peer the trust list already shows
//!    would subscribe to one of our topics it is not entitled to (an observer; a
//!    same-country member not entitled to our national topic) gets no gossip at
//!    all ([`deny`]) before its subscriptions arrive. gossipsub never puts a peer
//!    with a negative score into a mesh, and publishing skips it.
//! 2. **On every subscription** ([`offenders`]): anyone else subscribed to a topic
//!    it may not receive is denied the same way (it may already be in the mesh:
//!    gossipsub adds a subscriber before we hear of it, and prunes a negative
//!    score only at the next heartbeat).
//! 3. **Before every send** ([`unentitled_in_mesh`], [`unentitled_recipient`]):
//!    forwarding goes to the topic's mesh without looking at scores, so a message
//!    whose topic's mesh still holds a peer not entitled to it is not forwarded
//!    (validated as `Ignore`: stored here, no blame on the sender, delivered to
//!    the others by their own gossip and by sync, which filters per record); our
//!    own publish (flooded to subscribers above the publish threshold) is skipped
//!    likewise if such a peer is not yet scored below it.
//!
//! Sync and the federated query filter by scope per peer on their own.

use libp2p::gossipsub::TopicHash;
use libp2p::PeerId;

use techmesh_protocol::trust::{topics, LocalNode, ScopeName, TrustList};

use super::behaviour::Gossipsub;
use super::scoring::PUBLISH_THRESHOLD;

/// Score given to a peer that may receive no gossip from us: far below every
/// threshold (the application score is weighted ×10).
const DENIED_SCORE: f64 = -1.0e6;

/// May the peer `peer` receive what is published on `topic`? Unknown peers and
/// observers may not.
pub fn entitled(trust: &TrustList, peer: &PeerId, topic: &str) -> bool {
    trust
        .member_by_peer(&peer.to_string())
        .is_some_and(|m| !m.roles.observer && topics::entitled(m, topic))
}

/// Peers subscribed (as far as gossipsub knows) to a topic they may not receive,
/// with the topic; only `topic` if given.
pub fn offenders(g: &Gossipsub, trust: &TrustList, topic: Option<&str>) -> Vec<(PeerId, String)> {
    let mut out = Vec::new();
    for (peer, subscribed) in g.all_peers() {
        for t in subscribed {
            // Identity topics: the hash is the name.
            let name = t.as_str();
            if !topics::is_known(name) || topic.is_some_and(|want| want != name) {
                continue;
            }
            if !entitled(trust, peer, name) {
                out.push((*peer, name.to_string()));
            }
        }
    }
    out
}

/// No gossip to or from `peer`. A blacklist only refuses what the peer sends;
/// publishing skips peers below the publish threshold, and a peer with a negative
/// score is never added to a mesh (on its subscription, its GRAFT or a heartbeat)
/// and is pruned from one at the next heartbeat.
pub fn deny(g: &mut Gossipsub, peer: &PeerId) {
    g.blacklist_peer(peer);
    if !g.set_application_score(peer, DENIED_SCORE) {
        tracing::debug!(%peer, "not yet known to gossip scoring: score not set");
    }
}

/// A peer that must get no gossip from the moment it connects: an observer, or a
/// member that (as an honest node of its country does) will subscribe to one of
/// our topics without being entitled to it — a same-country member whose
/// `receive_scopes` exclude `national`, say. It still syncs, filtered per record.
pub fn denied_at_connect(trust: &TrustList, local: &LocalNode, peer: &PeerId) -> bool {
    let Some(m) = trust.member_by_peer(&peer.to_string()) else {
        return false;
    };
    if m.roles.observer {
        return true;
    }
    let ours = topics::subscriptions(&local.country, &ScopeName::all());
    topics::subscriptions(&m.country, &ScopeName::all())
        .iter()
        .any(|t| ours.contains(t) && !topics::entitled(m, t))
}

/// A peer in `topic`'s mesh that may not receive it: forwarding a message on
/// `topic` now would reach it.
pub fn unentitled_in_mesh(g: &Gossipsub, trust: &TrustList, topic: &TopicHash) -> Option<PeerId> {
    g.mesh_peers(topic)
        .find(|p| !entitled(trust, p, topic.as_str()))
        .copied()
}

/// A peer that publishing on `topic` now could reach without being entitled to
/// it. Publishing floods (`flood_publish`, behaviour.rs): it goes to every peer
/// subscribed to the topic whose score is not below the publish threshold, mesh
/// or not.
pub fn unentitled_recipient(g: &Gossipsub, trust: &TrustList, topic: &TopicHash) -> Option<PeerId> {
    g.all_peers()
        .filter(|(_, ts)| ts.contains(&topic))
        .map(|(p, _)| *p)
        .find(|p| {
            !entitled(trust, p, topic.as_str())
                && g.peer_score(p).is_none_or(|s| s >= PUBLISH_THRESHOLD)
        })
}
