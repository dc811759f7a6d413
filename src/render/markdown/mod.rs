//! The plan as Markdown, for a pull-request comment that fits: a summary
//! first (counts by phase and kind, the sites affected, whether it is safe to
//! apply unattended), the routing diagram ([`mermaid`]), then the detail in
//! `<details>` blocks: the changes per site, Edge pool, Front End pool and
//! DNS name, and the actions in order. The comment never exceeds
//! [`COMMENT_LIMIT`] characters (GitHub's limit); what does not fit is left
//! out with a note that points at the plan JSON.

pub mod mermaid;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::Deployment;
use crate::plan::{Change, OperationKind, Phase, Plan};

/// GitHub's limit on a comment, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Room kept for the truncation note.
const NOTE_ROOM: usize = 600;

/// The most site names the summary lists.
const MAX_NAMED_SITES: usize = 20;

/// The comment for `plan`; `observed` (the plan JSON's `observed.state`)
/// draws the diagram.
#[must_use]
pub fn plan(plan: &Plan, observed: Option<&Deployment>) -> String {
    plan_within(plan, observed, COMMENT_LIMIT)
}

/// [`plan`] within `limit` bytes (never more characters than bytes).
#[must_use]
pub fn plan_within(plan: &Plan, observed: Option<&Deployment>, limit: usize) -> String {
    let mut out = String::from("### edgefed plan\n\n");
    let _ = writeln!(out, "**{}**\n", super::summary_line(plan));
    if plan.in_sync() {
        out.push_str("No changes: the deployment matches the document.\n");
        for w in &plan.warnings {
            let _ = writeln!(out, "\n> **warning:** {}", escape(w));
        }
        return clip(out, limit);
    }
    summary(&mut out, plan);
    let mut budget = Budget {
        out,
        limit: limit.saturating_sub(NOTE_ROOM),
        left_out: Vec::new(),
    };
    if let Some(diagram) = mermaid::diagram(observed, &plan.changes) {
        budget.push_or(&format!("{diagram}\n"), "the routing diagram");
    }
    for (i, w) in plan.warnings.iter().enumerate() {
        let line = format!("> **warning:** {}\n\n", escape(w));
        if !budget.push(&line) {
            budget.left_out.push(format!("{} warning(s)", plan.warnings.len() - i));
            break;
        }
    }
    let groups = groups(&plan.changes);
    for (i, ((_, object), changes)) in groups.iter().enumerate() {
        let mut block = format!(
            "<details><summary>{}: {} change(s)</summary>\n\n| setting | observed | desired |\n|---|---|---|\n",
            escape(object),
            changes.len()
        );
        for c in changes {
            let _ = writeln!(
                block,
                "| {} | {} | {} |",
                code(&c.path, Cell::Table),
                escape(&super::show_value(&c.observed)),
                escape(&super::show_value(&c.desired))
            );
        }
        block.push_str("\n</details>\n\n");
        if !budget.push(&block) {
            budget
                .left_out
                .push(format!("the changes of {} object(s)", groups.len() - i));
            break;
        }
    }
    let head = format!(
        "<details><summary>The {} action(s) in order</summary>\n\n",
        plan.actions.len()
    );
    let tail = "\n</details>\n";
    if budget.fits(&format!("{head}{tail}")) {
        budget.out.push_str(&head);
        budget.limit = budget.limit.saturating_sub(tail.len());
        for (i, a) in plan.actions.iter().enumerate() {
            let line = format!(
                "{}. {} — {}\n",
                a.id,
                code(&a.operation.to_string(), Cell::Inline),
                escape(&a.reason)
            );
            if !budget.push(&line) {
                budget.left_out.push(format!("{} action(s)", plan.actions.len() - i));
                break;
            }
        }
        budget.out.push_str(tail);
    } else {
        budget.left_out.push(format!("the {} action(s)", plan.actions.len()));
    }
    let mut out = budget.out;
    if !budget.left_out.is_empty() {
        let _ = write!(
            out,
            "\n> **Truncated** to fit a comment ({COMMENT_LIMIT} characters): left out {}. \
             The whole plan: `edgefed plan -f DESIRED.yaml --output json` (or `edgefed show PLAN.json --output json`).\n",
            budget.left_out.join(", ")
        );
    }
    clip(out, limit)
}

/// The comment so far and the room left.
struct Budget {
    out: String,
    limit: usize,
    left_out: Vec<String>,
}

