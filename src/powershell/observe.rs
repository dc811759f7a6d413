//! Observation in one round trip, whatever the deployment's size.
//!
//! One script runs `Get-CsTopology -AsXml`, `Get-CsSite`,
//! `Get-CsService -EdgeServer`, `Get-CsService -Registrar`, `Get-CsPool`,
//! `Get-CsManagementStoreReplicationStatus`, `Get-CsWindowsService
//! -ComputerName` for every Edge server (loops run inside the script, not as
//! round trips) and `Get-CsPoolBackupRelationship -PoolFqdn` for every Front
//! End pool. The reply becomes a [`Deployment`] plus what apply needs later:
//! the topology document as published, its signature, and each Edge pool's
//! product version (for Bootstrapper.exe's folder).
//!
//! Failover state: `Get-CsPoolBackupRelationship` is the only documented
//! cmdlet about a pool's backup pairing (research §1.6, §2.13);
//! `Get-CsPoolFabricState` reports Windows Fabric services, not failover
//! (§2.14), so it is not used. The relationship object's output properties
//! are not documented; they are read leniently (`BackupPoolFqdn` /
//! `BackupPool`, and a failed-over indicator under `FailedOver`,
//! `IsFailedOver`, or a state property whose value says `FailedOver`). When
//! a paired pool's state cannot be read the observation warns.
//!
//! Only Edge servers are asked for their services (`Get-CsWindowsService
//! -ComputerName`); Front End servers are reported reachable and running.
//! `setup_pending` cannot be observed from the Management Shell and is
//! reported `false`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::product::Product;
use super::records::{Record, fqdn_of, role_of, strip_role};
use super::script::Script;
use super::topology_view::TopologyFacts;
use super::transport::{Reply, StepOutcome, step};
use crate::backend::BackendError;
use crate::model::{Computer, Deployment, EdgePool, Fqdn, FrontEndPool, ServiceState, Site};

/// The observe script's helper functions (one line each).
pub const OBSERVE_HELPERS: &[&str] = &[
    "function Edgefed-Computers([string]$p) { foreach ($x in @($edgefedR['pools'].value)) { if ([string]$x.Identity -eq $p -or [string]$x.Fqdn -eq $p) { $x.Computers } } }",
    "function Edgefed-ServiceState([string]$c) { try { $s = @(Get-CsWindowsService -ComputerName $c -ErrorAction Stop | ForEach-Object { [ordered]@{ Name = [string]$_.Name; Status = [string]$_.Status } }); [ordered]@{ ComputerName = $c; Reachable = $true; Services = $s; Error = $null } } catch { [ordered]@{ ComputerName = $c; Reachable = $false; Services = @(); Error = $_.Exception.Message } } }",
    "function Edgefed-Backup([string]$p) { try { [ordered]@{ PoolFqdn = $p; Relationship = @(Get-CsPoolBackupRelationship -PoolFqdn $p -ErrorAction Stop | Edgefed-Record); Error = $null } } catch { [ordered]@{ PoolFqdn = $p; Relationship = @(); Error = $_.Exception.Message } } }",
];

/// The observe script.
#[must_use]
pub fn observe_script() -> Script {
    let mut s = Script::new();
    for h in OBSERVE_HELPERS {
        s.line(*h);
    }
    s.step("topology", "(Get-CsTopology -AsXml).ToString()");
    s.step("sites", "Get-CsSite | Edgefed-Record");
    s.step("edgeServices", "Get-CsService -EdgeServer | Edgefed-Record");
    s.step("registrars", "Get-CsService -Registrar | Edgefed-Record");
    s.step("pools", "Get-CsPool | Edgefed-Record");
    s.step("replication", "Get-CsManagementStoreReplicationStatus | Edgefed-Record");
    s.step(
        "windowsServices",
        "foreach ($edgefedPool in @($edgefedR['edgeServices'].value)) { foreach ($edgefedComputer in @(Edgefed-Computers ([string]$edgefedPool.PoolFqdn))) { Edgefed-ServiceState ([string]$edgefedComputer) } }",
    );
    s.step(
        "backupRelationships",
        "foreach ($edgefedPool in @($edgefedR['registrars'].value)) { Edgefed-Backup ([string]$edgefedPool.PoolFqdn) }",
    );
    s
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

fn required_step(reply: &Reply, key: &str, cmdlet: &str) -> Result<Vec<Value>, BackendError> {
    match step(reply, key)? {
        StepOutcome::Ok { value, .. } => Ok(value),
        StepOutcome::Err(message) => Err(BackendError::failed(format!("`{cmdlet}` failed: {message}"))),
    }
}

/// The `Signature` attribute of a published topology document.
///
/// # Errors
/// [`BackendError::Failed`] when the document is not XML or its root has no
/// `Signature`.
pub fn signature_of(xml: &str) -> Result<String, BackendError> {
    let text = xml.trim_start_matches('\u{feff}');
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        BackendError::failed(format!(
            "`Get-CsTopology -AsXml` returned a document that is not XML: {e}"
        ))
    })?;
    doc.root_element()
        .attribute("Signature")
        .map(str::to_string)
        .ok_or_else(|| {
            BackendError::failed("`Get-CsTopology -AsXml` returned a document whose root has no `Signature` attribute")
        })
}

fn site_name_of(value: &str) -> String {
    strip_role(value).to_string()
}

