//! The controller: one task owns the loop. It decides when the next
//! reconcile runs — at start, after the interval (or the backoff after a
//! failure), when the document or the lab file changes, on SIGHUP — and
//! hands it to the one worker thread, so two reconciles never overlap;
//! triggers that arrive meanwhile coalesce into the next one. SIGTERM or
//! SIGINT stops the scheduling and requests the [`Stop`] the reconcile's
//! executor runs with: nothing more is dispatched, the actions in flight
//! get `--stop-timeout` to end (a second signal abandons them at once), the
//! reconcile reports what was applied, failed and not attempted, and its
//! lock is released before the process exits 0.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::changes::{self, Changed};
use super::document::{Document, Read, fingerprint};
use super::events::{ActionEvent, DocumentState, Event, LeadershipEvent, Result as PassResult, Trigger, now_rfc3339};
use super::http::{self, Health};
use super::leadership::{Leadership, Status};
use super::metrics::Metrics;
use super::pass::{self, Limits, Mode, Pass};
use super::schedule::{Cause, FastRandom, Policy, Schedule};
use crate::app::{self, note, print};
use crate::error::Error;
use crate::exit;
use crate::settings::Settings;
use crate::stop::{Stop, StopReason};

/// How long a stopping watcher waits for its resignation to be shown.
const RESIGN_SHOWN: Duration = Duration::from_secs(5);

/// How long a stopped reconcile may take past its grace period (or past a
/// second signal) to report: the executor has ended or abandoned its
/// actions by then, what is left is recording and releasing the lock.
const SETTLE: Duration = Duration::from_secs(5);

/// How long file events are gathered before one reconcile runs.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Everything `edgefed watch` was told.
#[derive(Clone, Debug)]
pub struct Config {
    /// The document.
    pub document: String,
    /// Mode, `--max-actions`, `--yes`.
    pub limits: Limits,
    /// Interval, jitter and backoff.
    pub policy: Policy,
    /// Where the endpoints listen.
    pub metrics_addr: SocketAddr,
    /// NDJSON events on stdout instead of lines for people.
    pub json: bool,
    /// How long the actions in flight may take to end after a stop.
    pub stop_timeout: Duration,
}

/// What the worker sends back.
struct Done {
    pass: Pass,
    document: DocumentState,
    took: Duration,
}

/// Runs the watcher until SIGTERM or SIGINT.
///
/// # Errors
/// The endpoint address cannot be bound, the files cannot be watched, the
/// runtime cannot start, or a stop found a reconcile still running (not in
/// its apply: waiting for the lock, observing or verifying) past
/// `--stop-timeout`.
pub fn run(settings: &Settings, config: &Config, leadership: &dyn Leadership) -> Result<u8, Error> {
    let rt = app::watch_runtime()?;
    let metrics = Arc::new(Metrics::new());
    metrics.election(&Status {
        leader: leadership.is_leader(),
        token: leadership.fencing_token(),
        lease_live: true,
        why: String::new(),
    });
    let health = Arc::new(Health::new(Arc::clone(&metrics), config.policy.interval));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(config.metrics_addr))
        .map_err(|e| {
            Error::usage(format!(
                "--metrics-addr {}: cannot listen there ({e}); choose another address or port (port 0 picks a free one)",
                config.metrics_addr
            ))
        })?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("the listening address is unknown: {e}")))?;
    let lab = match settings.backend {
        crate::cli::BackendKind::Lab => Some(app::lab_path(settings, true)?),
        crate::cli::BackendKind::Powershell => None,
    };
    let (change_tx, change_rx) = mpsc::channel(16);
    let mut files = vec![(Changed::Document, Path::new(&config.document))];
    if let Some(lab) = &lab {
        files.push((Changed::Lab, lab.as_path()));
    }
    let _watch = changes::watch(&files, change_tx).map_err(Error::usage)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (hup_tx, hup_rx) = mpsc::channel(1);
    let stop = Stop::new(config.stop_timeout);
    rt.block_on(async { listen_for_signals(stop.clone(), stop_tx, hup_tx) })?;
    let (elected_tx, elected_rx) = mpsc::channel(1);
    let election = leadership.subscribe().map(|status| {
        rt.spawn(follow_election(
            status,
            Arc::clone(&metrics),
            config.json,
            elected_tx,
            stop_rx.clone(),
        ))
    });
    rt.spawn(http::serve(listener, Arc::clone(&health), stop_rx.clone()));
    note(&format!(
        "edgefed watch: {} mode, every {} (±{:.0}%); leadership: {}; endpoints on http://{bound}/metrics, /healthz, /readyz",
        config.limits.mode.name(),
        humantime::format_duration(config.policy.interval),
        config.policy.jitter * 100.0,
        leadership.describe(),
    ));
    std::thread::scope(|scope| {
        let (job_tx, job_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<Done>(1);
        let worker_metrics = Arc::clone(&metrics);
        let json = config.json;
        // Each action as it is dispatched and ends (NDJSON only; people get
        // the reconcile's line and the log).
        let on_action = move |event: &ActionEvent| {
            if json {
                print(&event.json_line());
            }
        };
        let worker_stop = stop.clone();
        scope.spawn(move || {
            let mut document = Document::new(&config.document);
            while job_rx.recv().is_ok() {
                let started = Instant::now();
                let (pass, doc) = one(
                    settings,
                    config,
                    &mut document,
                    leadership,
                    &worker_metrics,
                    &worker_stop,
                    &on_action,
                );
                let done = Done {
                    pass,
                    document: doc,
                    took: started.elapsed(),
                };
                if done_tx.blocking_send(done).is_err() {
                    break;
                }
            }
        });
        let loop_state = Loop {
            config,
            leadership,
            lab: lab.clone(),
            metrics: &metrics,
            health: &health,
            schedule: Schedule::new(config.policy, FastRandom::new()),
            stop: stop.clone(),
        };
        let triggers = Triggers {
            changes: change_rx,
            hup: hup_rx,
            elected: elected_rx,
        };
        let code = rt.block_on(loop_state.run(job_tx, done_rx, triggers, stop_rx));
        if let Some(election) = election {
            // The watcher resigned: let its last leadership event out.
            let _ = rt.block_on(async { tokio::time::timeout(RESIGN_SHOWN, election).await });
        }
        match code {
            Err(e) => {
                // The worker cannot be interrupted: leave now, the operating
                // system releases the lab's lock with the process.
                let mut err = anstream::stderr();
                let _ = std::io::Write::write_all(&mut err, e.report().as_bytes());
                std::process::exit(i32::from(e.exit_code()));
            }
            // Abandoned on a second signal while the worker was not
            // applying: leave without waiting for it (as above).
            Ok(Ended {
                code,
                worker_busy: true,
            }) => std::process::exit(i32::from(code)),
            Ok(Ended { code, .. }) => Ok(code),
        }
    })
}

