//! Benchmark: `plan` on a generated lab of 1,000 sites, 2,000 Edge pools,
//! 8,000 Edge servers and 2,000 Front End pools, with a document that moves
//! every route (and every media association) to another pool.
//!
//! Run: `cargo bench --bench plan`. It prints wall time per stage, the share
//! spent parsing, and peak memory (VmHWM). The generated files are left in
//! `target/bench-plan/` so the binary itself can be timed too:
//! `edgefed --lab target/bench-plan/lab.yaml plan -f target/bench-plan/desired.yaml`.
//!
//! Then the binary itself, each run a child process (wall time, and peak
//! RSS through `/usr/bin/time` when it is installed): lab `reconcile`
//! against `plan` at 1,000 sites (target: reconcile at most 5× plan), ten
//! alternating failover/failback drills at 1,000 sites (the lab file must
//! not grow, the log stays bounded), and `plan` at 10,000 sites with human
//! and with JSON output (target: under 1.5 s and 300 MB each).

use std::time::Instant;

#[path = "../tests/support/estate.rs"]
mod estate;

const SITES: usize = 1_000;
const EDGE_POOLS: usize = 2 * SITES;
const SERVERS_PER_POOL: usize = estate::SERVERS_PER_POOL;
const FRONT_END_POOLS: usize = 2 * SITES;

fn lab_yaml() -> String {
    estate::lab_yaml(SITES)
}

fn desired_yaml() -> String {
    estate::desired_yaml(SITES)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    in_process();
    binary();
}

fn in_process() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-plan");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let lab_text = lab_yaml();
    let desired_text = desired_yaml();
    std::fs::write(dir.join("lab.yaml"), &lab_text).expect("write lab");
    std::fs::write(dir.join("desired.yaml"), &desired_text).expect("write desired");
    let base_rss = peak_rss_mib();

    let mut runs = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let lab = edgefed::backend::lab::LabFile::parse(&dir.join("lab.yaml"), &lab_text).expect("lab parses");
        let t1 = Instant::now();
        let desired = edgefed::document::parse("desired.yaml", desired_text.as_bytes()).expect("document parses");
        let t2 = Instant::now();
        let deployment = lab.deployment();
        let plan = edgefed::plan::plan(&desired, &deployment).expect("plan");
        let t3 = Instant::now();
        let doc = edgefed::render::PlanDocument::new(&plan, &desired, "lab", &deployment);
        let json = doc.to_json();
        let human = edgefed::render::human::plan(&plan);
        let t4 = Instant::now();
        std::hint::black_box((&json, &human));
        runs.push((t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, plan.actions.len()));
    }
    runs.sort_by_key(|r| r.4);
    let (lab_parse, doc_parse, planning, render, total, actions) = runs[runs.len() / 2];
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "plan benchmark: {SITES} sites, {EDGE_POOLS} Edge pools, {} Edge servers, {FRONT_END_POOLS} Front End pools",
        EDGE_POOLS * SERVERS_PER_POOL
    );
    println!(
        "  lab file {:.1} MiB, document {:.1} MiB, {actions} actions",
        lab_text.len() as f64 / 1048576.0,
        desired_text.len() as f64 / 1048576.0
    );
    println!("  median of 5: total {:.0} ms", ms(total));
    println!(
        "    parse lab      {:>7.0} ms ({:.0} %)",
        ms(lab_parse),
        100.0 * ms(lab_parse) / ms(total)
    );
    println!(
        "    parse document {:>7.0} ms ({:.0} %)",
        ms(doc_parse),
        100.0 * ms(doc_parse) / ms(total)
    );
    println!(
        "    plan           {:>7.0} ms ({:.0} %)",
        ms(planning),
        100.0 * ms(planning) / ms(total)
    );
    println!(
        "    render         {:>7.0} ms ({:.0} %)",
        ms(render),
        100.0 * ms(render) / ms(total)
    );
    println!(
        "  peak RSS {:.0} MiB (generator alone {:.0} MiB)",
        peak_rss_mib(),
        base_rss
    );
}

/// One run of the binary: its wall time and peak RSS (MiB; NaN without
/// `/usr/bin/time`).
struct Run {
    secs: f64,
    rss_mib: f64,
    ok: bool,
}

