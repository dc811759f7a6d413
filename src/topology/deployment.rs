//! [`to_deployment`]: an observed [`Deployment`] from a published topology,
//! for `edgefed lab init --from-topology FILE [--sites-from GET-CSSITE.json]`.
//!
//! The topology does not record site federation routes (no public export
//! shows one) nor Front End pool pairing (no public export has a paired
//! pool; `Get-CsPoolBackupRelationship` is the source), so routes come from
//! the document's federation pools or a `Get-CsSite | ConvertTo-Json` dump,
//! and `backup_pool` stays `None`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::TopologyError;
use super::model::TopologyModel;
use crate::model::{Computer, Deployment, EdgePool, Fqdn, FrontEndPool, ServiceState, Site};

fn computers(servers: &[Fqdn]) -> BTreeMap<Fqdn, Computer> {
    servers
        .iter()
        .map(|s| {
            (
                s.clone(),
                Computer {
                    reachable: true,
                    services: ServiceState::Running,
                    setup_pending: false,
                },
            )
        })
        .collect()
}

/// The one pool with `flag`, `None` when there is none.
fn the_pool(
    model: &TopologyModel,
    flag: impl Fn(&super::model::TopologyEdgePool) -> bool,
    what: &str,
) -> Result<Option<Fqdn>, TopologyError> {
    let pools: Vec<&Fqdn> = model
        .edge_pools
        .iter()
        .filter(|(_, p)| flag(p))
        .map(|(f, _)| f)
        .collect();
    match pools.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(TopologyError::AmbiguousRoutes {
            detail: format!(
                "{} Edge pools have {what} enabled ({}), so the sites' routes cannot be told from the topology",
                many.len(),
                many.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

fn json_err(detail: String) -> TopologyError {
    TopologyError::SitesJson { detail }
}

/// A route value: `EdgeServer:edgepool1.contoso.com`, a bare FQDN, or null.
fn route(site: &str, field: &str, v: Option<&Value>, model: &TopologyModel) -> Result<Option<Fqdn>, TopologyError> {
    let s = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim(),
        Some(other) => {
            return Err(json_err(format!(
                "site `{site}`: `{field}` is {other}, expected a string like `EdgeServer:edgepool1.contoso.com` or null"
            )));
        }
    };
    let fqdn_text = match s.split_once(':') {
        Some((kind, f)) if kind.eq_ignore_ascii_case("EdgeServer") => f,
        Some((kind, _)) => {
            return Err(json_err(format!(
                "site `{site}`: `{field}` is `{s}`, a `{kind}` service; a route names an `EdgeServer:` service"
            )));
        }
        None => s,
    };
    let f = Fqdn::parse(fqdn_text).map_err(|e| json_err(format!("site `{site}`: `{field}` `{s}`: {e}")))?;
    if !model.edge_pools.contains_key(&f) {
        return Err(json_err(format!(
            "site `{site}`: `{field}` names `{f}`, which is not an Edge pool of the topology"
        )));
    }
    Ok(Some(f))
}

/// Reads `Get-CsSite | ConvertTo-Json`: site name → routes.
fn parse_sites(json: &str, model: &TopologyModel) -> Result<BTreeMap<String, Site>, TopologyError> {
    let v: Value = serde_json::from_str(json).map_err(|e| json_err(format!("not JSON: {e}")))?;
    let items = match v {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        other => {
            return Err(json_err(format!("expected an object or an array, found {other}")));
        }
    };
    let mut out = BTreeMap::new();
    for item in &items {
        let Value::Object(o) = item else {
            return Err(json_err(format!("expected site objects, found {item}")));
        };
        let name = match o.get("Identity") {
            Some(Value::String(id)) => id
                .trim()
                .strip_prefix("Site:")
                .or_else(|| id.trim().strip_prefix("site:"))
                .unwrap_or(id.trim()),
            _ => match o.get("DisplayName") {
                Some(Value::String(n)) => n.trim(),
                _ => {
                    return Err(json_err(
                        "a site object has no `Identity` string such as `Site:Site1`".to_string(),
                    ));
                }
            },
        }
        .to_string();
        if !model.sites.iter().any(|s| s.name == name) {
            return Err(json_err(format!(
                "site `{name}` is not in the topology (its sites: {})",
                model
                    .sites
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let site = Site {
            federation_route: route(&name, "FederationRoute", o.get("FederationRoute"), model)?,
            xmpp_federation_route: route(&name, "XmppFederationRoute", o.get("XmppFederationRoute"), model)?,
        };
        if out.insert(name.clone(), site).is_some() {
            return Err(json_err(format!("site `{name}` appears twice")));
        }
    }
    Ok(out)
}

/// Builds the observed deployment of a lab started from a topology export.
///
/// Inventory, flags, next hops, media associations and external addresses
/// come from the export; every server is reachable and running. Site routes
/// are, for every site, the one SIP-federation pool and the one
/// XMPP-federation pool of the document, unless `sites_json` (the output of
/// `Get-CsSite | ConvertTo-Json`: one object or an array, `Identity` like
/// `Site:Site1`, routes like `EdgeServer:edgepool1.contoso.com` or null)
/// is given; sites the dump leaves out get no routes. Front End
/// `backup_pool` is left `None`: the published topology does not carry
/// pool pairing in any sample found.
///
/// # Errors
/// [`TopologyError::SitesJson`] when the dump cannot be read or names an
/// unknown site or pool; [`TopologyError::AmbiguousRoutes`] when there is
/// no dump and more than one pool has the same federation enabled.
pub fn to_deployment(model: &TopologyModel, sites_json: Option<&str>) -> Result<Deployment, TopologyError> {
    let sites = match sites_json {
        Some(json) => {
            let given = parse_sites(json, model)?;
            model
                .sites
                .iter()
                .map(|s| (s.name.clone(), given.get(&s.name).cloned().unwrap_or_default()))
                .collect()
        }
        None => {
            let sip = the_pool(model, |p| p.sip_federation, "SIP federation")?;
            let xmpp = the_pool(model, |p| p.xmpp_federation, "XMPP federation")?;
            model
                .sites
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        Site {
                            federation_route: sip.clone(),
                            xmpp_federation_route: xmpp.clone(),
                        },
                    )
                })
                .collect()
        }
    };
    let edge_pools = model
        .edge_pools
        .iter()
        .map(|(f, p)| {
            (
                f.clone(),
                EdgePool {
                    site: p.site.clone(),
                    sip_federation: p.sip_federation,
                    xmpp_federation: p.xmpp_federation,
                    next_hop: p.next_hop.clone(),
                    external_addresses: p.external_addresses.clone(),
                    public_addresses_unknown: p.public_addresses_unknown,
                    product: None,
                    access_edge_fqdn: p.access_edge_fqdn.clone(),
                    computers: computers(&p.servers),
                },
            )
        })
        .collect();
    let front_end_pools = model
        .front_end_pools
        .iter()
        .map(|(f, p)| {
            (
                f.clone(),
                FrontEndPool {
                    site: p.site.clone(),
                    media_edge_pool: p.media_edge_pool.clone(),
                    backup_pool: None,
                    failed_over: crate::model::FailoverState::NotFailedOver,
                    computers: computers(&p.servers),
                },
            )
        })
        .collect();
    Ok(Deployment {
        signature: model.signature.clone().unwrap_or_default(),
        sites,
        edge_pools,
        front_end_pools,
        central_management: None,
        dns: Vec::new(),
    })
}
