//! Exit codes 0 / 1 / 2 / 64, `--check` changes nothing, `-f -`.

use super::support::*;

#[test]
fn exit_codes_follow_the_readme() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    assert_eq!(code(&env.run(&["validate", "-f", &doc])), 0);
    assert_eq!(code(&env.run(&["plan", "-f", &doc])), 0);
    assert_eq!(code(&env.run(&["plan", "-f", &doc, "--detailed-exitcode"])), 2);
    assert_eq!(code(&env.run(&["reconcile", "--check", "-f", &doc])), 2);
    assert_eq!(code(&env.run(&["plan", "--no-such-flag"])), 64);
    assert_eq!(code(&env.run(&["plan"])), 64);
    assert_eq!(code(&env.run(&["frobnicate"])), 64);
    assert_eq!(code(&env.run(&["plan", "-f", "/nonexistent.yaml"])), 1);
    assert_eq!(code(&env.run(&["--help"])), 0);
}

#[test]
fn check_leaves_the_lab_byte_identical() {
    let env = Env::new("xmpp-failed-over");
    let before = std::fs::read(env.lab_path()).unwrap();
    let out = env.run(&["reconcile", "--check", "-f", &example("failback.yaml")]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plan: 17 actions (1 topology publish)."));
    assert_eq!(std::fs::read(env.lab_path()).unwrap(), before);
}

#[test]
fn the_document_can_come_from_stdin() {
    let env = Env::new("xmpp-failed-over");
    let text_in = std::fs::read_to_string(example("failback.yaml")).unwrap();
    let out = env.run_stdin(&["plan", "-f", "-", "--output", "json"], Some(&text_in));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["desired"]["file"], "-");
    assert_eq!(plan["summary"]["actions"], 17);
}

#[test]
fn an_explicit_missing_lab_is_an_error_and_the_default_lab_is_created() {
    let env = Env::new("healthy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(env.path())
        .args(["--lab", "missing.yaml", "observe"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("lab file missing.yaml does not exist"),
        "{}",
        text(&out)
    );
    // With no --lab, the default lab is created in the working directory.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(env.path())
        .args(["plan", "-f", &example("failback.yaml")])
        .env_remove("EDGEFED_LAB")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("created the lab .edgefed/lab.yaml"));
    assert!(env.path().join(".edgefed/lab.yaml").exists());
}

#[test]
fn the_same_inputs_give_a_byte_identical_plan() {
    let env = Env::new("xmpp-failed-over");
    let a = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "json"]);
    let b = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "json"]);
    assert_eq!(a, b);
}

#[test]
fn every_example_validates_and_starts_with_the_modeline() {
    let env = Env::new("healthy");
    for entry in std::fs::read_dir(EXAMPLES).unwrap() {
        let path = entry.unwrap().path();
        // Only the documents: the folders hold deployment files (systemd, …).
        if !path.is_file() {
            continue;
        }
        let text_in = std::fs::read_to_string(&path).unwrap();
        assert!(
            text_in.starts_with("# yaml-language-server: $schema=../schemas/edgefed.schema.json\n"),
            "{}",
            path.display()
        );
        let out = env.run(&["validate", "-f", path.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}: {}", path.display(), text(&out));
    }
}

#[test]
fn the_committed_schema_matches_the_generated_one() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/edgefed.schema.json")).unwrap();
    assert_eq!(
        committed,
        edgefed::commands::schema::schema_json(edgefed::cli::SchemaOf::Document),
        "run `edgefed schema --out schemas/edgefed.schema.json`"
    );
}

#[test]
fn bad_global_options_are_usage_errors_before_anything_is_read_or_created() {
    // No --lab: the default lab would be created by a command that runs. A
    // bad option must stop first: exit 64, no lab, and the (missing)
    // document not even read.
    let dir = tempfile::tempdir().expect("temp dir");
    for (args, says) in [
        (
            vec!["--dns-server", "not-an-address"],
            "--dns-server not-an-address: expected HOST:PORT",
        ),
        (
            vec!["--dns-server", "ns1.contoso.com"],
            "--dns-server ns1.contoso.com: expected HOST:PORT",
        ),
        (
            vec!["--resolver", "192.0.2.53"],
            "--resolver 192.0.2.53: expected HOST:PORT",
        ),
        (
            vec!["--ps-timeout", "runsetup=60"],
            "--ps-timeout `runsetup` is not a timeout; known: observe",
        ),
        (
            vec!["--ps-timeout", "run-setup=soon"],
            "--ps-timeout run-setup=soon: expected a duration",
        ),
        (vec!["--ps-timeout", "run-setup"], "expected NAME=DURATION"),
        (
            vec!["--network-timeout", "8d"],
            "--network-timeout 8d: at most 604800 seconds",
        ),
        (vec!["--ps-command", "pwsh 'unclosed"], "--ps-command"),
        (
            vec!["--probes", "real", "--probe-ca-file", "/nonexistent/ca.pem"],
            "--probe-ca-file /nonexistent/ca.pem: cannot read the CA file",
        ),
        (
            vec![
                "--probes",
                "real",
                "--probe-ca-file",
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
            ],
            "Cargo.toml: no CERTIFICATE in the file",
        ),
        (
            vec!["--probe-ca-file", "/nonexistent/ca.pem"],
            "the lab's simulated probes present no certificate; add --probes real",
        ),
    ] {
        for command in [
            vec!["plan", "-f", "/nonexistent/desired.yaml"],
            vec!["reconcile", "-f", "/nonexistent/desired.yaml"],
            vec!["observe"],
        ] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
                .current_dir(dir.path())
                .args(&args)
                .args(&command)
                .env_remove("EDGEFED_LAB")
                .env_remove("EDGEFED_DNS_SERVER")
                .env_remove("EDGEFED_RESOLVER")
                .env_remove("EDGEFED_BACKEND")
                .env_remove("EDGEFED_PROBE_CA_FILE")
                .output()
                .unwrap();
            assert_eq!(code(&out), 64, "{args:?} {command:?}: {}", text(&out));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.starts_with("error: ") && stderr.contains(says),
                "{args:?}: {stderr}"
            );
            assert!(
                std::fs::read_dir(dir.path()).unwrap().next().is_none(),
                "{args:?} {command:?} created {:?}",
                std::fs::read_dir(dir.path()).unwrap().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn a_malformed_tsig_key_in_the_environment_is_a_usage_error_that_keeps_the_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ=";
    for spec in [format!("hmac-md99:edgefed-key:{secret}"), format!("a:b:c:{secret}")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
            .current_dir(dir.path())
            .args([
                "--dns-server",
                "127.0.0.1:53",
                "plan",
                "-f",
                "/nonexistent/desired.yaml",
            ])
            .env("EDGEFED_TSIG_KEY", &spec)
            .env_remove("EDGEFED_TSIG_KEY_FILE")
            .env_remove("EDGEFED_LAB")
            .env_remove("EDGEFED_BACKEND")
            .output()
            .unwrap();
        assert_eq!(code(&out), 64, "{spec}: {}", text(&out));
        assert!(text(&out).contains("EDGEFED_TSIG_KEY"), "{}", text(&out));
        assert!(!text(&out).contains(secret), "{}", text(&out));
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
