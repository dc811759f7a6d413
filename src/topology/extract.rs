//! From the [`Index`] to the [`TopologyModel`], with the links edits need
//! (which service of which pool to change).
//!
//! Mapping (checked against the public samples):
//! - SIP federation: the EdgeServer service has a `Port` with
//!   `Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External"
//!   Protocol="Mtls"`. The `SipClient`/`Tls` external port and the internal
//!   `SipServer` port are other things and do not count.
//! - XMPP federation: a `Port` with `Owner="urn:component:XmppFederationProxy"`.
//! - Next hop: the EdgeServer's `Dependency` on a `Registrar` service.
//! - Media association: a Front End's Registrar / ConfServices / MediationServer
//!   `Dependency` on an `EdgeServer` service. (Registrar ↔ EdgeServer is a
//!   cycle; nothing here walks the graph, so that is fine.)
//! - External addresses: only the Access Edge external interface's public
//!   address (see `addresses`).

use std::collections::BTreeMap;

use super::index::{ClusterKey, EDGE_ROLE, Index, MEDIA_ROLES, PortEntry, PortKind, REGISTRAR_ROLE, ServiceKey, Sym};
use super::model::{TopologyEdgePool, TopologyFrontEndPool, TopologyModel, TopologySite};
use super::{TopologyError, addresses, line_col};
use crate::model::Fqdn;

/// Which services belong to which pool.
#[derive(Clone, Debug, Default)]
pub(crate) struct Links {
    /// Edge pool → its EdgeServer service.
    pub edge_service: BTreeMap<Fqdn, ServiceKey>,
    /// Pool (Front End or Director) → its Registrar service.
    pub registrar: BTreeMap<Fqdn, ServiceKey>,
    /// Front End pool → its Registrar / ConfServices / MediationServer services.
    pub media_services: BTreeMap<Fqdn, Vec<ServiceKey>>,
}

/// The SIP federation port of an Edge service.
pub(crate) fn is_federation_port(p: &PortEntry) -> bool {
    p.kind == PortKind::Federation
}

struct Err<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Err<'_> {
    fn invalid(&self, pos: usize, detail: String) -> TopologyError {
        let (line, column) = line_col(self.text, pos);
        TopologyError::Invalid {
            file: self.origin.to_string(),
            line,
            column,
            detail,
        }
    }
    fn duplicate(&self, pos: usize, first: usize, what: String) -> TopologyError {
        let (line, column) = line_col(self.text, pos);
        TopologyError::Duplicate {
            file: self.origin.to_string(),
            line,
            column,
            what,
            first_line: line_col(self.text, first).0,
        }
    }
}

fn fqdn(e: &Err<'_>, raw: &str, pos: usize, what: &str) -> Result<Fqdn, TopologyError> {
    Fqdn::parse(raw).map_err(|err| e.invalid(pos, format!("{what} `{raw}` is not an FQDN: {err}")))
}

