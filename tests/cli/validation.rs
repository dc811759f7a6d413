//! Every validation rule: a failing document each, exit 1 and `file:line:col`.

use super::support::*;

const HEAD: &str = "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n";

/// Runs `command -f doc` and asserts exit 1, the rule, and the position.
#[track_caller]
fn refused(env: &Env, command: &str, body: &str, rule: &str, line_col: &str) -> String {
    let doc = env.file("doc.yaml", body);
    let out = env.run(&[command, "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains(rule), "expected {rule}:\n{err}");
    assert!(
        err.contains(&format!("doc.yaml:{line_col}")),
        "expected doc.yaml:{line_col}:\n{err}"
    );
    assert!(err.contains("= help:"), "{err}");
    err
}

#[test]
fn v1_api_version_and_kind() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        "apiVersion: edgefed/v2\nkind: FederationTopology\nspec: {}\n",
        "error[V1]",
        "1:13",
    );
    refused(
        &env,
        "validate",
        "apiVersion: edgefed/v1\nkind: Lab\nspec: {}\n",
        "error[V1]",
        "2:7",
    );
}

#[test]
fn v2_fqdns_and_site_names() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!("{HEAD}  sites:\n    Site1:\n      federationRoute: edgepool1\n"),
        "error[V2]",
        "6:24",
    );
    refused(
        &env,
        "validate",
        &format!("{HEAD}  edgePools:\n    \"edge pool.contoso.com\": {{}}\n"),
        "error[V2]",
        "5:5",
    );
    refused(
        &env,
        "validate",
        &format!("{HEAD}  sites:\n    \"Site1;$(rm)\":\n      federationRoute: null\n"),
        "error[V2]",
        "5:5",
    );
}

#[test]
fn v2_whitespace_only_and_invisible_site_names() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "validate",
        &format!("{HEAD}  sites:\n    \"   \":\n      federationRoute: null\n"),
        "error[V2]",
        "5:5",
    );
    assert!(err.contains("it is only whitespace"), "{err}");
    for (c, code) in [
        ('\u{200B}', "U+200B"),
        ('\u{200F}', "U+200F"),
        ('\u{202A}', "U+202A"),
        ('\u{202E}', "U+202E"),
        ('\u{2066}', "U+2066"),
        ('\u{2069}', "U+2069"),
        ('\u{FEFF}', "U+FEFF"),
    ] {
        let err = refused(
            &env,
            "validate",
            &format!("{HEAD}  sites:\n    \"Site{c}1\":\n      federationRoute: null\n"),
            "error[V2]",
            "5:5",
        );
        assert!(err.contains(&format!("the invisible character {code}")), "{err}");
        // The name is shown escaped, so the message itself is not misleading.
        assert!(!err.contains(c), "{err}");
    }
    // A name with spaces inside is fine.
    let ok = env.file(
        "ok.yaml",
        &format!("{HEAD}  sites:\n    \"Site 1\":\n      federationRoute: null\n"),
    );
    let out = env.run(&["validate", "-f", &ok]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn v3_one_federation_pool() {
    let env = Env::new("healthy");
    let body = format!(
        "{HEAD}  sites:\n    Site1:\n      federationRoute: edgepool1.contoso.com\n    Site2:\n      federationRoute: edgepool2.contoso.com\n"
    );
    refused(&env, "validate", &body, "error[V3]", "8:24");
    let allowed = env.file("ok.yaml", &format!("{body}  allowMultipleFederationRoutes: true\n"));
    assert_eq!(code(&env.run(&["validate", "-f", &allowed])), 0);
}

#[test]
fn v3_at_plan_time_names_the_unlisted_site() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  sites:\n    Site1:\n      federationRoute: edgepool2.contoso.com\n"),
        "error[V3]",
        "6:24",
    );
    assert!(err.contains("site Site2, which the document does not list"), "{err}");
}

#[test]
fn v4_one_xmpp_pool() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!(
            "{HEAD}  sites:\n    Site1:\n      xmppFederationRoute: edgepool1.contoso.com\n    Site2:\n      xmppFederationRoute: edgepool2.contoso.com\n"
        ),
        "error[V4]",
        "8:28",
    );
}

#[test]
fn v5_route_target_declared_stopped() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!(
            "{HEAD}  sites:\n    Site1:\n      federationRoute: edgepool1.contoso.com\n  edgePools:\n    edgepool1.contoso.com:\n      services: stopped\n"
        ),
        "error[V5]",
        "9:17",
    );
}

#[test]
fn v6_dns_host_outside_declared_zones() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!("{HEAD}  dns:\n    - zone: contoso.com\n      xmpp: {{ host: xmpp.fabrikam.com }}\n"),
        "error[V6]",
        "6:21",
    );
}

#[test]
fn p1_unknown_site_and_pool_list_the_known_ones() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  sites:\n    Site9:\n      federationRoute: null\n"),
        "error[P1]",
        "5:5",
    );
    assert!(err.contains("known sites: Site1, Site2"), "{err}");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  sites:\n    Site1:\n      xmppFederationRoute: edgepool9.contoso.com\n"),
        "error[P1]",
        "6:28",
    );
    assert!(err.contains("edgepool1.contoso.com, edgepool2.contoso.com"), "{err}");
}

#[test]
fn p2_xmpp_route_needs_xmpp_enabled() {
    let env = Env::new("healthy");
    let mut lab = env.lab();
    for p in lab.topology.edge_pools.values_mut() {
        p.xmpp_federation = p.site == "Site1";
    }
    env.set_lab(&lab);
    refused(
        &env,
        "plan",
        &format!(
            "{HEAD}  sites:\n    Site1:\n      xmppFederationRoute: edgepool2.contoso.com\n    Site2:\n      xmppFederationRoute: edgepool2.contoso.com\n"
        ),
        "error[P2]",
        "6:28",
    );
}

