//! `edgefed status`: the last reconcile recorded in the journal — when it
//! started, who ran it, which document, how it ended, and what was in
//! flight if it died.

use std::fmt::Write as _;

use super::Outcome;
use crate::app::{note, print};
use crate::cli::OutputFormat;
use crate::error::Error;
use crate::exit;
use crate::journal::{self, LastRun, RunState};
use crate::settings::Settings;

/// Runs `status`.
///
/// # Errors
/// When the journal exists but cannot be read, or for an output format
/// other than human or json.
pub fn run(settings: &Settings) -> Outcome {
    let format = super::output_format(settings, "status", &[OutputFormat::Human, OutputFormat::Json])?;
    let path = journal::path(settings);
    let tail = journal::tail::read(&path).map_err(|e| Error::read(&path, e))?;
    let state = tail.last.as_ref().map(LastRun::state);
    match format {
        OutputFormat::Json => {
            let last = tail.last.as_ref().map(|run| {
                let mut v = serde_json::to_value(run).unwrap_or_default();
                v["state"] = serde_json::json!(state.map(RunState::name));
                v
            });
            let value = serde_json::json!({
                "journal": path.display().to_string(),
                "lastRun": last,
                "notes": tail.notes,
            });
            let mut text = serde_json::to_string_pretty(&value)
                .map_err(|e| Error::Internal(format!("the status does not serialise: {e}")))?;
            text.push('\n');
            print(&text);
        }
        _ => {
            for n in &tail.notes {
                note(&format!("note: {n}"));
            }
            print(&match (&tail.last, state) {
                (Some(run), Some(state)) => human(&path, run, state),
                _ => format!("No run is recorded in {}.\n", path.display()),
            });
        }
    }
    Ok(exit::SUCCESS)
}

/// The last run for people.
fn human(path: &std::path::Path, run: &LastRun, state: RunState) -> String {
    let mut out = String::new();
    let who = if run.user.is_empty() {
        String::new()
    } else {
        format!(" by {}", run.user)
    };
    let _ = writeln!(out, "Last run {} (journal {})", run.run, path.display());
    let _ = writeln!(out, "  started:  {}{who}, pid {} on {}", run.started, run.pid, run.host);
    let _ = writeln!(out, "  document: {} (sha256 {})", run.document, run.document_sha256);
    let _ = writeln!(out, "  backend:  {}", run.backend);
    if let Some(token) = run.fencing_token {
        let _ = writeln!(out, "  leader:   applied under fencing token {token}");
    }
    let kinds: Vec<String> = run.plan.kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    let _ = writeln!(out, "  plan:     {} action(s): {}", run.plan.actions, kinds.join(", "));
    let counts = format!("{} applied, {} failed", run.applied.len(), run.failed.len());
    let result = match (state, &run.ended) {
        (RunState::Ended(_), Some(end)) => {
            let how = match &end.signal {
                Some(signal) => format!("interrupted by {signal}"),
                None => end.result.name().to_string(),
            };
            let mut r = format!("{how} at {}: {counts}, {} not attempted", end.at, end.not_attempted);
            if !end.abandoned.is_empty() {
                let ids: Vec<String> = end.abandoned.iter().map(|d| format!("#{d}")).collect();
                let _ = write!(r, "; abandoned in flight (effect unknown): {}", ids.join(", "));
            }
            r
        }
        (RunState::Running, _) => format!("still running (last record {}): {counts} so far", run.last_record),
        _ => format!("died (no end recorded; last record {}): {counts}", run.last_record),
    };
    let _ = writeln!(out, "  result:   {result}");
    if !run.in_flight.is_empty() {
        let label = if state == RunState::Running {
            "in flight"
        } else {
            "in flight when it died (effect unknown: the next reconcile observes first)"
        };
        let _ = writeln!(out, "  {label}:");
        for f in &run.in_flight {
            let _ = writeln!(out, "    {f} (started {})", f.started);
        }
    }
    out
}