/// Turns the observe reply into an [`Observed`].
///
/// # Errors
/// [`BackendError::Failed`] naming the cmdlet (and property) when a required
/// cmdlet failed or returned an object without a required property.
#[allow(clippy::too_many_lines)]
pub fn parse_observation(reply: &Reply) -> Result<Observed, BackendError> {
    let mut warnings = Vec::new();
    let topology = required_step(reply, "topology", "Get-CsTopology -AsXml")?;
    let topology_xml = topology
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| BackendError::failed("`Get-CsTopology -AsXml` returned no document"))?
        .to_string();
    let signature = signature_of(&topology_xml)?;

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
    let computers_of = |pool: &Fqdn| -> Result<Vec<Fqdn>, BackendError> {
        raw_computers
            .get(pool)
            .map(|list| list.iter().map(|c| fqdn_of("Get-CsPool", "Computers", c)).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };

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
        if let Some(v) = r.text(&["Version"]).and_then(|v| v.parse::<u32>().ok()) {
            match Product::from_version(v) {
                Some(p) => {
                    products.insert(pool.clone(), p);
                }
                None => warnings.push(format!(
                    "Edge pool {pool} reports Version {v}, not Lync 2013 / Skype for Business 2015 or 2019: run-setup cannot locate Bootstrapper.exe there"
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

    // Prefer the topology document's view of the flags (it is what edits act on).
    match TopologyFacts::from_topology(&topology_xml) {
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

    // Edge computers' services.
    let mut states: BTreeMap<Fqdn, Computer> = BTreeMap::new();
    match step(reply, "windowsServices")? {
        StepOutcome::Ok { value, .. } => {
            for v in &value {
                let Some(obj) = v.as_object() else { continue };
                let Some(name) = obj.get("ComputerName").and_then(Value::as_str) else {
                    continue;
                };
                let computer = fqdn_of("Get-CsWindowsService", "ComputerName", name)?;
                let reachable = obj.get("Reachable").and_then(Value::as_bool) == Some(true);
                let services = obj
                    .get("Services")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let running = reachable
                    && !services.is_empty()
                    && services.iter().all(|s| {
                        s.get("Status")
                            .and_then(Value::as_str)
                            .is_some_and(|st| st.eq_ignore_ascii_case("Running"))
                    });
                if !reachable {
                    let why = obj.get("Error").and_then(Value::as_str).unwrap_or("no answer");
                    warnings.push(format!(
                        "Edge server {computer} did not answer Get-CsWindowsService: {why}"
                    ));
                }
                states.insert(
                    computer,
                    Computer {
                        reachable,
                        services: if running {
                            ServiceState::Running
                        } else {
                            ServiceState::Stopped
                        },
                        setup_pending: false,
                    },
                );
            }
        }
        StepOutcome::Err(message) => {
            return Err(BackendError::failed(format!(
                "`Get-CsWindowsService` loop failed: {message}"
            )));
        }
    }

    // Replication.
    if let StepOutcome::Ok { value, .. } = step(reply, "replication")? {
        for r in Record::all("Get-CsManagementStoreReplicationStatus", &value)? {
            if let (Some(replica), Some(false)) = (r.text(&["ReplicaFqdn"]), r.flag(&["UpToDate"]))
                && let Ok(f) = Fqdn::parse(&replica)
                && states.contains_key(&f)
            {
                warnings.push(format!(
                    "CMS replication has not reached Edge server {f} (UpToDate = False)"
                ));
            }
        }
    }

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
                access_edge_fqdn: facts.access_edge_fqdn.get(&pool).cloned(),
                computers,
            },
        );
    }

    // Front End pools and their backup pairing.
    let reg_values = required_step(reply, "registrars", "Get-CsService -Registrar")?;
    let mut backups: BTreeMap<Fqdn, (Option<Fqdn>, Option<bool>)> = BTreeMap::new();
    if let StepOutcome::Ok { value, .. } = step(reply, "backupRelationships")? {
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
            let mut failed_over = None;
            for r in Record::all("Get-CsPoolBackupRelationship", &rels)? {
                if let Some(b) = r.text(&["BackupPoolFqdn", "BackupPool"]) {
                    backup = Some(fqdn_of("Get-CsPoolBackupRelationship", "BackupPoolFqdn", &b)?);
                }
                failed_over = failed_over.or_else(|| failed_over_of(&r));
            }
            backups.insert(pool, (backup, failed_over));
        }
    }
    let mut front_end_pools = BTreeMap::new();
    for r in Record::all("Get-CsService -Registrar", &reg_values)? {
        let id = r.required(&["PoolFqdn", "Identity"])?;
        let pool = fqdn_of("Get-CsService -Registrar", "PoolFqdn", &id)?;
        let site = site_name_of(&r.required(&["SiteId", "Site"])?);
        let (backup_pool, failed_over) = backups.get(&pool).cloned().unwrap_or((None, None));
        if backup_pool.is_some() && failed_over.is_none() {
            warnings.push(format!(
                "Front End pool {pool}: Get-CsPoolBackupRelationship does not say whether it is failed over; assumed not"
            ));
        }
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
                failed_over: failed_over.unwrap_or(false),
                computers,
            },
        );
    }

    Ok(Observed {
        deployment: Deployment {
            signature: signature.clone(),
            sites,
            edge_pools,
            front_end_pools,
            dns: Vec::new(),
        },
        warnings,
        topology_xml,
        signature,
        products,
    })
}

fn failed_over_of(r: &Record<'_>) -> Option<bool> {
    if let Some(b) = r.flag(&["FailedOver", "IsFailedOver"]) {
        return Some(b);
    }
    let state = r.text(&["BackupPoolStatus", "FailoverState", "State", "Status"])?;
    let s = state.to_ascii_lowercase().replace([' ', '_', '-'], "");
    Some(s.contains("failedover"))
}
