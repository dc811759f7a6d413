//! The executor: runs a plan's DAG against a backend.
//!
//! The actions go into a [`DependencyQueue`] in plan order, with the edges
//! of each action's `depends_on` and their [`Wait`]: an action that waits
//! for success runs once its predecessor was applied; one that waits for
//! completion runs once its predecessor has ended, whatever the outcome
//! (applied, failed, or not attempted). Ready actions are dispatched in plan
//! order, up to the backend's concurrency. A backend with a costly round
//! trip gets whatever is ready at once, split into the calls it asks for
//! ([`Backend::calls`]: one fan-out to several servers, say), each call
//! started as soon as a slot is free — so an action starts as soon as what
//! it waits on has ended, not when a whole wave has. A failed action's
//! success-dependents are not attempted, and so on transitively, each
//! naming the direct predecessors that blocked it; independent branches
//! and completion-dependents go on.
//!
//! A backend task that panics or is lost fails each of its actions with the
//! panic's message (through [`BackendError::lost`]) and reports them
//! finished, so they leave the in-flight count exactly. The executor knows
//! nothing of `--check`: a check never gets this far.
//!
//! A [`Stop`] ends a run early: once requested, nothing new is dispatched
//! and the actions in flight get the stop's grace period to end; past it,
//! or on a second request, they are abandoned (failed, their effect
//! unknown) and the run ends. What was never started is not attempted.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{JoinError, JoinSet};

use crate::backend::{Applied, Backend, BackendError};
use crate::dependency_queue::{self, DependencyQueue};
use crate::plan::{Action, Operation, Wait};
use crate::stop::{Stop, StopReason};

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
    /// A stop was requested: nothing more is dispatched; the actions in
    /// flight get `grace` to end.
    Stopping {
        /// Why.
        reason: StopReason,
        /// The actions still running.
        in_flight: Vec<&'a Action>,
        /// How long they may take.
        grace: std::time::Duration,
    },
}

/// How a stopped run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// Why it was stopped.
    pub reason: StopReason,
    /// Actions (ids) abandoned while in flight: their effect is unknown.
    pub abandoned: Vec<usize>,
    /// Whether they were abandoned because the grace period ran out (rather
    /// than on a second request).
    pub grace_expired: bool,
}

/// The outcome of every action, in plan order.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// `(action id, outcome)` in plan order.
    pub outcomes: Vec<(usize, Outcome)>,
    /// Set when a [`Stop`] ended the run early.
    pub stopped: Option<Stopped>,
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

/// What a backend task returns: one result per action it was given, in
/// order, and how long the backend took.
type TaskResults = (Vec<Result<Applied, BackendError>>, Duration);

/// A backend task in flight: the positions (in the plan) of its actions and
/// when it was dispatched.
struct Running {
    positions: Vec<usize>,
    dispatched: Instant,
}

