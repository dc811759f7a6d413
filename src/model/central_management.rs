//! Where the Central Management Server lives and whether it answers.
//!
//! Microsoft's Front End pool failover procedure ("Failing over and failing
//! back a pool") finds the pool hosting the Central Management Server, then
//! checks `Get-CsManagementStoreReplicationStatus
//! -CentralManagementStoreStatus`: "If they [ActiveMasterFQDN and
//! ActiveFileTransferAgents] are empty, the Central Management Server is not
//! available and you must fail it over", "before failing over the pool",
//! with `Invoke-CsManagementServerFailover` run against the backup pool's
//! Back End server. Publishing writes the topology to the Central
//! Management store (`Publish-CsTopology`: "the new information … is
//! written to the Central Management store"), and so do `Set-CsSite` and
//! `Set-CsEdgeServer`.

use serde::{Deserialize, Serialize};

use super::Fqdn;

/// The Central Management Server as observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CentralManagement {
    /// The Front End pool that hosts it (`Get-CsService -CentralManagement`).
    pub pool: Fqdn,
    /// Whether it answers: `ActiveMasterFqdn` of
    /// `Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus`
    /// is set.
    pub available: bool,
    /// Where it fails over to, when that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<CentralManagementBackup>,
}

/// The database a Central Management Server failover moves the store to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CentralManagementBackup {
    /// The pool that hosts the Central Management Server afterwards: the
    /// backup pool of [`CentralManagement::pool`].
    pub pool: Fqdn,
    /// Its Back End SQL Server (`-BackupSqlServerFqdn`).
    pub sql_server: Fqdn,
    /// The SQL Server instance (`-BackupSqlInstanceName`); `None`: the
    /// default instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_instance: Option<String>,
}
