//! What the lab does for each operation, refusing what Lync refuses. A pure
//! function of the lab's state: the backend persists.
//!
//! Topology writes: `Set-CsSite` edits the topology's own site objects and
//! `Set-CsEdgeServer -Registrar` the Edge service's dependency in the
//! topology document, so `set-site-federation-route`, `set-site-xmpp-route`
//! and `set-edge-next-hop` change the topology's signature as a publish does.
//! Topology edits are staged against a signature (see [`start_staging`]); a
//! publish of edits staged against a signature that is no longer the
//! topology's is refused, because the document they were made in would put
//! back whatever was written since.

use sha2::{Digest, Sha256};

use super::file::LabFile;
use super::oplog::Outcome;
use crate::backend::{Applied, BackendError};
use crate::model::{Computer, DnsRecord, FailoverState, Fqdn, ServiceState};
use crate::plan::{Operation, OperationKind};
use crate::topology::TopologyEdit;

fn refused(message: impl Into<String>) -> BackendError {
    BackendError::refused(message)
}

/// Applies `op` to `lab` as operation number `lab.sequence + 1`: injects a
/// matching fault, or performs the operation. A silent fault reports
/// success and changes nothing.
///
/// # Errors
/// [`BackendError::Refused`] with the reason, in Lync's wording where it has one.
pub fn apply(lab: &mut LabFile, op: &Operation) -> Result<Applied, BackendError> {
    apply_traced(lab, op).0
}

/// [`apply`], also saying what happened, as the operation log records it.
pub(super) fn apply_traced(lab: &mut LabFile, op: &Operation) -> (Result<Applied, BackendError>, Outcome) {
    lab.sequence += 1;
    match take_fault(lab, op) {
        Some(Injected::Refuse(message)) => {
            return (Err(refused(message.clone())), Outcome::Failed(message));
        }
        Some(Injected::Silent) => return (Ok(Applied::default()), Outcome::Silent),
        Some(Injected::Delayed) | None => {}
    }
    match perform(lab, op) {
        Ok(applied) => (Ok(applied), Outcome::Applied),
        Err(e) => {
            let message = e.to_string();
            (Err(e), Outcome::Failed(message))
        }
    }
}

/// What a matching fault does to the operation.
enum Injected {
    /// It fails with this message.
    Refuse(String),
    /// It reports success and changes nothing.
    Silent,
    /// It was only slowed down (the backend waited): it runs as usual.
    Delayed,
}

/// How long the next operation like `op` is delayed by a fault, in
/// milliseconds (0: not at all). The fault is taken by [`apply`].
#[must_use]
pub fn delay_of(lab: &LabFile, op: &Operation) -> u64 {
    find_fault(lab, op).map_or(0, |i| lab.faults[i].delay_ms)
}

fn find_fault(lab: &LabFile, op: &Operation) -> Option<usize> {
    let target = op.target();
    lab.faults.iter().position(|f| {
        f.kind == op.kind().name() && f.times > 0 && f.target.as_ref().is_none_or(|t| t.eq_ignore_ascii_case(&target))
    })
}

fn take_fault(lab: &mut LabFile, op: &Operation) -> Option<Injected> {
    let idx = find_fault(lab, op)?;
    let fault = &mut lab.faults[idx];
    fault.times -= 1;
    let injected = if fault.only_delays() {
        Injected::Delayed
    } else if fault.silent {
        Injected::Silent
    } else {
        Injected::Refuse(fault.message.clone())
    };
    if fault.times == 0 {
        lab.faults.remove(idx);
    }
    Some(injected)
}

fn computer<'a>(lab: &'a mut LabFile, pool: &Fqdn, name: &Fqdn) -> Result<&'a mut Computer, BackendError> {
    let computers = lab
        .topology
        .computers_mut(pool)
        .ok_or_else(|| refused(format!("Cannot find pool \"{pool}\" in the topology.")))?;
    let c = computers
        .get_mut(name)
        .ok_or_else(|| refused(format!("Cannot find computer \"{name}\" in pool \"{pool}\".")))?;
    if c.reachable {
        Ok(c)
    } else {
        Err(BackendError::unreachable(
            name.to_string(),
            format!("Cannot connect to computer \"{name}\": the server is unreachable."),
        ))
    }
}

