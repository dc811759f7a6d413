//! The planner: a pure function of (desired, observed) to a [`Plan`].
//!
//! It works in three steps. [`Targets`] resolves what the deployment must
//! look like once done (routes of every site, listed or not; the derived SIP
//! federation flags; next hops). `checks` applies P1–P6 against the
//! observation. Then the builder adds one node per difference with its
//! dependencies (contract §4), and `order` prints the DAG.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::{Value, json};

use super::order::{Node, order};
use super::{Action, Change, Operation, Plan, checks};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::document::{Desired, DesiredHost};
use crate::model::{Deployment, DnsName, DnsRecord, Fqdn, RecordType, ServiceState};

/// The state the deployment must reach.
pub(super) struct Targets {
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
    fn resolve(desired: &Desired, observed: &Deployment) -> Self {
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

    pub fn failing_over(&self, pool: &Fqdn) -> bool {
        self.failovers.contains(pool)
    }

    /// The pools some site routes SIP federation to: exactly these get the flag.
    fn federation_pools(&self) -> BTreeSet<&Fqdn> {
        self.federation.values().flatten().collect()
    }

    fn xmpp_pools(&self) -> BTreeSet<&Fqdn> {
        self.xmpp.values().flatten().collect()
    }
}

struct PlanNode {
    operation: Operation,
    phase: u8,
    after: Vec<usize>,
    reason: String,
}

#[derive(Default)]
struct Builder {
    nodes: Vec<PlanNode>,
    changes: Vec<Change>,
    warnings: Vec<String>,
}

impl Builder {
    fn add(
        &mut self,
        phase: u8,
        operation: Operation,
        after: Vec<usize>,
        reason: impl Into<String>,
    ) -> usize {
        let mut after = after;
        after.sort_unstable();
        after.dedup();
        self.nodes.push(PlanNode {
            operation,
            phase,
            after,
            reason: reason.into(),
        });
        self.nodes.len() - 1
    }

    fn change(&mut self, path: String, observed: Value, desired: Value) {
        self.changes.push(Change {
            path,
            observed,
            desired,
        });
    }
}

fn route_json(r: Option<&Fqdn>) -> Value {
    r.map_or(Value::Null, |p| json!(p.as_str()))
}

/// Plans the minimal ordered actions that take `observed` to `desired`.
///
/// Pure: no I/O, and the same inputs give the same plan byte for byte.
///
/// # Errors
/// [`Diagnostics`] for every plan-time rule (P1–P6, V3) the document breaks
/// against this deployment.
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
    let mut b = Builder::default();

    // Which sites' routes move, and where to.
    let moved = |observed_route: fn(&crate::model::Site) -> &Option<Fqdn>,
                 wanted: &BTreeMap<String, Option<Fqdn>>| {
        wanted
            .iter()
            .filter(|(site, route)| {
                observed
                    .sites
                    .get(*site)
                    .is_some_and(|s| observed_route(s) != *route)
            })
            .map(|(s, r)| (s.clone(), r.clone()))
            .collect::<Vec<_>>()
    };
    let fed_moves = moved(|s| &s.federation_route, &targets.federation);
    let xmpp_moves = moved(|s| &s.xmpp_federation_route, &targets.xmpp);

