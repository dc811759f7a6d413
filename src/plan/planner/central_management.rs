//! The Central Management Server failover, before everything that writes to
//! the Central Management store.
//!
//! Microsoft's pool failover procedure: "If the Central Management store is
//! not available or if the Central Management store was running on Pool1
//! (that is, the pool that has failed), you must fail over the Central
//! Management Server before failing over the pool." Publishing, `Set-CsSite`
//! and `Set-CsEdgeServer` write to the store too, so every action whose
//! kind writes it (`OperationKind::writes_central_management`) waits for the
//! failover; the builder declares that wait for every such node. The
//! failover is planned only when the store is down and some such action is
//! planned.

use super::Planner;
use super::milestone::Milestone;
use crate::plan::{Operation, Phase};

impl Planner<'_> {
    /// `invoke-cms-failover` when the Central Management Server is down and
    /// the plan writes to its store.
    pub(super) fn central_management(&mut self) {
        let Some(cms) = self.observed.central_management.as_ref().filter(|c| !c.available) else {
            return;
        };
        let Some(backup) = &cms.backup else {
            self.b.warn(format!(
                "the Central Management Server on {} is down and where it fails over to is unknown: every publish, Set-CsSite, next-hop change and pool failover will be refused until it is failed over by hand (Invoke-CsManagementServerFailover on a server of the backup pool); reconcile again afterwards",
                cms.pool
            ));
            return;
        };
        self.b
            .add(
                Phase::Services,
                Operation::InvokeCmsFailover {
                    from_pool: cms.pool.clone(),
                    to_pool: backup.pool.clone(),
                    sql_server: backup.sql_server.clone(),
                    sql_instance: backup.sql_instance.clone(),
                },
                "Pool failover steps 3-5: the Central Management Server's pool is down; fail it over to the backup pool before anything writes to the Central Management store",
            )
            .provides(Milestone::CentralManagementFailedOver)
            .only_if_any(vec![Milestone::CentralManagementWrite]);
    }
}