/// Refuses a write to the Central Management store while its server is
/// down, as Lync does: publishing writes the topology to the store,
/// `Set-CsSite` and `Set-CsEdgeServer` write their settings there, and
/// "you must fail over the Central Management Server before failing over
/// the pool".
fn refuse_while_central_management_down(lab: &LabFile, op: &Operation) -> Result<(), BackendError> {
    let Some(pool) = lab.topology.central_management_down() else {
        return Ok(());
    };
    let cmdlet = match op {
        Operation::PublishTopology {} => "Publish-CsTopology",
        Operation::SetSiteFederationRoute { .. } | Operation::SetSiteXmppRoute { .. } => "Set-CsSite",
        Operation::SetEdgeNextHop { .. } => "Set-CsEdgeServer",
        Operation::InvokePoolFailover { .. } => "Invoke-CsPoolFailOver",
        _ => return Ok(()),
    };
    Err(refused(format!(
        "{cmdlet} : Cannot connect to the Central Management store on pool \"{pool}\": the Central Management Server is not available (Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus shows no ActiveMasterFqdn). Fail it over to the backup pool with Invoke-CsManagementServerFailover, then try again."
    )))
}

fn perform(lab: &mut LabFile, op: &Operation) -> Result<Applied, BackendError> {
    refuse_while_central_management_down(lab, op)?;
    match op {
        Operation::StartServices { pool, computer: name } => {
            computer(lab, pool, name)?.services = ServiceState::Running;
            Ok(Applied::default())
        }
        Operation::StopServices { pool, computer: name } => {
            computer(lab, pool, name)?.services = ServiceState::Stopped;
            Ok(Applied::default())
        }
        Operation::SetEdgeNextHop { edge_pool, next_hop } => {
            if !lab.topology.front_end_pools.contains_key(next_hop) {
                return Err(refused(format!(
                    "Cannot find Registrar \"Registrar:{next_hop}\" in the topology."
                )));
            }
            let pool = edge_pool_mut(lab, edge_pool)?;
            pool.next_hop = Some(next_hop.clone());
            Ok(topology_written(lab))
        }
        Operation::DisableSipFederation { edge_pool } | Operation::EnableSipFederation { edge_pool } => {
            edge_pool_mut(lab, edge_pool)?;
            stage(lab, op);
            Ok(Applied {
                detail: Some("staged; takes effect on publish".into()),
                warnings: vec![],
            })
        }
        Operation::SetMediaEdgePool {
            front_end_pool,
            edge_pool,
        } => {
            edge_pool_mut(lab, edge_pool)?;
            if !lab.topology.front_end_pools.contains_key(front_end_pool) {
                return Err(refused(format!(
                    "Cannot find Front End pool \"{front_end_pool}\" in the topology."
                )));
            }
            stage(lab, op);
            Ok(Applied {
                detail: Some("staged; takes effect on publish".into()),
                warnings: vec![],
            })
        }
        Operation::EditEdgeNextHop { edge_pool, next_hop } => {
            if !lab.topology.front_end_pools.contains_key(next_hop) {
                return Err(refused(format!(
                    "Cannot find Registrar \"Registrar:{next_hop}\" in the topology."
                )));
            }
            edge_pool_mut(lab, edge_pool)?;
            stage(lab, op);
            Ok(Applied {
                detail: Some("staged; takes effect on publish".into()),
                warnings: vec![],
            })
        }
        Operation::PublishTopology {} => publish(lab),
        Operation::WaitForReplication { pool, computer: name } => {
            // The lab replicates at once: the server only has to be there.
            computer(lab, pool, name)?;
            Ok(Applied {
                detail: Some("up to date".into()),
                warnings: vec![],
            })
        }
        Operation::RunSetup { pool, computer: name } => {
            computer(lab, pool, name)?.setup_pending = false;
            Ok(Applied::default())
        }
        Operation::SetSiteFederationRoute { site, edge_pool } => {
            if let Some(pool) = edge_pool {
                let p = edge_pool_mut(lab, pool)?;
                if !p.sip_federation {
                    return Err(refused(format!(
                        "Cannot set the federation route of site \"{site}\" to \"EdgeServer:{pool}\": federation is not enabled for this Edge pool in the published topology."
                    )));
                }
            }
            site_mut(lab, site)?.federation_route.clone_from(edge_pool);
            Ok(topology_written(lab))
        }
        Operation::SetSiteXmppRoute { site, edge_pool } => {
            if let Some(pool) = edge_pool {
                let p = edge_pool_mut(lab, pool)?;
                if !p.xmpp_federation {
                    return Err(refused(format!(
                        "Cannot set the XMPP federation route of site \"{site}\" to \"EdgeServer:{pool}\": XMPP federation is not enabled for this Edge pool."
                    )));
                }
            }
            site_mut(lab, site)?.xmpp_federation_route.clone_from(edge_pool);
            Ok(topology_written(lab))
        }
        Operation::SetDnsSrv { .. } | Operation::SetDnsA { .. } => {
            let change = op.dns_change().ok_or_else(|| refused("not a DNS change"))?;
            set_record(lab, change.desired, change.observed.as_ref())
        }
        Operation::VerifyPort {
            pool, address, port, ..
        } => probe(lab, pool, *address, *port),
        Operation::InvokePoolFailover { front_end_pool } => {
            let fe = lab
                .topology
                .front_end_pools
                .get(front_end_pool)
                .ok_or_else(|| refused(format!("Cannot find pool \"{front_end_pool}\" in the topology.")))?;
            if lab
                .topology
                .edge_pools
                .values()
                .any(|e| e.next_hop.as_ref() == Some(front_end_pool))
            {
                return Err(refused(format!(
                    "This Front-end pool \"{front_end_pool}\" is specified in topology as the next hop for the Edge server. Failing over this pool may cause External access/Federation/Split-domain/XMPP features to stop working. Please use Topology Builder to change the Edge internal next hop setting to point to a different Front-end pool,  before you proceed."
                )));
            }
            if fe.backup_pool.is_none() {
                return Err(refused(format!(
                    "Pool \"{front_end_pool}\" has no backup pool: it cannot be failed over."
                )));
            }
            front_end_mut(lab, front_end_pool)?.failed_over = FailoverState::FailedOver;
            Ok(Applied::default())
        }
        Operation::InvokePoolFailback { front_end_pool } => {
            front_end_mut(lab, front_end_pool)?.failed_over = FailoverState::NotFailedOver;
            Ok(Applied::default())
        }
        Operation::InvokeCmsFailover {
            from_pool,
            to_pool,
            sql_server,
            sql_instance,
        } => central_management_failover(lab, from_pool, to_pool, sql_server, sql_instance.as_deref()),
    }
}

