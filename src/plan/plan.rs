//! The result of planning: what differs (changes), what to do about it
//! (actions, a DAG in printed order), and what cannot be done (warnings).

use serde::{Deserialize, Serialize};

use super::Action;

/// One difference between the deployment and the document, named with the
/// document's own keys as a JSON Pointer into its `spec`
/// (`/sites/Site1/xmppFederationRoute`, …; see [`super::pointer`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    /// The setting, as an RFC 6901 JSON Pointer into the document's `spec`.
    pub path: String,
    /// What the deployment has.
    pub observed: serde_json::Value,
    /// What the document wants.
    pub desired: serde_json::Value,
}

/// A plan: the same inputs always give the same plan, byte for byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The differences, in a stable order.
    pub changes: Vec<Change>,
    /// The actions in printed (topological) order; `id` is 1-based position.
    pub actions: Vec<Action>,
    /// What the plan cannot act on (unreachable servers, unmanaged records).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Nothing differs and nothing is to be done.
    #[must_use]
    pub fn in_sync(&self) -> bool {
        self.changes.is_empty() && self.actions.is_empty()
    }

    /// How many `publish-topology` actions the plan has (0 or 1).
    #[must_use]
    pub fn topology_publishes(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| a.operation.kind() == super::OperationKind::PublishTopology)
            .count()
    }
}
