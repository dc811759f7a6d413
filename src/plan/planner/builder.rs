//! Collects plan nodes with the milestones they provide and wait on, plus
//! changes and warnings; then resolves milestones to edges, orders the DAG
//! and numbers the actions.

use std::collections::BTreeMap;

use serde_json::Value;

use super::milestone::{Await, Milestone, Need};
use crate::plan::error::PlannerBug;
use crate::plan::order::{Node, order};
use crate::plan::{Action, Change, Dependency, Operation, Phase, Plan, Wait};

/// A node as a phase declares it.
pub(super) struct PlanNode {
    pub operation: Operation,
    pub phase: Phase,
    pub reason: String,
    /// The milestones this node provides.
    pub provides: Vec<Milestone>,
    /// The milestones it waits on.
    pub awaits: Vec<Await>,
    /// `Some`: the node is planned only if some other, unconditional node
    /// provides one of these milestones.
    pub only_if: Option<Vec<Milestone>>,
}

impl PlanNode {
    /// Declares a milestone the node provides.
    pub fn provides(&mut self, milestone: Milestone) -> &mut Self {
        self.provides.push(milestone);
        self
    }

    /// Waits for every provider of `milestone` to succeed, if the plan has any.
    pub fn after(&mut self, milestone: Milestone, reason: impl Into<String>) -> &mut Self {
        self.wait(milestone, Wait::Success, Need::IfPlanned, reason)
    }

    /// Waits for every provider of `milestone` to succeed; the planner's
    /// rules guarantee there is one.
    pub fn after_required(&mut self, milestone: Milestone, reason: impl Into<String>) -> &mut Self {
        self.wait(milestone, Wait::Success, Need::Required, reason)
    }

    /// Waits for every provider of `milestone` to end, whatever the outcome.
    pub fn after_end_of(&mut self, milestone: Milestone, reason: impl Into<String>) -> &mut Self {
        self.wait(milestone, Wait::Completion, Need::IfPlanned, reason)
    }

    fn wait(&mut self, milestone: Milestone, wait: Wait, need: Need, reason: impl Into<String>) -> &mut Self {
        self.awaits.push(Await {
            milestone,
            wait,
            need,
            reason: reason.into(),
        });
        self
    }

    /// Plans the node only if some unconditional node provides one of `triggers`.
    pub fn only_if_any(&mut self, triggers: Vec<Milestone>) -> &mut Self {
        self.only_if = Some(triggers);
        self
    }
}

/// The plan under construction.
#[derive(Default)]
pub(super) struct Builder {
    pub nodes: Vec<PlanNode>,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
}

/// The reason of the edges that chain the topology writes.
pub(super) const ONE_TOPOLOGY_WRITE_AT_A_TIME: &str = "topology writes are made one at a time: each reads the whole topology and writes it back, so two at once would race on the same document";

/// A resolved edge before numbering: node index, wait kind, reason.
type Edge = (usize, Wait, String);

/// A node's resolved edges: the indices it waits on (for ordering), and the edges.
type Resolved = (Vec<usize>, Vec<Edge>);

impl Builder {
    /// Adds a node; declare its milestones on the returned node.
    pub fn add(&mut self, phase: Phase, operation: Operation, reason: impl Into<String>) -> &mut PlanNode {
        self.nodes.push(PlanNode {
            operation,
            phase,
            reason: reason.into(),
            provides: Vec::new(),
            awaits: Vec::new(),
            only_if: None,
        });
        let last = self.nodes.len() - 1;
        &mut self.nodes[last]
    }

    /// Declares what follows from each node's kind, once for every node of
    /// the kind (after what its phase declared, whose reasons come first):
    /// a kind that writes to the Central Management store waits for the
    /// store's failover, if the run has one; a kind whose cmdlet writes the
    /// published topology itself waits for the run's publish, if it has one.
    fn declare_kind_rules(&mut self) {
        for node in &mut self.nodes {
            let kind = node.operation.kind();
            if kind.writes_central_management() {
                node.provides(Milestone::CentralManagementWrite).after(
                    Milestone::CentralManagementFailedOver,
                    "Lync refuses writes to the Central Management store (publish, Set-CsSite, Set-CsEdgeServer, pool failover) until its server, whose pool is down, is failed over",
                );
            }
            if kind.writes_published_topology() {
                node.after(
                    Milestone::TopologyPublished,
                    format!(
                        "{kind} writes the published topology itself: before the publish, publishing the document staged earlier would undo it or be refused"
                    ),
                );
            }
        }
    }

    /// Chains the actions whose cmdlet writes the published topology
    /// (`Set-CsSite`, `Set-CsEdgeServer`) in printed order: each waits for
    /// the previous one to end, whatever its outcome. Each such cmdlet
    /// reads the whole topology, changes one object and writes the topology
    /// back with a new signature, so two at once would race on the same
    /// document; the edge makes that visible in the plan, and the
    /// executor, which runs whatever the edges allow at once, never
    /// overlaps them. Printed order is a topological order, so the chain
    /// adds no cycle.
    fn one_topology_write_at_a_time(&self, printed: &[usize], edges: &mut [Resolved]) {
        let mut previous: Option<usize> = None;
        for &i in printed {
            if !self.nodes[i].operation.kind().writes_published_topology() {
                continue;
            }
            if let Some(p) = previous
                && !edges[i].1.iter().any(|(on, _, _)| *on == p)
            {
                edges[i].0.push(p);
                edges[i]
                    .1
                    .push((p, Wait::Completion, ONE_TOPOLOGY_WRITE_AT_A_TIME.into()));
            }
            previous = Some(i);
        }
    }

