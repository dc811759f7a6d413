//! edgefed: declarative disaster recovery for Lync Server 2013 / Skype for
//! Business Server Edge pool federation routing.

pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
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