/// Builds the model and the links.
pub(crate) fn extract(index: &Index, origin: &str, text: &str) -> Result<(TopologyModel, Links), TopologyError> {
    let e = Err { origin, text };
    let names: std::collections::HashMap<Sym, &str> = index
        .sites
        .iter()
        .filter_map(|s| Some((index.names.lookup(&s.id)?, s.name.as_str())))
        .collect();
    let site_name = |k: &ClusterKey| {
        names
            .get(&k.site)
            .map_or_else(|| index.names.name(k.site).to_string(), |n| (*n).to_string())
    };
    let mut pool_fqdns: BTreeMap<ClusterKey, Fqdn> = BTreeMap::new();
    let mut pool_of = |k: &ClusterKey| -> Result<Fqdn, TopologyError> {
        if let Some(f) = pool_fqdns.get(k) {
            return Ok(f.clone());
        }
        let c = &index.clusters[k];
        let f = fqdn(&e, c.fqdn.value(text), c.fqdn.pos(), "pool")?;
        pool_fqdns.insert(*k, f.clone());
        Ok(f)
    };
    let servers = |k: &ClusterKey| -> Result<Vec<Fqdn>, TopologyError> {
        let mut v = index.clusters[k]
            .machines
            .iter()
            .map(|m| fqdn(&e, m.fqdn.value(text), m.fqdn.pos(), "server"))
            .collect::<Result<Vec<_>, _>>()?;
        v.sort();
        v.dedup();
        Ok(v)
    };

    let mut links = Links::default();
    let mut first_pos: BTreeMap<(Fqdn, Sym), usize> = BTreeMap::new();
    for s in index.services.values() {
        let pool = pool_of(&s.installed_on)?;
        let role = s.key.role;
        if (role == EDGE_ROLE || role == REGISTRAR_ROLE)
            && let Some(first) = first_pos.insert((pool.clone(), role), s.pos)
        {
            return Err(e.duplicate(
                s.pos,
                first,
                format!("the {} service of pool `{pool}`", index.names.name(role)),
            ));
        }
        if role == EDGE_ROLE {
            links.edge_service.insert(pool, s.key);
        } else if role == REGISTRAR_ROLE {
            links.registrar.insert(pool.clone(), s.key);
            if !s.is_director {
                links.media_services.entry(pool).or_default().push(s.key);
            }
        }
    }
    // ConfServices / MediationServer collocated on a Front End pool.
    for s in index.services.values() {
        if MEDIA_ROLES.contains(&s.key.role) && s.key.role != REGISTRAR_ROLE {
            let pool = pool_of(&s.installed_on)?;
            if let Some(v) = links.media_services.get_mut(&pool) {
                v.push(s.key);
            }
        }
    }

    let mut edge_pools = BTreeMap::new();
    for (pool, key) in &links.edge_service {
        let s = &index.services[key];
        let sip_federation = s.ports.iter().any(is_federation_port);
        let xmpp_federation = s.ports.iter().any(|p| p.kind == PortKind::XmppProxy);
        let mut next_hop = None;
        for d in s.deps.iter().filter(|d| d.key.role == REGISTRAR_ROLE) {
            let target = &index.services[&d.key];
            next_hop.get_or_insert(pool_of(&target.installed_on)?);
        }
        let access = s
            .ports
            .iter()
            .find(|p| is_federation_port(p) && p.configured_fqdn.is_some())
            .or_else(|| {
                s.ports.iter().find(|p| {
                    matches!(p.kind, PortKind::Federation | PortKind::AccessEdgeExternal) && p.configured_fqdn.is_some()
                })
            });
        let access_edge_fqdn = match access {
            Some(p) => Some(fqdn(
                &e,
                p.configured_fqdn.as_deref().unwrap_or_default(),
                p.range.start,
                "Access Edge external FQDN",
            )?),
            None => None,
        };
        let invalid = |pos: usize, detail: String| e.invalid(pos, detail);
        let addresses = addresses::access_edge(s, &index.clusters[&s.installed_on], text, &invalid)?;
        edge_pools.insert(
            pool.clone(),
            TopologyEdgePool {
                site: site_name(&s.installed_on),
                sip_federation,
                xmpp_federation,
                next_hop,
                external_addresses: addresses.public,
                public_addresses_unknown: addresses.unknown,
                private_addresses: addresses.private,
                access_edge_fqdn,
                servers: servers(&s.installed_on)?,
            },
        );
    }

    let mut front_end_pools = BTreeMap::new();
    for (pool, keys) in &links.media_services {
        let mut media_edge_pool = None;
        // Registrar first (it is pushed first), then the others.
        for key in keys {
            for d in index.services[key].deps.iter().filter(|d| d.key.role == EDGE_ROLE) {
                let target = &index.services[&d.key];
                media_edge_pool.get_or_insert(pool_of(&target.installed_on)?);
            }
        }
        let Some(first) = keys.first() else { continue };
        let registrar = &index.services[first];
        front_end_pools.insert(
            pool.clone(),
            TopologyFrontEndPool {
                site: site_name(&registrar.installed_on),
                media_edge_pool,
                servers: servers(&registrar.installed_on)?,
            },
        );
    }

    let model = TopologyModel {
        signature: index.signature.clone(),
        sites: index
            .sites
            .iter()
            .map(|s| TopologySite {
                id: s.id.clone(),
                name: s.name.clone(),
            })
            .collect(),
        edge_pools,
        front_end_pools,
    };
    Ok((model, links))
}
