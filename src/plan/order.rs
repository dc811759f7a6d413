//! Printing order of a plan's DAG: the nodes are walked through a
//! [`DependencyQueue`] whose priority is (phase, kind, target, index), each
//! node succeeding as soon as it is taken. The order is therefore a
//! topological order, each step taking the smallest node whose
//! predecessors are all printed, and the same inputs always give the same
//! order.

use super::{Phase, Wait};
use crate::dependency_queue::{DependencyQueue, Outcome};

/// A node to order: its tie-break key and the indices it must follow.
pub(super) struct Node<'a> {
    pub phase: Phase,
    pub kind_rank: u8,
    pub target: String,
    pub after: &'a [usize],
}

/// Returns the nodes' indices in printed order, or the indices left in a
/// cycle or after one (a planner bug: every dependency points at an earlier
/// phase or at a fixed sequence).
pub(super) fn order(nodes: &[Node<'_>]) -> Result<Vec<usize>, Vec<usize>> {
    let mut queue = DependencyQueue::new(nodes.iter().enumerate().map(|(i, node)| {
        (
            (node.phase, node.kind_rank, node.target.clone(), i),
            node.after.iter().map(|&d| (d, Wait::Success)),
        )
    }));
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(i) = queue.dequeue() {
        out.push(i);
        queue.finish(i, Outcome::Succeeded);
    }
    if out.len() == nodes.len() {
        return Ok(out);
    }
    let mut printed = vec![false; nodes.len()];
    for &i in &out {
        printed[i] = true;
    }
    Err((0..nodes.len()).filter(|&i| !printed[i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(phase: Phase, target: &str, after: &'static [usize]) -> Node<'static> {
        Node {
            phase,
            kind_rank: 0,
            target: target.into(),
            after,
        }
    }

    #[test]
    fn ties_break_by_phase_then_target_and_dependencies_win() {
        // 0: phase 8 with no deps; 1: phase 1 "b"; 2: phase 1 "a" after 0.
        let nodes = [
            node(Phase::XmppBracketEnd, "x", &[]),
            node(Phase::Services, "b", &[]),
            node(Phase::Services, "a", &[0]),
        ];
        assert_eq!(order(&nodes).unwrap(), vec![1, 0, 2]);
    }

    #[test]
    fn a_cycle_is_reported_with_its_nodes() {
        let nodes = [
            node(Phase::Services, "a", &[1]),
            node(Phase::Services, "b", &[0]),
            node(Phase::Services, "c", &[]),
        ];
        assert_eq!(order(&nodes).unwrap_err(), vec![0, 1]);
    }
}
