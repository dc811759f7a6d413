//! Benchmark: observing a 10,000-site estate through the PowerShell backend
//! (the shell double stands in for the Management Shell).
//!
//! Reports the answer's size (bytes the shell printed), the peak resident
//! memory (VmHWM) of a fresh process that does one `observe` (the double
//! is another process and not counted) against that size,
//! and edgefed's own time: the double's answer is captured once, then
//! turning it into a deployment (extract + JSON + topology parse + model)
//! is timed alone (wall time, and the CPU time of its threads: the
//! topology document is read on a second thread). Goals: memory ≤ 3× the
//! answer, time < 3 s.
//!
//! `EDGEFED_BENCH_SITES` changes the estate's size (default 10,000).
//!
//! Last runs (release build, 2-core machine shared with other builds; the
//! double writes its JSON as Windows PowerShell 5.1 does, `<>&'` escaped):
//! 10,000 sites — answer 199.2 MiB, peak RSS 406 MiB = 2.04× (met), own
//! time 2.35–2.67 s wall, 2.74–3.13 s CPU at load 0.8–1.6 (met; 3.3–3.7 s
//! wall at load 3); 1,000 sites — answer 19.8 MiB, peak 43.7 MiB = 2.21×,
//! own time 205 ms at load 0.9. See the README's Benchmarks section.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use edgefed::backend::LyncSystem as _;
use edgefed::powershell::observe::{observe_script, parse_observation};
use edgefed::powershell::transport::LazyReply;
use edgefed::powershell::{Launcher, PowerShellBackend, PowerShellConfig};

const DOUBLE: &str = env!("CARGO_BIN_EXE_edgefed-shell-double");

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process has used (user + system, all threads), in
/// seconds: on a machine other builds share, wall time says more about
/// them than about edgefed.
fn cpu_seconds() -> f64 {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces): utime and
            // stime are the 12th and 13th after it, in clock ticks (100 a second).
            let rest = s.rsplit_once(')')?.1.to_string();
            let fields: Vec<u64> = rest
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse().ok())
                .collect();
            Some(fields.iter().sum::<u64>())
        })
        .unwrap_or(0);
    ticks as f64 / 100.0
}

fn fail(message: String) -> ! {
    eprintln!("powershell_observe bench: {message}");
    std::process::exit(1)
}

/// The measuring child: one observe through the backend, then its figures.
fn observe_child() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| fail(format!("{name} is not set")));
    let (state, credential) = (var("EDGEFED_BENCH_STATE"), var("EDGEFED_BENCH_CREDENTIAL"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let mut config = PowerShellConfig::new("placeholder").unwrap_or_else(|e| fail(e.to_string()));
    config.launcher = Launcher {
        program: "env".into(),
        args: vec![format!("EDGEFED_SHELL_DOUBLE_STATE={state}"), DOUBLE.into()],
    };
    config.edge_credential_file = Some(credential);
    config.backup_dir = dir.path().join("backups");
    let backend = PowerShellBackend::new(config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(e.to_string()));
    let before = status_kib("VmRSS:");
    let t = Instant::now();
    let observation = runtime
        .block_on(backend.observe())
        .unwrap_or_else(|e| fail(e.to_string()));
    let ms = t.elapsed().as_millis();
    let peak = status_kib("VmHWM:");
    println!(
        "before={before} peak={peak} ms={ms} pools={}",
        observation.deployment.edge_pools.len()
    );
}

fn main() {
    if std::env::var_os("EDGEFED_BENCH_OBSERVE_CHILD").is_some() {
        observe_child();
        return;
    }
    let sites: usize = std::env::var("EDGEFED_BENCH_SITES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(format!("tempdir: {e}")));
    let state = dir.path().join("state.json");
    let credential = dir.path().join("edge-credential.txt");
    let write = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    };
    write(&state, &format!("{{\"estateSites\": {sites}, \"quiet\": true}}"));
    write(&credential, "EDGE\\edgeadmin\nS3cr3t\n");
    let state_var = format!("EDGEFED_SHELL_DOUBLE_STATE={}", state.display());

    // The answer, captured once (the double also writes the generated
    // estate into its state file here).
    let mut script = observe_script(Some(&credential.display().to_string()), 8).unwrap_or_else(|e| fail(e.to_string()));
    let (text, nonce) = std::mem::take(&mut script).finish();
    let mut child = Command::new("env")
        .args([state_var.as_str(), DOUBLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(format!("cannot start the double: {e}")));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .unwrap_or_else(|e| fail(format!("writing the script: {e}")));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| fail(format!("the double: {e}")));
    if !out.status.success() {
        fail(format!("the double failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let answer = out.stdout.len();

    // edgefed's own time: answer bytes → deployment.
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let reply =
        LazyReply::parse(out.stdout, &out.stderr, &nonce, "exit 0", None).unwrap_or_else(|e| fail(e.to_string()));
    let t_json = t0.elapsed();
    let observed = parse_observation(reply).unwrap_or_else(|e| fail(e.to_string()));
    let own = t0.elapsed();
    let own_cpu = cpu_seconds() - cpu0;
    assert_eq!(observed.deployment.sites.len(), sites);
    drop(observed);

    // Peak memory of a whole observe through the backend, measured in a
    // fresh process (this bench run again) so nothing above counts; the
    // double is another process and is not counted either.
    let child = Command::new(std::env::current_exe().unwrap_or_else(|e| fail(format!("current_exe: {e}"))))
        .env("EDGEFED_BENCH_OBSERVE_CHILD", "1")
        .env("EDGEFED_BENCH_STATE", &state)
        .env("EDGEFED_BENCH_CREDENTIAL", &credential)
        .output()
        .unwrap_or_else(|e| fail(format!("cannot run the measuring child: {e}")));
    if !child.status.success() {
        fail(format!(
            "the measuring child failed: {}",
            String::from_utf8_lossy(&child.stderr)
        ));
    }
    let figures = String::from_utf8_lossy(&child.stdout);
    let field = |name: &str| -> u64 {
        figures
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.parse().ok())
            .unwrap_or_else(|| fail(format!("the measuring child printed no {name}: {figures}")))
    };
    let (before, peak, whole_ms, pools) = (field("before="), field("peak="), field("ms="), field("pools="));
    let whole = std::time::Duration::from_millis(whole_ms);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let answer_kib = answer as u64 / 1024;
    let grown = peak.saturating_sub(before);
    println!(
        "powershell_observe bench: {sites} sites, {} Edge pools, answer {:.1} MiB; edgefed's own time {:.0} ms (locating the steps {:.0} ms; CPU time {:.2} s over its threads); whole observe incl. the double {:.1} s",
        pools,
        mib(answer_kib),
        own.as_secs_f64() * 1e3,
        t_json.as_secs_f64() * 1e3,
        own_cpu,
        whole.as_secs_f64()
    );
    println!(
        "  peak RSS of a fresh process observing {:.1} MiB = {:.2}x the answer (RSS before observing {:.1} MiB; growth {:.1} MiB = {:.2}x)",
        mib(peak),
        peak as f64 / answer_kib.max(1) as f64,
        mib(before),
        mib(grown),
        grown as f64 / answer_kib.max(1) as f64,
    );
    println!(
        "  goals: memory <= 3x the answer: {}; own time < 3 s: {}",
        if peak <= 3 * answer_kib { "met" } else { "NOT met" },
        if own.as_secs_f64() < 3.0 { "met" } else { "NOT met" }
    );
}
