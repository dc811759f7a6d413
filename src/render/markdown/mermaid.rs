//! The routing diagram of a PR comment: a mermaid flowchart of sites and the
//! Edge pools their SIP and XMPP federation routes name. A route the plan
//! leaves as it is is a solid arrow; a route it changes shows the observed
//! arrow solid (labelled `was`) and the desired one dashed and highlighted.
//! At most [`MAX_SITES`] sites are drawn, the changed ones first; the rest
//! are collapsed into one node that says how many.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::model::Deployment;
use crate::plan::Change;

/// The most sites drawn.
pub const MAX_SITES: usize = 40;

/// The two routes of a site.
const ROUTES: [(&str, &str); 2] = [("federationRoute", "SIP"), ("xmppFederationRoute", "XMPP")];

/// One route of one site: what it is and what it is to be.
struct Route {
    observed: Option<String>,
    desired: Option<String>,
}

/// The diagram as a fenced mermaid block, or `None` when there is nothing to
/// draw (no observation carried, or no site).
#[must_use]
pub fn diagram(observed: Option<&Deployment>, changes: &[Change]) -> Option<String> {
    let observed = observed?;
    let mut routes: BTreeMap<&str, Vec<(&str, Route)>> = BTreeMap::new();
    for (name, site) in &observed.sites {
        let now = [
            site.federation_route.as_ref().map(ToString::to_string),
            site.xmpp_federation_route.as_ref().map(ToString::to_string),
        ];
        let list = ROUTES
            .iter()
            .zip(now)
            .map(|((key, label), now)| {
                let pointer = crate::plan::pointer(&[&"sites", name, key]);
                let desired = changes
                    .iter()
                    .find(|c| c.path == pointer)
                    .map_or_else(|| now.clone(), |c| c.desired.as_str().map(str::to_string));
                (*label, Route { observed: now, desired })
            })
            .collect();
        routes.insert(name, list);
    }
    if routes.is_empty() {
        return None;
    }
    let changed = |list: &[(&str, Route)]| list.iter().any(|(_, r)| r.observed != r.desired);
    let mut order: Vec<&str> = routes.iter().filter(|(_, l)| changed(l)).map(|(n, _)| *n).collect();
    order.extend(routes.iter().filter(|(_, l)| !changed(l)).map(|(n, _)| *n));
    let hidden = order.len().saturating_sub(MAX_SITES);
    order.truncate(MAX_SITES);

    let pools: BTreeSet<&str> = order
        .iter()
        .flat_map(|s| routes[s].iter())
        .flat_map(|(_, r)| [r.observed.as_deref(), r.desired.as_deref()])
        .flatten()
        .collect();
    let pool_id: BTreeMap<&str, String> = pools.iter().enumerate().map(|(i, p)| (*p, format!("p{i}"))).collect();

    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (i, site) in order.iter().enumerate() {
        let _ = writeln!(out, "  s{i}[\"{}\"]", label(&format!("site {site}")));
    }
    for (pool, id) in &pool_id {
        let _ = writeln!(out, "  {id}[(\"{}\")]", label(pool));
    }
    if hidden > 0 {
        let _ = writeln!(
            out,
            "  more[\"… and {hidden} more site(s), not drawn: see the plan JSON\"]"
        );
    }
    let mut highlighted = Vec::new();
    let mut link = 0usize;
    for (i, site) in order.iter().enumerate() {
        for (kind, r) in &routes[site] {
            if r.observed == r.desired {
                if let Some(p) = &r.observed {
                    let _ = writeln!(out, "  s{i} -->|\"{kind}\"| {}", pool_id[p.as_str()]);
                    link += 1;
                }
                continue;
            }
            if let Some(p) = &r.observed {
                let _ = writeln!(out, "  s{i} -->|\"{kind} was\"| {}", pool_id[p.as_str()]);
                link += 1;
            }
            match &r.desired {
                Some(p) => {
                    let _ = writeln!(out, "  s{i} -.->|\"{kind} to be\"| {}", pool_id[p.as_str()]);
                    highlighted.push(link);
                    link += 1;
                }
                None => {
                    let _ = writeln!(out, "  s{i} -.->|\"{kind} removed\"| s{i}");
                    highlighted.push(link);
                    link += 1;
                }
            }
        }
    }
    if !highlighted.is_empty() {
        let list: Vec<String> = highlighted.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "  linkStyle {} stroke:#d73a49,stroke-width:2px", list.join(","));
    }
    out.push_str("```\n");
    Some(out)
}

/// Text as a mermaid label inside double quotes: every character that
/// mermaid or the fence could read as syntax (`"`, `#`, `<`, `` ` ``, …)
/// becomes an entity code (`#34;`), line breaks become spaces.
#[must_use]
pub fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '…' | ':' | ',' | '(' | ')') => {
                out.push(c);
            }
            c if c.is_control() || crate::diagnostic::invisible(c) => out.push_str("#65533;"),
            c => {
                let _ = write!(out, "#{};", u32::from(c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out_of_their_quotes_or_the_fence() {
        assert_eq!(label("Site\"1"), "Site#34;1");
        assert_eq!(label("a#b<c>`|[x]"), "a#35;b#60;c#62;#96;#124;#91;x#93;");
        assert_eq!(label("```\nx"), "#96;#96;#96; x");
        assert_eq!(label("edgepool1.contoso.com"), "edgepool1.contoso.com");
    }

    #[test]
    fn a_changed_route_is_drawn_twice_and_sites_beyond_the_bound_collapse() {
        use crate::plan::testing::fqdn;
        let mut d = Deployment::default();
        for i in 0..(MAX_SITES + 5) {
            d.sites.insert(
                format!("S\"{i:02}"),
                crate::model::Site {
                    federation_route: Some(fqdn("edge0.contoso.com")),
                    xmpp_federation_route: None,
                },
            );
        }
        let changes = vec![Change {
            path: crate::plan::pointer(&[&"sites", &"S\"44", &"federationRoute"]),
            observed: serde_json::json!("edge0.contoso.com"),
            desired: serde_json::json!("edge1.contoso.com"),
        }];
        let text = diagram(Some(&d), &changes).unwrap();
        // The changed site is drawn first, though last by name.
        assert!(text.contains("  s0[\"site S#34;44\"]\n"), "{text}");
        assert!(
            text.contains("  s0 -->|\"SIP was\"| p0\n  s0 -.->|\"SIP to be\"| p1\n"),
            "{text}"
        );
        assert!(text.contains("linkStyle 1 stroke"), "{text}");
        assert!(text.contains("… and 5 more site(s), not drawn"), "{text}");
        assert_eq!(text.matches("[\"site ").count(), MAX_SITES);
        assert_eq!(diagram(None, &changes), None);
    }
}
