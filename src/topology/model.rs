//! [`TopologyModel`]: what the planner needs from a published topology, and
//! [`show`] to print it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::TopologyError;
use crate::model::Fqdn;

/// The published topology as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyModel {
    /// `Topology/@Signature`: changes on every publish.
    pub signature: Option<String>,
    /// The central sites, in document order.
    pub sites: Vec<TopologySite>,
    /// Edge pools (clusters with an `EdgeServer` service) by FQDN.
    pub edge_pools: BTreeMap<Fqdn, TopologyEdgePool>,
    /// Front End pools (clusters with a Registrar that is not a Director) by FQDN.
    pub front_end_pools: BTreeMap<Fqdn, TopologyFrontEndPool>,
}

/// A `CentralSite`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologySite {
    /// `SiteId` as written (a small integer).
    pub id: String,
    /// `Name`: what the cmdlets show as `Site:<Name>`.
    pub name: String,
}

/// An Edge pool as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyEdgePool {
    /// The name of the pool's site.
    pub site: String,
    /// The EdgeServer service has the external AccessEdge `SipServer` / `Mtls`
    /// port ("Enable federation for this Edge pool (Port 5061)").
    pub sip_federation: bool,
    /// The EdgeServer service has `XmppFederationProxy` ports.
    pub xmpp_federation: bool,
    /// The pool of the Registrar the EdgeServer depends on (next hop).
    pub next_hop: Option<Fqdn>,
    /// The public address of each server's Access Edge external interface
    /// (`ConfiguredIPAddress` when NAT is configured, else `IPAddress`),
    /// sorted: what the federation A records hold. Empty when
    /// `public_addresses_unknown`.
    pub external_addresses: Vec<IpAddr>,
    /// Some server's Access Edge external address is private (the Edge is
    /// behind NAT or a load balancer and the topology has no public address
    /// for it), unspecified, or its interface cannot be told.
    pub public_addresses_unknown: bool,
    /// The private Access Edge external addresses found, sorted: never published.
    pub private_addresses: Vec<IpAddr>,
    /// The Access Edge external FQDN (`ConfiguredFqdn` of the AccessEdge ports).
    pub access_edge_fqdn: Option<Fqdn>,
    /// The pool's servers, sorted.
    pub servers: Vec<Fqdn>,
}

/// A Front End pool as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologyFrontEndPool {
    /// The name of the pool's site.
    pub site: String,
    /// The Edge pool its Registrar (else ConfServices / MediationServer) depends on.
    pub media_edge_pool: Option<Fqdn>,
    /// The pool's servers, sorted.
    pub servers: Vec<Fqdn>,
}

/// How [`show`] prints a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowFormat {
    /// YAML (serde-saphyr).
    Yaml,
    /// Pretty-printed JSON.
    Json,
}

/// Prints `model` as YAML or JSON.
///
/// # Errors
/// [`TopologyError::Show`] when the serialiser fails (it does not for a
/// model built by this module).
pub fn show(model: &TopologyModel, format: ShowFormat) -> Result<String, TopologyError> {
    match format {
        ShowFormat::Yaml => serde_saphyr::to_string(model).map_err(|e| TopologyError::Show {
            format: "YAML",
            detail: e.to_string(),
        }),
        ShowFormat::Json => serde_json::to_string_pretty(model)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| TopologyError::Show {
                format: "JSON",
                detail: e.to_string(),
            }),
    }
}
