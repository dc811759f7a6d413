//! External DNS: reading the federation SRV and host A/AAAA record sets and
//! changing them with RFC 2136 UPDATEs signed with TSIG, each guarded by a
//! prerequisite so a concurrent change is reported instead of overwritten.

mod backend;
mod client;
mod convert;
mod error;
mod key;
mod keyfile;
mod resolve;
mod system;

pub use backend::DnsBackend;
pub use client::{DnsClient, UpdateOutcome};
pub use error::DnsError;
pub use key::{KEY_ENV, KEY_FILE_ENV, TsigAlgo, TsigKey, TsigKeyError};
pub use resolve::{PLAIN_TIMEOUT, resolve_from, resolve_plain};
pub use system::system_resolvers;
