//! The current state as a desired-state document (`edgefed observe`):
//! reconciling it changes nothing. What the document format cannot express
//! (a route target whose services are stopped, a DNS record that points
//! elsewhere than its route) is left out and reported.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{Deployment, DnsName, DnsRecord, Fqdn, RecordType, ServiceState, SrvTarget};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    api_version: &'static str,
    kind: &'static str,
    metadata: Meta,
    spec: Spec,
}

#[derive(Serialize)]
struct Meta {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    sites: BTreeMap<String, SiteOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    edge_pools: BTreeMap<String, EdgeOut>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    front_end_pools: BTreeMap<String, FrontEndOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns: Vec<ZoneOut>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_multiple_federation_routes: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SiteOut {
    /// Outer `None`: left out (a route the rules would refuse).
    #[serde(skip_serializing_if = "Option::is_none")]
    federation_route: Option<Option<String>>,
    /// Outer `None`: left out (several XMPP pools, or a route the rules would refuse).
    #[serde(skip_serializing_if = "Option::is_none")]
    xmpp_federation_route: Option<Option<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EdgeOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    services: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_hop: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FrontEndOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    media_edge_pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failed_over: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hosts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    move_address: Option<bool>,
    ttl: u32,
}

#[derive(Serialize)]
struct ZoneOut {
    zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    xmpp: Option<HostOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sip: Option<HostOut>,
}

/// The document, in YAML (with the schema modeline) or JSON, and what it
/// had to leave out.
#[must_use]
pub fn observed_document(d: &Deployment, json: bool) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let fed: BTreeSet<&Fqdn> = d.sites.values().filter_map(|s| s.federation_route.as_ref()).collect();
    let xmpp: BTreeSet<&Fqdn> = d
        .sites
        .values()
        .filter_map(|s| s.xmpp_federation_route.as_ref())
        .collect();
    if xmpp.len() > 1 {
        notes.push(format!(
            "the sites route XMPP federation to {} pools, which a document cannot express (rule V4): the XMPP routes are left out",
            xmpp.len()
        ));
    }
    if fed.len() > 1 {
        notes.push(format!(
            "the sites route SIP federation to {} pools: the document says `allowMultipleFederationRoutes: true`",
            fed.len()
        ));
    }
    // A route the plan-time rules would refuse (P2: no XMPP; P3: no reachable
    // server) is left out, so the document stays valid.
    let up = |pool: &Fqdn| {
        d.edge_pools
            .get(pool)
            .is_some_and(|p| p.computers.values().any(|c| c.reachable))
    };
    let mut route_out = |site: &str, what: &str, route: Option<&Fqdn>, xmpp_route: bool| -> Option<Option<String>> {
        let Some(pool) = route else { return Some(None) };
        let refused = if !up(pool) {
            Some("none of its servers is reachable")
        } else if xmpp_route && !d.edge_pools.get(pool).is_some_and(|p| p.xmpp_federation) {
            Some("it does not have XMPP federation enabled")
        } else {
            None
        };
        match refused {
            Some(why) => {
                notes.push(format!("site {site}'s {what} names {pool}, but {why}: left out"));
                None
            }
            None => Some(Some(pool.to_string())),
        }
    };
    let sites = d
        .sites
        .iter()
        .map(|(n, s)| {
            let federation_route = route_out(n, "federationRoute", s.federation_route.as_ref(), false);
            let xmpp_federation_route = if xmpp.len() > 1 {
                None
            } else {
                route_out(n, "xmppFederationRoute", s.xmpp_federation_route.as_ref(), true)
            };
            (
                n.clone(),
                SiteOut {
                    federation_route,
                    xmpp_federation_route,
                },
            )
        })
        .collect();
    let mut must_run: BTreeSet<&Fqdn> = fed.union(&xmpp).copied().collect();
    must_run.extend(d.front_end_pools.values().filter_map(|p| p.media_edge_pool.as_ref()));

    for (pool, p) in &d.edge_pools {
        if p.sip_federation != fed.contains(pool) {
            notes.push(format!(
                "Edge pool {pool} has SIP federation {} but {} site routes to it: reconciling this document will {} it",
                if p.sip_federation { "on" } else { "off" },
                if fed.contains(pool) { "a" } else { "no" },
                if p.sip_federation { "disable" } else { "enable" }
            ));
        }
    }
    let mut edge_pools = BTreeMap::new();
    for (pool, p) in &d.edge_pools {
        let reachable: Vec<_> = p.computers.values().filter(|c| c.reachable).collect();
        let all = |s: ServiceState| !reachable.is_empty() && reachable.iter().all(|c| c.services == s);
        let services = if all(ServiceState::Running) {
            Some("running")
        } else if all(ServiceState::Stopped) && !must_run.contains(pool) {
            Some("stopped")
        } else {
            if must_run.contains(pool) && reachable.iter().any(|c| c.services == ServiceState::Stopped) {
                notes.push(format!(
                    "Edge pool {pool} carries a route or media but some of its servers' services are stopped: reconciling will start them"
                ));
            }
            None
        };
        edge_pools.insert(
            pool.to_string(),
            EdgeOut {
                services,
                next_hop: p.next_hop.as_ref().map(ToString::to_string),
            },
        );
    }
    let front_end_pools = d
        .front_end_pools
        .iter()
        .map(|(f, p)| {
            (
                f.to_string(),
                FrontEndOut {
                    media_edge_pool: p.media_edge_pool.as_ref().map(ToString::to_string),
                    // P5 / P6 would refuse `failedOver: true` without a backup
                    // pool or while the pool is an Edge next hop.
                    // An unknown state is written as what edgefed last did
                    // to the pool (so reconciling the document does nothing),
                    // or left out when edgefed never did anything.
                    failed_over: p.failed_over.as_known().or(p.failed_over.recorded()).filter(|&on| {
                        !on || (p.backup_pool.is_some()
                            && !d.edge_pools.values().any(|e| e.next_hop.as_ref() == Some(f)))
                    }),
                },
            )
        })
        .collect();

