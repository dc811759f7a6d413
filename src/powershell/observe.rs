//! Observation in one round trip, whatever the deployment's size.
//!
//! One script runs `Get-CsTopology -AsXml`, `Get-CsSite`,
//! `Get-CsService -EdgeServer`, `Get-CsService -Registrar`, `Get-CsPool`,
//! `Get-CsManagementStoreReplicationStatus`, `Get-CsWindowsService` on every
//! Edge server through ONE `Invoke-Command` fan-out with the Edge credential
//! (see `commands::service_fan_out`; loops run inside the script, not as
//! round trips) and `Get-CsPoolBackupRelationship -PoolFqdn` for every Front
//! End pool. The reply becomes a [`Deployment`] plus what apply needs later:
//! the topology document as published, its signature, and each Edge pool's
//! product version (for Bootstrapper.exe's folder).
//!
//! Failover state: `Get-CsPoolBackupRelationship` "returns the fully
//! qualified domain name of the backup pool associated with a Registrar
//! pool", and nothing else; `Get-CsPoolFabricState` reports Windows Fabric
//! replicas and `Get-CsUserPoolInfo` the server a user would register with
//! on the backup pool. No documented output says whether a pool is failed
//! over, so a paired pool's state is [`FailoverState::Unknown`] with a
//! warning (the backend adds what its own record says it last did), and an
//! unpaired pool is known not failed over (failover "can only be invoked if
//! you have assigned a backup pool"). The backup pool is read as
//! `BackupPoolFqdn` / `BackupPool` (the object's properties are not
//! documented either).
//!
//! The Central Management Server, as Microsoft's pool failover procedure
//! finds it: the pool that hosts it (`Get-CsService -CentralManagement` →
//! `PoolFqdn`) and whether it answers (`Get-CsManagementStoreReplicationStatus
//! -CentralManagementStoreStatus`: "If they [ActiveMasterFQDN and
//! ActiveFileTransferAgents] are empty, the Central Management Server is not
//! available and you must fail it over"). Where it fails over to: the backup
//! pool of its pool, and the Central Management database
//! (`Get-CsService -CentralManagementDatabase` → `PoolFqdn`,
//! `SqlInstanceName`) other than the one the Central Management service
//! depends on; when that cannot be told, no backup is reported and the
//! planner asks for the failover to be done by hand.
//!
//! Only Edge servers are asked for their services; Front End servers are
//! reported reachable and running. An Edge server the fan-out could not
//! reach is unreachable, with a warning naming it, why (WinRM refused,
//! access denied, not trusted, name not resolved, timed out — see
//! `remoting`) and what to do.
//! `setup_pending` cannot be observed from the Management Shell and is
//! reported `false`.
//!
//! Size: the answer holds the whole published topology and a record per
//! site, pool and Edge server (about 200 MiB at 10,000 sites), so each
//! cmdlet's objects carry only the properties read here (`read`), the
//! answer has its own bound (`super::output_bound`), and the topology
//! document's facts are read on a second thread while the cmdlets' answers
//! are read on this one.

use std::collections::BTreeMap;

use serde_json::Value;

use super::body::{Slot, Unfilled, Values};
use super::commands::{CREDENTIAL_FROM_FILE, PER_COMPUTER_HELPERS, ServiceVerb, credential_helper, service_fan_out};
use super::records::{Record, fqdn_of, role_of, strip_role};
use super::remoting::parse_answers;
use super::script::Script;
use super::topology_view::TopologyFacts;
use super::transport::{StepOutcome, Steps};
use crate::backend::BackendError;
use crate::model::Product;
use crate::model::{
    CentralManagement, CentralManagementBackup, Computer, Deployment, EdgePool, FailoverState, Fqdn, FrontEndPool,
    ServiceState, Site,
};

/// The observe script's helper functions (one line each).
pub const OBSERVE_HELPERS: &[&str] = &[
    "function Edgefed-Computers([string]$p) { foreach ($x in @($edgefedR['pools'].value)) { if ([string]$x.Identity -eq $p -or [string]$x.Fqdn -eq $p) { $x.Computers } } }",
    "function Edgefed-EdgeComputers { foreach ($p in @($edgefedR['edgeServices'].value)) { foreach ($x in @(Edgefed-Computers ([string]$p.PoolFqdn))) { [string]$x } } }",
    "function Edgefed-Backup([string]$p) { try { [ordered]@{ PoolFqdn = $p; Relationship = @(Get-CsPoolBackupRelationship -PoolFqdn $p -ErrorAction Stop | Edgefed-Record 'BackupPoolFqdn','BackupPool'); Error = $null } } catch { [ordered]@{ PoolFqdn = $p; Relationship = @(); Error = $_.Exception.Message } } }",
];

