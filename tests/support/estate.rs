//! A generated estate: a lab of `sites` sites, two Edge pools per site (four
//! servers each) and two Front End pools per site, and a document that moves
//! every route and every media association to another pool. Shared by the
//! `plan` benchmark and the golden-output tests.

use std::fmt::Write as _;

/// The `n`-th documentation address (RFC 5737: 192.0.2.0/24,
/// 198.51.100.0/24, 203.0.113.0/24), cycling through the three networks;
/// a large estate reuses them, which nothing here minds.
pub fn documentation_address(n: usize) -> String {
    let network = ["192.0.2", "198.51.100", "203.0.113"][n % 3];
    format!("{network}.{}", (n / 3) % 254 + 1)
}

/// Edge servers per Edge pool.
pub const SERVERS_PER_POOL: usize = 4;

/// The generated lab file's text.
pub fn lab_yaml(sites: usize) -> String {
    let edge_pools = 2 * sites;
    let front_end_pools = 2 * sites;
    let mut s = String::with_capacity(4 << 20);
    s.push_str("apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: 00000000\n  sites:\n");
    for i in 0..sites {
        let _ = writeln!(
            s,
            "    Site{i}: {{ federationRoute: edge0.contoso.com, xmppFederationRoute: edge0.contoso.com }}"
        );
    }
    s.push_str("  edgePools:\n");
    for p in 0..edge_pools {
        let _ = writeln!(
            s,
            "    edge{p}.contoso.com:\n      site: Site{}\n      sipFederation: {}\n      xmppFederation: true\n      nextHop: fe{p}.contoso.com\n      externalAddresses: [{}]\n      computers:",
            p % sites,
            p == 0,
            documentation_address(p)
        );
        for c in 0..SERVERS_PER_POOL {
            let _ = writeln!(
                s,
                "        edge{p}-{c}.contoso.com: {{ reachable: true, services: running }}"
            );
        }
    }
    s.push_str("  frontEndPools:\n");
    for f in 0..front_end_pools {
        let _ = writeln!(
            s,
            "    fe{f}.contoso.com:\n      site: Site{}\n      mediaEdgePool: edge{f}.contoso.com\n      backupPool: fe{}.contoso.com\n      failedOver: false",
            f % sites,
            (f + 1) % front_end_pools
        );
    }
    s.push_str("dns:\n  - { name: _xmpp-server._tcp.contoso.com, type: SRV, ttl: 300, priority: 0, weight: 100, port: 5269, target: xmpp.contoso.com }\n  - { name: xmpp.contoso.com, type: A, ttl: 300, addresses: [192.0.2.1] }\nfaults: []\nlog: []\n");
    s
}

/// The generated desired-state document's text.
pub fn desired_yaml(sites: usize) -> String {
    desired_yaml_on(sites, 1)
}

/// A desired-state document that routes every site through Edge pool
/// `edge{shift}` and gives each Front End pool `fe{f}` the media Edge pool
/// `edge{f + shift}`: shift 1 is the failover [`desired_yaml`] describes,
/// shift 0 the generated lab as it starts (the failback).
pub fn desired_yaml_on(sites: usize, shift: usize) -> String {
    let edge_pools = 2 * sites;
    let front_end_pools = 2 * sites;
    let mut s = String::from("apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n");
    for i in 0..sites {
        let _ = writeln!(
            s,
            "    Site{i}:\n      federationRoute: edge{shift}.contoso.com\n      xmppFederationRoute: edge{shift}.contoso.com"
        );
    }
    s.push_str("  frontEndPools:\n");
    for f in 0..front_end_pools {
        let _ = writeln!(
            s,
            "    fe{f}.contoso.com:\n      mediaEdgePool: edge{}.contoso.com",
            (f + shift) % edge_pools
        );
    }
    s.push_str("  dns:\n    - zone: contoso.com\n      xmpp: { host: xmpp.contoso.com }\n");
    s
}
