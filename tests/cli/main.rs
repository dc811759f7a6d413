//! End-to-end tests of the `edgefed` binary on the lab backend. One test
//! binary, a module per area.

mod support;

/// The generated estate, shared by the golden tests and the lab tests.
#[path = "../support/estate.rs"]
mod estate;

mod backends;
mod bounded_input;
mod concurrency;
mod dns_sets;
mod environment;
mod exit_codes;
mod failover;
mod faults;
mod front_end;
mod golden;
mod invariants;
mod lab_log;
mod output;
mod readme;
mod saved_plan;
mod secrets;
mod seed_failback;
mod shell_integration;
mod topology;
mod topology_writes;
mod validation;
