//! The lab file's wire format, `apiVersion: edgefed/v1`, `kind: Lab`: its
//! own types, converted to and from the domain ([`Deployment`],
//! [`Operation`], [`DnsRecord`]), so that a change to a domain type cannot
//! silently change what lab files say. Field names, order and the rules for
//! leaving a field out are the format; change them only with a new version.
//!
//! Each type keeps the name of the domain type it carries (`rename`), so
//! that a bad lab file's error says e.g. "expected struct Computer".

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::file::{Fault, LabFile};
use super::oplog::{LogEntry, Outcome};
use crate::model::{
    CentralManagement, CentralManagementBackup, Computer, Deployment, DnsName, DnsRecord, EdgePool, FailoverState,
    Fqdn, FrontEndPool, ServiceState, Site, SrvTarget,
};
use crate::plan::Operation;

/// The whole lab file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "LabFile", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct LabV1 {
    pub api_version: String,
    pub kind: String,
    pub topology: DeploymentV1,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub staged: Vec<OperationV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staged_against: Option<String>,
    #[serde(default)]
    pub dns: Vec<RecordV1>,
    #[serde(default)]
    pub faults: Vec<FaultV1>,
    /// The operation log of labs written before it moved to its own file:
    /// read, migrated out on the next write, never written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<OperationV1>,
    /// The sequence number of the last operation this file includes; the
    /// operation log's later entries are replayed on top of it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sequence: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_document: Option<PathBuf>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What `lab show --output yaml|json` prints: the lab, and its operation
/// log summarised.
#[derive(Serialize)]
#[serde(rename = "LabShow", rename_all = "camelCase")]
pub(super) struct LabShowV1 {
    #[serde(flatten)]
    lab: LabV1,
    operation_log: super::oplog::LogSummaryV1,
}