    // ---- Phase 1 (and 8): Edge services --------------------------------
    let federation_pools = targets.federation_pools();
    let mut must_run: BTreeSet<&Fqdn> = federation_pools.clone();
    must_run.extend(targets.xmpp_pools());
    for p in desired.front_end_pools.values() {
        if let Some(m) = &p.media_edge_pool {
            must_run.insert(&m.value);
        }
    }
    for (pool, p) in &desired.edge_pools {
        if p.services
            .as_ref()
            .is_some_and(|s| s.value == ServiceState::Running)
        {
            must_run.insert(pool);
        }
    }
    let xmpp_targets: BTreeSet<&Fqdn> = xmpp_moves.iter().filter_map(|(_, r)| r.as_ref()).collect();
    // `ready[pool]`: the start-services nodes anything routing to the pool follows.
    let mut ready: BTreeMap<Fqdn, Vec<usize>> = BTreeMap::new();
    // The XMPP bracket: stop nodes, and the pools it applies to.
    let mut bracket_stops: BTreeMap<Fqdn, Vec<usize>> = BTreeMap::new();
    for pool in &must_run {
        let Some(p) = observed.edge_pools.get(*pool) else {
            continue;
        };
        let reachable: Vec<(&Fqdn, &crate::model::Computer)> =
            p.computers.iter().filter(|(_, c)| c.reachable).collect();
        for (name, _) in p.computers.iter().filter(|(_, c)| !c.reachable) {
            b.warnings.push(format!(
                "{name} (Edge pool {pool}) is unreachable: no action is planned on it"
            ));
        }
        let any_running = reachable
            .iter()
            .any(|(_, c)| c.services == ServiceState::Running);
        if xmpp_targets.contains(pool) && any_running {
            let mut stops = Vec::new();
            for (name, c) in &reachable {
                if c.services == ServiceState::Running {
                    stops.push(b.add(
                        1,
                        Operation::StopServices { pool: (*pool).clone(), computer: (*name).clone() },
                        vec![],
                        "XMPP failover step 1: stop the Edge services on the pool that will host XMPP federation before its route changes",
                    ));
                }
            }
            bracket_stops.insert((*pool).clone(), stops);
        } else {
            let stopped: Vec<&Fqdn> = reachable
                .iter()
                .filter(|(_, c)| c.services == ServiceState::Stopped)
                .map(|(n, _)| *n)
                .collect();
            if !stopped.is_empty() {
                b.change(
                    format!("edgePools.{pool}.services"),
                    json!("stopped"),
                    json!("running"),
                );
            }
            let starts = stopped
                .into_iter()
                .map(|name| {
                    b.add(
                        1,
                        Operation::StartServices { pool: (*pool).clone(), computer: name.clone() },
                        vec![],
                        "Failback step 1: start the Edge services on the pool that must carry federation or media",
                    )
                })
                .collect();
            ready.insert((*pool).clone(), starts);
        }
    }
    for (pool, p) in &desired.edge_pools {
        if p.services
            .as_ref()
            .is_none_or(|s| s.value != ServiceState::Stopped)
        {
            continue;
        }
        let Some(op) = observed.edge_pools.get(pool) else {
            continue;
        };
        let running: Vec<&Fqdn> = op
            .computers
            .iter()
            .filter(|(_, c)| c.reachable && c.services == ServiceState::Running)
            .map(|(n, _)| n)
            .collect();
        if !running.is_empty() {
            b.change(
                format!("edgePools.{pool}.services"),
                json!("running"),
                json!("stopped"),
            );
        }
        for name in running {
            b.add(
                1,
                Operation::StopServices {
                    pool: pool.clone(),
                    computer: name.clone(),
                },
                vec![],
                "the document sets `services: stopped`",
            );
        }
    }
    let ready_of = |ready: &BTreeMap<Fqdn, Vec<usize>>, pool: &Fqdn| {
        ready.get(pool).cloned().unwrap_or_default()
    };

    // ---- Phase 2: next hops --------------------------------------------
    let mut next_hop_moves: Vec<(Option<Fqdn>, usize)> = Vec::new();
    for (pool, p) in &desired.edge_pools {
        let (Some(hop), Some(op)) = (&p.next_hop, observed.edge_pools.get(pool)) else {
            continue;
        };
        if op.next_hop.as_ref() != Some(&hop.value) {
            b.change(
                format!("edgePools.{pool}.nextHop"),
                route_json(op.next_hop.as_ref()),
                json!(hop.value.as_str()),
            );
            let id = b.add(
                2,
                Operation::SetEdgeNextHop { edge_pool: pool.clone(), next_hop: hop.value.clone() },
                vec![],
                "Front End failover: move the Edge pool's next hop off a pool before failing that pool over (Set-CsEdgeServer -Registrar)",
            );
            next_hop_moves.push((op.next_hop.clone(), id));
        }
    }

