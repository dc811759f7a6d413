//! The backend's view of the published topology document: the facts
//! observation takes from it, and the edits publish applies to it — both
//! through the topology module (`crate::topology`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::model::Fqdn;
use crate::plan::Operation;
use crate::topology::{TopologyDocument, TopologyEdit};

/// Per-pool facts about federation, from the topology document or (as a
/// fallback) from `Get-CsService -EdgeServer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopologyFacts {
    /// Edge pool → "Enable federation for this Edge pool (Port 5061)".
    pub sip_federation: BTreeMap<Fqdn, bool>,
    /// Edge pool → "Enable XMPP federation for this Edge pool".
    pub xmpp_federation: BTreeMap<Fqdn, bool>,
    /// Edge pool → next hop.
    pub next_hop: BTreeMap<Fqdn, Option<Fqdn>>,
    /// Front End pool → the Edge pool for its media.
    pub media: BTreeMap<Fqdn, Fqdn>,
    /// Edge pool → Access Edge external addresses (public ones only).
    pub addresses: BTreeMap<Fqdn, Vec<IpAddr>>,
    /// Edge pools whose public addresses the topology does not hold (behind NAT).
    pub addresses_unknown: BTreeSet<Fqdn>,
    /// Edge pool → Access Edge external FQDN.
    pub access_edge_fqdn: BTreeMap<Fqdn, Fqdn>,
}

impl TopologyFacts {
    /// Overrides these facts with `other`'s (the document wins).
    pub fn merge_from(&mut self, other: Self) {
        self.sip_federation.extend(other.sip_federation);
        self.xmpp_federation.extend(other.xmpp_federation);
        self.next_hop.extend(other.next_hop);
        for pool in other.addresses.keys() {
            self.addresses_unknown.remove(pool);
        }
        self.addresses.extend(other.addresses);
        self.addresses_unknown.extend(other.addresses_unknown);
        self.media.extend(other.media);
        self.access_edge_fqdn.extend(other.access_edge_fqdn);
    }

    /// The facts of a published topology document.
    ///
    /// # Errors
    /// The topology module's message when the document does not parse.
    pub fn from_topology(xml: &str) -> Result<Self, String> {
        // The model alone: the document's text is not copied again.
        let model = TopologyDocument::read_model(xml.as_bytes(), "Get-CsTopology -AsXml").map_err(|e| e.to_string())?;
        let mut facts = Self::default();
        for (pool, p) in &model.edge_pools {
            facts.sip_federation.insert(pool.clone(), p.sip_federation);
            facts.xmpp_federation.insert(pool.clone(), p.xmpp_federation);
            facts.next_hop.insert(pool.clone(), p.next_hop.clone());
            facts.addresses.insert(pool.clone(), p.external_addresses.clone());
            if p.public_addresses_unknown {
                facts.addresses_unknown.insert(pool.clone());
            }
            if let Some(fqdn) = &p.access_edge_fqdn {
                facts.access_edge_fqdn.insert(pool.clone(), fqdn.clone());
            }
        }
        for (pool, p) in &model.front_end_pools {
            if let Some(edge) = &p.media_edge_pool {
                facts.media.insert(pool.clone(), edge.clone());
            }
        }
        Ok(facts)
    }
}

/// Applies the staged phase-3 operations to the observed document, in order.
///
/// # Errors
/// The topology module's message when the document does not parse or an
/// edit does not apply.
pub fn apply_edits(xml: &str, edits: &[Operation]) -> Result<Vec<u8>, String> {
    let doc = TopologyDocument::parse(xml.as_bytes(), "Get-CsTopology -AsXml").map_err(|e| e.to_string())?;
    let edits: Vec<TopologyEdit> = edits.iter().filter_map(Operation::topology_edit).collect();
    doc.apply(&edits).map_err(|e| e.to_string())
}