#[test]
fn p3_route_target_with_no_reachable_server() {
    let env = Env::new("edge-down");
    refused(
        &env,
        "plan",
        &format!("{HEAD}  sites:\n    Site1:\n      xmppFederationRoute: edgepool1.contoso.com\n"),
        "error[P3]",
        "6:28",
    );
}

#[test]
fn p4_route_naming_a_server_names_the_pool() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  sites:\n    Site1:\n      xmppFederationRoute: EdgeServer:edgeserver1a.contoso.com\n"),
        "error[P4]",
        "6:28",
    );
    assert!(err.contains("write `edgepool1.contoso.com`"), "{err}");
}

#[test]
fn p5_failover_needs_a_backup_pool() {
    let env = Env::new("healthy");
    let mut lab = env.lab();
    for p in lab.topology.front_end_pools.values_mut() {
        p.backup_pool = None;
    }
    env.set_lab(&lab);
    refused(
        &env,
        "plan",
        &format!("{HEAD}  frontEndPools:\n    fepool3.contoso.com:\n      failedOver: true\n"),
        "error[P5]",
        "6:19",
    );
}

#[test]
fn p6_failover_of_a_next_hop_pool_names_the_edge_pool() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  frontEndPools:\n    fepool1.contoso.com:\n      failedOver: true\n"),
        "error[P6]",
        "6:19",
    );
    assert!(err.contains("Edge pool edgepool1.contoso.com"), "{err}");
}

#[test]
fn syntax_unknown_and_duplicate_keys_and_wrong_types_are_located() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!("{HEAD}  sites:\n    Site1:\n      federationRout: x.contoso.com\n"),
        "unknown key `federationRout` in `Site1`",
        "6:7",
    );
    let err = refused(
        &env,
        "validate",
        &format!("{HEAD}  sites:\n    Site1: {{}}\n    Site1: {{}}\n"),
        "error: key `Site1` appears twice in this mapping",
        "6:5",
    );
    // The YAML library's option names are not the user's business.
    assert!(!err.contains("DuplicateKeyPolicy") && !err.contains("Options"), "{err}");
    assert!(err.contains("remove one of them, or merge their settings"), "{err}");
    refused(
        &env,
        "validate",
        &format!("{HEAD}  verify:\n    ports: maybe\n"),
        "error:",
        "5:12",
    );
    refused(&env, "validate", &format!("{HEAD}  sites: [\n"), "error:", "4:");
}

#[test]
fn a_duplicate_key_in_the_lab_file_is_named_without_the_libraries_words() {
    let env = Env::new("healthy");
    let lab = std::fs::read_to_string(env.lab_path()).expect("lab");
    let first = lab
        .lines()
        .find(|l| l.starts_with("apiVersion:"))
        .expect("an apiVersion line")
        .to_string();
    std::fs::write(env.lab_path(), format!("{first}\n{lab}")).expect("write");
    let out = env.run(&["lab", "show"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key `apiVersion` appears twice in this mapping"), "{err}");
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
}

#[test]
fn alias_bombs_and_deep_nesting_are_bounded() {
    let env = Env::new("healthy");
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let doc = env.file("bomb.yaml", &bomb);
    let out = env.run(&["validate", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let deep = format!("{HEAD}  sites: {}{}\n", "[".repeat(200), "]".repeat(200));
    let doc = env.file("deep.yaml", &deep);
    let out = env.run(&["validate", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
}

#[test]
fn v5_at_plan_time_names_the_unlisted_site_still_routing_to_a_stopped_pool() {
    let env = Env::new("healthy");
    let err = refused(
        &env,
        "plan",
        &format!("{HEAD}  edgePools:\n    edgepool1.contoso.com:\n      services: stopped\n"),
        "error[V5]",
        "6:17",
    );
    assert!(err.contains("site Site1, which the document does not list"), "{err}");
}

#[test]
fn pools_that_differ_only_in_case_are_duplicates() {
    let env = Env::new("healthy");
    refused(
        &env,
        "validate",
        &format!("{HEAD}  edgePools:\n    edgepool1.contoso.com: {{}}\n    EdgePool1.Contoso.com: {{}}\n"),
        "listed twice",
        "6:5",
    );
}

#[test]
fn every_unknown_key_and_wrong_type_is_reported_in_one_run_with_suggestions() {
    let env = Env::new("healthy");
    let doc = env.file(
        "doc.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sitez: {}\n  edgePools:\n    edgepool1.contoso.com:\n      services: runing\n      nxtHop: fepool1.contoso.com\n  dns:\n    - zone: contoso.com\n      sip:\n        ttl: soon\n",
    );
    let out = env.run(&["validate", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    for (what, at) in [
        ("unknown key `sitez` in `spec`", "doc.yaml:4:3"),
        (
            "`services` must be one of running, stopped or null, not the text `runing`",
            "doc.yaml:7:17",
        ),
        ("unknown key `nxtHop` in `edgepool1.contoso.com`", "doc.yaml:8:7"),
        (
            "`ttl` must be a whole number or null, not the text `soon`",
            "doc.yaml:12:14",
        ),
    ] {
        let found = err.find(what).unwrap_or_else(|| panic!("no `{what}` in:\n{err}"));
        assert!(err[found..].contains(at), "{what} at {at}:\n{err}");
    }
    assert!(err.contains("did you mean `sites`?"), "{err}");
    assert!(err.contains("did you mean `running`?"), "{err}");
    assert!(err.contains("did you mean `nextHop`?"), "{err}");
    assert_eq!(err.matches("error: ").count(), 4, "four problems, each once:\n{err}");
    assert!(err.contains("4 errors in "), "{err}");
}
