//! A dependency queue: the bookkeeping of which nodes of a DAG may run next,
//! shared by the plan's printed order and the executor.
//!
//! Nodes are numbered `0..n` in the order they are given to
//! [`DependencyQueue::new`]; each has a priority (any `Ord` key) and the
//! nodes it waits on, each over one of two kinds of edge:
//!
//! - [`Wait::Success`] (the default): the node runs only once its
//!   predecessor has succeeded. A predecessor that failed, or that was not
//!   attempted, blocks it — and through it, transitively, every node that
//!   waits on it for success.
//! - [`Wait::Completion`]: the node runs once its predecessor has ended,
//!   whatever the outcome — succeeded, failed, or not attempted because
//!   something blocked it.
//!
//! A node ends in one of three ways: it [succeeded](Outcome::Succeeded) or
//! [failed](Outcome::Failed) (told through [`DependencyQueue::finish`]), or
//! it is *not attempted*. A node is not attempted when, once all of its
//! predecessors have ended, at least one of its success-predecessors did
//! not succeed; those predecessors are the ones that blocked it. A blocked
//! node therefore ends only when all of its predecessors have ended, never
//! earlier: its completion-dependents still run, but not before anything
//! the blocked node itself would have waited for. A dependency on a node
//! that is not in the queue counts as a predecessor that was not attempted.
//!
//! [`DependencyQueue::dequeue`] hands out the ready node with the smallest
//! priority and counts it as in flight until it is finished. When nothing
//! is ready and nothing is in flight but some nodes are still waiting, those
//! nodes are on a cycle or after one: [`DependencyQueue::stuck`] lists them.

use std::collections::BTreeSet;

use crate::plan::Wait;

/// How a dequeued node ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded: its dependents over either kind of edge may go on.
    Succeeded,
    /// It failed: its success-dependents will not be attempted; its
    /// completion-dependents may go on.
    Failed,
}

/// Where a node is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Some predecessors have not ended; `blocked_by` are those that ended
    /// without succeeding, over a success edge.
    Waiting { pending: usize, blocked_by: Vec<usize> },
    /// In the ready set.
    Ready,
    /// Dequeued, not yet finished.
    InFlight,
    /// Ended: succeeded or failed.
    Ended(Outcome),
    /// Ended without being attempted, blocked by these predecessors.
    NotAttempted(Vec<usize>),
}

/// The ready nodes of a DAG, by priority, as their predecessors end.
#[derive(Clone, Debug)]
pub struct DependencyQueue<P: Ord> {
    states: Vec<State>,
    /// Each node's priority until it becomes ready (then it moves into `ready`).
    priorities: Vec<Option<P>>,
    /// For each node, the nodes waiting on it and over which kind of edge.
    dependents: Vec<Vec<(usize, Wait)>>,
    ready: BTreeSet<(P, usize)>,
    in_flight: usize,
    /// Nodes neither dequeued nor ended.
    queued: usize,
}

impl<P: Ord> DependencyQueue<P> {
    /// Builds the queue from `(priority, predecessors)` for nodes `0..n`;
    /// each predecessor is a node index and the kind of edge.
    pub fn new<I, D>(nodes: I) -> Self
    where
        I: IntoIterator<Item = (P, D)>,
        D: IntoIterator<Item = (usize, Wait)>,
    {
        let nodes: Vec<(P, Vec<(usize, Wait)>)> = nodes
            .into_iter()
            .map(|(priority, after)| (priority, after.into_iter().collect()))
            .collect();
        let n = nodes.len();
        let mut queue = Self {
            states: Vec::with_capacity(n),
            priorities: Vec::with_capacity(n),
            dependents: vec![Vec::new(); n],
            ready: BTreeSet::new(),
            in_flight: 0,
            queued: n,
        };
        for (i, (priority, after)) in nodes.into_iter().enumerate() {
            let mut pending = 0;
            let mut blocked_by = Vec::new();
            for (on, wait) in after {
                if on < n {
                    pending += 1;
                    queue.dependents[on].push((i, wait));
                } else if wait == Wait::Success {
                    // Not in the queue: it will never succeed.
                    blocked_by.push(on);
                }
            }
            queue.states.push(State::Waiting { pending, blocked_by });
            queue.priorities.push(Some(priority));
        }
        let mut ended = Vec::new();
        for i in 0..n {
            if matches!(queue.states[i], State::Waiting { pending: 0, .. }) {
                queue.settle(i, &mut ended);
            }
        }
        queue.propagate(ended);
        queue
    }

