//! What the watcher tells about each reconcile: one line for people, or one
//! NDJSON object per reconcile on stdout (`--output json`), and a log line
//! on stderr (`--log-format json` makes the logs JSON too).

use serde::Serialize;

/// Why a reconcile ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The watcher started.
    Start,
    /// The interval elapsed after a success.
    Interval,
    /// The backoff elapsed after a failure.
    Retry,
    /// The document changed.
    Document,
    /// The lab file changed (another process, e.g. `edgefed lab fail`).
    Lab,
    /// SIGHUP.
    Signal,
    /// This watcher was elected leader.
    Leadership,
}

/// How a reconcile ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Result {
    /// The deployment matches the document; nothing to do.
    InSync,
    /// It differs, and nothing was applied (monitor mode, or a follower).
    Drift,
    /// It differs, and a person acts: more actions than `--max-actions` (run
    /// `edgefed reconcile`), or the plan refused by a rule (P1–P8).
    Blocked,
    /// Every action was applied and a second observation matched the document.
    Applied,
    /// The backend could not be opened or could not observe, or the plan failed.
    FailedObserve,
    /// An action failed, the lock was held, or the run did not verify.
    FailedApply,
    /// The document is invalid and there is no earlier valid one.
    InvalidDocument,
    /// SIGTERM or SIGINT stopped the apply: nothing more was dispatched,
    /// the actions in flight ended (or were abandoned), the rest were not
    /// attempted; the next run carries on.
    Stopped,
}

impl Result {
    /// The name, as in the event and the `result` label.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::InSync => "in-sync",
            Self::Drift => "drift",
            Self::Blocked => "blocked",
            Self::Applied => "applied",
            Self::FailedObserve => "failed-observe",
            Self::FailedApply => "failed-apply",
            Self::InvalidDocument => "invalid-document",
            Self::Stopped => "stopped",
        }
    }
}

/// The document as this reconcile read it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentState {
    /// The file.
    pub file: String,
    /// Whether it is valid; when not, the last valid version was used.
    pub valid: bool,
    /// The located error, when invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One reconcile, as printed.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Always `reconcile` (the other lines are `action` and `leadership`).
    pub event: &'static str,
    /// When it ended (RFC 3339, UTC).
    pub time: String,
    /// Why it ran.
    pub trigger: Trigger,
    /// `monitor` or `correct` (a follower reports `monitor`).
    pub mode: &'static str,
    /// Whether this watcher led.
    pub leader: bool,
    /// How it ended.
    pub result: Result,
    /// The fencing token of the term the actions were applied under (an
    /// elected leader that applied; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
    /// Whether the deployment matched the document at the end.
    pub in_sync: bool,
    /// The plan's actions (before any apply), one line each.
    pub actions: Vec<String>,
    /// Actions applied.
    pub applied: usize,
    /// Actions failed.
    pub failed: usize,
    /// Actions not attempted (a failed dependency, a stop, a lost term).
    pub not_attempted: usize,
    /// What went wrong, for a failure or a block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The document.
    pub document: DocumentState,
    /// How long the reconcile took.
    pub duration_ms: u64,
    /// Consecutive failures of this cause, 0 after a success.
    pub failures: u32,
    /// When the next reconcile runs unless something triggers it sooner.
    pub next_in_ms: u64,
}

impl Event {
    /// The NDJSON line.
    #[must_use]
    pub fn json_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            format!(
                r#"{{"result":"{}","message":"event not serialisable: {e}"}}"#,
                self.result.name()
            )
        });
        line.push('\n');
        line
    }

    /// The line for people.
    #[must_use]
    pub fn human_line(&self) -> String {
        let next = humantime::format_duration(std::time::Duration::from_millis(self.next_in_ms));
        let what = match self.result {
            Result::InSync => "in sync".to_string(),
            Result::Drift => format!(
                "drift: {} action(s) pending, not applied ({})",
                self.actions.len(),
                self.mode
            ),
            Result::Blocked if self.actions.is_empty() => "blocked".to_string(),
            Result::Blocked => format!("blocked: {} action(s) pending", self.actions.len()),
            Result::Applied => format!("applied {} action(s); in sync", self.applied),
            Result::Stopped => format!(
                "stopped: {} applied, {} failed, {} not attempted",
                self.applied, self.failed, self.not_attempted
            ),
            Result::FailedObserve | Result::FailedApply | Result::InvalidDocument => self.result.name().to_string(),
        };
        let mut line = format!("{} [{}] {what}", self.time, trigger_name(self.trigger));
        if let Some(token) = self.fencing_token {
            line.push_str(&format!(" (fencing token {token})"));
        }
        if let Some(m) = &self.message {
            line.push_str(": ");
            line.push_str(m);
        }
        line.push_str(&format!("; next in {next}\n"));
        for a in self
            .actions
            .iter()
            .filter(|_| self.result == Result::Drift || self.result == Result::Blocked)
        {
            line.push_str(&format!("    {a}\n"));
        }
        line
    }
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Start => "start",
        Trigger::Interval => "interval",
        Trigger::Retry => "retry",
        Trigger::Document => "document",
        Trigger::Lab => "lab",
        Trigger::Signal => "signal",
        Trigger::Leadership => "leadership",
    }
}

