//! A lab made from a real topology keeps that document in step: publish and
//! next-hop changes go through the topology module's byte-exact edits — the
//! same code the PowerShell backend publishes with — and the lab checks that
//! the edited document says what the lab now believes.

use std::path::Path;

use super::file::LabFile;
use std::sync::Arc;

use crate::backend::{BackendError, Cause};
use crate::plan::Operation;
use crate::topology::{TopologyDocument, TopologyEdit, TopologyError};

fn failed(message: String) -> BackendError {
    BackendError::failed(message)
}

fn topology(e: TopologyError) -> BackendError {
    BackendError::failed_by(e.to_string(), Cause::Topology(Arc::new(e)))
}

/// The document edits `op` makes, given the lab before it (`staged` edits
/// are published by `publish-topology`).
fn edits(before: &LabFile, op: &Operation) -> Vec<TopologyEdit> {
    match op {
        Operation::PublishTopology {} => before.staged.iter().filter_map(Operation::topology_edit).collect(),
        Operation::SetEdgeNextHop { edge_pool, next_hop } => {
            vec![TopologyEdit::SetNextHop {
                edge_pool: edge_pool.clone(),
                next_hop: next_hop.clone(),
            }]
        }
        _ => Vec::new(),
    }
}

/// Whether `op` can edit the topology document.
pub(super) fn touches(op: &Operation) -> bool {
    matches!(op, Operation::PublishTopology {} | Operation::SetEdgeNextHop { .. })
}

/// Applies `op`'s edits to the document at `path` and checks the result
/// against `after`, the lab's state once `op` is applied.
///
/// # Errors
/// [`BackendError::Failed`] when the document cannot be read, edited or
/// written, or disagrees with the lab afterwards; the document is then
/// unchanged.
pub(super) fn follow(path: &Path, before: &LabFile, after: &LabFile, op: &Operation) -> Result<(), BackendError> {
    let edits = edits(before, op);
    if edits.is_empty() {
        return Ok(());
    }
    let origin = path.display().to_string();
    let bytes = crate::fs_util::read_capped(path, crate::limits::MAX_DATA_BYTES)
        .map_err(|e| failed(format!("cannot read the lab's topology document {origin}: {e}")))?;
    let doc = TopologyDocument::parse(&bytes, &origin).map_err(topology)?;
    let edited = doc.apply(&edits).map_err(topology)?;
    let check = TopologyDocument::parse(&edited, &origin)
        .map_err(|e| failed(format!("the edited topology does not read back: {e}")))?;
    for (pool, p) in &after.topology.edge_pools {
        let Some(t) = check.model().edge_pools.get(pool) else {
            continue;
        };
        if t.sip_federation != p.sip_federation || t.next_hop != p.next_hop {
            return Err(failed(format!(
                "after {}, the topology document {origin} says {pool} has SIP federation {} and next hop {:?}, but the lab says {} and {:?}",
                op.kind(),
                t.sip_federation,
                t.next_hop.as_ref().map(ToString::to_string),
                p.sip_federation,
                p.next_hop.as_ref().map(ToString::to_string)
            )));
        }
    }
    for (pool, p) in &after.topology.front_end_pools {
        let Some(t) = check.model().front_end_pools.get(pool) else {
            continue;
        };
        if t.media_edge_pool != p.media_edge_pool {
            return Err(failed(format!(
                "after {}, the topology document {origin} disagrees with the lab on {pool}'s media Edge pool",
                op.kind()
            )));
        }
    }
    crate::fs_util::write_atomically(path, &edited)
        .map_err(|e| BackendError::failed_by(e.to_string(), Cause::Io(Arc::new(e.source))))
}
