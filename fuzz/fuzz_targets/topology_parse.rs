//! Fuzz `TopologyDocument::parse` and one edit of what it accepts.
//!
//! The first byte picks the edit, the rest is the document. Oracles: no
//! panic; no edits give back the input bytes; an edited document parses
//! again.
#![no_main]

use edgefed::topology::{TopologyDocument, TopologyEdit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let Ok(doc) = TopologyDocument::parse(bytes, "fuzz.xml") else {
        return;
    };
    assert_eq!(doc.apply(&[]).ok().as_deref(), Some(bytes), "no edits must give back the input");
    let m = doc.model();
    let edges: Vec<_> = m.edge_pools.keys().cloned().collect();
    let pools: Vec<_> = m.front_end_pools.keys().cloned().collect();
    let (Some(edge), Some(pool)) = (
        edges.get(usize::from(selector >> 2) % edges.len().max(1)),
        pools.get(usize::from(selector >> 2) % pools.len().max(1)),
    ) else {
        return;
    };
    let edit = match selector & 3 {
        0 => TopologyEdit::EnableSipFederation { edge_pool: edge.clone() },
        1 => TopologyEdit::DisableSipFederation { edge_pool: edge.clone() },
        2 => TopologyEdit::SetNextHop {
            edge_pool: edge.clone(),
            next_hop: pool.clone(),
        },
        _ => TopologyEdit::SetMediaEdgePool {
            front_end_pool: pool.clone(),
            edge_pool: edge.clone(),
        },
    };
    if let Ok(out) = doc.apply(&[edit]) {
        if let Err(e) = TopologyDocument::parse(&out, "fuzz-out.xml") {
            panic!("an edited document does not parse again: {e}");
        }
    }
});
