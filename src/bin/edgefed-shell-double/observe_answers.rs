//! The double's answers to the observation cmdlets, shaped like Lync's
//! objects after the script's `Edgefed-Record` flattening (property names
//! from the cmdlet reference pages and public mocks of them).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::remoting::{direct_access_refused, refuses_direct_access};
use super::state::State;
use super::topology_xml::{access_edge_fqdn, generate};
use edgefed::model::{Fqdn, ServiceState};

type Answer = Result<Vec<Value>, String>;

/// `(Get-CsTopology -AsXml).ToString()`.
pub fn topology(st: &State) -> Result<String, String> {
    fault(st, "Get-CsTopology")?;
    Ok(generate(&st.deployment, st.version))
}

fn fault(st: &State, cmdlet: &str) -> Result<(), String> {
    match st
        .faults
        .iter()
        .find(|f| f.cmdlet.eq_ignore_ascii_case(cmdlet) && f.times > 0)
    {
        Some(f) => Err(f.message.clone()),
        None => Ok(()),
    }
}

fn route(r: Option<&Fqdn>) -> Value {
    r.map_or(Value::Null, |p| json!(format!("EdgeServer:{p}")))
}

/// `Get-CsSite`.
pub fn sites(st: &State) -> Answer {
    fault(st, "Get-CsSite")?;
    let d = &st.deployment;
    // Each site's pools (Edge pools, then Front End pools), gathered in one
    // pass: a 10,000-site estate has 40,000 pools.
    let mut pools_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let edge = d.edge_pools.iter().map(|(f, p)| (f, &p.site));
    for (f, site) in edge.chain(d.front_end_pools.iter().map(|(f, p)| (f, &p.site))) {
        pools_of.entry(site.as_str()).or_default().push(f.to_string());
    }
    Ok(d.sites
        .iter()
        .enumerate()
        .map(|(i, (name, s))| {
            let pools = pools_of.remove(name.as_str()).unwrap_or_default();
            json!({
                "Identity": format!("Site:{name}"),
                "SiteId": (i + 1).to_string(),
                "Services": [],
                "Pools": pools,
                "FederationRoute": route(s.federation_route.as_ref()),
                "XmppFederationRoute": route(s.xmpp_federation_route.as_ref()),
                "DefaultPersistentChatPool": null,
                "Description": null,
                "DisplayName": name,
                "SiteType": "CentralSite",
                "ParentSite": null
            })
        })
        .collect())
}

/// `Get-CsService -EdgeServer`.
pub fn edge_services(st: &State) -> Answer {
    fault(st, "Get-CsService")?;
    let d = &st.deployment;
    let v = st.version;
    // The Front End pools each Edge pool serves, gathered in one pass.
    let mut served: BTreeMap<&Fqdn, Vec<&Fqdn>> = BTreeMap::new();
    for (fe, p) in &d.front_end_pools {
        if let Some(edge) = &p.media_edge_pool {
            served.entry(edge).or_default().push(fe);
        }
    }
    Ok(d.edge_pools
        .iter()
        .map(|(pool, p)| {
            let deps: Vec<String> = served
                .get(pool)
                .into_iter()
                .flatten()
                .flat_map(|fe| {
                    [
                        format!("Registrar:{fe}"),
                        format!("ConferencingServer:{fe}"),
                        format!("MediationServer:{fe}"),
                    ]
                })
                .collect();
            let access = access_edge_fqdn(pool, p);
            let mut o = Map::new();
            o.insert("Identity".into(), json!(format!("EdgeServer:{pool}")));
            o.insert(
                "Registrar".into(),
                p.next_hop
                    .as_ref()
                    .map_or(Value::Null, |n| json!(format!("Registrar:{n}"))),
            );
            o.insert("AccessEdgeInternalSipPort".into(), json!("5061"));
            o.insert(
                "AccessEdgeExternalSipPort".into(),
                if p.sip_federation { json!("5061") } else { Value::Null },
            );
            // Lync 2013 documentation prints the client port under another name (AccessEdgeClientPort).
            let client = if v <= 6 {
                "AccessEdgeClientPort"
            } else {
                "AccessEdgeClientSipPort"
            };
            o.insert(client.into(), json!("443"));
            o.insert("DataPsomServerPort".into(), json!("8057"));
            o.insert("MediaRelayAuthEdgePort".into(), json!("5062"));
            o.insert("AccessEdgeExternalFqdn".into(), json!(access));
            o.insert("DataEdgeExternalFqdn".into(), json!(access));
            o.insert("AVEdgeExternalFqdn".into(), json!(access));
            o.insert(
                "XmppInternalPort".into(),
                json!(if p.xmpp_federation { "23456" } else { "" }),
            );
            o.insert(
                "XmppListeningPort".into(),
                json!(if p.xmpp_federation { "5269" } else { "" }),
            );
            if v >= 7 {
                o.insert("SkypeSearchProxyPort".into(), json!("4443"));
            }
            o.insert("DependentServiceList".into(), json!(deps));
            o.insert("ServiceId".into(), json!("1-EdgeServer-1"));
            o.insert("SiteId".into(), json!(format!("Site:{}", p.site)));
            o.insert("PoolFqdn".into(), json!(pool.to_string()));
            o.insert("Version".into(), json!(v.to_string()));
            o.insert("Role".into(), json!("EdgeServer"));
            Value::Object(o)
        })
        .collect())
}

