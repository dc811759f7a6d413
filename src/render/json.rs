//! The plan JSON: a versioned wire format, written by `plan --out` and
//! `--output json`, read back by `reconcile --plan`. The wire structs are
//! kept apart from the domain's [`Action`] and [`Dependency`].
//!
//! Version 2 added each action's `waitsFor` (its direct edges, each with
//! the wait kind and the reason); version 1 plans are refused. Version 3
//! names each change's setting with an RFC 6901 JSON Pointer
//! (`/sites/Site1/federationRoute`) instead of a dotted path, which FQDN keys
//! made ambiguous; version 2 plans are still read (their changes are shown
//! as written and never applied: a saved plan's actions are what is checked
//! and run).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::document::Desired;
use crate::model::Deployment;
use crate::plan::{Action, Change, Dependency, Operation, Phase, Plan, Wait};

/// The plan JSON's `formatVersion`.
pub const PLAN_FORMAT_VERSION: u32 = 3;

/// The oldest `formatVersion` still read.
pub const OLDEST_READ_FORMAT_VERSION: u32 = 2;

/// Which document the plan was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DesiredRef {
    /// The file as given.
    pub file: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
}

/// What the plan was made against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObservedRef {
    /// `lab` or `powershell`.
    pub backend: String,
    /// [`Deployment::fingerprint`] of the observation.
    pub fingerprint: String,
    /// The observation itself (extension): lets `reconcile --plan` name what
    /// changed when it refuses a stale plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    pub state: Option<Deployment>,
}

/// Counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of actions.
    pub actions: usize,
    /// Number of `publish-topology` actions.
    pub topology_publishes: usize,
}

/// One direct edge of an action, as the plan JSON writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitWire {
    /// The id of the action waited on.
    pub action: usize,
    /// `success` or `completion`.
    pub until: Wait,
    /// Why the action waits.
    pub reason: String,
}

/// An action as the plan JSON writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionWire {
    /// 1-based position in the printed order.
    pub id: usize,
    /// The kind and its fields.
    #[serde(flatten)]
    #[schemars(with = "OperationSchema")]
    pub operation: Operation,
    /// The phase, 1–10.
    #[schemars(with = "u8", range(min = 1, max = 10))]
    pub phase: Phase,
    /// Ids of the actions it waits on (the same as `waits_for`'s, for
    /// readers that only need the graph).
    pub depends_on: Vec<usize>,
    /// The direct edges: what it waits on, until when, and why.
    pub waits_for: Vec<WaitWire>,
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
            waits_for: a
                .depends_on
                .iter()
                .map(|d| WaitWire {
                    action: d.on,
                    until: d.wait,
                    reason: d.reason.clone(),
                })
                .collect(),
            reason: a.reason.clone(),
        }
    }
}

impl TryFrom<ActionWire> for Action {
    type Error = String;

    /// The domain action; refused when `dependsOn` and `waitsFor` disagree.
    fn try_from(a: ActionWire) -> Result<Self, Self::Error> {
        let waited: Vec<usize> = a.waits_for.iter().map(|w| w.action).collect();
        let mut listed = a.depends_on.clone();
        listed.sort_unstable();
        let mut unique = waited.clone();
        unique.sort_unstable();
        unique.dedup();
        if listed != unique || unique.len() != waited.len() {
            return Err(format!(
                "action {}: dependsOn {:?} does not match the actions of its waitsFor {:?} — the file was edited by hand; make the plan again",
                a.id, a.depends_on, waited
            ));
        }
        Ok(Self {
            id: a.id,
            operation: a.operation,
            phase: a.phase,
            depends_on: a
                .waits_for
                .into_iter()
                .map(|w| Dependency {
                    on: w.action,
                    wait: w.until,
                    reason: w.reason,
                })
                .collect(),
            reason: a.reason,
        })
    }
}

/// The schema of an operation in the plan JSON: its `kind`, one of the
/// action-kind table's names, and the kind's fields beside it.
pub struct OperationSchema;