impl Budget {
    fn fits(&self, text: &str) -> bool {
        self.out.len() + text.len() <= self.limit
    }

    /// Appends `text` when it fits.
    fn push(&mut self, text: &str) -> bool {
        let fits = self.fits(text);
        if fits {
            self.out.push_str(text);
        }
        fits
    }

    /// Appends `text`, or records `what` as left out.
    fn push_or(&mut self, text: &str, what: &str) {
        if !self.push(text) {
            self.left_out.push(what.to_string());
        }
    }
}

/// A last guard: never more than `limit` bytes, cut at a character boundary.
fn clip(mut out: String, limit: usize) -> String {
    if out.len() > limit {
        let mut end = limit;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Counts by phase and kind, the sites affected, and whether it is safe.
fn summary(out: &mut String, plan: &Plan) {
    let mut by_phase: BTreeMap<Phase, BTreeMap<&'static str, usize>> = BTreeMap::new();
    for a in &plan.actions {
        *by_phase
            .entry(a.phase)
            .or_default()
            .entry(a.operation.kind().name())
            .or_default() += 1;
    }
    let sites: Vec<String> = {
        let mut names: Vec<String> = plan
            .changes
            .iter()
            .filter_map(|c| crate::plan::pointer_segments(&c.path))
            .filter(|s| s.len() > 1 && s[0] == "sites")
            .map(|s| s[1].clone())
            .collect();
        names.dedup();
        names.sort();
        names.dedup();
        names
    };
    let _ = write!(
        out,
        "{} change(s); {} site(s) affected",
        plan.changes.len(),
        sites.len()
    );
    if !sites.is_empty() {
        let named: Vec<String> = sites.iter().take(MAX_NAMED_SITES).map(|s| escape(s)).collect();
        let _ = write!(out, ": {}", named.join(", "));
        if sites.len() > MAX_NAMED_SITES {
            let _ = write!(out, " and {} more", sites.len() - MAX_NAMED_SITES);
        }
    }
    out.push_str(".\n\n");
    let count = |kind: OperationKind| plan.actions.iter().filter(|a| a.operation.kind() == kind).count();
    let mut risks = Vec::new();
    let stops = count(OperationKind::StopServices);
    if stops > 0 {
        risks.push(format!("stops Edge services on {stops} server(s)"));
    }
    if plan.topology_publishes() > 0 {
        risks.push("publishes the topology".to_string());
    }
    let failovers = count(OperationKind::InvokePoolFailover)
        + count(OperationKind::InvokePoolFailback)
        + count(OperationKind::InvokeCmsFailover);
    if failovers > 0 {
        risks.push(format!(
            "runs {failovers} pool or Central Management Server failover(s) or failback(s)"
        ));
    }
    if !plan.warnings.is_empty() {
        risks.push(format!("has {} warning(s) to read", plan.warnings.len()));
    }
    if risks.is_empty() {
        out.push_str(
            "**Safe to apply:** no service is stopped, no topology is published, nothing fails over, no warning.\n\n",
        );
    } else {
        let _ = writeln!(out, "**Review before applying:** the plan {}.\n", risks.join(", "));
    }
    out.push_str("| phase | actions | kinds |\n|---|---|---|\n");
    for (phase, kinds) in &by_phase {
        let total: usize = kinds.values().sum();
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("`{k}` ×{n}")).collect();
        let _ = writeln!(
            out,
            "| {} {} | {total} | {} |",
            u8::from(*phase),
            phase_name(*phase),
            list.join(", ")
        );
    }
    out.push('\n');
}

/// A phase's name in the summary table.
fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Services => "services",
        Phase::NextHop => "next hop",
        Phase::TopologyEdit => "topology edit",
        Phase::Publish => "publish",
        Phase::Setup => "setup",
        Phase::SiteRoutes => "site routes",
        Phase::Dns => "DNS",
        Phase::XmppBracketEnd => "XMPP bracket end",
        Phase::PortChecks => "port checks",
        Phase::FrontEndPools => "Front End pools",
    }
}

/// The changes grouped by the object they belong to (the pointer's first two
/// segments), sites first, then Edge pools, Front End pools and DNS names.
fn groups(changes: &[Change]) -> Vec<((usize, String), Vec<&Change>)> {
    let mut map: BTreeMap<(usize, String), Vec<&Change>> = BTreeMap::new();
    for c in changes {
        let key = match crate::plan::pointer_segments(&c.path).as_deref() {
            Some([section, name, ..]) => match section.as_str() {
                "sites" => (0, format!("site {name}")),
                "edgePools" => (1, format!("Edge pool {name}")),
                "frontEndPools" => (2, format!("Front End pool {name}")),
                "dns" => (3, format!("DNS {name}")),
                other => (4, format!("{other} {name}")),
            },
            _ => (5, "other settings".to_string()),
        };
        map.entry(key).or_default().push(c);
    }
    map.into_iter().collect()
}

