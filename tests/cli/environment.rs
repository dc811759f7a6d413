//! An environment variable set to the empty string counts as unset.

use std::process::{Command, Output, Stdio};

use super::support::*;

fn run_with(env: &Env, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgefed"));
    cmd.current_dir(env.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in [
        "EDGEFED_BACKEND",
        "EDGEFED_LAB",
        "EDGEFED_DNS_SERVER",
        "EDGEFED_RESOLVER",
        "EDGEFED_PROBE_CA_FILE",
        "EDGEFED_LOCK",
        "EDGEFED_PS_COMMAND",
        "EDGEFED_TSIG_KEY",
        "EDGEFED_TSIG_KEY_FILE",
    ] {
        cmd.env_remove(name);
    }
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd.output().expect("spawn edgefed")
}

#[test]
fn every_empty_edgefed_variable_behaves_as_unset() {
    let env = Env::new("healthy");
    let lab = env.lab_path();
    let lab = lab.to_str().expect("utf-8");
    let unset = run_with(&env, &[], &["--lab", lab, "lab", "show"]);
    assert_eq!(code(&unset), 0, "{}", text(&unset));
    for name in [
        "EDGEFED_BACKEND",
        "EDGEFED_LAB",
        "EDGEFED_DNS_SERVER",
        "EDGEFED_RESOLVER",
        "EDGEFED_PROBE_CA_FILE",
        "EDGEFED_LOCK",
        "EDGEFED_TSIG_KEY",
        "EDGEFED_TSIG_KEY_FILE",
    ] {
        let out = run_with(&env, &[(name, "")], &["--lab", lab, "lab", "show"]);
        assert_eq!(code(&out), 0, "{name}= :\n{}", text(&out));
        assert_eq!(out.stdout, unset.stdout, "{name}=");
    }
}

#[test]
fn an_empty_lab_variable_means_the_default_lab() {
    let env = Env::new("healthy");
    // No --lab: the default `.edgefed/lab.yaml` in the working folder, not
    // an error about an empty path.
    let out = run_with(&env, &[("EDGEFED_LAB", "")], &["lab", "show"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lab file .edgefed/lab.yaml does not exist"),
        "{}",
        text(&out)
    );
    let out = run_with(&env, &[("EDGEFED_LAB", "")], &["lab", "init"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(env.path().join(".edgefed/lab.yaml").exists(), "{}", text(&out));
    let out = run_with(&env, &[("EDGEFED_LAB", "")], &["lab", "show"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn an_empty_backend_variable_means_the_lab_and_a_set_one_still_counts() {
    let env = Env::new("healthy");
    let lab = env.lab_path();
    let lab = lab.to_str().expect("utf-8");
    let out = run_with(
        &env,
        &[("EDGEFED_BACKEND", "")],
        &["--lab", lab, "observe", "--output", "json"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    // A non-empty value is still read (and still checked).
    let out = run_with(&env, &[("EDGEFED_BACKEND", "nonsense")], &["--lab", lab, "observe"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    let out = run_with(&env, &[("EDGEFED_DNS_SERVER", "nowhere")], &["--lab", lab, "observe"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
}

#[test]
fn an_empty_ps_command_variable_means_the_default_launcher() {
    let env = Env::new("healthy");
    let out = run_with(
        &env,
        &[("EDGEFED_PS_COMMAND", "")],
        &["--backend", "powershell", "--resolver", "127.0.0.1:9", "observe"],
    );
    // The default launcher (`pwsh …`) is tried, not refused as empty.
    assert_ne!(code(&out), 64, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pwsh"), "{}", text(&out));
}
