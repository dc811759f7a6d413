//! Under `--output json`, a failure is JSON on stdout too, with the same exit
//! code as the text output.

use super::support::*;

fn error_json(out: &std::process::Output) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)));
    assert_eq!(v["error"]["exitCode"], code(out), "{v}");
    v
}

#[test]
fn an_invalid_document_gives_each_diagnostic_with_its_position() {
    let env = Env::new("xmpp-failed-over");
    let doc = env.file(
        "bad.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nmetadata:\n  name: x\nspec:\n  sites:\n    Site1:\n      federationRoute: edge pool.contoso.com\n",
    );
    for command in ["validate", "plan"] {
        let out = env.run(&[command, "-f", &doc, "--output", "json"]);
        assert_eq!(code(&out), 1, "{}", text(&out));
        let v = error_json(&out);
        assert_eq!(v["error"]["code"], "document-invalid", "{v}");
        let d = &v["error"]["diagnostics"][0];
        assert_eq!(d["location"]["file"], doc.as_str(), "{v}");
        assert_eq!(d["location"]["line"], 8, "{v}");
        assert_eq!(d["location"]["column"], 24, "{v}");
        assert!(d["rule"].is_string(), "{v}");
        assert_eq!(v["error"]["location"], d["location"], "{v}");
    }
}

#[test]
fn a_plan_rule_a_corrupt_saved_plan_and_a_usage_error_are_json() {
    let env = Env::new("xmpp-failed-over");
    // P-rule: route to a pool that does not exist.
    let doc = env.file(
        "p.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nmetadata:\n  name: x\nspec:\n  sites:\n    Site1:\n      federationRoute: nosuch.contoso.com\n",
    );
    let out = env.run(&["plan", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let v = error_json(&out);
    assert_eq!(v["error"]["code"], "plan-rules", "{v}");
    assert!(
        v["error"]["diagnostics"][0]["rule"].as_str().unwrap().starts_with('P'),
        "{v}"
    );

    let plan = env.file("plan.json", "{\n  \"formatVersion\": 3,\n  oops\n}\n");
    let out = env.run(&["reconcile", "--plan", &plan, "--output", "json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let v = error_json(&out);
    assert_eq!(v["error"]["code"], "saved-plan", "{v}");
    assert_eq!(v["error"]["location"]["line"], 3, "{v}");

    // A usage error found by edgefed, and one found by the parser.
    let out = env.run(&["plan", "-f", &doc, "--output", "json", "--explain"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert_eq!(error_json(&out)["error"]["code"], "usage");
    let out = env.run(&["plan", "--output=json", "--no-such-flag"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    let v = error_json(&out);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("--no-such-flag"),
        "{v}"
    );
}

#[test]
fn without_json_stdout_stays_empty_on_failure() {
    let env = Env::new("xmpp-failed-over");
    let out = env.run(&["validate", "-f", "missing.yaml"]);
    assert_eq!(code(&out), 1);
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let out = env.run(&["validate", "-f", "missing.yaml", "--output", "json"]);
    assert_eq!(error_json(&out)["error"]["code"], "document-unreadable");
}

#[test]
fn validate_github_annotates_each_problem_at_its_place() {
    let env = Env::new("xmpp-failed-over");
    let doc = env.file(
        "bad,1.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1:\n      federationRoute: edge pool.contoso.com\n",
    );
    let out = env.run(&["validate", "-f", &doc, "--output", "github"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let escaped = doc.replace(':', "%3A").replace(',', "%2C");
    assert!(
        stdout.starts_with(&format!(
            "::error file={escaped},line=6,col=24,title=edgefed V2::federationRoute"
        )),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "one line per problem: {stdout}");
    assert!(stdout.contains("%0Ahelp: "), "{stdout}");
    // A valid document prints the usual line; another command refuses the format.
    let ok = env.ok(&["validate", "-f", &example("failback.yaml"), "--output", "github"]);
    assert!(ok.contains(": valid ("), "{ok}");
    let out = env.run(&["plan", "-f", &example("failback.yaml"), "--output", "github"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
}
