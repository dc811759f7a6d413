//! Renderers: the plan and apply report for people (human, markdown) and for
//! programs (the versioned plan JSON).

pub mod diff;
pub mod error_json;
pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod ordered;
pub mod report;

pub use json::{PLAN_FORMAT_VERSION, PlanDocument};

/// `Plan: N actions (P topology publish).`
#[must_use]
pub fn summary_line(plan: &crate::plan::Plan) -> String {
    format!(
        "Plan: {} actions ({} topology publish).",
        plan.actions.len(),
        plan.topology_publishes()
    )
}

/// A JSON value as the human renderers show it: `null` as `(none)`, strings bare.
#[must_use]
pub fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Array(a)) = m.get("addresses") {
                let list: Vec<String> = a.iter().map(show_value).collect();
                format!(
                    "A {} ttl {}",
                    list.join(", "),
                    m.get("ttl").map(show_value).unwrap_or_default()
                )
            } else if m.contains_key("target") {
                format!(
                    "SRV {} ttl {}",
                    srv_record(m),
                    m.get("ttl").map(show_value).unwrap_or_default()
                )
            } else if let Some(serde_json::Value::Array(records)) = m.get("records") {
                // A set of several SRV records, in priority order.
                let list: Vec<String> = records
                    .iter()
                    .filter_map(serde_json::Value::as_object)
                    .map(srv_record)
                    .collect();
                format!(
                    "SRV {} ttl {}",
                    list.join(", "),
                    m.get("ttl").map(show_value).unwrap_or_default()
                )
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// `priority weight port target` of one SRV record's JSON.
fn srv_record(m: &serde_json::Map<String, serde_json::Value>) -> String {
    format!(
        "{} {} {} {}",
        m.get("priority").map(show_value).unwrap_or_default(),
        m.get("weight").map(show_value).unwrap_or_default(),
        m.get("port").map(show_value).unwrap_or_default(),
        m.get("target").map(show_value).unwrap_or_default(),
    )
}