/// Where a piece of text is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// In a table cell: a `|` would end the cell.
    Table,
    /// In running text.
    Inline,
}

/// Text from the document or the deployment as literal Markdown text:
/// no markup (HTML, links, code spans) and no table cell boundary survives.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '`' | '\\' | '[' | ']' | '*' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// `s` as a code span. Inside a code span nothing is markup, and backslashes
/// and entities are shown as written, so the only things to guard are the
/// backticks (a longer fence than any run inside) and, in a table, `|`.
fn code(s: &str, cell: Cell) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let s = if cell == Cell::Table { s.replace('|', "\\|") } else { s };
    let longest_run = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span that starts or ends with a backtick needs a space inside the fence.
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_name_with_a_pipe_and_html_keeps_the_table_whole() {
        use crate::plan::{Action, Change, Operation, Phase};
        let site = "Site|<script>x</script>";
        let plan = Plan {
            changes: vec![Change {
                path: crate::plan::pointer(&[&"sites", &site, &"federationRoute"]),
                observed: serde_json::json!(null),
                desired: serde_json::json!(format!("{site}&more")),
            }],
            actions: vec![Action {
                id: 1,
                operation: Operation::SetSiteFederationRoute {
                    site: site.into(),
                    edge_pool: None,
                },
                phase: Phase::SiteRoutes,
                depends_on: Vec::new(),
                reason: format!("route {site}"),
            }],
            warnings: vec![format!("site {site} <b>")],
        };
        let md = super::plan(&plan, None);
        let row = md.lines().find(|l| l.contains("federationRoute")).expect("a row");
        // Three cells: four unescaped pipes.
        let unescaped = row
            .match_indices('|')
            .filter(|(i, _)| !row[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 4, "{row}");
        assert!(row.contains("Site\\|&lt;script&gt;x&lt;/script&gt;&amp;more"), "{row}");
        assert!(
            row.contains("`/sites/Site\\|<script>x<~1script>/federationRoute`"),
            "{row}"
        );
        assert!(
            md.contains("<details><summary>site Site\\|&lt;script&gt;x&lt;/script&gt;: 1 change(s)</summary>"),
            "{md}"
        );
        // Outside code spans no tag survives but the comment's own.
        for line in md.lines() {
            let outside: String = line.split('`').step_by(2).collect();
            let outside = ["<details>", "<summary>", "</summary>", "</details>"]
                .iter()
                .fold(outside, |text, tag| text.replace(tag, ""));
            assert!(!outside.contains('<'), "{line}");
        }
        assert!(md.contains("route Site\\|&lt;script&gt;"), "{md}");
        assert!(
            md.contains("> **warning:** site Site\\|&lt;script&gt;x&lt;/script&gt; &lt;b&gt;"),
            "{md}"
        );
    }

    #[test]
    fn text_loses_its_markup_and_cannot_end_a_cell() {
        assert_eq!(
            escape("Site|1 <img src=x onerror=alert(1)> & [a](b) `c` *d*"),
            "Site\\|1 &lt;img src=x onerror=alert(1)&gt; &amp; \\[a\\](b) \\`c\\` \\*d\\*"
        );
        assert_eq!(escape("a\nb"), "a b");
        assert_eq!(escape("edgepool1.contoso.com"), "edgepool1.contoso.com");
    }

    #[test]
    fn a_code_span_outlasts_the_backticks_inside_and_escapes_pipes_in_tables() {
        assert_eq!(
            code("/sites/Site1/federationRoute", Cell::Table),
            "`/sites/Site1/federationRoute`"
        );
        assert_eq!(code("/sites/a|b/x", Cell::Table), "`/sites/a\\|b/x`");
        assert_eq!(code("/sites/a|b/x", Cell::Inline), "`/sites/a|b/x`");
        assert_eq!(code("set-site a``b", Cell::Inline), "```set-site a``b```");
        assert_eq!(code("`x", Cell::Inline), "`` `x ``");
        assert_eq!(code("<b>&amp;</b>", Cell::Inline), "`<b>&amp;</b>`");
    }
}
