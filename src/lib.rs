//! edgefed: declarative disaster recovery for Lync Server 2013 / Skype for
//! Business Server Edge pool federation routing.
//!
//! The loop: [`document`] reads and validates the desired state;
//! a [`backend::Backend`] observes the deployment as a [`model::Deployment`];
//! [`plan::plan`] — a pure function of the two — gives the ordered DAG of
//! actions; [`executor::execute`] applies it through the backend; both
//! walk the DAG with one [`dependency_queue::DependencyQueue`]; [`render`]
//! shows plans and reports. Backends: the lab ([`backend::lab`]), the
//! PowerShell backend ([`powershell`]), external DNS ([`dns`]) and port
//! probes ([`probe`]), put together by [`backend::combined`]. [`topology`]
//! reads and edits Lync's published topology documents. [`app`], [`cli`] and
//! [`commands`] are the command line; [`exit`] its exit codes.

pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod dependency_queue;
pub mod diagnostic;
pub mod dns;
pub mod document;
pub mod executor;
pub mod exit;
pub mod model;
pub mod plan;
pub mod powershell;
pub mod probe;
pub mod render;
pub mod topology;
