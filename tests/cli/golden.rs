//! Golden outputs: every example planned against every built-in scenario,
//! and a generated 1,000-site estate, in every plan format. A change to the
//! planner, the renderers or the runbook that alters what users see fails
//! here; an intended change is blessed with `EDGEFED_BLESS=1 cargo test
//! golden` and reviewed in the diff of `tests/golden/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

pub(crate) use crate::estate;

const SCENARIOS: [&str; 3] = ["xmpp-failed-over", "healthy", "edge-down"];
const FORMATS: [&str; 4] = ["human", "markdown", "powershell", "json"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

/// `edgefed --lab LAB ARGS` from the repository root; the exit code and stdout.
fn run(lab: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(root())
        .arg("--lab")
        .arg(lab)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_LAB")
        .env_remove("EDGEFED_BACKEND")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run edgefed");
    format!(
        "exit {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// Compares `actual` with the golden file `name`, or writes it when blessing.
/// Returns a description of the mismatch, if any.
fn check(name: &str, actual: &str) -> Option<String> {
    let path = golden_dir().join(name);
    if std::env::var_os("EDGEFED_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
        std::fs::write(&path, actual).expect("write golden");
        return None;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&expected, actual)
        .unified_diff()
        .header(name, "actual")
        .to_string();
    Some(diff)
}

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_plans_as_the_golden_output_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let lab = dir.path().join(format!("{scenario}.yaml"));
        let init = run(&lab, &["lab", "init", "--scenario", scenario]);
        assert!(init.starts_with("exit 0"), "lab init {scenario}: {init}");
        for example in examples() {
            let doc = format!("examples/{example}");
            let stem = example.trim_end_matches(".yaml");
            for format in FORMATS {
                let actual = run(&lab, &["plan", "-f", &doc, "--output", format]);
                let name = format!("{scenario}/{stem}.{format}.txt");
                failures.extend(check(&name, &actual));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden outputs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_generated_1000_site_plan_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lab = dir.path().join("lab.yaml");
    let doc = dir.path().join("desired.yaml");
    std::fs::write(&lab, estate::lab_yaml(1_000)).expect("write lab");
    std::fs::write(&doc, estate::desired_yaml(1_000)).expect("write document");
    let doc = doc.to_string_lossy().into_owned();
    let mut failures = Vec::new();
    for format in FORMATS {
        let actual = run(&lab, &["plan", "-f", &doc, "--output", format]);
        // The JSON names the document's temporary path: compare it without.
        let actual = actual.replace(&doc, "desired.yaml");
        let digest = hex::encode(Sha256::digest(actual.as_bytes()));
        let summary = format!("{} bytes, sha256 {digest}\n", actual.len());
        failures.extend(check(&format!("estate-1000/plan.{format}.sha256"), &summary));
    }
    assert!(
        failures.is_empty(),
        "{} golden outputs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
