//! Output formats and colour.

use super::support::*;

#[test]
fn markdown_and_powershell_renderings_of_the_seed_plan() {
    let env = Env::new("xmpp-failed-over");
    let md = env.ok(&["plan", "-f", &example("failback.yaml"), "--output", "markdown"]);
    assert!(
        md.contains("| `sites.Site1.xmppFederationRoute` | edgepool2.contoso.com | edgepool1.contoso.com |"),
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
