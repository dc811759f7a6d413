//! One journal line: who wrote it (run, pid, host) and when, and what
//! happened. The wire format is this struct as JSON, one object a line.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// When, RFC 3339 in UTC.
    pub ts: String,
    /// The run's id (the same on each of its lines).
    pub run: String,
    /// The edgefed process.
    pub pid: u32,
    /// The host it ran on.
    pub host: String,
    /// The fencing token of the elected leader's term the run applied under
    /// (`edgefed watch --leader-election`); absent without an election.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fencing_token: Option<u64>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What a line records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A reconcile starts applying.
    #[serde(rename_all = "camelCase")]
    RunStarted {
        /// Who ran it (the login name, when known).
        user: String,
        /// The desired-state document (`-` for stdin).
        document: String,
        /// Its SHA-256.
        document_sha256: String,
        /// The backend.
        backend: String,
        /// What the plan does.
        plan: PlanSummary,
    },
    /// An action was handed to the backend.
    #[serde(rename_all = "camelCase")]
    ActionStarted {
        /// The action's id in the plan.
        action: usize,
        /// Its kind, e.g. `start-services`.
        kind: String,
        /// What it acts on.
        target: String,
    },
    /// An action ended.
    #[serde(rename_all = "camelCase")]
    ActionEnded {
        /// The action's id in the plan.
        action: usize,
        /// Its kind.
        kind: String,
        /// What it acts on.
        target: String,
        /// `applied` or `failed`.
        outcome: String,
        /// The error, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The run ended (it was not killed).
    #[serde(rename_all = "camelCase")]
    RunEnded {
        /// How.
        result: RunResult,
        /// The signal that stopped it, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
        /// Actions applied.
        applied: usize,
        /// Actions failed.
        failed: usize,
        /// Actions not attempted.
        not_attempted: usize,
        /// Actions abandoned while in flight (ids): their effect is unknown.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        abandoned: Vec<usize>,
    },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Every action was applied.
    Complete,
    /// An action failed.
    Failed,
    /// A signal (or a controller) stopped it.
    Interrupted,
}

impl RunResult {
    /// The word used in output.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
        }
    }
}

/// What a plan does: its action count and how many of each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    /// How many actions.
    pub actions: usize,
    /// Actions per kind.
    pub kinds: std::collections::BTreeMap<String, usize>,
}

impl PlanSummary {
    /// The summary of `actions`.
    #[must_use]
    pub fn of(actions: &[crate::plan::Action]) -> Self {
        let mut kinds = std::collections::BTreeMap::new();
        for a in actions {
            *kinds.entry(a.operation.kind().name().to_string()).or_insert(0) += 1;
        }
        Self {
            actions: actions.len(),
            kinds,
        }
    }
}

/// Now, RFC 3339 in UTC with milliseconds.
#[must_use]
pub fn now() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let now = time::OffsetDateTime::now_utc();
    now.format(FORMAT).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// This host's name (empty when it cannot be read).
#[must_use]
pub fn host() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at
        // most that many bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
        String::new()
    }
    #[cfg(not(unix))]
    {
        std::env::var("COMPUTERNAME").unwrap_or_default()
    }
}

/// The login name running edgefed, when the environment says.
#[must_use]
pub fn user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_default()
}

/// A new run id: 16 hex digits from the host, pid and time.
#[must_use]
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{}/{}/{nanos}", host(), std::process::id()));
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_flat_json_object_and_reads_back() {
        let r = Record {
            ts: "2026-01-02T03:04:05.678Z".into(),
            run: "0123456789abcdef".into(),
            pid: 42,
            host: "ops1".into(),
            fencing_token: Some(7),
            event: Event::ActionEnded {
                action: 3,
                kind: "start-services".into(),
                target: "edge1.contoso.com".into(),
                outcome: "failed".into(),
                error: Some("refused".into()),
            },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["event"], "action-ended");
        assert_eq!(v["action"], 3);
        assert_eq!(v["pid"], 42);
        assert_eq!(v["fencingToken"], 7);
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
        let unfenced = Record {
            fencing_token: None,
            ..r
        };
        let line = serde_json::to_string(&unfenced).unwrap();
        assert!(!line.contains("fencingToken"), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), unfenced);
    }

    #[test]
    fn now_is_rfc3339_utc() {
        let t = now();
        assert!(t.ends_with('Z'), "{t}");
        assert!(time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).is_ok());
    }
}
