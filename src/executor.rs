//! The executor: runs a plan's DAG against a backend as a ready queue.
//!
//! An action becomes ready when every action it depends on has succeeded.
//! Ready actions are dispatched in plan order, up to the backend's
//! concurrency (or as one batch per wave, for backends with a costly round
//! trip). A failed action's dependents are never attempted; independent
//! branches go on. The executor knows nothing of `--check`: a check never
//! gets this far.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::backend::{Applied, Backend, BackendError};
use crate::plan::Action;

/// How one action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It was applied.
    Applied {
        /// What the backend said.
        applied: Applied,
        /// How long it took.
        duration: Duration,
    },
    /// The backend refused it or failed.
    Failed {
        /// The backend's error.
        error: BackendError,
        /// How long it took.
        duration: Duration,
    },
    /// It was not attempted because these actions (ids) did not succeed.
    NotAttempted {
        /// The dependencies that failed or were not attempted.
        blocked_by: Vec<usize>,
    },
}

/// Progress, reported as it happens.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// The action was handed to the backend.
    Started(&'a Action),
    /// The action finished.
    Finished(&'a Action, &'a Outcome),
}

/// The outcome of every action, in plan order.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// `(action id, outcome)` in plan order.
    pub outcomes: Vec<(usize, Outcome)>,
}

impl ApplyReport {
    /// Ids of the applied actions.
    #[must_use]
    pub fn applied(&self) -> Vec<usize> {
        self.ids(|o| matches!(o, Outcome::Applied { .. }))
    }

    /// Ids of the failed actions.
    #[must_use]
    pub fn failed(&self) -> Vec<usize> {
        self.ids(|o| matches!(o, Outcome::Failed { .. }))
    }

    /// Ids of the actions not attempted.
    #[must_use]
    pub fn not_attempted(&self) -> Vec<usize> {
        self.ids(|o| matches!(o, Outcome::NotAttempted { .. }))
    }

    /// Whether every action was applied.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.outcomes.iter().all(|(_, o)| matches!(o, Outcome::Applied { .. }))
    }

    fn ids(&self, f: impl Fn(&Outcome) -> bool) -> Vec<usize> {
        self.outcomes.iter().filter(|(_, o)| f(o)).map(|(id, _)| *id).collect()
    }
}

type Finished = Vec<(usize, Result<Applied, BackendError>, Duration)>;

/// Runs `actions` (a plan's, in printed order) against `backend`, calling
/// `progress` as actions start and finish.
pub async fn execute(
    actions: &[Action],
    backend: Arc<dyn Backend>,
    mut progress: impl FnMut(Event<'_>),
) -> ApplyReport {
    let by_id: BTreeMap<usize, &Action> = actions.iter().map(|a| (a.id, a)).collect();
    let mut waiting: BTreeMap<usize, usize> = actions.iter().map(|a| (a.id, a.depends_on.len())).collect();
    let mut dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for a in actions {
        for d in &a.depends_on {
            dependents.entry(*d).or_default().push(a.id);
        }
    }
    let mut ready: BTreeSet<usize> = waiting.iter().filter(|(_, n)| **n == 0).map(|(id, _)| *id).collect();
    let mut outcomes: BTreeMap<usize, Outcome> = BTreeMap::new();
    let mut in_flight = 0usize;
    let mut tasks: JoinSet<Finished> = JoinSet::new();
    let limit = backend.max_concurrency().max(1);

    loop {
        if backend.batches() {
            if in_flight == 0 && !ready.is_empty() {
                let wave: Vec<usize> = std::mem::take(&mut ready).into_iter().collect();
                let ops: Vec<_> = wave.iter().map(|id| by_id[id].operation.clone()).collect();
                for id in &wave {
                    progress(Event::Started(by_id[id]));
                }
                in_flight += wave.len();
                let b = Arc::clone(&backend);
                tasks.spawn(async move {
                    let start = Instant::now();
                    let results = b.apply_batch(&ops).await;
                    let took = start.elapsed();
                    let mut results = results.into_iter();
                    wave.into_iter()
                        .map(|id| {
                            let r = results.next().unwrap_or_else(|| {
                                Err(BackendError::Failed {
                                    message: "the backend returned no result for this action".into(),
                                })
                            });
                            (id, r, took)
                        })
                        .collect()
                });
            }
        } else {
            while in_flight < limit {
                let Some(id) = ready.pop_first() else { break };
                let action = by_id[&id];
                progress(Event::Started(action));
                in_flight += 1;
                let b = Arc::clone(&backend);
                let op = action.operation.clone();
                tasks.spawn(async move {
                    let start = Instant::now();
                    let r = b.apply(&op).await;
                    vec![(id, r, start.elapsed())]
                });
            }
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let finished = joined.unwrap_or_else(|e| {
            // A panicking backend task: its actions are unknown, so fail them all.
            tracing::error!("backend task ended abnormally: {e}");
            Vec::new()
        });
        if finished.is_empty() {
            in_flight = 0;
        }
        for (id, result, duration) in finished {
            in_flight = in_flight.saturating_sub(1);
            let outcome = match result {
                Ok(applied) => {
                    for dep in dependents.get(&id).into_iter().flatten() {
                        if let Some(n) = waiting.get_mut(dep) {
                            *n -= 1;
                            if *n == 0 {
                                ready.insert(*dep);
                            }
                        }
                    }
                    Outcome::Applied { applied, duration }
                }
                Err(error) => Outcome::Failed { error, duration },
            };
            progress(Event::Finished(by_id[&id], &outcome));
            outcomes.insert(id, outcome);
        }
    }

    // Whatever has no outcome was blocked by a failure upstream.
    for a in actions {
        if !outcomes.contains_key(&a.id) {
            let blocked_by = a
                .depends_on
                .iter()
                .filter(|d| !matches!(outcomes.get(d), Some(Outcome::Applied { .. })))
                .copied()
                .collect();
            outcomes.insert(a.id, Outcome::NotAttempted { blocked_by });
        }
    }
    ApplyReport {
        outcomes: actions
            .iter()
            .map(|a| {
                (
                    a.id,
                    outcomes
                        .remove(&a.id)
                        .unwrap_or(Outcome::NotAttempted { blocked_by: vec![] }),
                )
            })
            .collect(),
    }
}
