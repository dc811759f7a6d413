//! Friendlier flags: durations in human form, the global options under
//! their own help heading, one exit code for every wrong pool argument.

use super::support::*;

#[test]
fn durations_take_seconds_or_a_human_form_and_are_bounded() {
    let env = Env::new("healthy");
    let doc = example("failback.yaml");
    for ok in ["5", "5s", "1m", "1h 30m", "7days"] {
        let out = env.run(&["--network-timeout", ok, "plan", "-f", &doc]);
        assert_eq!(code(&out), 0, "--network-timeout {ok}: {}", text(&out));
    }
    for ok in ["services=2m", "run-setup=3600", "replication-poll=15s"] {
        let out = env.run(&["--ps-timeout", ok, "validate", "-f", &doc]);
        assert_eq!(code(&out), 0, "--ps-timeout {ok}: {}", text(&out));
    }
    for (args, expected) in [
        (
            vec!["--network-timeout", "soon"],
            "--network-timeout soon: expected a duration, e.g. 30 (seconds), 5s",
        ),
        (
            vec!["--network-timeout", "8days"],
            "--network-timeout 8days: at most 604800 seconds (7 days)",
        ),
        (
            vec!["--ps-timeout", "services=2 fortnights"],
            "--ps-timeout services=2 fortnights: expected a duration",
        ),
        (
            vec!["--ps-timeout", "services=8d"],
            "--ps-timeout services=8d: at most 604800 seconds",
        ),
        (
            vec!["--ps-timeout", "services"],
            "--ps-timeout services: expected NAME=DURATION",
        ),
        (
            vec!["--ps-timeout", "servces=2m"],
            "`servces` is not a timeout; known: observe",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["validate", "-f", &doc]);
        let out = env.run(&all);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn global_options_have_their_own_heading_after_the_command_options() {
    let env = Env::new("healthy");
    let help = env.ok(&["schema", "-h"]);
    let own = help.find("--out <FILE>").expect("schema's own option");
    let heading = help.find("Global options:").expect("a Global options heading");
    let backend = help.find("--backend <BACKEND>").expect("a global option");
    assert!(own < heading && heading < backend, "{help}");
    let plan = env.ok(&["plan", "--help"]);
    let heading = plan.find("Global options:").expect("heading in plan --help");
    assert!(plan.find("--detailed-exitcode").expect("own") < heading, "{plan}");
    assert!(
        heading < plan.find("--network-timeout <DURATION>").expect("global"),
        "{plan}"
    );
}

#[test]
fn an_unknown_pool_and_a_malformed_fqdn_get_the_same_exit_code() {
    let env = Env::new("healthy");
    for command in ["fail", "restore"] {
        let unknown = env.run(&["lab", command, "edgepool9.contoso.com"]);
        let malformed = env.run(&["lab", command, "not a name"]);
        assert_eq!(code(&unknown), 64, "{}", text(&unknown));
        assert_eq!(code(&malformed), 64, "{}", text(&malformed));
        assert!(
            String::from_utf8_lossy(&unknown.stderr).contains("edgepool1.contoso.com"),
            "the known pools are listed: {}",
            text(&unknown)
        );
    }
}

#[test]
fn the_launcher_can_be_given_as_a_json_array_of_words() {
    use edgefed::backend::lab::Scenario;
    let double = super::backends::Double::of(Scenario::Healthy);
    let program = env!("CARGO_BIN_EXE_edgefed-shell-double");
    let words = serde_json::to_string(&[program]).expect("JSON");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(double.dir.path())
        .args(["--backend", "powershell", "--ps-command", &words, "observe"])
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_EDGE_CREDENTIAL_FILE")
        .env("EDGEFED_SHELL_DOUBLE_STATE", double.dir.path().join("state.json"))
        .output()
        .expect("run edgefed");
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("edgepool1.contoso.com"));

    let env = Env::new("healthy");
    let out = env.run(&[
        "--ps-command",
        r#"["pwsh", 5]"#,
        "validate",
        "-f",
        &example("failback.yaml"),
    ]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("JSON array of strings"),
        "{}",
        text(&out)
    );
}
