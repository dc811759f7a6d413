//! The planner: a pure function of (desired, observed) to a [`Plan`].
//!
//! [`Targets`] resolves what the deployment must look like once done (the
//! routes of every site, listed or not; the derived SIP federation flags;
//! next hops). `checks` applies P1–P8 against the observation. Then a
//! [`Planner`] adds one node per difference, phase by phase — the Central
//! Management Server failover, services, next
//! hops, topology edits and publish, setup, site routes, DNS, the end of the
//! XMPP bracket, port checks, Front End pools — each phase in its own file.
//! A node declares, as it is added, the milestones it provides and the ones
//! it waits on with a reason; nothing a phase adds is changed later, and the
//! phases may run in any order. Last, [`Builder::finish`] resolves the
//! milestones to edges and orders the DAG for printing.

mod builder;
mod central_management;
mod dns;
mod front_end;
mod milestone;
mod routes;
mod services;
#[cfg(test)]
mod tests;
mod topology;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::error::PlanError;
use super::targets::Targets;
use super::{Plan, checks};
use crate::diagnostic::Diagnostics;
use crate::document::Desired;
use crate::model::{Deployment, Fqdn, ServiceState};
use builder::Builder;

/// Plans the minimal ordered actions that take `observed` to `desired`.
///
/// Pure: no I/O, and the same inputs give the same plan byte for byte.
///
/// # Errors
/// [`PlanError::Rules`] with a diagnostic for every plan-time rule (P1–P8,
/// V3, V5) the document breaks against this deployment;
/// [`PlanError::Bug`] when the planner itself went wrong (a dependency
/// cycle, a milestone that must exist but does not).
pub fn plan(desired: &Desired, observed: &Deployment) -> Result<Plan, PlanError> {
    let targets = Targets::resolve(desired, observed);
    let problems = checks::check(desired, observed, &targets);
    if !problems.is_empty() {
        return Err(PlanError::Rules(Diagnostics {
            file: desired.source.file.clone(),
            text: desired.source.text.clone(),
            diagnostics: problems,
        }));
    }
    let mut p = Planner::new(desired, observed, &targets);
    for phase in PHASES {
        phase(&mut p);
    }
    Ok(p.b.finish()?)
}

/// A phase of the planner: adds its nodes to the builder.
type PhaseFn = fn(&mut Planner<'_>);

/// The phases, in the order of the procedures (any order gives the same plan).
const PHASES: [PhaseFn; 11] = [
    |p| p.central_management(),
    |p| p.services(),
    |p| p.next_hops(),
    |p| p.topology_edits(),
    |p| p.publish(),
    |p| p.setup(),
    |p| p.site_routes(),
    |p| p.dns(),
    |p| p.end_xmpp_bracket(),
    |p| p.verify_ports(),
    |p| p.front_end_pools(),
];

/// The planner's working state: the inputs, what they resolve to, and the
/// nodes so far.
struct Planner<'a> {
    desired: &'a Desired,
    observed: &'a Deployment,
    targets: &'a Targets,
    b: Builder,
    /// Sites whose SIP federation route moves, and where to.
    fed_moves: Vec<(String, Option<Fqdn>)>,
    /// Sites whose XMPP federation route moves, and where to.
    xmpp_moves: Vec<(String, Option<Fqdn>)>,
    /// The pools some XMPP route moves to (looked up per pool: a set, not a
    /// scan of `xmpp_moves`, which would make the plan quadratic in sites).
    xmpp_targets: BTreeSet<Fqdn>,
    /// The pools that carry SIP federation once done.
    federation_pools: BTreeSet<Fqdn>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a Desired, observed: &'a Deployment, targets: &'a Targets) -> Self {
        let mut planner = Self {
            desired,
            observed,
            targets,
            b: Builder::default(),
            fed_moves: targets.federation_moves(observed),
            xmpp_moves: targets.xmpp_moves(observed),
            xmpp_targets: BTreeSet::new(),
            federation_pools: targets.federation_pools().into_iter().cloned().collect(),
        };
        planner.xmpp_targets = planner.xmpp_moves.iter().filter_map(|(_, r)| r.clone()).collect();
        planner
    }

    /// Whether `pool` is in the XMPP bracket: an XMPP route moves to it while
    /// some of its reachable servers run, so it is stopped before the route
    /// changes and started again after DNS.
    fn bracketed(&self, pool: &Fqdn) -> bool {
        self.xmpp_targets.contains(pool)
            && self.observed.edge_pools.get(pool).is_some_and(|p| {
                p.computers
                    .values()
                    .any(|c| c.reachable && c.services == ServiceState::Running)
            })
    }

    /// Whether the plan turns the SIP federation flag on for `pool`.
    fn gains_federation(&self, pool: &Fqdn) -> bool {
        self.observed.edge_pools.get(pool).is_some_and(|p| !p.sip_federation) && self.federation_pools.contains(pool)
    }

    /// The one pool carrying SIP federation, if exactly one does.
    fn single_federation_pool(&self) -> Option<Fqdn> {
        let pools = self.targets.federation_pools();
        if pools.len() == 1 {
            pools.into_iter().next().cloned()
        } else {
            None
        }
    }

    /// The external addresses of `pool`: the document's override, or the topology's; sorted.
    fn external_addresses(&self, pool: &Fqdn) -> Vec<std::net::IpAddr> {
        let mut addresses = self
            .desired
            .edge_pools
            .get(pool)
            .and_then(|p| p.external_addresses.clone())
            .or_else(|| self.observed.edge_pools.get(pool).map(|p| p.external_addresses.clone()))
            .unwrap_or_default();
        addresses.sort();
        addresses.dedup();
        addresses
    }
}

fn route_json(r: Option<&Fqdn>) -> Value {
    r.map_or(Value::Null, |p| json!(p.as_str()))
}
