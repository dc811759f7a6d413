//! One step of a plan: what to change, where, and why.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::kind::{OperationKind, Phase, System};
use crate::model::{DnsName, DnsRecord, Fqdn, SrvTarget};
use crate::topology::TopologyEdit;

/// What an action does, with its fields. The serde tag is the
/// action's `kind` in the plan JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "camelCase")]
pub enum Operation {
    /// `Start-CsWindowsService -ComputerName`.
    StartServices {
        #[serde(rename = "edgePool", alias = "pool")]
        pool: Fqdn,
        computer: Fqdn,
    },
    /// `Stop-CsWindowsService -ComputerName`.
    StopServices {
        #[serde(rename = "edgePool", alias = "pool")]
        pool: Fqdn,
        computer: Fqdn,
    },
    /// `Set-CsEdgeServer -Identity EdgeServer:<edge> -Registrar Registrar:<fe>`.
    SetEdgeNextHop { edge_pool: Fqdn, next_hop: Fqdn },
    /// Topology edit: clear "Enable federation for this Edge pool (Port 5061)".
    DisableSipFederation { edge_pool: Fqdn },
    /// Topology edit: set "Enable federation for this Edge pool (Port 5061)".
    EnableSipFederation { edge_pool: Fqdn },
    /// Topology edit: "Associate Edge pool (for media components)".
    SetMediaEdgePool { front_end_pool: Fqdn, edge_pool: Fqdn },
    /// Topology edit: the Edge pool's next hop (its EdgeServer service's
    /// dependency on a Registrar), in the document the run publishes.
    EditEdgeNextHop { edge_pool: Fqdn, next_hop: Fqdn },
    /// `Publish-CsTopology -FileName … -Force`, then `Enable-CsTopology`.
    PublishTopology {},
    /// Deployment Wizard "Run Again" (Bootstrapper.exe) on one Edge server.
    RunSetup {
        #[serde(rename = "edgePool", alias = "pool")]
        pool: Fqdn,
        computer: Fqdn,
    },
    /// `Set-CsSite -Identity <site> -FederationRoute EdgeServer:<pool>`.
    SetSiteFederationRoute { site: String, edge_pool: Option<Fqdn> },
    /// `Set-CsSite -Identity <site> -XmppFederationRoute EdgeServer:<pool>`.
    SetSiteXmppRoute { site: String, edge_pool: Option<Fqdn> },
    /// RFC 2136 update of an SRV record set: afterwards the set holds
    /// exactly the first record (`target`, `port`, `priority`, `weight`)
    /// and `others`.
    SetDnsSrv {
        /// The zone the update goes to.
        zone: Fqdn,
        name: DnsName,
        target: Fqdn,
        port: u16,
        priority: u16,
        weight: u16,
        /// The set's other records (one per further Edge pool), in priority
        /// order; empty for a one-record set.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        others: Vec<SrvTarget>,
        ttl: u32,
        /// The record set the plan observed, or `None` when absent: the
        /// update's prerequisite, so a change made by someone else between
        /// plan and apply is detected instead of overwritten.
        observed: Option<DnsRecord>,
    },
    /// RFC 2136 update of a host's A / AAAA record sets.
    SetDnsA {
        /// The zone the update goes to.
        zone: Fqdn,
        name: DnsName,
        addresses: Vec<IpAddr>,
        ttl: u32,
        /// The record set the plan observed (the update's prerequisite).
        observed: Option<DnsRecord>,
    },
    /// Wait until CMS replication has reached an Edge server
    /// (`Get-CsManagementStoreReplicationStatus`).
    WaitForReplication {
        #[serde(rename = "edgePool", alias = "pool")]
        pool: Fqdn,
        computer: Fqdn,
    },
    /// Probe a federation port on a pool's external address.
    VerifyPort {
        #[serde(rename = "edgePool", alias = "pool")]
        pool: Fqdn,
        address: IpAddr,
        port: u16,
        /// The federation hosts DNS points at this port (the SRV targets of
        /// the document's zones: `sip` hosts for 5061, `xmpp` hosts for
        /// 5269): the certificate the port presents must cover each. Empty
        /// when the document manages no such host.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<Fqdn>,
    },
    /// `Invoke-CsPoolFailover -PoolFqdn <fe> -DisasterMode`.
    InvokePoolFailover { front_end_pool: Fqdn },
    /// `Invoke-CsPoolFailBack -PoolFqdn <fe>`.
    InvokePoolFailback { front_end_pool: Fqdn },
    /// `Invoke-CsManagementServerFailover -BackupSqlServerFqdn <sql>
    /// [-BackupSqlInstanceName <instance>] -Force`: the Central Management
    /// Server moves from `from_pool` (down) to `to_pool`, its backup pool.
    InvokeCmsFailover {
        from_pool: Fqdn,
        to_pool: Fqdn,
        sql_server: Fqdn,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sql_instance: Option<String>,
    },
}