/// `Invoke-CsManagementServerFailover -BackupSqlServerFqdn … -Force`, run on
/// a server of `to_pool`: only to the database the topology defines ("You
/// can only invoke the failover to the database defined in the Topology
/// Builder"), from the pool that hosts the Central Management Server now.
fn central_management_failover(
    lab: &mut LabFile,
    from_pool: &Fqdn,
    to_pool: &Fqdn,
    sql_server: &Fqdn,
    sql_instance: Option<&str>,
) -> Result<Applied, BackendError> {
    let Some(cms) = lab.topology.central_management.clone() else {
        return Err(refused(
            "Invoke-CsManagementServerFailover : Cannot find the Central Management Server in the topology.",
        ));
    };
    if cms.pool != *from_pool {
        return Err(BackendError::stale(format!(
            "the Central Management Server is on {}, not on {from_pool} as the plan saw: observe again and re-plan",
            cms.pool
        )));
    }
    let Some(backup) = cms.backup.filter(|b| b.pool == *to_pool) else {
        return Err(refused(format!(
            "Invoke-CsManagementServerFailover : The topology defines no backup Central Management database on pool \"{to_pool}\"."
        )));
    };
    if backup.sql_server != *sql_server || backup.sql_instance.as_deref() != sql_instance {
        return Err(refused(format!(
            "Invoke-CsManagementServerFailover : You can only invoke the failover to the database defined in the Topology Builder ({}{}).",
            backup.sql_server,
            backup
                .sql_instance
                .as_deref()
                .map(|i| format!("\\{i}"))
                .unwrap_or_default()
        )));
    }
    let reachable = lab
        .topology
        .front_end_pools
        .get(to_pool)
        .is_some_and(|p| p.computers.values().any(|c| c.reachable));
    if !reachable {
        return Err(BackendError::unreachable(
            to_pool.to_string(),
            format!("Invoke-CsManagementServerFailover must run on a server of {to_pool}, and none is reachable."),
        ));
    }
    lab.topology.central_management = Some(crate::model::CentralManagement {
        pool: to_pool.clone(),
        available: true,
        backup: None,
    });
    Ok(Applied {
        detail: Some(format!("the Central Management Server now runs on {to_pool}")),
        warnings: vec![],
    })
}

