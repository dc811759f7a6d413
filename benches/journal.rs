//! Benchmark: the run journal. Each record is one appended line synced to
//! disk before the run goes on, so its cost is paid once per action start
//! and end; and a rerun reads the tail of a journal at its rotation size.
//!
//! Run: `cargo bench --bench journal`. It prints the time per record
//! (write + fsync) over 500 records, and the time to read the last run at
//! the end of an 8 MiB journal. The files go to a temporary folder.

use std::time::Instant;

use edgefed::journal::{self, Event, Journal, PlanSummary, RunResult};

const RECORDS: usize = 500;

fn action(i: usize) -> Event {
    Event::ActionStarted {
        action: i,
        kind: "start-services".into(),
        target: format!("edgeserver{i}.contoso.com"),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.ndjson");

    let mut j = Journal::start(&path, journal::ROTATE_BYTES).expect("journal");
    let start = Instant::now();
    for i in 0..RECORDS {
        j.record(action(i)).expect("record");
    }
    let per = start.elapsed() / RECORDS as u32;
    println!("journal append (one write + fdatasync): {per:?} per record over {RECORDS} records");

    // Fill to the rotation size with finished runs, then one last run.
    let line = std::fs::read_to_string(&path).expect("read");
    let line = line.lines().next().expect("a line").to_string();
    let mut filler = String::with_capacity(journal::ROTATE_BYTES as usize + 1024);
    while (filler.len() as u64) < journal::ROTATE_BYTES {
        filler.push_str(&line);
        filler.push('\n');
    }
    std::fs::write(&path, filler).expect("fill");
    let mut last = Journal::start(&path, u64::MAX).expect("journal");
    last.record(Event::RunStarted {
        user: "bench".into(),
        document: "desired.yaml".into(),
        document_sha256: "00".repeat(32),
        backend: "lab".into(),
        plan: PlanSummary::default(),
    })
    .expect("record");
    for i in 0..20 {
        last.record(action(i)).expect("record");
    }
    last.record(Event::RunEnded {
        result: RunResult::Complete,
        signal: None,
        applied: 20,
        failed: 0,
        not_attempted: 0,
        abandoned: Vec::new(),
    })
    .expect("record");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default();
    let start = Instant::now();
    let tail = journal::tail::read(&path).expect("tail");
    let took = start.elapsed();
    assert_eq!(tail.last.map(|r| r.run), Some(last.run().to_string()));
    println!(
        "journal tail read (last run of a {:.1} MiB journal): {took:?}",
        size as f64 / (1024.0 * 1024.0)
    );
}