/// The properties observation reads of each cmdlet's objects (every name
/// a version may use): the script asks for these only, so the answer
/// carries nothing that is thrown away — at 10,000 sites the unread
/// properties were about a third of the non-topology part of it.
/// The Central Management steps keep every property: the service's
/// dependency on its database is found in whichever property lists it.
mod read {
    pub const SITE: &[&str] = &["Identity", "FederationRoute", "XmppFederationRoute"];
    pub const EDGE_SERVICE: &[&str] = &[
        "PoolFqdn",
        "Identity",
        "SiteId",
        "Site",
        "Registrar",
        "AccessEdgeExternalSipPort",
        "XmppListeningPort",
        "Version",
        "DependentServiceList",
    ];
    /// `PoolFqdn` is also what the backup step loops over.
    pub const REGISTRAR: &[&str] = &["PoolFqdn", "Identity", "SiteId", "Site"];
    /// `Identity`, `Fqdn` and `Computers` are also what `Edgefed-Computers` reads.
    pub const POOL: &[&str] = &["Identity", "Fqdn", "Computers"];
    pub const REPLICA: &[&str] = &["ReplicaFqdn", "UpToDate"];
}

/// `<cmdlet> | Edgefed-Record '<property>',…`: the cmdlet's objects with
/// only `properties`.
fn records_of(cmdlet: &str, properties: &[&str]) -> String {
    let names: Vec<String> = properties.iter().map(|p| format!("'{p}'")).collect();
    format!("{cmdlet} | Edgefed-Record {}", names.join(","))
}

/// The step that observes every Edge server's services: the servers of
/// every Edge pool, then one fan-out to all of them (none: nothing sent).
fn windows_services_step(credential: &str, parallelism: u32) -> Result<String, Unfilled> {
    let fan_out = service_fan_out(ServiceVerb::Get, "$edgefedEdges").fill(
        &Values::new()
            .with(Slot::EdgeCredential, credential)
            .with(Slot::ThrottleLimit, parallelism.max(1).to_string()),
    )?;
    Ok(format!(
        "$edgefedEdges = @(Edgefed-EdgeComputers); if ($edgefedEdges.Count -gt 0) {{ {fan_out} }}"
    ))
}

/// The observe script. With `credential_file`, the Edge servers are
/// reached with the credential it holds (read on the far side);
/// `parallelism` of them are asked at once.
///
/// # Errors
/// [`BackendError::Failed`] when the credential file's path cannot be a
/// literal (a control character).
pub fn observe_script(credential_file: Option<&str>, parallelism: u32) -> Result<Script, BackendError> {
    let mut s = Script::new();
    for h in OBSERVE_HELPERS {
        s.line(*h);
    }
    for h in PER_COMPUTER_HELPERS {
        s.line(h);
    }
    let credential = match credential_file {
        Some(path) => {
            s.line(credential_helper(path).map_err(|e| BackendError::failed(e.to_string()))?);
            CREDENTIAL_FROM_FILE
        }
        None => "",
    };
    let windows_services =
        windows_services_step(credential, parallelism).map_err(|e| BackendError::failed(e.to_string()))?;
    s.step("topology", "(Get-CsTopology -AsXml).ToString()");
    s.step("sites", &records_of("Get-CsSite", read::SITE));
    s.step(
        "edgeServices",
        &records_of("Get-CsService -EdgeServer", read::EDGE_SERVICE),
    );
    s.step("registrars", &records_of("Get-CsService -Registrar", read::REGISTRAR));
    s.step("pools", &records_of("Get-CsPool", read::POOL));
    s.step(
        "replication",
        &records_of("Get-CsManagementStoreReplicationStatus", read::REPLICA),
    );
    s.step("centralManagement", "Get-CsService -CentralManagement | Edgefed-Record");
    s.step(
        "centralManagementStatus",
        "Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus | Edgefed-Record",
    );
    s.step(
        "centralManagementDatabases",
        "Get-CsService -CentralManagementDatabase | Edgefed-Record",
    );
    s.step("windowsServices", &windows_services);
    s.step(
        "backupRelationships",
        "foreach ($edgefedPool in @($edgefedR['registrars'].value)) { Edgefed-Backup ([string]$edgefedPool.PoolFqdn) }",
    );
    Ok(s)
}

