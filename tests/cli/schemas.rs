//! The published JSON Schemas (`schemas/`) are what `edgefed schema --of …`
//! prints, and real outputs validate against them.

use super::support::*;

fn schema(name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).expect("schema JSON")
}

fn assert_valid(schema_file: &str, instance: &serde_json::Value) {
    let validator = jsonschema::validator_for(&schema(schema_file)).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_file}: {errors:#?}");
}

#[test]
fn every_published_schema_is_what_edgefed_prints() {
    let env = Env::new("healthy");
    for (of, file) in [
        ("document", "edgefed.schema.json"),
        ("plan", "plan.schema.json"),
        ("report", "report.schema.json"),
        ("error", "error.schema.json"),
    ] {
        let printed: serde_json::Value = serde_json::from_str(&env.ok(&["schema", "--of", of])).unwrap();
        assert_eq!(
            printed,
            schema(file),
            "schemas/{file} is stale: run `cargo run -- schema --of {of} --out schemas/{file}`"
        );
    }
    let listed = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"))
        .unwrap()
        .count();
    assert_eq!(listed, 4, "a file in schemas/ that no `schema --of` prints");
}

#[test]
fn plan_report_and_error_outputs_validate() {
    let env = Env::new("xmpp-failed-over");
    let plan = env.plan_json(&example("failback.yaml"));
    assert_valid("plan.schema.json", &plan);
    let out = env.run(&["reconcile", "-f", &example("failback.yaml"), "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("report.schema.json", &report);
    assert_eq!(report["verify"]["inSync"], true);
    // The report's keys start with the plan's, in the plan's order.
    let plan_keys: Vec<&String> = plan.as_object().unwrap().keys().collect();
    let raw = String::from_utf8_lossy(&out.stdout);
    let positions: Vec<usize> = [
        "formatVersion",
        "desired",
        "observed",
        "inSync",
        "changes",
        "actions",
        "warnings",
        "summary",
        "apply",
        "verify",
    ]
    .iter()
    .map(|k| raw.find(&format!("\n  \"{k}\":")).unwrap_or_else(|| panic!("{k}")))
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(plan_keys.len(), 8);
    // A failure under --output json validates against its schema.
    let bad = env.file(
        "bad.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1:\n      federationRoute: nosuch.contoso.com\n",
    );
    let out = env.run(&["plan", "-f", &bad, "--output", "json"]);
    assert_eq!(code(&out), 1);
    assert_valid("error.schema.json", &serde_json::from_slice(&out.stdout).unwrap());
}
