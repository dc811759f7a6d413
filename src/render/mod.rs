//! Renderers: the plan and apply report for people (human, markdown) and for
//! programs (the versioned plan JSON).

pub mod human;
pub mod json;
pub mod markdown;

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
            } else if let Some(t) = m.get("target") {
                format!(
                    "SRV {} {} {} {} ttl {}",
                    m.get("priority").map(show_value).unwrap_or_default(),
                    m.get("weight").map(show_value).unwrap_or_default(),
                    m.get("port").map(show_value).unwrap_or_default(),
                    show_value(t),
                    m.get("ttl").map(show_value).unwrap_or_default()
                )
            } else {
                v.to_string()
            }
        }
        other => other.to_string(),
    }
}
