//! The planner: a pure function of (desired, observed) to a [`Plan`].
//!
//! [`Targets`] resolves what the deployment must look like once done (the
//! routes of every site, listed or not; the derived SIP federation flags;
//! next hops). `checks` applies P1–P6 against the observation. Then a
//! [`Planner`] walks the phases of contract §4 in order — services, next
//! hops, topology edits and publish, setup, site routes, DNS, the end of the
//! XMPP bracket, port checks, Front End pools — adding one node per
//! difference with its dependencies, each phase in its own file. Last,
//! [`Builder::finish`] orders the DAG for printing.

mod builder;
mod dns;
mod front_end;
mod routes;
mod services;
mod targets;
mod topology;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Plan, checks};
use crate::diagnostic::Diagnostics;
use crate::document::Desired;
use crate::model::{Deployment, Fqdn};
use builder::Builder;
pub(super) use targets::Targets;

/// Plans the minimal ordered actions that take `observed` to `desired`.
///
/// Pure: no I/O, and the same inputs give the same plan byte for byte.
///
/// # Errors
/// [`Diagnostics`] for every plan-time rule (P1–P6, V3, V5) the document
/// breaks against this deployment.
pub fn plan(desired: &Desired, observed: &Deployment) -> Result<Plan, Diagnostics> {
    let targets = Targets::resolve(desired, observed);
    let problems = checks::check(desired, observed, &targets);
    if !problems.is_empty() {
        return Err(Diagnostics {
            file: desired.source.file.clone(),
            text: desired.source.text.clone(),
            diagnostics: problems,
        });
    }
    let mut p = Planner::new(desired, observed, &targets);
    p.services();
    p.next_hops();
    p.topology_edits();
    p.publish();
    p.setup();
    p.site_routes();
    p.dns();
    p.end_xmpp_bracket();
    p.verify_ports();
    p.front_end_pools();
    p.b.finish(desired)
}

/// The planner's working state: the nodes so far, and the node ids later
/// phases depend on.
struct Planner<'a> {
    desired: &'a Desired,
    observed: &'a Deployment,
    targets: &'a Targets,
    b: Builder,
    /// Sites whose SIP federation route moves, and where to.
    fed_moves: Vec<(String, Option<Fqdn>)>,
    /// Sites whose XMPP federation route moves, and where to.
    xmpp_moves: Vec<(String, Option<Fqdn>)>,
    /// Per pool, the start-services nodes anything routing to it follows.
    ready: BTreeMap<Fqdn, Vec<usize>>,
    /// Pools in the XMPP bracket, with their stop-services nodes.
    bracket_stops: BTreeMap<Fqdn, Vec<usize>>,
    /// `set-edge-next-hop` nodes, with the next hop they move away from.
    next_hop_moves: Vec<(Option<Fqdn>, usize)>,
    /// Pools whose SIP federation flag is being turned on.
    enabled_pools: Vec<Fqdn>,
    /// The phase-3 edit nodes.
    edits: Vec<usize>,
    /// The `publish-topology` node, if any.
    publish: Option<usize>,
    /// Per pool, its `run-setup` nodes.
    setups: BTreeMap<Fqdn, Vec<usize>>,
    /// `set-site-federation-route` nodes.
    fed_routes: Vec<usize>,
    /// `set-site-xmpp-route` nodes by the pool they route to.
    xmpp_routes: BTreeMap<Option<Fqdn>, Vec<usize>>,
    /// DNS nodes of the XMPP records.
    xmpp_dns: Vec<usize>,
    /// DNS nodes of the SIP federation records.
    sip_dns: Vec<usize>,
}

impl<'a> Planner<'a> {
    fn new(desired: &'a Desired, observed: &'a Deployment, targets: &'a Targets) -> Self {
        Self {
            desired,
            observed,
            targets,
            b: Builder::default(),
            fed_moves: targets.federation_moves(observed),
            xmpp_moves: targets.xmpp_moves(observed),
            ready: BTreeMap::new(),
            bracket_stops: BTreeMap::new(),
            next_hop_moves: Vec::new(),
            enabled_pools: Vec::new(),
            edits: Vec::new(),
            publish: None,
            setups: BTreeMap::new(),
            fed_routes: Vec::new(),
            xmpp_routes: BTreeMap::new(),
            xmpp_dns: Vec::new(),
            sip_dns: Vec::new(),
        }
    }

    /// The start-services nodes that anything routing to `pool` follows.
    fn ready_of(&self, pool: &Fqdn) -> Vec<usize> {
        self.ready.get(pool).cloned().unwrap_or_default()
    }

    /// Whether `pool` is in the XMPP bracket.
    fn bracketed(&self, pool: &Fqdn) -> bool {
        self.bracket_stops.contains_key(pool)
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
