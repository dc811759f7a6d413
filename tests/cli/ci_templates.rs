//! The CI templates in `examples/ci/`: each template's `edgefed …` lines,
//! read from the YAML (every `run:`, `script:` and `bash:` step), are run
//! against a lab in a folder holding `federation.yaml`, with the lab
//! backend set through the environment (`EDGEFED_BACKEND=lab`,
//! `EDGEFED_LAB`) as a CI system's variables would set the real one. The
//! commands that post the plan (`gh`, `curl`, `jq`) need a CI system and a
//! token: they are not run; the test only checks they post `plan.md`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::support::{EXAMPLES, example};

/// Every line of every script step, in document order.
fn script_lines(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if matches!(key.as_str(), "run" | "script" | "bash") {
                    let texts: Vec<&str> = match v {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                        _ => Vec::new(),
                    };
                    out.extend(texts.iter().flat_map(|t| t.lines()).map(|l| l.trim().to_string()));
                } else {
                    script_lines(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| script_lines(v, out)),
        _ => {}
    }
}

/// Runs one `edgefed …` line in `dir`; `> FILE` sends stdout to the file.
fn run_line(dir: &Path, line: &str) -> i32 {
    let words = shell_words::split(line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
    let (args, redirect) = match words.iter().position(|w| w == ">") {
        Some(i) => (&words[1..i], words.get(i + 1)),
        None => (&words[1..], None),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(dir)
        .args(args)
        .env("EDGEFED_BACKEND", "lab")
        .env("EDGEFED_LAB", dir.join("lab.yaml"))
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_PS_COMMAND")
        .env_remove("EDGEFED_DNS_SERVER")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run edgefed");
    if let Some(file) = redirect {
        std::fs::write(dir.join(file), &out.stdout).expect("write redirect");
    }
    assert!(
        out.status.code() != Some(64),
        "`{line}` is a usage error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code().unwrap_or(-1)
}

fn check_template(name: &str, posting: &[&str]) {
    let text = std::fs::read_to_string(format!("{EXAMPLES}/ci/{name}")).expect("template");
    let yaml: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"));
    let mut lines = Vec::new();
    script_lines(&yaml, &mut lines);
    // The JSON value orders a mapping's keys, so jobs come alphabetically:
    // put the commands in the order a pull request and a schedule run them.
    let mut commands: Vec<&String> = lines.iter().filter(|l| l.starts_with("edgefed ")).collect();
    let rank = |l: &str| {
        ["validate", "plan", "reconcile"]
            .iter()
            .position(|c| l.split_whitespace().nth(1) == Some(c))
    };
    commands.sort_by_key(|l| rank(l));
    let subcommands: Vec<Option<usize>> = commands.iter().map(|l| rank(l)).collect();
    assert_eq!(
        subcommands,
        [Some(0), Some(1), Some(2)],
        "{name}: validate, plan and reconcile, once each: {commands:?}"
    );
    assert!(
        commands[1].contains("--output markdown > plan.md"),
        "{name}: {}",
        commands[1]
    );
    assert!(commands[2].contains("--check"), "{name}: {}", commands[2]);
    let script = lines.join("\n");
    for needle in posting {
        assert!(script.contains(needle), "{name} does not post the plan with `{needle}`");
    }

    // Drifted: validate 0, plan 0 with a markdown plan, check 2.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(example("failback.yaml"), dir.path().join("federation.yaml")).expect("document");
    assert_eq!(run_line(dir.path(), "edgefed lab init --scenario xmpp-failed-over"), 0);
    let codes: Vec<i32> = commands.iter().map(|l| run_line(dir.path(), l)).collect();
    assert_eq!(codes, [0, 0, 2], "{name}: {commands:?}");
    let plan = std::fs::read_to_string(dir.path().join("plan.md")).expect("plan.md");
    assert!(plan.contains("17 actions"), "{name}: {plan}");

    // In sync: the scheduled check passes.
    assert_eq!(run_line(dir.path(), "edgefed reconcile -f federation.yaml"), 0);
    assert_eq!(run_line(dir.path(), commands[2]), 0, "{name}: in sync");
}

#[test]
fn github_actions_template_runs_against_a_lab() {
    check_template(
        "github-actions.yml",
        &["gh pr comment \"${{ github.event.pull_request.number }}\" --body-file plan.md"],
    );
}

#[test]
fn gitlab_ci_template_runs_against_a_lab() {
    check_template(
        "gitlab-ci.yml",
        &[
            "--data-urlencode \"body@plan.md\"",
            "/merge_requests/$CI_MERGE_REQUEST_IID/notes",
        ],
    );
}

#[test]
fn azure_pipelines_template_runs_against_a_lab() {
    check_template(
        "azure-pipelines.yml",
        &[
            "jq -n --rawfile body plan.md",
            "/pullRequests/$(System.PullRequest.PullRequestId)/threads?api-version=7.1",
            "Authorization: Bearer $SYSTEM_ACCESSTOKEN",
        ],
    );
}
