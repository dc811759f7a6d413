//! The desired state: what a validated document means, in the domain's own
//! terms. The planner takes this, not the YAML types.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::diagnostic::Position;
use crate::model::{Fqdn, ServiceState};

/// A value and where the document says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it is written.
    pub at: Option<Position>,
}

impl<T> Located<T> {
    /// A value with a position.
    pub fn new(value: T, at: Option<Position>) -> Self {
        Self { value, at }
    }
}

/// A managed route: `None` inside means "managed, must be empty" (`null`).
pub type Route = Located<Option<Fqdn>>;

/// The desired routes of one site.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredSite {
    /// Where the site's key is written.
    pub at: Option<Position>,
    /// `federationRoute`, if managed.
    pub federation_route: Option<Route>,
    /// `xmppFederationRoute`, if managed.
    pub xmpp_federation_route: Option<Route>,
}

/// The desired state of one Edge pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredEdgePool {
    /// Where the pool's key is written.
    pub at: Option<Position>,
    /// `services`, if managed.
    pub services: Option<Located<ServiceState>>,
    /// `nextHop`, if managed.
    pub next_hop: Option<Located<Fqdn>>,
    /// `externalAddresses`, if overridden.
    pub external_addresses: Option<Vec<IpAddr>>,
}

/// The desired state of one Front End pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredFrontEndPool {
    /// Where the pool's key is written.
    pub at: Option<Position>,
    /// `mediaEdgePool`, if managed.
    pub media_edge_pool: Option<Located<Fqdn>>,
    /// `failedOver`, if managed.
    pub failed_over: Option<Located<bool>>,
}

/// Where a federation SRV record set points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvTargets {
    /// One record to the Access Edge external FQDN of the pool the route
    /// names (the name on that pool's certificate); no A record is touched.
    AccessEdge,
    /// One record to a fixed host. With `move_address`, the host's A record
    /// holds the external addresses of the pool the route names.
    Host {
        /// The SRV target and, when moved, the A record's owner.
        host: Located<Fqdn>,
        /// Whether the A record follows the route.
        move_address: bool,
    },
    /// One record per host, each an Edge pool's Access Edge external FQDN:
    /// the host of the pool the route names first, the others in this order.
    Hosts(Vec<Located<Fqdn>>),
}

/// A managed federation SRV record set (and perhaps an A record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredRecords {
    /// Where the SRV set points.
    pub targets: SrvTargets,
    /// TTL of the records.
    pub ttl: u32,
}

impl DesiredRecords {
    /// The host whose A record follows the route, if any.
    #[must_use]
    pub fn moved_host(&self) -> Option<&Located<Fqdn>> {
        match &self.targets {
            SrvTargets::Host {
                host,
                move_address: true,
            } => Some(host),
            _ => None,
        }
    }
}

/// One managed DNS zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredZone {
    /// The zone.
    pub zone: Located<Fqdn>,
    /// XMPP records, if managed.
    pub xmpp: Option<DesiredRecords>,
    /// SIP federation records, if managed.
    pub sip: Option<DesiredRecords>,
}

/// Where a desired document came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// The file name as given (`-` for stdin).
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its text, for rendering plan-time diagnostics.
    pub text: String,
}

/// A validated desired-state document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    /// Where it came from.
    pub source: Source,
    /// Listed sites by name.
    pub sites: BTreeMap<String, DesiredSite>,
    /// Listed Edge pools.
    pub edge_pools: BTreeMap<Fqdn, DesiredEdgePool>,
    /// Listed Front End pools.
    pub front_end_pools: BTreeMap<Fqdn, DesiredFrontEndPool>,
    /// Managed DNS zones.
    pub dns: Vec<DesiredZone>,
    /// `verify.ports` (default true).
    pub verify_ports: bool,
    /// `allowMultipleFederationRoutes`.
    pub allow_multiple_federation_routes: bool,
}

impl Desired {
    /// The DNS record sets the document manages: per zone, the SRV record set
    /// and the A record of each host whose address follows a route.
    #[must_use]
    pub fn managed_records(&self) -> Vec<(crate::model::DnsName, crate::model::RecordType)> {
        use crate::model::{DnsName, RecordType};
        let mut out = Vec::new();
        for z in &self.dns {
            if let Some(r) = &z.xmpp {
                out.push((DnsName::xmpp_srv(&z.zone.value), RecordType::Srv));
                if let Some(h) = r.moved_host() {
                    out.push((DnsName::host(&h.value), RecordType::A));
                }
            }
            if let Some(r) = &z.sip {
                out.push((DnsName::sip_srv(&z.zone.value), RecordType::Srv));
                if let Some(h) = r.moved_host() {
                    out.push((DnsName::host(&h.value), RecordType::A));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