    // ---- Phase 3: topology edits -----------------------------------------
    let mut disables = Vec::new();
    let mut enabled_pools = Vec::new();
    for (pool, p) in &observed.edge_pools {
        let want = federation_pools.contains(pool);
        if p.sip_federation != want {
            b.change(
                format!("edgePools.{pool}.sipFederation"),
                json!(p.sip_federation),
                json!(want),
            );
        }
        if p.sip_federation && !want {
            disables.push(b.add(
                3,
                Operation::DisableSipFederation { edge_pool: pool.clone() },
                vec![],
                "Failback step 2 / SIP failover: clear \"Enable federation for this Edge pool (Port 5061)\" on the pool that no longer carries federation (same topology document as the enable)",
            ));
        }
    }
    let mut edits = disables.clone();
    for (pool, p) in &observed.edge_pools {
        if !p.sip_federation && federation_pools.contains(pool) {
            let mut after = disables.clone();
            after.extend(ready_of(&ready, pool));
            edits.push(b.add(
                3,
                Operation::EnableSipFederation { edge_pool: pool.clone() },
                after,
                "Failback step 2 / SIP failover: select \"Enable federation for this Edge pool (Port 5061)\" on the pool that carries federation",
            ));
            enabled_pools.push(pool.clone());
        }
    }
    for (fe, p) in &desired.front_end_pools {
        let (Some(media), Some(op)) = (&p.media_edge_pool, observed.front_end_pools.get(fe)) else {
            continue;
        };
        if op.media_edge_pool.as_ref() != Some(&media.value) {
            b.change(
                format!("frontEndPools.{fe}.mediaEdgePool"),
                route_json(op.media_edge_pool.as_ref()),
                json!(media.value.as_str()),
            );
            edits.push(b.add(
                3,
                Operation::SetMediaEdgePool { front_end_pool: fe.clone(), edge_pool: media.value.clone() },
                ready_of(&ready, &media.value),
                "Failback step 4: associate the Front End pool with its local Edge pool for media (a topology edit, published below)",
            ));
        }
    }

    // ---- Phase 4: publish ------------------------------------------------
    let publish = (!edits.is_empty()).then(|| {
        b.add(
            4,
            Operation::PublishTopology {},
            edits.clone(),
            "Failback step 2: publish every topology edit in one document (Publish-CsTopology, Enable-CsTopology); Microsoft's media re-association page forgets this",
        )
    });

    // ---- Phase 5: setup ----------------------------------------------------
    let mut setups: BTreeMap<Fqdn, Vec<usize>> = BTreeMap::new();
    for (pool, p) in &observed.edge_pools {
        if !federation_pools.contains(pool) {
            continue;
        }
        let newly = enabled_pools.contains(pool);
        for (name, c) in &p.computers {
            if !(newly || c.setup_pending) {
                continue;
            }
            if !c.reachable {
                b.warnings.push(format!("{name} (Edge pool {pool}) is unreachable: setup must be run on it when it is back"));
                continue;
            }
            if !newly {
                b.change(
                    format!("edgePools.{pool}.setupPending.{name}"),
                    json!(true),
                    json!(false),
                );
            }
            let mut after: Vec<usize> = publish.into_iter().collect();
            after.extend(ready_of(&ready, pool));
            let id = b.add(
                5,
                Operation::RunSetup { pool: pool.clone(), computer: name.clone() },
                after,
                "Failback step 2 / SIP failover: run setup (Deployment Wizard \"Run Again\") on each server of the pool that gained federation",
            );
            setups.entry(pool.clone()).or_default().push(id);
        }
    }

    // ---- Phase 6: site routes ----------------------------------------------
    let mut fed_routes: Vec<usize> = Vec::new();
    for (site, route) in &fed_moves {
        let old = observed.sites[site].federation_route.as_ref();
        b.change(
            format!("sites.{site}.federationRoute"),
            route_json(old),
            route_json(route.as_ref()),
        );
        let mut after = Vec::new();
        if let Some(pool) = route {
            if enabled_pools.contains(pool) {
                after.extend(publish);
            }
            after.extend(ready_of(&ready, pool));
        }
        fed_routes.push(b.add(
            6,
            Operation::SetSiteFederationRoute { site: site.clone(), edge_pool: route.clone() },
            after,
            "Failback step 2 / SIP failover: point the site's federation route at the pool (Set-CsSite -FederationRoute)",
        ));
    }
    let mut xmpp_routes: BTreeMap<Option<Fqdn>, Vec<usize>> = BTreeMap::new();
    for (site, route) in &xmpp_moves {
        let old = observed.sites[site].xmpp_federation_route.as_ref();
        b.change(
            format!("sites.{site}.xmppFederationRoute"),
            route_json(old),
            route_json(route.as_ref()),
        );
        let after = route.as_ref().map_or_else(Vec::new, |pool| {
            bracket_stops
                .get(pool)
                .cloned()
                .unwrap_or_else(|| ready_of(&ready, pool))
        });
        let id = b.add(
            6,
            Operation::SetSiteXmppRoute { site: site.clone(), edge_pool: route.clone() },
            after,
            "Failback step 3 / XMPP failover: point the site's XMPP federation route at the pool (Set-CsSite -XmppFederationRoute; the procedures' -XmppExternalFederationRoute does not exist)",
        );
        xmpp_routes.entry(route.clone()).or_default().push(id);
    }
    let all_xmpp_routes: Vec<usize> = xmpp_routes.values().flatten().copied().collect();

