//! Phases 1 and 8: Edge services. A pool that must carry a route or media
//! is started first (failback step 1) — unless it is the new XMPP pool and
//! already running, in which case it is stopped before the route changes and
//! started again after DNS (the XMPP bracket).

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
                            "XMPP failover step 1: stop the Edge services on the pool that will host XMPP federation before its route changes",
                        )
                        .provides(Milestone::BracketOpened(pool.clone()));
                }
                continue;
            }
            let stopped: Vec<&Fqdn> = reachable
                .filter(|(_, c)| c.services == ServiceState::Stopped)
                .map(|(n, _)| n)
                .collect();
            if !stopped.is_empty() {
                self.b
                    .change(format!("edgePools.{pool}.services"), json!("stopped"), json!("running"));
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
                    "the document sets `services: stopped`",
                );
            }
        }
    }

    /// Phase 8: close the XMPP bracket — start the pool again once its route
    /// change and the XMPP DNS changes have ended, whatever their outcome, so
    /// a stopped pool is never left stopped. Everything else that needs the
    /// pool running waits on [`Milestone::ServicesRunning`], which these
    /// starts provide.
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
                        Operation::StartServices {
                            pool: pool.clone(),
                            computer: name.clone(),
                        },
                        "XMPP failover: start the Edge services again once the route and DNS point at the pool",
                    )
                    .provides(Milestone::ServicesRunning(pool.clone()))
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
