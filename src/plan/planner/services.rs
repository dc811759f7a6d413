//! Phases 1 and 8: Edge services. A pool that must carry a route or media
//! is started first (failback step 1) — unless it is the new XMPP pool and
//! already running, in which case it is stopped before the route changes and
//! started again after DNS (the XMPP bracket).

use std::collections::BTreeSet;

use serde_json::json;

use super::Planner;
use crate::model::{Fqdn, ServiceState};
use crate::plan::{Operation, Phase};

impl Planner<'_> {
    /// The pools that must run when the plan is done.
    fn must_run(&self) -> BTreeSet<Fqdn> {
        let mut pools: BTreeSet<Fqdn> = self.targets.federation_pools().into_iter().cloned().collect();
        pools.extend(self.targets.xmpp_pools().into_iter().cloned());
        for p in self.desired.front_end_pools.values() {
            if let Some(m) = &p.media_edge_pool {
                pools.insert(m.value.clone());
            }
        }
        for (pool, p) in &self.desired.edge_pools {
            if p.services.as_ref().is_some_and(|s| s.value == ServiceState::Running) {
                pools.insert(pool.clone());
            }
        }
        pools
    }

    /// Phase 1: start what must run, open the XMPP bracket, stop what the
    /// document stops.
    pub(super) fn services(&mut self) {
        let xmpp_targets: BTreeSet<Fqdn> = self.xmpp_moves.iter().filter_map(|(_, r)| r.clone()).collect();
        for pool in self.must_run() {
            let Some(p) = self.observed.edge_pools.get(&pool) else {
                continue;
            };
            for (name, _) in p.computers.iter().filter(|(_, c)| !c.reachable) {
                self.b.warn(format!(
                    "{name} (Edge pool {pool}) is unreachable: no action is planned on it"
                ));
            }
            let reachable: Vec<(&Fqdn, ServiceState)> = p
                .computers
                .iter()
                .filter(|(_, c)| c.reachable)
                .map(|(n, c)| (n, c.services))
                .collect();
            let any_running = reachable.iter().any(|(_, s)| *s == ServiceState::Running);
            if xmpp_targets.contains(&pool) && any_running {
                let stops = reachable
                    .iter()
                    .filter(|(_, s)| *s == ServiceState::Running)
                    .map(|(name, _)| {
                        self.b.add(
                            Phase::Services,
                            Operation::StopServices { pool: pool.clone(), computer: (*name).clone() },
                            vec![],
                            "XMPP failover step 1: stop the Edge services on the pool that will host XMPP federation before its route changes",
                        )
                    })
                    .collect();
                self.bracket_stops.insert(pool.clone(), stops);
                continue;
            }
            let stopped: Vec<&Fqdn> = reachable
                .iter()
                .filter(|(_, s)| *s == ServiceState::Stopped)
                .map(|(n, _)| *n)
                .collect();
            if !stopped.is_empty() {
                self.b
                    .change(format!("edgePools.{pool}.services"), json!("stopped"), json!("running"));
            }
            let starts = stopped
                .into_iter()
                .map(|name| {
                    self.b.add(
                        Phase::Services,
                        Operation::StartServices {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        vec![],
                        "Failback step 1: start the Edge services on the pool that must carry federation or media",
                    )
                })
                .collect();
            self.ready.insert(pool, starts);
        }
        for (pool, p) in &self.desired.edge_pools {
            if p.services.as_ref().is_none_or(|s| s.value != ServiceState::Stopped) {
                continue;
            }
            let Some(op) = self.observed.edge_pools.get(pool) else {
                continue;
            };
            let running: Vec<&Fqdn> = op
                .computers
                .iter()
                .filter(|(_, c)| c.reachable && c.services == ServiceState::Running)
                .map(|(n, _)| n)
                .collect();
            if !running.is_empty() {
                self.b
                    .change(format!("edgePools.{pool}.services"), json!("running"), json!("stopped"));
            }
            for name in running {
                self.b.add(
                    Phase::Services,
                    Operation::StopServices {
                        pool: pool.clone(),
                        computer: name.clone(),
                    },
                    vec![],
                    "the document sets `services: stopped`",
                );
            }
        }
    }

    /// Phase 8: close the XMPP bracket — start the pool again once its route
    /// and the XMPP DNS records point at it — and make everything else that
    /// routes to the pool follow that start.
    pub(super) fn end_xmpp_bracket(&mut self) {
        let pools: Vec<Fqdn> = self.bracket_stops.keys().cloned().collect();
        for pool in &pools {
            let Some(p) = self.observed.edge_pools.get(pool) else {
                continue;
            };
            let mut after = self.xmpp_routes.get(&Some(pool.clone())).cloned().unwrap_or_default();
            after.extend(&self.xmpp_dns);
            let starts = p
                .computers
                .iter()
                .filter(|(_, c)| c.reachable)
                .map(|(name, _)| {
                    self.b.add(
                        Phase::XmppBracketEnd,
                        Operation::StartServices {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        after.clone(),
                        "XMPP failover: start the Edge services again once the route and DNS point at the pool",
                    )
                })
                .collect();
            self.ready.insert(pool.clone(), starts);
        }
        let federation_pool = self.single_federation_pool();
        for node in &mut self.b.nodes {
            let pool = match &node.operation {
                Operation::EnableSipFederation { edge_pool } | Operation::SetMediaEdgePool { edge_pool, .. } => {
                    Some(edge_pool)
                }
                Operation::SetSiteFederationRoute { edge_pool: Some(p), .. } => Some(p),
                Operation::RunSetup { pool, .. } => Some(pool),
                _ => None,
            };
            if let Some(starts) = pool
                .filter(|p| self.bracket_stops.contains_key(*p))
                .and_then(|p| self.ready.get(p))
            {
                node.after.extend(starts);
            }
        }
        if let Some(pool) = federation_pool.filter(|p| self.bracket_stops.contains_key(p)) {
            let starts = self.ready_of(&pool);
            for id in &self.sip_dns {
                self.b.nodes[*id].after.extend(&starts);
            }
        }
    }
}
