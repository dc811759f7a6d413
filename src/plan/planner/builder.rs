//! Collects plan nodes, changes and warnings, then orders and numbers them.

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::document::Desired;
use crate::plan::order::{Node, order};
use crate::plan::{Action, Change, Dependency, Operation, Phase, Plan, Wait};

/// A node before ordering: `after` holds node indices.
pub(super) struct PlanNode {
    pub operation: Operation,
    pub phase: Phase,
    pub after: Vec<usize>,
    pub reason: String,
}

/// The plan under construction.
#[derive(Default)]
pub(super) struct Builder {
    pub nodes: Vec<PlanNode>,
    pub changes: Vec<Change>,
    pub warnings: Vec<String>,
}

impl Builder {
    /// Adds a node; returns its index.
    pub fn add(&mut self, phase: Phase, operation: Operation, after: Vec<usize>, reason: impl Into<String>) -> usize {
        self.nodes.push(PlanNode {
            operation,
            phase,
            after,
            reason: reason.into(),
        });
        self.nodes.len() - 1
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

    /// Orders the nodes, numbers them, and sorts changes and warnings.
    pub fn finish(mut self, desired: &Desired) -> Result<Plan, Diagnostics> {
        for node in &mut self.nodes {
            node.after.sort_unstable();
            node.after.dedup();
        }
        let keyed: Vec<Node<'_>> = self
            .nodes
            .iter()
            .map(|n| Node {
                phase: n.phase,
                kind_rank: n.operation.kind().rank(),
                target: n.operation.target(),
                after: &n.after,
            })
            .collect();
        let printed = order(&keyed).map_err(|cycle| {
            let names: Vec<String> = cycle.iter().map(|i| self.nodes[*i].operation.to_string()).collect();
            Diagnostics {
                file: desired.source.file.clone(),
                text: String::new(),
                diagnostics: vec![
                    Diagnostic::plain(format!(
                        "internal error: the plan has a dependency cycle through {}",
                        names.join("; ")
                    ))
                    .help("this is a bug in edgefed; please report it with the document and `edgefed observe` output"),
                ],
            }
        })?;
        let mut id_of = vec![0; self.nodes.len()];
        for (pos, &i) in printed.iter().enumerate() {
            id_of[i] = pos + 1;
        }
        let actions = printed
            .iter()
            .map(|&i| {
                let n = &self.nodes[i];
                let mut ids: Vec<usize> = n.after.iter().map(|d| id_of[*d]).collect();
                ids.sort_unstable();
                let depends_on = ids
                    .into_iter()
                    .map(|on| Dependency {
                        on,
                        wait: Wait::Success,
                        reason: String::new(),
                    })
                    .collect();
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
}
