//! Phases 6 and 9: site routes (`Set-CsSite`), and the port checks on the
//! pool a route moved to.

use std::collections::BTreeSet;

use super::{Planner, route_json};
use crate::model::Fqdn;
use crate::plan::{Operation, Phase};

impl Planner<'_> {
    /// Phase 6: `set-site-federation-route` after the pool's flag is
    /// published; `set-site-xmpp-route` after the pool's start (or, in the
    /// XMPP bracket, after its stop).
    pub(super) fn site_routes(&mut self) {
        for (site, route) in self.fed_moves.clone() {
            let old = self.observed.sites[&site].federation_route.as_ref();
            self.b.change(
                format!("sites.{site}.federationRoute"),
                route_json(old),
                route_json(route.as_ref()),
            );
            let mut after = Vec::new();
            if let Some(pool) = &route {
                if self.enabled_pools.contains(pool) {
                    after.extend(self.publish);
                }
                after.extend(self.ready_of(pool));
            }
            let id = self.b.add(
                Phase::SiteRoutes,
                Operation::SetSiteFederationRoute { site, edge_pool: route },
                after,
                "Failback step 2 / SIP failover: point the site's federation route at the pool (Set-CsSite -FederationRoute)",
            );
            self.fed_routes.push(id);
        }
        for (site, route) in self.xmpp_moves.clone() {
            let old = self.observed.sites[&site].xmpp_federation_route.as_ref();
            self.b.change(
                format!("sites.{site}.xmppFederationRoute"),
                route_json(old),
                route_json(route.as_ref()),
            );
            let after = route.as_ref().map_or_else(Vec::new, |pool| {
                self.bracket_stops
                    .get(pool)
                    .cloned()
                    .unwrap_or_else(|| self.ready_of(pool))
            });
            let id = self.b.add(
                Phase::SiteRoutes,
                Operation::SetSiteXmppRoute { site, edge_pool: route.clone() },
                after,
                "Failback step 3 / XMPP failover: point the site's XMPP federation route at the pool (Set-CsSite -XmppFederationRoute; the procedures' -XmppExternalFederationRoute does not exist)",
            );
            self.xmpp_routes.entry(route).or_default().push(id);
        }
    }

    /// Whether the plan fails a Front End pool back.
    fn fails_back(&self) -> bool {
        self.desired.front_end_pools.iter().any(|(fe, p)| {
            p.failed_over.as_ref().is_some_and(|f| !f.value)
                && self.observed.front_end_pools.get(fe).is_some_and(|o| o.failed_over)
        })
    }

    /// Phase 9: probe 5061 / 5269 on each external address of a pool a route
    /// moved to, after everything that serves that port.
    pub(super) fn verify_ports(&mut self) {
        if !self.desired.verify_ports {
            return;
        }
        let mut probes: BTreeSet<(Fqdn, u16)> = BTreeSet::new();
        probes.extend(self.fed_moves.iter().filter_map(|(_, r)| r.clone()).map(|p| (p, 5061)));
        probes.extend(self.xmpp_moves.iter().filter_map(|(_, r)| r.clone()).map(|p| (p, 5269)));
        // Also when the route stays but what serves its port changes (its DNS
        // records, its services, setup), or a Front End pool is failed back
        // (failback step 5 comes after step 3's check): a rerun after a
        // manual DNS step or a failed check verifies before it goes on.
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
            && (failback || !self.xmpp_dns.is_empty() || !self.ready_of(pool).is_empty() || self.bracketed(pool))
        {
            probes.insert((pool.clone(), 5269));
        }
        if let Some(pool) = self.single_federation_pool().filter(|p| up(p))
            && (failback
                || !self.sip_dns.is_empty()
                || self.setups.contains_key(&pool)
                || !self.ready_of(&pool).is_empty())
        {
            probes.insert((pool, 5061));
        }
        for (pool, port) in probes {
            if !self.observed.edge_pools.contains_key(&pool) {
                continue;
            }
            let mut after = self.ready_of(&pool);
            if port == 5269 {
                after.extend(self.xmpp_routes.get(&Some(pool.clone())).cloned().unwrap_or_default());
                after.extend(&self.xmpp_dns);
            } else {
                after.extend(self.publish);
                after.extend(self.setups.get(&pool).cloned().unwrap_or_default());
                after.extend(&self.fed_routes);
                after.extend(&self.sip_dns);
            }
            for address in self.external_addresses(&pool) {
                self.b.add(
                    Phase::PortChecks,
                    Operation::VerifyPort {
                        pool: pool.clone(),
                        address,
                        port,
                    },
                    after.clone(),
                    if port == 5269 {
                        "Failback step 3: verify that the pool now hosting XMPP federation has port 5269 open"
                    } else {
                        "SIP failover: verify that the pool now carrying federation answers on port 5061"
                    },
                );
            }
        }
    }
}
