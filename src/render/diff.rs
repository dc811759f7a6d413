//! `edgefed diff`: the observed document against the desired one, both
//! written by the same writer so that only what differs in meaning shows.
//!
//! The desired side is the observed document with the desired document laid
//! over it (its maps merged key by key, its `dns` zones matched by `zone`,
//! every other value replaced), as `kubectl diff` compares the live object
//! with the object as it would be after an apply: what the desired document
//! leaves out stays as observed instead of showing as removed. The document
//! options that are not deployment state (`verify`,
//! `allowMultipleFederationRoutes`, an Edge pool's `externalAddresses`) and
//! the header (`apiVersion`, `kind`, `metadata`) are not compared.

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use super::ordered::Node;

const RED: Style = AnsiColor::Red.on_default();
const GREEN: Style = AnsiColor::Green.on_default();
const CYAN: Style = AnsiColor::Cyan.on_default();
const BOLD: Style = Style::new().bold();

/// The document options under `spec` that are not deployment state.
const NOT_STATE: [&str; 2] = ["verify", "allowMultipleFederationRoutes"];

/// `observed` with `desired`'s `spec` laid over it.
#[must_use]
pub fn overlay(observed: &Node, desired: &Node) -> Node {
    let mut out = observed.clone();
    let Some(spec) = desired.get("spec") else {
        return out;
    };
    let mut spec = spec.clone();
    for key in NOT_STATE {
        spec.remove(key);
    }
    if let Some(Node::Map(pools)) = spec.get_mut("edgePools") {
        for (_, pool) in pools {
            pool.remove("externalAddresses");
        }
    }
    match out.get_mut("spec") {
        Some(target) => merge(target, &spec, ""),
        None => out.set("spec", spec),
    }
    out
}

fn merge(target: &mut Node, over: &Node, key: &str) {
    match (target, over) {
        (target @ Node::Map(_), Node::Map(entries)) => {
            for (k, v) in entries {
                match target.get_mut(k) {
                    Some(t) => merge(t, v, k),
                    None => target.set(k, v.clone()),
                }
            }
        }
        (Node::List(zones), Node::List(wanted)) if key == "dns" => {
            for w in wanted {
                let name = w.get("zone");
                match zones.iter_mut().find(|z| name.is_some() && z.get("zone") == name) {
                    Some(z) => merge(z, w, ""),
                    None => zones.push(w.clone()),
                }
            }
        }
        (target, over) => *target = over.clone(),
    }
}

/// The two documents as YAML, without the header, compared: `None` when the
/// same.
///
/// # Errors
/// When a document does not serialise (a bug).
pub fn unified(
    observed: &Node,
    desired: &Node,
    observed_name: &str,
    desired_name: &str,
) -> Result<Option<String>, String> {
    let write = |n: &Node| -> Result<String, String> {
        let spec = n.get("spec").cloned().unwrap_or(Node::Map(Vec::new()));
        serde_saphyr::to_string(&Node::Map(vec![("spec".into(), spec)]))
            .map_err(|e| format!("the document does not serialise as YAML: {e}"))
    };
    let (a, b) = (write(observed)?, write(&overlay(observed, desired))?);
    if a == b {
        return Ok(None);
    }
    let diff = TextDiff::from_lines(&a, &b);
    let mut out = String::new();
    out.push_str(&format!(
        "{BOLD}--- {observed_name}{BOLD:#}\n{BOLD}+++ {desired_name}{BOLD:#}\n"
    ));
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&format!("{CYAN}{}{CYAN:#}\n", hunk.header()));
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ('-', RED),
                ChangeTag::Insert => ('+', GREEN),
                ChangeTag::Equal => (' ', Style::new()),
            };
            let line = change.value();
            let line = line.strip_suffix('\n').unwrap_or(line);
            out.push_str(&format!("{style}{sign}{line}{style:#}\n"));
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Node {
        serde_saphyr::from_str(text).unwrap()
    }

    const OBSERVED: &str = "apiVersion: edgefed/v1\nkind: FederationTopology\nmetadata:\n  name: observed\nspec:\n  sites:\n    Site1:\n      federationRoute: edgepool2.contoso.com\n      xmppFederationRoute: edgepool2.contoso.com\n    Site2:\n      federationRoute: edgepool2.contoso.com\n  dns:\n  - zone: contoso.com\n    sip:\n      host: sip.contoso.com\n      ttl: 300\n";

    #[test]
    fn only_what_the_desired_document_changes_shows() {
        let desired = yaml(
            "apiVersion: edgefed/v1\nkind: FederationTopology\nmetadata:\n  name: other\nspec:\n  verify: {ports: true}\n  sites:\n    Site1:\n      xmppFederationRoute: edgepool1.contoso.com\n  dns:\n  - zone: contoso.com\n    sip: {ttl: 600}\n",
        );
        let text = unified(&yaml(OBSERVED), &desired, "observed", "d.yaml")
            .unwrap()
            .unwrap();
        let plain = anstream::adapter::strip_str(&text).to_string();
        let changed: Vec<&str> = plain
            .lines()
            .filter(|l| (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++"))
            .collect();
        assert_eq!(
            changed,
            vec![
                "-      xmppFederationRoute: edgepool2.contoso.com",
                "+      xmppFederationRoute: edgepool1.contoso.com",
                "-      ttl: 300",
                "+      ttl: 600",
            ],
            "{plain}"
        );
        assert!(plain.starts_with("--- observed\n+++ d.yaml\n@@ "), "{plain}");
        assert!(text.contains("\u{1b}[31m-      xmppFederationRoute"), "{text:?}");
    }

    #[test]
    fn the_same_meaning_written_differently_is_no_difference() {
        let desired = yaml(
            "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  allowMultipleFederationRoutes: true\n  sites: {Site2: {federationRoute: 'edgepool2.contoso.com'}}\n",
        );
        assert_eq!(unified(&yaml(OBSERVED), &desired, "a", "b").unwrap(), None);
    }
}
