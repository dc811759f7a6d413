//! edgefed: declarative disaster recovery for Lync Server 2013 / Skype for
//! Business Server Edge pool federation routing.
//!
//! The loop: [`document`] reads and validates the desired state;
//! a [`backend::Backend`] observes the deployment as a [`model::Deployment`];
//! [`plan::plan`] — a pure function of the two — gives the ordered DAG of
//! actions; [`executor::execute`] applies it through the backend; both
//! walk the DAG with one [`dependency_queue::DependencyQueue`]; [`render`]
//! shows plans and reports. The backend is three systems — Lync (the lab
//! [`backend::lab`] or the PowerShell backend [`powershell`]), external DNS
//! ([`dns`], or the lab's) and port probes ([`probe`], or the lab's) — put
//! together by [`backend::combined`]. [`topology`]
//! reads and edits Lync's published topology documents. The command line:
//! [`cli`] parses it, [`settings`] checks the global options before anything
//! is read, [`commands`] runs one command with the helpers of [`app`], and
//! [`error`] is why a command failed, with its [`exit`] code; [`fs_util`]
//! writes files atomically.

pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod dependency_queue;
pub mod diagnostic;
pub mod dns;
pub mod document;
pub mod error;
pub mod etcd;
pub mod executor;
pub mod exit;
pub mod fs_util;
pub mod journal;
pub mod limits;
pub mod lock;
pub mod model;
pub mod plan;
pub mod powershell;
pub mod probe;
pub mod render;
pub mod settings;
pub mod signals;
pub mod stop;
pub mod topology;
pub mod watch;
