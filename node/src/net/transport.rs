//! The Swarm and its transports: TCP + noise + yamux (the default) and QUIC v1
//! (TLS 1.3 and stream multiplexing built in). Both are always built; which ones a
//! node uses is decided by its addresses: it listens on the `/tcp/…` and
//! `/udp/…/quic-v1` addresses of `[network] listen` and dials whatever address
//! `trust.toml` gives for a peer. Everything above the transport — the trust-list
//! gate, the connection limits, the idle timeout, the message-size bounds, redial
//! with backoff — is the same Swarm and the same behaviour on either.

use std::time::Duration;

use libp2p::{identity, noise, tcp, yamux, Swarm};

use super::behaviour::{Behaviour, BehaviourConfig};

/// QUIC streams opened at once per connection (gossipsub, sync, query, identify,
/// ping: a few each). Matches the request-response stream bounds with room to spare.
const QUIC_MAX_STREAMS: u32 = 256;

/// Build the Swarm for `key` with both transports and `idle` as the idle
/// connection timeout.
pub fn build_swarm(
    key: identity::Keypair,
    bcfg: &BehaviourConfig,
    idle: Duration,
) -> anyhow::Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic_config(|mut c| {
            c.max_concurrent_stream_limit = QUIC_MAX_STREAMS;
            c
        })
        .with_behaviour(|k| {
            Behaviour::new(k, bcfg)
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}