fn edge_pool_mut<'a>(lab: &'a mut LabFile, pool: &Fqdn) -> Result<&'a mut crate::model::EdgePool, BackendError> {
    lab.topology
        .edge_pools
        .get_mut(pool)
        .ok_or_else(|| refused(format!("Cannot find Edge pool \"EdgeServer:{pool}\" in the topology.")))
}

fn front_end_mut<'a>(lab: &'a mut LabFile, pool: &Fqdn) -> Result<&'a mut crate::model::FrontEndPool, BackendError> {
    lab.topology
        .front_end_pools
        .get_mut(pool)
        .ok_or_else(|| refused(format!("Cannot find pool \"{pool}\" in the topology.")))
}

fn site_mut<'a>(lab: &'a mut LabFile, site: &str) -> Result<&'a mut crate::model::Site, BackendError> {
    lab.topology.sites.get_mut(site).ok_or_else(|| {
        refused(format!(
            "Cannot find site \"{site}\". Use Get-CsSite to list the sites."
        ))
    })
}

/// Starts the topology edits of one reconcile, made against the topology
/// whose signature is `against` (the one the reconcile observed): edits an
/// earlier run left staged are discarded, as a new run starts again from the
/// published topology. Returns a warning naming what was discarded.
pub fn start_staging(lab: &mut LabFile, against: &str) -> Option<String> {
    let leftovers = std::mem::take(&mut lab.staged);
    let before = lab.staged_against.replace(against.to_string());
    if leftovers.is_empty() {
        return None;
    }
    let kinds: Vec<String> = leftovers.iter().map(ToString::to_string).collect();
    Some(format!(
        "discarded {} topology edit(s) an earlier run left unpublished (staged against signature {}): {}; this run stages its own against signature {against}",
        leftovers.len(),
        before.as_deref().unwrap_or("unknown"),
        kinds.join("; ")
    ))
}

/// A site route or the Edge next hop was written: the topology changed, so
/// its signature does.
fn topology_written(lab: &mut LabFile) -> Applied {
    new_signature(lab);
    Applied {
        detail: Some(format!("topology changed; new signature {}", lab.topology.signature)),
        warnings: vec![],
    }
}

fn new_signature(lab: &mut LabFile) {
    let digest = Sha256::digest(format!("{}:{}", lab.topology.signature, lab.sequence).as_bytes());
    lab.topology.signature = hex::encode(&digest[..4]);
}

/// Stages a topology edit, replacing an earlier staged edit of the same
/// setting (so a failed publish followed by a new reconcile does not pile
/// up). The first edit staged fixes the signature the edits are made against.
fn stage(lab: &mut LabFile, op: &Operation) {
    if lab.staged.is_empty() && lab.staged_against.is_none() {
        lab.staged_against = Some(lab.topology.signature.clone());
    }
    let key = Setting::of(op);
    lab.staged.retain(|o| Setting::of(o) != key);
    lab.staged.push(op.clone());
}

