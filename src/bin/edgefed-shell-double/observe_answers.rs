//! The double's answers to the observation cmdlets, shaped like Lync's
//! objects after the script's `Edgefed-Record` flattening (property names
//! from the cmdlet reference pages and public mocks of them).

use serde_json::{Map, Value, json};

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
    Ok(d.sites
        .iter()
        .enumerate()
        .map(|(i, (name, s))| {
            let pools: Vec<String> = d
                .edge_pools
                .iter()
                .filter(|(_, p)| &p.site == name)
                .map(|(f, _)| f.to_string())
                .chain(
                    d.front_end_pools
                        .iter()
                        .filter(|(_, p)| &p.site == name)
                        .map(|(f, _)| f.to_string()),
                )
                .collect();
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
    Ok(d.edge_pools
        .iter()
        .map(|(pool, p)| {
            let deps: Vec<String> = d
                .front_end_pools
                .iter()
                .filter(|(_, fe)| fe.media_edge_pool.as_ref() == Some(pool))
                .flat_map(|(fe, _)| {
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
        .map(|c| {
            let stale = st.replication_lag.get(c).copied().unwrap_or(0) > 0;
            json!({ "UpToDate": if stale { "False" } else { "True" }, "ReplicaFqdn": c.to_string(), "LastStatusReport": "12/1/2026 9:00:00 PM", "LastUpdateCreation": "12/1/2026 9:00:00 PM" })
        })
        .collect())
}

/// The `Edgefed-ServiceState` loop: `Get-CsWindowsService -ComputerName` for
/// each Edge server of each pool of the `edgeServices` step.
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
                json!({ "PoolFqdn": pool.to_string(), "BackupPoolFqdn": b.to_string(), "FailedOver": if p.failed_over { "True" } else { "False" } })
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
