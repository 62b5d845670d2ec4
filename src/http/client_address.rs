//! Who is calling: the TCP peer, or — when the peer is a trusted proxy — the
//! right-most `X-Forwarded-For` hop that is not itself a trusted proxy.
//!
//! Only hops appended by trusted proxies can be believed: anything to the
//! left of the first untrusted hop was written by that (untrusted) client,
//! so a spoofed header from a client that connects directly is ignored.

use crate::config::Networks;
use std::net::{IpAddr, SocketAddr};

/// The client of a request that arrived from `peer` with the
/// `X-Forwarded-For` header values `forwarded_for` (in the order received),
/// believing the header only from `trusted_proxies`. `None` when a hop that
/// would decide it cannot be read as an address (the client is then unknown).
pub fn client_address<'h>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'h str>,
    trusted_proxies: &Networks,
) -> Option<IpAddr> {
    if !trusted_proxies.contains(peer) {
        return Some(peer.to_canonical());
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        client = parse_hop(hop)?;
        if !trusted_proxies.contains(client) {
            break;
        }
    }
    Some(client.to_canonical())
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

    #[test]
    fn without_a_header_the_peer_is_the_client() {
        let client = client_address(ip("203.0.113.9"), [], &proxies(&["10.0.0.0/8"]));
        assert_eq!(client, Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_spoofed_header_from_an_untrusted_peer_is_ignored() {
        let client = client_address(
            ip("203.0.113.9"),
            ["10.1.1.1, 192.0.2.1"],
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(client, Some(ip("203.0.113.9")));
        let nobody_trusted = client_address(ip("127.0.0.1"), ["10.1.1.1"], &proxies(&[]));
        assert_eq!(nobody_trusted, Some(ip("127.0.0.1")));
    }

    #[test]
    fn a_trusted_peer_is_believed_for_the_hop_it_appended() {
        let client = client_address(ip("10.0.0.2"), ["198.51.100.7"], &proxies(&["10.0.0.0/8"]));
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client_not_what_the_client_wrote() {
        // The client wrote "1.1.1.1" itself; the trusted proxies appended the rest.
        let client = client_address(
            ip("10.0.0.2"),
            ["1.1.1.1, 198.51.100.7", "10.0.0.3"],
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(client, Some(ip("198.51.100.7")));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let client = client_address(
            ip("10.0.0.2"),
            ["10.0.0.9, 10.0.0.3"],
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(client, Some(ip("10.0.0.9")));
    }

    #[test]
    fn hops_with_ports_and_ipv6_are_read() {
        let trusted = proxies(&["10.0.0.0/8", "fd00::/8"]);
        let v4 = client_address(ip("fd00::1"), ["198.51.100.7:4711"], &trusted);
        assert_eq!(v4, Some(ip("198.51.100.7")));
        let v6 = client_address(ip("10.0.0.2"), ["[2001:db8::5]:443"], &trusted);
        assert_eq!(v6, Some(ip("2001:db8::5")));
    }

    #[test]
    fn an_unreadable_deciding_hop_leaves_the_client_unknown() {
        let client = client_address(ip("10.0.0.2"), ["unknown"], &proxies(&["10.0.0.0/8"]));
        assert_eq!(client, None);
    }
}
