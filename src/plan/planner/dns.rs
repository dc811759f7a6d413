//! Phase 7: the federation SRV records and the A records of their hosts.
//! The A record holds the external addresses of the pool the route names —
//! never another pool (the failback procedure's "point the A record at
//! EdgeServer2" is a copy error). XMPP records follow the XMPP route change;
//! SIP records follow setup and the federation route.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::Planner;
use super::builder::PlanNode;
use super::milestone::Milestone;
use crate::document::{DesiredRecords, Located, SrvTargets};
use crate::model::{DnsName, DnsRecord, Fqdn, RecordType, SrvTarget};
use crate::plan::{Operation, Phase};

/// A host whose A record follows the route.
struct DesiredHostA {
    host: Located<Fqdn>,
    ttl: u32,
}

/// Which federation a record set serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Federation {
    Xmpp,
    Sip,
}

impl Planner<'_> {
    /// Phase 7.
    pub(super) fn dns(&mut self) {
        let mut a_records: BTreeMap<DnsName, Vec<IpAddr>> = BTreeMap::new();
        for zone in &self.desired.dns {
            for (records, which) in [(&zone.xmpp, Federation::Xmpp), (&zone.sip, Federation::Sip)] {
                if let Some(records) = records {
                    self.zone_records(&zone.zone.value, records, which, &mut a_records);
                }
            }
        }
    }

    /// The records the SRV set must hold, or `None` (with a warning) when
    /// the deployment does not say where it should point.
    fn wanted_srv(
        &mut self,
        srv: &DnsName,
        port: u16,
        records: &DesiredRecords,
        pool: Option<&Fqdn>,
        seen: Option<&DnsRecord>,
    ) -> Option<Vec<SrvTarget>> {
        let one = |target: &Fqdn| {
            vec![SrvTarget {
                priority: 0,
                weight: 100,
                port,
                target: target.clone(),
            }]
        };
        if let SrvTargets::Host { host, .. } = &records.targets {
            return Some(one(&host.value));
        }
        let Some(pool) = pool else {
            self.b.warn(format!(
                "no single Edge pool carries this federation: the SRV record set {srv} is left as it is"
            ));
            return None;
        };
        let Some(access) = self
            .observed
            .edge_pools
            .get(pool)
            .and_then(|p| p.access_edge_fqdn.clone())
        else {
            self.b.warn(format!(
                "Edge pool {pool} has no Access Edge external FQDN in the topology: the SRV record set {srv} is left as it is"
            ));
            return None;
        };
        let SrvTargets::Hosts(hosts) = &records.targets else {
            return Some(one(&access));
        };
        if !hosts.iter().any(|h| h.value == access) {
            // P7 refuses this before planning; never guess an order.
            self.b.warn(format!(
                "{access}, the Access Edge FQDN of {pool}, is not among the XMPP hosts: the SRV record set {srv} is left as it is"
            ));
            return None;
        }
        let seen_targets: &[SrvTarget] = match seen {
            Some(DnsRecord::Srv { targets, .. }) => targets,
            _ => &[],
        };
        // Already routing to the right pool: the set is kept as the
        // administrator wrote it (priorities, weights), whatever its order
        // below the first record.
        let same_hosts = seen_targets.len() == hosts.len()
            && seen_targets
                .iter()
                .all(|t| t.port == port && hosts.iter().any(|h| h.value == t.target));
        if same_hosts
            && seen
                .and_then(DnsRecord::first_srv_target)
                .is_some_and(|t| t.target == access)
        {
            return Some(seen_targets.to_vec());
        }
        // Reorder: the routed pool's host first, the others in the document's
        // order, on the priorities the set already uses when it has one per
        // host, else 10, 20, 30, …
        let order: Vec<&Fqdn> = std::iter::once(&access)
            .chain(hosts.iter().map(|h| &h.value).filter(|h| **h != access))
            .collect();
        let mut priorities: Vec<u16> = seen_targets.iter().map(|t| t.priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        if priorities.len() != order.len() {
            priorities = (1..=order.len())
                .map(|i| u16::try_from(i * 10).unwrap_or(u16::MAX))
                .collect();
        }
        Some(
            order
                .into_iter()
                .zip(priorities)
                .map(|(target, priority)| SrvTarget {
                    priority,
                    weight: seen_targets
                        .iter()
                        .find(|t| t.target == *target)
                        .map_or(100, |t| t.weight),
                    port,
                    target: target.clone(),
                })
                .collect(),
        )
    }

    fn zone_records(
        &mut self,
        zone: &Fqdn,
        records: &DesiredRecords,
        which: Federation,
        a_records: &mut BTreeMap<DnsName, Vec<IpAddr>>,
    ) {
        let (srv, port) = match which {
            Federation::Xmpp => (DnsName::xmpp_srv(zone), 5269),
            Federation::Sip => (DnsName::sip_srv(zone), 5061),
        };
        let moved = records.moved_host().cloned();
        let pool = match which {
            Federation::Xmpp => self.targets.xmpp_pools().into_iter().next().cloned(),
            Federation::Sip => {
                let pools = self.targets.federation_pools();
                if pools.len() > 1
                    && let Some(host) = &moved
                {
                    let list: Vec<String> = pools.iter().map(ToString::to_string).collect();
                    self.b.warn(format!(
                        "several pools carry SIP federation ({}): the A record of {} is left as it is",
                        list.join(", "),
                        host.value
                    ));
                }
                self.single_federation_pool()
            }
        };
        // Inside the XMPP bracket the records change while the pool is
        // stopped: the bracket's end waits for them, not the other way round.
        let runs = pool
            .as_ref()
            .filter(|p| which == Federation::Sip || !self.bracketed(p))
            .cloned();
        let declare = |node: &mut PlanNode| {
            match which {
                Federation::Xmpp => {
                    node.provides(Milestone::XmppDnsSet).after(
                        Milestone::XmppRoutesSet,
                        "the XMPP records follow the sites' XMPP route change",
                    );
                }
                Federation::Sip => {
                    node.provides(Milestone::SipDnsSet)
                        .after(
                            Milestone::SetupDoneEverywhere,
                            "the SIP records follow setup on the pool that gained federation",
                        )
                        .after(
                            Milestone::FederationRoutesSet,
                            "the SIP records follow the sites' federation routes",
                        );
                }
            }
            if let Some(pool) = &runs {
                node.after(
                    Milestone::ServicesRunning(pool.clone()),
                    "the pool's services must run before DNS sends federation traffic to it",
                );
                if which == Federation::Sip {
                    node.after(
                        Milestone::BracketClosed(pool.clone()),
                        "the SIP records send federation traffic to the pool once the XMPP bracket has started it again",
                    );
                }
            }
        };

        let seen = self.observed.dns_record(&srv, RecordType::Srv);
        if let Some(targets) = self.wanted_srv(&srv, port, records, pool.as_ref(), seen)
            && let Some((first, others)) = targets.split_first()
        {
            let wanted = DnsRecord::srv(srv.clone(), records.ttl, targets.clone());
            if seen != Some(&wanted) {
                self.b.change(
                    crate::plan::pointer(&[&"dns", &srv, &"SRV"]),
                    record_json(seen),
                    record_json(Some(&wanted)),
                );
                let reason = match (which, &records.targets) {
                    (Federation::Xmpp, SrvTargets::Hosts(_)) => format!(
                        "XMPP failover step 5 / failback step 3: the SRV record set lists every Edge pool, the one the XMPP route names ({}) with the highest priority",
                        first.target
                    ),
                    (Federation::Xmpp, _) => "XMPP failover step 5 / failback step 3: the XMPP federation SRV record must exist and point at the XMPP host on port 5269".to_string(),
                    (Federation::Sip, SrvTargets::Host { .. }) => "SIP federation: the _sipfederationtls SRV record must point at the federation host on port 5061".to_string(),
                    (Federation::Sip, _) => format!(
                        "SIP federation: the _sipfederationtls SRV record points at {}, the Access Edge FQDN of the pool that carries federation (the name its certificate carries); no A record moves",
                        first.target
                    ),
                };
                let node = self.b.add(
                    Phase::Dns,
                    Operation::SetDnsSrv {
                        zone: zone.clone(),
                        name: srv.clone(),
                        target: first.target.clone(),
                        port: first.port,
                        priority: first.priority,
                        weight: first.weight,
                        others: others.to_vec(),
                        ttl: records.ttl,
                        observed: seen.cloned(),
                    },
                    reason,
                );
                declare(node);
            }
        }

        let Some(host) = moved else {
            return;
        };
        let host = DesiredHostA { host, ttl: records.ttl };
        let Some(pool) = pool else {
            if which == Federation::Xmpp {
                self.b.warn(format!(
                    "no site has an XMPP federation route: the A record of {} is left as it is",
                    host.host.value
                ));
            }
            return;
        };
        let addresses = self.external_addresses(&pool);
        if addresses.is_empty() {
            self.b.warn(format!(
                "Edge pool {pool} has no external address: the A record of {} is left as it is",
                host.host.value
            ));
            return;
        }
        let name = DnsName::host(&host.host.value);
        if let Some(previous) = a_records.get(&name) {
            if *previous != addresses {
                self.b.warn(format!(
                    "{name} is both the XMPP and the SIP host but the routes name different pools: its A record follows the first"
                ));
            }
            return;
        }
        a_records.insert(name.clone(), addresses.clone());
        let wanted = DnsRecord::A {
            name: name.clone(),
            ttl: host.ttl,
            addresses: addresses.clone(),
        };
        let seen = self.observed.dns_record(&name, RecordType::A);
        if seen == Some(&wanted) {
            return;
        }
        self.b.change(
            crate::plan::pointer(&[&"dns", &name, &"A"]),
            record_json(seen),
            record_json(Some(&wanted)),
        );
        let reason = match which {
            Federation::Xmpp => format!(
                "XMPP failover step 4 / failback step 3: the A record of the XMPP host holds the external addresses of {pool}, the pool the route names (the procedure's \"point it at EdgeServer2\" is a copy error)"
            ),
            Federation::Sip => {
                format!(
                    "SIP federation: the A record of the federation host holds the external addresses of {pool}, the pool the route names"
                )
            }
        };
        let zone = self.zone_of(&host.host.value);
        let node = self.b.add(
            Phase::Dns,
            Operation::SetDnsA {
                zone,
                name,
                addresses,
                ttl: host.ttl,
                observed: seen.cloned(),
            },
            reason,
        );
        declare(node);
    }

    /// The declared zone a host's A record is updated in: the longest that contains it.
    fn zone_of(&self, host: &Fqdn) -> Fqdn {
        self.desired
            .dns
            .iter()
            .map(|z| &z.zone.value)
            .filter(|z| host.is_in_zone(z))
            .max_by_key(|z| z.as_str().len())
            .map_or_else(|| host.clone(), Clone::clone)
    }
}

fn record_json(r: Option<&DnsRecord>) -> Value {
    let one = |t: &SrvTarget| json!({ "target": t.target.as_str(), "port": t.port, "priority": t.priority, "weight": t.weight });
    match r {
        None => Value::Null,
        Some(DnsRecord::Srv { ttl, targets, .. }) => match targets.as_slice() {
            [t] => {
                json!({ "target": t.target.as_str(), "port": t.port, "priority": t.priority, "weight": t.weight, "ttl": ttl })
            }
            _ => json!({ "records": targets.iter().map(one).collect::<Vec<_>>(), "ttl": ttl }),
        },
        Some(DnsRecord::A { ttl, addresses, .. }) => json!({ "addresses": addresses, "ttl": ttl }),
    }
}
