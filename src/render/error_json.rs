//! A failed command under `--output json`: one JSON object on stdout, so a
//! program reading stdout gets JSON whatever happened. Exit codes are those
//! of the text output.
//!
//! ```json
//! { "error": { "code": "document-invalid", "message": "2 problem(s) in d.yaml",
//!              "exitCode": 1, "location": { "file": "d.yaml", "line": 6, "column": 24 },
//!              "diagnostics": [ { "rule": "V2", "message": "…", "help": "…",
//!                                 "location": { "file": "d.yaml", "line": 6, "column": 24 } } ] } }
//! ```
//!
//! `location` (of the error, and of each diagnostic) is left out when
//! unknown; `line` and `column` are 1-based; `diagnostics` is empty for an
//! error that is not about a document's content.

use schemars::JsonSchema;
use serde::Serialize;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::document::LoadError;
use crate::error::{Error, SavedPlanProblem};

/// The whole output.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDocument {
    /// The failure.
    pub error: ErrorWire,
}

/// A failure.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorWire {
    /// A stable kebab-case name of the kind of failure (`usage`,
    /// `document-invalid`, `saved-plan`, …).
    pub code: String,
    /// What is wrong and what to do, as the text output says it.
    pub message: String,
    /// The exit code the command ends with.
    pub exit_code: u8,
    /// Where, when the failure is at a place in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Each problem of an invalid document or of a plan-time rule.
    pub diagnostics: Vec<DiagnosticWire>,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Location {
    /// The file as given (`-` for standard input).
    pub file: String,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// One problem.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DiagnosticWire {
    /// The rule it breaks (`V1`…`V7`, `P1`…`P8`), or null.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What to do about it, or null.
    pub help: Option<String>,
    /// Where.
    pub location: Location,
}

impl DiagnosticWire {
    fn new(d: &Diagnostic, file: &str) -> Self {
        let position = d.position.filter(|p| p.line > 0);
        Self {
            rule: d.rule.map(str::to_string),
            message: d.message.clone(),
            help: d.help.clone(),
            location: Location {
                file: file.to_string(),
                line: position.map(|p| p.line),
                column: position.map(|p| p.column),
            },
        }
    }
}

/// The diagnostics of a document or plan-rule error.
fn diagnostics(d: &Diagnostics) -> Vec<DiagnosticWire> {
    d.diagnostics.iter().map(|x| DiagnosticWire::new(x, &d.file)).collect()
}

/// The stable name of `e`'s kind.
#[must_use]
pub fn code(e: &Error) -> &'static str {
    match e {
        Error::Usage { .. } => "usage",
        Error::Document(LoadError::Read { .. }) => "document-unreadable",
        Error::Document(LoadError::Invalid(_)) => "document-invalid",
        Error::PlanRules(_) => "plan-rules",
        Error::SavedPlan { .. } => "saved-plan",
        Error::StalePlan { .. } => "stale-plan",
        Error::Observe { .. } => "observe",
        Error::Lab(_) => "lab",
        Error::LabMissing { .. } => "lab-missing",
        Error::LabExists { .. } => "lab-exists",
        Error::UnknownPool(_) => "unknown-pool",
        Error::Topology(_) => "topology",
        Error::TsigKey(_) => "tsig-key",
        Error::Resolve { .. } => "resolve",
        Error::NotApproved { .. } => "not-approved",
        Error::Io { .. } => "io",
        Error::Runtime(_) => "runtime",
        Error::DnsUnreadable { .. } => "dns-unreadable",
        Error::Internal(_) => "internal",
        Error::PlannerBug(_) => "planner-bug",
        Error::Lock(_) => "lock",
        Error::Journal(_) => "journal",
        Error::Interrupted { .. } => "interrupted",
    }
}

/// `e` as the JSON output's wire struct.
#[must_use]
pub fn wire(e: &Error) -> ErrorDocument {
    let (location, diagnostics) = match e {
        Error::Document(LoadError::Invalid(d)) | Error::PlanRules(d) => {
            let list = diagnostics(d);
            let first = list.first().map(|x| x.location.clone()).unwrap_or(Location {
                file: d.file.clone(),
                line: None,
                column: None,
            });
            (Some(first), list)
        }
        Error::Document(LoadError::Read { file, .. }) => (Some(file_only(file)), Vec::new()),
        Error::SavedPlan { path, problem } => {
            let location = match problem {
                SavedPlanProblem::NotAPlan { line, column, .. } => Location {
                    file: path.display().to_string(),
                    line: u32::try_from(*line).ok(),
                    column: u32::try_from(*column).ok(),
                },
                _ => file_only(&path.display().to_string()),
            };
            (Some(location), Vec::new())
        }
        Error::StalePlan { path, .. }
        | Error::LabMissing { path }
        | Error::LabExists { path }
        | Error::Io { path, .. } => (Some(file_only(&path.display().to_string())), Vec::new()),
        _ => (None, Vec::new()),
    };
    let message = match e {
        Error::Document(LoadError::Invalid(d)) | Error::PlanRules(d) => d.to_string(),
        other => other.to_string(),
    };
    ErrorDocument {
        error: ErrorWire {
            code: code(e).to_string(),
            message,
            exit_code: e.exit_code(),
            location,
            diagnostics,
        },
    }
}

fn file_only(file: &str) -> Location {
    Location {
        file: file.to_string(),
        line: None,
        column: None,
    }
}

/// A usage error found before the options were read (clap's), as JSON.
#[must_use]
pub fn usage(message: &str, exit_code: u8) -> String {
    to_json(&ErrorDocument {
        error: ErrorWire {
            code: "usage".into(),
            message: message.trim_end().to_string(),
            exit_code,
            location: None,
            diagnostics: Vec::new(),
        },
    })
}

/// `e` as pretty JSON with a final newline.
#[must_use]
pub fn render(e: &Error) -> String {
    to_json(&wire(e))
}

fn to_json(doc: &ErrorDocument) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Position;

    #[test]
    fn diagnostics_carry_rule_position_and_help() {
        let d = Diagnostics {
            file: "d.yaml".into(),
            text: "x\n".into(),
            diagnostics: vec![
                Diagnostic::rule("V2", "bad name")
                    .at(Some(Position {
                        line: 6,
                        column: 24,
                        len: 3,
                    }))
                    .help("use an FQDN"),
                Diagnostic::plain("no position"),
            ],
        };
        let v: serde_json::Value = serde_json::from_str(&render(&Error::PlanRules(d))).unwrap();
        assert_eq!(v["error"]["code"], "plan-rules");
        assert_eq!(v["error"]["exitCode"], 1);
        assert_eq!(v["error"]["message"], "2 problem(s) in d.yaml");
        assert_eq!(
            v["error"]["location"],
            serde_json::json!({"file": "d.yaml", "line": 6, "column": 24})
        );
        assert_eq!(
            v["error"]["diagnostics"][0],
            serde_json::json!({"rule": "V2", "message": "bad name", "help": "use an FQDN",
                "location": {"file": "d.yaml", "line": 6, "column": 24}})
        );
        assert_eq!(
            v["error"]["diagnostics"][1]["location"],
            serde_json::json!({"file": "d.yaml"})
        );
        assert_eq!(v["error"]["diagnostics"][1]["rule"], serde_json::Value::Null);
    }

    #[test]
    fn a_usage_error_is_64_with_no_location() {
        let v: serde_json::Value = serde_json::from_str(&render(&Error::usage("--x: no"))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "usage", "message": "--x: no", "exitCode": 64, "diagnostics": []}})
        );
    }
}
