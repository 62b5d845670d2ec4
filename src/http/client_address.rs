//! Who is calling: the TCP peer, or — when the peer is a trusted proxy — the
//! right-most hop of its `X-Forwarded-For` or `Forwarded` (RFC 7239) header
//! that is not itself a trusted proxy.
//!
//! Only hops appended by trusted proxies can be believed: anything to the
//! left of the first untrusted hop was written by that (untrusted) client,
//! so a spoofed header from a client that connects directly is ignored.
//!
//! A proxy usually maintains one of the two headers and passes the other on
//! as the client wrote it, so when both name a client they must agree, or the
//! client is unknown: a client can then only lock itself out, never pick its
//! address. `X-Real-IP` names one hop without a chain to check, so it never
//! decides who the client is; it only tells that a proxy is relaying. A
//! trusted proxy that relays without naming the client (only `X-Real-IP`, or
//! `Forwarded` without `for=`) leaves the client unknown: it is not the proxy.

use crate::config::Networks;
use std::net::{IpAddr, SocketAddr};

/// The forwarding headers of one request, as received.
#[derive(Debug, Clone, Default)]
pub struct Forwarding<'h> {
    /// The `X-Forwarded-For` header lines, in the order received.
    pub x_forwarded_for: Vec<&'h str>,
    /// The `Forwarded` (RFC 7239) header lines, in the order received.
    pub forwarded: Vec<&'h str>,
    /// Whether an `X-Real-IP` header came.
    pub x_real_ip: bool,
}

impl Forwarding<'_> {
    /// Whether any forwarding header came, whoever sent it: the request then
    /// says it is relayed for someone, and its peer is not the only party.
    pub fn is_present(&self) -> bool {
        !self.x_forwarded_for.is_empty() || !self.forwarded.is_empty() || self.x_real_ip
    }
}

/// What an admin must set up when [`client_address`] cannot tell the client,
/// for refusals to say.
pub const HOW_TO_NAME_THE_CLIENT: &str = "a proxy in `access.trusted_proxies` must name the \
     client in X-Forwarded-For or Forwarded (`for=`) with an IP address (X-Real-IP is not \
     read), and when it sends both they must agree";

/// The client of a request that arrived from `peer` with `forwarding`,
/// believing the headers only from `trusted_proxies`. `None` when the client
/// is unknown: a hop that would decide it cannot be read as an address,
/// `X-Forwarded-For` and `Forwarded` name different clients, or a trusted
/// proxy relays without naming anyone.
pub fn client_address(
    peer: IpAddr,
    forwarding: &Forwarding<'_>,
    trusted_proxies: &Networks,
) -> Option<IpAddr> {
    if !trusted_proxies.contains(peer) {
        return Some(peer.to_canonical());
    }
    let by_forwarded_for =
        right_most_untrusted(peer, &x_forwarded_for_hops(forwarding), trusted_proxies);
    let by_forwarded = right_most_untrusted(peer, &forwarded_hops(forwarding), trusted_proxies);
    match (by_forwarded_for, by_forwarded) {
        (Said::Nothing, Said::Nothing) if !forwarding.is_present() => Some(peer.to_canonical()),
        (Said::Client(client), Said::Nothing) | (Said::Nothing, Said::Client(client)) => {
            Some(client)
        }
        (Said::Client(one), Said::Client(other)) if one == other => Some(one),
        _ => None,
    }
}

/// What one forwarding header says about the client.
enum Said {
    /// The header names no hop.
    Nothing,
    /// The client, as the header's trusted hops tell it.
    Client(IpAddr),
    /// The deciding hop cannot be read as an address.
    Unreadable,
}

/// Walks `hops` (each `None` if unreadable) from the right while they are
/// trusted proxies; the first other hop is the client.
fn right_most_untrusted(peer: IpAddr, hops: &[Option<IpAddr>], trusted_proxies: &Networks) -> Said {
    if hops.is_empty() {
        return Said::Nothing;
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(hop) = *hop else {
            return Said::Unreadable;
        };
        client = hop;
        if !trusted_proxies.contains(client) {
            break;
        }
    }
    Said::Client(client.to_canonical())
}

fn x_forwarded_for_hops(forwarding: &Forwarding<'_>) -> Vec<Option<IpAddr>> {
    forwarding
        .x_forwarded_for
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .map(parse_hop)
        .collect()
}

/// The `for=` of each `Forwarded` element; an element without one names no
/// hop (it may only carry `proto` or `host`), and `for=unknown`, an
/// obfuscated `for=_name` or an element that does not parse are unreadable.
fn forwarded_hops(forwarding: &Forwarding<'_>) -> Vec<Option<IpAddr>> {
    forwarding
        .forwarded
        .iter()
        .flat_map(|value| rfc7239::parse(value))
        .filter_map(|element| match element {
            Ok(element) => element.forwarded_for.map(|node| node.ip().copied()),
            Err(_) => Some(None),
        })
        .collect()
}

