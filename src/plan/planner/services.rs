//! Phases 1 and 8: Edge services. A pool that must carry a route or media
//! is started first (failback step 1) — unless it is the new XMPP pool and
//! already running, in which case it is stopped before the route changes and
//! started again after DNS (the XMPP bracket: XMPP failover steps 2 to 7).
//! The bracket opens only once the run's publish, setup on the pool and the
//! sites' federation routes are done (they need the pool running), and it
//! closes after the route change has replicated to the pool's servers.

use std::collections::BTreeSet;

use serde_json::json;

use super::Planner;
use super::milestone::Milestone;
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
        for pool in self.must_run() {
            let Some(p) = self.observed.edge_pools.get(&pool) else {
                continue;
            };
            for (name, _) in p.computers.iter().filter(|(_, c)| !c.reachable) {
                self.b.warn(format!(
                    "{name} (Edge pool {pool}) is unreachable: no action is planned on it"
                ));
            }
            let reachable = p.computers.iter().filter(|(_, c)| c.reachable);
            if self.bracketed(&pool) {
                for (name, _) in reachable.filter(|(_, c)| c.services == ServiceState::Running) {
                    self.b
                        .add(
                            Phase::Services,
                            Operation::StopServices { pool: pool.clone(), computer: name.clone() },
                            "XMPP failover step 2: stop the Edge services on the pool that will host XMPP federation before its route changes",
                        )
                        .provides(Milestone::BracketOpened(pool.clone()))
                        .after(
                            Milestone::TopologyPublished,
                            "the XMPP bracket opens after the publish: the route change it brackets must follow the publish",
                        )
                        .after(
                            Milestone::SetupDone(pool.clone()),
                            "setup runs on the pool's servers while their services run, before the XMPP bracket stops them",
                        )
                        .after(
                            Milestone::FederationRoutesSet,
                            "the sites' federation routes are set while the pool runs, before the XMPP bracket stops it",
                        );
                }
                continue;
            }
            let stopped: Vec<&Fqdn> = reachable
                .filter(|(_, c)| c.services == ServiceState::Stopped)
                .map(|(n, _)| n)
                .collect();
            if !stopped.is_empty() {
                self.b.change(
                    crate::plan::pointer(&[&"edgePools", &pool, &"services"]),
                    json!("stopped"),
                    json!("running"),
                );
            }
            for name in stopped {
                self.b
                    .add(
                        Phase::Services,
                        Operation::StartServices {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        "Failback step 1: start the Edge services on the pool that must carry federation or media",
                    )
                    .provides(Milestone::ServicesRunning(pool.clone()));
            }
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
                self.b.change(
                    crate::plan::pointer(&[&"edgePools", &pool, &"services"]),
                    json!("running"),
                    json!("stopped"),
                );
            }
            for name in running {
                self.b.add(
                    Phase::Services,
                    Operation::StopServices {
                        pool: pool.clone(),
                        computer: name.clone(),
                    },
                    "the document sets `services: stopped`",
                );
            }
        }
    }

    /// Phase 8: close the XMPP bracket — wait until the route change has
    /// replicated to each server of the pool (what the stop and start are
    /// for), then start the pool again once the route change, the
    /// replication waits and the XMPP DNS changes have ended, whatever their
    /// outcome, so a stopped pool is never left stopped. What needs the
    /// pool serving again (its port checks, the SIP records) waits on
    /// [`Milestone::BracketClosed`], which these starts provide.
    pub(super) fn end_xmpp_bracket(&mut self) {
        let pools: Vec<Fqdn> = self
            .xmpp_moves
            .iter()
            .filter_map(|(_, r)| r.clone())
            .filter(|p| self.bracketed(p))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for pool in pools {
            let Some(p) = self.observed.edge_pools.get(&pool) else {
                continue;
            };
            for (name, _) in p.computers.iter().filter(|(_, c)| c.reachable) {
                self.b
                    .add(
                        Phase::XmppBracketEnd,
                        Operation::WaitForReplication {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        "XMPP failover: the Edge server reads the new XMPP route when its services start, so the change must have reached it first",
                    )
                    .provides(Milestone::RouteReplicated(pool.clone()))
                    .after(
                        Milestone::XmppRouteSet(Some(pool.clone())),
                        "the XMPP route change must be made before it can replicate",
                    );
                self.b
                    .add(
                        Phase::XmppBracketEnd,
                        Operation::StartServices {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        "XMPP failover step 7: start the Edge services again once the route and DNS point at the pool",
                    )
                    .provides(Milestone::BracketClosed(pool.clone()))
                    .after_end_of(
                        Milestone::RouteReplicated(pool.clone()),
                        "the XMPP bracket closes once the route change has replicated to the pool's servers (or the wait has ended)",
                    )
                    .after_end_of(
                        Milestone::XmppRouteSet(Some(pool.clone())),
                        "the XMPP bracket closes after the route change, so the stopped pool is started again even if the change failed",
                    )
                    .after_end_of(
                        Milestone::XmppDnsSet,
                        "the XMPP bracket closes after the XMPP DNS changes, so the stopped pool is started again even if one failed",
                    );
            }
        }
    }
}
