//! The plan JSON (contract §5): a versioned wire format, written by
//! `plan --out` and `--output json`, read back by `reconcile --plan`.

use serde::{Deserialize, Serialize};

use crate::document::Desired;
use crate::model::Deployment;
use crate::plan::{Action, Change, Dependency, Operation, Phase, Plan, Wait};

/// The plan JSON's `formatVersion`.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Which document the plan was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredRef {
    /// The file as given.
    pub file: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// What the plan was made against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRef {
    /// `lab` or `powershell`.
    pub backend: String,
    /// [`Deployment::fingerprint`] of the observation.
    pub fingerprint: String,
    /// The observation itself (extension): lets `reconcile --plan` name what
    /// changed when it refuses a stale plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Deployment>,
}

/// Counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of actions.
    pub actions: usize,
    /// Number of `publish-topology` actions.
    pub topology_publishes: usize,
}

/// An action as the plan JSON writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionWire {
    /// 1-based position in the printed order.
    pub id: usize,
    /// The kind and its fields.
    #[serde(flatten)]
    pub operation: Operation,
    /// The phase, 1–10.
    pub phase: Phase,
    /// Ids of the actions it waits on.
    pub depends_on: Vec<usize>,
    /// Why it is in the plan.
    pub reason: String,
}

impl From<&Action> for ActionWire {
    fn from(a: &Action) -> Self {
        Self {
            id: a.id,
            operation: a.operation.clone(),
            phase: a.phase,
            depends_on: a.depends_on_ids().collect(),
            reason: a.reason.clone(),
        }
    }
}

impl From<ActionWire> for Action {
    fn from(a: ActionWire) -> Self {
        Self {
            id: a.id,
            operation: a.operation,
            phase: a.phase,
            depends_on: a
                .depends_on
                .into_iter()
                .map(|on| Dependency {
                    on,
                    wait: Wait::Success,
                    reason: String::new(),
                })
                .collect(),
            reason: a.reason,
        }
    }
}

/// The whole plan document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDocument {
    /// Always [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
    /// The document.
    pub desired: DesiredRef,
    /// The observation.
    pub observed: ObservedRef,
    /// Nothing to do.
    pub in_sync: bool,
    /// The differences.
    pub changes: Vec<Change>,
    /// The actions in order.
    pub actions: Vec<ActionWire>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Counts.
    pub summary: Summary,
}

impl PlanDocument {
    /// The wire form of `plan`.
    #[must_use]
    pub fn new(plan: &Plan, desired: &Desired, backend: &str, observed: &Deployment) -> Self {
        Self {
            format_version: PLAN_FORMAT_VERSION,
            desired: DesiredRef {
                file: desired.source.file.clone(),
                sha256: desired.source.sha256.clone(),
            },
            observed: ObservedRef {
                backend: backend.to_string(),
                fingerprint: observed.fingerprint(),
                state: Some(observed.clone()),
            },
            in_sync: plan.in_sync(),
            changes: plan.changes.clone(),
            actions: plan.actions.iter().map(ActionWire::from).collect(),
            warnings: plan.warnings.clone(),
            summary: Summary {
                actions: plan.actions.len(),
                topology_publishes: plan.topology_publishes(),
            },
        }
    }

    /// The plan it carries.
    #[must_use]
    pub fn plan(&self) -> Plan {
        Plan {
            changes: self.changes.clone(),
            actions: self.actions.iter().cloned().map(Action::from).collect(),
            warnings: self.warnings.clone(),
        }
    }

    /// Pretty JSON with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// The document paths whose values differ between two observations, for
/// naming what changed under a saved plan.
#[must_use]
pub fn differences(before: &Deployment, after: &Deployment) -> Vec<String> {
    let a = serde_json::to_value(before).unwrap_or_default();
    let b = serde_json::to_value(after).unwrap_or_default();
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    out
}

fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(
                    &p,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: {a} → {b}")),
        _ => {}
    }
}
