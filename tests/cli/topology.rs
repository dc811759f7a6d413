//! `topology show`, `topology edit`, and a lab made from a real topology
//! whose document is edited on publish.

use super::support::*;

const TWO_SITES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/topology/two-sites.xml");

#[test]
fn topology_show_prints_the_model_as_yaml_and_json() {
    let env = Env::new("healthy");
    let yaml = env.ok(&["topology", "show", TWO_SITES]);
    assert!(
        yaml.contains("edgepool1.contoso.com:\n    site: Site1\n    sipFederation: true"),
        "{yaml}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--output", "json", "topology", "show", TWO_SITES])).unwrap();
    assert_eq!(json["edgePools"]["edgepool2.contoso.com"]["sipFederation"], false);
}

#[test]
fn topology_edit_changes_only_the_federation_port_lines() {
    let env = Env::new("healthy");
    env.ok(&[
        "topology",
        "edit",
        TWO_SITES,
        "--disable-sip-federation",
        "edgepool1.contoso.com",
        "--enable-sip-federation",
        "edgepool2.contoso.com",
        "--out",
        "edited.xml",
    ]);
    let before = std::fs::read_to_string(TWO_SITES).unwrap();
    let after = std::fs::read_to_string(env.path().join("edited.xml")).unwrap();
    let removed: Vec<&str> = before.lines().filter(|l| !after.lines().any(|a| a == *l)).collect();
    let added: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(removed[0].contains("ConfiguredFqdn=\"sip.contoso.com\"") && removed[0].contains("Mtls"));
    assert!(added[0].contains("ConfiguredFqdn=\"sip2.contoso.com\"") && added[0].contains("Mtls"));
    // Unknown pools and missing edits are clear errors.
    let out = env.run(&[
        "topology",
        "edit",
        TWO_SITES,
        "--enable-sip-federation",
        "edgepool9.contoso.com",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("edgepool9.contoso.com"));
    assert_eq!(code(&env.run(&["topology", "edit", TWO_SITES])), 64);
}

#[test]
fn a_tbxml_file_is_refused_with_how_to_export_the_right_one() {
    let env = Env::new("healthy");
    let tb = env.file(
        "x.tbxml",
        "<?xml version=\"1.0\"?>\n<TopologyBuilder xmlns=\"urn:schema:Microsoft.Rtc.Management.Deploy.TopologyBuilder.2008\"><OriginalTopology/></TopologyBuilder>\n",
    );
    let out = env.run(&["topology", "show", &tb]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Get-CsTopology -AsXml"), "{err}");
}

#[test]
fn a_lab_from_a_real_topology_publishes_through_the_topology_document() {
    let env = Env::new("healthy");
    let out = env.run(&["lab", "init", "--force", "--from-topology", TWO_SITES]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc = env.file(
        "sip.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1: { federationRoute: edgepool2.contoso.com }\n    Site2: { federationRoute: edgepool2.contoso.com }\n",
    );
    env.ok(&["reconcile", "-f", &doc]);
    let xml = env.path().join("lab.yaml.topology.xml");
    let shown = env.ok(&["--output", "json", "topology", "show", xml.to_str().unwrap()]);
    let model: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(model["edgePools"]["edgepool1.contoso.com"]["sipFederation"], false);
    assert_eq!(model["edgePools"]["edgepool2.contoso.com"]["sipFederation"], true);
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 0);
}

const THREE_IP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/topology/three-ip-edge.xml");

/// The three-IP fixture with its Access Edge behind NAT: private Access Edge
/// addresses, a public (NAT) address on the A/V interface only.
fn behind_nat(env: &Env) -> String {
    let text = std::fs::read_to_string(THREE_IP)
        .unwrap()
        .replace("IPAddress=\"198.51.100.11\"", "IPAddress=\"10.0.1.11\"")
        .replace("IPAddress=\"198.51.100.12\"", "IPAddress=\"10.0.1.12\"")
        .replace(
            "IPAddress=\"198.51.100.31\"",
            "IPAddress=\"10.0.1.31\" ConfiguredIPAddress=\"203.0.113.31\"",
        );
    env.file("nat.xml", &text)
}

const SIP_DNS: &str = "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1: { federationRoute: edgepool1.contoso.com }\n  dns:\n    - zone: contoso.com\n      sip: { host: sip.contoso.com, ttl: 300, moveAddress: true }\n";

#[test]
fn topology_show_lists_only_the_access_edge_addresses() {
    let env = Env::new("healthy");
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--output", "json", "topology", "show", THREE_IP])).unwrap();
    let e = &json["edgePools"]["edgepool1.contoso.com"];
    assert_eq!(
        e["externalAddresses"],
        serde_json::json!(["198.51.100.11", "198.51.100.12"])
    );
    assert_eq!(e["publicAddressesUnknown"], false);

    let nat = behind_nat(&env);
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--output", "json", "topology", "show", &nat])).unwrap();
    let e = &json["edgePools"]["edgepool1.contoso.com"];
    assert_eq!(e["externalAddresses"], serde_json::json!([]));
    assert_eq!(e["publicAddressesUnknown"], true);
    assert_eq!(e["privateAddresses"], serde_json::json!(["10.0.1.11", "10.0.1.12"]));
}

#[test]
fn a_lab_from_a_three_ip_topology_publishes_the_access_edge_addresses() {
    let env = Env::new("healthy");
    let out = env.run(&["lab", "init", "--force", "--from-topology", THREE_IP]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc = env.file("sip.yaml", SIP_DNS);
    let plan = env.ok(&["plan", "-f", &doc]);
    assert!(plan.contains("set-dns-a"), "{plan}");
    assert!(
        plan.contains("198.51.100.11") && plan.contains("198.51.100.12"),
        "{plan}"
    );
    for other in ["198.51.100.21", "198.51.100.31", "192.0.2.11"] {
        assert!(!plan.contains(other), "{other} published:\n{plan}");
    }
}

#[test]
fn behind_nat_a_dns_change_needs_the_documents_external_addresses() {
    let env = Env::new("healthy");
    let nat = behind_nat(&env);
    let out = env.run(&["lab", "init", "--force", "--from-topology", &nat]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let shown = env.ok(&["lab", "show"]);
    assert!(
        shown.contains("addresses unknown (no public Access Edge address in the topology)"),
        "{shown}"
    );
    let lab = std::fs::read_to_string(env.lab_path()).unwrap();
    assert!(lab.contains("publicAddressesUnknown: true"), "{lab}");
    assert!(
        !lab.contains("10.0.1."),
        "a private address reached the lab's addresses:\n{lab}"
    );

    // P7: the error names the pool, the key to set, and where the A record is asked for.
    let doc = env.file("sip.yaml", SIP_DNS);
    let out = env.run(&["plan", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("P7"), "{err}");
    assert!(err.contains("Edge pool edgepool1.contoso.com"), "{err}");
    assert!(err.contains("sip.yaml:8:"), "{err}");
    assert!(
        err.contains("= help: set `edgePools.edgepool1.contoso.com.externalAddresses`"),
        "{err}"
    );
    assert!(!err.contains("10.0.1.11"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());

    // Without DNS in the document, nothing needs the addresses.
    let no_dns = env.file(
        "routes.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1: { federationRoute: edgepool1.contoso.com }\n",
    );
    env.ok(&["plan", "-f", &no_dns]);

    // With them, the A record holds exactly the document's addresses.
    let given = env.file(
        "given.yaml",
        &format!("{SIP_DNS}  edgePools:\n    edgepool1.contoso.com:\n      externalAddresses: [203.0.113.10]\n"),
    );
    let plan = env.ok(&["plan", "-f", &given]);
    assert!(plan.contains("set-dns-a") && plan.contains("203.0.113.10"), "{plan}");
    assert!(!plan.contains("10.0.1.11") && !plan.contains("203.0.113.31"), "{plan}");
}
