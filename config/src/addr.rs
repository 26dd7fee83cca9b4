//! Peer addresses in `node.toml` (`[network] listen`, `bootstrap`) and `trust.toml`
//! (`addresses`): libp2p multiaddrs over one of the two transports a node runs —
//! TCP (`/ip4/…/tcp/PORT`) or QUIC v1 (`/ip4/…/udp/PORT/quic-v1`) — optionally
//! ending in `/p2p/<peer id>`. Checked as text (this crate does not link libp2p),
//! so a typo is reported with its file and line instead of showing up as a listener
//! that never comes up or a peer that is never dialled.

use std::net::{Ipv4Addr, Ipv6Addr};

use techmesh_protocol::body::membership::is_peer_id;

/// The transport an address selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP + noise + yamux.
    Tcp,
    /// QUIC v1 (RFC 9000; TLS 1.3 and streams built in), over UDP.
    Quic,
}

/// Longest address accepted (the same bound as a membership list's addresses).
const MAX_CHARS: usize = 256;

/// Check `addr` and say which transport it uses. `listen`: an address to listen
/// on, which names no peer (`/p2p/…` is refused there).
pub fn check(addr: &str, listen: bool) -> Result<Transport, String> {
    const EXAMPLES: &str = "such as /ip4/0.0.0.0/tcp/7700 or /ip4/0.0.0.0/udp/7700/quic-v1";
    if addr.len() > MAX_CHARS {
        return Err(format!("is longer than {MAX_CHARS} characters"));
    }
    let Some(rest) = addr.strip_prefix('/') else {
        return Err(format!("{addr:?} is not a multiaddr {EXAMPLES}"));
    };
    let mut parts = rest.split('/');
    let mut next = |what: &str| {
        parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("{addr:?}: {what} is missing (an address {EXAMPLES})"))
    };
    match next("the IP protocol (ip4 or ip6)")? {
        "ip4" => {
            let ip = next("the IPv4 address")?;
            ip.parse::<Ipv4Addr>()
                .map_err(|_| format!("{addr:?}: {ip:?} is not an IPv4 address"))?;
        }
        "ip6" => {
            let ip = next("the IPv6 address")?;
            ip.parse::<Ipv6Addr>()
                .map_err(|_| format!("{addr:?}: {ip:?} is not an IPv6 address"))?;
        }
        p @ ("dns" | "dns4" | "dns6" | "dnsaddr") => {
            return Err(format!(
                "{addr:?}: /{p} names are not resolved by techmesh: give an /ip4 or /ip6 address"
            ))
        }
        p => return Err(format!("{addr:?}: /{p} is not /ip4 or /ip6")),
    }
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("{addr:?}: {p:?} is not a port (0..=65535)"))
    };
    let transport = match next("the transport (tcp or udp)")? {
        "tcp" => {
            port(next("the TCP port")?)?;
            Transport::Tcp
        }
        "udp" => {
            port(next("the UDP port")?)?;
            match next("/quic-v1 after the UDP port")? {
                "quic-v1" => Transport::Quic,
                "quic" => {
                    return Err(format!(
                        "{addr:?}: /quic is QUIC draft-29, which is not supported: write /quic-v1"
                    ))
                }
                p => {
                    return Err(format!(
                        "{addr:?}: /udp/PORT must be followed by /quic-v1, not /{p}"
                    ))
                }
            }
        }
        p => {
            return Err(format!(
                "{addr:?}: /{p} is not a transport techmesh runs (tcp, or udp/PORT/quic-v1)"
            ))
        }
    };
    match parts.next() {
        None => Ok(transport),
        Some("p2p") if listen => Err(format!(
            "{addr:?}: a listen address names no peer: drop the /p2p/… part"
        )),
        Some("p2p") => {
            let id = parts.next().unwrap_or("");
            if !is_peer_id(id) {
                return Err(format!("{addr:?}: {id:?} is not a libp2p peer id"));
            }
            match parts.next() {
                None => Ok(transport),
                Some(p) => Err(format!("{addr:?}: nothing may follow the peer id (found /{p})")),
            }
        }
        Some(p) => Err(format!(
            "{addr:?}: /{p} is not supported here (no websocket, webrtc or relay: only TCP and QUIC v1)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "12D3KooWGzBc7T4VuU8RhfF4bq4X4g3Zb1C7L6YjNKn8nHkP2oQd";

    #[test]
    fn tcp_and_quic_v1_are_accepted() {
        assert_eq!(check("/ip4/0.0.0.0/tcp/7700", true), Ok(Transport::Tcp));
        assert_eq!(
            check("/ip4/0.0.0.0/udp/7700/quic-v1", true),
            Ok(Transport::Quic)
        );
        assert_eq!(check("/ip6/::1/udp/0/quic-v1", true), Ok(Transport::Quic));
        assert_eq!(
            check(
                &format!("/ip4/192.0.2.1/udp/7700/quic-v1/p2p/{PEER}"),
                false
            ),
            Ok(Transport::Quic)
        );
    }

    #[test]
    fn everything_else_is_refused_with_the_reason() {
        let e = |a: &str, listen| check(a, listen).unwrap_err();
        assert!(e("/ip4/0.0.0.0/udp/7700/quic", true).contains("draft-29"));
        assert!(e("/ip4/0.0.0.0/udp/7700", true).contains("/quic-v1 after the UDP port"));
        assert!(e("/ip4/1.2.3/tcp/1", true).contains("not an IPv4 address"));
        assert!(e("/ip4/0.0.0.0/tcp/70000", true).contains("not a port"));
        assert!(e("/dns4/example.org/tcp/1", false).contains("not resolved"));
        assert!(e("/ip4/0.0.0.0/tcp/1/ws", true).contains("/ws is not supported"));
        assert!(e("/ip4/0.0.0.0/sctp/1", true).contains("/sctp is not a transport"));
        assert!(e(&format!("/ip4/0.0.0.0/tcp/1/p2p/{PEER}"), true).contains("names no peer"));
        assert!(e("/ip4/0.0.0.0/tcp/1/p2p/xyz", false).contains("not a libp2p peer id"));
        assert!(e("ip4/0.0.0.0/tcp/1", true).contains("not a multiaddr"));
    }

    #[test]
    fn trust_toml_addresses_are_checked_with_their_line() {
        const K1: &str = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
        let text = |addr: &str| {
            format!("[[member]]\nname = \"GD\"\ncountry = \"CN\"\npublisher_keys = [\"{K1}\"]\npeer_ids = [\"{PEER}\"]\naddresses = [\"/ip4/10.0.0.2/tcp/7700\", \"{addr}\"]\n")
        };
        let path = std::path::Path::new("trust.toml");
        let t = crate::trust::parse(path, &text("/ip4/10.0.0.2/udp/7700/quic-v1")).unwrap();
        assert_eq!(
            t.members[0].addresses,
            ["/ip4/10.0.0.2/tcp/7700", "/ip4/10.0.0.2/udp/7700/quic-v1"]
        );
        let e = crate::trust::parse(path, &text("/ip4/10.0.0.2/udp/7700/quic"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("trust.toml:6:40: member[0].addresses[1]: ") && e.contains("draft-29"),
            "{e}"
        );
    }
}
