//! A small etcd v3 client over etcd's JSON gateway (the gRPC gateway etcd
//! 3.4+ serves on its client URL under `/v3/`), so no protoc is needed to
//! build edgefed.
//!
//! What it offers, and what edgefed builds on it:
//!
//! - **Leases** ([`Client::grant`], [`Client::keep_alive_once`],
//!   [`Client::revoke`], and [`KeepAlive`], a tokio task that renews a lease
//!   every TTL/3 and reports when it is lost). A key written under a lease
//!   disappears when the lease expires: a holder that is killed loses what it
//!   holds within the lease's TTL.
//! - **Keys** ([`Client::create_if_absent`], [`Client::get`],
//!   [`Client::delete`]): create-if-absent is one transaction comparing the
//!   key's `create_revision` with 0, so exactly one of several racing
//!   writers wins, and the winner learns the revision that created the key.
//! - **Leader election** ([`Client::campaign`], [`Client::still_leads`],
//!   [`Client::resign`]): a campaign is a create-if-absent under the
//!   candidate's lease; the winner's create revision is a *fencing token*
//!   that grows with every new leader, so a write can be refused when it
//!   comes from a leader that has since been replaced.
//!
//! Keys and values are bytes; the gateway carries them base64-encoded, and
//! 64-bit numbers as JSON strings, which this module hides.
//!
//! Only plain `http://` endpoints are supported (etcd on loopback, or behind
//! a TLS-terminating proxy the runner reaches over a trusted network).

mod client;
mod election;
mod error;
mod kv;
mod lease;

pub use client::{Client, Endpoint};
pub use election::{Campaign, Leadership};
pub use error::EtcdError;
pub use kv::{Created, KeyValue};
pub use lease::{KeepAlive, Lease, LeaseId};