/// `Get-CsService -Registrar`.
pub fn registrars(st: &State) -> Answer {
    fault(st, "Get-CsService")?;
    Ok(st
        .deployment
        .front_end_pools
        .iter()
        .map(|(pool, p)| {
            json!({
                "Identity": format!("Registrar:{pool}"),
                "PoolFqdn": pool.to_string(),
                "SiteId": format!("Site:{}", p.site),
                "Version": st.version.to_string(),
                "Role": "Registrar"
            })
        })
        .collect())
}

/// The active Central Management database the double reports for the
/// Central Management Server on `pool` (the model keeps only the backup).
fn active_database(pool: &Fqdn) -> String {
    format!("sql.{pool}")
}

/// `Get-CsService -CentralManagement`: the service, on the pool that hosts
/// it, depending on its database. No Central Management Server modelled:
/// no service.
pub fn central_management(st: &State) -> Answer {
    fault(st, "Get-CsService")?;
    let d = &st.deployment;
    Ok(d.central_management
        .iter()
        .map(|c| {
            let site = d
                .front_end_pools
                .get(&c.pool)
                .map(|p| p.site.clone())
                .unwrap_or_default();
            json!({
                "Identity": format!("CentralManagement:{}", c.pool),
                "PoolFqdn": c.pool.to_string(),
                "SiteId": format!("Site:{site}"),
                "Version": st.version.to_string(),
                "Role": "CentralManagement",
                "CentralManagementDatabase": format!("CentralManagementDatabase:{}", active_database(&c.pool)),
            })
        })
        .collect())
}

/// `Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus`:
/// `ActiveMasterFqdn` and `ActiveFileTransferAgents` name a server of the
/// Central Management Server's pool, or are empty when it is down.
pub fn central_management_status(st: &State) -> Answer {
    fault(st, "Get-CsManagementStoreReplicationStatus")?;
    let d = &st.deployment;
    Ok(d.central_management
        .iter()
        .map(|c| {
            let master = d
                .front_end_pools
                .get(&c.pool)
                .and_then(|p| p.computers.iter().find(|(_, comp)| comp.reachable))
                .filter(|_| d.central_management_down().is_none())
                .map(|(f, _)| f.to_string());
            json!({
                "ActiveMasterFqdn": master,
                "ActiveFileTransferAgents": master.iter().collect::<Vec<_>>(),
                "ActiveReplicas": [],
                "DeletedReplicas": [],
            })
        })
        .collect())
}

/// `Get-CsService -CentralManagementDatabase`: the active database and the
/// backup the topology defines.
pub fn central_management_databases(st: &State) -> Answer {
    fault(st, "Get-CsService")?;
    let Some(c) = &st.deployment.central_management else {
        return Ok(Vec::new());
    };
    let database = |server: String, instance: Option<&str>| {
        json!({
            "Identity": format!("CentralManagementDatabase:{server}"),
            "PoolFqdn": server,
            "SqlInstanceName": instance,
            "Role": "CentralManagementDatabase",
        })
    };
    let mut out = vec![database(active_database(&c.pool), Some("rtc"))];
    if let Some(b) = &c.backup {
        out.push(database(b.sql_server.to_string(), b.sql_instance.as_deref()));
    }
    Ok(out)
}