/// One action an applying watcher dispatched or finished, printed as it
/// happens (NDJSON): a record survives the watcher being killed mid-apply.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionEvent {
    /// Always `action`.
    pub event: &'static str,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// `started`, `applied` or `failed`.
    pub status: &'static str,
    /// The action's id in this reconcile's plan.
    pub id: usize,
    /// `#id kind target`, as in the reconcile's `actions`.
    pub action: String,
    /// The fencing token of the leader's term (absent without an election).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
    /// The backend's error, for a failed action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ActionEvent {
    /// The NDJSON line.
    #[must_use]
    pub fn json_line(&self) -> String {
        json_line(self)
    }
}

/// This watcher's standing in the election changed.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadershipEvent {
    /// Always `leadership`.
    pub event: &'static str,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// Whether it leads now.
    pub leader: bool,
    /// The fencing token of its term, while it leads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
    /// Whether it holds a live lease (it campaigns or leads).
    pub lease_live: bool,
    /// Why: `elected`, `… leads`, `lease lost: …`, `resigned`, ….
    pub why: String,
}

impl LeadershipEvent {
    /// The event for `status`, now.
    #[must_use]
    pub fn new(status: &super::leadership::Status) -> Self {
        Self {
            event: "leadership",
            time: now_rfc3339(),
            leader: status.leader,
            fencing_token: status.token,
            lease_live: status.lease_live,
            why: status.why.clone(),
        }
    }

    /// The NDJSON line.
    #[must_use]
    pub fn json_line(&self) -> String {
        json_line(self)
    }

    /// The line for people.
    #[must_use]
    pub fn human_line(&self) -> String {
        match (self.leader, self.fencing_token) {
            (true, Some(token)) => format!(
                "{} [leadership] leading (fencing token {token}): {}\n",
                self.time, self.why
            ),
            _ => format!(
                "{} [leadership] following, observing only{}: {}\n",
                self.time,
                if self.lease_live { "" } else { " (no live lease)" },
                self.why
            ),
        }
    }
}

fn json_line(value: &impl Serialize) -> String {
    let mut line = serde_json::to_string(value)
        .unwrap_or_else(|e| format!(r#"{{"event":"error","message":"event not serialisable: {e}"}}"#));
    line.push('\n');
    line
}

/// Now, as RFC 3339 in UTC (seconds).
#[must_use]
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconcile(fencing_token: Option<u64>) -> Event {
        Event {
            event: "reconcile",
            time: "2026-01-01T00:00:00Z".into(),
            trigger: Trigger::Leadership,
            mode: "correct",
            leader: true,
            result: Result::Applied,
            fencing_token,
            in_sync: true,
            actions: vec!["#1 publish-topology".into()],
            applied: 1,
            failed: 0,
            not_attempted: 0,
            message: None,
            document: DocumentState {
                file: "desired.yaml".into(),
                valid: true,
                error: None,
            },
            duration_ms: 5,
            failures: 0,
            next_in_ms: 1000,
        }
    }

    #[test]
    fn a_stopped_apply_says_what_was_applied_failed_and_not_attempted() {
        let stopped = Event {
            result: Result::Stopped,
            in_sync: false,
            applied: 3,
            not_attempted: 14,
            message: Some("SIGTERM received".into()),
            ..reconcile(None)
        };
        let json: serde_json::Value = serde_json::from_str(&stopped.json_line()).expect("json");
        assert_eq!(json["result"], "stopped");
        assert_eq!(json["notAttempted"], 14);
        let line = stopped.human_line();
        assert!(
            line.contains("stopped: 3 applied, 0 failed, 14 not attempted: SIGTERM received"),
            "{line}"
        );
    }

    #[test]
    fn the_fencing_token_is_shown_only_under_an_election() {
        let elected: serde_json::Value = serde_json::from_str(&reconcile(Some(7)).json_line()).expect("json");
        assert_eq!(elected["event"], "reconcile");
        assert_eq!(elected["trigger"], "leadership");
        assert_eq!(elected["fencingToken"], 7);
        assert!(
            reconcile(Some(7))
                .human_line()
                .contains("applied 1 action(s); in sync (fencing token 7)")
        );
        let alone: serde_json::Value = serde_json::from_str(&reconcile(None).json_line()).expect("json");
        assert!(alone.get("fencingToken").is_none(), "{alone}");
        assert!(!reconcile(None).human_line().contains("fencing"));
    }

    #[test]
    fn action_and_leadership_lines() {
        let action = ActionEvent {
            event: "action",
            time: "t".into(),
            status: "applied",
            id: 3,
            action: "#3 publish-topology".into(),
            fencing_token: Some(9),
            error: None,
        };
        let line: serde_json::Value = serde_json::from_str(&action.json_line()).expect("json");
        assert_eq!(
            line,
            serde_json::json!({"event": "action", "time": "t", "status": "applied", "id": 3,
                "action": "#3 publish-topology", "fencingToken": 9})
        );
        let status = crate::watch::Status {
            leader: false,
            token: None,
            lease_live: false,
            why: "lease lost: expired".into(),
        };
        let event = LeadershipEvent::new(&status);
        assert!(
            event
                .human_line()
                .contains("[leadership] following, observing only (no live lease): lease lost: expired")
        );
        let line: serde_json::Value = serde_json::from_str(&event.json_line()).expect("json");
        assert_eq!(line["leader"], false);
        assert_eq!(line["leaseLive"], false);
        assert!(line.get("fencingToken").is_none());
    }
}
