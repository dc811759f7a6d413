//! Output formats and colour.

use super::support::*;

#[test]
fn markdown_and_powershell_renderings_of_the_seed_plan() {
    let env = Env::new("xmpp-failed-over");
    let md = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "markdown"]);
    assert!(
        md.contains("| `/sites/Site1/xmppFederationRoute` | edgepool2.contoso.com | edgepool1.contoso.com |"),
        "{md}"
    );
    assert!(md.contains("**Plan: 17 actions (1 topology publish).**"), "{md}");
    let ps = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "powershell"]);
    assert!(ps.contains("Publish-CsTopology -FileName"), "{ps}");
    assert!(ps.contains("-XmppFederationRoute"), "{ps}");
    // Only comments may mention the parameter that does not exist.
    assert!(
        ps.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .all(|l| !l.contains("XmppExternalFederationRoute")),
        "{ps}"
    );
    assert!(
        ps.contains("Invoke-CsPoolFailBack -PoolFqdn 'fepool3.contoso.com'"),
        "{ps}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let env = Env::new("xmpp-failed-over");
    let plain = env.ok(&["plan", "-f", &example("failback.yaml")]);
    assert!(!plain.contains('\u{1b}'), "piped output must be plain");
    let coloured = env.ok(&["--color", "always", "plan", "-f", &example("failback.yaml")]);
    assert!(coloured.contains("\u{1b}["), "--color always must colour");
    let never = std::process::Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .args([
            "--lab",
            env.lab_path().to_str().unwrap(),
            "--color",
            "never",
            "plan",
            "-f",
            &example("failback.yaml"),
        ])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains('\u{1b}'));
}

#[test]
fn stdout_carries_only_the_requested_output() {
    let env = Env::new("xmpp-failed-over");
    // The plan JSON must parse as a whole: no notes or logs mixed in.
    let out = env.run(&["-v", "plan", "-f", &example("failback.yaml"), "--output", "json"]);
    assert_eq!(code(&out), 0);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is exactly the JSON document");
}

#[test]
fn reconcile_check_prints_every_format_plan_prints_with_the_check_exit_codes() {
    let env = Env::new("xmpp-failed-over");
    let doc = example("failback.yaml");
    for format in ["human", "json", "markdown", "powershell"] {
        let check = env.run(&["reconcile", "--check", "-f", &doc, "--output", format]);
        assert_eq!(code(&check), 2, "drift, {format}:\n{}", text(&check));
        let plan = env.ok(&["plan", "-f", &doc, "--output", format]);
        assert_eq!(String::from_utf8_lossy(&check.stdout), plan, "{format}");
    }
    let yaml = env.run(&["reconcile", "--check", "-f", &doc, "--output", "yaml"]);
    assert_eq!(code(&yaml), 64, "{}", text(&yaml));
    assert!(
        String::from_utf8_lossy(&yaml.stderr)
            .contains("`reconcile --check` prints human, json, markdown or powershell"),
        "{}",
        text(&yaml)
    );
    let apply = env.run(&["reconcile", "-f", &doc, "--output", "markdown"]);
    assert_eq!(code(&apply), 64, "{}", text(&apply));
    assert!(
        String::from_utf8_lossy(&apply.stderr).contains("`reconcile --check` and `plan` also print markdown"),
        "{}",
        text(&apply)
    );

    let healthy = Env::new("healthy");
    for format in ["human", "json", "markdown", "powershell"] {
        let out = healthy.run(&[
            "reconcile",
            "--check",
            "-f",
            &example("multi-site.yaml"),
            "--output",
            format,
        ]);
        assert_eq!(code(&out), 0, "in sync, {format}:\n{}", text(&out));
        assert!(!out.stdout.is_empty(), "{format}");
    }
}

#[test]
fn schema_prints_json_or_yaml_and_refuses_the_rest() {
    let env = Env::new("healthy");
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["schema"])).expect("json");
    assert_eq!(env.ok(&["schema", "--output", "json"]), env.ok(&["schema"]));
    let yaml = env.ok(&["schema", "--output", "yaml"]);
    assert!(!yaml.trim_start().starts_with('{'), "{yaml}");
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).expect("yaml");
    assert_eq!(from_yaml, json);
    for format in ["human", "markdown", "powershell"] {
        let out = env.run(&["schema", "--output", format]);
        assert_eq!(code(&out), 64, "{format}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("`schema` prints json or yaml, not {format}")),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn output_with_a_command_that_prints_nothing_to_format_is_a_usage_error() {
    let env = Env::new("healthy");
    let topology = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/topology/two-sites.xml");
    let before = std::fs::read(env.lab_path()).expect("lab");
    for (args, command) in [
        (vec!["lab", "fail", "edgepool1.contoso.com"], "lab fail"),
        (vec!["lab", "restore", "edgepool1.contoso.com"], "lab restore"),
        (vec!["lab", "init", "--force"], "lab init"),
        (
            vec![
                "topology",
                "edit",
                topology,
                "--enable-sip-federation",
                "edgepool2.contoso.com",
            ],
            "topology edit",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--output", "json"]);
        let out = env.run(&all);
        assert_eq!(code(&out), 64, "{command}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("`{command}` has no output to format")),
            "{}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read(env.lab_path()).expect("lab"), before, "nothing changed");
    let out = env.run(&["lab", "show", "--output", "markdown"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`lab show` prints human, yaml or json, not markdown"),
        "{}",
        text(&out)
    );
}

#[test]
fn file_outputs_are_out_everywhere_and_o_is_not_an_option() {
    let env = Env::new("healthy");
    let topology = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/topology/two-sites.xml");
    let edit = [
        "topology",
        "edit",
        topology,
        "--enable-sip-federation",
        "edgepool2.contoso.com",
    ];
    let mut with_out = edit.to_vec();
    with_out.extend(["--out", "edited.xml"]);
    env.ok(&with_out);
    assert!(env.path().join("edited.xml").exists());
    let mut with_o = edit.to_vec();
    with_o.extend(["-o", "other.xml"]);
    let out = env.run(&with_o);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(!env.path().join("other.xml").exists());
    env.ok(&["schema", "--out", "schema.json"]);
    env.ok(&["plan", "-f", &example("multi-site.yaml"), "--out", "plan.json"]);
    assert!(env.path().join("schema.json").exists() && env.path().join("plan.json").exists());
}