/// What one observation produced.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The deployment.
    pub deployment: Deployment,
    /// Warnings worth showing.
    pub warnings: Vec<String>,
    /// The published topology document, as `Get-CsTopology -AsXml` gave it.
    pub topology_xml: String,
    /// Its signature.
    pub signature: String,
    /// Each Edge pool's product (from `Get-CsService -EdgeServer` → `Version`).
    pub products: BTreeMap<Fqdn, Product>,
}

fn required_step(reply: &mut impl Steps, key: &str, cmdlet: &str) -> Result<Vec<Value>, BackendError> {
    match reply.take(key)? {
        StepOutcome::Ok { value, .. } => Ok(value),
        StepOutcome::Err(message) => Err(BackendError::failed(format!("`{cmdlet}` failed: {message}"))),
    }
}

/// The `Signature` attribute of a published topology document, read
/// without building a DOM (`topology::root_signature`): the observation
/// parses the document once, for its facts.
///
/// # Errors
/// [`BackendError::Failed`] when the document is not XML up to its root
/// start tag or its root has no `Signature`.
pub fn signature_of(xml: &str) -> Result<String, BackendError> {
    crate::topology::root_signature(xml, "Get-CsTopology -AsXml")
        .map_err(|e| {
            BackendError::failed(format!(
                "`Get-CsTopology -AsXml` returned a document that is not XML: {e}"
            ))
        })?
        .ok_or_else(|| {
            BackendError::failed("`Get-CsTopology -AsXml` returned a document whose root has no `Signature` attribute")
        })
}

fn site_name_of(value: &str) -> String {
    strip_role(value).to_string()
}

/// What observation reads from the cmdlets' answers (all but the
/// topology document and the Front End and Central Management steps).
struct Answers {
    sites: BTreeMap<String, Site>,
    /// Each pool's computers, as text (see `read_answers`).
    raw_computers: BTreeMap<Fqdn, Vec<String>>,
    /// The Edge pools' facts as `Get-CsService -EdgeServer` gives them.
    facts: TopologyFacts,
    edge_sites: BTreeMap<Fqdn, String>,
    products: BTreeMap<Fqdn, Product>,
    /// Each Edge server's services.
    states: BTreeMap<Fqdn, Computer>,
}

