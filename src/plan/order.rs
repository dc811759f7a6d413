//! Printing order of a plan's DAG: Kahn's algorithm with a ready set ordered
//! by (phase, kind, target), so the order is a topological order and the same
//! inputs always give the same order.

use std::collections::BTreeSet;

use super::Phase;

/// A node to order: its tie-break key and the indices it must follow.
pub(super) struct Node<'a> {
    pub phase: Phase,
    pub kind_rank: u8,
    pub target: String,
    pub after: &'a [usize],
}

/// Returns the nodes' indices in printed order, or the indices left in a
/// cycle (a planner bug: every dependency points at an earlier phase or at
/// a fixed sequence).
pub(super) fn order(nodes: &[Node<'_>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = nodes.len();
    let mut waiting: Vec<usize> = nodes.iter().map(|x| x.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for &d in node.after {
            dependents[d].push(i);
        }
    }
    let key = |i: usize| (nodes[i].phase, nodes[i].kind_rank, nodes[i].target.clone(), i);
    let mut ready: BTreeSet<(Phase, u8, String, usize)> = (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(first) = ready.pop_first() {
        let i = first.3;
        out.push(i);
        for &j in &dependents[i] {
            waiting[j] -= 1;
            if waiting[j] == 0 {
                ready.insert(key(j));
            }
        }
    }
    if out.len() == n {
        Ok(out)
    } else {
        Err((0..n).filter(|i| waiting[*i] > 0).collect())
    }
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
