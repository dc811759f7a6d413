//! End-to-end tests of the `edgefed` binary on the lab backend. One test
//! binary, a module per area.

/// The real servers (BIND, Prosody, etcd) and the watcher harness shared
/// with the other test binaries.
#[path = "../support/mod.rs"]
mod servers;
mod support;

/// The generated estate, shared by the golden tests and the lab tests.
#[path = "../support/estate.rs"]
mod estate;

mod admin_flags;
mod backends;
mod bounded_input;
mod ci_templates;
mod concurrency;
mod dns_sets;
mod environment;
mod exit_codes;
mod failover;
mod faults;
mod front_end;
mod golden;
mod invariants;
mod json_errors;
mod lab_log;
mod logging;
mod output;
mod pr_comment;
mod progress;
mod readme;
mod saved_plan;
mod schemas;
mod secrets;
mod seed_failback;
mod shell_integration;
mod show_diff;
mod signals;
mod status;
mod topology;
mod topology_writes;
mod validation;
mod watch;