/// One reconcile in the worker: read the document (keeping the last valid
/// one), then the pass.
fn one(
    settings: &Settings,
    config: &Config,
    document: &mut Document,
    leadership: &dyn Leadership,
    metrics: &Metrics,
    stop: &Stop,
    on_action: pass::OnAction<'_>,
) -> (Pass, DocumentState) {
    let file = document.file().to_string();
    match document.read() {
        Read::Valid(desired) => {
            metrics.document_valid(true);
            let pass = pass::run(settings, desired, config.limits, leadership, metrics, stop, on_action);
            (
                pass,
                DocumentState {
                    file,
                    valid: true,
                    error: None,
                },
            )
        }
        Read::Invalid {
            error,
            kept,
            reported_before,
        } => {
            metrics.document_valid(false);
            if !reported_before {
                note(&format!(
                    "{error}\nedgefed watch: {file} is invalid; {}",
                    if kept.is_some() {
                        "reconciling against its last valid version until it is fixed"
                    } else {
                        "nothing to reconcile against until it is fixed"
                    }
                ));
            }
            let state = DocumentState {
                file: file.clone(),
                valid: false,
                error: Some(error.clone()),
            };
            let pass = match kept {
                Some(desired) => pass::run(settings, desired, config.limits, leadership, metrics, stop, on_action),
                None => Pass {
                    result: PassResult::InvalidDocument,
                    cause: Some(Cause::Document),
                    observed: false,
                    in_sync: false,
                    actions: Vec::new(),
                    applied: 0,
                    failed: 0,
                    not_attempted: 0,
                    message: Some(format!("{file} is invalid and no earlier version was valid")),
                    leader: leadership.is_leader(),
                    fencing_token: None,
                },
            };
            (pass, state)
        }
    }
}

/// Shows each change of the election's status (metrics, an event) and
/// asks for a reconcile when this watcher is elected: it takes over at once.
/// Once the watcher stops, it ends after showing that it no longer leads.
async fn follow_election(
    mut status: watch::Receiver<Status>,
    metrics: Arc<Metrics>,
    json: bool,
    elected: mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let mut shown: Option<Status> = None;
    loop {
        let now = status.borrow_and_update().clone();
        if shown.as_ref() != Some(&now) {
            metrics.election(&now);
            let event = LeadershipEvent::new(&now);
            print(&if json { event.json_line() } else { event.human_line() });
            if now.leader {
                let _ = elected.try_send(());
            }
            shown = Some(now.clone());
        }
        let stopping = *stop.borrow();
        if stopping && !now.leader {
            return;
        }
        if stopping {
            if status.changed().await.is_err() {
                return;
            }
        } else {
            tokio::select! {
                changed = status.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|s| *s) => {}
            }
        }
    }
}

