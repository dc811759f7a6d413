//! `Publish-CsTopology` in the double: the published document replaces the
//! whole topology — its flags, next hops and media associations (read with
//! the topology module) and its site routes (read by
//! [`super::site_routes`]) become the deployment's, so a document exported
//! before a later `Set-CsSite` / `Set-CsEdgeServer` puts the old values
//! back. The signature changes; replicas go stale for a while.

use edgefed::model::Fqdn;
use edgefed::topology::TopologyDocument;
use sha2::{Digest, Sha256};

use super::site_routes;
use super::state::{State, Update};

/// A write to the topology (a publish, `Set-CsSite`, `Set-CsEdgeServer`):
/// the topology gets a new signature, GUID-shaped as Lync's.
pub fn new_signature(st: &mut State) {
    st.topology_writes += 1;
    let mut h = Sha256::new();
    h.update(st.deployment.signature.as_bytes());
    h.update(st.topology_writes.to_le_bytes());
    let x = hex::encode(&h.finalize()[..16]);
    st.deployment.signature = format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32]);
}

/// A change to the Central Management store (a publish, `Set-CsSite`,
/// `Set-CsEdgeServer`) makes a new update that must replicate: the CMS
/// creates it a second after the write starts, and each Edge replica keeps
/// reporting the previous one (UpToDate = True: it has not been told yet)
/// for `replication_lag_polls` polls. Under the latency model the update
/// reaches the Edge servers a fixed time after the write.
pub fn new_update(st: &mut State) {
    let previous = st.last_update_creation;
    st.last_update_creation = st.clock + 1;
    st.updates.push(Update {
        creation: st.last_update_creation,
        at_ms: super::latency::now_ms(),
    });
    let edges: Vec<Fqdn> = st
        .deployment
        .edge_pools
        .values()
        .flat_map(|p| p.computers.keys().cloned())
        .collect();
    for c in edges {
        if st.replication_lag_polls > 0 {
            st.replication_lag.insert(c.clone(), st.replication_lag_polls);
            st.replica_update_creation.entry(c).or_insert(previous);
        }
    }
}

/// Publishes `bytes`; returns Lync's warnings.
///
/// # Errors
/// The message Publish-CsTopology would give for a document it refuses.
pub fn publish(st: &mut State, bytes: &[u8]) -> Result<Vec<String>, String> {
    let doc = TopologyDocument::parse(bytes, "topology.xml").map_err(|e| e.to_string())?;
    let model = doc.model();
    let text = std::str::from_utf8(bytes).map_err(|_| {
        "the double publishes UTF-8 documents only (as its Get-CsTopology -AsXml gives them)".to_string()
    })?;
    let routes = site_routes::read(text)?;
    for name in routes.keys() {
        if !st.deployment.sites.contains_key(name) {
            return Err(format!(
                "the document names site {name}, which this double does not model"
            ));
        }
    }
    // Built aside and committed whole: a refused document changes nothing.
    let mut d = st.deployment.clone();
    for (pool, p) in &model.edge_pools {
        let Some(e) = d.edge_pools.get_mut(pool) else {
            return Err(format!(
                "the document names Edge pool {pool}, which this double does not model"
            ));
        };
        let gained = p.sip_federation && !e.sip_federation;
        e.sip_federation = p.sip_federation;
        e.xmpp_federation = p.xmpp_federation;
        e.next_hop.clone_from(&p.next_hop);
        if gained {
            for c in e.computers.values_mut() {
                c.setup_pending = true;
            }
        }
    }
    for (pool, p) in &model.front_end_pools {
        if let Some(fe) = d.front_end_pools.get_mut(pool) {
            fe.media_edge_pool.clone_from(&p.media_edge_pool);
        }
    }
    for (name, r) in routes {
        if let Some(site) = d.sites.get_mut(&name) {
            site.federation_route = r.federation;
            site.xmpp_federation_route = r.xmpp;
        }
    }
    st.deployment = d;
    st.publishes += 1;
    new_signature(st);
    // A republished -AsXml document carries no simple URLs.
    for c in &mut st.simple_urls {
        c.simple_url.clear();
    }
    new_update(st);
    let d = &st.deployment;
    let federated = d.edge_pools.values().filter(|p| p.sip_federation).count();
    Ok(if federated > 1 {
        vec!["The topology contains more than one Federated Edge Server. This is expected during migration; otherwise only one Edge pool may be enabled for federation.".into()]
    } else {
        Vec::new()
    })
}
