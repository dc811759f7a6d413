//! Phases 6 and 9: site routes (`Set-CsSite`), and the port checks on the
//! pool a route moved to.

use std::collections::BTreeSet;

use super::milestone::Milestone;
use super::{Planner, route_json};
use crate::model::Fqdn;
use crate::plan::{Operation, Phase};

/// Why an action that sends federation to a pool waits for it to run.
pub(super) const POOL_RUNS: &str = "the pool's services must run before anything routes to it";

impl Planner<'_> {
    /// Phase 6: `set-site-federation-route` after the pool's flag is
    /// published; `set-site-xmpp-route` after the pool's start (or, in the
    /// XMPP bracket, after its stop).
    pub(super) fn site_routes(&mut self) {
        for (site, route) in self.fed_moves.clone() {
            let old = self.observed.sites[&site].federation_route.as_ref();
            self.b.change(
                crate::plan::pointer(&[&"sites", &site, &"federationRoute"]),
                route_json(old),
                route_json(route.as_ref()),
            );
            let gains = route.as_ref().is_some_and(|pool| self.gains_federation(pool));
            let node = self
                .b
                .add(
                    Phase::SiteRoutes,
                    Operation::SetSiteFederationRoute { site, edge_pool: route.clone() },
                    "Site federation route: point the site's SIP federation route at the pool that carries federation (Set-CsSite -FederationRoute; the failover and failback procedures assume one site)",
                )
                .provides(Milestone::FederationRoutesSet);
            if let Some(pool) = route {
                if gains {
                    node.after_required(
                        Milestone::TopologyPublished,
                        "Lync refuses a federation route to a pool whose published federation flag is off",
                    );
                }
                node.after(Milestone::ServicesRunning(pool), POOL_RUNS);
            }
        }
        for (site, route) in self.xmpp_moves.clone() {
            let old = self.observed.sites[&site].xmpp_federation_route.as_ref();
            self.b.change(
                crate::plan::pointer(&[&"sites", &site, &"xmppFederationRoute"]),
                route_json(old),
                route_json(route.as_ref()),
            );
            let bracketed = route.as_ref().is_some_and(|pool| self.bracketed(pool));
            let node = self
                .b
                .add(
                    Phase::SiteRoutes,
                    Operation::SetSiteXmppRoute { site, edge_pool: route.clone() },
                    "XMPP failover step 3 / failback step 3: point the site's XMPP federation route at the pool (Set-CsSite -XmppFederationRoute; the procedures' -XmppExternalFederationRoute does not exist)",
                )
                .provides(Milestone::XmppRouteSet(route.clone()))
                .provides(Milestone::XmppRoutesSet);
            if let Some(pool) = route {
                if bracketed {
                    node.after_required(
                        Milestone::BracketOpened(pool),
                        "the pool's services are stopped before its XMPP route changes (the XMPP bracket)",
                    );
                } else {
                    node.after(Milestone::ServicesRunning(pool), POOL_RUNS);
                }
            }
        }
    }

    /// Whether the plan fails a Front End pool back.
    fn fails_back(&self) -> bool {
        self.desired
            .front_end_pools
            .keys()
            .any(|fe| self.front_end_step_of(fe) == super::front_end::FrontEndStep::FailBack)
    }

    /// The hosts DNS points federation on `port` of `pool` at: for each
    /// zone's `sip` (5061) or `xmpp` (5269) record set, its fixed host, or
    /// else the pool's Access Edge external FQDN (what `AccessEdge` and a
    /// `hosts` set point at for the pool that carries the federation); sorted.
    /// The certificate on the port must cover each.
    fn federation_hosts(&self, port: u16, pool: &Fqdn) -> Vec<Fqdn> {
        let access_edge = self
            .observed
            .edge_pools
            .get(pool)
            .and_then(|p| p.access_edge_fqdn.clone());
        let hosts: BTreeSet<Fqdn> = self
            .desired
            .dns
            .iter()
            .filter_map(|z| if port == 5269 { z.xmpp.as_ref() } else { z.sip.as_ref() })
            .filter_map(|records| match &records.targets {
                crate::document::SrvTargets::Host { host, .. } => Some(host.value.clone()),
                crate::document::SrvTargets::AccessEdge | crate::document::SrvTargets::Hosts(_) => access_edge.clone(),
            })
            .collect();
        hosts.into_iter().collect()
    }

    /// Phase 9: probe 5061 / 5269 on each external address of a pool a route
    /// moved to, after everything that serves that port.
    ///
    /// Also when the route stays but what serves its port changes (its DNS
    /// records, its services, setup), or a Front End pool is failed back
    /// (failback step 5 comes after step 3's check): a rerun after a manual
    /// DNS step or a failed check verifies before it goes on. "What serves
    /// the port changes" is a trigger: the probe is planned only if some
    /// other node provides one of those milestones.
    pub(super) fn verify_ports(&mut self) {
        if !self.desired.verify_ports {
            return;
        }
        // (pool, port) → `None`: always probed; `Some(triggers)`: probed if one is planned.
        let mut probes: std::collections::BTreeMap<(Fqdn, u16), Option<Vec<Milestone>>> =
            std::collections::BTreeMap::new();
        let moved: BTreeSet<(Fqdn, u16)> = self
            .fed_moves
            .iter()
            .filter_map(|(_, r)| r.clone())
            .map(|p| (p, 5061))
            .chain(self.xmpp_moves.iter().filter_map(|(_, r)| r.clone()).map(|p| (p, 5269)))
            .collect();
        let failback = self.fails_back();
        let up = |pool: &Fqdn| {
            self.observed
                .edge_pools
                .get(pool)
                .is_some_and(|p| p.computers.values().any(|c| c.reachable))
        };
        let xmpp_pools = self.targets.xmpp_pools();
        let serves_xmpp = |pool: &Fqdn| self.observed.edge_pools.get(pool).is_some_and(|p| p.xmpp_federation);
        if let Some(pool) = xmpp_pools.first().filter(|_| xmpp_pools.len() == 1).copied()
            && up(pool)
            && serves_xmpp(pool)
        {
            let triggers = (!failback).then(|| {
                vec![
                    Milestone::XmppDnsSet,
                    Milestone::ServicesRunning(pool.clone()),
                    Milestone::BracketOpened(pool.clone()),
                ]
            });
            probes.insert((pool.clone(), 5269), triggers);
        }
        if let Some(pool) = self.single_federation_pool().filter(|p| up(p)) {
            let triggers = (!failback).then(|| {
                vec![
                    Milestone::SipDnsSet,
                    Milestone::SetupDone(pool.clone()),
                    Milestone::ServicesRunning(pool.clone()),
                    Milestone::BracketClosed(pool.clone()),
                ]
            });
            probes.insert((pool, 5061), triggers);
        }
        for probe in moved {
            probes.insert(probe, None);
        }
        for ((pool, port), triggers) in probes {
            if !self.observed.edge_pools.contains_key(&pool) {
                continue;
            }
            let hosts = self.federation_hosts(port, &pool);
            for address in self.external_addresses(&pool) {
                let node = self.b.add(
                    Phase::PortChecks,
                    Operation::VerifyPort {
                        pool: pool.clone(),
                        address,
                        port,
                        hosts: hosts.clone(),
                    },
                    if port == 5269 {
                        "XMPP failover step 6 / failback step 3: verify that the pool now hosting XMPP federation has port 5269 open"
                    } else {
                        "SIP failover / failback: verify that the pool now carrying federation answers on port 5061 (the procedures do not check it)"
                    },
                );
                node.after(
                    Milestone::ServicesRunning(pool.clone()),
                    "the probe needs the pool's services running",
                )
                .after(
                    Milestone::BracketClosed(pool.clone()),
                    "the probe needs the pool's services started again after the XMPP bracket",
                );
                if port == 5269 {
                    node.after(
                        Milestone::XmppRouteSet(Some(pool.clone())),
                        "port 5269 is checked once the XMPP route points at the pool",
                    )
                    .after(
                        Milestone::XmppDnsSet,
                        "port 5269 is checked once the XMPP DNS records point at the pool",
                    );
                } else {
                    node.after(
                        Milestone::TopologyPublished,
                        "port 5061 answers only once the pool's federation flag is published",
                    )
                    .after(
                        Milestone::SetupDone(pool.clone()),
                        "port 5061 answers only once setup has run on the pool's servers",
                    )
                    .after(
                        Milestone::FederationRoutesSet,
                        "port 5061 is checked once the sites' federation routes are set",
                    )
                    .after(
                        Milestone::SipDnsSet,
                        "port 5061 is checked once the SIP DNS records point at the pool",
                    );
                }
                if let Some(triggers) = &triggers {
                    node.only_if_any(triggers.clone());
                }
            }
        }
    }
}
