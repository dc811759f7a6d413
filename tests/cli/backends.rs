//! End-to-end through the binary with the other systems: the PowerShell
//! backend (through the Management Shell test double) and real DNS (BIND).
//!
//! Everything here talks only to loopback: BIND and Prosody are started on
//! 127.0.0.0/8, and before any reconcile that could probe, the plan is
//! checked to probe nothing but loopback addresses.

use super::servers;

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use edgefed::backend::lab::{LabFile, Scenario};
use edgefed::model::Fqdn;
use serde_json::{Value, json};

use super::support::{Env, SEED_STEPS, code, example, steps, text};
use servers::{Bind, need};

const EDGEFED: &str = env!("CARGO_BIN_EXE_edgefed");
const DOUBLE: &str = env!("CARGO_BIN_EXE_edgefed-shell-double");
const DNS_TOOLS: &[&str] = &["named", "tsig-keygen", "dig", "nsupdate"];

/// The environment variables that would change what edgefed talks to.
const EDGEFED_VARS: &[&str] = &[
    "EDGEFED_LAB",
    "EDGEFED_BACKEND",
    "EDGEFED_PS_COMMAND",
    "EDGEFED_EDGE_CREDENTIAL_FILE",
    "EDGEFED_DNS_SERVER",
    "EDGEFED_TSIG_KEY",
    "EDGEFED_TSIG_KEY_FILE",
    "EDGEFED_RESOLVER",
    "RUST_LOG",
];

/// Runs `edgefed ARGS` in `dir` with only the given EDGEFED_* variables.
/// Runs edgefed; a reconcile that applies is approved (`--yes`): these
/// tests have no terminal. [`edgefed_unapproved`] leaves that out.
fn edgefed(dir: &Path, args: &[&str], envs: &[(&str, &OsStr)]) -> Output {
    let mut all = args.to_vec();
    if args.contains(&"reconcile") && !args.contains(&"--check") {
        all.push("--yes");
    }
    edgefed_unapproved(dir, &all, envs)
}

/// Runs edgefed with exactly `args`, stdin not a terminal.
fn edgefed_unapproved(dir: &Path, args: &[&str], envs: &[(&str, &OsStr)]) -> Output {
    let mut cmd = Command::new(EDGEFED);
    cmd.current_dir(dir).args(args).env("NO_COLOR", "1");
    for v in EDGEFED_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run edgefed")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(out)))
}

/// The action of `plan` whose `steps` line is `step`.
fn action<'a>(plan: &'a Value, step: &str) -> &'a Value {
    let i = steps(plan)
        .iter()
        .position(|s| s == step)
        .unwrap_or_else(|| panic!("no `{step}` in {:?}", steps(plan)));
    &plan["actions"][i]
}

fn id(plan: &Value, step: &str) -> u64 {
    action(plan, step)["id"].as_u64().expect("id")
}

/// `reconcile --output json`'s result for action `id`.
fn result(doc: &Value, id: u64) -> &Value {
    doc["apply"]["results"]
        .as_array()
        .expect("apply.results")
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for #{id}"))
}

/// Fails the test unless every port probe in `plan` goes to loopback: no
/// reconcile here may probe anything else.
fn assert_probes_only_loopback(plan: &Value) {
    for a in plan["actions"].as_array().expect("actions") {
        if a["kind"] == "verify-port" {
            let addr: std::net::IpAddr = a["address"].as_str().expect("address").parse().unwrap();
            assert!(addr.is_loopback(), "the plan would probe {addr}: {a}");
        }
    }
}

/// Fails the test unless every `verify-port` depends on a DNS action (which
/// fails in manual-DNS mode, so the probe of a non-loopback address is never
/// attempted).
fn assert_every_probe_waits_for_dns(plan: &Value) {
    let actions = plan["actions"].as_array().expect("actions");
    for a in actions {
        if a["kind"] != "verify-port" {
            continue;
        }
        let after_dns = a["dependsOn"].as_array().expect("dependsOn").iter().any(|d| {
            actions
                .iter()
                .any(|b| b["id"] == *d && b["kind"].as_str().is_some_and(|k| k.starts_with("set-dns-")))
        });
        assert!(after_dns, "verify-port does not wait for DNS: {a}");
    }
}

/// The seed's DNS (as the lab has it): SRV records, A records on EdgePool2.
fn seed_xmpp_records(bind: &Bind) {
    bind.nsupdate(
        "zone contoso.com\n\
         update delete xmpp.contoso.com A\n\
         update add xmpp.contoso.com 300 A 203.0.113.20\n\
         update add _xmpp-server._tcp.contoso.com 300 SRV 0 100 5269 xmpp.contoso.com.",
    );
}

fn seed_sip_records(bind: &Bind) {
    bind.nsupdate(
        "zone contoso.com\n\
         update add sip.contoso.com 300 A 203.0.113.20\n\
         update add _sipfederationtls._tcp.contoso.com 300 SRV 0 100 5061 sip.contoso.com.",
    );
}

/// BIND serving `contoso.com`, ready for updates.
fn contoso_bind() -> Bind {
    Bind::start(&["contoso.com".to_string()])
}

/// BIND for `contoso.com` holding the seed's XMPP and SIP federation records.
fn seeded_contoso_bind() -> Bind {
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    seed_sip_records(&bind);
    bind
}

/// The TSIG secret in a `tsig-keygen` file.
fn secret_of(key_file: &Path) -> String {
    let text = std::fs::read_to_string(key_file).expect("key file");
    let secret = text.split('"').nth(3).expect("secret").to_string();
    assert!(secret.len() >= 40, "{secret}");
    secret
}

// ---------------------------------------------------------------------------
// PowerShell backend, through the Management Shell double

/// A state file for `edgefed-shell-double` and a folder to run edgefed in.
pub(crate) struct Double {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) state: PathBuf,
}

impl Double {
    /// The seed's starting point: the `xmpp-failed-over` lab's topology, as
    /// `tests/powershell.rs` seeds the double (DNS is not Lync's).
    fn seed() -> Self {
        Self::of(Scenario::XmppFailedOver)
    }