/// The setting a topology edit changes: a later edit of the same setting
/// replaces it. Borrowed, so comparing the staged edits costs no
/// allocation (a large failover stages thousands of them).
#[derive(PartialEq, Eq)]
enum Setting<'a> {
    /// An Edge pool's SIP federation flag.
    SipFederation(&'a Fqdn),
    /// A Front End pool's media Edge pool.
    MediaEdgePool(&'a Fqdn),
    /// An Edge pool's next hop.
    NextHop(&'a Fqdn),
    /// Anything else, by kind.
    Other(OperationKind),
}

impl<'a> Setting<'a> {
    fn of(op: &'a Operation) -> Self {
        match op {
            Operation::DisableSipFederation { edge_pool } | Operation::EnableSipFederation { edge_pool } => {
                Self::SipFederation(edge_pool)
            }
            Operation::SetMediaEdgePool { front_end_pool, .. } => Self::MediaEdgePool(front_end_pool),
            Operation::EditEdgeNextHop { edge_pool, .. } => Self::NextHop(edge_pool),
            _ => Self::Other(op.kind()),
        }
    }
}

fn publish(lab: &mut LabFile) -> Result<Applied, BackendError> {
    if let Some(against) = &lab.staged_against
        && *against != lab.topology.signature
    {
        return Err(refused(format!(
            "Cannot publish the topology: it was changed after the {} staged edit(s) were made (they were made against signature {against}; the published topology is now {}; site route and Edge next-hop writes change it, as publishes do). Publishing the document they were made in would put back what was written since. Nothing was published; observe again and re-plan.",
            lab.staged.len(),
            lab.topology.signature
        )));
    }
    lab.staged_against = None;
    for edit in std::mem::take(&mut lab.staged)
        .iter()
        .filter_map(Operation::topology_edit)
    {
        match edit {
            TopologyEdit::EnableSipFederation { edge_pool } => {
                if let Some(p) = lab.topology.edge_pools.get_mut(&edge_pool)
                    && !p.sip_federation
                {
                    p.sip_federation = true;
                    // The role is published; each server must run setup to install it.
                    for c in p.computers.values_mut() {
                        c.setup_pending = true;
                    }
                }
            }
            TopologyEdit::DisableSipFederation { edge_pool } => {
                if let Some(p) = lab.topology.edge_pools.get_mut(&edge_pool) {
                    p.sip_federation = false;
                    for c in p.computers.values_mut() {
                        c.setup_pending = false;
                    }
                }
            }
            TopologyEdit::SetMediaEdgePool {
                front_end_pool,
                edge_pool,
            } => {
                if let Some(fe) = lab.topology.front_end_pools.get_mut(&front_end_pool) {
                    fe.media_edge_pool = Some(edge_pool);
                }
            }
            TopologyEdit::SetNextHop { edge_pool, next_hop } => {
                if let Some(p) = lab.topology.edge_pools.get_mut(&edge_pool) {
                    p.next_hop = Some(next_hop);
                }
            }
        }
    }
    new_signature(lab);
    let federated = lab.topology.edge_pools.values().filter(|p| p.sip_federation).count();
    let mut warnings = Vec::new();
    if federated > 1 {
        warnings.push(
            "WARNING: The topology has more than one Federated Edge Server. Only one Edge pool should be enabled for federation, except during a migration."
                .to_string(),
        );
    }
    Ok(Applied {
        detail: Some(format!("new signature {}", lab.topology.signature)),
        warnings,
    })
}

fn set_record(lab: &mut LabFile, record: DnsRecord, observed: Option<&DnsRecord>) -> Result<Applied, BackendError> {
    let idx = lab
        .dns
        .iter()
        .position(|r| r.name() == record.name() && r.record_type() == record.record_type());
    let current = idx.map(|i| &lab.dns[i]);
    if current != observed {
        let found = current.map_or_else(|| "no record".to_string(), |r| format!("{r:?}"));
        return Err(BackendError::stale(format!(
            "DNS record {} {} changed since it was observed (prerequisite failed: found {found}); run `edgefed plan` again",
            record.name(),
            record.record_type()
        )));
    }
    match idx {
        Some(i) => lab.dns[i] = record,
        None => lab.dns.push(record),
    }
    Ok(Applied::default())
}

fn probe(lab: &LabFile, pool: &Fqdn, address: std::net::IpAddr, port: u16) -> Result<Applied, BackendError> {
    let no_answer = |why: String| refused(format!("no answer on {address}:{port} (simulated): {why}"));
    let p = lab
        .topology
        .edge_pools
        .get(pool)
        .ok_or_else(|| no_answer(format!("{pool} is not an Edge pool")))?;
    if !p.external_addresses.contains(&address) {
        return Err(no_answer(format!("{address} is not an external address of {pool}")));
    }
    let serving: Vec<&Computer> = p
        .computers
        .values()
        .filter(|c| c.reachable && c.services == ServiceState::Running)
        .collect();
    if serving.is_empty() {
        return Err(no_answer(format!(
            "no server of {pool} is reachable with its services running"
        )));
    }
    match port {
        5269 => {
            let routed = lab
                .topology
                .sites
                .values()
                .any(|s| s.xmpp_federation_route.as_ref() == Some(pool));
            if !p.xmpp_federation || !routed {
                return Err(no_answer(format!("{pool} does not carry XMPP federation")));
            }
        }
        5061 => {
            if !p.sip_federation {
                return Err(no_answer(format!(
                    "federation is not enabled for {pool} in the published topology"
                )));
            }
            if serving.iter().any(|c| c.setup_pending) {
                return Err(no_answer(format!(
                    "setup has not run on every server of {pool} since federation was enabled"
                )));
            }
        }
        _ => {}
    }
    Ok(Applied {
        detail: Some(format!("{address}:{port} answered (simulated)")),
        warnings: vec![],
    })
}