/// Reads the sites, pools, Edge services, Edge servers' services and
/// replication steps. Warnings about Edge pools go to `warnings`; those
/// about Edge servers (unreachable, not replicated) to `later`, shown
/// after the topology document's. Each step's tree is dropped once read.
fn read_answers(
    reply: &mut impl Steps,
    warnings: &mut Vec<String>,
    later: &mut Vec<String>,
) -> Result<Answers, BackendError> {
    // Sites and their routes.
    let site_values = required_step(reply, "sites", "Get-CsSite")?;
    let mut sites = BTreeMap::new();
    for r in Record::all("Get-CsSite", &site_values)? {
        let name = site_name_of(&r.required(&["Identity"])?);
        let route = |names: &[&str]| -> Result<Option<Fqdn>, BackendError> {
            r.present(names)?
                .map(|v| fqdn_of("Get-CsSite", names[0], &v))
                .transpose()
        };
        sites.insert(
            name,
            Site {
                federation_route: route(&["FederationRoute"])?,
                xmpp_federation_route: route(&["XmppFederationRoute"])?,
            },
        );
    }
    drop(site_values);

    // Pools and their computers.
    let pool_values = required_step(reply, "pools", "Get-CsPool")?;
    // Computers stay text until an Edge or Front End pool needs them: other
    // pools (SQL stores, gateways) may name machines edgefed never touches.
    let mut raw_computers: BTreeMap<Fqdn, Vec<String>> = BTreeMap::new();
    for r in Record::all("Get-CsPool", &pool_values)? {
        let id = r.required(&["Identity", "Fqdn"])?;
        let Ok(pool) = Fqdn::parse(strip_role(&id)) else {
            continue; // Pools that are not FQDNs (e.g. SQL instances) are not ours.
        };
        raw_computers.insert(pool, r.list(&["Computers"]));
    }
    drop(pool_values);
    // Edge services.
    let edge_values = required_step(reply, "edgeServices", "Get-CsService -EdgeServer")?;
    let mut facts = TopologyFacts::default();
    let mut edge_sites = BTreeMap::new();
    let mut products = BTreeMap::new();
    for r in Record::all("Get-CsService -EdgeServer", &edge_values)? {
        let id = r.required(&["PoolFqdn", "Identity"])?;
        let pool = fqdn_of("Get-CsService -EdgeServer", "PoolFqdn", &id)?;
        let site = site_name_of(&r.required(&["SiteId", "Site"])?);
        let next_hop = r
            .text(&["Registrar"])
            .map(|v| fqdn_of("Get-CsService -EdgeServer", "Registrar", &v))
            .transpose()?;
        let sip = r.present(&["AccessEdgeExternalSipPort"])?.is_some_and(|p| p != "0");
        let xmpp = r.text(&["XmppListeningPort"]).is_some_and(|p| p != "0");
        if let Some(v) = r.text(&["Version"]) {
            match Product::from_reported(&v) {
                Some(p) => {
                    products.insert(pool.clone(), p);
                }
                None => warnings.push(format!(
                    "Edge pool {pool} reports Version {v}, which edgefed does not know as Lync Server 2013 or Skype for Business Server 2015 / 2019: run-setup cannot locate Bootstrapper.exe there (check which of {} under Program Files holds Deployment\\Bootstrapper.exe and run it by hand)",
                    Product::FOLDERS
                )),
            }
        }
        for dep in r.list(&["DependentServiceList"]) {
            let role = role_of(&dep).unwrap_or_default();
            if matches!(role.as_str(), "registrar" | "conferencingserver" | "mediationserver")
                && let Ok(fe) = Fqdn::parse(strip_role(&dep))
            {
                facts.media.entry(fe).or_insert_with(|| pool.clone());
            }
        }
        facts.sip_federation.insert(pool.clone(), sip);
        facts.xmpp_federation.insert(pool.clone(), xmpp);
        facts.next_hop.insert(pool.clone(), next_hop);
        edge_sites.insert(pool, site);
    }
    drop(edge_values);

    // Edge computers' services.
    let mut states: BTreeMap<Fqdn, Computer> = BTreeMap::new();
    // One Edge server's answer at a time: at 10,000 sites the whole step
    // as one tree would be the observation's peak.
    let mut read_answer = |value: Value| -> Result<(), BackendError> {
        for answer in parse_answers("Get-CsWindowsService", std::slice::from_ref(&value))? {
            let (reachable, running) = match &answer.outcome {
                Ok(services) => (
                    true,
                    !services.is_empty()
                        && services
                            .iter()
                            .all(|(_, status)| status.eq_ignore_ascii_case("Running")),
                ),
                Err(failure) => {
                    later.push(failure.explain(&answer.computer));
                    (false, false)
                }
            };
            states.insert(
                answer.computer,
                Computer {
                    reachable,
                    services: ServiceState::running_if(running),
                    setup_pending: false,
                },
            );
        }
        Ok(())
    };
    if let Err(message) = reply.take_each("windowsServices", &mut read_answer)? {
        return Err(BackendError::failed(format!(
            "the `Invoke-Command` fan-out of `Get-CsWindowsService` to the Edge servers failed: {message}"
        )));
    }

    // Replication.
    if let StepOutcome::Ok { value, .. } = reply.take("replication")? {
        for r in Record::all("Get-CsManagementStoreReplicationStatus", &value)? {
            if let (Some(replica), Some(false)) = (r.text(&["ReplicaFqdn"]), r.flag(&["UpToDate"]))
                && let Ok(f) = Fqdn::parse(&replica)
                && states.contains_key(&f)
            {
                later.push(format!(
                    "CMS replication has not reached Edge server {f} (UpToDate = False)"
                ));
            }
        }
    }

    Ok(Answers {
        sites,
        raw_computers,
        facts,
        edge_sites,
        products,
        states,
    })
}