/// Runs `actions` (a plan's, in printed order) against `backend`, calling
/// `progress` as actions start and finish.
pub async fn execute(actions: &[Action], backend: Arc<dyn Backend>, progress: impl FnMut(Event<'_>)) -> ApplyReport {
    execute_with(actions, backend, &Stop::default(), || true, progress).await
}

/// [`execute`], ending early when `stop` is requested.
pub async fn execute_until(
    actions: &[Action],
    backend: Arc<dyn Backend>,
    stop: &Stop,
    progress: impl FnMut(Event<'_>),
) -> ApplyReport {
    execute_with(actions, backend, stop, || true, progress).await
}

/// [`execute`], asking `may_dispatch` before each dispatch (an action, or a
/// wave for a batching backend). Once it answers `false` nothing more is
/// dispatched: what is in flight ends, and every action not yet dispatched
/// is reported not attempted (blocked by its predecessors that were not
/// applied; none for one that was ready). A watcher that lost its
/// leadership stops this way.
pub async fn execute_while(
    actions: &[Action],
    backend: Arc<dyn Backend>,
    may_dispatch: impl FnMut() -> bool,
    progress: impl FnMut(Event<'_>),
) -> ApplyReport {
    execute_with(actions, backend, &Stop::default(), may_dispatch, progress).await
}

/// The executor itself: [`execute_until`]'s stop and [`execute_while`]'s
/// dispatch check together.
pub async fn execute_with(
    actions: &[Action],
    backend: Arc<dyn Backend>,
    stop: &Stop,
    mut may_dispatch: impl FnMut() -> bool,
    mut progress: impl FnMut(Event<'_>),
) -> ApplyReport {
    let graph = Graph::new(actions);
    let mut queue = DependencyQueue::new(graph.edges.iter().enumerate().map(|(pos, e)| (pos, e.iter().copied())));
    let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
    let mut tasks: JoinSet<TaskResults> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, Running> = HashMap::new();
    let limit = backend.max_concurrency().max(1);
    let batches = backend.batches();
    // Once a stop is requested: when the in-flight actions are abandoned.
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut stopped: Option<Stopped> = None;
    // Once `may_dispatch` refuses: nothing more is dispatched.
    let mut halted = false;
    // A batching backend's calls that were ready but found no free slot
    // (their actions are dequeued; they start as calls end).
    let mut waiting_calls: VecDeque<Vec<usize>> = VecDeque::new();

    loop {
        if let Some(reason) = stop.reason()
            && deadline.is_none()
        {
            deadline = Some(tokio::time::Instant::now() + stop.grace());
            let in_flight = running
                .values()
                .flat_map(|r| r.positions.iter().map(|&p| &actions[p]))
                .collect();
            progress(Event::Stopping {
                reason,
                in_flight,
                grace: stop.grace(),
            });
            stopped = Some(Stopped {
                reason,
                abandoned: Vec::new(),
                grace_expired: false,
            });
        }
        let mut busy = tasks.len();
        let mut dispatch = |positions: Vec<usize>| {
            for &p in &positions {
                progress(Event::Started(&actions[p]));
            }
            let ops: Vec<Operation> = positions.iter().map(|&p| actions[p].operation.clone()).collect();
            let b = Arc::clone(&backend);
            let handle = tasks.spawn(async move {
                let start = Instant::now();
                let results = if batches {
                    b.apply_batch(&ops).await
                } else {
                    let mut results = Vec::with_capacity(ops.len());
                    for op in &ops {
                        results.push(b.apply(op).await);
                    }
                    results
                };
                (results, start.elapsed())
            });
            running.insert(
                handle.id(),
                Running {
                    positions,
                    dispatched: Instant::now(),
                },
            );
        };
        if deadline.is_some() {
            // Stopping: nothing new starts.
        } else if batches {
            // Whatever is ready goes out at once, split into the calls the
            // backend makes of it; a call waits for a free slot.
            while !halted && busy < limit && !stop.is_requested() {
                if waiting_calls.is_empty() && queue.has_ready() {
                    let ready: Vec<usize> = std::iter::from_fn(|| queue.dequeue()).collect();
                    let ops: Vec<Operation> = ready.iter().map(|&p| actions[p].operation.clone()).collect();
                    waiting_calls.extend(calls_of(backend.as_ref(), &ops, &ready));
                }
                let Some(call) = waiting_calls.pop_front() else { break };
                halted = !may_dispatch();
                if halted {
                    waiting_calls.push_front(call);
                    break;
                }
                dispatch(call);
                busy += 1;
            }
        } else {
            while !halted && queue.in_flight() < limit && queue.has_ready() && !stop.is_requested() {
                halted = !may_dispatch();
                if halted {
                    break;
                }
                let Some(p) = queue.dequeue() else { break };
                dispatch(vec![p]);
            }
        }
        if tasks.is_empty() {
            break;
        }
        let grace_over = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let joined = tokio::select! {
            biased;
            () = stop.abandoned() => None,
            () = grace_over => {
                if let Some(s) = stopped.as_mut() {
                    s.grace_expired = true;
                }
                None
            }
            () = stop.requested(), if deadline.is_none() => continue,
            joined = tasks.join_next_with_id() => joined,
        };
        let Some(joined) = joined else {
            // Abandon what is still in flight: its effect is unknown.
            let stopped = stopped.get_or_insert_with(|| Stopped {
                reason: stop.reason().unwrap_or(StopReason::Requested),
                abandoned: Vec::new(),
                grace_expired: false,
            });
            let (reason, grace_expired) = (stopped.reason, stopped.grace_expired);
            let why = if grace_expired {
                format!(
                    "abandoned after {}: it did not end within {}s",
                    reason.name(),
                    stop.grace().as_secs()
                )
            } else {
                format!("abandoned on a second {}", reason.name())
            };
            let mut abandoned: Vec<(usize, Duration)> = running
                .drain()
                .flat_map(|(_, r)| {
                    let took = r.dispatched.elapsed();
                    r.positions.into_iter().map(move |p| (p, took))
                })
                .collect();
            abandoned.sort_unstable();
            for (p, duration) in abandoned {
                queue.finish(p, dependency_queue::Outcome::Failed);
                let outcome = Outcome::Failed {
                    error: BackendError::state_unknown(format!(
                        "{why}; whether it took effect is unknown: observe (`edgefed plan`) before running again"
                    )),
                    duration,
                };
                progress(Event::Finished(&actions[p], &outcome));
                outcomes[p] = Some(outcome);
                stopped.abandoned.push(actions[p].id);
            }
            // Dropping the tasks drops their futures: a shell they started is killed.
            tasks.shutdown().await;
            break;
        };
        let (task, results) = match joined {
            Ok((task, results)) => (task, Ok(results)),
            Err(e) => (e.id(), Err(lost(e))),
        };
        let Some(Running { positions, dispatched }) = running.remove(&task) else {
            continue;
        };
        let ended: Vec<(usize, Result<Applied, BackendError>, Duration)> = match results {
            Ok((results, took)) => {
                let mut results = results.into_iter();
                positions
                    .into_iter()
                    .map(|p| {
                        let r = results.next().unwrap_or_else(|| {
                            Err(BackendError::lost(
                                "the backend returned no result for this action, so whether it was applied is unknown: \
                                 plan again to see what is left",
                            ))
                        });
                        (p, r, took)
                    })
                    .collect()
            }
            Err(message) => {
                let took = dispatched.elapsed();
                positions
                    .into_iter()
                    .map(|p| (p, Err(BackendError::lost(message.clone())), took))
                    .collect()
            }
        };
        for (p, result, duration) in ended {
            let outcome = match result {
                Ok(applied) => {
                    queue.finish(p, dependency_queue::Outcome::Succeeded);
                    Outcome::Applied { applied, duration }
                }
                Err(error) => {
                    queue.finish(p, dependency_queue::Outcome::Failed);
                    Outcome::Failed { error, duration }
                }
            };
            progress(Event::Finished(&actions[p], &outcome));
            outcomes[p] = Some(outcome);
        }
    }

    // A stopped run leaves actions waiting on what never started: no cycle.
    let stuck = if stopped.is_some() { Vec::new() } else { queue.stuck() };
    if !stuck.is_empty() {
        let ids: Vec<String> = stuck.iter().map(|&p| format!("#{}", graph.id_of(p))).collect();
        tracing::error!(
            "actions {} wait on each other (a dependency cycle) and were not attempted",
            ids.join(", ")
        );
    }
    let mut blocked: BTreeMap<usize, Vec<usize>> = queue
        .not_attempted()
        .map(|(p, by)| (p, by.iter().map(|&b| graph.id_of(b)).collect()))
        .collect();
    let applied: BTreeSet<usize> = outcomes
        .iter()
        .zip(actions)
        .filter(|(o, _)| matches!(o, Some(Outcome::Applied { .. })))
        .map(|(_, a)| a.id)
        .collect();
    ApplyReport {
        stopped,
        outcomes: outcomes
            .into_iter()
            .zip(actions)
            .enumerate()
            .map(|(p, (outcome, a))| {
                let outcome = outcome.unwrap_or_else(|| Outcome::NotAttempted {
                    // Left waiting on a cycle: blocked by what did not succeed.
                    blocked_by: blocked
                        .remove(&p)
                        .unwrap_or_else(|| a.depends_on_ids().filter(|d| !applied.contains(d)).collect()),
                });
                (a.id, outcome)
            })
            .collect(),
    }
}

/// The calls a batching backend makes of the operations at `positions`,
/// ready at once: each a list of positions, in plan order within the call.
/// Every position lands in exactly one call, whatever the backend answers
/// (a position it leaves out or repeats gets a call of its own, once).
fn calls_of(backend: &dyn Backend, ops: &[Operation], positions: &[usize]) -> Vec<Vec<usize>> {
    let mut placed = vec![false; positions.len()];
    let mut calls: Vec<Vec<usize>> = Vec::new();
    for call in backend.calls(ops) {
        let mut call: Vec<usize> = call
            .into_iter()
            .filter(|&i| i < positions.len() && !std::mem::replace(&mut placed[i], true))
            .map(|i| positions[i])
            .collect();
        call.sort_unstable();
        if !call.is_empty() {
            calls.push(call);
        }
    }
    calls.extend(
        placed
            .iter()
            .zip(positions)
            .filter(|(placed, _)| !**placed)
            .map(|(_, &p)| vec![p]),
    );
    calls
}

/// The plan's DAG as queue nodes: node `p` is the action at position `p`;
/// a dependency on an id that is not in the plan gets a node number past
/// the actions, so the queue treats it as never attempted.
struct Graph<'a> {
    actions: &'a [Action],
    /// Each action's predecessors, as node numbers, with their kind of edge.
    edges: Vec<Vec<(usize, Wait)>>,
    /// Ids depended on but not in the plan: node `actions.len() + k` is `unknown[k]`.
    unknown: Vec<usize>,
}

impl<'a> Graph<'a> {
    fn new(actions: &'a [Action]) -> Self {
        let mut position: BTreeMap<usize, usize> = BTreeMap::new();
        for (p, a) in actions.iter().enumerate() {
            position.entry(a.id).or_insert(p);
        }
        let mut unknown: Vec<usize> = Vec::new();
        let mut edges = Vec::with_capacity(actions.len());
        for a in actions {
            let mut after = Vec::with_capacity(a.depends_on.len());
            for d in &a.depends_on {
                let node = match position.get(&d.on) {
                    Some(&p) => p,
                    None => {
                        let k = unknown.iter().position(|u| *u == d.on).unwrap_or_else(|| {
                            unknown.push(d.on);
                            unknown.len() - 1
                        });
                        actions.len() + k
                    }
                };
                after.push((node, d.wait));
            }
            edges.push(after);
        }
        Self {
            actions,
            edges,
            unknown,
        }
    }

    /// The action id of a node.
    fn id_of(&self, node: usize) -> usize {
        match self.actions.get(node) {
            Some(a) => a.id,
            None => self.unknown.get(node - self.actions.len()).copied().unwrap_or(node),
        }
    }
}

/// The message for the actions of a backend task that panicked or was
/// cancelled.
fn lost(e: JoinError) -> String {
    let what = if e.is_panic() {
        let panic = e.into_panic();
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        format!("the backend panicked: {message}")
    } else {
        format!("the backend task was cancelled ({e})")
    };
    tracing::error!("{what}");
    format!("{what}; whether the action was applied is unknown: plan again to see what is left")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::backend::Observation;
    use crate::plan::Operation;

    /// A backend that records what it is asked to do.
    #[derive(Default)]
    struct Recorder {
        fail: Vec<String>,
        /// Targets whose `apply` panics.
        panic: Vec<String>,
        /// Targets whose `apply` takes longer.
        slow: Vec<String>,
        /// Targets whose `apply` sleeps this long (tokio time).
        sleepy: Vec<(String, Duration)>,
        limit: usize,
        batches: bool,
        /// A batching recorder that asks for a call per operation.
        split: bool,
        applied: Mutex<Vec<String>>,
        waves: Mutex<Vec<Vec<String>>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    /// Counts an `apply` in flight until dropped, even by a panic.
    struct InFlight<'a>(&'a AtomicUsize);

    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
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
            let _guard = InFlight(&self.in_flight);
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let target = op.target();
            if let Some((_, d)) = self.sleepy.iter().find(|(t, _)| *t == target) {
                tokio::time::sleep(*d).await;
            }
            let turns = if self.slow.contains(&target) { 30 } else { 3 };
            for _ in 0..turns {
                tokio::task::yield_now().await;
            }
            assert!(!self.panic.contains(&target), "{target} exploded");
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
        fn calls(&self, ops: &[Operation]) -> Vec<Vec<usize>> {
            if self.split {
                (0..ops.len()).map(|i| vec![i]).collect()
            } else {
                vec![(0..ops.len()).collect()]
            }
        }
    }

    /// An action on computer `name` (the target), after `deps` (success).
    fn action(id: usize, name: &str, deps: &[usize]) -> Action {
        let deps: Vec<(usize, Wait)> = deps.iter().map(|&d| (d, Wait::Success)).collect();
        action_waiting(id, name, &deps)
    }

    /// An action on computer `name`, after `deps` with their kind of edge.
    fn action_waiting(id: usize, name: &str, deps: &[(usize, Wait)]) -> Action {
        crate::plan::testing::start_services(id, &format!("{name}.contoso.com"), deps)
    }

    /// Each not-attempted action with the ids that blocked it.
    fn blocked(report: &ApplyReport) -> Vec<(usize, Vec<usize>)> {
        report
            .outcomes
            .iter()
            .filter_map(|(id, o)| match o {
                Outcome::NotAttempted { blocked_by } => Some((*id, blocked_by.clone())),
                _ => None,
            })
            .collect()
    }

    /// Each failed action with its error message.
    fn failures(report: &ApplyReport) -> Vec<(usize, String)> {
        report
            .outcomes
            .iter()
            .filter_map(|(id, o)| match o {
                Outcome::Failed { error, .. } => Some((*id, error.to_string())),
                _ => None,
            })
            .collect()
    }

    /// Runs the plan, recording `start N` / `end N` events.
    async fn run(actions: &[Action], backend: Arc<Recorder>) -> (ApplyReport, Vec<String>) {
        let mut events = Vec::new();
        let report = execute(actions, backend, |e| {
            events.push(match e {
                Event::Started(a) => format!("start {}", a.id),
                Event::Finished(a, _) => format!("end {}", a.id),
                Event::Stopping { in_flight, .. } => format!("stopping {}", in_flight.len()),
            });
        })
        .await;
        (report, events)
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
        assert_eq!(blocked(&report), vec![(2, vec![1]), (3, vec![2]), (5, vec![2])]);
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
                Event::Stopping { in_flight, .. } => format!("stopping {}", in_flight.len()),
            });
        })
        .await;
        assert!(report.complete());
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 2);
        assert_eq!(&events[..2], ["start 1", "start 2"]);
        assert_eq!(events.last().map(String::as_str), Some("end 4"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batching_backends_calls_run_side_by_side_and_what_waits_on_one_starts_when_it_ends() {
        // #1 takes long; #3 waits only on the quick #2, so with two slots
        // it must not wait for #1's call to end; with one, calls take turns.
        let actions = [
            action(1, "slow", &[]),
            action(2, "quick", &[]),
            action(3, "after-quick", &[2]),
        ];
        for (limit, expected) in [
            (2, ["start 1", "start 2", "end 2", "start 3", "end 3", "end 1"]),
            (1, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]),
        ] {
            let backend = Arc::new(Recorder {
                limit,
                batches: true,
                split: true,
                sleepy: vec![sleepy("slow", 600)],
                ..Default::default()
            });
            let (report, events) = run(&actions, backend.clone()).await;
            assert!(report.complete());
            assert_eq!(events, expected, "{limit} slot(s)");
            assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), limit);
            assert_eq!(backend.waves.lock().unwrap().len(), 3, "a call per operation");
        }
    }

    /// A batching backend whose calls are whatever it was told to answer.
    struct Calls(Vec<Vec<usize>>);

    #[async_trait]
    impl Backend for Calls {
        fn name(&self) -> &'static str {
            "calls"
        }
        async fn observe(&self) -> Result<Observation, BackendError> {
            Ok(Observation::default())
        }
        async fn apply(&self, _op: &Operation) -> Result<Applied, BackendError> {
            Ok(Applied::default())
        }
        fn calls(&self, _ops: &[Operation]) -> Vec<Vec<usize>> {
            self.0.clone()
        }
    }

    #[test]
    fn every_ready_action_lands_in_exactly_one_call_whatever_the_backend_answers() {
        let ops: Vec<Operation> = (0..4).map(|i| action(i + 1, &format!("s{i}"), &[]).operation).collect();
        let positions = [10, 11, 12, 13];
        // Repeated, out of range, empty and missing indices.
        let backend = Calls(vec![vec![1, 1, 9], vec![], vec![3, 1]]);
        assert_eq!(
            calls_of(&backend, &ops, &positions),
            [vec![11], vec![13], vec![10], vec![12]]
        );
        let backend = Calls(vec![vec![2, 0], vec![1, 3]]);
        assert_eq!(calls_of(&backend, &ops, &positions), [vec![10, 12], vec![11, 13]]);
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

    #[tokio::test]
    async fn completion_edges_run_after_a_failure() {
        // 1 stops a; 2 fails inside the bracket; 3 after 2 is not attempted;
        // 4 starts a again once 3 has ended, whatever happened; 5 needs 2 to
        // succeed, 6 waits for 5 to end.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[1]),
            action(3, "c", &[2]),
            action_waiting(4, "d", &[(1, Wait::Success), (3, Wait::Completion)]),
            action(5, "e", &[2]),
            action_waiting(6, "f", &[(5, Wait::Completion)]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            fail: names(&["b"]),
            ..Recorder::default()
        });
        let report = execute(&actions, backend.clone(), |_| {}).await;
        assert_eq!(*backend.applied.lock().unwrap(), names(&["a", "b", "d", "f"]));
        assert_eq!(report.applied(), vec![1, 4, 6]);
        assert_eq!(report.failed(), vec![2]);
        assert_eq!(blocked(&report), vec![(3, vec![2]), (5, vec![2])]);
    }

    #[tokio::test]
    async fn a_completion_edge_on_a_failure_waits_for_it_to_end() {
        // 2 (slow, fails) and 1 run together; 3 waits for 2 to end.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action_waiting(3, "c", &[(2, Wait::Completion)]),
        ];
        let backend = Arc::new(Recorder {
            limit: 4,
            fail: names(&["b"]),
            slow: names(&["b"]),
            ..Recorder::default()
        });
        let (report, events) = run(&actions, backend.clone()).await;
        assert_eq!(events, ["start 1", "start 2", "end 1", "end 2", "start 3", "end 3"]);
        assert_eq!(report.applied(), vec![1, 3]);
    }

    #[tokio::test]
    async fn a_panicking_backend_fails_its_action_with_the_panic_message() {
        // 1 panics; 2 needs it; 3 is independent; 4 waits for 1 to end.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[1]),
            action(3, "c", &[]),
            action_waiting(4, "d", &[(1, Wait::Completion)]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            panic: names(&["a"]),
            ..Recorder::default()
        });
        let (report, events) = run(&actions, backend.clone()).await;
        let failed = failures(&report);
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 1);
        assert!(
            failed[0].1.starts_with("the backend panicked: a.contoso.com exploded;"),
            "{}",
            failed[0].1
        );
        assert_eq!(blocked(&report), vec![(2, vec![1])]);
        assert_eq!(report.applied(), vec![3, 4]);
        assert_eq!(events, ["start 1", "end 1", "start 3", "end 3", "start 4", "end 4"]);
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn panics_do_not_free_slots_still_in_use() {
        // Limit 2. a and c panic at once while b and d are still running: the
        // executor must not count b or d as finished.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action(3, "c", &[]),
            action(4, "d", &[]),
            action(5, "e", &[]),
            action(6, "f", &[]),
            action(7, "g", &[1, 2]),
            action_waiting(8, "h", &[(3, Wait::Completion), (6, Wait::Success)]),
        ];
        let backend = Arc::new(Recorder {
            limit: 2,
            panic: names(&["a", "c"]),
            slow: names(&["b", "d"]),
            ..Recorder::default()
        });
        let (report, events) = run(&actions, backend.clone()).await;
        assert_eq!(backend.max_in_flight.load(Ordering::SeqCst), 2);
        let failed: Vec<usize> = failures(&report).into_iter().map(|(id, _)| id).collect();
        assert_eq!(failed, vec![1, 3]);
        assert!(failures(&report).iter().all(|(_, m)| m.contains("exploded")));
        assert_eq!(report.applied(), vec![2, 4, 5, 6, 8]);
        assert_eq!(blocked(&report), vec![(7, vec![1])]);
        for id in [1, 2, 3, 4, 5, 6, 8] {
            let ends = events.iter().filter(|e| **e == format!("end {id}")).count();
            assert_eq!(ends, 1, "action {id} finished once: {events:?}");
        }
        assert!(!events.contains(&"start 7".to_string()));
    }

    #[tokio::test]
    async fn a_panicking_batch_fails_every_action_of_its_wave() {
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[]),
            action(3, "c", &[1]),
            action_waiting(4, "d", &[(2, Wait::Completion)]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            batches: true,
            panic: names(&["b"]),
            ..Recorder::default()
        });
        let (report, events) = run(&actions, backend.clone()).await;
        assert_eq!(report.failed(), vec![1, 2]);
        assert!(
            failures(&report)
                .iter()
                .all(|(_, m)| m.contains("b.contoso.com exploded"))
        );
        assert_eq!(blocked(&report), vec![(3, vec![1])]);
        assert_eq!(report.applied(), vec![4]);
        assert_eq!(*backend.waves.lock().unwrap(), vec![names(&["a", "b"]), names(&["d"])]);
        assert_eq!(events, ["start 1", "start 2", "end 1", "end 2", "start 4", "end 4"]);
    }

    #[tokio::test]
    async fn a_dependency_cycle_or_unknown_id_is_not_attempted() {
        // 1 ⇄ 2 (a malformed plan); 3 depends on an id not in the plan; 4 is free.
        let actions = [
            action(1, "a", &[2]),
            action(2, "b", &[1]),
            action(3, "c", &[9]),
            action(4, "d", &[]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            ..Recorder::default()
        });
        let report = execute(&actions, backend.clone(), |_| {}).await;
        assert_eq!(report.applied(), vec![4]);
        assert_eq!(blocked(&report), vec![(1, vec![2]), (2, vec![1]), (3, vec![9])]);
    }

    /// Runs the plan, requesting `requests` stops as action 1 starts.
    async fn run_stopped(actions: &[Action], backend: Arc<Recorder>, requests: usize) -> (ApplyReport, Vec<String>) {
        let stop = Stop::default();
        let mut events = Vec::new();
        let report = execute_until(actions, backend, &stop.clone(), |e| {
            events.push(match e {
                Event::Started(a) => {
                    if a.id == 1 {
                        for _ in 0..requests {
                            stop.request(StopReason::Interrupt);
                        }
                    }
                    format!("start {}", a.id)
                }
                Event::Finished(a, _) => format!("end {}", a.id),
                Event::Stopping { in_flight, .. } => {
                    let ids: Vec<String> = in_flight.iter().map(|a| a.id.to_string()).collect();
                    format!("stopping {}", ids.join(","))
                }
            });
        })
        .await;
        (report, events)
    }

    fn sleepy(name: &str, secs: u64) -> (String, Duration) {
        (format!("{name}.contoso.com"), Duration::from_secs(secs))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_lets_the_action_in_flight_end_and_starts_nothing_new() {
        let actions = [action(1, "a", &[]), action(2, "b", &[]), action(3, "c", &[1])];
        let backend = Arc::new(Recorder {
            limit: 1,
            sleepy: vec![sleepy("a", 10)],
            ..Recorder::default()
        });
        let (report, events) = run_stopped(&actions, backend.clone(), 1).await;
        assert_eq!(events, ["start 1", "stopping 1", "end 1"]);
        assert_eq!(report.applied(), vec![1]);
        assert_eq!(report.not_attempted(), vec![2, 3]);
        assert_eq!(blocked(&report), vec![(2, vec![]), (3, vec![])]);
        assert_eq!(
            report.stopped,
            Some(Stopped {
                reason: StopReason::Interrupt,
                abandoned: vec![],
                grace_expired: false
            })
        );
        assert!(!report.complete());
        assert_eq!(*backend.applied.lock().unwrap(), names(&["a"]));
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_grace_period_the_action_in_flight_is_abandoned() {
        let actions = [action(1, "a", &[]), action(2, "b", &[1])];
        let backend = Arc::new(Recorder {
            limit: 1,
            sleepy: vec![sleepy("a", 3600)],
            ..Recorder::default()
        });
        let started = tokio::time::Instant::now();
        let (report, events) = run_stopped(&actions, backend.clone(), 1).await;
        assert_eq!(started.elapsed(), DEFAULT_GRACE_FOR_TESTS);
        assert_eq!(events, ["start 1", "stopping 1", "end 1"]);
        let failed = failures(&report);
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0].1.contains("abandoned after SIGINT") && failed[0].1.contains("unknown"),
            "{}",
            failed[0].1
        );
        assert_eq!(blocked(&report), vec![(2, vec![1])]);
        let stopped = report.stopped.unwrap();
        assert!(stopped.grace_expired);
        assert_eq!(stopped.abandoned, vec![1]);
        assert!(backend.applied.lock().unwrap().is_empty());
        // The abandoned task was dropped, not left running.
        assert_eq!(backend.in_flight.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_request_abandons_at_once() {
        let actions = [action(1, "a", &[]), action(2, "b", &[])];
        let backend = Arc::new(Recorder {
            limit: 2,
            sleepy: vec![sleepy("a", 3600), sleepy("b", 3600)],
            ..Recorder::default()
        });
        let started = tokio::time::Instant::now();
        let (report, _) = run_stopped(&actions, backend.clone(), 2).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        let stopped = report.stopped.clone().unwrap();
        assert!(!stopped.grace_expired);
        assert!(failures(&report).iter().all(|(_, m)| m.contains("second SIGINT")));
        // Action 2 had not been dispatched yet when the stop came (it was
        // requested as action 1 started): only 1 was abandoned.
        assert_eq!(stopped.abandoned, vec![1]);
        assert_eq!(report.not_attempted(), vec![2]);
    }

    #[tokio::test]
    async fn without_a_stop_nothing_is_reported_stopped() {
        let actions = [action(1, "a", &[])];
        let backend = Arc::new(Recorder {
            limit: 1,
            ..Recorder::default()
        });
        let (report, _) = run(&actions, backend).await;
        assert_eq!(report.stopped, None);
        assert!(report.complete());
    }

    const DEFAULT_GRACE_FOR_TESTS: Duration = crate::stop::DEFAULT_GRACE;

    #[tokio::test]
    async fn a_refused_dispatch_stops_at_once_and_the_rest_is_not_attempted() {
        // 1 → 2 → 3, and 4 independent; the check refuses from the third dispatch on.
        let actions = [
            action(1, "a", &[]),
            action(2, "b", &[1]),
            action(3, "c", &[2]),
            action(4, "d", &[]),
        ];
        let backend = Arc::new(Recorder {
            limit: 1,
            ..Recorder::default()
        });
        let mut asked = 0;
        let report = execute_while(
            &actions,
            backend.clone(),
            || {
                asked += 1;
                asked <= 2
            },
            |_| {},
        )
        .await;
        assert_eq!(*backend.applied.lock().unwrap(), names(&["a", "b"]));
        assert_eq!(asked, 3, "asked once per dispatch, never again after a refusal");
        assert_eq!(report.applied(), vec![1, 2]);
        assert_eq!(report.not_attempted(), vec![3, 4]);
        assert_eq!(blocked(&report), vec![(3, vec![]), (4, vec![])]);
    }

    #[tokio::test]
    async fn a_batching_backend_is_checked_once_per_wave() {
        let actions = [action(1, "a", &[]), action(2, "b", &[]), action(3, "c", &[1, 2])];
        let backend = Arc::new(Recorder {
            limit: 1,
            batches: true,
            ..Recorder::default()
        });
        let mut asked = 0;
        let report = execute_while(
            &actions,
            backend.clone(),
            || {
                asked += 1;
                asked == 1
            },
            |_| {},
        )
        .await;
        assert_eq!(asked, 2);
        assert_eq!(*backend.waves.lock().unwrap(), vec![names(&["a", "b"])]);
        assert_eq!(report.applied(), vec![1, 2]);
        assert_eq!(report.not_attempted(), vec![3]);
    }
}
