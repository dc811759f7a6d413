//! Which system performs an operation, with what that system needs: the
//! Lync system takes the operation itself, the DNS system the record change,
//! the probe system the address and port. One exhaustive match, so an
//! operation can never reach a system that cannot perform it.

use std::net::{IpAddr, SocketAddr};

use crate::model::Fqdn;
use crate::plan::{DnsChange, Operation, System};

/// A DNS record change, with the operation it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsUpdate<'a> {
    operation: &'a Operation,
    change: DnsChange,
}

impl DnsUpdate<'_> {
    /// The operation (`set-dns-srv` or `set-dns-a`).
    #[must_use]
    pub fn operation(&self) -> &Operation {
        self.operation
    }

    /// The change: zone, the record set to hold afterwards, the one expected now.
    #[must_use]
    pub fn change(&self) -> &DnsChange {
        &self.change
    }
}

/// A federation port to probe, with the operation it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortCheck<'a> {
    operation: &'a Operation,
    pool: &'a Fqdn,
    address: IpAddr,
    port: u16,
    hosts: &'a [Fqdn],
}

impl PortCheck<'_> {
    /// The operation (`verify-port`).
    #[must_use]
    pub fn operation(&self) -> &Operation {
        self.operation
    }

    /// The Edge pool whose port it is.
    #[must_use]
    pub fn pool(&self) -> &Fqdn {
        self.pool
    }

    /// The external address and port.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// The federation hosts DNS points at this port: the certificate the
    /// port presents must cover each (empty: no host to check).
    #[must_use]
    pub fn hosts(&self) -> &[Fqdn] {
        self.hosts
    }

    /// The domain a probe names (the stream's `to`, the TLS server name):
    /// the pool's domain, `contoso.com` for `edgepool1.contoso.com`.
    #[must_use]
    pub fn domain(&self) -> &str {
        let pool = self.pool.as_str();
        pool.split_once('.').map_or(pool, |(_, d)| d)
    }
}