/// Turns the observe reply into an [`Observed`].
///
/// # Errors
/// [`BackendError::Failed`] naming the cmdlet (and property) when a required
/// cmdlet failed or returned an object without a required property.
#[allow(clippy::too_many_lines)]
pub fn parse_observation(mut reply: impl Steps) -> Result<Observed, BackendError> {
    let reply = &mut reply;
    let mut warnings = Vec::new();
    // Moved out of the reply, not copied: at 10,000 sites it is most of it.
    let topology_xml = match reply.take_text("topology")? {
        Ok(Some(xml)) => xml,
        Ok(None) => return Err(BackendError::failed("`Get-CsTopology -AsXml` returned no document")),
        Err(message) => {
            return Err(BackendError::failed(format!(
                "`Get-CsTopology -AsXml` failed: {message}"
            )));
        }
    };
    let signature = signature_of(&topology_xml)?;

    // The document's facts are read on a thread of their own while the
    // cmdlets' answers are read here: at 10,000 sites each takes seconds,
    // and neither needs the other until the Edge pools are put together.
    let mut later = Vec::new();
    let (from_doc, answers) = std::thread::scope(|scope| {
        let from_doc = scope.spawn(|| TopologyFacts::from_topology(&topology_xml));
        let answers = read_answers(reply, &mut warnings, &mut later);
        let from_doc = from_doc.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (from_doc, answers)
    });
    let Answers {
        sites,
        raw_computers,
        mut facts,
        edge_sites,
        products,
        states,
    } = answers?;
    let computers_of = |pool: &Fqdn| -> Result<Vec<Fqdn>, BackendError> {
        raw_computers
            .get(pool)
            .map(|list| list.iter().map(|c| fqdn_of("Get-CsPool", "Computers", c)).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };

    // Prefer the topology document's view of the flags (it is what edits act on).
    match from_doc {
        Ok(from_doc) => {
            for (pool, sip) in &from_doc.sip_federation {
                if facts.sip_federation.get(pool).is_some_and(|s| s != sip) {
                    warnings.push(format!(
                        "Edge pool {pool}: the topology document says SIP federation is {}, Get-CsService -EdgeServer says otherwise (is the published topology enabled? run Enable-CsTopology)",
                        if *sip { "on" } else { "off" }
                    ));
                }
            }
            facts.merge_from(from_doc);
        }
        Err(e) => warnings.push(format!(
            "the published topology could not be read ({e}); flags come from Get-CsService -EdgeServer and external addresses are unknown"
        )),
    }

    warnings.extend(later);

    let mut edge_pools = BTreeMap::new();
    for (pool, site) in edge_sites {
        let mut computers = BTreeMap::new();
        for c in computers_of(&pool)? {
            let state = states.get(&c).cloned().unwrap_or(Computer {
                reachable: false,
                services: ServiceState::Stopped,
                setup_pending: false,
            });
            computers.insert(c, state);
        }
        edge_pools.insert(
            pool.clone(),
            EdgePool {
                site,
                sip_federation: facts.sip_federation.get(&pool).copied().unwrap_or(false),
                xmpp_federation: facts.xmpp_federation.get(&pool).copied().unwrap_or(false),
                next_hop: facts.next_hop.get(&pool).cloned().flatten(),
                external_addresses: facts.addresses.get(&pool).cloned().unwrap_or_default(),
                // Unknown when the topology has no public address for the
                // pool, or could not be read at all.
                public_addresses_unknown: facts.addresses_unknown.contains(&pool)
                    || !facts.addresses.contains_key(&pool),
                product: products.get(&pool).copied(),
                access_edge_fqdn: facts.access_edge_fqdn.get(&pool).cloned(),
                computers,
            },
        );
    }

    // Front End pools and their backup pairing.
    let reg_values = required_step(reply, "registrars", "Get-CsService -Registrar")?;
    let mut backups: BTreeMap<Fqdn, Option<Fqdn>> = BTreeMap::new();
    if let StepOutcome::Ok { value, .. } = reply.take("backupRelationships")? {
        for v in &value {
            let Some(obj) = v.as_object() else { continue };
            let Some(p) = obj.get("PoolFqdn").and_then(Value::as_str) else {
                continue;
            };
            let Ok(pool) = Fqdn::parse(p) else { continue };
            let rels = obj
                .get("Relationship")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut backup = None;
            for r in Record::all("Get-CsPoolBackupRelationship", &rels)? {
                if let Some(b) = r.text(&["BackupPoolFqdn", "BackupPool"]) {
                    backup = Some(fqdn_of("Get-CsPoolBackupRelationship", "BackupPoolFqdn", &b)?);
                }
            }
            backups.insert(pool, backup);
        }
    }
    let mut front_end_pools = BTreeMap::new();
    for r in Record::all("Get-CsService -Registrar", &reg_values)? {
        let id = r.required(&["PoolFqdn", "Identity"])?;
        let pool = fqdn_of("Get-CsService -Registrar", "PoolFqdn", &id)?;
        let site = site_name_of(&r.required(&["SiteId", "Site"])?);
        let backup_pool = backups.get(&pool).cloned().flatten();
        let failed_over = if backup_pool.is_some() {
            warnings.push(format!(
                "Front End pool {pool}: whether it is failed over is unknown (no Lync cmdlet documents that state; Get-CsPoolBackupRelationship gives only the backup pool): failedOver: true fails it over once, and a failback is planned only after edgefed's own failover"
            ));
            FailoverState::Unknown { recorded: None }
        } else {
            FailoverState::NotFailedOver
        };
        let computers = computers_of(&pool)?
            .into_iter()
            .map(|c| {
                (
                    c,
                    Computer {
                        reachable: true,
                        services: ServiceState::Running,
                        setup_pending: false,
                    },
                )
            })
            .collect();
        front_end_pools.insert(
            pool.clone(),
            FrontEndPool {
                site,
                media_edge_pool: facts.media.get(&pool).cloned(),
                backup_pool,
                failed_over,
                computers,
            },
        );
    }

    let central_management = central_management(reply, &front_end_pools, &mut warnings)?;
    Ok(Observed {
        deployment: Deployment {
            signature: signature.clone(),
            sites,
            edge_pools,
            front_end_pools,
            central_management,
            dns: Vec::new(),
        },
        warnings,
        topology_xml,
        signature,
        products,
    })
}

/// The Central Management Server (see the module documentation), or `None`
/// with a warning when its pool or its status cannot be read.
fn central_management(
    reply: &mut impl Steps,
    front_end_pools: &BTreeMap<Fqdn, FrontEndPool>,
    warnings: &mut Vec<String>,
) -> Result<Option<CentralManagement>, BackendError> {
    const SERVICE: &str = "Get-CsService -CentralManagement";
    const STATUS: &str = "Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus";
    const DATABASES: &str = "Get-CsService -CentralManagementDatabase";
    let not_read = |warnings: &mut Vec<String>, why: String| {
        warnings.push(format!(
            "the Central Management Server could not be located ({why}): no Central Management Server failover is planned; if publishing or Set-CsSite fail because it is down, fail it over with Invoke-CsManagementServerFailover and reconcile again"
        ));
        Ok(None)
    };
    let service = match reply.take("centralManagement")? {
        StepOutcome::Ok { value, .. } => value,
        StepOutcome::Err(m) => return not_read(warnings, format!("`{SERVICE}` failed: {m}")),
    };
    let records = Record::all(SERVICE, &service)?;
    let [record] = records.as_slice() else {
        return not_read(
            warnings,
            format!("`{SERVICE}` returned {} services, not one", records.len()),
        );
    };
    let id = record.required(&["PoolFqdn", "Identity"])?;
    let pool = fqdn_of(SERVICE, "PoolFqdn", &id)?;
    // The service's dependency on its database, as `CentralManagementDatabase:<fqdn>`
    // in whichever property this version lists dependencies under.
    let identities: Vec<String> = record.props.keys().flat_map(|k| record.list(&[k.as_str()])).collect();
    let active_database = identities
        .iter()
        .find(|v| role_of(v).as_deref() == Some("centralmanagementdatabase"))
        .and_then(|v| Fqdn::parse(strip_role(v)).ok());
    let available = match reply.take("centralManagementStatus")? {
        StepOutcome::Ok { value, .. } => Record::all(STATUS, &value)?
            .iter()
            .any(|r| r.text(&["ActiveMasterFqdn"]).is_some()),
        StepOutcome::Err(m) => return not_read(warnings, format!("`{STATUS}` failed: {m}")),
    };
    let backup_pool = front_end_pools.get(&pool).and_then(|p| p.backup_pool.clone());
    let mut databases = Vec::new();
    if let StepOutcome::Ok { value, .. } = reply.take("centralManagementDatabases")? {
        for r in Record::all(DATABASES, &value)? {
            let server = fqdn_of(DATABASES, "PoolFqdn", &r.required(&["PoolFqdn", "Identity"])?)?;
            databases.push((server, r.text(&["SqlInstanceName"])));
        }
    }
    let others: Vec<_> = databases
        .into_iter()
        .filter(|(server, _)| active_database.as_ref() != Some(server))
        .collect();
    let backup = match (backup_pool, active_database, others.as_slice()) {
        (Some(pool), Some(_), [(sql_server, sql_instance)]) => Some(CentralManagementBackup {
            pool,
            sql_server: sql_server.clone(),
            sql_instance: sql_instance.clone(),
        }),
        _ => None,
    };
    if !available {
        warnings.push(format!(
            "the Central Management Server on {pool} is not available (ActiveMasterFqdn is empty): it must be failed over before any topology write or pool failover"
        ));
    }
    Ok(Some(CentralManagement {
        pool,
        available,
        backup,
    }))
}
