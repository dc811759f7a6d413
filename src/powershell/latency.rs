//! How long the Management Shell's work takes on a real deployment: the
//! figures the shell double's latency model sleeps (scaled), and what they
//! make of a plan — its critical path (the longest chain of dependent
//! actions) and its sequential sum (every action one after another, as an
//! administrator following the procedures by hand spends it).
//!
//! Figures, in seconds: publish 60; CMS replication reaching the Edge
//! servers 120 after a write to the store (a publish, `Set-CsSite`,
//! `Set-CsEdgeServer`); Bootstrapper.exe 300 per server (run-setup
//! first waits for replication, so it counts both); `Set-CsSite` and
//! `Set-CsEdgeServer` 5; starting or stopping an Edge server's services
//! 30; a pool or Central Management Server failover / failback 600. Topology
//! edits (made on the local copy), DNS updates and port probes count 0.

use std::collections::BTreeMap;

use serde_json::Value;

/// `Publish-CsTopology`.
pub const PUBLISH: f64 = 60.0;
/// CMS replication reaching the Edge servers after a write to the store.
pub const REPLICATION: f64 = 120.0;
/// Bootstrapper.exe on one Edge server.
pub const BOOTSTRAPPER: f64 = 300.0;
/// `Set-CsSite` (one route).
pub const SET_SITE: f64 = 5.0;
/// `Set-CsEdgeServer` (the next hop).
pub const SET_EDGE_SERVER: f64 = 5.0;
/// Starting or stopping one Edge server's services.
pub const SERVICES: f64 = 30.0;
/// `Invoke-CsPoolFailover` / `Invoke-CsPoolFailBack` /
/// `Invoke-CsManagementServerFailover`.
pub const FAILOVER: f64 = 600.0;

/// The model seconds of one action of `kind` (a plan JSON kind name).
#[must_use]
pub fn kind_seconds(kind: &str) -> f64 {
    match kind {
        "publish-topology" => PUBLISH,
        "wait-for-replication" => REPLICATION,
        "run-setup" => REPLICATION + BOOTSTRAPPER,
        "set-site-federation-route" | "set-site-xmpp-route" => SET_SITE,
        "set-edge-next-hop" => SET_EDGE_SERVER,
        "start-services" | "stop-services" => SERVICES,
        "invoke-pool-failover" | "invoke-pool-failback" | "invoke-cms-failover" => FAILOVER,
        _ => 0.0,
    }
}

/// What the model makes of a plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlanTimes {
    /// The longest weighted path through the `dependsOn` edges: the least
    /// any executor can take.
    pub critical_path: f64,
    /// Every action one after another.
    pub sequential: f64,
}