    // ---- Phase 7: DNS -------------------------------------------------------
    let xmpp_pool = targets.xmpp_pools().into_iter().next().cloned();
    let fed_pools: Vec<&Fqdn> = federation_pools.iter().copied().collect();
    let zones: Vec<&Fqdn> = desired.dns.iter().map(|z| &z.zone.value).collect();
    let zone_of = |host: &Fqdn| {
        zones
            .iter()
            .filter(|z| host.is_in_zone(z))
            .max_by_key(|z| z.as_str().len())
            .map_or_else(|| host.clone(), |z| (*z).clone())
    };
    let mut xmpp_dns = Vec::new();
    let mut sip_dns = Vec::new();
    let mut a_records: BTreeMap<DnsName, Vec<IpAddr>> = BTreeMap::new();
    for zone in &desired.dns {
        let z = &zone.zone.value;
        for (host, is_xmpp) in [(&zone.xmpp, true), (&zone.sip, false)] {
            let Some(DesiredHost { host, ttl }) = host else {
                continue;
            };
            let (srv, port) = if is_xmpp {
                (DnsName::xmpp_srv(z), 5269)
            } else {
                (DnsName::sip_srv(z), 5061)
            };
            let mut after: Vec<usize> = if is_xmpp {
                all_xmpp_routes.clone()
            } else {
                let mut a: Vec<usize> = setups.values().flatten().copied().collect();
                a.extend(&fed_routes);
                a
            };
            let pool = if is_xmpp {
                xmpp_pool.clone()
            } else if fed_pools.len() == 1 {
                Some(fed_pools[0].clone())
            } else {
                if fed_pools.len() > 1 {
                    b.warnings.push(format!(
                        "several pools carry SIP federation ({}): the A record of {} is left as it is",
                        fed_pools.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                        host.value
                    ));
                }
                None
            };
            if let Some(pool) = &pool
                && (!bracket_stops.contains_key(pool) || !is_xmpp)
            {
                after.extend(ready_of(&ready, pool));
            }
            let wanted = DnsRecord::Srv {
                name: srv.clone(),
                ttl: *ttl,
                priority: 0,
                weight: 100,
                port,
                target: host.value.clone(),
            };
            let seen = observed.dns_record(&srv, RecordType::Srv);
            if seen != Some(&wanted) {
                b.change(
                    format!("dns.{srv}.SRV"),
                    record_json(seen),
                    record_json(Some(&wanted)),
                );
                let id = b.add(
                    7,
                    Operation::SetDnsSrv {
                        zone: z.clone(),
                        name: srv.clone(),
                        target: host.value.clone(),
                        port,
                        priority: 0,
                        weight: 100,
                        ttl: *ttl,
                        observed: seen.cloned(),
                    },
                    after.clone(),
                    if is_xmpp {
                        "Failback step 3: the XMPP federation SRV record must exist and point at the XMPP host on port 5269"
                    } else {
                        "SIP federation: the _sipfederationtls SRV record must point at the federation host on port 5061"
                    },
                );
                if is_xmpp {
                    xmpp_dns.push(id)
                } else {
                    sip_dns.push(id)
                }
            }
            let Some(pool) = pool else {
                if is_xmpp {
                    b.warnings.push(format!(
                        "no site has an XMPP federation route: the A record of {} is left as it is",
                        host.value
                    ));
                }
                continue;
            };
            let mut addresses = desired
                .edge_pools
                .get(&pool)
                .and_then(|p| p.external_addresses.clone())
                .or_else(|| {
                    observed
                        .edge_pools
                        .get(&pool)
                        .map(|p| p.external_addresses.clone())
                })
                .unwrap_or_default();
            addresses.sort();
            addresses.dedup();
            if addresses.is_empty() {
                b.warnings.push(format!(
                    "Edge pool {pool} has no external address: the A record of {} is left as it is",
                    host.value
                ));
                continue;
            }
            let name = DnsName::host(&host.value);
            if let Some(prev) = a_records.get(&name) {
                if *prev != addresses {
                    b.warnings.push(format!("{name} is both the XMPP and the SIP host but the routes name different pools: its A record follows the first"));
                }
                continue;
            }
            a_records.insert(name.clone(), addresses.clone());
            let wanted = DnsRecord::A {
                name: name.clone(),
                ttl: *ttl,
                addresses: addresses.clone(),
            };
            let seen = observed.dns_record(&name, RecordType::A);
            if seen != Some(&wanted) {
                b.change(
                    format!("dns.{name}.A"),
                    record_json(seen),
                    record_json(Some(&wanted)),
                );
                let id = b.add(
                    7,
                    Operation::SetDnsA { zone: zone_of(&host.value), name, addresses, ttl: *ttl, observed: seen.cloned() },
                    after,
                    if is_xmpp {
                        format!(
                            "Failback step 3: the A record of the XMPP host holds the external addresses of {pool}, the pool the route names (the procedure's \"point it at EdgeServer2\" is a copy error)"
                        )
                    } else {
                        format!("SIP federation: the A record of the federation host holds the external addresses of {pool}, the pool the route names")
                    },
                );
                if is_xmpp {
                    xmpp_dns.push(id)
                } else {
                    sip_dns.push(id)
                }
            }
        }
    }

