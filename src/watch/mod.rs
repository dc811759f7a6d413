//! `edgefed watch`: continuous reconciliation, as a controller in the
//! manner of Kubernetes' controller runtime. One task owns the loop
//! ([`controller`]); when the next reconcile runs is a pure state machine
//! ([`schedule`]: requeue at the interval after a success, exponential
//! backoff with jitter per cause after a failure, reset by a success); a
//! reconcile is the `reconcile` command's observe → plan → apply → verify
//! ([`pass`]); the document is re-read each time, keeping the last valid
//! version ([`document`]); file changes ([`changes`]) and SIGHUP trigger a
//! reconcile early; [`metrics`] and [`http`] export Prometheus metrics and
//! health; [`events`] is what is printed; [`leadership`] decides who may
//! apply.

pub mod changes;
pub mod controller;
pub mod document;
pub mod election;
pub mod etcd_ballot;
pub mod events;
pub mod http;
pub mod leadership;
pub mod metrics;
pub mod pass;
pub mod schedule;

pub use controller::{Config, run};
pub use leadership::{AlwaysLeader, Leadership, Status};
pub use pass::{Limits, Mode};
pub use schedule::Policy;
