//! The PowerShell backend: drives a real Lync Server 2013 / Skype for
//! Business Server deployment through the Management Shell.
//!
//! - [`PowerShellBackend`] implements [`crate::backend::LyncSystem`]: observe in
//!   one round trip, apply one DAG wave per round trip, topology edits
//!   published as one document.
//! - [`PowerShellConfig`] says how the shell is started (`--ps-command` /
//!   `EDGEFED_PS_COMMAND`), where Edge credentials come from
//!   (`EDGEFED_EDGE_CREDENTIAL_FILE`), timeouts and the backup folder.
//! - [`commands::shell_body`] is the one text of each Management Shell step
//!   (a [`body::Body`] with holes for what depends on where it runs): the
//!   backend's scripts send it and [`runbook`] prints it, as a plan an
//!   administrator can review and run by hand.
//! - [`quote`] makes every value placed into a script a single-quoted literal.
//! - [`output_bound`] bounds what edgefed reads of one script's output (the
//!   observe answer has its own, larger bound).

mod backend;
pub mod body;
pub mod child;
pub mod command_line;
pub mod commands;
mod config;
pub mod failover_record;
mod json_text;
pub mod latency;
pub mod observe;
pub mod output_bound;
pub mod quote;
pub mod records;
pub mod remoting;
mod runbook;
pub mod script;
pub mod topology_view;
pub mod transport;

pub use crate::model::Product;
pub use backend::PowerShellBackend;
pub use config::{
    ConfigError, ENV_EDGE_CREDENTIAL_FILE, ENV_PS_COMMAND, Launcher, PowerShellConfig, Timeouts, default_launcher,
};
pub use runbook::{runbook, runbook_values};
pub use transport::RoundTripStats;