    /// Takes the ready node with the smallest priority, counting it as in
    /// flight until [`finish`](Self::finish); `None` when nothing is ready.
    pub fn dequeue(&mut self) -> Option<usize> {
        let (_, node) = self.ready.pop_first()?;
        self.states[node] = State::InFlight;
        self.in_flight += 1;
        self.queued -= 1;
        Some(node)
    }

    /// Records how an in-flight node ended, making ready whatever waited
    /// only on it, and ending as not attempted whatever it blocked. Finishing
    /// a node that is not in flight does nothing.
    pub fn finish(&mut self, node: usize, outcome: Outcome) {
        if self.states.get(node) != Some(&State::InFlight) {
            return;
        }
        self.states[node] = State::Ended(outcome);
        self.in_flight -= 1;
        self.propagate(vec![(node, outcome == Outcome::Succeeded)]);
    }

    /// Nodes neither dequeued nor ended: waiting or ready.
    #[must_use]
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Whether every node has been dequeued or has ended.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Nodes dequeued and not yet finished.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether some node is ready to be dequeued.
    #[must_use]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The nodes that ended without being attempted, in index order, each
    /// with the predecessors (ascending) that blocked it: those it waited
    /// on for success that failed or were not attempted themselves.
    pub fn not_attempted(&self) -> impl Iterator<Item = (usize, &[usize])> + '_ {
        self.states.iter().enumerate().filter_map(|(i, s)| match s {
            State::NotAttempted(by) => Some((i, by.as_slice())),
            _ => None,
        })
    }

    /// When nothing is ready and nothing is in flight, the nodes still
    /// waiting (ascending): they are on a dependency cycle or after one.
    /// Empty otherwise.
    #[must_use]
    pub fn stuck(&self) -> Vec<usize> {
        if self.in_flight > 0 || !self.ready.is_empty() {
            return Vec::new();
        }
        self.states
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, State::Waiting { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    /// Tells the dependents of the nodes in `ended` (node, succeeded) that
    /// they ended, and so on for the nodes that thereby end unattempted.
    fn propagate(&mut self, mut ended: Vec<(usize, bool)>) {
        while let Some((node, succeeded)) = ended.pop() {
            for (dependent, wait) in std::mem::take(&mut self.dependents[node]) {
                let State::Waiting { pending, blocked_by } = &mut self.states[dependent] else {
                    continue;
                };
                if !succeeded && wait == Wait::Success && !blocked_by.contains(&node) {
                    blocked_by.push(node);
                }
                *pending -= 1;
                if *pending == 0 {
                    self.settle(dependent, &mut ended);
                }
            }
        }
    }

    /// A waiting node whose predecessors have all ended becomes ready, or
    /// ends unattempted (and is pushed on `ended`) when one blocked it.
    fn settle(&mut self, node: usize, ended: &mut Vec<(usize, bool)>) {
        let State::Waiting { blocked_by, .. } = &mut self.states[node] else {
            return;
        };
        if blocked_by.is_empty() {
            self.states[node] = State::Ready;
            if let Some(priority) = self.priorities[node].take() {
                self.ready.insert((priority, node));
            }
        } else {
            let mut by = std::mem::take(blocked_by);
            by.sort_unstable();
            self.states[node] = State::NotAttempted(by);
            self.priorities[node] = None;
            self.queued -= 1;
            ended.push((node, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Wait = Wait::Success;
    const C: Wait = Wait::Completion;

    /// A queue whose priority is the node's index, from each node's edges.
    fn queue(edges: &[&[(usize, Wait)]]) -> DependencyQueue<usize> {
        DependencyQueue::new(edges.iter().enumerate().map(|(i, e)| (i, e.iter().copied())))
    }

    fn blocked(q: &DependencyQueue<usize>) -> Vec<(usize, Vec<usize>)> {
        q.not_attempted().map(|(i, by)| (i, by.to_vec())).collect()
    }

    #[test]
    fn success_edges_release_a_node_once_all_its_predecessors_succeeded() {
        // 0 → 2, 1 → 2, 2 → 3.
        let mut q = queue(&[&[], &[], &[(0, S), (1, S)], &[(2, S)]]);
        assert_eq!(q.len(), 4);
        assert_eq!(q.dequeue(), Some(0));
        assert_eq!(q.dequeue(), Some(1));
        assert_eq!(q.dequeue(), None);
        assert_eq!(q.in_flight(), 2);
        q.finish(0, Outcome::Succeeded);
        assert_eq!(q.dequeue(), None, "2 still waits on 1");
        q.finish(1, Outcome::Succeeded);
        assert_eq!(q.dequeue(), Some(2));
        q.finish(2, Outcome::Succeeded);
        assert_eq!(q.dequeue(), Some(3));
        assert!(q.is_empty());
        q.finish(3, Outcome::Succeeded);
        assert_eq!(q.in_flight(), 0);
        assert_eq!(q.dequeue(), None);
        assert!(q.stuck().is_empty());
        assert!(blocked(&q).is_empty());
    }

    #[test]
    fn the_ready_node_with_the_smallest_priority_comes_first() {
        let mut q = DependencyQueue::new([("c", vec![]), ("a", vec![(0, S)]), ("b", vec![])]);
        assert_eq!(q.dequeue(), Some(2), "b before c");
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Succeeded);
        q.finish(2, Outcome::Succeeded);
        assert_eq!(q.dequeue(), Some(1));
        // A node made ready later still goes before a larger one ready earlier.
        let mut q = DependencyQueue::new([(5, vec![]), (1, vec![(0, S)]), (9, vec![])]);
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Succeeded);
        assert_eq!(q.dequeue(), Some(1));
        assert_eq!(q.dequeue(), Some(2));
    }

    #[test]
    fn a_failure_blocks_its_success_dependents_transitively_and_spares_independent_branches() {
        // 0 → 1 → 2; 3 independent; 4 after 1 and 3.
        let mut q = queue(&[&[], &[(0, S)], &[(1, S)], &[], &[(1, S), (3, S)]]);
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Failed);
        assert_eq!(blocked(&q), vec![(1, vec![0]), (2, vec![1])]);
        assert_eq!(q.dequeue(), Some(3));
        assert_eq!(q.len(), 1, "4 is waiting on 3");
        q.finish(3, Outcome::Succeeded);
        assert_eq!(q.dequeue(), None);
        assert_eq!(blocked(&q), vec![(1, vec![0]), (2, vec![1]), (4, vec![1])]);
        assert!(q.is_empty());
        assert!(q.stuck().is_empty());
    }

    #[test]
    fn a_completion_edge_runs_after_a_failure() {
        // 0 stops; 1 after 0 fails; 2 starts again after 1 ends, whatever happened.
        let mut q = queue(&[&[], &[(0, S)], &[(1, C)]]);
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Succeeded);
        assert_eq!(q.dequeue(), Some(1));
        assert_eq!(q.dequeue(), None, "2 waits for 1 to end");
        q.finish(1, Outcome::Failed);
        assert_eq!(q.dequeue(), Some(2));
        q.finish(2, Outcome::Succeeded);
        assert!(blocked(&q).is_empty());
    }

    #[test]
    fn a_completion_edge_after_a_blocked_node_runs_once_the_blocked_node_ends() {
        // 0 fails; 1 needs 0 and 2 to succeed; 3 waits for 1 to end.
        let mut q = queue(&[&[], &[(0, S), (2, S)], &[], &[(1, C)]]);
        assert_eq!(q.dequeue(), Some(0));
        assert_eq!(q.dequeue(), Some(2));
        q.finish(0, Outcome::Failed);
        assert_eq!(q.dequeue(), None, "1 is blocked but has not ended: 2 is in flight");
        assert!(blocked(&q).is_empty());
        q.finish(2, Outcome::Succeeded);
        assert_eq!(blocked(&q), vec![(1, vec![0])]);
        assert_eq!(q.dequeue(), Some(3));
        q.finish(3, Outcome::Succeeded);
        assert!(q.is_empty());
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn a_node_not_attempted_blocks_its_success_dependents_and_releases_its_completion_dependents() {
        // 0 fails; 1 after 0 (success) is not attempted; 2 after 1 (success)
        // is blocked by 1; 3 after 2 (completion) still runs.
        let mut q = queue(&[&[], &[(0, S)], &[(1, S)], &[(2, C)]]);
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Failed);
        assert_eq!(blocked(&q), vec![(1, vec![0]), (2, vec![1])]);
        assert_eq!(q.dequeue(), Some(3));
    }

    #[test]
    fn a_dependency_outside_the_queue_blocks_over_success_and_not_over_completion() {
        let mut q = queue(&[&[(7, S)], &[(7, C)], &[(0, C)]]);
        assert_eq!(blocked(&q), vec![(0, vec![7])]);
        assert_eq!(q.dequeue(), Some(1));
        assert_eq!(q.dequeue(), Some(2));
        assert_eq!(q.dequeue(), None);
    }

    #[test]
    fn finishing_a_node_not_in_flight_changes_nothing() {
        let mut q = queue(&[&[], &[(0, S)]]);
        q.finish(1, Outcome::Failed);
        q.finish(0, Outcome::Succeeded);
        q.finish(42, Outcome::Succeeded);
        assert_eq!(q.in_flight(), 0);
        assert_eq!(q.dequeue(), Some(0));
        q.finish(0, Outcome::Succeeded);
        q.finish(0, Outcome::Failed);
        assert_eq!(q.dequeue(), Some(1));
    }

    #[test]
    fn a_cycle_leaves_its_nodes_and_those_after_it_stuck() {
        // 0 ⇄ 1, 2 after 1, 3 free, 4 after itself.
        let mut q = queue(&[&[(1, S)], &[(0, C)], &[(1, S)], &[], &[(4, S)]]);
        assert_eq!(q.dequeue(), Some(3));
        assert!(q.stuck().is_empty(), "3 is in flight");
        q.finish(3, Outcome::Succeeded);
        assert_eq!(q.dequeue(), None);
        assert_eq!(q.stuck(), vec![0, 1, 2, 4]);
        assert_eq!(q.len(), 4);
    }

    /// A node as the property test sees it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Seen {
        Waiting,
        InFlight,
        Succeeded,
        Failed,
        NotAttempted,
    }

    proptest::proptest! {
        /// Against a direct reading of the rules, on random DAGs, outcomes and
        /// interleavings: every node is dequeued or not attempted exactly once,
        /// always the smallest one the rules allow, and a node not attempted
        /// names exactly its success-predecessors that did not succeed.
        #[test]
        fn the_queue_follows_the_rules(
            nodes in proptest::collection::vec(
                (proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<bool>()), 0..4),
                 proptest::prelude::any::<bool>()),
                1..14,
            ),
            schedule in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..80),
        ) {
            // Node i waits on nodes before it (a DAG); `fails` says how it ends.
            let edges: Vec<Vec<(usize, Wait)>> = nodes
                .iter()
                .enumerate()
                .map(|(i, (e, _))| {
                    if i == 0 {
                        return Vec::new();
                    }
                    e.iter().map(|(j, completion)| (j.index(i), if *completion { C } else { S })).collect()
                })
                .collect();
            let fails: Vec<bool> = nodes.iter().map(|(_, f)| *f).collect();
            let n = edges.len();
            let mut q = DependencyQueue::new(edges.iter().enumerate().map(|(i, e)| (i, e.iter().copied())));
            let mut seen = vec![Seen::Waiting; n];
            let mut schedule = schedule.into_iter();
            let ended = |s: Seen| matches!(s, Seen::Succeeded | Seen::Failed | Seen::NotAttempted);
            loop {
                // The rules, read directly, in index order (predecessors come first).
                let mut allowed = None;
                for i in 0..n {
                    if seen[i] != Seen::Waiting || !edges[i].iter().all(|&(j, _)| ended(seen[j])) {
                        continue;
                    }
                    if edges[i].iter().any(|&(j, w)| w == S && seen[j] != Seen::Succeeded) {
                        seen[i] = Seen::NotAttempted;
                    } else if allowed.is_none() {
                        allowed = Some(i);
                    }
                }
                let in_flight: Vec<usize> = (0..n).filter(|&i| seen[i] == Seen::InFlight).collect();
                proptest::prop_assert_eq!(q.in_flight(), in_flight.len());
                proptest::prop_assert_eq!(q.has_ready(), allowed.is_some());
                let choices = usize::from(allowed.is_some()) + in_flight.len();
                if choices == 0 {
                    break;
                }
                let pick = schedule.next().map_or(0, |x| x.index(choices));
                if let (Some(i), 0) = (allowed, pick) {
                    proptest::prop_assert_eq!(q.dequeue(), Some(i));
                    seen[i] = Seen::InFlight;
                } else {
                    let i = in_flight[pick - usize::from(allowed.is_some())];
                    q.finish(i, if fails[i] { Outcome::Failed } else { Outcome::Succeeded });
                    seen[i] = if fails[i] { Seen::Failed } else { Seen::Succeeded };
                }
            }
            proptest::prop_assert!(q.is_empty());
            proptest::prop_assert!(q.stuck().is_empty());
            proptest::prop_assert!(seen.iter().all(|s| ended(*s)));
            let expected: Vec<(usize, Vec<usize>)> = (0..n)
                .filter(|&i| seen[i] == Seen::NotAttempted)
                .map(|i| {
                    let mut by: Vec<usize> = edges[i]
                        .iter()
                        .filter(|&&(j, w)| w == S && seen[j] != Seen::Succeeded)
                        .map(|&(j, _)| j)
                        .collect();
                    by.sort_unstable();
                    by.dedup();
                    (i, by)
                })
                .collect();
            proptest::prop_assert_eq!(blocked(&q), expected);
        }
    }
}