impl JsonSchema for OperationSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Operation".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let kinds: Vec<&str> = crate::plan::OperationKind::ALL.iter().map(|k| k.name()).collect();
        schemars::json_schema!({
            "description": "What the action does: `kind` and the kind's fields (pools, sites, records, …).",
            "type": "object",
            "required": ["kind"],
            "properties": { "kind": { "type": "string", "enum": kinds } }
        })
    }
}

/// The whole plan document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanDocument {
    /// [`PLAN_FORMAT_VERSION`] when written; from
    /// [`OLDEST_READ_FORMAT_VERSION`] up to it when read.
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
        Self::with_observation(plan, desired, backend, observed.clone())
    }

    /// As [`PlanDocument::new`], keeping the observation itself rather than
    /// a copy of it (a large estate's observation is tens of megabytes).
    #[must_use]
    pub fn with_observation(plan: &Plan, desired: &Desired, backend: &str, observed: Deployment) -> Self {
        Self {
            format_version: PLAN_FORMAT_VERSION,
            desired: DesiredRef {
                file: desired.source.file.clone(),
                sha256: desired.source.sha256.clone(),
            },
            observed: ObservedRef {
                backend: backend.to_string(),
                fingerprint: observed.fingerprint(),
                state: Some(observed),
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

    /// Reads a plan JSON, refusing a format version it does not read before
    /// anything else is read (a version 1 plan has no `waitsFor`; a newer one
    /// was written by a newer edgefed).
    ///
    /// # Errors
    /// What is wrong, with line and column for a JSON error.
    pub fn from_json(text: &str) -> Result<Self, PlanReadError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_str(text).map_err(PlanReadError::NotAPlan)?;
        if !(OLDEST_READ_FORMAT_VERSION..=PLAN_FORMAT_VERSION).contains(&version.format_version) {
            return Err(PlanReadError::Version(version.format_version));
        }
        serde_json::from_str(text).map_err(PlanReadError::NotAPlan)
    }

    /// The plan it carries.
    ///
    /// # Errors
    /// An action whose `dependsOn` and `waitsFor` disagree.
    pub fn plan(&self) -> Result<Plan, String> {
        Ok(Plan {
            changes: self.changes.clone(),
            actions: self
                .actions
                .iter()
                .cloned()
                .map(Action::try_from)
                .collect::<Result<_, _>>()?,
            warnings: self.warnings.clone(),
        })
    }

    /// Pretty JSON with a final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes [`PlanDocument::to_json`]'s text to `out` as it is made,
    /// without holding it whole.
    ///
    /// # Errors
    /// The writer's error.
    pub fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    }
}

/// Why a plan file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanReadError {
    /// Not JSON, or not the shape of a plan.
    #[error("not an edgefed plan: {0}")]
    NotAPlan(serde_json::Error),
    /// Another format version.
    #[error(
        "plan formatVersion {0} is not one this edgefed reads ({OLDEST_READ_FORMAT_VERSION} to {PLAN_FORMAT_VERSION}; version 2 added why each action waits); make the plan again with this edgefed"
    )]
    Version(u32),
}

