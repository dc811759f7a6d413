//! Which addresses of an Edge pool go into public DNS: the public address of
//! each server's Access Edge external interface, and nothing else.
//!
//! An Edge server has one external interface (its three services on one
//! address, told apart by port) or three (Access Edge, web conferencing,
//! A/V). The Access Edge external ports (`Owner="urn:component:AccessEdge"
//! InterfaceSide="External"`) name the interface by its `InterfaceNumber`;
//! that interface's `ConfiguredIPAddress` (the public address Topology
//! Builder records for an Edge behind NAT) or else its `IPAddress` is the
//! server's address. The web conferencing and A/V interfaces, and the
//! internal one, never are.
//!
//! An address that is not public — private (RFC 1918), shared (100.64.0.0/10),
//! loopback, link-local, IPv6 unique-local, or unspecified (`0.0.0.0`) — means
//! the Edge is behind NAT or a load balancer and the topology does not hold its
//! public address. Then none of the pool's addresses is published (a partial
//! set would send federation traffic to some servers only): the pool's public
//! addresses are unknown, and the desired-state document must give them.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use super::TopologyError;
use super::index::{ClusterEntry, Located, PortKind, ServiceEntry};

/// What the topology says about a pool's public addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolAddresses {
    /// The public Access Edge addresses, sorted; empty when `unknown`.
    pub public: Vec<IpAddr>,
    /// Some server's Access Edge external address is not public, or cannot
    /// be told.
    pub unknown: bool,
    /// The non-public Access Edge addresses found (unspecified left out), sorted.
    pub private: Vec<IpAddr>,
}

/// Whether `address` can be reached from the Internet as far as its range
/// says: not private, shared, loopback, link-local, unique-local or
/// unspecified. (Documentation ranges count as public.)
#[must_use]
pub(crate) fn is_public(address: IpAddr) -> bool {
    match address.to_canonical() {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_private() || is_shared(v4) || v4.is_loopback() || v4.is_link_local())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified() || v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local())
        }
    }
}

/// 100.64.0.0/10, the carrier-grade NAT range (RFC 6598).
fn is_shared(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    a == 100 && (b & 0xC0) == 64
}

fn parse(text: &str, at: &Located, invalid: &dyn Fn(usize, String) -> TopologyError) -> Result<IpAddr, TopologyError> {
    let raw = at.value(text);
    raw.parse()
        .map_err(|_| invalid(at.pos(), format!("`{raw}` is not an IP address")))
}

/// The public Access Edge addresses of the servers of `cluster`, which
/// `service` (its EdgeServer) runs on.
///
/// # Errors
/// `invalid(position, detail)` for an address that does not parse.
pub(crate) fn access_edge(
    service: &ServiceEntry,
    cluster: &ClusterEntry,
    text: &str,
    invalid: &dyn Fn(usize, String) -> TopologyError,
) -> Result<PoolAddresses, TopologyError> {
    let numbers: BTreeSet<&str> = service
        .ports
        .iter()
        .filter(|p| matches!(p.kind, PortKind::Federation | PortKind::AccessEdgeExternal))
        .filter_map(|p| p.interface_number.as_deref())
        .collect();
    let mut out = PoolAddresses::default();
    if cluster.machines.is_empty() {
        return Ok(out);
    }
    // No Access Edge external port, or ports naming two interfaces: which
    // interface is the Access Edge's cannot be told.
    let number = match numbers.len() {
        1 => numbers.first().copied(),
        _ => None,
    };
    for machine in &cluster.machines {
        let interfaces: Vec<_> = machine
            .external
            .iter()
            .filter(|i| Some(i.number.as_str()) == number)
            .collect();
        let [interface] = interfaces.as_slice() else {
            out.unknown = true;
            continue;
        };
        let configured = match interface.configured.as_ref().filter(|c| !c.value(text).is_empty()) {
            Some(c) => Some(parse(text, c, invalid)?).filter(|a| !a.is_unspecified()),
            None => None,
        };
        let address = match configured {
            Some(a) => a,
            None => parse(text, &interface.ip, invalid)?,
        };
        if is_public(address) {
            out.public.push(address);
        } else {
            out.unknown = true;
            if !address.to_canonical().is_unspecified() {
                out.private.push(address);
            }
        }
    }
    if out.unknown {
        out.public.clear();
    }
    out.public.sort();
    out.public.dedup();
    out.private.sort();
    out.private.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_means_outside_the_non_routable_ranges() {
        for (a, public) in [
            ("10.0.0.1", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("172.32.0.1", true),
            ("192.168.0.1", false),
            ("100.64.0.0", false),
            ("100.127.255.255", false),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("127.0.0.1", false),
            ("169.254.0.1", false),
            ("0.0.0.0", false),
            ("192.0.2.1", true),
            ("203.0.113.9", true),
            ("::", false),
            ("::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("::ffff:192.168.1.1", false),
            ("::ffff:198.51.100.1", true),
            ("2001:db8::1", true),
        ] {
            assert_eq!(is_public(a.parse().unwrap()), public, "{a}");
        }
    }
}
