//! Phase 10: Front End pool failover (after the Edge next hop moved off the
//! pool) and failback (last of all).

use serde_json::json;

use super::Planner;
use super::milestone::Milestone;
use crate::plan::{Operation, Phase};

impl Planner<'_> {
    /// Phase 10.
    pub(super) fn front_end_pools(&mut self) {
        for (fe, p) in &self.desired.front_end_pools {
            let (Some(f), Some(op)) = (&p.failed_over, self.observed.front_end_pools.get(fe)) else {
                continue;
            };
            if f.value && !op.failed_over {
                self.b
                    .change(format!("frontEndPools.{fe}.failedOver"), json!(false), json!(true));
                self.b
                    .add(
                        Phase::FrontEndPools,
                        Operation::InvokePoolFailover { front_end_pool: fe.clone() },
                        "Front End failover: Invoke-CsPoolFailover -DisasterMode, after the Edge next hop has moved off the pool",
                    )
                    .after(
                        Milestone::NextHopMovedOff(fe.clone()),
                        "Lync refuses to fail over a pool that is still an Edge pool's next hop",
                    );
            } else if !f.value && op.failed_over {
                self.b
                    .change(format!("frontEndPools.{fe}.failedOver"), json!(true), json!(false));
                self.b
                    .add(
                        Phase::FrontEndPools,
                        Operation::InvokePoolFailback {
                            front_end_pool: fe.clone(),
                        },
                        "Failback step 5: fail the Front End pool back (Invoke-CsPoolFailBack), last",
                    )
                    .after(
                        Milestone::EveryOtherAction,
                        "the Front End pool fails back last, after every other step",
                    );
            }
        }
    }
}
