//! Plan-time rules P1–P8 and the plan-time half of V3: what the
//! document can only be checked against once the deployment is observed.

use crate::diagnostic::{Diagnostic, Position};
use crate::document::{Desired, Located};
use crate::model::{Deployment, Fqdn, Product};

use super::targets::Targets;

fn list<'a>(names: impl Iterator<Item = &'a Fqdn>) -> String {
    let v: Vec<String> = names.map(ToString::to_string).collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

/// Checks that `pool` names an Edge pool (P1), not one of its servers (P4).
fn edge_pool_exists(
    observed: &Deployment,
    pool: &Fqdn,
    what: &str,
    at: Option<Position>,
    out: &mut Vec<Diagnostic>,
) -> bool {
    if observed.edge_pools.contains_key(pool) {
        return true;
    }
    if let Some((owner, p)) = observed.edge_pools.iter().find(|(_, p)| p.computers.contains_key(pool)) {
        out.push(
            Diagnostic::rule("P4", format!("{what} names {pool}, which is a server of Edge pool {owner}, not a pool"))
                .at(at)
                .help(format!(
                    "routes name pools: write `{owner}` (the pool has {} server(s); the procedures' example of a server FQDN is a mistake)",
                    p.computers.len()
                )),
        );
    } else {
        out.push(
            Diagnostic::rule(
                "P1",
                format!("{what} names Edge pool {pool}, which the deployment does not have"),
            )
            .at(at)
            .help(format!("known Edge pools: {}", list(observed.edge_pools.keys()))),
        );
    }
    false
}

fn front_end_exists(
    observed: &Deployment,
    pool: &Fqdn,
    what: &str,
    at: Option<Position>,
    out: &mut Vec<Diagnostic>,
) -> bool {
    if observed.front_end_pools.contains_key(pool) {
        return true;
    }
    out.push(
        Diagnostic::rule(
            "P1",
            format!("{what} names Front End pool {pool}, which the deployment does not have"),
        )
        .at(at)
        .help(format!(
            "known Front End pools: {}",
            list(observed.front_end_pools.keys())
        )),
    );
    false
}

/// P7: the A record of a federation host holds the public addresses of the
/// pool its route names. When the topology does not hold them (the pool's
/// Access Edge is behind NAT or a load balancer), the document must.
fn public_addresses_known(desired: &Desired, observed: &Deployment, targets: &Targets, out: &mut Vec<Diagnostic>) {
    // The pools the A records follow, as the DNS phase picks them.
    let xmpp_pool = targets.xmpp_pools().into_iter().next();
    let federation_pools = targets.federation_pools();
    let sip_pool = (federation_pools.len() == 1)
        .then(|| federation_pools.into_iter().next())
        .flatten();
    let mut reported = std::collections::BTreeSet::new();
    for zone in &desired.dns {
        for (records, pool) in [(&zone.xmpp, xmpp_pool), (&zone.sip, sip_pool)] {
            // Only a record set whose A record follows the route publishes addresses.
            let (
                Some(crate::document::DesiredRecords {
                    targets:
                        crate::document::SrvTargets::Host {
                            host,
                            move_address: true,
                        },
                    ..
                }),
                Some(pool),
            ) = (records, pool)
            else {
                continue;
            };
            let unknown = observed
                .edge_pools
                .get(pool)
                .is_some_and(|p| p.public_addresses_unknown);
            let given = desired
                .edge_pools
                .get(pool)
                .is_some_and(|p| p.external_addresses.is_some());
            if unknown && !given && reported.insert(pool) {
                out.push(
                    Diagnostic::rule(
                        "P7",
                        format!(
                            "the A record of {} must hold the public addresses of Edge pool {pool}, but the topology does not give them: its Access Edge external address is private or not given (the Edge is behind NAT or a load balancer), and a private address must not be published",
                            host.value
                        ),
                    )
                    .at(host.at)
                    .help(format!(
                        "set `edgePools.{pool}.externalAddresses` to the public address(es) of the pool's Access Edge, e.g. `externalAddresses: [203.0.113.10]` under `edgePools: {pool}:`"
                    )),
                );
            }
        }
    }
}

/// Runs every plan-time rule; returns the problems found.
pub(super) fn check(desired: &Desired, observed: &Deployment, targets: &Targets) -> Vec<Diagnostic> {
    let mut out = Vec::new();

    // P1: sites.
    for (name, site) in &desired.sites {
        if !observed.sites.contains_key(name) {
            let known: Vec<&str> = observed.sites.keys().map(String::as_str).collect();
            out.push(
                Diagnostic::rule("P1", format!("site {name} is not in the deployment"))
                    .at(site.at)
                    .help(format!(
                        "known sites: {} (names are as Get-CsSite shows them, without `Site:`)",
                        known.join(", ")
                    )),
            );
        }
    }
    // P1 / P4 / P2 / P3: route targets.
    for (name, site) in &desired.sites {
        for (what, route, xmpp) in [
            ("federationRoute", &site.federation_route, false),
            ("xmppFederationRoute", &site.xmpp_federation_route, true),
        ] {
            let Some(Located { value: Some(pool), at }) = route else {
                continue;
            };
            let label = format!("site {name}'s {what}");
            if !edge_pool_exists(observed, pool, &label, *at, &mut out) {
                continue;
            }
            let p = &observed.edge_pools[pool];
            if xmpp && p.product == Some(Product::SkypeForBusiness2019) {
                out.push(
                    Diagnostic::rule(
                        "P2",
                        format!("{label} names {pool}, which runs Skype for Business Server 2019: it has no XMPP federation"),
                    )
                    .at(*at)
                    .help("XMPP federation was removed in Skype for Business Server 2019: route XMPP to a Lync Server 2013 or Skype for Business Server 2015 Edge pool (they can coexist with 2019)"),
                );
            } else if xmpp && !p.xmpp_federation {
                out.push(
                    Diagnostic::rule("P2", format!("{label} names {pool}, which does not have XMPP federation enabled in the topology"))
                        .at(*at)
                        .help("enable \"Enable XMPP federation for this Edge pool\" in Topology Builder and publish, or route to a pool that has it"),
                );
            }
            if !p.computers.values().any(|c| c.reachable) {
                out.push(
                    Diagnostic::rule("P3", format!("{label} names {pool}, but none of its servers is reachable"))
                        .at(*at)
                        .help(format!(
                            "route to a pool that is up; when {pool} is back, run `edgefed lab restore {pool}` (lab) or bring its servers up"
                        )),
                );
            }
        }
    }
    // P1: Edge pools and their next hops.
    for (pool, p) in &desired.edge_pools {
        edge_pool_exists(observed, pool, "edgePools", p.at, &mut out);
        if let Some(hop) = &p.next_hop {
            front_end_exists(observed, &hop.value, &format!("{pool}'s nextHop"), hop.at, &mut out);
        }
    }
    // P1 / P5 / P6: Front End pools.
    for (pool, p) in &desired.front_end_pools {
        if !front_end_exists(observed, pool, "frontEndPools", p.at, &mut out) {
            continue;
        }
        if let Some(media) = &p.media_edge_pool {
            edge_pool_exists(
                observed,
                &media.value,
                &format!("{pool}'s mediaEdgePool"),
                media.at,
                &mut out,
            );
        }
        let Some(Located { value: true, at }) = p.failed_over else {
            continue;
        };
        let fe = &observed.front_end_pools[pool];
        let Some(backup) = &fe.backup_pool else {
            out.push(
                Diagnostic::rule(
                    "P5",
                    format!("frontEndPools.{pool}.failedOver is true, but {pool} has no backup pool in the topology"),
                )
                .at(at)
                .help("pair the pool with a backup pool in Topology Builder and publish before failing it over"),
            );
            continue;
        };
        for (edge, hop) in &targets.next_hops {
            if hop == pool {
                let suggestion = observed
                    .front_end_pools
                    .iter()
                    .find(|(other, o)| {
                        *other != pool
                            && o.failed_over.as_known() == Some(false)
                            && o.site == observed.edge_pools[edge].site
                            && !targets.failing_over(other)
                    })
                    .map_or(backup, |(other, _)| other);
                out.push(
                    Diagnostic::rule(
                        "P6",
                        format!("{pool} cannot be failed over while it is the next hop of Edge pool {edge}: Lync refuses that failover"),
                    )
                    .at(at)
                    .help(format!("add `nextHop: {suggestion}` under `edgePools: {edge}:` so the next hop moves first")),
                );
            }
        }
    }

    public_addresses_known(desired, observed, targets, &mut out);

    // V5 at plan time: a site the document does not list may still route to
    // a pool the document declares stopped.
    for (what, routes) in [
        ("federationRoute", &targets.federation),
        ("xmppFederationRoute", &targets.xmpp),
    ] {
        for (site, route) in routes {
            let Some(pool) = route else { continue };
            let listed = desired.sites.get(site).is_some_and(|s| {
                if what == "federationRoute" {
                    s.federation_route.is_some()
                } else {
                    s.xmpp_federation_route.is_some()
                }
            });
            let stopped = desired
                .edge_pools
                .get(pool)
                .and_then(|p| p.services.as_ref())
                .filter(|s| s.value == crate::model::ServiceState::Stopped);
            if let (false, Some(services)) = (listed, stopped) {
                out.push(
                    Diagnostic::rule("V5", format!("Edge pool {pool} is declared `services: stopped`, but site {site}, which the document does not list, still has it as its {what}"))
                        .at(services.at)
                        .help(format!("add site {site} to the document with another {what}, or keep {pool} running")),
                );
            }
        }
    }

    // V3 at plan time: the document's routes together with unlisted sites'.
    if !desired.allow_multiple_federation_routes {
        let pools: std::collections::BTreeSet<&Fqdn> = targets.federation.values().flatten().collect();
        if pools.len() > 1 {
            for (site, route) in &targets.federation {
                if desired.sites.get(site).is_some_and(|s| s.federation_route.is_some()) {
                    continue;
                }
                let Some(pool) = route else { continue };
                let (listed_site, listed_pool, at) = desired
                    .sites
                    .iter()
                    .find_map(|(n, s)| {
                        s.federation_route
                            .as_ref()
                            .and_then(|r| r.value.as_ref().filter(|p| *p != pool).map(|p| (n, p, r.at)))
                    })
                    .unwrap_or((site, pool, None));
                out.push(
                    Diagnostic::rule(
                        "V3",
                        format!(
                            "site {listed_site} routes SIP federation to {listed_pool}, but site {site}, which the document does not list, still routes it to {pool}: Lync allows one federation Edge pool per organisation"
                        ),
                    )
                    .at(at)
                    .help(format!("add site {site} to the document with `federationRoute: {listed_pool}`, or set `allowMultipleFederationRoutes: true` during a migration")),
                );
            }
        }
    }
    xmpp_hosts(desired, observed, targets, &mut out);
    out.sort_by_key(|d| d.position);
    out
}

/// P8: an XMPP SRV set of one record per pool (`xmpp.hosts`) lists the
/// Access Edge FQDN of the pool the XMPP route names, so the planner knows
/// which record to put first.
fn xmpp_hosts(desired: &Desired, observed: &Deployment, targets: &Targets, out: &mut Vec<Diagnostic>) {
    let pools = targets.xmpp_pools();
    let Some(pool) = pools.iter().next().filter(|_| pools.len() == 1) else {
        return;
    };
    for zone in &desired.dns {
        let Some(crate::document::DesiredRecords {
            targets: crate::document::SrvTargets::Hosts(hosts),
            ..
        }) = &zone.xmpp
        else {
            continue;
        };
        let at = hosts.first().and_then(|h| h.at).or(zone.zone.at);
        match observed.edge_pools.get(*pool).and_then(|p| p.access_edge_fqdn.as_ref()) {
            None => out.push(
                Diagnostic::rule(
                    "P8",
                    format!("the XMPP route names Edge pool {pool}, whose Access Edge external FQDN the topology does not give: edgefed cannot tell which of `xmpp.hosts` is its record"),
                )
                .at(at)
                .help("set the pool's Access Edge external FQDN in Topology Builder and publish, or use `xmpp.host`"),
            ),
            Some(access) if !hosts.iter().any(|h| h.value == *access) => out.push(
                Diagnostic::rule(
                    "P8",
                    format!("the XMPP route names Edge pool {pool}, whose Access Edge FQDN {access} is not among `xmpp.hosts` of zone {}", zone.zone.value),
                )
                .at(at)
                .help(format!("add {access} to `hosts`: the set must have a record for the pool that carries XMPP federation")),
            ),
            Some(_) => {}
        }
    }
}
