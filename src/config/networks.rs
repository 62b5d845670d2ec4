//! Lists of client networks (the `[access]` allow-lists): parsed once when
//! the settings load, so a bad entry is a configuration error naming its key.

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use std::net::IpAddr;

/// IPv4 and IPv6 networks in CIDR notation; a bare address counts as a
/// single-host network (`/32` or `/128`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses every entry, or says which one is not a network.
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, String> {
        entries
            .into_iter()
            .map(|entry| parse_one(entry.as_ref()))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether the list has no entry (an allow-list without entries allows everyone).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `address` lies in one of the networks. An IPv4-mapped IPv6
    /// address (`::ffff:10.0.0.1`, what a dual-stack socket reports) is
    /// matched as the IPv4 address it carries.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|network| network.contains(&address))
    }
}

fn parse_one(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("`{entry}` is neither a network in CIDR notation (e.g. `10.0.0.0/8`, `2001:db8::/32`) nor an IP address")
        })
}

impl<'de> Deserialize<'de> for Networks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(deserializer)?;
        Self::parse(entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv4_network_holds_its_addresses_and_no_others() {
        let networks = Networks::parse(["10.0.0.0/8", "192.168.1.0/24"]).unwrap();
        assert!(networks.contains(ip("10.1.2.3")));
        assert!(networks.contains(ip("192.168.1.255")));
        assert!(!networks.contains(ip("192.168.2.1")));
        assert!(!networks.contains(ip("11.0.0.1")));
    }

    #[test]
    fn an_ipv6_network_holds_its_addresses_and_no_ipv4_ones() {
        let networks = Networks::parse(["2001:db8::/32"]).unwrap();
        assert!(networks.contains(ip("2001:db8:1::42")));
        assert!(!networks.contains(ip("2001:db9::1")));
        assert!(!networks.contains(ip("10.0.0.1")));
    }

    #[test]
    fn a_bare_address_is_a_single_host() {
        let networks = Networks::parse(["127.0.0.1", "::1"]).unwrap();
        assert!(networks.contains(ip("127.0.0.1")));
        assert!(!networks.contains(ip("127.0.0.2")));
        assert!(networks.contains(ip("::1")));
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_matches_its_ipv4_network() {
        let networks = Networks::parse(["10.0.0.0/8"]).unwrap();
        assert!(networks.contains(ip("::ffff:10.0.0.7")));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let error = Networks::parse(["10.0.0.0/8", "10.0.0/8"]).unwrap_err();
        assert!(error.contains("`10.0.0/8`"), "{error}");
        assert!(Networks::parse(["10.0.0.0/33"]).is_err());
    }
}
