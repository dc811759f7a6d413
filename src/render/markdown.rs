//! The plan as Markdown, for a pull-request comment.

use std::fmt::Write as _;

use crate::plan::Plan;

/// The changes as a table, then the numbered plan, then the summary.
#[must_use]
pub fn plan(plan: &Plan) -> String {
    let mut out = String::from("### edgefed plan\n\n");
    if plan.in_sync() {
        out.push_str("No changes: the deployment matches the document.\n\n");
    } else {
        out.push_str("| setting | observed | desired |\n|---|---|---|\n");
        for c in &plan.changes {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                c.path,
                escape(&super::show_value(&c.observed)),
                escape(&super::show_value(&c.desired))
            );
        }
        out.push('\n');
        for a in &plan.actions {
            let _ = writeln!(
                out,
                "{}. `{}` — {}",
                a.id,
                escape(&a.operation.to_string()),
                escape(&a.reason)
            );
        }
        out.push('\n');
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "> **warning:** {}\n", escape(w));
    }
    let _ = writeln!(out, "**{}**", super::summary_line(plan));
    out
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "&lt;")
}