impl Operation {
    /// The kind of the operation: its row of the action-kind table.
    #[must_use]
    pub fn kind(&self) -> OperationKind {
        use OperationKind as K;
        match self {
            Self::StartServices { .. } => K::StartServices,
            Self::StopServices { .. } => K::StopServices,
            Self::SetEdgeNextHop { .. } => K::SetEdgeNextHop,
            Self::DisableSipFederation { .. } => K::DisableSipFederation,
            Self::EnableSipFederation { .. } => K::EnableSipFederation,
            Self::SetMediaEdgePool { .. } => K::SetMediaEdgePool,
            Self::EditEdgeNextHop { .. } => K::EditEdgeNextHop,
            Self::PublishTopology {} => K::PublishTopology,
            Self::RunSetup { .. } => K::RunSetup,
            Self::SetSiteFederationRoute { .. } => K::SetSiteFederationRoute,
            Self::SetSiteXmppRoute { .. } => K::SetSiteXmppRoute,
            Self::SetDnsSrv { .. } => K::SetDnsSrv,
            Self::SetDnsA { .. } => K::SetDnsA,
            Self::WaitForReplication { .. } => K::WaitForReplication,
            Self::VerifyPort { .. } => K::VerifyPort,
            Self::InvokePoolFailover { .. } => K::InvokePoolFailover,
            Self::InvokePoolFailback { .. } => K::InvokePoolFailback,
            Self::InvokeCmsFailover { .. } => K::InvokeCmsFailover,
        }
    }

    /// The system that performs the operation.
    #[must_use]
    pub fn system(&self) -> System {
        self.kind().system()
    }

    /// What the action acts on, for output and the third tie-break.
    #[must_use]
    pub fn target(&self) -> String {
        match self {
            Self::StartServices { computer, .. }
            | Self::StopServices { computer, .. }
            | Self::RunSetup { computer, .. }
            | Self::WaitForReplication { computer, .. } => computer.to_string(),
            Self::SetEdgeNextHop { edge_pool, .. }
            | Self::EditEdgeNextHop { edge_pool, .. }
            | Self::DisableSipFederation { edge_pool }
            | Self::EnableSipFederation { edge_pool } => edge_pool.to_string(),
            Self::SetMediaEdgePool { front_end_pool, .. }
            | Self::InvokePoolFailover { front_end_pool }
            | Self::InvokePoolFailback { front_end_pool } => front_end_pool.to_string(),
            Self::PublishTopology {} => String::new(),
            Self::SetSiteFederationRoute { site, .. } | Self::SetSiteXmppRoute { site, .. } => site.clone(),
            Self::SetDnsSrv { name, .. } | Self::SetDnsA { name, .. } => name.to_string(),
            Self::VerifyPort { address, port, .. } => format!("{address}:{port}"),
            Self::InvokeCmsFailover { from_pool, .. } => from_pool.to_string(),
        }
    }

    /// For a DNS action, the change it makes: the zone, the record set to
    /// hold afterwards (addresses sorted), and the one it expects to find.
    #[must_use]
    pub fn dns_change(&self) -> Option<DnsChange> {
        match self {
            Self::SetDnsSrv {
                zone,
                name,
                target,
                port,
                priority,
                weight,
                others,
                ttl,
                observed,
            } => {
                let first = SrvTarget {
                    priority: *priority,
                    weight: *weight,
                    port: *port,
                    target: target.clone(),
                };
                Some(DnsChange {
                    zone: zone.clone(),
                    desired: DnsRecord::srv(
                        name.clone(),
                        *ttl,
                        std::iter::once(first).chain(others.iter().cloned()).collect(),
                    ),
                    observed: observed.clone(),
                })
            }
            Self::SetDnsA {
                zone,
                name,
                addresses,
                ttl,
                observed,
            } => {
                let mut addresses = addresses.clone();
                addresses.sort();
                addresses.dedup();
                Some(DnsChange {
                    zone: zone.clone(),
                    desired: DnsRecord::A {
                        name: name.clone(),
                        ttl: *ttl,
                        addresses,
                    },
                    observed: observed.clone(),
                })
            }
            Self::StartServices { .. }
            | Self::StopServices { .. }
            | Self::SetEdgeNextHop { .. }
            | Self::DisableSipFederation { .. }
            | Self::EnableSipFederation { .. }
            | Self::SetMediaEdgePool { .. }
            | Self::PublishTopology {}
            | Self::RunSetup { .. }
            | Self::SetSiteFederationRoute { .. }
            | Self::SetSiteXmppRoute { .. }
            | Self::VerifyPort { .. }
            | Self::InvokePoolFailover { .. }
            | Self::InvokePoolFailback { .. }
            | Self::EditEdgeNextHop { .. }
            | Self::WaitForReplication { .. }
            | Self::InvokeCmsFailover { .. } => None,
        }
    }