impl LabShowV1 {
    pub(super) fn new(lab: &LabFile, log: &super::LogSummary) -> Self {
        Self {
            lab: lab.into(),
            operation_log: log.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Fault", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FaultV1 {
    pub kind: String,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silent: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

/// The published topology and runtime state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Deployment", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DeploymentV1 {
    pub signature: String,
    pub sites: BTreeMap<String, SiteV1>,
    pub edge_pools: BTreeMap<Fqdn, EdgePoolV1>,
    #[serde(default)]
    pub front_end_pools: BTreeMap<Fqdn, FrontEndPoolV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central_management: Option<CentralManagementV1>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<RecordV1>,
}

/// The Central Management Server: the pool that hosts it, and where
/// `Invoke-CsManagementServerFailover` moves it. Whether it answers is not
/// stored: it answers while a server of its pool is reachable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "CentralManagement", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct CentralManagementV1 {
    pub pool: Fqdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pool: Option<Fqdn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_sql_server: Option<Fqdn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_sql_instance: Option<String>,
}

impl From<CentralManagementV1> for CentralManagement {
    fn from(w: CentralManagementV1) -> Self {
        let backup = match (w.backup_pool, w.backup_sql_server) {
            (Some(pool), Some(sql_server)) => Some(CentralManagementBackup {
                pool,
                sql_server,
                sql_instance: w.backup_sql_instance,
            }),
            _ => None,
        };
        // Availability is derived from the pool's servers when the lab is
        // turned into an observation (`LabFile::deployment`).
        Self {
            pool: w.pool,
            available: true,
            backup,
        }
    }
}

impl From<&CentralManagement> for CentralManagementV1 {
    fn from(c: &CentralManagement) -> Self {
        Self {
            pool: c.pool.clone(),
            backup_pool: c.backup.as_ref().map(|b| b.pool.clone()),
            backup_sql_server: c.backup.as_ref().map(|b| b.sql_server.clone()),
            backup_sql_instance: c.backup.as_ref().and_then(|b| b.sql_instance.clone()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Site", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SiteV1 {
    pub federation_route: Option<Fqdn>,
    pub xmpp_federation_route: Option<Fqdn>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "EdgePool", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct EdgePoolV1 {
    pub site: String,
    pub sip_federation: bool,
    pub xmpp_federation: bool,
    pub next_hop: Option<Fqdn>,
    #[serde(default)]
    pub external_addresses: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public_addresses_unknown: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<crate::model::Product>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_edge_fqdn: Option<Fqdn>,
    pub computers: BTreeMap<Fqdn, ComputerV1>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "FrontEndPool", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct FrontEndPoolV1 {
    pub site: String,
    pub media_edge_pool: Option<Fqdn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_pool: Option<Fqdn>,
    #[serde(default)]
    pub failed_over: bool,
    #[serde(default)]
    pub computers: BTreeMap<Fqdn, ComputerV1>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "Computer", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ComputerV1 {
    pub reachable: bool,
    pub services: ServicesV1,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub setup_pending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ServiceState", rename_all = "lowercase")]
pub(super) enum ServicesV1 {
    Running,
    Stopped,
}

/// A DNS record set. An SRV set of one record is written flat
/// (`priority`, `weight`, `port`, `target`), as lab files always had it; a
/// larger set lists its records under `records`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RecordFormV1", into = "RecordFormV1")]
pub(super) enum RecordV1 {
    Srv {
        name: DnsName,
        ttl: u32,
        records: Vec<SrvRecordV1>,
    },
    A {
        name: DnsName,
        ttl: u32,
        addresses: Vec<IpAddr>,
    },
}

/// One record of an SRV set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "SrvRecord", rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SrvRecordV1 {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: Fqdn,
}

/// The written form of [`RecordV1`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename = "DnsRecord", tag = "type", deny_unknown_fields)]
pub(super) enum RecordFormV1 {
    #[serde(rename = "SRV")]
    Srv {
        name: DnsName,
        ttl: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weight: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Fqdn>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        records: Vec<SrvRecordV1>,
    },
    A {
        name: DnsName,
        ttl: u32,
        addresses: Vec<IpAddr>,
    },
}

impl TryFrom<RecordFormV1> for RecordV1 {
    type Error = String;
    fn try_from(form: RecordFormV1) -> Result<Self, Self::Error> {
        match form {
            RecordFormV1::A { name, ttl, addresses } => Ok(Self::A { name, ttl, addresses }),
            RecordFormV1::Srv {
                name,
                ttl,
                priority,
                weight,
                port,
                target,
                mut records,
            } => {
                match (priority, weight, port, target) {
                    (None, None, None, None) => {}
                    (Some(priority), Some(weight), Some(port), Some(target)) if records.is_empty() => {
                        records.push(SrvRecordV1 {
                            priority,
                            weight,
                            port,
                            target,
                        });
                    }
                    _ => {
                        return Err(format!(
                            "SRV record set {name}: write one record as `priority`, `weight`, `port` and `target`, or several under `records`"
                        ));
                    }
                }
                if records.is_empty() {
                    return Err(format!("SRV record set {name} has no record"));
                }
                Ok(Self::Srv { name, ttl, records })
            }
        }
    }
}

impl From<RecordV1> for RecordFormV1 {
    fn from(r: RecordV1) -> Self {
        match r {
            RecordV1::A { name, ttl, addresses } => Self::A { name, ttl, addresses },
            RecordV1::Srv { name, ttl, records } => match <[SrvRecordV1; 1]>::try_from(records) {
                Ok([one]) => Self::Srv {
                    name,
                    ttl,
                    priority: Some(one.priority),
                    weight: Some(one.weight),
                    port: Some(one.port),
                    target: Some(one.target),
                    records: Vec::new(),
                },
                Err(records) => Self::Srv {
                    name,
                    ttl,
                    priority: None,
                    weight: None,
                    port: None,
                    target: None,
                    records,
                },
            },
        }
    }
}

/// An operation of `staged` and `log`: the action's kind and its fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename = "Operation",
    tag = "kind",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
pub(super) enum OperationV1 {
    StartServices {
        pool: Fqdn,
        computer: Fqdn,
    },
    StopServices {
        pool: Fqdn,
        computer: Fqdn,
    },
    SetEdgeNextHop {
        edge_pool: Fqdn,
        next_hop: Fqdn,
    },
    DisableSipFederation {
        edge_pool: Fqdn,
    },
    EnableSipFederation {
        edge_pool: Fqdn,
    },
    SetMediaEdgePool {
        front_end_pool: Fqdn,
        edge_pool: Fqdn,
    },
    EditEdgeNextHop {
        edge_pool: Fqdn,
        next_hop: Fqdn,
    },
    PublishTopology {},
    RunSetup {
        pool: Fqdn,
        computer: Fqdn,
    },
    SetSiteFederationRoute {
        site: String,
        edge_pool: Option<Fqdn>,
    },
    SetSiteXmppRoute {
        site: String,
        edge_pool: Option<Fqdn>,
    },
    SetDnsSrv {
        zone: Fqdn,
        name: DnsName,
        target: Fqdn,
        port: u16,
        priority: u16,
        weight: u16,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        others: Vec<SrvRecordV1>,
        ttl: u32,
        observed: Option<RecordV1>,
    },
    SetDnsA {
        zone: Fqdn,
        name: DnsName,
        addresses: Vec<IpAddr>,
        ttl: u32,
        observed: Option<RecordV1>,
    },
    WaitForReplication {
        pool: Fqdn,
        computer: Fqdn,
    },
    VerifyPort {
        pool: Fqdn,
        address: IpAddr,
        port: u16,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<Fqdn>,
    },
    InvokePoolFailover {
        front_end_pool: Fqdn,
    },
    InvokePoolFailback {
        front_end_pool: Fqdn,
    },
    InvokeCmsFailover {
        from_pool: Fqdn,
        to_pool: Fqdn,
        sql_server: Fqdn,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sql_instance: Option<String>,
    },
}

impl From<LabV1> for LabFile {
    fn from(w: LabV1) -> Self {
        Self {
            api_version: w.api_version,
            kind: w.kind,
            topology: w.topology.into(),
            staged: w.staged.into_iter().map(Operation::from).collect(),
            staged_against: w.staged_against,
            dns: w.dns.into_iter().map(DnsRecord::from).collect(),
            faults: w.faults.into_iter().map(Fault::from).collect(),
            // A file from before the operation log had its own file: the
            // sequence counts the operations its `log:` holds.
            sequence: w.sequence.max(w.log.len() as u64),
            legacy_log: {
                let first = w.sequence.max(w.log.len() as u64) - w.log.len() as u64 + 1;
                (first..)
                    .zip(w.log)
                    .map(|(sequence, op)| LogEntry {
                        sequence,
                        operation: op.into(),
                        stage_against: None,
                        outcome: Outcome::Applied,
                    })
                    .collect()
            },
            topology_document: w.topology_document,
        }
    }
}

impl From<&LabFile> for LabV1 {
    fn from(l: &LabFile) -> Self {
        Self {
            api_version: l.api_version.clone(),
            kind: l.kind.clone(),
            topology: (&l.topology).into(),
            staged: l.staged.iter().map(OperationV1::from).collect(),
            staged_against: l.staged_against.clone(),
            dns: l.dns.iter().map(RecordV1::from).collect(),
            faults: l.faults.iter().map(FaultV1::from).collect(),
            log: Vec::new(),
            sequence: l.sequence,
            topology_document: l.topology_document.clone(),
        }
    }
}

impl From<FaultV1> for Fault {
    fn from(w: FaultV1) -> Self {
        Self {
            kind: w.kind,
            times: w.times,
            message: w.message,
            target: w.target,
            silent: w.silent,
            delay_ms: w.delay_ms,
        }
    }
}

impl From<&Fault> for FaultV1 {
    fn from(f: &Fault) -> Self {
        Self {
            kind: f.kind.clone(),
            times: f.times,
            message: f.message.clone(),
            target: f.target.clone(),
            silent: f.silent,
            delay_ms: f.delay_ms,
        }
    }
}

impl From<DeploymentV1> for Deployment {
    fn from(w: DeploymentV1) -> Self {
        Self {
            signature: w.signature,
            sites: w.sites.into_iter().map(|(k, v)| (k, v.into())).collect(),
            edge_pools: w.edge_pools.into_iter().map(|(k, v)| (k, v.into())).collect(),
            front_end_pools: w.front_end_pools.into_iter().map(|(k, v)| (k, v.into())).collect(),
            central_management: w.central_management.map(Into::into),
            dns: w.dns.into_iter().map(DnsRecord::from).collect(),
        }
    }
}

impl From<&Deployment> for DeploymentV1 {
    fn from(d: &Deployment) -> Self {
        Self {
            signature: d.signature.clone(),
            sites: d.sites.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
            edge_pools: d.edge_pools.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
            front_end_pools: d.front_end_pools.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
            central_management: d.central_management.as_ref().map(Into::into),
            dns: d.dns.iter().map(RecordV1::from).collect(),
        }
    }
}

impl From<SiteV1> for Site {
    fn from(w: SiteV1) -> Self {
        Self {
            federation_route: w.federation_route,
            xmpp_federation_route: w.xmpp_federation_route,
        }
    }
}

impl From<&Site> for SiteV1 {
    fn from(s: &Site) -> Self {
        Self {
            federation_route: s.federation_route.clone(),
            xmpp_federation_route: s.xmpp_federation_route.clone(),
        }
    }
}

impl From<EdgePoolV1> for EdgePool {
    fn from(w: EdgePoolV1) -> Self {
        Self {
            site: w.site,
            sip_federation: w.sip_federation,
            xmpp_federation: w.xmpp_federation,
            next_hop: w.next_hop,
            external_addresses: w.external_addresses,
            public_addresses_unknown: w.public_addresses_unknown,
            product: w.product,
            access_edge_fqdn: w.access_edge_fqdn,
            computers: w.computers.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

impl From<&EdgePool> for EdgePoolV1 {
    fn from(p: &EdgePool) -> Self {
        Self {
            site: p.site.clone(),
            sip_federation: p.sip_federation,
            xmpp_federation: p.xmpp_federation,
            next_hop: p.next_hop.clone(),
            external_addresses: p.external_addresses.clone(),
            public_addresses_unknown: p.public_addresses_unknown,
            product: p.product,
            access_edge_fqdn: p.access_edge_fqdn.clone(),
            computers: p.computers.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
        }
    }
}

impl From<FrontEndPoolV1> for FrontEndPool {
    fn from(w: FrontEndPoolV1) -> Self {
        Self {
            site: w.site,
            media_edge_pool: w.media_edge_pool,
            backup_pool: w.backup_pool,
            failed_over: FailoverState::known(w.failed_over),
            computers: w.computers.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

impl From<&FrontEndPool> for FrontEndPoolV1 {
    fn from(p: &FrontEndPool) -> Self {
        Self {
            site: p.site.clone(),
            media_edge_pool: p.media_edge_pool.clone(),
            backup_pool: p.backup_pool.clone(),
            // The lab keeps a known state.
            failed_over: p.failed_over.is_failed_over(),
            computers: p.computers.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
        }
    }
}

impl From<ComputerV1> for Computer {
    fn from(w: ComputerV1) -> Self {
        Self {
            reachable: w.reachable,
            services: match w.services {
                ServicesV1::Running => ServiceState::Running,
                ServicesV1::Stopped => ServiceState::Stopped,
            },
            setup_pending: w.setup_pending,
        }
    }
}

impl From<&Computer> for ComputerV1 {
    fn from(c: &Computer) -> Self {
        Self {
            reachable: c.reachable,
            services: match c.services {
                ServiceState::Running => ServicesV1::Running,
                ServiceState::Stopped => ServicesV1::Stopped,
            },
            setup_pending: c.setup_pending,
        }
    }
}

impl From<SrvTarget> for SrvRecordV1 {
    fn from(t: SrvTarget) -> Self {
        Self {
            priority: t.priority,
            weight: t.weight,
            port: t.port,
            target: t.target,
        }
    }
}

impl From<SrvRecordV1> for SrvTarget {
    fn from(r: SrvRecordV1) -> Self {
        Self {
            priority: r.priority,
            weight: r.weight,
            port: r.port,
            target: r.target,
        }
    }
}

impl From<RecordV1> for DnsRecord {
    fn from(w: RecordV1) -> Self {
        match w {
            RecordV1::Srv { name, ttl, records } => {
                Self::srv(name, ttl, records.into_iter().map(SrvTarget::from).collect())
            }
            RecordV1::A { name, ttl, addresses } => Self::A { name, ttl, addresses },
        }
    }
}

impl From<&DnsRecord> for RecordV1 {
    fn from(r: &DnsRecord) -> Self {
        match r.clone() {
            DnsRecord::Srv { name, ttl, targets } => Self::Srv {
                name,
                ttl,
                records: targets.into_iter().map(SrvRecordV1::from).collect(),
            },
            DnsRecord::A { name, ttl, addresses } => Self::A { name, ttl, addresses },
        }
    }
}

impl From<OperationV1> for Operation {
    fn from(w: OperationV1) -> Self {
        use OperationV1 as W;
        match w {
            W::StartServices { pool, computer } => Self::StartServices { pool, computer },
            W::StopServices { pool, computer } => Self::StopServices { pool, computer },
            W::SetEdgeNextHop { edge_pool, next_hop } => Self::SetEdgeNextHop { edge_pool, next_hop },
            W::DisableSipFederation { edge_pool } => Self::DisableSipFederation { edge_pool },
            W::EnableSipFederation { edge_pool } => Self::EnableSipFederation { edge_pool },
            W::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => Self::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            },
            W::PublishTopology {} => Self::PublishTopology {},
            W::RunSetup { pool, computer } => Self::RunSetup { pool, computer },
            W::SetSiteFederationRoute { site, edge_pool } => Self::SetSiteFederationRoute { site, edge_pool },
            W::SetSiteXmppRoute { site, edge_pool } => Self::SetSiteXmppRoute { site, edge_pool },
            W::SetDnsSrv {
                zone,
                name,
                target,
                port,
                priority,
                weight,
                others,
                ttl,
                observed,
            } => Self::SetDnsSrv {
                zone,
                name,
                target,
                port,
                priority,
                weight,
                others: others.into_iter().map(SrvTarget::from).collect(),
                ttl,
                observed: observed.map(DnsRecord::from),
            },
            W::SetDnsA {
                zone,
                name,
                addresses,
                ttl,
                observed,
            } => Self::SetDnsA {
                zone,
                name,
                addresses,
                ttl,
                observed: observed.map(DnsRecord::from),
            },
            W::VerifyPort {
                pool,
                address,
                port,
                hosts,
            } => Self::VerifyPort {
                pool,
                address,
                port,
                hosts,
            },
            W::EditEdgeNextHop { edge_pool, next_hop } => Self::EditEdgeNextHop { edge_pool, next_hop },
            W::WaitForReplication { pool, computer } => Self::WaitForReplication { pool, computer },
            W::InvokePoolFailover { front_end_pool } => Self::InvokePoolFailover { front_end_pool },
            W::InvokePoolFailback { front_end_pool } => Self::InvokePoolFailback { front_end_pool },
            W::InvokeCmsFailover {
                from_pool,
                to_pool,
                sql_server,
                sql_instance,
            } => Self::InvokeCmsFailover {
                from_pool,
                to_pool,
                sql_server,
                sql_instance,
            },
        }
    }
}

impl From<&Operation> for OperationV1 {
    fn from(o: &Operation) -> Self {
        use Operation as O;
        match o.clone() {
            O::StartServices { pool, computer } => Self::StartServices { pool, computer },
            O::StopServices { pool, computer } => Self::StopServices { pool, computer },
            O::SetEdgeNextHop { edge_pool, next_hop } => Self::SetEdgeNextHop { edge_pool, next_hop },
            O::DisableSipFederation { edge_pool } => Self::DisableSipFederation { edge_pool },
            O::EnableSipFederation { edge_pool } => Self::EnableSipFederation { edge_pool },
            O::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => Self::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            },
            O::PublishTopology {} => Self::PublishTopology {},
            O::RunSetup { pool, computer } => Self::RunSetup { pool, computer },
            O::SetSiteFederationRoute { site, edge_pool } => Self::SetSiteFederationRoute { site, edge_pool },
            O::SetSiteXmppRoute { site, edge_pool } => Self::SetSiteXmppRoute { site, edge_pool },
            O::SetDnsSrv {
                zone,
                name,
                target,
                port,
                priority,
                weight,
                others,
                ttl,
                observed,
            } => Self::SetDnsSrv {
                zone,
                name,
                target,
                port,
                priority,
                weight,
                others: others.into_iter().map(SrvRecordV1::from).collect(),
                ttl,
                observed: observed.as_ref().map(RecordV1::from),
            },
            O::SetDnsA {
                zone,
                name,
                addresses,
                ttl,
                observed,
            } => Self::SetDnsA {
                zone,
                name,
                addresses,
                ttl,
                observed: observed.as_ref().map(RecordV1::from),
            },
            O::VerifyPort {
                pool,
                address,
                port,
                hosts,
            } => Self::VerifyPort {
                pool,
                address,
                port,
                hosts,
            },
            O::EditEdgeNextHop { edge_pool, next_hop } => Self::EditEdgeNextHop { edge_pool, next_hop },
            O::WaitForReplication { pool, computer } => Self::WaitForReplication { pool, computer },
            O::InvokePoolFailover { front_end_pool } => Self::InvokePoolFailover { front_end_pool },
            O::InvokePoolFailback { front_end_pool } => Self::InvokePoolFailback { front_end_pool },
            O::InvokeCmsFailover {
                from_pool,
                to_pool,
                sql_server,
                sql_instance,
            } => Self::InvokeCmsFailover {
                from_pool,
                to_pool,
                sql_server,
                sql_instance,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Scenario;
    use super::*;

    fn fqdn(s: &str) -> Fqdn {
        Fqdn::parse(s).expect("FQDN")
    }

    fn name(s: &str) -> DnsName {
        DnsName::parse(s).expect("DNS name")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("IP")
    }

    fn read(text: &str) -> LabFile {
        LabFile::parse(Path::new("lab.yaml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// One operation of every kind, the DNS ones with and without an
    /// observed record.
    fn every_operation() -> Vec<Operation> {
        let srv = DnsRecord::srv(
            name("_xmpp-server._tcp.contoso.com"),
            300,
            vec![SrvTarget {
                priority: 0,
                weight: 100,
                port: 5269,
                target: fqdn("xmpp.contoso.com"),
            }],
        );
        let a = DnsRecord::A {
            name: name("xmpp.contoso.com"),
            ttl: 300,
            addresses: vec![ip("192.0.2.20"), ip("2001:db8::20")],
        };
        let (edge, fe, pc) = (
            fqdn("edgepool1.contoso.com"),
            fqdn("fepool1.contoso.com"),
            fqdn("edge1a.contoso.com"),
        );
        vec![
            Operation::StartServices {
                pool: edge.clone(),
                computer: pc.clone(),
            },
            Operation::StopServices {
                pool: edge.clone(),
                computer: pc.clone(),
            },
            Operation::SetEdgeNextHop {
                edge_pool: edge.clone(),
                next_hop: fe.clone(),
            },
            Operation::DisableSipFederation {
                edge_pool: edge.clone(),
            },
            Operation::EnableSipFederation {
                edge_pool: edge.clone(),
            },
            Operation::SetMediaEdgePool {
                front_end_pool: fe.clone(),
                edge_pool: edge.clone(),
            },
            Operation::EditEdgeNextHop {
                edge_pool: edge.clone(),
                next_hop: fe.clone(),
            },
            Operation::PublishTopology {},
            Operation::RunSetup {
                pool: edge.clone(),
                computer: pc.clone(),
            },
            Operation::WaitForReplication {
                pool: edge.clone(),
                computer: pc,
            },
            Operation::SetSiteFederationRoute {
                site: "Site 1".into(),
                edge_pool: Some(edge.clone()),
            },
            Operation::SetSiteXmppRoute {
                site: "Site1".into(),
                edge_pool: None,
            },
            Operation::SetDnsSrv {
                zone: fqdn("contoso.com"),
                name: name("_xmpp-server._tcp.contoso.com"),
                target: fqdn("xmpp.contoso.com"),
                port: 5269,
                priority: 0,
                weight: 100,
                others: vec![SrvTarget {
                    priority: 20,
                    weight: 100,
                    port: 5269,
                    target: fqdn("sip2.contoso.com"),
                }],
                ttl: 300,
                observed: Some(srv),
            },
            Operation::SetDnsSrv {
                zone: fqdn("contoso.com"),
                name: name("_sipfederationtls._tcp.contoso.com"),
                target: fqdn("sip.contoso.com"),
                port: 5061,
                priority: 0,
                weight: 100,
                others: Vec::new(),
                ttl: 300,
                observed: None,
            },
            Operation::SetDnsA {
                zone: fqdn("contoso.com"),
                name: name("xmpp.contoso.com"),
                addresses: vec![ip("192.0.2.10")],
                ttl: 300,
                observed: Some(a),
            },
            Operation::SetDnsA {
                zone: fqdn("contoso.com"),
                name: name("sip.contoso.com"),
                addresses: vec![ip("192.0.2.10")],
                ttl: 60,
                observed: None,
            },
            Operation::VerifyPort {
                pool: edge.clone(),
                address: ip("192.0.2.10"),
                port: 5269,
                hosts: vec![fqdn("xmpp.contoso.com")],
            },
            Operation::InvokePoolFailover {
                front_end_pool: fe.clone(),
            },
            Operation::InvokePoolFailback { front_end_pool: fe },
            Operation::InvokeCmsFailover {
                from_pool: fqdn("fepool1.contoso.com"),
                to_pool: fqdn("fepool2.contoso.com"),
                sql_server: fqdn("sql2.contoso.com"),
                sql_instance: Some("rtc".into()),
            },
        ]
    }

    /// A lab in the generated estates' style (flow mappings for servers,
    /// a flow sequence of addresses, an empty `faults` and `log`).
    fn estate_lab(sites: usize) -> String {
        let mut s = String::from("apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: 00000000\n  sites:\n");
        for i in 0..sites {
            s.push_str(&format!(
                "    Site{i}: {{ federationRoute: edge0.contoso.com, xmppFederationRoute: edge0.contoso.com }}\n"
            ));
        }
        s.push_str("  edgePools:\n");
        for p in 0..2 * sites {
            s.push_str(&format!(
                "    edge{p}.contoso.com:\n      site: Site{}\n      sipFederation: {}\n      xmppFederation: true\n      nextHop: fe{p}.contoso.com\n      externalAddresses: [192.0.2.{}]\n      computers:\n        edge{p}-0.contoso.com: {{ reachable: true, services: running }}\n",
                p % sites,
                p == 0,
                p + 1
            ));
        }
        s.push_str("  frontEndPools:\n");
        for f in 0..2 * sites {
            s.push_str(&format!(
                "    fe{f}.contoso.com:\n      site: Site{}\n      mediaEdgePool: edge{f}.contoso.com\n      backupPool: fe{}.contoso.com\n      failedOver: false\n",
                f % sites,
                (f + 1) % (2 * sites)
            ));
        }
        s.push_str("dns:\n  - { name: _xmpp-server._tcp.contoso.com, type: SRV, ttl: 300, priority: 0, weight: 100, port: 5269, target: xmpp.contoso.com }\n  - { name: xmpp.contoso.com, type: A, ttl: 300, addresses: [192.0.2.1] }\nfaults: []\nlog: []\n");
        s
    }

    fn full<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
        serde_saphyr::from_str_with_options(text, crate::document::budget::options(text.len()))
    }

    fn quick<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, crate::document::plain_yaml::Unsupported> {
        crate::document::plain_yaml::from_str(text)
    }

    #[test]
    fn the_quick_reader_reads_every_lab_edgefed_writes_as_the_full_parser_does() {
        let mut texts: Vec<String> = Vec::new();
        for s in Scenario::ALL {
            texts.push(s.text().to_string());
            texts.push(s.lab().expect("scenario").to_yaml());
        }
        texts.push(estate_lab(3));
        texts.push(LabFile::from(full::<LabV1>(&estate_lab(3)).expect("estate")).to_yaml());
        for text in &texts {
            let quick: LabV1 = quick(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(quick, full::<LabV1>(text).expect("valid"), "{text}");
        }
    }

    #[test]
    fn the_quick_reader_reads_operations_as_the_full_parser_does_or_leaves_them_to_it() {
        let ops: Vec<OperationV1> = every_operation().iter().map(OperationV1::from).collect();
        let text = serde_saphyr::to_string(&ops).expect("written");
        let expected: Vec<OperationV1> = full(&text).expect("valid");
        assert_eq!(expected, ops);
        if let Ok(read) = quick::<Vec<OperationV1>>(&text) {
            assert_eq!(read, ops, "{text}");
        }
        // Without the IPv6 addresses, which only the full parser reads
        // inside an operation, the quick reader reads them all.
        let v4_only: Vec<OperationV1> = ops
            .into_iter()
            .filter(|o| !format!("{o:?}").contains("2001:"))
            .collect();
        let text = serde_saphyr::to_string(&v4_only).expect("written");
        assert_eq!(
            quick::<Vec<OperationV1>>(&text).unwrap_or_else(|e| panic!("{e}\n{text}")),
            v4_only
        );
    }

    #[test]
    fn a_damaged_lab_the_quick_reader_accepts_the_full_parser_reads_the_same() {
        // Small edits of valid labs, at random places: whatever the quick
        // reader makes of one, the full parser must make too.
        let bases = [
            Scenario::XmppFailedOver.text().to_string(),
            Scenario::Healthy.lab().expect("scenario").to_yaml(),
            estate_lab(2),
        ];
        for (seed, base) in (7..).zip(bases) {
            let mut rng = fastrand::Rng::with_seed(seed);
            let (mut accepted, tried) = (0, 1_500);
            for _ in 0..tried {
                let text = damaged(&base, &mut rng);
                if let Ok(quick) = quick::<LabV1>(&text) {
                    accepted += 1;
                    match full::<LabV1>(&text) {
                        Ok(full) => assert_eq!(quick, full, "{text}"),
                        Err(e) => panic!("the quick reader accepted what the full parser refuses ({e}):\n{text}"),
                    }
                }
            }
            assert!(
                accepted > tried / 20,
                "only {accepted} of {tried} edits were read quickly"
            );
        }
    }

    /// `text` with one or two small edits: an inserted fragment, a few
    /// characters deleted, or a line repeated.
    fn damaged(text: &str, rng: &mut fastrand::Rng) -> String {
        const FRAGMENTS: [&str; 35] = [
            " ", "\n", ":", ": ", "- ", "#", " #", "'", "\"", "{", "}", "[", "]", ",", "&a ", "*a", "!!str ", "|", "~",
            "null", "yes", "0", "07", "1.5", "-", "\t", "true", "x", "? ", "\u{1}", "\u{85}", "\u{feff}", "\r\n",
            "---\n", "é",
        ];
        let mut text = text.to_string();
        for _ in 0..rng.usize(1..=2) {
            let mut at = rng.usize(0..=text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.u8(0..3) {
                0 => text.insert_str(at, FRAGMENTS[rng.usize(0..FRAGMENTS.len())]),
                1 if at < text.len() => {
                    let end = (at + rng.usize(1..4)).min(text.len());
                    if text.is_char_boundary(end) {
                        text.replace_range(at..end, "");
                    }
                }
                _ => {
                    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                    let line = text[line_start..line_end].to_string();
                    text.insert_str(line_start, &format!("{line}\n"));
                }
            }
        }
        text
    }

    #[test]
    fn every_built_in_scenario_reads_writes_and_reads_back_equal() {
        for s in Scenario::ALL {
            let lab = s.lab().unwrap_or_else(|e| panic!("{s}: {e}"));
            let written = lab.to_yaml();
            assert_eq!(read(&written), lab, "{s}");
            assert_eq!(read(&written).to_yaml(), written, "{s}: writing is stable");
        }
    }

    #[test]
    fn a_lab_with_every_field_and_operation_round_trips() {
        let mut lab = Scenario::XmppFailedOver.lab().expect("scenario");
        let ops = every_operation();
        assert_eq!(
            ops.iter()
                .map(|o| o.kind())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            crate::plan::OperationKind::ALL.len(),
            "one operation of every kind"
        );
        lab.sequence = 42;
        for (sequence, operation) in (1..).zip(ops.iter().cloned()) {
            let entry = LogEntry {
                sequence,
                operation,
                stage_against: Some("abcd1234".into()),
                outcome: Outcome::Failed("refused".into()),
            };
            let line = entry.to_line();
            assert_eq!(
                LogEntry::from_line(&line).expect("the line reads back"),
                entry,
                "{line}"
            );
        }
        lab.staged = ops.into_iter().filter(|o| o.topology_edit().is_some()).collect();
        lab.faults = vec![
            Fault {
                kind: "publish-topology".into(),
                times: 1,
                message: "CMS unavailable".into(),
                target: None,
                silent: false,
                delay_ms: 0,
            },
            Fault {
                kind: "run-setup".into(),
                times: 3,
                message: "no".into(),
                target: Some("edge1a.contoso.com".into()),
                silent: false,
                delay_ms: 0,
            },
        ];
        lab.topology_document = Some(PathBuf::from("lab.yaml.topology.xml"));
        let pool = lab.topology.edge_pools.values_mut().next().expect("an Edge pool");
        pool.external_addresses.push(ip("2001:db8::10"));
        pool.computers.values_mut().for_each(|c| c.setup_pending = true);
        lab.topology.sites.insert("Site 3".into(), Site::default());

        pool.access_edge_fqdn = Some(fqdn("sip.contoso.com"));
        lab.dns.push(DnsRecord::srv(
            DnsName::xmpp_srv(&fqdn("contoso.com")),
            300,
            vec![
                SrvTarget {
                    priority: 20,
                    weight: 5,
                    port: 5269,
                    target: fqdn("sip2.contoso.com"),
                },
                SrvTarget {
                    priority: 10,
                    weight: 5,
                    port: 5269,
                    target: fqdn("sip.contoso.com"),
                },
            ],
        ));

        let text = lab.to_yaml();
        assert!(text.contains("records:"), "a two-record set is written whole: {text}");
        assert_eq!(read(&text), lab);
        let json: LabV1 = serde_json::from_str(&lab.to_json()).expect("the JSON form reads back");
        assert_eq!(LabFile::from(json), lab);
    }

    /// The format, pinned: what a lab file says for each kind of value.
    #[test]
    fn the_written_text_is_the_v1_format() {
        let mut lab = read(
            "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: s1\n  sites:\n    Site1: { federationRoute: EdgePool1.Contoso.com, xmppFederationRoute: null }\n  edgePools:\n    edgepool1.contoso.com:\n      site: Site1\n      sipFederation: true\n      xmppFederation: false\n      nextHop: null\n      computers:\n        e1.contoso.com: { reachable: true, services: running, setupPending: true }\n",
        );
        lab.sequence = 7;
        lab.faults.push(Fault {
            kind: "set-dns-a".into(),
            times: 1,
            message: "refused".into(),
            target: None,
            silent: false,
            delay_ms: 0,
        });
        assert_eq!(
            lab.to_yaml(),
            "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: s1\n  sites:\n    Site1:\n      federationRoute: edgepool1.contoso.com\n      xmppFederationRoute: null\n  edgePools:\n    edgepool1.contoso.com:\n      site: Site1\n      sipFederation: true\n      xmppFederation: false\n      nextHop: null\n      externalAddresses: []\n      computers:\n        e1.contoso.com:\n          reachable: true\n          services: running\n          setupPending: true\n  frontEndPools: {}\ndns: []\nfaults:\n- kind: set-dns-a\n  times: 1\n  message: refused\nsequence: 7\n"
        );
    }

    #[test]
    fn an_old_lab_s_log_is_read_as_the_operations_up_to_its_sequence() {
        let lab = read(
            "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: s1\n  sites: {}\n  edgePools: {}\nlog:\n- { kind: publish-topology }\n- { kind: set-site-xmpp-route, site: S, edgePool: null }\n",
        );
        assert_eq!(lab.sequence, 2);
        let numbered: Vec<(u64, &str)> = lab
            .legacy_log
            .iter()
            .map(|e| (e.sequence, e.operation.kind().name()))
            .collect();
        assert_eq!(numbered, vec![(1, "publish-topology"), (2, "set-site-xmpp-route")]);
        assert!(!lab.to_yaml().contains("log:"), "never written back");
    }

    #[test]
    fn a_bad_lab_file_names_line_and_column() {
        let cases = [
            (
                "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: x\n  sites: {}\n  edgePools: {}\n  bogus: 1\n",
                "lab.yaml:7:3: invalid lab file: unknown field `bogus`",
            ),
            (
                "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: x\n  sites: {}\n  edgePools: {}\nlog:\n  - { kind: frobnicate }\n",
                "lab.yaml:8:7: invalid lab file: unknown variant `frobnicate`",
            ),
            (
                "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: x\n  sites: {}\n  edgePools: {}\nlog:\n  - { kind: set-site-xmpp-route, site: S, edgePool: not_a_name }\n",
                "lab.yaml:8:5: invalid lab file: label `not_a_name` is not a valid host name label",
            ),
            (
                "apiVersion: edgefed/v2\nkind: Lab\ntopology:\n  signature: x\n  sites: {}\n  edgePools: {}\n",
                "lab.yaml:1:1: invalid lab file: expected `apiVersion: edgefed/v1` and `kind: Lab`, found `edgefed/v2` / `Lab`",
            ),
        ];
        let cases = cases.into_iter().chain([(
            "apiVersion: edgefed/v1\nkind: Lab\ntopology:\n  signature: x\n  sites: {}\n  edgePools: {}\ndns:\n  - { type: SRV, name: _xmpp-server._tcp.contoso.com, ttl: 300, priority: 0, target: x.contoso.com }\n",
            "lab.yaml:8:5: invalid lab file: SRV record set _xmpp-server._tcp.contoso.com: write one record",
        )]);
        for (text, want) in cases {
            let err = LabFile::parse(Path::new("lab.yaml"), text).expect_err(want).to_string();
            assert!(err.starts_with(want), "{err}\nwanted: {want}");
            assert!(err.ends_with("start again with `edgefed lab init --force`"), "{err}");
        }
    }
}
