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
                "| {} | {} | {} |",
                code(&c.path, Cell::Table),
                escape(&super::show_value(&c.observed)),
                escape(&super::show_value(&c.desired))
            );
        }
        out.push('\n');
        for a in &plan.actions {
            let _ = writeln!(
                out,
                "{}. {} — {}",
                a.id,
                code(&a.operation.to_string(), Cell::Inline),
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
                path: format!("/sites/{site}/federationRoute"),
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
        let md = super::plan(&plan);
        let row = md.lines().find(|l| l.contains("federationRoute")).expect("a row");
        // Three cells: four unescaped pipes.
        let unescaped = row
            .match_indices('|')
            .filter(|(i, _)| !row[..*i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 4, "{row}");
        assert!(row.contains("Site\\|&lt;script&gt;x&lt;/script&gt;&amp;more"), "{row}");
        // Outside code spans no tag survives.
        for line in md.lines() {
            let outside: String = line.split('`').step_by(2).collect();
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