/// SIGTERM / SIGINT request `stop` (the first stops dispatching, a second
/// abandons what is in flight) and set `stopping`; SIGHUP asks for a
/// reconcile.
fn listen_for_signals(stop: Stop, stopping: watch::Sender<bool>, hup: mpsc::Sender<()>) -> Result<(), Error> {
    let request = move |reason: StopReason| {
        if stop.is_requested() {
            note(&format!(
                "edgefed watch: second {}: abandoning the actions in flight (their effect is unknown)",
                reason.name()
            ));
        }
        stop.request(reason);
        let _ = stopping.send(true);
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Error::Internal(format!("cannot handle {name}: {e}")))
        };
        let mut term = install(SignalKind::terminate(), "SIGTERM")?;
        let mut int = install(SignalKind::interrupt(), "SIGINT")?;
        let mut hangup = install(SignalKind::hangup(), "SIGHUP")?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => request(StopReason::Terminate),
                    _ = int.recv() => request(StopReason::Interrupt),
                    _ = hangup.recv() => { let _ = hup.try_send(()); }
                }
            }
        });
    }
    #[cfg(not(unix))]
    {
        drop(hup);
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                request(StopReason::Interrupt);
            }
        });
    }
    Ok(())
}

/// What can trigger a reconcile besides the timer.
struct Triggers {
    changes: mpsc::Receiver<Changed>,
    hup: mpsc::Receiver<()>,
    elected: mpsc::Receiver<()>,
}

/// The loop's state.
struct Loop<'a> {
    config: &'a Config,
    leadership: &'a dyn Leadership,
    lab: Option<PathBuf>,
    metrics: &'a Metrics,
    health: &'a Health,
    schedule: Schedule<FastRandom>,
    /// The stop the reconciles run with.
    stop: Stop,
}

/// How the loop ended.
struct Ended {
    /// The exit code.
    code: u8,
    /// Whether the worker was still in a reconcile (abandoned).
    worker_busy: bool,
}

/// What a stop found of the reconcile in progress.
enum Drained {
    /// It ended and reported.
    Done(Option<Done>),
    /// A second signal abandoned it before it reported.
    Abandoned,
}
/// What a wait for the next reconcile ended with.
enum Next {
    Run(Trigger),
    Stop,
}