    /// For a topology document edit, the edit itself.
    #[must_use]
    pub fn topology_edit(&self) -> Option<TopologyEdit> {
        match self {
            Self::DisableSipFederation { edge_pool } => Some(TopologyEdit::DisableSipFederation {
                edge_pool: edge_pool.clone(),
            }),
            Self::EnableSipFederation { edge_pool } => Some(TopologyEdit::EnableSipFederation {
                edge_pool: edge_pool.clone(),
            }),
            Self::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => Some(TopologyEdit::SetMediaEdgePool {
                front_end_pool: front_end_pool.clone(),
                edge_pool: edge_pool.clone(),
            }),
            Self::EditEdgeNextHop { edge_pool, next_hop } => Some(TopologyEdit::SetNextHop {
                edge_pool: edge_pool.clone(),
                next_hop: next_hop.clone(),
            }),
            Self::StartServices { .. }
            | Self::StopServices { .. }
            | Self::SetEdgeNextHop { .. }
            | Self::PublishTopology {}
            | Self::RunSetup { .. }
            | Self::SetSiteFederationRoute { .. }
            | Self::SetSiteXmppRoute { .. }
            | Self::SetDnsSrv { .. }
            | Self::SetDnsA { .. }
            | Self::VerifyPort { .. }
            | Self::InvokePoolFailover { .. }
            | Self::InvokePoolFailback { .. }
            | Self::WaitForReplication { .. }
            | Self::InvokeCmsFailover { .. } => None,
        }
    }
}

impl fmt::Display for Operation {
    /// One line: the kind and what it acts on, e.g.
    /// `set-site-xmpp-route Site1 → edgepool1.contoso.com`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind().name();
        let route = |p: &Option<Fqdn>| p.as_ref().map_or_else(|| "(none)".to_string(), ToString::to_string);
        match self {
            Self::StartServices { pool, computer }
            | Self::StopServices { pool, computer }
            | Self::RunSetup { pool, computer }
            | Self::WaitForReplication { pool, computer } => write!(f, "{kind} {computer} (pool {pool})"),
            Self::SetEdgeNextHop { edge_pool, next_hop } | Self::EditEdgeNextHop { edge_pool, next_hop } => {
                write!(f, "{kind} {edge_pool} → {next_hop}")
            }
            Self::DisableSipFederation { edge_pool } | Self::EnableSipFederation { edge_pool } => {
                write!(f, "{kind} {edge_pool}")
            }
            Self::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => {
                write!(f, "{kind} {front_end_pool} → {edge_pool}")
            }
            Self::PublishTopology {} => write!(f, "{kind}"),
            Self::SetSiteFederationRoute { site, edge_pool } | Self::SetSiteXmppRoute { site, edge_pool } => {
                write!(f, "{kind} {site} → {}", route(edge_pool))
            }
            Self::SetDnsSrv {
                name,
                target,
                port,
                others,
                ..
            } => {
                write!(f, "{kind} {name} → {target}:{port}")?;
                for o in others {
                    write!(f, ", then {}:{}", o.target, o.port)?;
                }
                Ok(())
            }
            Self::SetDnsA { name, addresses, .. } => {
                let list: Vec<String> = addresses.iter().map(ToString::to_string).collect();
                write!(f, "{kind} {name} → {}", list.join(", "))
            }
            Self::VerifyPort {
                pool, address, port, ..
            } => write!(f, "{kind} {address}:{port} (pool {pool})"),
            Self::InvokePoolFailover { front_end_pool } | Self::InvokePoolFailback { front_end_pool } => {
                write!(f, "{kind} {front_end_pool}")
            }
            Self::InvokeCmsFailover {
                from_pool,
                to_pool,
                sql_server,
                ..
            } => write!(f, "{kind} {from_pool} → {to_pool} (database on {sql_server})"),
        }
    }
}

/// The change a DNS action makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsChange {
    /// The zone the update goes to.
    pub zone: Fqdn,
    /// The record set afterwards.
    pub desired: DnsRecord,
    /// The record set the plan observed (`None`: absent).
    pub observed: Option<DnsRecord>,
}

/// What an edge of the plan's DAG waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Wait {
    /// The action runs only once its predecessor has succeeded: a failure
    /// blocks everything after it (the default).
    Success,
    /// The action runs once its predecessor has ended, whatever the
    /// outcome: a stopped service is started again even when a step inside
    /// the bracket failed.
    Completion,
}

/// An edge of the plan's DAG: the action waits on action `on`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The id of the action waited on.
    pub on: usize,
    /// Whether it must have succeeded or only ended.
    pub wait: Wait,
    /// Why the action waits, in one line.
    pub reason: String,
}

/// An action of a plan: a node of its DAG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// 1-based position in the printed order.
    pub id: usize,
    /// What it does.
    pub operation: Operation,
    /// When it runs: the first tie-break of the printed order.
    pub phase: Phase,
    /// The actions it waits on: the direct edges of the DAG, by id.
    pub depends_on: Vec<Dependency>,
    /// Why the action is in the plan, citing the procedure step. Display only:
    /// nothing decides on it.
    pub reason: String,
}

impl Action {
    /// The ids of the actions this one waits on.
    pub fn depends_on_ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.depends_on.iter().map(|d| d.on)
    }
}
