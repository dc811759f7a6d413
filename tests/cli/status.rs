//! `edgefed status`: the last run from the journal, for people and as JSON.

use edgefed::backend::lab::Fault;
use serde_json::Value;

use super::support::*;

#[test]
fn status_without_a_journal_says_no_run_is_recorded() {
    let env = Env::new("healthy");
    let out = env.ok(&["status"]);
    assert!(out.starts_with("No run is recorded in "), "{out}");
    assert!(out.contains("lab.yaml.journal.ndjson"), "{out}");
    let json: Value = serde_json::from_str(&env.ok(&["status", "--output", "json"])).unwrap();
    assert_eq!(json["lastRun"], Value::Null);
}

#[test]
fn status_shows_a_failed_run_with_who_what_and_its_result() {
    let env = Env::new("xmpp-failed-over");
    env.add_fault(Fault::failing("publish-topology", "CMS unavailable"));
    let doc = example("failback.yaml");
    assert_eq!(code(&env.run(&["reconcile", "-f", &doc])), 1);

    let out = env.ok(&["status"]);
    assert!(out.starts_with("Last run "), "{out}");
    assert!(out.contains(&format!("  document: {doc} (sha256 ")), "{out}");
    assert!(out.contains("  backend:  lab\n"), "{out}");
    assert!(out.contains("  plan:     17 action(s): "), "{out}");
    assert!(out.contains("publish-topology ×1"), "{out}");
    assert!(out.contains("  result:   failed at "), "{out}");
    assert!(out.contains(": 5 applied, 1 failed, 11 not attempted"), "{out}");
    assert!(!out.contains("in flight"), "{out}");

    let json: Value = serde_json::from_str(&env.ok(&["status", "--output", "json"])).unwrap();
    let run = &json["lastRun"];
    assert_eq!(run["state"], "failed");
    assert_eq!(run["document"], doc.as_str());
    assert_eq!(run["failed"], serde_json::json!([6]));
    assert_eq!(run["ended"]["result"], "failed");
    assert_eq!(run["pid"].as_u64().map(|p| p > 0), Some(true));
    assert_eq!(run["inFlight"], serde_json::json!([]));
}

#[test]
fn status_skips_a_truncated_last_line_with_a_note() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    let journal = env.path().join("lab.yaml.journal.ndjson");
    let mut text = std::fs::read_to_string(&journal).unwrap();
    text.push_str("{\"ts\":\"2026-");
    std::fs::write(&journal, text).unwrap();
    let out = env.run(&["status"]);
    assert_eq!(code(&out), 0, "{}", super::support::text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("  result:   complete at "), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a journal record (its last line, cut short"),
        "{stderr}"
    );
}

#[test]
fn journal_chooses_another_file_and_an_unwritable_one_stops_before_applying() {
    let env = Env::new("xmpp-failed-over");
    let elsewhere = env.path().join("runs/edgefed.ndjson");
    let elsewhere = elsewhere.to_str().unwrap();
    env.ok(&["--journal", elsewhere, "reconcile", "-f", &example("failback.yaml")]);
    assert!(!env.path().join("lab.yaml.journal.ndjson").exists());
    let out = env.ok(&["--journal", elsewhere, "status"]);
    assert!(out.contains("  result:   complete at "), "{out}");

    let env = Env::new("xmpp-failed-over");
    env.file("blocker", "a file, not a folder");
    let bad = env.path().join("blocker/journal.ndjson");
    let out = env.run(&[
        "--journal",
        bad.to_str().unwrap(),
        "reconcile",
        "-f",
        &example("failback.yaml"),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create the folder of the run journal"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--journal PATH") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert!(env.applied().is_empty());
}

#[test]
fn status_shows_the_fencing_token_a_leader_applied_under() {
    let env = Env::new("xmpp-failed-over");
    env.ok(&["reconcile", "-f", &example("failback.yaml")]);
    let unfenced = env.ok(&["status"]);
    assert!(!unfenced.contains("fencing token"), "{unfenced}");
    let json: Value = serde_json::from_str(&env.ok(&["status", "--output", "json"])).unwrap();
    assert!(json["lastRun"].get("fencingToken").is_none(), "{json}");
    // A leader's run: every line carries its term's token.
    let journal = env.path().join("lab.yaml.journal.ndjson");
    let text = std::fs::read_to_string(&journal).unwrap();
    let fenced: String = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["fencingToken"] = 42.into();
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&journal, fenced).unwrap();
    let out = env.ok(&["status"]);
    assert!(out.contains("  leader:   applied under fencing token 42\n"), "{out}");
    let json: Value = serde_json::from_str(&env.ok(&["status", "--output", "json"])).unwrap();
    assert_eq!(json["lastRun"]["fencingToken"], 42);
}
