//! `Publish-CsTopology` in the double: the published document (parsed with
//! the topology module) becomes the deployment's flags, next hops and media
//! associations; the signature changes; replicas go stale for a while.

use edgefed::model::Fqdn;
use edgefed::topology::TopologyDocument;
use sha2::{Digest, Sha256};

use super::state::State;

/// Publishes `bytes`; returns Lync's warnings.
///
/// # Errors
/// The message Publish-CsTopology would give for a document it refuses.
pub fn publish(st: &mut State, bytes: &[u8]) -> Result<Vec<String>, String> {
    let doc = TopologyDocument::parse(bytes, "topology.xml").map_err(|e| e.to_string())?;
    let model = doc.model();
    let d = &mut st.deployment;
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
    st.publishes += 1;
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(st.publishes.to_le_bytes());
    let x = hex::encode(&h.finalize()[..16]);
    d.signature = format!("{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32]);
    let edges: Vec<Fqdn> = d
        .edge_pools
        .values()
        .flat_map(|p| p.computers.keys().cloned())
        .collect();
    for c in edges {
        if st.replication_lag_polls > 0 {
            st.replication_lag.insert(c, st.replication_lag_polls);
        }
    }
    let federated = d.edge_pools.values().filter(|p| p.sip_federation).count();
    Ok(if federated > 1 {
        vec!["The topology contains more than one Federated Edge Server. This is expected during migration; otherwise only one Edge pool may be enabled for federation.".into()]
    } else {
        Vec::new()
    })
}