fn edgefed(dir: &std::path::Path, lab: &std::path::Path, args: &[&str]) -> Run {
    let bin = env!("CARGO_BIN_EXE_edgefed");
    let time = std::path::Path::new("/usr/bin/time");
    let report = dir.join("time.txt");
    let mut cmd = if time.exists() {
        let mut c = std::process::Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&report).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    cmd.current_dir(dir)
        .arg("--lab")
        .arg(lab)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_LAB")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let t0 = Instant::now();
    let status = cmd.status().expect("run edgefed");
    let secs = t0.elapsed().as_secs_f64();
    let rss_mib = std::fs::read_to_string(&report)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0);
    let _ = std::fs::remove_file(&report);
    Run {
        secs,
        rss_mib,
        ok: status.success(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

fn binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-plan/binary");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let over = dir.join("over.yaml");
    let back = dir.join("back.yaml");
    std::fs::write(&over, estate::desired_yaml_on(SITES, 1)).expect("doc");
    std::fs::write(&back, estate::desired_yaml_on(SITES, 0)).expect("doc");
    let (over, back) = (over.to_str().expect("path"), back.to_str().expect("path"));
    let lab = dir.join("lab.yaml");
    std::fs::write(&lab, estate::lab_yaml(SITES)).expect("lab");

    println!("binary at {SITES} sites (each run a child process):");
    let plan = median(
        (0..3)
            .map(|_| edgefed(&dir, &lab, &["plan", "-f", over, "--output", "json"]).secs)
            .collect(),
    );
    println!("  plan       median of 3 {plan:>7.2} s");
    // Ten alternating drills; the first is the reconcile compared with plan.
    let lab_before = file_size(&lab);
    let mut drills = Vec::new();
    for drill in 0..10 {
        let doc = if drill % 2 == 0 { over } else { back };
        let r = edgefed(&dir, &lab, &["reconcile", "-f", doc]);
        assert!(r.ok, "drill {drill} failed");
        let check = edgefed(&dir, &lab, &["reconcile", "--check", "-f", doc]);
        assert!(check.ok, "drill {drill} did not converge");
        drills.push(r);
    }
    let reconcile = drills[0].secs;
    println!(
        "  reconcile  {reconcile:>7.2} s = {:.1}× plan (target ≤ 5×), peak RSS {:.0} MiB",
        reconcile / plan,
        drills[0].rss_mib
    );
    let times: Vec<String> = drills.iter().map(|d| format!("{:.2}", d.secs)).collect();
    let log = dir.join("lab.yaml.log.ndjson");
    let rotated = dir.join("lab.yaml.log.ndjson.1");
    println!("  ten alternating drills, reconcile seconds: {}", times.join(" "));
    println!(
        "  lab file {:.2} MiB before, {:.2} MiB after; operation log {:.2} MiB (+ {:.2} MiB rotated)",
        lab_before as f64 / 1048576.0,
        file_size(&lab) as f64 / 1048576.0,
        file_size(&log) as f64 / 1048576.0,
        file_size(&rotated) as f64 / 1048576.0
    );

    const LARGE: usize = 10 * SITES;
    let large_lab = dir.join("large.yaml");
    let large_doc = dir.join("large-desired.yaml");
    std::fs::write(&large_lab, estate::lab_yaml(LARGE)).expect("lab");
    std::fs::write(&large_doc, estate::desired_yaml(LARGE)).expect("doc");
    println!(
        "binary at {LARGE} sites ({:.1} MiB lab; targets: under 1.5 s and 300 MB):",
        file_size(&large_lab) as f64 / 1048576.0
    );
    let doc = large_doc.to_str().expect("path");
    for (output, extra) in [("human", &[][..]), ("json", &["--output", "json"][..])] {
        let args: Vec<&str> = ["plan", "-f", doc].iter().chain(extra).copied().collect();
        let runs: Vec<Run> = (0..5).map(|_| edgefed(&dir, &large_lab, &args)).collect();
        assert!(runs.iter().all(|r| r.ok), "plan at {LARGE} sites ({output}) failed");
        let secs = median(runs.iter().map(|r| r.secs).collect());
        let rss = median(runs.iter().map(|r| r.rss_mib).collect());
        println!("  plan, {output:<5} output: median of 5 {secs:.2} s, peak RSS {rss:.0} MiB");
    }
}
