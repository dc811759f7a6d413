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
        for d in a.depends_on_ids() {
            dependents.entry(d).or_default().push(a.id);
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
                                Err(BackendError::lost(
                                    "the backend returned no result for this action: its effect is unknown",
                                ))
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
                .depends_on_ids()
                .filter(|d| !matches!(outcomes.get(d), Some(Outcome::Applied { .. })))
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::backend::Observation;
    use crate::model::Fqdn;
    use crate::plan::Operation;

    /// A backend that records what it is asked to do.
    #[derive(Default)]
    struct Recorder {
        fail: Vec<String>,
        limit: usize,
        batches: bool,
        applied: Mutex<Vec<String>>,
        waves: Mutex<Vec<Vec<String>>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    #[async_trait]
    impl Backend for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        async fn observe(&self) -> Result<Observation, BackendError> {
            Ok(Observation::default())
        }
        async fn apply(&self, op: &Operation) -> Result<Applied, BackendError> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let target = op.target();
            self.applied.lock().unwrap().push(target.clone());
            if self.fail.contains(&target) {
                Err(BackendError::refused(format!("{target} refused")))
            } else {
                Ok(Applied::default())
            }
        }
        async fn apply_batch(&self, ops: &[Operation]) -> Vec<Result<Applied, BackendError>> {
            self.waves
                .lock()
                .unwrap()
                .push(ops.iter().map(Operation::target).collect());
            let mut out = Vec::new();
            for op in ops {
                out.push(self.apply(op).await);
            }
            out
        }
        fn max_concurrency(&self) -> usize {
            self.limit
        }
        fn batches(&self) -> bool {
            self.batches
        }
    }

    /// An action on computer `name` (the target), after `deps`.
    fn action(id: usize, name: &str, deps: &[usize]) -> Action {
        let fqdn = Fqdn::parse(&format!("{name}.contoso.com")).unwrap();
        Action {
            id,
            operation: Operation::StartServices {
                pool: fqdn.clone(),
                computer: fqdn,
            },
            phase: crate::plan::Phase::Services,
            depends_on: deps
                .iter()
                .map(|&on| crate::plan::Dependency {
                    on,
                    wait: crate::plan::Wait::Success,
                    reason: String::new(),
                })
                .collect(),
            reason: String::new(),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|n| format!("{n}.contoso.com")).collect()
    }

    #[tokio::test]
    async fn one_at_a_time_runs_in_plan_order() {
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action(3, "c", &[1]),
            action(4, "d", &[2, 3]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            ..Recorder::default()
        });
        let report = execute(&actions, backend.clone(), |_| {}).await;
        assert!(report.complete());
        assert_eq!(*backend.applied.lock().unwrap(), names(&["a", "b", "c", "d"]));
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_skips_its_dependents_but_not_independent_branches() {
        // 1 → 2 → 3 fails at 1; 4 is independent; 5 needs 2 and 4.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[1]),
            action(3, "c", &[2]),
            action(4, "d", &[]),
            action(5, "e", &[2, 4]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            fail: names(&["a"]),
            ..Recorder::default()
        });
        let report = execute(&actions, backend.clone(), |_| {}).await;
        assert_eq!(*backend.applied.lock().unwrap(), names(&["a", "d"]));
        assert_eq!(report.failed(), vec![1]);
        assert_eq!(report.applied(), vec![4]);
        assert_eq!(report.not_attempted(), vec![2, 3, 5]);
        let blocked: Vec<(usize, Vec<usize>)> = report
            .outcomes
            .iter()
            .filter_map(|(id, o)| match o {
                Outcome::NotAttempted { blocked_by } => Some((*id, blocked_by.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(blocked, vec![(2, vec![1]), (3, vec![2]), (5, vec![2])]);
    }

    #[tokio::test]
    async fn independent_actions_run_concurrently_up_to_the_limit() {
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action(3, "c", &[]),
            action(4, "d", &[1, 2, 3]),
        ];
        let backend = Arc::new(Recorder {
            limit: 2,
            ..Recorder::default()
        });
        let mut events = Vec::new();
        let report = execute(&actions, backend.clone(), |e| {
            events.push(match e {
                Event::Started(a) => format!("start {}", a.id),
                Event::Finished(a, _) => format!("end {}", a.id),
            });
        })
        .await;
        assert!(report.complete());
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 2);
        assert_eq!(&events[..2], ["start 1", "start 2"]);
        assert_eq!(events.last().map(String::as_str), Some("end 4"));
    }

    #[tokio::test]
    async fn batching_backends_get_one_call_per_wave() {
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action(3, "c", &[1, 2]),
            action(4, "d", &[1]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            batches: true,
            ..Recorder::default()
        });
        let report = execute(&actions, backend.clone(), |_| {}).await;
        assert!(report.complete());
        assert_eq!(
            *backend.waves.lock().unwrap(),
            vec![names(&["a", "b"]), names(&["c", "d"])]
        );
    }
}
