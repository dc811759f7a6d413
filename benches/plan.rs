//! Benchmark: `plan` on a generated lab of 1,000 sites, 2,000 Edge pools,
//! 8,000 Edge servers and 2,000 Front End pools, with a document that moves
//! every route (and every media association) to another pool.
//!
//! Run: `cargo bench --bench plan`. It prints wall time per stage, the share
//! spent parsing, and peak memory (VmHWM). The generated files are left in
//! `target/bench-plan/` so the binary itself can be timed too:
//! `edgefed --lab target/bench-plan/lab.yaml plan -f target/bench-plan/desired.yaml`.

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