/// [`PlanTimes`] of a plan JSON document (`actions[]` with `id`, `kind`
/// and `dependsOn`).
///
/// # Errors
/// A message naming the action when the plan has no `actions`, an action
/// lacks `id` or `kind`, depends on an id the plan does not have, or the
/// edges form a cycle.
pub fn plan_times(plan: &Value) -> Result<PlanTimes, String> {
    let actions = plan
        .get("actions")
        .and_then(Value::as_array)
        .ok_or("the plan JSON has no `actions` array")?;
    let mut nodes: BTreeMap<u64, (f64, Vec<u64>)> = BTreeMap::new();
    for (i, a) in actions.iter().enumerate() {
        let id = a
            .get("id")
            .and_then(Value::as_u64)
            .ok_or(format!("action #{} has no numeric `id`", i + 1))?;
        let kind = a
            .get("kind")
            .and_then(Value::as_str)
            .ok_or(format!("action {id} has no `kind`"))?;
        let deps = a
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|d| d.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        nodes.insert(id, (kind_seconds(kind), deps));
    }
    // Longest finish time of each node, depth-first with cycle detection.
    let mut finish: BTreeMap<u64, f64> = BTreeMap::new();
    let mut on_path: Vec<u64> = Vec::new();
    fn visit(
        id: u64,
        nodes: &BTreeMap<u64, (f64, Vec<u64>)>,
        finish: &mut BTreeMap<u64, f64>,
        on_path: &mut Vec<u64>,
    ) -> Result<f64, String> {
        if let Some(f) = finish.get(&id) {
            return Ok(*f);
        }
        if on_path.contains(&id) {
            return Err(format!("the plan's dependsOn edges form a cycle through action {id}"));
        }
        let Some((weight, deps)) = nodes.get(&id) else {
            return Err(format!(
                "an action depends on action {id}, which the plan does not have"
            ));
        };
        on_path.push(id);
        let mut start = 0.0_f64;
        for d in deps {
            start = start.max(visit(*d, nodes, finish, on_path)?);
        }
        on_path.pop();
        let f = start + weight;
        finish.insert(id, f);
        Ok(f)
    }
    let mut critical_path = 0.0_f64;
    for id in nodes.keys() {
        critical_path = critical_path.max(visit(*id, &nodes, &mut finish, &mut on_path)?);
    }
    Ok(PlanTimes {
        critical_path,
        sequential: nodes.values().map(|(w, _)| w).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_critical_path_is_the_longest_weighted_chain() {
        // start(30) → publish(60) → two setups (420 each, in parallel) → failback(600);
        // a site route (5) beside them.
        let plan = json!({ "actions": [
            { "id": 1, "kind": "start-services", "dependsOn": [] },
            { "id": 2, "kind": "publish-topology", "dependsOn": [1] },
            { "id": 3, "kind": "run-setup", "dependsOn": [2] },
            { "id": 4, "kind": "run-setup", "dependsOn": [2] },
            { "id": 5, "kind": "set-site-xmpp-route", "dependsOn": [2] },
            { "id": 6, "kind": "set-dns-a", "dependsOn": [5] },
            { "id": 7, "kind": "invoke-pool-failback", "dependsOn": [3, 4, 6] }
        ]});
        let t = plan_times(&plan).unwrap();
        assert!((t.critical_path - (30.0 + 60.0 + 420.0 + 600.0)).abs() < 1e-9, "{t:?}");
        assert!(
            (t.sequential - (30.0 + 60.0 + 840.0 + 5.0 + 600.0)).abs() < 1e-9,
            "{t:?}"
        );
    }

    #[test]
    fn bad_plans_are_named() {
        let e = plan_times(&json!({ "actions": [{ "id": 1, "kind": "run-setup", "dependsOn": [9] }] })).unwrap_err();
        assert!(e.contains("action 9"), "{e}");
        let e = plan_times(&json!({ "actions": [
            { "id": 1, "kind": "run-setup", "dependsOn": [2] },
            { "id": 2, "kind": "run-setup", "dependsOn": [1] }
        ]}))
        .unwrap_err();
        assert!(e.contains("cycle"), "{e}");
        assert!(plan_times(&json!({})).unwrap_err().contains("actions"));
        assert_eq!(plan_times(&json!({ "actions": [] })).unwrap().critical_path, 0.0);
    }

    #[test]
    fn the_seed_failback_golden_plan() {
        let text = include_str!("../../tests/golden/xmpp-failed-over/failback.json.txt");
        let json: Value = serde_json::from_str(&text[text.find('{').unwrap_or(0)..]).unwrap();
        let t = plan_times(&json).unwrap();
        // start (30) → enable-sip (0) → publish (60) → setup (420) → DNS, probe (0) → failback (600).
        assert!((t.critical_path - 1110.0).abs() < 1e-9, "{t:?}");
        // 2 starts, publish, 2 setups, 4 site routes, failback.
        assert!(
            (t.sequential - (60.0 + 60.0 + 840.0 + 20.0 + 600.0)).abs() < 1e-9,
            "{t:?}"
        );
    }
}