    let mut zones: BTreeMap<String, ZoneOut> = BTreeMap::new();
    for r in &d.dns {
        let DnsRecord::Srv { name, ttl, targets } = r else {
            continue;
        };
        let (zone, is_xmpp) = if let Some(z) = name.as_str().strip_prefix("_xmpp-server._tcp.") {
            (z, true)
        } else if let Some(z) = name.as_str().strip_prefix("_sipfederationtls._tcp.") {
            (z, false)
        } else {
            continue;
        };
        let Ok(zone_fqdn) = Fqdn::parse(zone) else {
            continue;
        };
        let expected_port = if is_xmpp { 5269 } else { 5061 };
        let pool = single(if is_xmpp { &xmpp } else { &fed }).and_then(|p| d.edge_pools.get(p));
        let access = pool.and_then(|p| p.access_edge_fqdn.as_ref());
        let host = records_out(d, targets, *ttl, is_xmpp, expected_port, &zone_fqdn, pool, access);
        let Some(host) = host else {
            notes.push(format!(
                "the {} records of zone {zone} do not match what a document can express (SRV 0 100 {expected_port} to the routed pool's Access Edge FQDN; or to a host in the zone whose A record holds the routed pool's addresses with the same TTL{}): left out",
                if is_xmpp { "XMPP" } else { "SIP federation" },
                if is_xmpp { "; or one record per pool's Access Edge FQDN, the routed pool's first, priorities all different" } else { "" }
            ));
            continue;
        };
        let entry = zones.entry(zone.to_string()).or_insert_with(|| ZoneOut {
            zone: zone.to_string(),
            xmpp: None,
            sip: None,
        });
        if is_xmpp {
            entry.xmpp = Some(host)
        } else {
            entry.sip = Some(host)
        }
    }

    let doc = Doc {
        api_version: "edgefed/v1",
        kind: "FederationTopology",
        metadata: Meta {
            name: "observed".into(),
        },
        spec: Spec {
            sites,
            edge_pools,
            front_end_pools,
            dns: zones.into_values().collect(),
            allow_multiple_federation_routes: fed.len() > 1,
        },
    };
    let text = if json {
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    } else {
        format!(
            "# yaml-language-server: $schema=edgefed.schema.json\n# Observed by edgefed: reconciling this document changes nothing.\n# (Write the schema beside it with `edgefed schema --out edgefed.schema.json`.)\n{}",
            serde_saphyr::to_string(&doc).unwrap_or_default()
        )
    };
    (text, notes)
}

fn single<'a>(set: &BTreeSet<&'a Fqdn>) -> Option<&'a Fqdn> {
    if set.len() == 1 {
        set.iter().next().copied()
    } else {
        None
    }
}

/// The document form of an observed SRV set, if a document can express it.
#[allow(clippy::too_many_arguments)]
fn records_out(
    d: &Deployment,
    targets: &[SrvTarget],
    ttl: u32,
    is_xmpp: bool,
    port: u16,
    zone: &Fqdn,
    pool: Option<&crate::model::EdgePool>,
    access: Option<&Fqdn>,
) -> Option<HostOut> {
    let out = |host: Option<String>, hosts: Option<Vec<String>>, move_address: Option<bool>| HostOut {
        host,
        hosts,
        move_address,
        ttl,
    };
    match targets {
        [t] if t.priority == 0 && t.weight == 100 && t.port == port => {
            if access == Some(&t.target) {
                return Some(out(None, None, None));
            }
            let addresses = pool.map(|p| {
                let mut a = p.external_addresses.clone();
                a.sort();
                a
            });
            let a_ok = matches!(
                (d.dns_record(&DnsName::host(&t.target), RecordType::A), &addresses),
                (Some(DnsRecord::A { ttl: at, addresses: got, .. }), Some(want)) if *at == ttl && got == want
            );
            (t.target.is_in_zone(zone) && a_ok)
                .then(|| out(Some(t.target.to_string()), None, (!is_xmpp).then_some(true)))
        }
        [first, second, ..] if is_xmpp => {
            let mut priorities: Vec<u16> = targets.iter().map(|t| t.priority).collect();
            priorities.dedup();
            let every_pool_host = targets.iter().all(|t| {
                t.port == port
                    && d.edge_pools
                        .values()
                        .any(|p| p.access_edge_fqdn.as_ref() == Some(&t.target))
            });
            (priorities.len() == targets.len()
                && first.priority < second.priority
                && every_pool_host
                && access == Some(&first.target))
            .then(|| out(None, Some(targets.iter().map(|t| t.target.to_string()).collect()), None))
        }
        _ => None,
    }
}
