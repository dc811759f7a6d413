//! edgefed: declarative disaster recovery for Lync Server 2013 / Skype for
//! Business Server Edge pool federation routing.

pub mod backend;
pub mod dns;
pub mod model;
pub mod plan;
pub mod powershell;
pub mod probe;
pub mod topology;
