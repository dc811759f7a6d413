//! What the deployment must look like once the plan is done: the routes of
//! every observed site (listed or not), the derived SIP federation pools, the
//! next hops, and the Front End pools being failed over.

use std::collections::{BTreeMap, BTreeSet};

use crate::document::Desired;
use crate::model::{Deployment, Fqdn, Site};

/// The state the deployment must reach.
pub(in crate::plan) struct Targets {
    /// `FederationRoute` of every observed site.
    pub federation: BTreeMap<String, Option<Fqdn>>,
    /// `XmppFederationRoute` of every observed site.
    pub xmpp: BTreeMap<String, Option<Fqdn>>,
    /// The next hop of every Edge pool that has one.
    pub next_hops: BTreeMap<Fqdn, Fqdn>,
    /// Front End pools the document fails over.
    failovers: BTreeSet<Fqdn>,
}

impl Targets {
    /// Resolves the targets: the document where it speaks, the observation elsewhere.
    pub fn resolve(desired: &Desired, observed: &Deployment) -> Self {
        let mut federation = BTreeMap::new();
        let mut xmpp = BTreeMap::new();
        for (name, site) in &observed.sites {
            let d = desired.sites.get(name);
            let fed = d
                .and_then(|d| d.federation_route.as_ref())
                .map_or(&site.federation_route, |r| &r.value);
            let xm = d
                .and_then(|d| d.xmpp_federation_route.as_ref())
                .map_or(&site.xmpp_federation_route, |r| &r.value);
            federation.insert(name.clone(), fed.clone());
            xmpp.insert(name.clone(), xm.clone());
        }
        let mut next_hops = BTreeMap::new();
        for (pool, p) in &observed.edge_pools {
            let hop = desired
                .edge_pools
                .get(pool)
                .and_then(|d| d.next_hop.as_ref())
                .map(|h| &h.value)
                .or(p.next_hop.as_ref());
            if let Some(hop) = hop {
                next_hops.insert(pool.clone(), hop.clone());
            }
        }
        let failovers = desired
            .front_end_pools
            .iter()
            .filter(|(_, p)| p.failed_over.as_ref().is_some_and(|f| f.value))
            .map(|(f, _)| f.clone())
            .collect();
        Self {
            federation,
            xmpp,
            next_hops,
            failovers,
        }
    }

    /// Whether the document fails `pool` over.
    pub fn failing_over(&self, pool: &Fqdn) -> bool {
        self.failovers.contains(pool)
    }

    /// The pools some site routes SIP federation to: exactly these get the flag.
    pub fn federation_pools(&self) -> BTreeSet<&Fqdn> {
        self.federation.values().flatten().collect()
    }

    /// The pools some site routes XMPP federation to (one, by V4).
    pub fn xmpp_pools(&self) -> BTreeSet<&Fqdn> {
        self.xmpp.values().flatten().collect()
    }

    /// The sites whose SIP federation route moves, with where to.
    pub fn federation_moves(&self, observed: &Deployment) -> Vec<(String, Option<Fqdn>)> {
        moves(&self.federation, observed, |s| &s.federation_route)
    }

    /// The sites whose XMPP federation route moves, with where to.
    pub fn xmpp_moves(&self, observed: &Deployment) -> Vec<(String, Option<Fqdn>)> {
        moves(&self.xmpp, observed, |s| &s.xmpp_federation_route)
    }
}

fn moves(
    wanted: &BTreeMap<String, Option<Fqdn>>,
    observed: &Deployment,
    route: fn(&Site) -> &Option<Fqdn>,
) -> Vec<(String, Option<Fqdn>)> {
    wanted
        .iter()
        .filter(|(site, r)| observed.sites.get(*site).is_some_and(|s| route(s) != *r))
        .map(|(s, r)| (s.clone(), r.clone()))
        .collect()
}
