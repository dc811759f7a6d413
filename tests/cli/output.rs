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