/// A hop is an address, sometimes written with a port (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(entries: &[&str]) -> Networks {
        Networks::parse(entries).unwrap()
    }

    fn xff<'h>(lines: &[&'h str]) -> Forwarding<'h> {
        Forwarding {
            x_forwarded_for: lines.to_vec(),
            ..Default::default()
        }
    }

    fn forwarded<'h>(lines: &[&'h str]) -> Forwarding<'h> {
        Forwarding {
            forwarded: lines.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn without_a_header_the_peer_is_the_client() {
        let client = client_address(ip("203.0.113.9"), &xff(&[]), &proxies(&["10.0.0.0/8"]));
        assert_eq!(client, Some(ip("203.0.113.9")));
        let from_proxy = client_address(ip("10.0.0.2"), &xff(&[]), &proxies(&["10.0.0.0/8"]));
        assert_eq!(from_proxy, Some(ip("10.0.0.2")));
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let client = client_address(ip("203.0.113.9"), &xff(&["10.1.1.1, 192.0.2.1"]), &trusted);
        assert_eq!(client, Some(ip("203.0.113.9")));
        let client = client_address(ip("203.0.113.9"), &forwarded(&["for=10.1.1.1"]), &trusted);
        assert_eq!(client, Some(ip("203.0.113.9")));
        let nobody_trusted = client_address(ip("127.0.0.1"), &xff(&["10.1.1.1"]), &proxies(&[]));
        assert_eq!(nobody_trusted, Some(ip("127.0.0.1")));
    }

    #[test]
    fn a_trusted_peer_is_believed_for_the_hop_it_appended() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let client = client_address(ip("10.0.0.2"), &xff(&["198.51.100.7"]), &trusted);
        assert_eq!(client, Some(ip("198.51.100.7")));
        let client = client_address(
            ip("10.0.0.2"),
            &forwarded(&["for=198.51.100.7;proto=https;by=10.0.0.2"]),
            &trusted,
        );
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_not_what_the_client_wrote() {
        // The client wrote "1.1.1.1" itself; the trusted proxies appended the rest.
        let trusted = proxies(&["10.0.0.0/8"]);
        let client = client_address(
            ip("10.0.0.2"),
            &xff(&["1.1.1.1, 198.51.100.7", "10.0.0.3"]),
            &trusted,
        );
        assert_eq!(client, Some(ip("198.51.100.7")));
        let client = client_address(
            ip("10.0.0.2"),
            &forwarded(&["for=1.1.1.1, for=198.51.100.7", "for=10.0.0.3"]),
            &trusted,
        );
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let client = client_address(
            ip("10.0.0.2"),
            &xff(&["10.0.0.9, 10.0.0.3"]),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(client, Some(ip("10.0.0.9")));
    }

    #[test]
    fn hops_with_ports_and_ipv6_are_read() {
        let trusted = proxies(&["10.0.0.0/8", "fd00::/8"]);
        let v4 = client_address(ip("fd00::1"), &xff(&["198.51.100.7:4711"]), &trusted);
        assert_eq!(v4, Some(ip("198.51.100.7")));
        let v6 = client_address(ip("10.0.0.2"), &xff(&["[2001:db8::5]:443"]), &trusted);
        assert_eq!(v6, Some(ip("2001:db8::5")));
        let quoted = client_address(
            ip("10.0.0.2"),
            &forwarded(&["For=\"[2001:db8::5]:443\";proto=https"]),
            &trusted,
        );
        assert_eq!(quoted, Some(ip("2001:db8::5")));
    }

    #[test]
    fn an_unreadable_deciding_hop_leaves_the_client_unknown() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let client = client_address(ip("10.0.0.2"), &xff(&["unknown"]), &trusted);
        assert_eq!(client, None);
        for hidden in ["for=unknown", "for=_gazonk", "for=not-an-address", "for"] {
            let client = client_address(ip("10.0.0.2"), &forwarded(&[hidden]), &trusted);
            assert_eq!(client, None, "{hidden}");
        }
    }

    #[test]
    fn a_forwarded_element_without_for_names_no_hop() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let only_proto = client_address(ip("10.0.0.2"), &forwarded(&["proto=https"]), &trusted);
        assert_eq!(
            only_proto, None,
            "relayed for someone unnamed: not the proxy"
        );
        let beside_xff = Forwarding {
            x_forwarded_for: vec!["198.51.100.7"],
            forwarded: vec!["proto=https;host=bridge.example.com"],
            x_real_ip: false,
        };
        let client = client_address(ip("10.0.0.2"), &beside_xff, &trusted);
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn both_headers_must_agree_when_both_name_a_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let agreeing = Forwarding {
            x_forwarded_for: vec!["198.51.100.7"],
            forwarded: vec!["for=198.51.100.7"],
            x_real_ip: false,
        };
        assert_eq!(
            client_address(ip("10.0.0.2"), &agreeing, &trusted),
            Some(ip("198.51.100.7"))
        );
        // The proxy appended to one header; the client wrote the other to pick its address.
        let spoofed = Forwarding {
            x_forwarded_for: vec!["198.51.100.7"],
            forwarded: vec!["for=10.9.9.9, for=192.0.2.44"],
            x_real_ip: false,
        };
        assert_eq!(client_address(ip("10.0.0.2"), &spoofed, &trusted), None);
    }

    #[test]
    fn x_real_ip_never_names_the_client_but_counts_as_forwarding() {
        let relayed = Forwarding {
            x_real_ip: true,
            ..Default::default()
        };
        let client = client_address(ip("10.0.0.2"), &relayed, &proxies(&["10.0.0.0/8"]));
        assert_eq!(client, None, "relayed for someone unnamed: not the proxy");
        let from_untrusted = client_address(ip("10.0.0.2"), &relayed, &proxies(&[]));
        assert_eq!(from_untrusted, Some(ip("10.0.0.2")));
        assert!(relayed.is_present());
        assert!(xff(&["198.51.100.7"]).is_present());
        assert!(forwarded(&["for=198.51.100.7"]).is_present());
        assert!(!Forwarding::default().is_present());
    }
}