    // ---- Phase 8: end of the XMPP bracket -----------------------------------
    for pool in bracket_stops.keys() {
        let Some(p) = observed.edge_pools.get(pool) else {
            continue;
        };
        let mut after = xmpp_routes
            .get(&Some(pool.clone()))
            .cloned()
            .unwrap_or_default();
        after.extend(&xmpp_dns);
        let starts = p
            .computers
            .iter()
            .filter(|(_, c)| c.reachable)
            .map(|(name, _)| {
                b.add(
                    8,
                    Operation::StartServices { pool: pool.clone(), computer: name.clone() },
                    after.clone(),
                    "XMPP failover: start the Edge services again once the route and DNS point at the pool",
                )
            })
            .collect();
        ready.insert(pool.clone(), starts);
    }
    // Anything else routing to a bracketed pool follows the bracket's end.
    for node in &mut b.nodes {
        let pool = match &node.operation {
            Operation::EnableSipFederation { edge_pool }
            | Operation::SetMediaEdgePool { edge_pool, .. } => Some(edge_pool),
            Operation::SetSiteFederationRoute {
                edge_pool: Some(p), ..
            } => Some(p),
            Operation::RunSetup { pool, .. } => Some(pool),
            _ => None,
        };
        if let Some(starts) = pool
            .filter(|p| bracket_stops.contains_key(*p))
            .and_then(|p| ready.get(p))
        {
            node.after.extend(starts);
        }
    }
    for id in &sip_dns {
        if let Some(pool) = fed_pools
            .first()
            .filter(|p| fed_pools.len() == 1 && bracket_stops.contains_key(**p))
        {
            let starts = ready_of(&ready, pool);
            b.nodes[*id].after.extend(starts);
        }
    }

