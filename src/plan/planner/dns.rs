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
use crate::document::DesiredHost;
use crate::model::{DnsName, DnsRecord, Fqdn, RecordType};
use crate::plan::{Operation, Phase};

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
            for (host, which) in [(&zone.xmpp, Federation::Xmpp), (&zone.sip, Federation::Sip)] {
                if let Some(host) = host {
                    self.zone_records(&zone.zone.value, host, which, &mut a_records);
                }
            }
        }
    }

    fn zone_records(
        &mut self,
        zone: &Fqdn,
        host: &DesiredHost,
        which: Federation,
        a_records: &mut BTreeMap<DnsName, Vec<IpAddr>>,
    ) {
        let (srv, port) = match which {
            Federation::Xmpp => (DnsName::xmpp_srv(zone), 5269),
            Federation::Sip => (DnsName::sip_srv(zone), 5061),
        };
        let pool = match which {
            Federation::Xmpp => self.targets.xmpp_pools().into_iter().next().cloned(),
            Federation::Sip => {
                let pools = self.targets.federation_pools();
                if pools.len() > 1 {
                    let list: Vec<String> = pools.iter().map(ToString::to_string).collect();
                    self.b.warn(format!(
                        "several pools carry SIP federation ({}): the A record of {} is left as it is",
                        list.join(", "),
                        host.host.value
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

        let wanted = DnsRecord::Srv {
            name: srv.clone(),
            ttl: host.ttl,
            priority: 0,
            weight: 100,
            port,
            target: host.host.value.clone(),
        };
        let seen = self.observed.dns_record(&srv, RecordType::Srv);
        if seen != Some(&wanted) {
            self.b
                .change(format!("dns.{srv}.SRV"), record_json(seen), record_json(Some(&wanted)));
            let node = self.b.add(
                Phase::Dns,
                Operation::SetDnsSrv {
                    zone: zone.clone(),
                    name: srv.clone(),
                    target: host.host.value.clone(),
                    port,
                    priority: 0,
                    weight: 100,
                    ttl: host.ttl,
                    observed: seen.cloned(),
                },
                match which {
                    Federation::Xmpp => "XMPP failover step 5 / failback step 3: the XMPP federation SRV record must exist and point at the XMPP host on port 5269",
                    Federation::Sip => "SIP federation: the _sipfederationtls SRV record must point at the federation host on port 5061",
                },
            );
            declare(node);
        }

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
        self.b
            .change(format!("dns.{name}.A"), record_json(seen), record_json(Some(&wanted)));
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
    match r {
        None => Value::Null,
        Some(DnsRecord::Srv {
            ttl,
            priority,
            weight,
            port,
            target,
            ..
        }) => {
            json!({ "target": target.as_str(), "port": port, "priority": priority, "weight": weight, "ttl": ttl })
        }
        Some(DnsRecord::A { ttl, addresses, .. }) => json!({ "addresses": addresses, "ttl": ttl }),
    }
}