/// `Get-CsPool`.
pub fn pools(st: &State) -> Answer {
    fault(st, "Get-CsPool")?;
    let d = &st.deployment;
    let edge = d
        .edge_pools
        .iter()
        .map(|(f, p)| (f, &p.site, p.computers.keys().collect::<Vec<_>>()));
    let fe = d
        .front_end_pools
        .iter()
        .map(|(f, p)| (f, &p.site, p.computers.keys().collect::<Vec<_>>()));
    Ok(edge
        .chain(fe)
        .map(|(f, site, computers)| {
            let c: Vec<String> = computers.iter().map(ToString::to_string).collect();
            json!({ "Identity": f.to_string(), "Fqdn": f.to_string(), "Site": format!("Site:{site}"), "Computers": c, "Services": [] })
        })
        .collect())
}

/// `Get-CsManagementStoreReplicationStatus`.
pub fn replication(st: &State) -> Answer {
    fault(st, "Get-CsManagementStoreReplicationStatus")?;
    Ok(st
        .deployment
        .edge_pools
        .values()
        .flat_map(|p| p.computers.keys())
        .map(|c| super::replication::record(st, c))
        .collect())
}

/// The `Edgefed-ServiceState` loop edgefed used to send:
/// `Get-CsWindowsService -ComputerName` for each Edge server of each pool of
/// the `edgeServices` step (refused for workgroup Edge servers).
pub fn windows_services(st: &State, results: &Map<String, Value>) -> Answer {
    let names = step_values(results, "edgeServices", "PoolFqdn");
    let mut out = Vec::new();
    for name in names {
        let Ok(pool) = Fqdn::parse(&name) else {
            continue;
        };
        let Some(p) = st.deployment.edge_pools.get(&pool) else {
            continue;
        };
        for (c, comp) in &p.computers {
            if refuses_direct_access(st, c) {
                out.push(json!({ "ComputerName": c.to_string(), "Reachable": false, "Services": [], "Error": direct_access_refused(c) }));
                continue;
            }
            if !comp.reachable {
                out.push(json!({ "ComputerName": c.to_string(), "Reachable": false, "Services": [], "Error": format!("Cannot open Service Control Manager on computer '{c}'. This operation might require other privileges.") }));
                continue;
            }
            let status = match comp.services {
                ServiceState::Running => "Running",
                ServiceState::Stopped => "Stopped",
            };
            let services: Vec<Value> = ["RTCSRV", "RTCMRAUTH", "RTCMEDIARELAY", "RTCDATAPROXY", "REPLICA"]
                .iter()
                .map(|n| json!({ "Name": n, "Status": status }))
                .collect();
            out.push(json!({ "ComputerName": c.to_string(), "Reachable": true, "Services": services, "Error": null }));
        }
    }
    Ok(out)
}

/// The `Edgefed-Backup` loop: `Get-CsPoolBackupRelationship -PoolFqdn` for
/// each pool of the `registrars` step.
pub fn backups(st: &State, results: &Map<String, Value>) -> Answer {
    let names = step_values(results, "registrars", "PoolFqdn");
    let mut out = Vec::new();
    for name in names {
        let Ok(pool) = Fqdn::parse(&name) else {
            continue;
        };
        let Some(p) = st.deployment.front_end_pools.get(&pool) else {
            continue;
        };
        let rel: Vec<Value> = p
            .backup_pool
            .iter()
            .map(|b| {
                // The real object documents only the backup pool: no
                // failed-over property is invented here.
                json!({ "PoolFqdn": pool.to_string(), "BackupPoolFqdn": b.to_string() })
            })
            .collect();
        out.push(json!({ "PoolFqdn": pool.to_string(), "Relationship": rel, "Error": null }));
    }
    Ok(out)
}

fn step_values(results: &Map<String, Value>, key: &str, prop: &str) -> Vec<String> {
    results
        .get(key)
        .and_then(|s| s.get("value"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get(prop).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
