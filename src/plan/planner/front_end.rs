//! Phase 10: Front End pool failover (after the Edge next hop moved off the
//! pool) and failback (last of all).
//!
//! The failover state may be unknown (see [`FailoverState`]): then the
//! document's explicit `failedOver` and edgefed's own record decide, so that
//! `Invoke-CsPoolFailover` runs at most once for one intent and a failback
//! is planned only for a failover edgefed itself ran.

use serde_json::json;

use super::Planner;
use super::milestone::Milestone;
use crate::model::{FailoverState, Fqdn};
use crate::plan::{Operation, Phase};

/// What the plan does about one Front End pool's failover state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FrontEndStep {
    /// Nothing.
    Nothing,
    /// `Invoke-CsPoolFailover`.
    FailOver,
    /// `Invoke-CsPoolFailBack`.
    FailBack,
}

/// The step for a pool whose document says `failed_over` and whose state
/// is `observed`.
///
/// Known states compare directly. Unknown: `failedOver: true` plans the
/// failover unless edgefed's record says it already ran it (so a rerun
/// never fails over again); `failedOver: false` plans the failback only when
/// edgefed's record says it failed the pool over — a failover edgefed did
/// not run (or never happened) is not reversed on a guess.
#[must_use]
pub(super) fn front_end_step(failed_over: bool, observed: FailoverState) -> FrontEndStep {
    match (failed_over, observed) {
        (true, FailoverState::NotFailedOver)
        | (
            true,
            FailoverState::Unknown {
                recorded: None | Some(false),
            },
        ) => FrontEndStep::FailOver,
        (false, FailoverState::FailedOver) | (false, FailoverState::Unknown { recorded: Some(true) }) => {
            FrontEndStep::FailBack
        }
        _ => FrontEndStep::Nothing,
    }
}

impl Planner<'_> {
    /// The step the plan takes for Front End pool `fe`.
    pub(super) fn front_end_step_of(&self, fe: &Fqdn) -> FrontEndStep {
        let desired = self
            .desired
            .front_end_pools
            .get(fe)
            .and_then(|p| p.failed_over.as_ref());
        match (desired, self.observed.front_end_pools.get(fe)) {
            (Some(f), Some(op)) => front_end_step(f.value, op.failed_over),
            _ => FrontEndStep::Nothing,
        }
    }

    /// Phase 10.
    pub(super) fn front_end_pools(&mut self) {
        for (fe, p) in &self.desired.front_end_pools {
            let (Some(f), Some(op)) = (&p.failed_over, self.observed.front_end_pools.get(fe)) else {
                continue;
            };
            let state = op.failed_over;
            self.note_unknown(fe, f.value, state);
            match front_end_step(f.value, state) {
                FrontEndStep::Nothing => {}
                FrontEndStep::FailOver => {
                    self.b.change(
                        crate::plan::pointer(&[&"frontEndPools", &fe, &"failedOver"]),
                        observed_json(state),
                        json!(true),
                    );
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
                }
                FrontEndStep::FailBack => {
                    self.b.change(
                        crate::plan::pointer(&[&"frontEndPools", &fe, &"failedOver"]),
                        observed_json(state),
                        json!(false),
                    );
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

    /// A warning for every decision taken on an unknown state.
    fn note_unknown(&mut self, fe: &Fqdn, failed_over: bool, state: FailoverState) {
        let FailoverState::Unknown { recorded } = state else {
            return;
        };
        let warning = match (failed_over, recorded) {
            (true, Some(true)) => format!(
                "Front End pool {fe}: Lync cannot say whether it is failed over; edgefed's record says it ran Invoke-CsPoolFailover, so it is not run again"
            ),
            (true, _) => format!(
                "Front End pool {fe}: Lync cannot say whether it is failed over; the document says failedOver: true, so Invoke-CsPoolFailover is planned once and recorded"
            ),
            (false, Some(true)) => format!(
                "Front End pool {fe}: Lync cannot say whether it is failed over; edgefed's record says it ran Invoke-CsPoolFailover, so Invoke-CsPoolFailBack is planned"
            ),
            (false, _) => format!(
                "Front End pool {fe}: Lync cannot say whether it is failed over and edgefed never failed it over; if it was failed over outside edgefed, run Invoke-CsPoolFailBack -PoolFqdn {fe} yourself"
            ),
        };
        self.b.warn(warning);
    }
}

/// The observed side of a `failedOver` change.
fn observed_json(state: FailoverState) -> serde_json::Value {
    state.as_known().map_or_else(|| json!(state.describe()), |b| json!(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_state_fails_over_once_and_fails_back_only_what_edgefed_failed_over() {
        use FailoverState as S;
        use FrontEndStep as F;
        let unknown = |recorded| S::Unknown { recorded };
        for (desired, observed, step) in [
            (true, S::NotFailedOver, F::FailOver),
            (true, S::FailedOver, F::Nothing),
            (false, S::FailedOver, F::FailBack),
            (false, S::NotFailedOver, F::Nothing),
            (true, unknown(None), F::FailOver),
            (true, unknown(Some(true)), F::Nothing),
            (true, unknown(Some(false)), F::FailOver),
            (false, unknown(None), F::Nothing),
            (false, unknown(Some(true)), F::FailBack),
            (false, unknown(Some(false)), F::Nothing),
        ] {
            assert_eq!(front_end_step(desired, observed), step, "{desired} {observed:?}");
        }
    }
}