    /// Records a difference.
    pub fn change(&mut self, path: String, observed: Value, desired: Value) {
        self.changes.push(Change {
            path,
            observed,
            desired,
        });
    }

    /// Records a warning.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Drops the conditional nodes whose triggers nobody provides, resolves
    /// milestones to edges, orders the nodes, numbers them, and sorts changes
    /// and warnings.
    ///
    /// # Errors
    /// A [`PlannerBug`] when a required milestone has no provider or the
    /// edges form a cycle.
    pub fn finish(mut self) -> Result<Plan, PlannerBug> {
        self.declare_kind_rules();
        self.drop_untriggered();
        let edges = self.resolve()?;
        let keyed: Vec<Node<'_>> = self
            .nodes
            .iter()
            .zip(&edges)
            .map(|(n, (after, _))| Node {
                phase: n.phase,
                kind_rank: n.operation.kind().rank(),
                target: n.operation.target(),
                after,
            })
            .collect();
        let printed = order(&keyed).map_err(|cycle| PlannerBug::Cycle {
            actions: cycle.iter().map(|i| self.nodes[*i].operation.to_string()).collect(),
        })?;
        let mut id_of = vec![0; self.nodes.len()];
        for (pos, &i) in printed.iter().enumerate() {
            id_of[i] = pos + 1;
        }
        let mut edges = edges;
        self.one_topology_write_at_a_time(&printed, &mut edges);
        let actions = printed
            .iter()
            .map(|&i| {
                let n = &self.nodes[i];
                let mut depends_on: Vec<Dependency> = edges[i]
                    .1
                    .iter()
                    .map(|(on, wait, reason)| Dependency {
                        on: id_of[*on],
                        wait: *wait,
                        reason: reason.clone(),
                    })
                    .collect();
                depends_on.sort_by_key(|d| d.on);
                Action {
                    id: id_of[i],
                    operation: n.operation.clone(),
                    phase: n.phase,
                    depends_on,
                    reason: n.reason.clone(),
                }
            })
            .collect();
        self.changes.sort_by(|a, c| a.path.cmp(&c.path));
        self.changes.dedup_by(|a, c| a.path == c.path);
        self.warnings.sort();
        self.warnings.dedup();
        Ok(Plan {
            changes: self.changes,
            actions,
            warnings: self.warnings,
        })
    }

    /// Keeps a conditional node only if an unconditional node provides one
    /// of its triggers; keeps the others' relative order.
    fn drop_untriggered(&mut self) {
        let provided: std::collections::BTreeSet<&Milestone> = self
            .nodes
            .iter()
            .filter(|n| n.only_if.is_none())
            .flat_map(|n| &n.provides)
            .collect();
        let keep: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| {
                n.only_if
                    .as_ref()
                    .is_none_or(|t| t.iter().any(|m| provided.contains(m)))
            })
            .collect();
        let mut keep = keep.into_iter();
        self.nodes.retain(|_| keep.next().unwrap_or(true));
    }

    /// Per node: the indices it waits on (sorted, unique), and its edges.
    /// Two milestones leading to the same node make one edge: it waits for
    /// success if either does, with the first reason declared.
    fn resolve(&self) -> Result<Vec<Resolved>, PlannerBug> {
        let mut providers: BTreeMap<&Milestone, Vec<usize>> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for m in &n.provides {
                providers.entry(m).or_default().push(i);
            }
        }
        let waits_on_everything = |n: &PlanNode| n.awaits.iter().any(|a| a.milestone == Milestone::EveryOtherAction);
        let others: Vec<usize> = (0..self.nodes.len())
            .filter(|i| !waits_on_everything(&self.nodes[*i]))
            .collect();
        let mut out = Vec::with_capacity(self.nodes.len());
        for (i, n) in self.nodes.iter().enumerate() {
            let mut edges: Vec<Edge> = Vec::new();
            for a in &n.awaits {
                let from: &[usize] = if a.milestone == Milestone::EveryOtherAction {
                    &others
                } else {
                    providers.get(&a.milestone).map_or(&[], Vec::as_slice)
                };
                if from.is_empty() && a.need == Need::Required {
                    return Err(PlannerBug::MissingMilestone {
                        action: n.operation.to_string(),
                        milestone: a.milestone.to_string(),
                    });
                }
                edges.extend(from.iter().filter(|&&j| j != i).map(|&j| (j, a.wait, a.reason.clone())));
            }
            edges.sort_by_key(|e| e.0);
            edges.dedup_by(|later, kept| {
                if later.0 != kept.0 {
                    return false;
                }
                if later.1 == Wait::Success {
                    kept.1 = Wait::Success;
                }
                true
            });
            let after = edges.iter().map(|e| e.0).collect();
            out.push((after, edges));
        }
        Ok(out)
    }
}