    // ---- Phase 9: verify ports ----------------------------------------------
    if desired.verify_ports {
        let mut probes: BTreeSet<(Fqdn, u16)> = BTreeSet::new();
        for (_, r) in &fed_moves {
            if let Some(p) = r {
                probes.insert((p.clone(), 5061));
            }
        }
        for (_, r) in &xmpp_moves {
            if let Some(p) = r {
                probes.insert((p.clone(), 5269));
            }
        }
        for (pool, port) in probes {
            let Some(p) = observed.edge_pools.get(&pool) else {
                continue;
            };
            let mut after = ready_of(&ready, &pool);
            if port == 5269 {
                after.extend(
                    xmpp_routes
                        .get(&Some(pool.clone()))
                        .cloned()
                        .unwrap_or_default(),
                );
                after.extend(&xmpp_dns);
            } else {
                after.extend(publish);
                after.extend(setups.get(&pool).cloned().unwrap_or_default());
                after.extend(&fed_routes);
                after.extend(&sip_dns);
            }
            let mut addresses = desired
                .edge_pools
                .get(&pool)
                .and_then(|d| d.external_addresses.clone())
                .unwrap_or_else(|| p.external_addresses.clone());
            addresses.sort();
            addresses.dedup();
            for address in addresses {
                b.add(
                    9,
                    Operation::VerifyPort { pool: pool.clone(), address, port },
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

    // ---- Phase 10: Front End pools ------------------------------------------
    for (fe, p) in &desired.front_end_pools {
        let (Some(f), Some(op)) = (&p.failed_over, observed.front_end_pools.get(fe)) else {
            continue;
        };
        if f.value && !op.failed_over {
            b.change(
                format!("frontEndPools.{fe}.failedOver"),
                json!(false),
                json!(true),
            );
            let after = next_hop_moves
                .iter()
                .filter(|(old, _)| old.as_ref() == Some(fe))
                .map(|(_, id)| *id)
                .collect();
            b.add(
                10,
                Operation::InvokePoolFailover { front_end_pool: fe.clone() },
                after,
                "Front End failover: Invoke-CsPoolFailover -DisasterMode, after the Edge next hop has moved off the pool",
            );
        }
    }
    let before_failback: Vec<usize> = (0..b.nodes.len()).collect();
    for (fe, p) in &desired.front_end_pools {
        let (Some(f), Some(op)) = (&p.failed_over, observed.front_end_pools.get(fe)) else {
            continue;
        };
        if !f.value && op.failed_over {
            b.change(
                format!("frontEndPools.{fe}.failedOver"),
                json!(true),
                json!(false),
            );
            b.add(
                10,
                Operation::InvokePoolFailback {
                    front_end_pool: fe.clone(),
                },
                before_failback.clone(),
                "Failback step 5: fail the Front End pool back (Invoke-CsPoolFailBack), last",
            );
        }
    }

    finish(b, desired)
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

/// Orders the nodes, numbers them, and sorts changes and warnings.
fn finish(mut b: Builder, desired: &Desired) -> Result<Plan, Diagnostics> {
    for node in &mut b.nodes {
        node.after.sort_unstable();
        node.after.dedup();
    }
    let keyed: Vec<Node<'_>> = b
        .nodes
        .iter()
        .map(|n| Node {
            phase: n.phase,
            kind_rank: n.operation.kind_rank(),
            target: n.operation.target(),
            after: &n.after,
        })
        .collect();
    let printed = order(&keyed).map_err(|cycle| {
        let names: Vec<String> = cycle.iter().map(|i| b.nodes[*i].operation.to_string()).collect();
        Diagnostics {
            file: desired.source.file.clone(),
            text: String::new(),
            diagnostics: vec![Diagnostic::plain(format!("internal error: the plan has a dependency cycle through {}", names.join("; ")))
                .help("this is a bug in edgefed; please report it with the document and `edgefed observe` output")],
        }
    })?;
    let mut id_of = vec![0; b.nodes.len()];
    for (pos, &i) in printed.iter().enumerate() {
        id_of[i] = pos + 1;
    }
    let actions = printed
        .iter()
        .map(|&i| {
            let n = &b.nodes[i];
            let mut depends_on: Vec<usize> = n.after.iter().map(|d| id_of[*d]).collect();
            depends_on.sort_unstable();
            Action {
                id: id_of[i],
                operation: n.operation.clone(),
                phase: n.phase,
                depends_on,
                reason: n.reason.clone(),
            }
        })
        .collect();
    b.changes.sort_by(|a, c| a.path.cmp(&c.path));
    b.changes.dedup_by(|a, c| a.path == c.path);
    b.warnings.sort();
    b.warnings.dedup();
    Ok(Plan {
        changes: b.changes,
        actions,
        warnings: b.warnings,
    })
}
