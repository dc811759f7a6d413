//! The domain model shared by desired and observed state.
//!
//! An [`Deployment`] is what a backend observes: sites with their federation
//! routes, Edge pools with their topology flags and servers, Front End pools
//! with their media association and failover state, and the external DNS
//! records edgefed manages. The planner compares a [`crate::document::Desired`]
//! against a `Deployment`; backends produce one; the lab stores one.

mod central_management;
mod deployment;
mod dns_record;
mod failover;
mod fingerprint;
mod fqdn;
mod product;

pub use central_management::{CentralManagement, CentralManagementBackup};
pub use deployment::{Computer, Deployment, EdgePool, FrontEndPool, ServiceState, Site};
pub use dns_record::{DnsName, DnsRecord, RecordType, SrvFormError, SrvTarget, canonical_srv};
pub use failover::FailoverState;
pub use fqdn::{Fqdn, FqdnError};
pub use product::Product;