    /// A scenario's topology in the double.
    pub(crate) fn of(scenario: Scenario) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state.json");
        let topology = scenario.lab().expect("scenario").topology;
        let st = json!({ "deployment": topology, "version": 7, "replicationLagPolls": 2 });
        std::fs::write(&state, serde_json::to_vec_pretty(&st).unwrap()).expect("state");
        // The double's Edge servers are in a workgroup: reached with a local
        // administrator's credential.
        std::fs::write(dir.path().join("edge-credential.txt"), "EDGE\\edgeadmin\nS3cr3t\n").expect("credential");
        Self { dir, state }
    }

    /// The seed's history as edgefed recorded it: edgefed itself failed
    /// fepool3 over (Lync has no documented way to read that state back, so
    /// only a recorded failover is failed back).
    fn seed_with_recorded_failover() -> Self {
        let d = Self::seed();
        let dir = d.dir.path().join(".edgefed/backups");
        std::fs::create_dir_all(&dir).expect("backup dir");
        std::fs::write(
            dir.join("pool-failovers.json"),
            r#"{ "formatVersion": 1, "pools": { "fepool3.contoso.com": true } }"#,
        )
        .expect("failover record");
        d
    }

    /// `edgefed --backend powershell --ps-command DOUBLE ARGS`.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--backend", "powershell", "--ps-command", DOUBLE];
        all.extend_from_slice(args);
        let credential = self.dir.path().join("edge-credential.txt");
        edgefed(
            self.dir.path(),
            &all,
            &[
                ("EDGEFED_SHELL_DOUBLE_STATE", self.state.as_os_str()),
                ("EDGEFED_EDGE_CREDENTIAL_FILE", credential.as_os_str()),
            ],
        )
    }

    /// [`Double::run`] without the approval (`--yes`) that `run` gives a reconcile.
    pub(crate) fn run_unapproved(&self, args: &[&str]) -> Output {
        let mut all = vec!["--backend", "powershell", "--ps-command", DOUBLE];
        all.extend_from_slice(args);
        let credential = self.dir.path().join("edge-credential.txt");
        edgefed_unapproved(
            self.dir.path(),
            &all,
            &[
                ("EDGEFED_SHELL_DOUBLE_STATE", self.state.as_os_str()),
                ("EDGEFED_EDGE_CREDENTIAL_FILE", credential.as_os_str()),
            ],
        )
    }

    pub(crate) fn state(&self) -> Value {
        serde_json::from_slice(&std::fs::read(&self.state).expect("state")).expect("state JSON")
    }

    /// What the double changed, one line per cmdlet.
    pub(crate) fn log(&self) -> Vec<String> {
        serde_json::from_value(self.state()["log"].clone()).unwrap_or_default()
    }

    /// Every script the double received, in order.
    pub(crate) fn scripts(&self) -> Vec<String> {
        serde_json::from_value(self.state()["scripts"].clone()).unwrap_or_default()
    }

    /// An example without its `dns:` section and with the port checks off,
    /// written beside the state: Lync's part of the procedure only, so no
    /// DNS server or probe is needed.
    pub(crate) fn lync_only(&self, example_name: &str) -> String {
        let text = std::fs::read_to_string(example(example_name)).expect("example");
        let mut out = String::new();
        let mut in_dns = false;
        for line in text.lines() {
            if line.starts_with("  ") && !line.starts_with("   ") {
                in_dns = line.trim_start().starts_with("dns:");
            }
            if !in_dns {
                out.push_str(&line.replace("ports: true", "ports: false"));
                out.push('\n');
            }
        }
        if !out.contains("ports: false") {
            out.push_str("  verify:\n    ports: false\n");
        }
        assert!(!out.contains("dns:") && !out.contains("ports: true"), "{out}");
        let path = self.dir.path().join(example_name);
        std::fs::write(&path, out).expect("doc");
        path.to_string_lossy().into_owned()
    }
}

/// The first script position (script index, offset in it) of `needle`.
fn first_sent(scripts: &[String], needle: &str) -> Option<(usize, usize)> {
    scripts
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.find(needle).map(|at| (i, at)))
}

#[test]
fn powershell_seed_failback_converges_in_one_reconcile_and_sends_no_topology_write_before_the_publish() {
    // The Lync part of the seed failback (DNS and probes aside) through the
    // Management Shell double, which is as strict as Lync: Set-CsSite and
    // Set-CsEdgeServer write the topology, so one sent between the export and
    // the publish makes edgefed's signature check refuse the publish.
    let double = Double::seed();
    let doc = double.lync_only("failback.yaml");
    let plan = json_of(&double.run(&["plan", "-f", &doc, "--output", "json"]));
    assert_probes_only_loopback(&plan);
    let out = double.run(&["reconcile", "-f", &doc]);
    let scripts = double.scripts();
    let publish = first_sent(&scripts, "Publish-CsTopology -FileName").unwrap_or_else(|| panic!("no publish sent"));
    for write in ["Set-CsSite -Identity", "Set-CsEdgeServer -Identity"] {
        if let Some(at) = first_sent(&scripts, write) {
            assert!(at > publish, "`{write}` sent before the publish:\n{}", scripts[at.0]);
        }
    }
    assert_eq!(code(&out), 0, "{}", text(&out));
    let check = double.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    assert_eq!(double.state()["publishes"], 1);
}

#[test]
fn powershell_reconcile_without_a_terminal_is_refused_unless_approved() {
    let double = Double::of(Scenario::Healthy);
    let doc = double.lync_only("xmpp-failover.yaml");
    // What an observation costs: a plan's round trips.
    let plan = json_of(&double.run(&["plan", "-f", &doc, "--output", "json"]));
    let actions = plan["actions"].as_array().expect("actions").len();
    let observe = double.state()["roundTrips"].as_u64().expect("round trips");
    assert!(observe >= 1);

    // No terminal, no --yes: refused after the observation, nothing sent to change.
    let out = double.run_unapproved(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no terminal to ask on") && err.contains("--yes") && err.contains("nothing was applied"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{actions} action(s) would change the Lync deployment")),
        "{err}"
    );
    assert_eq!(
        double.state()["roundTrips"].as_u64(),
        Some(2 * observe),
        "only the observation was sent"
    );
    assert!(double.log().is_empty(), "{:?}", double.log());

    // A saved plan asks too.
    let out = double.run(&["plan", "-f", &doc, "--out", "plan.json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = double.run_unapproved(&["reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stderr(&out).contains("--yes"), "{}", text(&out));
    assert!(double.log().is_empty(), "{:?}", double.log());

    // --auto-approve (the alias of --yes) applies.
    let out = double.run_unapproved(&["reconcile", "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(double.log().len(), 6, "{:?}", double.log());
    let check = double.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 0, "{}", text(&check));
}

#[test]
fn powershell_a_site_route_that_does_not_stick_fails_the_run_after_verification() {
    // Set-CsSite reports success but changes nothing: every action succeeds,
    // the observation after the run finds the routes unchanged, the run fails.
    let double = Double::of(Scenario::Healthy);
    let doc = double.lync_only("xmpp-failover.yaml");
    let mut st = double.state();
    st["siteSetIgnored"] = json!(true);
    std::fs::write(&double.state, serde_json::to_vec_pretty(&st).unwrap()).expect("state");
    let out = double.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let out_text = stdout(&out);
    assert!(out_text.contains("Verification failed"), "{}", text(&out));
    assert!(
        out_text.contains("/sites/Site1/xmppFederationRoute: \"edgepool1.contoso.com\" → \"edgepool2.contoso.com\""),
        "{}",
        text(&out)
    );
    let check = double.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 2, "{}", text(&check));
}