impl Loop<'_> {
    async fn run(
        mut self,
        jobs: std::sync::mpsc::Sender<()>,
        mut done: mpsc::Receiver<Done>,
        mut triggers: Triggers,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Ended, Error> {
        let mut trigger = Trigger::Start;
        loop {
            // The files as this reconcile starts: a change by someone else
            // while it runs still triggers the next one.
            let before = self.fingerprints();
            if jobs.send(()).is_err() {
                return Err(Error::Internal("the reconcile worker stopped".into()));
            }
            let (finished, stopping) = tokio::select! {
                d = done.recv() => (d, false),
                _ = stop.wait_for(|s| *s) => {
                    // Hand the leadership over at once; the reconcile in
                    // progress dispatches nothing more (its executor runs
                    // with the stop just requested).
                    self.leadership.resign();
                    note(&format!(
                        "edgefed watch: stopping: no new action is dispatched; actions in flight get up to {} to end (a second signal abandons them)",
                        humantime::format_duration(self.config.stop_timeout)
                    ));
                    match self.drain(&mut done).await? {
                        Drained::Done(d) => (d, true),
                        Drained::Abandoned => {
                            self.leadership.resign();
                            note("edgefed watch: stopped; the reconcile in progress was abandoned while it was not applying (waiting for the lock, observing or verifying), nothing more was dispatched; check the deployment with `edgefed plan`");
                            return Ok(Ended { code: exit::SUCCESS, worker_busy: true });
                        }
                    }
                }
            };
            let Some(finished) = finished else {
                return Err(Error::Internal("the reconcile worker stopped".into()));
            };
            let failed = finished.pass.cause.is_some();
            // Actions write the lab file: those writes are this watcher's own.
            let wrote = finished.pass.applied + finished.pass.failed > 0;
            let delay = self.report(trigger, finished);
            if stopping || *stop.borrow() {
                break;
            }
            let seen = if wrote {
                (before.0, self.fingerprints().1)
            } else {
                before
            };
            match self.wait(delay, failed, seen, &mut triggers, &mut stop).await {
                Next::Run(t) => trigger = t,
                Next::Stop => break,
            }
        }
        self.leadership.resign();
        note("edgefed watch: stopped");
        Ok(Ended {
            code: exit::SUCCESS,
            worker_busy: false,
        })
    }

    /// After a stop: waits for the reconcile in progress to report. Its
    /// executor ends or abandons the actions in flight within the grace
    /// period (at once on a second signal); past that, and [`SETTLE`],
    /// the reconcile is stuck where it cannot be interrupted.
    async fn drain(&self, done: &mut mpsc::Receiver<Done>) -> Result<Drained, Error> {
        let stuck = || {
            Error::Internal(format!(
                "the reconcile in progress did not end within --stop-timeout {} (+{}) of the stop: it was not applying (waiting for the lock, observing or verifying) and cannot be interrupted there; stopped anyway, nothing more was dispatched: check the deployment with `edgefed plan`",
                humantime::format_duration(self.config.stop_timeout),
                humantime::format_duration(SETTLE)
            ))
        };
        tokio::select! {
            d = done.recv() => Ok(Drained::Done(d)),
            () = tokio::time::sleep(self.config.stop_timeout + SETTLE) => Err(stuck()),
            () = self.stop.abandoned() => {
                match tokio::time::timeout(SETTLE, done.recv()).await {
                    Ok(d) => Ok(Drained::Done(d)),
                    Err(_) => Ok(Drained::Abandoned),
                }
            }
        }
    }

    /// Records a finished reconcile (metrics, readiness, the event) and
    /// returns how long to wait before the next one.
    fn report(&mut self, trigger: Trigger, done: Done) -> Duration {
        let Done { pass, document, took } = done;
        self.metrics.reconciled(pass.result.name());
        if pass.observed {
            self.health.observed();
        }
        let (delay, failures) = match pass.cause {
            Some(cause) => {
                let delay = self.schedule.failed(cause);
                (delay, self.schedule.failures(cause))
            }
            None => (self.schedule.succeeded(), 0),
        };
        if !pass.in_sync {
            self.metrics.out_of_sync();
        }
        if pass.in_sync {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            self.metrics.succeeded_at(now.as_secs_f64());
        }
        let mode = if pass.leader {
            self.config.limits.mode
        } else {
            Mode::Monitor
        };
        let event = Event {
            event: "reconcile",
            time: now_rfc3339(),
            trigger,
            mode: mode.name(),
            leader: pass.leader,
            result: pass.result,
            fencing_token: pass.fencing_token,
            in_sync: pass.in_sync,
            actions: pass.actions,
            applied: pass.applied,
            failed: pass.failed,
            not_attempted: pass.not_attempted,
            message: pass.message,
            document,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            failures,
            next_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        };
        match pass.cause {
            Some(cause) => tracing::warn!(
                result = event.result.name(),
                cause = cause.name(),
                failures,
                next_in_ms = event.next_in_ms,
                "reconcile failed: {}",
                event.message.as_deref().unwrap_or("")
            ),
            None => tracing::info!(
                result = event.result.name(),
                actions = event.actions.len(),
                next_in_ms = event.next_in_ms,
                "reconciled"
            ),
        }
        print(&if self.config.json {
            event.json_line()
        } else {
            event.human_line()
        });
        delay
    }

    /// The watched files' contents now, to tell a real change from an event
    /// about a file that ended up the same (or about edgefed's own writes).
    fn fingerprints(&self) -> (Option<[u8; 32]>, Option<[u8; 32]>) {
        (
            fingerprint(Path::new(&self.config.document)),
            self.lab.as_deref().and_then(fingerprint),
        )
    }

    /// Waits for the next reconcile: the delay, a changed file, SIGHUP, or a stop.
    async fn wait(
        &self,
        delay: Duration,
        failed: bool,
        mut seen: (Option<[u8; 32]>, Option<[u8; 32]>),
        triggers: &mut Triggers,
        stop: &mut watch::Receiver<bool>,
    ) -> Next {
        let Triggers { changes, hup, elected } = triggers;
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return Next::Stop,
                () = tokio::time::sleep_until(deadline) => {
                    return Next::Run(if failed { Trigger::Retry } else { Trigger::Interval });
                }
                Some(()) = hup.recv() => return Next::Run(Trigger::Signal),
                Some(()) = elected.recv() => return Next::Run(Trigger::Leadership),
                Some(_) = changes.recv() => {
                    // Gather the burst (a rename comes with several events).
                    tokio::time::sleep(DEBOUNCE).await;
                    while changes.try_recv().is_ok() {}
                    let now = self.fingerprints();
                    let document_changed = now.0 != seen.0;
                    let lab_changed = now.1 != seen.1;
                    seen = now;
                    if document_changed {
                        return Next::Run(Trigger::Document);
                    }
                    if lab_changed {
                        return Next::Run(Trigger::Lab);
                    }
                }
            }
        }
    }
}
