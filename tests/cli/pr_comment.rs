//! The markdown plan as a pull-request comment: a summary first, the detail
//! in `<details>` blocks, a mermaid diagram, and never over GitHub's 65,536
//! characters, however large the estate.

use super::support::*;

use super::golden::estate;

const LIMIT: usize = 65_536;

/// The markdown plan of a generated estate of `sites` sites.
fn estate_comment(sites: usize) -> String {
    let env = Env::new("healthy");
    std::fs::write(env.lab_path(), estate::lab_yaml(sites)).expect("write lab");
    let doc = env.file("desired.yaml", &estate::desired_yaml(sites));
    env.ok(&["plan", "-f", &doc, "--output", "markdown"])
}

fn check_fits(md: &str, sites: usize) {
    eprintln!("{sites} sites: the comment is {} characters", md.chars().count());
    assert!(
        md.chars().count() <= LIMIT,
        "{sites} sites: {} characters",
        md.chars().count()
    );
    let summary_at = md.find("site(s) affected").expect("summary");
    let details_at = md.find("<details>").expect("details");
    assert!(summary_at < details_at, "the summary comes first");
    assert!(md.contains(&format!("{sites} site(s) affected")), "{}", &md[..600]);
    assert!(md.contains("```mermaid\nflowchart LR\n"), "a diagram");
    // Every <details> opened is closed, and code fences pair up.
    assert_eq!(md.matches("<details>").count(), md.matches("</details>").count());
    assert_eq!(md.matches("```").count() % 2, 0);
    // The diagram is bounded: at most 40 sites drawn, the rest collapsed.
    let drawn = md
        .lines()
        .filter(|l| l.starts_with("  s") && l.contains("[\"site "))
        .count();
    assert!(drawn <= 40, "{drawn} sites drawn");
    if sites > 40 {
        assert!(
            md.contains(&format!("… and {} more site(s), not drawn", sites - 40)),
            "collapsed"
        );
    }
}

#[test]
fn a_300_site_plan_fits_a_comment_and_points_at_the_json() {
    let md = estate_comment(300);
    check_fits(&md, 300);
    assert!(
        md.contains("> **Truncated** to fit a comment"),
        "181 KB before: truncated now"
    );
    assert!(md.contains("`edgefed plan -f DESIRED.yaml --output json`"));
}

/// A plan that moves both routes of each of `sites` sites, straight to the
/// renderer: the lab file's reading budget refuses an estate this large.
fn synthetic_comment(sites: usize) -> String {
    use edgefed::model::{Deployment, Fqdn, Site};
    use edgefed::plan::{Action, Change, Operation, Phase, Plan};
    let from = Fqdn::parse("edge0.contoso.com").unwrap();
    let to = Fqdn::parse("edge1.contoso.com").unwrap();
    let mut observed = Deployment::default();
    let mut plan = Plan::default();
    for i in 0..sites {
        let site = format!("Site{i}");
        observed.sites.insert(
            site.clone(),
            Site {
                federation_route: Some(from.clone()),
                xmpp_federation_route: Some(from.clone()),
            },
        );
        for key in ["federationRoute", "xmppFederationRoute"] {
            plan.changes.push(Change {
                path: edgefed::plan::pointer(&[&"sites", &site, &key]),
                observed: serde_json::json!(from.to_string()),
                desired: serde_json::json!(to.to_string()),
            });
        }
        plan.actions.push(Action {
            id: plan.actions.len() + 1,
            operation: Operation::SetSiteFederationRoute {
                site: site.clone(),
                edge_pool: Some(to.clone()),
            },
            phase: Phase::SiteRoutes,
            depends_on: Vec::new(),
            reason: "move the route".into(),
        });
    }
    edgefed::render::markdown::plan(&plan, Some(&observed))
}

#[test]
fn a_10000_site_plan_fits_a_comment() {
    let md = synthetic_comment(10_000);
    check_fits(&md, 10_000);
    assert!(md.contains("> **Truncated** to fit a comment"));
}

#[test]
fn a_small_plan_is_whole_with_its_diagram() {
    let env = Env::new("xmpp-failed-over");
    let md = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "markdown"]);
    assert!(!md.contains("Truncated"), "{md}");
    assert!(
        md.contains("**Review before applying:** the plan publishes the topology"),
        "{md}"
    );
    assert!(md.contains("| 4 publish | 1 | `publish-topology` ×1 |"), "{md}");
    assert!(
        md.contains("  s0 -->|\"SIP was\"| p1\n  s0 -.->|\"SIP to be\"| p0\n"),
        "{md}"
    );
    assert!(md.contains("linkStyle 1,3,5,7 stroke:#d73a49"), "{md}");
    assert!(
        md.contains("<details><summary>site Site1: 2 change(s)</summary>"),
        "{md}"
    );
    assert!(
        md.contains("| `/sites/Site1/xmppFederationRoute` | edgepool2.contoso.com | edgepool1.contoso.com |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>The 17 action(s) in order</summary>"),
        "{md}"
    );
    assert!(md.contains("\n17. `"), "{md}");
}