/// The paths (JSON Pointers into the observation) whose values differ
/// between two observations, for naming what changed under a saved plan.
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
                let p = format!("{path}/{}", crate::plan::pointer_escape(k));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::fqdn;

    fn start_after(edges: Vec<Dependency>) -> Action {
        Action {
            id: 3,
            operation: Operation::StartServices {
                pool: fqdn("edgepool2.contoso.com"),
                computer: fqdn("edge2a.contoso.com"),
            },
            phase: Phase::XmppBracketEnd,
            depends_on: edges,
            reason: "end of the bracket".into(),
        }
    }

    #[test]
    fn an_action_round_trips_with_its_wait_kinds_and_reasons() {
        let action = start_after(vec![
            Dependency {
                on: 1,
                wait: Wait::Completion,
                reason: "after the route, whatever the outcome".into(),
            },
            Dependency {
                on: 2,
                wait: Wait::Success,
                reason: "after DNS".into(),
            },
        ]);
        let wire = ActionWire::from(&action);
        let json = serde_json::to_value(&wire).unwrap();
        assert_eq!(json["dependsOn"], serde_json::json!([1, 2]));
        assert_eq!(
            json["waitsFor"][0],
            serde_json::json!({"action": 1, "until": "completion", "reason": "after the route, whatever the outcome"})
        );
        let back: ActionWire = serde_json::from_value(json).unwrap();
        assert_eq!(Action::try_from(back).unwrap(), action);
    }

    #[test]
    fn depends_on_and_waits_for_must_agree() {
        let mut wire = ActionWire::from(&start_after(vec![Dependency {
            on: 1,
            wait: Wait::Success,
            reason: "r".into(),
        }]));
        wire.depends_on = vec![1, 2];
        assert!(Action::try_from(wire).unwrap_err().contains("does not match"));
    }

    /// A plan document of `d.yaml` on the lab, not in sync, with these
    /// actions and observed state and nothing else.
    fn document(state: Option<Deployment>, actions: Vec<ActionWire>) -> PlanDocument {
        PlanDocument {
            format_version: PLAN_FORMAT_VERSION,
            desired: DesiredRef {
                file: "d.yaml".into(),
                sha256: "00".into(),
            },
            observed: ObservedRef {
                backend: "lab".into(),
                fingerprint: "ff".into(),
                state,
            },
            in_sync: false,
            changes: Vec::new(),
            summary: Summary {
                actions: actions.len(),
                topology_publishes: 0,
            },
            actions,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_version_2_plan_is_still_read_and_a_newer_one_is_refused() {
        let mut doc = document(None, Vec::new());
        doc.changes = vec![Change {
            path: "sites.Site1.federationRoute".into(),
            observed: serde_json::json!(null),
            desired: serde_json::json!("e.contoso.com"),
        }];
        let current = serde_json::to_value(doc).unwrap();
        let mut v2 = current.clone();
        v2["formatVersion"] = serde_json::json!(2);
        let read = PlanDocument::from_json(&v2.to_string()).expect("a version 2 plan reads");
        assert_eq!(read.changes[0].path, "sites.Site1.federationRoute");
        let mut v4 = current;
        v4["formatVersion"] = serde_json::json!(PLAN_FORMAT_VERSION + 1);
        match PlanDocument::from_json(&v4.to_string()) {
            Err(e @ PlanReadError::Version(4)) => assert!(e.to_string().contains("2 to 3"), "{e}"),
            other => panic!("expected a version error, got {other:?}"),
        }
    }

    #[test]
    fn differences_are_pointers_with_escaped_keys() {
        let mut out = Vec::new();
        walk(
            "",
            &serde_json::json!({"sites": {"a/b.c": {"x": 1}}}),
            &serde_json::json!({"sites": {"a/b.c": {"x": 2}}}),
            &mut out,
        );
        assert_eq!(out, vec!["/sites/a~1b.c/x: 1 → 2".to_string()]);
    }

    #[test]
    fn the_streamed_json_is_the_json_text() {
        let action = ActionWire::from(&start_after(vec![Dependency {
            on: 1,
            wait: Wait::Success,
            reason: "after \u{1b}[31m\"the route\"".into(),
        }]));
        let mut doc = document(Some(Deployment::default()), vec![action]);
        doc.warnings = vec!["w".into()];
        let mut streamed = Vec::new();
        doc.write_json(&mut streamed).expect("written");
        let text = String::from_utf8(streamed).expect("UTF-8");
        assert_eq!(text, doc.to_json());
        assert!(text.ends_with("}\n"), "{text}");
        assert!(!text.contains('\u{1b}'), "control characters are escaped: {text}");
    }

    #[test]
    fn a_version_1_plan_is_refused_before_its_actions_are_read() {
        let v1 = r#"{"formatVersion": 1, "actions": [{"id": 1, "dependsOn": []}]}"#;
        match PlanDocument::from_json(v1) {
            Err(PlanReadError::Version(1)) => {}
            other => panic!("expected a version error, got {other:?}"),
        }
    }
}