/// An operation routed to its system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed<'a> {
    /// Lync itself and its topology document ([`System::Lync`],
    /// [`System::TopologyEdit`]).
    Lync(&'a Operation),
    /// External DNS ([`System::Dns`]).
    Dns(DnsUpdate<'a>),
    /// A port probe ([`System::Probe`]).
    Probe(PortCheck<'a>),
}

impl Routed<'_> {
    /// The system the operation went to.
    #[must_use]
    pub fn system(&self) -> System {
        match self {
            Self::Lync(op) => op.system(),
            Self::Dns(_) => System::Dns,
            Self::Probe(_) => System::Probe,
        }
    }
}

/// Routes `op` to the system that performs it.
#[must_use]
pub fn route(op: &Operation) -> Routed<'_> {
    match op {
        Operation::StartServices { .. }
        | Operation::StopServices { .. }
        | Operation::SetEdgeNextHop { .. }
        | Operation::DisableSipFederation { .. }
        | Operation::EnableSipFederation { .. }
        | Operation::SetMediaEdgePool { .. }
        | Operation::EditEdgeNextHop { .. }
        | Operation::PublishTopology {}
        | Operation::WaitForReplication { .. }
        | Operation::RunSetup { .. }
        | Operation::SetSiteFederationRoute { .. }
        | Operation::SetSiteXmppRoute { .. }
        | Operation::InvokePoolFailover { .. }
        | Operation::InvokePoolFailback { .. }
        | Operation::InvokeCmsFailover { .. } => Routed::Lync(op),
        Operation::SetDnsSrv { .. } | Operation::SetDnsA { .. } => match op.dns_change() {
            Some(change) => Routed::Dns(DnsUpdate { operation: op, change }),
            None => Routed::Lync(op),
        },
        Operation::VerifyPort {
            pool,
            address,
            port,
            hosts,
        } => Routed::Probe(PortCheck {
            operation: op,
            pool,
            address: *address,
            port: *port,
            hosts,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DnsName;

    fn f(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("fqdn")
    }

    /// One operation of every kind.
    fn every_kind() -> Vec<Operation> {
        let pool = f("edgepool1.contoso.com");
        let fe = f("fepool1.contoso.com");
        let a = |s: &str| s.parse::<IpAddr>().expect("ip");
        vec![
            Operation::StartServices {
                pool: pool.clone(),
                computer: f("edgeserver1.contoso.com"),
            },
            Operation::StopServices {
                pool: pool.clone(),
                computer: f("edgeserver1.contoso.com"),
            },
            Operation::SetEdgeNextHop {
                edge_pool: pool.clone(),
                next_hop: fe.clone(),
            },
            Operation::EditEdgeNextHop {
                edge_pool: pool.clone(),
                next_hop: fe.clone(),
            },
            Operation::WaitForReplication {
                pool: pool.clone(),
                computer: f("edgeserver1.contoso.com"),
            },
            Operation::DisableSipFederation {
                edge_pool: pool.clone(),
            },
            Operation::EnableSipFederation {
                edge_pool: pool.clone(),
            },
            Operation::SetMediaEdgePool {
                front_end_pool: fe.clone(),
                edge_pool: pool.clone(),
            },
            Operation::PublishTopology {},
            Operation::RunSetup {
                pool: pool.clone(),
                computer: f("edgeserver1.contoso.com"),
            },
            Operation::SetSiteFederationRoute {
                site: "Site1".into(),
                edge_pool: Some(pool.clone()),
            },
            Operation::SetSiteXmppRoute {
                site: "Site1".into(),
                edge_pool: None,
            },
            Operation::SetDnsSrv {
                zone: f("contoso.com"),
                name: DnsName::xmpp_srv(&f("contoso.com")),
                target: f("xmpp.contoso.com"),
                port: 5269,
                priority: 0,
                weight: 100,
                others: Vec::new(),
                ttl: 300,
                observed: None,
            },
            Operation::SetDnsA {
                zone: f("contoso.com"),
                name: DnsName::host(&f("xmpp.contoso.com")),
                addresses: vec![a("192.0.2.20"), a("192.0.2.10"), a("192.0.2.20")],
                ttl: 300,
                observed: None,
            },
            Operation::VerifyPort {
                pool: pool.clone(),
                address: a("192.0.2.10"),
                port: 5269,
                hosts: vec![f("xmpp.contoso.com")],
            },
            Operation::InvokePoolFailover {
                front_end_pool: fe.clone(),
            },
            Operation::InvokePoolFailback { front_end_pool: fe },
            Operation::InvokeCmsFailover {
                from_pool: f("fepool1.contoso.com"),
                to_pool: f("fepool2.contoso.com"),
                sql_server: f("sql2.contoso.com"),
                sql_instance: Some("rtc".into()),
            },
        ]
    }

    #[test]
    fn every_operation_goes_to_the_system_of_its_kind() {
        let ops = every_kind();
        let kinds: std::collections::BTreeSet<&str> = ops.iter().map(|o| o.kind().name()).collect();
        assert_eq!(
            kinds.len(),
            crate::plan::OperationKind::ALL.len(),
            "one operation of each kind"
        );
        for op in &ops {
            let routed = route(op);
            assert_eq!(routed.system(), op.system(), "{op}");
            match routed {
                Routed::Lync(o) => assert_eq!(o, op),
                Routed::Dns(u) => {
                    assert_eq!(u.operation(), op);
                    assert_eq!(Some(u.change().clone()), op.dns_change(), "{op}");
                }
                Routed::Probe(c) => {
                    assert_eq!(c.operation(), op);
                    assert_eq!(c.addr().to_string(), "192.0.2.10:5269");
                    assert_eq!(c.domain(), "contoso.com");
                    assert_eq!(c.hosts(), [f("xmpp.contoso.com")]);
                }
            }
        }
    }
}
