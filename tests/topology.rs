//! Integration tests of the topology document reader and editor.

use edgefed::model::Fqdn;
use edgefed::topology::{Encoding, ShowFormat, TopologyDocument, TopologyEdit, TopologyError, show, to_deployment};
use proptest::prelude::*;

const TWO_SITES: &str = include_str!("fixtures/topology/two-sites.xml");
const SINGLE_EDGE: &str = include_str!("fixtures/topology/single-edge.xml");
const THREE_IP: &str = include_str!("fixtures/topology/three-ip-edge.xml");

fn f(s: &str) -> Fqdn {
    Fqdn::parse(s).unwrap()
}

fn doc(text: &str) -> TopologyDocument {
    TopologyDocument::parse(text.as_bytes(), "test.xml").unwrap()
}

fn utf16le_bom_crlf(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let mut out = vec![0xFF, 0xFE];
    for u in crlf.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

fn utf16le_to_string(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "BOM kept");
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

/// The unified diff (no context lines) between the fixture and the edited text.
fn diff(before: &str, after: &[u8]) -> String {
    let after = std::str::from_utf8(after).unwrap();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(0)
        .header("a", "b")
        .to_string()
}

fn edit(text: &str, edits: &[TopologyEdit]) -> String {
    diff(text, &doc(text).apply(edits).unwrap())
}

// ---------------------------------------------------------------- model

#[test]
fn two_sites_model_has_pools_flags_hops_and_addresses() {
    let d = doc(TWO_SITES);
    let m = d.model();
    assert_eq!(d.signature(), Some("0f4c2a9e-6b1d-4e8a-9c3f-2d7b5a1e8c40"));
    assert_eq!(m.signature.as_deref(), d.signature());
    let sites: Vec<(&str, &str)> = m.sites.iter().map(|s| (s.id.as_str(), s.name.as_str())).collect();
    assert_eq!(sites, [("1", "Site1"), ("2", "Site2")]);

    assert_eq!(
        m.edge_pools.keys().map(Fqdn::as_str).collect::<Vec<_>>(),
        ["edgepool1.contoso.com", "edgepool2.contoso.com"]
    );
    let e1 = &m.edge_pools[&f("edgepool1.contoso.com")];
    assert_eq!(e1.site, "Site1");
    assert!(e1.sip_federation);
    assert!(e1.xmpp_federation);
    assert_eq!(e1.next_hop, Some(f("pool1.contoso.com")));
    assert_eq!(e1.access_edge_fqdn, Some(f("sip.contoso.com")));
    assert_eq!(
        e1.external_addresses,
        [
            "203.0.113.10".parse::<std::net::IpAddr>().unwrap(),
            "203.0.113.11".parse().unwrap()
        ],
        "ConfiguredIPAddress (the NAT address) wins over IPAddress"
    );
    assert_eq!(e1.servers, [f("edge1a.contoso.com"), f("edge1b.contoso.com")]);

    let e2 = &m.edge_pools[&f("edgepool2.contoso.com")];
    assert_eq!(e2.site, "Site2");
    assert!(!e2.sip_federation, "the SipClient/Tls external port is not federation");
    assert!(!e2.xmpp_federation);
    assert_eq!(e2.next_hop, Some(f("pool2.contoso.com")));
    assert_eq!(e2.access_edge_fqdn, Some(f("sip2.contoso.com")));
    assert_eq!(
        e2.external_addresses,
        ["203.0.113.20".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(e2.servers, [f("edge2a.contoso.com")]);

    assert_eq!(
        m.front_end_pools.keys().map(Fqdn::as_str).collect::<Vec<_>>(),
        ["pool1.contoso.com", "pool2.contoso.com"],
        "the Director is not a Front End pool"
    );
    let p1 = &m.front_end_pools[&f("pool1.contoso.com")];
    assert_eq!(p1.site, "Site1");
    assert_eq!(p1.media_edge_pool, Some(f("edgepool1.contoso.com")));
    assert_eq!(p1.servers, [f("fe1a.contoso.com"), f("fe1b.contoso.com")]);
    let p2 = &m.front_end_pools[&f("pool2.contoso.com")];
    assert_eq!(p2.media_edge_pool, Some(f("edgepool2.contoso.com")));
}

#[test]
fn single_edge_model_without_dependencies() {
    let m = doc(SINGLE_EDGE).model().clone();
    let e = &m.edge_pools[&f("edge.contoso.com")];
    assert!(!e.sip_federation && !e.xmpp_federation);
    assert_eq!(e.next_hop, None);
    assert_eq!(e.access_edge_fqdn, Some(f("sip.contoso.com")));
    assert_eq!(
        e.external_addresses,
        ["198.51.100.50".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(m.front_end_pools[&f("se1.contoso.com")].media_edge_pool, None);
}

#[test]
fn show_prints_yaml_and_json() {
    let m = doc(TWO_SITES).model().clone();
    let yaml = show(&m, ShowFormat::Yaml).unwrap();
    assert!(yaml.contains("edgePools:"), "{yaml}");
    assert!(yaml.contains("sipFederation: true"), "{yaml}");
    assert!(yaml.contains("accessEdgeFqdn: sip.contoso.com"), "{yaml}");
    let json = show(&m, ShowFormat::Json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["edgePools"]["edgepool1.contoso.com"]["nextHop"], "pool1.contoso.com");
    assert_eq!(
        v["frontEndPools"]["pool2.contoso.com"]["mediaEdgePool"],
        "edgepool2.contoso.com"
    );
}

// ---------------------------------------------------------------- golden edits

#[test]
fn enable_sip_federation_inserts_one_port_line() {
    let got = edit(
        TWO_SITES,
        &[TopologyEdit::EnableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        }],
    );
    assert_eq!(
        got,
        r#"--- a
+++ b
@@ -92,0 +93 @@
+        <Port Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External" InterfaceNumber="1" Port="5061" Protocol="Mtls" UrlPath="/" AuthorizesRequests="false" ConfiguredFqdn="sip2.contoso.com" />
"#
    );
}

#[test]
fn disable_sip_federation_removes_exactly_its_line() {
    let got = edit(
        TWO_SITES,
        &[TopologyEdit::DisableSipFederation {
            edge_pool: f("edgepool1.contoso.com"),
        }],
    );
    assert_eq!(
        got,
        r#"--- a
+++ b
@@ -199 +198,0 @@
-        <Port Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External" InterfaceNumber="1" Port="5061" Protocol="Mtls" UrlPath="/" AuthorizesRequests="false" ConfiguredFqdn="sip.contoso.com" />
"#
    );
}

#[test]
fn set_next_hop_rewrites_one_service_id() {
    let got = edit(
        TWO_SITES,
        &[TopologyEdit::SetNextHop {
            edge_pool: f("edgepool1.contoso.com"),
            next_hop: f("dir1.contoso.com"),
        }],
    );
    assert_eq!(
        got,
        r#"--- a
+++ b
@@ -182 +182 @@
-          <ServiceId SiteId="1" RoleName="Registrar" Instance="1" />
+          <ServiceId SiteId="1" RoleName="Registrar" Instance="2" />
"#
    );
}

#[test]
fn set_media_edge_pool_rewrites_the_three_front_end_dependencies() {
    let got = edit(
        TWO_SITES,
        &[TopologyEdit::SetMediaEdgePool {
            front_end_pool: f("pool1.contoso.com"),
            edge_pool: f("edgepool2.contoso.com"),
        }],
    );
    assert_eq!(
        got,
        r#"--- a
+++ b
@@ -143 +143 @@
-          <ServiceId SiteId="1" RoleName="EdgeServer" Instance="1" />
+          <ServiceId SiteId="2" RoleName="EdgeServer" Instance="1" />
@@ -208 +208 @@
-          <ServiceId SiteId="1" RoleName="EdgeServer" Instance="1" />
+          <ServiceId SiteId="2" RoleName="EdgeServer" Instance="1" />
@@ -226 +226 @@
-          <ServiceId SiteId="1" RoleName="EdgeServer" Instance="1" />
+          <ServiceId SiteId="2" RoleName="EdgeServer" Instance="1" />
"#
    );
}

#[test]
fn next_hop_and_media_dependencies_are_added_in_the_documents_tab_style() {
    let got = edit(
        SINGLE_EDGE,
        &[
            TopologyEdit::SetNextHop {
                edge_pool: f("edge.contoso.com"),
                next_hop: f("se1.contoso.com"),
            },
            TopologyEdit::SetMediaEdgePool {
                front_end_pool: f("se1.contoso.com"),
                edge_pool: f("edge.contoso.com"),
            },
        ],
    );
    assert_eq!(
        got,
        "--- a\n+++ b\n@@ -27 +27,5 @@\n-\t\t\t<DependsOn />\n+\t\t\t<DependsOn>\n+\t\t\t\t<Dependency Usage=\"Default\">\n+\t\t\t\t\t<ServiceId SiteId=\"1\" RoleName=\"EdgeServer\" Instance=\"1\" />\n+\t\t\t\t</Dependency>\n+\t\t\t</DependsOn>\n@@ -38 +42,5 @@\n-\t\t\t<DependsOn></DependsOn>\n+\t\t\t<DependsOn>\n+\t\t\t\t<Dependency Usage=\"Default\">\n+\t\t\t\t\t<ServiceId SiteId=\"1\" RoleName=\"Registrar\" Instance=\"1\" />\n+\t\t\t\t</Dependency>\n+\t\t\t</DependsOn>\n"
    );
    // The result reads back with the new associations.
    let d = doc(SINGLE_EDGE);
    let out = d
        .apply(&[TopologyEdit::SetNextHop {
            edge_pool: f("edge.contoso.com"),
            next_hop: f("se1.contoso.com"),
        }])
        .unwrap();
    let again = TopologyDocument::parse(&out, "out.xml").unwrap();
    assert_eq!(
        again.model().edge_pools[&f("edge.contoso.com")].next_hop,
        Some(f("se1.contoso.com"))
    );
}

#[test]
fn enable_keeps_the_access_edge_fqdn_as_written_and_reads_back() {
    let d = doc(SINGLE_EDGE);
    let out = d
        .apply(&[TopologyEdit::EnableSipFederation {
            edge_pool: f("edge.contoso.com"),
        }])
        .unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains(
        "\t\t\t\t<Port Owner=\"urn:component:AccessEdge\" Usage=\"SipServer\" InterfaceSide=\"External\" InterfaceNumber=\"1\" Port=\"5061\" Protocol=\"Mtls\" UrlPath=\"/\" AuthorizesRequests=\"false\" ConfiguredFqdn=\"Sip.Contoso.com\" />\n"
    ));
    let again = TopologyDocument::parse(&out, "out.xml").unwrap();
    assert!(again.model().edge_pools[&f("edge.contoso.com")].sip_federation);
}

#[test]
fn no_edits_and_no_op_edits_give_back_the_same_bytes() {
    let d = doc(TWO_SITES);
    assert_eq!(d.apply(&[]).unwrap(), TWO_SITES.as_bytes());
    let noop = [
        TopologyEdit::EnableSipFederation {
            edge_pool: f("edgepool1.contoso.com"),
        },
        TopologyEdit::DisableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        },
        TopologyEdit::SetNextHop {
            edge_pool: f("edgepool2.contoso.com"),
            next_hop: f("pool2.contoso.com"),
        },
        TopologyEdit::SetMediaEdgePool {
            front_end_pool: f("pool1.contoso.com"),
            edge_pool: f("edgepool1.contoso.com"),
        },
    ];
    assert_eq!(d.apply(&noop).unwrap(), TWO_SITES.as_bytes());
}

#[test]
fn a_later_edit_of_the_same_setting_wins() {
    let d = doc(TWO_SITES);
    let out = d
        .apply(&[
            TopologyEdit::EnableSipFederation {
                edge_pool: f("edgepool2.contoso.com"),
            },
            TopologyEdit::DisableSipFederation {
                edge_pool: f("edgepool1.contoso.com"),
            },
            TopologyEdit::DisableSipFederation {
                edge_pool: f("edgepool2.contoso.com"),
            },
        ])
        .unwrap();
    let m = TopologyDocument::parse(&out, "out.xml").unwrap().model().clone();
    assert!(!m.edge_pools[&f("edgepool1.contoso.com")].sip_federation);
    assert!(!m.edge_pools[&f("edgepool2.contoso.com")].sip_federation);
}

// ---------------------------------------------------------------- encodings

#[test]
fn utf16_le_bom_crlf_is_read_and_written_back_as_it_came() {
    let bytes = utf16le_bom_crlf(TWO_SITES);
    let d = TopologyDocument::parse(&bytes, "export.xml").unwrap();
    assert_eq!(d.encoding(), Encoding::Utf16Le { bom: true });
    assert_eq!(d.model(), doc(TWO_SITES).model());
    assert_eq!(d.apply(&[]).unwrap(), bytes);

    let e = [TopologyEdit::EnableSipFederation {
        edge_pool: f("edgepool2.contoso.com"),
    }];
    let out = utf16le_to_string(&d.apply(&e).unwrap());
    let utf8_out = String::from_utf8(doc(TWO_SITES).apply(&e).unwrap()).unwrap();
    assert_eq!(out, utf8_out.replace('\n', "\r\n"), "inserted line ends in CRLF too");
    assert!(!out.replace("\r\n", "").contains('\n'), "no bare LF");
}

#[test]
fn utf8_bom_is_kept() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(SINGLE_EDGE.as_bytes());
    let d = TopologyDocument::parse(&bytes, "bom.xml").unwrap();
    assert_eq!(d.encoding(), Encoding::Utf8 { bom: true });
    let e = [TopologyEdit::EnableSipFederation {
        edge_pool: f("edge.contoso.com"),
    }];
    let out = d.apply(&e).unwrap();
    assert_eq!(&out[..3], &[0xEF, 0xBB, 0xBF]);
    assert_eq!(&out[3..], doc(SINGLE_EDGE).apply(&e).unwrap().as_slice());
    assert_eq!(d.apply(&[]).unwrap(), bytes);
}

// ---------------------------------------------------------------- properties

/// Every edit the fixture supports, with the edit that undoes it given the
/// document's current model.
fn inverse(m: &edgefed::topology::TopologyModel, e: &TopologyEdit) -> Option<TopologyEdit> {
    Some(match e {
        TopologyEdit::EnableSipFederation { edge_pool } | TopologyEdit::DisableSipFederation { edge_pool } => {
            if m.edge_pools[edge_pool].sip_federation {
                TopologyEdit::EnableSipFederation {
                    edge_pool: edge_pool.clone(),
                }
            } else {
                TopologyEdit::DisableSipFederation {
                    edge_pool: edge_pool.clone(),
                }
            }
        }
        TopologyEdit::SetNextHop { edge_pool, .. } => TopologyEdit::SetNextHop {
            edge_pool: edge_pool.clone(),
            next_hop: m.edge_pools[edge_pool].next_hop.clone()?,
        },
        TopologyEdit::SetMediaEdgePool { front_end_pool, .. } => TopologyEdit::SetMediaEdgePool {
            front_end_pool: front_end_pool.clone(),
            edge_pool: m.front_end_pools[front_end_pool].media_edge_pool.clone()?,
        },
    })
}

fn all_edits() -> Vec<TopologyEdit> {
    let edges = ["edgepool1.contoso.com", "edgepool2.contoso.com"];
    let mut v = Vec::new();
    for e in edges {
        v.push(TopologyEdit::EnableSipFederation { edge_pool: f(e) });
        v.push(TopologyEdit::DisableSipFederation { edge_pool: f(e) });
        for hop in ["pool1.contoso.com", "pool2.contoso.com", "dir1.contoso.com"] {
            v.push(TopologyEdit::SetNextHop {
                edge_pool: f(e),
                next_hop: f(hop),
            });
        }
        for fe in ["pool1.contoso.com", "pool2.contoso.com"] {
            v.push(TopologyEdit::SetMediaEdgePool {
                front_end_pool: f(fe),
                edge_pool: f(e),
            });
        }
    }
    v
}

proptest! {
    // 64 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
    ))]

    /// Edits applied one publish at a time (re-reading the output each
    /// time), then their inverses in reverse order, give back the original
    /// bytes — in UTF-8 and in UTF-16 LE + BOM + CRLF.
    #[test]
    fn edits_then_inverses_restore_the_original_bytes(
        picks in proptest::collection::vec(0usize..14, 1..8),
        utf16 in any::<bool>(),
    ) {
        let edits = all_edits();
        let original = if utf16 { utf16le_bom_crlf(TWO_SITES) } else { TWO_SITES.as_bytes().to_vec() };
        let mut bytes = original.clone();
        let mut undo = Vec::new();
        for i in picks {
            let e = &edits[i % edits.len()];
            let d = TopologyDocument::parse(&bytes, "p.xml").unwrap();
            undo.push(inverse(d.model(), e).unwrap());
            bytes = d.apply(std::slice::from_ref(e)).unwrap();
        }
        // All inverses in one apply, too.
        let d = TopologyDocument::parse(&bytes, "p.xml").unwrap();
        let mut reversed = undo.clone();
        reversed.reverse();
        prop_assert_eq!(&d.apply(&reversed).unwrap(), &original);
        for e in undo.iter().rev() {
            let d = TopologyDocument::parse(&bytes, "p.xml").unwrap();
            bytes = d.apply(std::slice::from_ref(e)).unwrap();
        }
        prop_assert_eq!(bytes, original);
    }

    /// Truncated or corrupted documents give an error, never a panic; what
    /// is still accepted is written back unchanged, and its edits read back.
    #[test]
    fn damaged_documents_never_panic(cut in 0usize..12_000, pos in 0usize..12_000, byte in any::<u8>(), utf16 in any::<bool>()) {
        let mut bytes = if utf16 { utf16le_bom_crlf(TWO_SITES) } else { TWO_SITES.as_bytes().to_vec() };
        if !bytes.is_empty() {
            let p = pos % bytes.len();
            bytes[p] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        if let Ok(d) = TopologyDocument::parse(&bytes, "damaged.xml") {
            prop_assert_eq!(&d.apply(&[]).unwrap(), &bytes);
            for e in all_edits() {
                if let Ok(out) = d.apply(&[e]) {
                    // What an edit writes reads back.
                    prop_assert!(TopologyDocument::parse(&out, "out.xml").is_ok());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- errors

fn parse_err(text: &str) -> TopologyError {
    TopologyDocument::parse(text.as_bytes(), "bad.xml").unwrap_err()
}

#[test]
fn malformed_xml_is_refused_with_its_position() {
    let text = TWO_SITES.replacen("</Sites>", "</Sitez>", 1);
    let err = parse_err(&text);
    let TopologyError::Xml { file, line, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file, "bad.xml");
    assert_eq!(*line, 15);
    assert!(err.to_string().starts_with("bad.xml:15:"), "{err}");
}

#[test]
fn a_missing_referenced_cluster_is_refused() {
    let text = TWO_SITES.replacen(
        "<ClusterId SiteId=\"2\" Number=\"2\" />\n      </InstalledOn>",
        "<ClusterId SiteId=\"2\" Number=\"9\" />\n      </InstalledOn>",
        1,
    );
    let err = parse_err(&text);
    assert!(
        matches!(err, TopologyError::MissingReference { line: 80, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cluster 9 of site 2"), "{err}");
}

#[test]
fn a_missing_dependency_target_is_refused() {
    let text = TWO_SITES.replacen(
        "<ServiceId SiteId=\"2\" RoleName=\"Registrar\" Instance=\"1\" />\n        </Dependency>",
        "<ServiceId SiteId=\"2\" RoleName=\"Registrar\" Instance=\"7\" />\n        </Dependency>",
        1,
    );
    let err = parse_err(&text);
    assert!(matches!(err, TopologyError::MissingReference { .. }), "{err:?}");
    assert!(err.to_string().contains("Registrar (site 2, instance 7)"), "{err}");
}

#[test]
fn duplicate_pools_are_refused() {
    let text = TWO_SITES.replacen("Fqdn=\"pool2.contoso.com\"", "Fqdn=\"POOL1.contoso.com\"", 1);
    let err = parse_err(&text);
    assert!(
        matches!(err, TopologyError::Duplicate { first_line: 17, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("POOL1.contoso.com"), "{err}");

    let text = TWO_SITES.replacen(
        "<ClusterId SiteId=\"2\" Number=\"2\" />\n      </InstalledOn>",
        "<ClusterId SiteId=\"1\" Number=\"2\" />\n      </InstalledOn>",
        1,
    );
    let err = parse_err(&text);
    assert!(matches!(err, TopologyError::Duplicate { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("EdgeServer service of pool `edgepool1.contoso.com`"),
        "{err}"
    );
}

#[test]
fn an_unknown_namespace_is_refused() {
    let text = TWO_SITES.replacen("Deploy.Topology.2008", "Deploy.Topology.2099", 1);
    let err = parse_err(&text);
    assert!(
        matches!(err, TopologyError::UnknownFormat { line: 1, column: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Deploy.Topology.2099"), "{err}");
    // Port elements outside the ServiceRoles namespace are not ports.
    let text = TWO_SITES.replace("ServiceRoles.2008", "ServiceRoles.2099");
    let m = TopologyDocument::parse(text.as_bytes(), "t.xml")
        .unwrap()
        .model()
        .clone();
    assert!(!m.edge_pools[&f("edgepool1.contoso.com")].sip_federation);
}

#[test]
fn a_topology_builder_document_is_refused() {
    let text = r#"<?xml version="1.0" encoding="utf-8"?>
<TopologyBuilder xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.TopologyBuilder.2008">
  <NewTopology><PartialTopology xmlns="urn:schema:Microsoft.Rtc.Management.Deploy.WritableTopology.2008" /></NewTopology>
</TopologyBuilder>"#;
    let err = parse_err(text);
    assert!(matches!(err, TopologyError::TopologyBuilderDocument { .. }), "{err:?}");
    assert!(err.to_string().contains("cannot take it"), "{err}");
}

#[test]
fn bad_values_and_encodings_are_refused() {
    let text = TWO_SITES.replacen("203.0.113.20", "203.0.113.300", 1);
    let err = parse_err(&text);
    assert!(matches!(err, TopologyError::Invalid { line: 59, .. }), "{err:?}");
    let err = TopologyDocument::parse(&[0xFF, 0xFE, b'<'], "odd.xml").unwrap_err();
    assert!(matches!(err, TopologyError::Encoding { .. }), "{err:?}");
    let err = TopologyDocument::parse(b"", "empty.xml").unwrap_err();
    assert!(matches!(err, TopologyError::Xml { .. }), "{err:?}");
}

#[test]
fn edits_of_unknown_pools_are_refused() {
    let d = doc(TWO_SITES);
    let err = d
        .apply(&[TopologyEdit::EnableSipFederation {
            edge_pool: f("pool1.contoso.com"),
        }])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.xml: Edge pool `pool1.contoso.com` is not in the topology; known Edge pools: edgepool1.contoso.com, edgepool2.contoso.com"
    );
    let err = d
        .apply(&[TopologyEdit::SetMediaEdgePool {
            front_end_pool: f("dir1.contoso.com"),
            edge_pool: f("edgepool1.contoso.com"),
        }])
        .unwrap_err();
    assert!(
        matches!(
            err,
            TopologyError::UnknownPool {
                kind: "Front End pool",
                ..
            }
        ),
        "{err:?}"
    );
    let err = d
        .apply(&[TopologyEdit::SetNextHop {
            edge_pool: f("edgepool1.contoso.com"),
            next_hop: f("edgepool2.contoso.com"),
        }])
        .unwrap_err();
    assert!(
        matches!(
            err,
            TopologyError::UnknownPool {
                kind: "next-hop pool",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn enabling_without_an_access_edge_fqdn_is_refused() {
    let text = SINGLE_EDGE.replacen(" ConfiguredFqdn=\"Sip.Contoso.com\"", "", 1);
    let d = doc(&text);
    let err = d
        .apply(&[TopologyEdit::EnableSipFederation {
            edge_pool: f("edge.contoso.com"),
        }])
        .unwrap_err();
    assert!(matches!(err, TopologyError::CannotEdit { .. }), "{err:?}");
}

// ---------------------------------------------------------------- deployment

#[test]
fn deployment_routes_default_to_the_federation_pools() {
    let dep = to_deployment(doc(TWO_SITES).model(), None).unwrap();
    assert_eq!(dep.signature, "0f4c2a9e-6b1d-4e8a-9c3f-2d7b5a1e8c40");
    for site in ["Site1", "Site2"] {
        assert_eq!(dep.sites[site].federation_route, Some(f("edgepool1.contoso.com")));
        assert_eq!(dep.sites[site].xmpp_federation_route, Some(f("edgepool1.contoso.com")));
    }
    let e1 = &dep.edge_pools[&f("edgepool1.contoso.com")];
    assert!(e1.sip_federation && e1.xmpp_federation);
    assert_eq!(e1.computers.len(), 2);
    assert!(
        e1.computers
            .values()
            .all(|c| c.reachable && c.services == edgefed::model::ServiceState::Running)
    );
    let p2 = &dep.front_end_pools[&f("pool2.contoso.com")];
    assert_eq!(p2.media_edge_pool, Some(f("edgepool2.contoso.com")));
    assert_eq!(p2.backup_pool, None);
    assert_eq!(
        dep.pool_of_computer(&f("fe2a.contoso.com")),
        Some(&f("pool2.contoso.com"))
    );

    let none = to_deployment(doc(SINGLE_EDGE).model(), None).unwrap();
    assert_eq!(none.sites["HQ"].federation_route, None);
}

#[test]
fn deployment_routes_come_from_get_cssite_json() {
    let m = doc(TWO_SITES).model().clone();
    let json = r#"[
      {"Identity": "Site:Site1", "SiteId": 1, "FederationRoute": "EdgeServer:edgepool1.contoso.com", "XmppFederationRoute": null},
      {"Identity": "Site:Site2", "SiteId": 2, "FederationRoute": "EdgeServer:EdgePool2.contoso.com", "XmppFederationRoute": "EdgeServer:edgepool2.contoso.com"}
    ]"#;
    let dep = to_deployment(&m, Some(json)).unwrap();
    assert_eq!(dep.sites["Site1"].federation_route, Some(f("edgepool1.contoso.com")));
    assert_eq!(dep.sites["Site1"].xmpp_federation_route, None);
    assert_eq!(dep.sites["Site2"].federation_route, Some(f("edgepool2.contoso.com")));

    let one = r#"{"Identity": "Site:Site2", "FederationRoute": null}"#;
    let dep = to_deployment(&m, Some(one)).unwrap();
    assert_eq!(dep.sites["Site2"].federation_route, None);
    assert_eq!(dep.sites["Site1"], edgefed::model::Site::default());

    for bad in [
        "not json",
        "42",
        r#"{"Identity": "Site:Nowhere"}"#,
        r#"{"Identity": "Site:Site1", "FederationRoute": "EdgeServer:pool1.contoso.com"}"#,
        r#"{"Identity": "Site:Site1", "FederationRoute": "Registrar:pool1.contoso.com"}"#,
        r#"{"Identity": "Site:Site1", "FederationRoute": 7}"#,
    ] {
        let err = to_deployment(&m, Some(bad)).unwrap_err();
        assert!(matches!(err, TopologyError::SitesJson { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("Get-CsSite | ConvertTo-Json"), "{err}");
    }
}

#[test]
fn two_federation_pools_make_routes_ambiguous() {
    let d = doc(TWO_SITES);
    let out = d
        .apply(&[TopologyEdit::EnableSipFederation {
            edge_pool: f("edgepool2.contoso.com"),
        }])
        .unwrap();
    let m = TopologyDocument::parse(&out, "t.xml").unwrap().model().clone();
    let err = to_deployment(&m, None).unwrap_err();
    assert!(matches!(err, TopologyError::AmbiguousRoutes { .. }), "{err:?}");
    assert!(to_deployment(&m, Some("[]")).is_ok());
}

// ---------------------------------------------------------------- addresses

fn ips(list: &[&str]) -> Vec<std::net::IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

#[test]
fn a_three_ip_edge_gives_only_its_access_edge_addresses() {
    let m = doc(THREE_IP).model().clone();
    let e = &m.edge_pools[&f("edgepool1.contoso.com")];
    assert_eq!(
        e.external_addresses,
        ips(&["198.51.100.11", "198.51.100.12"]),
        "interface 1 (Access Edge), not 2 (web conferencing) or 3 (A/V), and not the internal one"
    );
    assert!(!e.public_addresses_unknown);
    assert!(e.private_addresses.is_empty());
    assert!(e.sip_federation && e.xmpp_federation);
    assert_eq!(e.next_hop, Some(f("pool1.contoso.com")));
    let dep = to_deployment(&m, None).unwrap();
    let p = &dep.edge_pools[&f("edgepool1.contoso.com")];
    assert_eq!(p.external_addresses, ips(&["198.51.100.11", "198.51.100.12"]));
    assert!(!p.public_addresses_unknown);
}

#[test]
fn the_access_edge_interface_is_the_one_its_ports_name() {
    // Access Edge on interface 2, web conferencing on 1: the addresses follow the ports.
    let text = THREE_IP
        .replace(
            "InterfaceSide=\"External\" InterfaceNumber=\"1\" IPAddress=",
            "InterfaceSide=\"External\" InterfaceNumber=\"x\" IPAddress=",
        )
        .replace(
            "InterfaceSide=\"External\" InterfaceNumber=\"2\" IPAddress=",
            "InterfaceSide=\"External\" InterfaceNumber=\"1\" IPAddress=",
        )
        .replace(
            "InterfaceSide=\"External\" InterfaceNumber=\"x\" IPAddress=",
            "InterfaceSide=\"External\" InterfaceNumber=\"2\" IPAddress=",
        )
        .replace(
            "Usage=\"SipClient\" InterfaceSide=\"External\" InterfaceNumber=\"1\"",
            "Usage=\"SipClient\" InterfaceSide=\"External\" InterfaceNumber=\"2\"",
        )
        .replace(
            "Usage=\"PsomClient\" InterfaceSide=\"External\" InterfaceNumber=\"2\"",
            "Usage=\"PsomClient\" InterfaceSide=\"External\" InterfaceNumber=\"1\"",
        );
    // Only the Mtls federation port still names interface 1: disable it first.
    let d = doc(&text);
    let off = d
        .apply(&[TopologyEdit::DisableSipFederation {
            edge_pool: f("edgepool1.contoso.com"),
        }])
        .unwrap();
    let d = TopologyDocument::parse(&off, "t.xml").unwrap();
    let e = &d.model().edge_pools[&f("edgepool1.contoso.com")];
    assert_eq!(e.external_addresses, ips(&["198.51.100.11", "198.51.100.12"]));
    // Enabling federation gives the new port the Access Edge's interface number.
    let on = d
        .apply(&[TopologyEdit::EnableSipFederation {
            edge_pool: f("edgepool1.contoso.com"),
        }])
        .unwrap();
    let added = diff(std::str::from_utf8(&off).unwrap(), &on);
    assert!(
        added.contains("Usage=\"SipServer\" InterfaceSide=\"External\" InterfaceNumber=\"2\" Port=\"5061\""),
        "{added}"
    );
    let e = &TopologyDocument::parse(&on, "t.xml").unwrap().model().edge_pools[&f("edgepool1.contoso.com")].clone();
    assert!(e.sip_federation);
    assert_eq!(e.external_addresses, ips(&["198.51.100.11", "198.51.100.12"]));
}

#[test]
fn access_edge_ports_naming_two_interfaces_leave_the_addresses_unknown() {
    let text = THREE_IP.replace(
        "Usage=\"SipClient\" InterfaceSide=\"External\" InterfaceNumber=\"1\"",
        "Usage=\"SipClient\" InterfaceSide=\"External\" InterfaceNumber=\"2\"",
    );
    let e = doc(&text).model().edge_pools[&f("edgepool1.contoso.com")].clone();
    assert!(e.external_addresses.is_empty());
    assert!(e.public_addresses_unknown);
}

#[test]
fn behind_nat_without_a_public_address_the_addresses_are_unknown() {
    // Three-IP Edge behind NAT: private Access Edge addresses; only the A/V
    // interface carries its public (NAT) address, which is not the Access Edge's.
    let text = THREE_IP
        .replace("IPAddress=\"198.51.100.11\"", "IPAddress=\"10.0.1.11\"")
        .replace("IPAddress=\"198.51.100.12\"", "IPAddress=\"10.0.1.12\"")
        .replace(
            "IPAddress=\"198.51.100.31\"",
            "IPAddress=\"10.0.1.31\" ConfiguredIPAddress=\"203.0.113.31\"",
        )
        .replace(
            "IPAddress=\"198.51.100.32\"",
            "IPAddress=\"10.0.1.32\" ConfiguredIPAddress=\"203.0.113.32\"",
        );
    let m = doc(&text).model().clone();
    let e = &m.edge_pools[&f("edgepool1.contoso.com")];
    assert!(e.external_addresses.is_empty(), "{:?}", e.external_addresses);
    assert!(e.public_addresses_unknown);
    assert_eq!(e.private_addresses, ips(&["10.0.1.11", "10.0.1.12"]));
    let dep = to_deployment(&m, None).unwrap();
    let p = &dep.edge_pools[&f("edgepool1.contoso.com")];
    assert!(p.external_addresses.is_empty() && p.public_addresses_unknown);
    let shown = show(&m, ShowFormat::Yaml).unwrap();
    assert!(shown.contains("publicAddressesUnknown: true"), "{shown}");
    assert!(shown.contains("privateAddresses:\n    - \"10.0.1.11\""), "{shown}");

    // One private server is enough: a partial set is not published either.
    let one = THREE_IP.replace("IPAddress=\"198.51.100.12\"", "IPAddress=\"192.168.7.12\"");
    let e = doc(&one).model().edge_pools[&f("edgepool1.contoso.com")].clone();
    assert!(e.external_addresses.is_empty() && e.public_addresses_unknown);
    assert_eq!(e.private_addresses, ips(&["192.168.7.12"]));
}

#[test]
fn behind_nat_the_configured_public_address_is_published() {
    let text = SINGLE_EDGE.replace(
        "IPAddress=\"198.51.100.50\"",
        "IPAddress=\"172.16.0.50\" ConfiguredIPAddress=\"203.0.113.50\"",
    );
    let e = doc(&text).model().edge_pools[&f("edge.contoso.com")].clone();
    assert_eq!(e.external_addresses, ips(&["203.0.113.50"]));
    assert!(!e.public_addresses_unknown && e.private_addresses.is_empty());
    // A private configured address is no public address either.
    let text = SINGLE_EDGE.replace(
        "IPAddress=\"198.51.100.50\"",
        "IPAddress=\"10.0.0.1\" ConfiguredIPAddress=\"10.0.0.2\"",
    );
    let e = doc(&text).model().edge_pools[&f("edge.contoso.com")].clone();
    assert!(e.external_addresses.is_empty() && e.public_addresses_unknown);
    assert_eq!(e.private_addresses, ips(&["10.0.0.2"]));
}

#[test]
fn every_kind_of_non_public_address_is_held_back() {
    for (address, private) in [
        ("10.1.2.3", true),
        ("172.31.255.1", true),
        ("192.168.1.1", true),
        ("100.64.0.1", true),
        ("100.127.255.254", true),
        ("127.0.0.1", true),
        ("169.254.10.10", true),
        ("0.0.0.0", false),
        ("fd00::1", true),
        ("fe80::1", true),
        ("::1", true),
        ("::", false),
        ("::ffff:10.0.0.1", true),
        ("100.128.0.1", false),
        ("172.32.0.1", false),
        ("198.51.100.50", false),
        ("2001:db8::50", false),
    ] {
        let text = SINGLE_EDGE.replace("IPAddress=\"198.51.100.50\"", &format!("IPAddress=\"{address}\""));
        let e = doc(&text).model().edge_pools[&f("edge.contoso.com")].clone();
        let unspecified = address == "0.0.0.0" || address == "::";
        let public = !private && !unspecified;
        assert_eq!(e.public_addresses_unknown, !public, "{address}");
        assert_eq!(e.external_addresses.is_empty(), !public, "{address}");
        // The unspecified address is no address: it is not listed as private.
        assert_eq!(e.private_addresses.len(), usize::from(private), "{address}");
    }
}

// ---------------------------------------------------------------- namespaces

const PREFIXED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<t:Topology xmlns:t="urn:schema:Microsoft.Rtc.Management.Deploy.Topology.2008" Signature='s-1'>
 <t:Sites><t:CentralSite SiteId="1"><t:Name>Site1</t:Name></t:CentralSite></t:Sites>
 <t:Clusters>
  <t:Cluster Fqdn="fe.contoso.com"><t:ClusterId SiteId="1" Number="1"/><t:Machine Fqdn="fe.contoso.com"/></t:Cluster>
  <t:Cluster Fqdn="edge.contoso.com"><t:ClusterId SiteId="1" Number="2"/>
   <t:Machine Fqdn="edge.contoso.com"><t:NetInterface InterfaceSide="External" IPAddress="192.0.2.7"/></t:Machine></t:Cluster>
 </t:Clusters>
 <t:Services>
  <t:Service><t:ServiceId SiteId="1" RoleName="Registrar" Instance="1"/><t:DependsOn/>
   <t:InstalledOn><t:ClusterId SiteId="1" Number="1"/></t:InstalledOn></t:Service>
  <t:Service><t:ServiceId SiteId="1" RoleName="EdgeServer" Instance="1"/><t:DependsOn/>
   <t:InstalledOn><t:ClusterId SiteId="1" Number="2"/></t:InstalledOn>
   <r:Ports xmlns:r="urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008">
    <r:Port Owner='urn:component:AccessEdge' Usage='SipClient' InterfaceSide='External' ConfiguredFqdn='sip.contoso.com'/>
    <s:Port xmlns:s="urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008" Owner='urn:component:MediaRelayEdge' Usage='TURNServer' InterfaceSide='External'/>
    <Port Owner="urn:component:AccessEdge" Usage="SipServer" InterfaceSide="External" Protocol="Mtls"/>
   </r:Ports>
  </t:Service>
 </t:Services>
</t:Topology>
"#;

#[test]
fn prefixes_quotes_and_local_declarations_are_followed() {
    let d = doc(PREFIXED);
    let e = &d.model().edge_pools[&f("edge.contoso.com")];
    assert!(
        !e.sip_federation,
        "the unprefixed Port is in no namespace, so it is not a port"
    );
    assert_eq!(e.external_addresses, ["192.0.2.7".parse::<std::net::IpAddr>().unwrap()]);
    let out = d
        .apply(&[
            TopologyEdit::EnableSipFederation {
                edge_pool: f("edge.contoso.com"),
            },
            TopologyEdit::SetNextHop {
                edge_pool: f("edge.contoso.com"),
                next_hop: f("fe.contoso.com"),
            },
        ])
        .unwrap();
    let got = diff(PREFIXED, &out);
    assert_eq!(
        got,
        "--- a\n+++ b\n@@ -12 +12,5 @@\n-  <t:Service><t:ServiceId SiteId=\"1\" RoleName=\"EdgeServer\" Instance=\"1\"/><t:DependsOn/>\n+  <t:Service><t:ServiceId SiteId=\"1\" RoleName=\"EdgeServer\" Instance=\"1\"/><t:DependsOn>\n+    <t:Dependency Usage=\"Default\">\n+      <t:ServiceId SiteId=\"1\" RoleName=\"Registrar\" Instance=\"1\" />\n+    </t:Dependency>\n+  </t:DependsOn>\n@@ -16,0 +21 @@\n+    <s:Port xmlns:s=\"urn:schema:Microsoft.Rtc.Management.Deploy.ServiceRoles.2008\" Owner='urn:component:AccessEdge' Usage='SipServer' InterfaceSide='External' InterfaceNumber='1' Port='5061' Protocol='Mtls' UrlPath='/' AuthorizesRequests='false' ConfiguredFqdn='sip.contoso.com'/>\n"
    );
    let again = TopologyDocument::parse(&out, "out.xml").unwrap();
    let e = &again.model().edge_pools[&f("edge.contoso.com")];
    assert!(e.sip_federation);
    assert_eq!(e.next_hop, Some(f("fe.contoso.com")));
}

#[test]
fn a_utf16_file_with_an_xml_declaration_is_read() {
    let text = format!("<?xml version=\"1.0\" encoding=\"utf-16\"?>\n{TWO_SITES}");
    let bytes = utf16le_bom_crlf(&text);
    let d = TopologyDocument::parse(&bytes, "decl.xml").unwrap();
    assert_eq!(d.model(), doc(TWO_SITES).model());
    assert_eq!(d.apply(&[]).unwrap(), bytes);
}
