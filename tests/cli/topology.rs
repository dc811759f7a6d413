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
        "-o",
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
