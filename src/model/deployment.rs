//! Observed state of a Lync / Skype for Business deployment.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{CentralManagement, DnsName, DnsRecord, FailoverState, Fqdn};

/// Whether a server's Lync services run (`Get-CsWindowsService` → `Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceState {
    /// All Lync services on the server are `Running`.
    Running,
    /// The services are stopped.
    Stopped,
}

impl ServiceState {
    /// `Running` when `running`, else `Stopped`.
    #[must_use]
    pub fn running_if(running: bool) -> Self {
        if running { Self::Running } else { Self::Stopped }
    }

    /// The word used in documents and output.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
        }
    }
}

/// One server of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Computer {
    /// Whether the server answers (for an Edge server: PowerShell remoting
    /// reached it and `Get-CsWindowsService` ran there).
    pub reachable: bool,
    /// Its services.
    pub services: ServiceState,
    /// Setup ("Run Again") has not run since the server's pool gained the
    /// SIP federation role: the role is published but not yet installed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub setup_pending: bool,
}

/// A central site and its two federation routes (`Get-CsSite`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Site {
    /// `FederationRoute`: the Edge pool that carries SIP federation for the site.
    pub federation_route: Option<Fqdn>,
    /// `XmppFederationRoute`: the Edge pool that carries XMPP federation.
    pub xmpp_federation_route: Option<Fqdn>,
}

/// An Edge pool as the published topology and the cmdlets show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgePool {
    /// The site the pool belongs to.
    pub site: String,
    /// "Enable federation for this Edge pool (Port 5061)", as published.
    pub sip_federation: bool,
    /// "Enable XMPP federation for this Edge pool", as published.
    pub xmpp_federation: bool,
    /// The internal next-hop pool (`Get-CsService -EdgeServer` → `Registrar`).
    pub next_hop: Option<Fqdn>,
    /// Access Edge external addresses (the DNS A records point here).
    #[serde(default)]
    pub external_addresses: Vec<IpAddr>,
    /// The topology holds no public address for the pool's Access Edge
    /// external interface (the Edge is behind NAT or a load balancer):
    /// `external_addresses` is empty, and a DNS change for the pool needs
    /// `externalAddresses` in the document (rule P7).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public_addresses_unknown: bool,
    /// The product its servers run (`Get-CsService -EdgeServer` → `Version`),
    /// when observed: the PowerShell backend reads it; the lab may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<super::Product>,
    /// The Access Edge external FQDN (`ConfiguredFqdn` of the pool's external
    /// Access Edge ports in the published topology): the name the pool's
    /// certificate carries, where federation SRV records point by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_edge_fqdn: Option<Fqdn>,
    /// The pool's servers.
    pub computers: BTreeMap<Fqdn, Computer>,
}

/// A Front End pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrontEndPool {
    /// The site the pool belongs to.
    pub site: String,
    /// "Associate Edge pool (for media components)".
    pub media_edge_pool: Option<Fqdn>,
    /// The paired backup pool (`Get-CsPoolBackupRelationship`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pool: Option<Fqdn>,
    /// Whether `Invoke-CsPoolFailover` has been done and not yet reversed
    /// (unknown through the Management Shell: see [`FailoverState`]).
    #[serde(default)]
    pub failed_over: FailoverState,
    /// The pool's servers.
    #[serde(default)]
    pub computers: BTreeMap<Fqdn, Computer>,
}

/// Everything a backend observes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    /// The published topology's signature: it changes on every publish.
    pub signature: String,
    /// Sites by name.
    pub sites: BTreeMap<String, Site>,
    /// Edge pools by FQDN.
    pub edge_pools: BTreeMap<Fqdn, EdgePool>,
    /// Front End pools by FQDN.
    #[serde(default)]
    pub front_end_pools: BTreeMap<Fqdn, FrontEndPool>,
    /// The Central Management Server, when observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central_management: Option<CentralManagement>,
    /// The external DNS records edgefed can see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsRecord>,
}

impl Deployment {
    /// The pool (Edge or Front End) that has `computer` as a server.
    #[must_use]
    pub fn pool_of_computer(&self, computer: &Fqdn) -> Option<&Fqdn> {
        self.edge_pools
            .iter()
            .find(|(_, p)| p.computers.contains_key(computer))
            .map(|(f, _)| f)
            .or_else(|| {
                self.front_end_pools
                    .iter()
                    .find(|(_, p)| p.computers.contains_key(computer))
                    .map(|(f, _)| f)
            })
    }

    /// The servers of a pool, Edge or Front End.
    pub fn computers_mut(&mut self, pool: &Fqdn) -> Option<&mut BTreeMap<Fqdn, Computer>> {
        if let Some(p) = self.edge_pools.get_mut(pool) {
            Some(&mut p.computers)
        } else {
            self.front_end_pools.get_mut(pool).map(|p| &mut p.computers)
        }
    }

    /// The pool of the Central Management Server when it is down: observed
    /// unavailable, or no server of its pool answers.
    #[must_use]
    pub fn central_management_down(&self) -> Option<&Fqdn> {
        let cms = self.central_management.as_ref()?;
        let answers = self
            .front_end_pools
            .get(&cms.pool)
            .is_some_and(|p| p.computers.values().any(|c| c.reachable));
        (!cms.available || !answers).then_some(&cms.pool)
    }

    /// The DNS record of `name` and `kind`, if observed.
    #[must_use]
    pub fn dns_record(&self, name: &DnsName, kind: super::RecordType) -> Option<&DnsRecord> {
        self.dns.iter().find(|r| r.name() == name && r.record_type() == kind)
    }

    /// A stable digest of everything observed: a saved plan records it, and
    /// `reconcile --plan` refuses the plan when it no longer matches. It is
    /// computed from its own versioned input (`FingerprintInputV1` in
    /// `model/fingerprint.rs`, which lists its fields), not from this
    /// type's serde form.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        super::fingerprint::fingerprint(self)
    }
}