#[test]
fn powershell_xmpp_failover_without_a_publish_brackets_the_route_change_and_converges() {
    // `healthy`: the XMPP routes move to EdgePool2, which is running; no
    // topology edit, so no publish: stop, route, start.
    let double = Double::of(Scenario::Healthy);
    let doc = double.lync_only("xmpp-failover.yaml");
    let plan = json_of(&double.run(&["plan", "-f", &doc, "--output", "json"]));
    assert_probes_only_loopback(&plan);
    assert_eq!(plan["summary"]["topologyPublishes"], 0, "{plan:#}");
    let out = double.run(&["reconcile", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        double.log(),
        [
            "Stop-CsWindowsService edgeserver2a.contoso.com",
            "Stop-CsWindowsService edgeserver2b.contoso.com",
            "Set-CsSite Site1 -XmppFederationRoute EdgeServer:edgepool2.contoso.com",
            "Set-CsSite Site2 -XmppFederationRoute EdgeServer:edgepool2.contoso.com",
            "Start-CsWindowsService edgeserver2a.contoso.com",
            "Start-CsWindowsService edgeserver2b.contoso.com",
        ]
    );
    assert!(first_sent(&double.scripts(), "Publish-CsTopology").is_none());
    let check = double.run(&["reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&check), 0, "{}", text(&check));
}

#[test]
fn powershell_refuses_an_xmpp_route_to_a_skype_for_business_2019_edge_pool() {
    // Version 8 is Skype for Business Server 2019, which has no XMPP
    // federation: rule P2 says so instead of planning a route Lync would not carry.
    let double = Double::of(Scenario::Healthy);
    let mut st = double.state();
    st["version"] = json!(8);
    std::fs::write(&double.state, serde_json::to_vec_pretty(&st).unwrap()).expect("state");
    let doc = double.lync_only("xmpp-failover.yaml");
    let out = double.run(&["plan", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error[P2]"), "{err}");
    assert!(
        err.contains("runs Skype for Business Server 2019: it has no XMPP federation"),
        "{err}"
    );
    assert!(double.log().is_empty(), "nothing was changed: {:?}", double.log());
}

#[test]
fn a_check_whose_dns_cannot_be_read_fails_instead_of_reporting_drift() {
    // Manual DNS reads the records through a resolver; when nothing answers,
    // the records are unknown, not absent: `--check` exits 1 saying so, where
    // it used to report the missing records as drift (exit 2).
    let double = Double::of(Scenario::Healthy);
    let text_doc = std::fs::read_to_string(example("xmpp-failover.yaml"))
        .expect("example")
        .replace("  dns:", "  verify:\n    ports: false\n  dns:");
    let doc = double.dir.path().join("xmpp-failover-unreadable-dns.yaml");
    std::fs::write(&doc, text_doc).expect("doc");
    let doc = doc.to_string_lossy().into_owned();
    let resolver = format!("127.0.0.1:{}", servers::free_port());
    let check = double.run(&[
        "--resolver",
        &resolver,
        "--network-timeout",
        "1",
        "reconcile",
        "--check",
        "-f",
        &doc,
    ]);
    assert_eq!(code(&check), 1, "{}", text(&check));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("external DNS could not be read"), "{err}");
    assert!(
        err.contains("--check cannot tell whether the managed records drifted"),
        "{err}"
    );
    // `plan` still prints what it saw, with the warning.
    let plan = double.run(&["--resolver", &resolver, "--network-timeout", "1", "plan", "-f", &doc]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("external DNS could not be read"),
        "{}",
        text(&plan)
    );
}

#[test]
fn powershell_xmpp_failover_with_manual_dns_closes_the_bracket_and_leaves_the_pool_running() {
    // No --dns-server: the DNS steps inside the XMPP bracket fail as manual
    // steps. The bracket's closing start waits for them to end, not to
    // succeed, so EdgePool2 (the only pool left) ends the run running.
    let double = Double::of(Scenario::Healthy);
    let text_doc = std::fs::read_to_string(example("xmpp-failover.yaml"))
        .expect("example")
        .replace("  dns:", "  verify:\n    ports: false\n  dns:");
    let doc = double.dir.path().join("xmpp-failover-manual-dns.yaml");
    std::fs::write(&doc, text_doc).expect("doc");
    let doc = doc.to_string_lossy().into_owned();
    // Plain DNS reads go to a loopback port nobody answers on.
    let resolver = format!("127.0.0.1:{}", servers::free_port());
    let out = double.run(&[
        "--resolver",
        &resolver,
        "--network-timeout",
        "1",
        "reconcile",
        "-f",
        &doc,
    ]);
    assert_eq!(
        code(&out),
        1,
        "the manual DNS steps are reported as failed: {}",
        text(&out)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("manual step"), "{report}");
    let deployment = &double.state()["deployment"];
    for server in ["edgeserver2a.contoso.com", "edgeserver2b.contoso.com"] {
        assert_eq!(
            deployment["edgePools"]["edgepool2.contoso.com"]["computers"][server]["services"],
            "running",
            "{server} was left stopped: {}",
            text(&out)
        );
    }
    let log = double.log();
    assert_eq!(
        log.last().map(String::as_str),
        Some("Start-CsWindowsService edgeserver2b.contoso.com"),
        "{log:?}"
    );
}

#[test]
fn powershell_backend_plans_the_seed_failback_and_applies_all_but_the_manual_dns_steps() {
    if !need(DNS_TOOLS) {
        return;
    }
    // The resolver the manual-DNS observation reads: the seed's records.
    let bind = seeded_contoso_bind();
    let resolver = bind.addr().to_string();
    let double = Double::seed_with_recorded_failover();
    let doc = example("failback.yaml");

    // plan: the seed plan, observed through the shell, DNS through plain queries.
    let out = double.run(&["--resolver", &resolver, "plan", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let plan = json_of(&out);
    assert_eq!(steps(&plan), SEED_STEPS);
    assert_eq!(plan["observed"]["backend"], "powershell");
    assert_eq!(plan["summary"]["topologyPublishes"], 1);
    for a in plan["actions"].as_array().unwrap() {
        if a["kind"] == "set-site-xmpp-route" {
            assert_eq!(a["edgePool"], "edgepool1.contoso.com");
        }
    }
    let xmpp_a = id(&plan, "set-dns-a xmpp.contoso.com");
    let sip_a = id(&plan, "set-dns-a sip.contoso.com");
    let warnings = plan["warnings"].to_string();
    for wanted in [
        format!("manual step #{xmpp_a}: in zone contoso.com: xmpp.contoso.com. 300 IN A 203.0.113.10"),
        format!("manual step #{sip_a}: in zone contoso.com: sip.contoso.com. 300 IN A 203.0.113.10"),
    ] {
        assert!(warnings.contains(&wanted), "`{wanted}` not in {warnings}");
    }
    // The observation saw the records the resolver holds (EdgePool2's A).
    assert_eq!(
        action(&plan, "set-dns-a xmpp.contoso.com")["observed"]["addresses"],
        json!(["203.0.113.20"]),
        "{plan:#}"
    );
    // A plan changes nothing: one observation round trip, nothing logged.
    assert_eq!(double.state()["roundTrips"], 1);
    assert!(double.log().is_empty(), "{:?}", double.log());
    // The same warning in the human plan.
    let human = double.run(&["--resolver", &resolver, "plan", "-f", &doc]);
    assert_eq!(code(&human), 0, "{}", text(&human));
    assert!(
        stdout(&human).contains(&format!(
            "manual step #{xmpp_a}: in zone contoso.com: xmpp.contoso.com. 300 IN A 203.0.113.10"
        )),
        "{}",
        text(&human)
    );

    // reconcile: everything Lync does is applied; the DNS steps fail as manual
    // steps naming the exact record; the probes and the failback wait.
    assert_every_probe_waits_for_dns(&plan);
    let out = double.run(&["--resolver", &resolver, "reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let report = stdout(&out);
    assert!(
        report.contains("Applied 12 of 17 actions; 2 failed; 3 not attempted."),
        "{report}"
    );
    for (n, record) in [
        (xmpp_a, "xmpp.contoso.com. 300 IN A 203.0.113.10"),
        (sip_a, "sip.contoso.com. 300 IN A 203.0.113.10"),
    ] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("#{n} ")))
            .unwrap_or_else(|| panic!("no report line for #{n}:\n{report}"));
        assert!(
            line.contains("manual step")
                && line.contains("--dns-server")
                && line.contains(&format!("in zone contoso.com: {record}")),
            "{line}"
        );
    }
    let not_attempted = report
        .split("  not attempted:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no `not attempted` section:\n{report}"));
    for step in [
        "verify-port 203.0.113.10:5061",
        "verify-port 203.0.113.10:5269",
        "invoke-pool-failback fepool3.contoso.com",
    ] {
        let n = id(&plan, step);
        assert!(
            not_attempted
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("#{n} ")) && l.contains("blocked by")),
            "#{n} ({step}) not reported as not attempted:\n{report}"
        );
    }
    // What the Management Shell was asked to do, in order.
    let log = double.log();
    assert_eq!(
        log,
        [
            "Start-CsWindowsService edgeserver1a.contoso.com",
            "Start-CsWindowsService edgeserver1b.contoso.com",
            "Publish-CsTopology",
            "Enable-CsTopology",
            "Set-CsSimpleUrlConfiguration Global",
            "Bootstrapper.exe edgeserver1a.contoso.com (Skype for Business Server 2015\\Deployment\\Bootstrapper.exe)",
            "Bootstrapper.exe edgeserver1b.contoso.com (Skype for Business Server 2015\\Deployment\\Bootstrapper.exe)",
            "Set-CsSite Site1 -FederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site2 -FederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site1 -XmppFederationRoute EdgeServer:edgepool1.contoso.com",
            "Set-CsSite Site2 -XmppFederationRoute EdgeServer:edgepool1.contoso.com",
        ]
    );
    assert!(!log.iter().any(|l| l.contains("XmppExternalFederationRoute")));
    assert!(!stderr(&out).contains("XmppExternalFederationRoute"), "{}", text(&out));
    assert_eq!(double.state()["publishes"], 1, "one publish: {}", double.state());
    // edgefed changed no DNS itself.
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.20"]);
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.20"]);

    // Run again: only what is left — the DNS steps, the probes, the failback.
    let out = double.run(&["--resolver", &resolver, "plan", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let left = json_of(&out);
    // (Whether the probes are planned again is the subject of
    // `a_rerun_after_the_manual_dns_steps_still_verifies_the_ports_before_failing_back`.)
    let left: Vec<String> = steps(&left)
        .into_iter()
        .filter(|s| !s.starts_with("verify-port"))
        .collect();
    assert_eq!(
        left,
        [
            "set-dns-a sip.contoso.com",
            "set-dns-a xmpp.contoso.com",
            "invoke-pool-failback fepool3.contoso.com",
        ]
    );
}

#[test]
fn powershell_runbook_names_the_xmpp_route_parameter_that_exists_and_unreadable_dns_is_a_warning() {
    // A closed loopback port as the resolver: DNS cannot be read.
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.local_addr().expect("addr").to_string()
    };
    let double = Double::seed();
    let out = double.run(&[
        "--resolver",
        &closed,
        "plan",
        "-f",
        &example("failback.yaml"),
        "--output",
        "powershell",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let runbook = stdout(&out);
    for site in ["Site1", "Site2"] {
        let line = format!("Set-CsSite -Identity '{site}' -XmppFederationRoute 'EdgeServer:edgepool1.contoso.com'");
        // One statement of its line (the line also notes the write's time).
        assert!(
            runbook
                .lines()
                .any(|l| l.split("; ").any(|statement| statement == line)),
            "`{line}` missing:\n{runbook}"
        );
    }
    // The non-existent parameter appears only in a comment explaining that.
    for l in runbook.lines().filter(|l| l.contains("XmppExternalFederationRoute")) {
        assert!(l.starts_with('#'), "code line names XmppExternalFederationRoute: {l}");
    }
    // One publish, behind the signature assertion, as the backend sends it.
    let publishes: Vec<&str> = runbook
        .lines()
        .filter(|l| l.contains("Publish-CsTopology -FileName"))
        .collect();
    assert_eq!(publishes.len(), 1, "{runbook}");
    assert!(
        publishes[0].starts_with("Edgefed-AssertSignature $EdgefedSignature; "),
        "{runbook}"
    );
    assert!(runbook.contains("xmpp.contoso.com. 300 IN A 203.0.113.10"), "{runbook}");
    // stdout is the runbook only — the plan's warnings lead it as comments —
    // and the unreadable DNS is a warning on stderr too; the records are
    // treated as absent (the SRV records are planned).
    let first_code = runbook
        .lines()
        .find(|l| !l.starts_with("# WARNING: "))
        .unwrap_or_default();
    assert!(first_code.starts_with("# edgefed runbook"), "{runbook}");
    assert!(
        runbook
            .lines()
            .take_while(|l| l.starts_with("# WARNING: "))
            .any(|l| l.starts_with("# WARNING: external DNS could not be read")),
        "{runbook}"
    );
    assert!(
        stderr(&out).contains("warning: external DNS could not be read") && stderr(&out).contains(&closed),
        "{}",
        text(&out)
    );
    assert!(
        runbook.contains("_xmpp-server._tcp.contoso.com. 300 IN SRV 0 100 5269 xmpp.contoso.com."),
        "{runbook}"
    );
    assert!(double.log().is_empty());
}

#[test]
fn powershell_backend_with_an_rfc2136_server_fails_back_completely() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = seeded_contoso_bind();
    let double = Double::seed_with_recorded_failover();
    // The real probes would go to the seed's public addresses: this document
    // turns them off (probes are covered on loopback below).
    let doc = double.dir.path().join("failback-no-probes.yaml");
    let text_of_doc = std::fs::read_to_string(example("failback.yaml")).expect("example");
    assert!(text_of_doc.contains("ports: true"));
    std::fs::write(&doc, text_of_doc.replace("ports: true", "ports: false")).expect("doc");
    let doc = doc.to_string_lossy().into_owned();
    let server = bind.addr().to_string();
    let key = bind.key_file.to_string_lossy().into_owned();
    let dns = ["--dns-server", server.as_str(), "--tsig-key-file", key.as_str()];

    let out = double.run(&[&dns[..], &["plan", "-f", &doc, "--output", "json"]].concat());
    assert_eq!(code(&out), 0, "{}", text(&out));
    let plan = json_of(&out);
    assert_probes_only_loopback(&plan);
    assert!(!plan["warnings"].to_string().contains("manual step"), "{plan:#}");

    let out = double.run(&[&dns[..], &["reconcile", "-f", &doc]].concat());
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("Applied 15 of 15 actions."), "{}", text(&out));
    let log = double.log();
    assert_eq!(
        log.last().map(String::as_str),
        Some("Invoke-CsPoolFailBack fepool3.contoso.com"),
        "{log:?}"
    );
    assert_eq!(log.iter().filter(|l| l.starts_with("Publish-CsTopology")).count(), 1);
    assert!(!log.iter().any(|l| l.contains("XmppExternalFederationRoute")));
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.10"]);
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.10"]);
    // Converged: a check through the shell and the DNS server is clean.
    let out = double.run(&[&dns[..], &["reconcile", "--check", "-f", &doc]].concat());
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn an_a_update_the_server_ignores_for_a_cname_fails_the_action_naming_the_cname() {
    // sip.contoso.com is an alias: BIND answers NOERROR to the A add and
    // drops it (RFC 2136 §3.4.2.2). edgefed reads the set back, so the
    // action fails naming the CNAME instead of printing "done", and the
    // failback that waits for it is not attempted.
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    bind.nsupdate(
        "zone contoso.com\n\
         update add sip.contoso.com 300 CNAME edge-alias.contoso.net.\n\
         update add _sipfederationtls._tcp.contoso.com 300 SRV 0 100 5061 sip.contoso.com.",
    );
    let double = Double::seed_with_recorded_failover();
    let doc = double.dir.path().join("failback-no-probes.yaml");
    let text_of_doc = std::fs::read_to_string(example("failback.yaml")).expect("example");
    std::fs::write(&doc, text_of_doc.replace("ports: true", "ports: false")).expect("doc");
    let doc = doc.to_string_lossy().into_owned();
    let server = bind.addr().to_string();
    let key = bind.key_file.to_string_lossy().into_owned();
    let dns = ["--dns-server", server.as_str(), "--tsig-key-file", key.as_str()];

    let out = double.run(&[&dns[..], &["plan", "-f", &doc, "--output", "json"]].concat());
    assert_eq!(code(&out), 0, "{}", text(&out));
    let sip_a = id(&json_of(&out), "set-dns-a sip.contoso.com");

    let out = double.run(&[&dns[..], &["reconcile", "-f", &doc]].concat());
    assert_eq!(code(&out), 1, "{}", text(&out));
    let report = stdout(&out);
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("#{sip_a} ")))
        .unwrap_or_else(|| panic!("no report line for #{sip_a}:\n{report}"));
    assert!(
        line.contains(&format!(
            "sip.contoso.com holds a CNAME to edge-alias.contoso.net.; DNS server {server} ignored the A update in zone contoso.com — remove the CNAME"
        )),
        "{line}"
    );
    assert!(
        !report.contains(&format!("#{sip_a} set-dns-a sip.contoso.com: done")),
        "{report}"
    );
    assert!(
        !double.log().iter().any(|l| l.starts_with("Invoke-CsPoolFailBack")),
        "the failback must wait for DNS: {:?}",
        double.log()
    );
    assert_eq!(bind.dig("sip.contoso.com", "CNAME"), ["edge-alias.contoso.net."]);
}

#[test]
fn a_rerun_after_the_manual_dns_steps_still_verifies_the_ports_before_failing_back() {
    // Regression: verify-port used to be planned only when a route moved. After a
    // reconcile whose manual DNS steps failed, the routes have moved already,
    // so the next plan sets the DNS records and fails the Front End pool back
    // with no port check at all: the probes that were "not attempted" were
    // silently lost, and `invoke-pool-failback` ran unverified. Now a changed
    // DNS record, service or setup of the route's pool, or a failback, brings
    // the check back (src/plan/planner/routes.rs).
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = seeded_contoso_bind();
    let resolver = bind.addr().to_string();
    let double = Double::seed_with_recorded_failover();
    let doc = example("failback.yaml");
    let first = double.run(&["--resolver", &resolver, "plan", "-f", &doc, "--output", "json"]);
    assert_every_probe_waits_for_dns(&json_of(&first));
    let out = double.run(&["--resolver", &resolver, "reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    // The administrator does the manual steps exactly as printed.
    bind.nsupdate(
        "zone contoso.com\n\
         update delete xmpp.contoso.com A\n\
         update add xmpp.contoso.com 300 A 203.0.113.10\n\
         update delete sip.contoso.com A\n\
         update add sip.contoso.com 300 A 203.0.113.10",
    );
    let out = double.run(&["--resolver", &resolver, "plan", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let left = json_of(&out);
    assert_eq!(
        steps(&left),
        [
            "verify-port 203.0.113.10:5061",
            "verify-port 203.0.113.10:5269",
            "invoke-pool-failback fepool3.contoso.com",
        ],
        "the failback must still wait for the port checks that were never made"
    );
}

#[test]
fn powershell_check_and_a_stale_saved_plan_change_nothing_in_the_shell() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = seeded_contoso_bind();
    let resolver = bind.addr().to_string();
    let double = Double::seed();
    let doc = example("failback.yaml");

    // --check: drift is exit 2, and the shell is only observed.
    let out = double.run(&["--resolver", &resolver, "reconcile", "--check", "-f", &doc]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    // 16, not the lab's 17: no Lync cmdlet says whether fepool3 is failed
    // over, and edgefed did not fail it over, so it is not failed back.
    assert!(
        stdout(&out).contains("Plan: 16 actions (1 topology publish)."),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("run Invoke-CsPoolFailBack -PoolFqdn fepool3.contoso.com yourself"),
        "{}",
        text(&out)
    );
    assert_eq!(double.state()["roundTrips"], 1);
    assert!(double.log().is_empty(), "{:?}", double.log());

    // A saved plan, then someone runs Set-CsSite by hand.
    let out = double.run(&["--resolver", &resolver, "plan", "-f", &doc, "--out", "plan.json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let mut st = double.state();
    st["deployment"]["sites"]["Site1"]["xmppFederationRoute"] = json!("edgepool1.contoso.com");
    std::fs::write(&double.state, serde_json::to_vec_pretty(&st).unwrap()).expect("state");
    let out = double.run(&["--resolver", &resolver, "reconcile", "--plan", "plan.json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("is stale") && err.contains("nothing was applied"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("changed:") && l.contains("/sites/Site1/xmppFederationRoute")),
        "{err}"
    );
    assert!(double.log().is_empty(), "{:?}", double.log());
    // Observations only: --check, plan, the stale check.
    assert_eq!(double.state()["roundTrips"], 3);
}

#[test]
fn powershell_backend_refuses_lab_probes_and_a_malformed_dns_server_as_usage_errors() {
    let double = Double::seed();
    let doc = example("failback.yaml");
    let out = double.run(&["--probes", "lab", "plan", "-f", &doc]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(stderr(&out).contains("--probes lab"), "{}", text(&out));
    let out = double.run(&["--dns-server", "not-an-address", "plan", "-f", &doc]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(stderr(&out).contains("--dns-server not-an-address"), "{}", text(&out));
    // Neither reached the shell.
    assert!(double.state()["roundTrips"].as_u64().unwrap_or(0) == 0);
}

#[test]
fn plain_dns_observation_honours_the_network_timeout() {
    // Regression: `--network-timeout` is the bound on each DNS query, but the
    // plain queries of manual-DNS mode used to wait `PLAIN_TIMEOUT` (5 s).
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.local_addr().expect("addr").to_string()
    };
    let double = Double::seed();
    let started = Instant::now();
    let out = double.run(&[
        "--network-timeout",
        "1",
        "--resolver",
        &closed,
        "plan",
        "-f",
        &example("failback.yaml"),
    ]);
    let took = started.elapsed();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stderr(&out).contains("external DNS could not be read"),
        "{}",
        text(&out)
    );
    assert!(
        took < Duration::from_secs(4),
        "plan took {took:?} with --network-timeout 1:\n{}",
        stderr(&out)
    );
}

#[test]
fn plan_as_a_powershell_runbook_still_shows_the_manual_dns_steps() {
    // Regression: with `--output powershell` the plan's warnings — here the
    // manual DNS steps — used to be printed nowhere, and the runbook's DNS
    // comments said edgefed's DNS backend makes the change, which it does not
    // without --dns-server.
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = seeded_contoso_bind();
    let double = Double::seed();
    let out = double.run(&[
        "--resolver",
        &bind.addr().to_string(),
        "plan",
        "-f",
        &example("failback.yaml"),
        "--output",
        "powershell",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("manual step #14: in zone contoso.com: xmpp.contoso.com. 300 IN A 203.0.113.10"),
        "the manual DNS step is not shown:\n{}",
        text(&out)
    );
}

// ---------------------------------------------------------------------------
// Lab backend with a real DNS server (BIND, RFC 2136 + TSIG)

/// `edgefed --lab LAB ARGS` in the lab's folder.
fn lab_run(env: &Env, args: &[&str]) -> Output {
    lab_run_env(env, args, &[])
}

/// `lab_run` with some EDGEFED_* variables set.
fn lab_run_env(env: &Env, args: &[&str], vars: &[(&str, &OsStr)]) -> Output {
    let lab = env.lab_path();
    let mut all = vec!["--lab", lab.to_str().expect("lab path")];
    all.extend_from_slice(args);
    edgefed(env.path(), &all, vars)
}

/// `--dns-server 127.0.0.1:PORT --tsig-key-file KEY`.
fn dns_flags(bind: &Bind, key: &Path) -> Vec<String> {
    vec![
        "--dns-server".into(),
        bind.addr().to_string(),
        "--tsig-key-file".into(),
        key.to_string_lossy().into_owned(),
    ]
}

fn with<'a>(flags: &'a [String], args: &[&'a str]) -> Vec<&'a str> {
    flags.iter().map(String::as_str).chain(args.iter().copied()).collect()
}

#[test]
fn lab_with_bind_moves_the_xmpp_record_home_and_creates_the_sip_records() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.20"]);
    let env = Env::new("xmpp-failed-over");
    let lab_dns_before = env.lab().dns;
    let dns = dns_flags(&bind, &bind.key_file);
    let doc = example("failback.yaml");

    let out = lab_run(&env, &with(&dns, &["plan", "-f", &doc, "--output", "json"]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let plan = json_of(&out);
    let dns_steps: Vec<String> = steps(&plan).into_iter().filter(|s| s.starts_with("set-dns-")).collect();
    // The server's records, not the lab's: the xmpp SRV holds, the SIP ones
    // are missing.
    assert_eq!(
        dns_steps,
        [
            "set-dns-srv _sipfederationtls._tcp.contoso.com",
            "set-dns-a sip.contoso.com",
            "set-dns-a xmpp.contoso.com",
        ]
    );

    let out = lab_run(&env, &with(&dns, &["reconcile", "-f", &doc]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let n = plan["actions"].as_array().unwrap().len();
    assert!(
        stdout(&out).contains(&format!("Applied {n} of {n} actions.")),
        "{}",
        text(&out)
    );
    // An independent resolver sees the restored pool, and the SIP records.
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.10"]);
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.10"]);
    assert_eq!(
        bind.dig("_sipfederationtls._tcp.contoso.com", "SRV"),
        ["0 100 5061 sip.contoso.com."]
    );
    assert_eq!(
        bind.dig("_xmpp-server._tcp.contoso.com", "SRV"),
        ["0 100 5269 xmpp.contoso.com."]
    );
    // The updates went to the server, not to the lab's simulated DNS.
    let lab = env.lab();
    assert_eq!(lab.dns, lab_dns_before);
    assert!(!env.applied().iter().any(|o| o.system() == edgefed::plan::System::Dns));

    let out = lab_run(&env, &with(&dns, &["reconcile", "--check", "-f", &doc]));
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn lab_with_bind_retargets_the_sip_srv_record_and_leaves_the_a_record_unless_told() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    bind.nsupdate(
        "zone contoso.com\n\
         update add sip.contoso.com 300 A 203.0.113.10\n\
         update add sip2.contoso.com 300 A 203.0.113.20\n\
         update add _sipfederationtls._tcp.contoso.com 300 SRV 0 100 5061 sip.contoso.com.",
    );
    let env = Env::new("healthy");
    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let dns = dns_flags(&bind, &bind.key_file);
    let doc = example("sip-failover.yaml");

    let out = lab_run(&env, &with(&dns, &["plan", "-f", &doc, "--output", "json"]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    let dns_steps: Vec<String> = steps(&json_of(&out))
        .into_iter()
        .filter(|s| s.starts_with("set-dns-"))
        .collect();
    assert_eq!(dns_steps, ["set-dns-srv _sipfederationtls._tcp.contoso.com"]);
    let out = lab_run(&env, &with(&dns, &["reconcile", "-f", &doc]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Federated partners now reach EdgePool2 by the name on its own
    // certificate; sip.contoso.com still names EdgePool1.
    assert_eq!(
        bind.dig("_sipfederationtls._tcp.contoso.com", "SRV"),
        ["0 100 5061 sip2.contoso.com."]
    );
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.10"]);
    let out = lab_run(&env, &with(&dns, &["reconcile", "--check", "-f", &doc]));
    assert_eq!(code(&out), 0, "{}", text(&out));

    // Moving the shared host's A record is an explicit choice.
    let moved = env.file(
        "moved.yaml",
        "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  dns:\n    - zone: contoso.com\n      sip: { host: sip.contoso.com, moveAddress: true, ttl: 300 }\n",
    );
    let out = lab_run(&env, &with(&dns, &["reconcile", "-f", &moved]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.20"]);
    assert_eq!(
        bind.dig("_sipfederationtls._tcp.contoso.com", "SRV"),
        ["0 100 5061 sip.contoso.com."]
    );
}

#[test]
fn lab_with_bind_reorders_a_two_pool_xmpp_set_and_never_collapses_it() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    bind.nsupdate(
        "zone contoso.com\n\
         update add _xmpp-server._tcp.contoso.com 300 SRV 10 100 5269 sip.contoso.com.\n\
         update add _xmpp-server._tcp.contoso.com 300 SRV 20 100 5269 sip2.contoso.com.",
    );
    let env = Env::new("healthy");
    let dns = dns_flags(&bind, &bind.key_file);
    let doc_for = |pool: &str| {
        env.file(
            &format!("xmpp-{pool}.yaml"),
            &format!(
                "apiVersion: edgefed/v1\nkind: FederationTopology\nspec:\n  sites:\n    Site1: {{ xmppFederationRoute: {pool} }}\n    Site2: {{ xmppFederationRoute: {pool} }}\n  dns:\n    - zone: contoso.com\n      xmpp: {{ hosts: [sip.contoso.com, sip2.contoso.com], ttl: 300 }}\n"
            ),
        )
    };
    // Already routing to EdgePool1: nothing to do, the set stays as it is.
    let home = doc_for("edgepool1.contoso.com");
    let out = lab_run(&env, &with(&dns, &["reconcile", "--check", "-f", &home]));
    assert_eq!(code(&out), 0, "{}", text(&out));

    env.ok(&["lab", "fail", "edgepool1.contoso.com"]);
    let away = doc_for("edgepool2.contoso.com");
    let out = lab_run(&env, &with(&dns, &["reconcile", "-f", &away]));
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        bind.dig("_xmpp-server._tcp.contoso.com", "SRV"),
        ["10 100 5269 sip2.contoso.com.", "20 100 5269 sip.contoso.com."]
    );
    let out = lab_run(&env, &with(&dns, &["reconcile", "--check", "-f", &away]));
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn lab_with_bind_and_a_wrong_tsig_key_fails_the_dns_actions_and_keeps_the_secret() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    let env = Env::new("xmpp-failed-over");
    // The server's key name, another secret.
    let wrong_secret = "c2VjcmV0LXRoYXQtdGhlLXNlcnZlci1kb2VzLW5vdC1rbm93";
    let wrong = env.file(
        "wrong.key",
        &format!(
            "key \"{}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{wrong_secret}\";\n}};\n",
            servers::KEY_NAME
        ),
    );
    let right_secret = secret_of(&bind.key_file);
    let dns = dns_flags(&bind, Path::new(&wrong));
    let doc = example("failback.yaml");
    let plan = json_of(&lab_run(&env, &with(&dns, &["plan", "-f", &doc, "--output", "json"])));

    let out = lab_run(&env, &with(&dns, &["-vv", "reconcile", "-f", &doc]));
    assert_eq!(code(&out), 1, "{}", text(&out));
    let report = stdout(&out);
    let server = bind.addr().to_string();
    let line = |step: &str| -> String {
        let n = id(&plan, step);
        report
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with(&format!("#{n} ")))
            .unwrap_or_else(|| panic!("no report line for #{n} {step}:\n{report}"))
            .to_string()
    };
    for (step, record) in [
        ("set-dns-a xmpp.contoso.com", "A xmpp.contoso.com"),
        ("set-dns-a sip.contoso.com", "A sip.contoso.com"),
        (
            "set-dns-srv _sipfederationtls._tcp.contoso.com",
            "SRV _sipfederationtls._tcp.contoso.com",
        ),
    ] {
        let l = line(step);
        for part in [server.as_str(), "zone contoso.com", record, "TSIG", servers::KEY_NAME] {
            assert!(l.contains(part), "`{part}` missing from: {l}");
        }
    }
    for step in [
        "verify-port 203.0.113.10:5061",
        "verify-port 203.0.113.10:5269",
        "invoke-pool-failback fepool3.contoso.com",
    ] {
        let l = line(step);
        assert!(l.contains("(blocked by"), "{step}: {l}");
    }
    assert!(
        report.contains(&format!(
            "Applied 12 of {} actions; 3 failed; 3 not attempted.",
            plan["actions"].as_array().unwrap().len()
        )),
        "{report}"
    );
    // Neither secret is shown, even with debug logging.
    for secret in [wrong_secret, right_secret.as_str()] {
        assert!(
            !stdout(&out).contains(secret) && !stderr(&out).contains(secret),
            "secret shown:\n{}",
            text(&out)
        );
    }
    // Nothing changed in DNS; the failback was not made.
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.20"]);
    assert!(bind.dig("sip.contoso.com", "A").is_empty());
    let fe3 = Fqdn::parse("fepool3.contoso.com").unwrap();
    assert!(env.lab().topology.front_end_pools[&fe3].failed_over.is_failed_over());
}

#[test]
fn lab_with_bind_refuses_a_saved_plan_after_a_record_changed_behind_its_back() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    let env = Env::new("xmpp-failed-over");
    let dns = dns_flags(&bind, &bind.key_file);
    let out = lab_run(
        &env,
        &with(&dns, &["plan", "-f", &example("failback.yaml"), "--out", "plan.json"]),
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Someone else moves the XMPP A record.
    bind.nsupdate(
        "zone contoso.com\n\
         update delete xmpp.contoso.com A\n\
         update add xmpp.contoso.com 300 A 203.0.113.7",
    );
    let lab_before = std::fs::read(env.lab_path()).expect("lab");
    let out = lab_run(&env, &with(&dns, &["reconcile", "--plan", "plan.json"]));
    assert_eq!(code(&out), 1, "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("is stale") && err.contains("fingerprint"), "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("changed:") && l.contains("xmpp.contoso.com") && l.contains("203.0.113.7")),
        "{err}"
    );
    assert!(!stdout(&out).contains("Applying"), "{}", text(&out));
    // Nothing applied: neither the lab nor DNS changed.
    assert_eq!(std::fs::read(env.lab_path()).expect("lab"), lab_before);
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.7"]);
    assert!(bind.dig("sip.contoso.com", "A").is_empty());
    assert!(bind.dig("_sipfederationtls._tcp.contoso.com", "SRV").is_empty());
}

// ---------------------------------------------------------------------------
// Real port probes from the lab (--probes real), on loopback

/// The skipping rule for a port we cannot have: skip locally with the
/// reason, fail under `CI=true`.
fn skip(reason: &str) -> bool {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and {reason}");
    eprintln!("skipped: {reason}");
    false
}

/// Whether nothing listens on `ip:port` and we may bind it.
fn port_is_ours(ip: &str, port: u16) -> bool {
    match TcpListener::bind((ip, port)) {
        Ok(_) => true,
        Err(e) => skip(&format!("{ip}:{port} cannot be bound ({e})")),
    }
}

/// A lab from `xmpp-failed-over` whose EdgePool1 answers on `ip`: the probes
/// of the failback go there (and nowhere else, which is checked).
fn lab_with_edgepool1_at(ip: &str) -> Env {
    let env = Env::new("xmpp-failed-over");
    let mut lab: LabFile = env.lab();
    let e1 = Fqdn::parse("edgepool1.contoso.com").unwrap();
    lab.topology
        .edge_pools
        .get_mut(&e1)
        .expect("edgepool1")
        .external_addresses = vec![ip.parse().unwrap()];
    env.set_lab(&lab);
    env
}

/// A TLS listener (self-signed `sip.contoso.com`) on `ip:5061`, served by
/// `rt`; returns how many handshakes it completed.
fn tls_5061(rt: &tokio::runtime::Runtime, ip: &str) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    let addr = SocketAddr::new(ip.parse().expect("loopback address"), 5061);
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind 5061");
        servers::serve_tls(listener, servers::tls_server_config("sip.contoso.com"))
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The reconcile's progress line of action `n`.
fn progress_line(report: &str, n: u64, total: usize) -> String {
    let prefix = format!("[{n:>width$}/{total}]", width = total.to_string().len());
    report
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no progress line {prefix}:\n{report}"))
        .to_string()
}

#[test]
fn real_probes_from_the_lab_report_what_answered_on_5061_and_5269() {
    const IP: &str = "127.0.0.51";
    if !need(&["prosody"]) || !port_is_ours(IP, 5269) || !port_is_ours(IP, 5061) {
        return;
    }
    // failback.yaml points XMPP federation at xmpp.contoso.com: Prosody's
    // certificate (for STARTTLS) covers it.
    let leaf = servers::TestCa::new("Contoso Test CA").issue("contoso.com", &["contoso.com", "xmpp.contoso.com"]);
    let _prosody = servers::Prosody::start_with(IP.parse().expect("loopback"), 5269, "contoso.com", Some(&leaf));
    let rt = runtime();
    let handshakes = tls_5061(&rt, IP);
    let env = lab_with_edgepool1_at(IP);
    let doc = example("failback.yaml");
    let plan = json_of(&lab_run(
        &env,
        &["--probes", "real", "plan", "-f", &doc, "--output", "json"],
    ));
    assert_probes_only_loopback(&plan);
    let total = plan["actions"].as_array().unwrap().len();
    let v5061 = id(&plan, "verify-port 127.0.0.51:5061");
    let v5269 = id(&plan, "verify-port 127.0.0.51:5269");

    let out = lab_run(&env, &["--probes", "real", "reconcile", "-f", &doc]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let report = stdout(&out);
    assert!(
        report.contains(&format!("Applied {total} of {total} actions.")),
        "{report}"
    );
    let xmpp = progress_line(&report, v5269, total);
    assert!(
        xmpp.contains("done")
            && xmpp.contains("XMPP stream header from contoso.com (id=")
            && xmpp.contains("; STARTTLS, TLS 1.")
            && xmpp.contains("SANs DNS:contoso.com DNS:xmpp.contoso.com; covers xmpp.contoso.com; chain not validated"),
        "{xmpp}"
    );
    let tls = progress_line(&report, v5061, total);
    eprintln!("{xmpp}\n{tls}");
    assert!(
        tls.contains("done")
            && tls.contains("TLS")
            && tls.contains("subject CN=sip.contoso.com, SANs DNS:sip.contoso.com; covers sip.contoso.com"),
        "{tls}"
    );
    assert!(handshakes.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // The lab did not simulate the probes: they are not in its log.
    assert!(
        !env.applied()
            .iter()
            .any(|o| matches!(o, edgefed::plan::Operation::VerifyPort { .. })),
        "the lab simulated a probe"
    );
}

#[test]
fn a_refused_real_probe_fails_verify_port_and_the_failback_is_not_attempted() {
    const IP: &str = "127.0.0.52";
    // 5269: nothing listens (checked by binding it, then letting it go).
    if !port_is_ours(IP, 5269) || !port_is_ours(IP, 5061) {
        return;
    }
    let rt = runtime();
    let _handshakes = tls_5061(&rt, IP);
    let env = lab_with_edgepool1_at(IP);
    let doc = example("failback.yaml");
    let plan = json_of(&lab_run(
        &env,
        &["--probes", "real", "plan", "-f", &doc, "--output", "json"],
    ));
    assert_probes_only_loopback(&plan);
    let v5061 = id(&plan, "verify-port 127.0.0.52:5061");
    let v5269 = id(&plan, "verify-port 127.0.0.52:5269");
    let failback = id(&plan, "invoke-pool-failback fepool3.contoso.com");

    let out = lab_run(&env, &["--probes", "real", "reconcile", "-f", &doc, "--output", "json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let doc_out = json_of(&out);
    let refused = result(&doc_out, v5269);
    assert_eq!(refused["status"], "failed", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    eprintln!("verify-port 5269: {message}");
    assert!(
        message.contains("127.0.0.52:5269") && message.contains("connection refused"),
        "{message}"
    );
    assert_eq!(result(&doc_out, v5061)["status"], "applied");
    let fb = result(&doc_out, failback);
    assert_eq!(fb["status"], "not-attempted", "{fb}");
    assert!(fb["blockedBy"].as_array().unwrap().contains(&json!(v5269)), "{fb}");
    assert_eq!(doc_out["apply"]["failed"], 1);
    let fe3 = Fqdn::parse("fepool3.contoso.com").unwrap();
    assert!(env.lab().topology.front_end_pools[&fe3].failed_over.is_failed_over());
}

#[test]
fn lab_with_bind_unsigned_updates_are_refused_then_the_key_from_the_environment_applies_them() {
    if !need(DNS_TOOLS) {
        return;
    }
    let bind = contoso_bind();
    seed_xmpp_records(&bind);
    let env = Env::new("xmpp-failed-over");
    let server = bind.addr().to_string();
    let doc = example("failback.yaml");

    // No key: edgefed warns, BIND's update-policy refuses, the message says
    // which key settings to give.
    let out = lab_run(&env, &["--dns-server", &server, "reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stderr(&out).contains("DNS updates go unsigned"), "{}", text(&out));
    let failed = stdout(&out);
    let failed = failed
        .split("  failed:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no failures:\n{}", text(&out)));
    assert!(
        failed.contains(&format!(
            "DNS server {server} refused the update of A xmpp.contoso.com in zone contoso.com"
        )) && failed.contains("EDGEFED_TSIG_KEY_FILE"),
        "{failed}"
    );
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.20"]);

    // The key as EDGEFED_TSIG_KEY=algorithm:name:secret.
    let secret = secret_of(&bind.key_file);
    let spec = format!("hmac-sha256:{}:{secret}", servers::KEY_NAME);
    let out = lab_run_env(
        &env,
        &["--dns-server", &server, "reconcile", "-f", &doc],
        &[("EDGEFED_TSIG_KEY", OsStr::new(&spec))],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!text(&out).contains(&secret), "{}", text(&out));
    assert_eq!(bind.dig("xmpp.contoso.com", "A"), ["203.0.113.10"]);
    assert_eq!(bind.dig("sip.contoso.com", "A"), ["203.0.113.10"]);
    let fe3 = Fqdn::parse("fepool3.contoso.com").unwrap();
    assert!(!env.lab().topology.front_end_pools[&fe3].failed_over.is_failed_over());
}

#[test]
fn a_rerun_after_a_refused_probe_probes_again_before_failing_back() {
    // Regression, the same cause as
    // `a_rerun_after_the_manual_dns_steps_still_verifies_the_ports_before_failing_back`.
    // verify-port 5269 was refused, so the failback waited — but the routes
    // have moved by then, so the next reconcile planned no probe at all and
    // failed the Front End pool back although nothing was fixed and 5269
    // still refused connections.
    const IP: &str = "127.0.0.53";
    if !port_is_ours(IP, 5269) || !port_is_ours(IP, 5061) {
        return;
    }
    let rt = runtime();
    let _handshakes = tls_5061(&rt, IP);
    let env = lab_with_edgepool1_at(IP);
    let doc = example("failback.yaml");
    let out = lab_run(&env, &["--probes", "real", "reconcile", "-f", &doc]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    // Nothing changed: 5269 still refuses. Run again.
    let plan = json_of(&lab_run(
        &env,
        &["--probes", "real", "plan", "-f", &doc, "--output", "json"],
    ));
    assert_probes_only_loopback(&plan);
    let out = lab_run(&env, &["--probes", "real", "reconcile", "-f", &doc]);
    let fe3 = Fqdn::parse("fepool3.contoso.com").unwrap();
    assert!(
        env.lab().topology.front_end_pools[&fe3].failed_over.is_failed_over(),
        "fepool3 was failed back although 5269 still refuses connections; the plan was {:?}:\n{}",
        steps(&plan),
        text(&out)
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
}
