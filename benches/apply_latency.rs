//! Benchmark: how long `apply` takes through the PowerShell backend under
//! the latency model (`edgefed::powershell::latency`), against the least
//! any executor could take (the plan's critical path) and what an
//! administrator following the procedures by hand spends (every action
//! one after another, setup on each server in turn).
//!
//! The shell double sleeps each cmdlet's figure scaled by `SCALE` (so the
//! bench runs in seconds); wall times are reported in model seconds. DNS
//! updates and port probes take no time here (the double is the Lync
//! system only). Cases: the seed failback (lab scenario
//! `xmpp-failed-over`, `examples/failback.yaml`), a 20-site estate (every
//! route and media association moved) and a whole-site outage (scenario
//! `site-down`). Target: wall ≤ 1.05× the critical path.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use edgefed::backend::lab::LabFile;
use edgefed::backend::lab::Scenario;
use edgefed::backend::{Combined, LyncSystem as _};
use edgefed::powershell::latency::plan_times;
use edgefed::powershell::{Launcher, PowerShellBackend, PowerShellConfig};
use edgefed::render::PlanDocument;
use serde_json::{Value, json};

#[path = "../tests/support/estate.rs"]
mod estate;
#[path = "../tests/support/instant.rs"]
mod instant;

use instant::{InstantDns, InstantProbes};

const DOUBLE: &str = env!("CARGO_BIN_EXE_edgefed-shell-double");

/// Real seconds per model second, unless `EDGEFED_BENCH_LATENCY_SCALE`
/// says otherwise. The double's own work (a process, the state lock and
/// file) takes about 10 real milliseconds per round trip, outside the
/// model, which this scale turns into model seconds too: at 0.05 that is a
/// fifth of a model second (at 0.01, a whole one — the 20-site estate's 49
/// round trips, most of them chained, then add 4% to its wall time).
const SCALE: f64 = 0.05;

fn scale() -> f64 {
    std::env::var("EDGEFED_BENCH_LATENCY_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(SCALE)
}

/// Site1 lost: federation moves to EdgePool2 and Site1's Front End pools fail over.
const SITE_DOWN: &str = include_str!("../tests/fixtures/site-down.yaml");

fn fail(message: String) -> ! {
    eprintln!("apply_latency bench: {message}");
    std::process::exit(1)
}

struct Figures {
    actions: usize,
    applied: usize,
    wall: f64,
    critical_path: f64,
    sequential: f64,
    round_trips: u64,
    shells_at_once: u64,
    topology_writes_at_once: u64,
}

fn run(lab: &LabFile, desired_text: &str) -> Figures {
    let deployment = lab.deployment();
    let desired = edgefed::document::parse("desired.yaml", desired_text.as_bytes())
        .unwrap_or_else(|e| fail(format!("the document: {e:?}")));
    let plan = edgefed::plan::plan(&desired, &deployment).unwrap_or_else(|e| fail(format!("plan: {e}")));
    let wire: Value = serde_json::from_str(&PlanDocument::new(&plan, &desired, "powershell", &deployment).to_json())
        .unwrap_or_else(|e| fail(format!("plan JSON: {e}")));
    let times = plan_times(&wire).unwrap_or_else(|e| fail(e));

    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let state = dir.path().join("state.json");
    let credential = dir.path().join("edge-credential.txt");
    let st = json!({ "deployment": deployment, "version": 7, "quiet": true });
    std::fs::write(&state, st.to_string()).unwrap_or_else(|e| fail(format!("state: {e}")));
    std::fs::write(&credential, "EDGE\\edgeadmin\nS3cr3t\n").unwrap_or_else(|e| fail(format!("credential: {e}")));
    let mut config = PowerShellConfig::new("placeholder").unwrap_or_else(|e| fail(e.to_string()));
    config.launcher = Launcher {
        program: "env".into(),
        args: vec![
            format!("EDGEFED_SHELL_DOUBLE_STATE={}", state.display()),
            format!("EDGEFED_DOUBLE_LATENCY_SCALE={}", scale()),
            DOUBLE.into(),
        ],
    };
    config.edge_credential_file = Some(credential.display().to_string());
    config.backup_dir = dir.path().join("backups");
    let ps = Arc::new(PowerShellBackend::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e.to_string()));
    runtime
        .block_on(ps.observe())
        .unwrap_or_else(|e| fail(format!("observe: {e}")));
    let before = ps.stats().round_trips;
    let backend = Arc::new(Combined::new(
        ps.clone(),
        Arc::new(InstantDns),
        Arc::new(InstantProbes),
        Vec::new(),
    ));
    let t = Instant::now();
    let report = runtime.block_on(edgefed::executor::execute(&plan.actions, backend, |_| {}));
    let wall = t.elapsed().as_secs_f64() / scale();
    let after: Value = std::fs::read_to_string(&state)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| fail("the double's state is unreadable after the run".into()));
    let count = |key: &str| after.get(key).and_then(Value::as_u64).unwrap_or(0);
    for (id, outcome) in &report.outcomes {
        if !matches!(outcome, edgefed::executor::Outcome::Applied { .. }) {
            eprintln!("  action {id}: {outcome:?}");
        }
    }
    Figures {
        actions: plan.actions.len(),
        applied: report.applied().len(),
        wall,
        critical_path: times.critical_path,
        sequential: times.sequential,
        round_trips: ps.stats().round_trips - before,
        shells_at_once: count("maxShellsInFlight"),
        topology_writes_at_once: count("maxTopologyWritesInFlight"),
    }
}

fn main() {
    let lab = |s: Scenario| s.lab().unwrap_or_else(|e| fail(e.to_string()));
    let estate_lab = LabFile::parse(Path::new("estate-20.yaml"), &estate::lab_yaml(20))
        .unwrap_or_else(|e| fail(format!("estate lab: {e}")));
    let cases = [
        (
            "seed failback",
            lab(Scenario::XmppFailedOver),
            include_str!("../examples/failback.yaml").to_string(),
        ),
        ("20-site estate", estate_lab, estate::desired_yaml(20)),
        ("site down", lab(Scenario::SiteDown), SITE_DOWN.to_string()),
    ];
    println!(
        "apply_latency bench: model seconds (the double sleeps them x {}); --parallelism 8; DNS and probes take 0",
        scale()
    );
    println!(
        "  {:<16} {:>7} {:>8} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>6} {:>7} {:>7}",
        "case",
        "actions",
        "applied",
        "wall",
        "critical",
        "by hand",
        "wall/cp",
        "cp/hand",
        "hand/wl",
        "trips",
        "shells",
        "writes"
    );
    for (name, lab, doc) in cases {
        let f = run(&lab, &doc);
        println!(
            "  {:<16} {:>7} {:>8} {:>9.0}s {:>9.0}s {:>9.0}s {:>8.3} {:>8.2} {:>8.2} {:>6} {:>7} {:>7}",
            name,
            f.actions,
            f.applied,
            f.wall,
            f.critical_path,
            f.sequential,
            f.wall / f.critical_path.max(1e-9),
            f.critical_path / f.sequential.max(1e-9),
            f.sequential / f.wall.max(1e-9),
            f.round_trips,
            f.shells_at_once,
            f.topology_writes_at_once
        );
    }
    println!(
        "  target: wall <= 1.05x the critical path; shells = most round trips at once, writes = most topology writes at once (must be 1)"
    );
}
