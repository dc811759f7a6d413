//! Simple URL configuration in the double: `Get-CsSimpleUrlConfiguration`
//! and `Set-CsSimpleUrlConfiguration` with the parameter sets of their
//! reference pages (Identity or Filter; Identity or Instance), and the
//! backend's helpers `Edgefed-SaveSimpleUrls` / `Edgefed-RestoreSimpleUrls`
//! (snapshot before a publish, restore and verify after it).

use serde_json::Value;

use super::state::{SimpleUrl, SimpleUrlConfig, State};

/// `Get-CsSimpleUrlConfiguration [-Identity <id> | -Filter <pattern>]`.
///
/// # Errors
/// The cmdlet's message for parameters from two sets or an unknown Identity.
pub fn get(st: &State, identity: Option<&str>, filter: Option<&str>) -> Result<Vec<Value>, String> {
    if identity.is_some() && filter.is_some() {
        return Err(
            "Get-CsSimpleUrlConfiguration : Parameter set cannot be resolved using the specified named parameters."
                .into(),
        );
    }
    let pick = |c: &&SimpleUrlConfig| match (identity, filter) {
        (Some(id), _) => c.identity.eq_ignore_ascii_case(id),
        (None, Some(f)) => wildcard(f, &c.identity),
        (None, None) => true,
    };
    let found: Vec<Value> = st
        .simple_urls
        .iter()
        .filter(pick)
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    if let (Some(id), true) = (identity, found.is_empty()) {
        return Err(format!(
            "Get-CsSimpleUrlConfiguration : Cannot get the \"SimpleUrlConfiguration\" with the identity \"{id}\" because it does not exist."
        ));
    }
    Ok(found)
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.to_ascii_lowercase(), text.to_ascii_lowercase());
    match p.split_once('*') {
        Some((head, tail)) => t.starts_with(head) && t[head.len()..].ends_with(tail),
        None => p == t,
    }
}

/// `Set-CsSimpleUrlConfiguration -Identity <id> -SimpleUrl @{Replace=…}` (or
/// `$null`, which empties the collection).
///
/// # Errors
/// The cmdlet's message for an Identity that does not exist.
pub fn set(st: &mut State, identity: &str, urls: Vec<SimpleUrl>) -> Result<(), String> {
    let ignored = st.simple_url_set_ignored;
    let Some(c) = st
        .simple_urls
        .iter_mut()
        .find(|c| c.identity.eq_ignore_ascii_case(identity))
    else {
        return Err(format!(
            "Set-CsSimpleUrlConfiguration : Cannot find the \"SimpleUrlConfiguration\" with the identity \"{identity}\"; create it with New-CsSimpleUrlConfiguration."
        ));
    };
    if !ignored {
        c.simple_url = urls;
    }
    st.log.push(format!("Set-CsSimpleUrlConfiguration {identity}"));
    Ok(())
}

/// What `Edgefed-SimpleUrlText` makes of collections: one line comparing
/// identities, components, domains, active URLs and entries.
pub fn text(configs: &[SimpleUrlConfig]) -> String {
    configs
        .iter()
        .map(|c| {
            let urls: Vec<String> = c
                .simple_url
                .iter()
                .map(|u| {
                    let entries: Vec<&str> = u.simple_url_entry.iter().map(|e| e.url.as_str()).collect();
                    format!("{} {} {} [{}]", u.component, u.domain, u.active_url, entries.join(" "))
                })
                .collect();
            format!("{}={}", c.identity, urls.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Edgefed-RestoreSimpleUrls <saved>`: sets every saved collection back,
/// then compares what is configured with the snapshot.
///
/// # Errors
/// Outer: the snapshot is not what `Edgefed-SaveSimpleUrls` returns (a
/// bug). Inner: the step's message, as the helper throws it.
pub fn restore(st: &mut State, saved: &Value) -> Result<Result<String, String>, String> {
    let saved: Vec<SimpleUrlConfig> = serde_json::from_value(saved.clone())
        .map_err(|e| format!("Edgefed-RestoreSimpleUrls needs the snapshot of Edgefed-SaveSimpleUrls: {e}"))?;
    for c in &saved {
        if let Err(m) = set(st, &c.identity, c.simple_url.clone()) {
            return Ok(Err(m));
        }
    }
    let (before, now) = (text(&saved), text(&st.simple_urls));
    if before != now {
        return Ok(Err(format!(
            "the topology was published and enabled, but the simple URLs did not come back: before the publish {before}; now {now}. Set them again (Set-CsSimpleUrlConfiguration, or Topology Builder > Simple URLs), then run Enable-CsComputer on each Front End server."
        )));
    }
    Ok(Ok(format!("simple URLs restored and verified: {before}")))
}
