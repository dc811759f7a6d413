//! What `reconcile` shows on stderr while it applies, fed by the executor's
//! [`Event`]s.
//!
//! - On a terminal ([`Mode::Terminal`]): an `indicatif` display, the count
//!   of ended actions of all, and one spinner line per action in flight with
//!   its elapsed time, redrawn at least every second.
//! - Elsewhere ([`Mode::Plain`], e.g. a CI log): timestamped lines, one as
//!   an action starts, one as it ends, and for an action in flight longer
//!   than [`STILL_RUNNING_EVERY`] a `still running` line every such period
//!   (at most [`MAX_STILL_RUNNING_LINES`] per period, the rest counted).
//! - Nothing ([`Mode::Off`]) under `--output json` (a consumer that merges
//!   stderr into stdout must still read one JSON document) or `-q`.
//!
//! The clock is injected ([`Clock`]) so that the plain lines can be tested
//! without waiting.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::OutputFormat;
use crate::executor::{Event, Outcome};
use crate::plan::Action;

/// How long an action runs before a plain `still running` line, and how
/// often one follows.
pub const STILL_RUNNING_EVERY: Duration = Duration::from_secs(30);

/// At most this many `still running` lines per period; the others in flight
/// are counted on one more line.
pub const MAX_STILL_RUNNING_LINES: usize = 5;

/// How often the terminal display is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(500);

/// Where the time comes from.
pub trait Clock: Send + Sync {
    /// A monotonic instant, for elapsed times.
    fn now(&self) -> Instant;
    /// The wall clock, for timestamps.
    fn wall(&self) -> SystemTime;
}

/// The system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Which display a run gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Nothing on stderr.
    Off,
    /// Timestamped lines.
    Plain,
    /// An `indicatif` display.
    Terminal,
}

impl Mode {
    /// The display for `format`, `-q` and whether stderr is a terminal.
    #[must_use]
    pub fn choose(format: OutputFormat, quiet: bool, stderr_is_terminal: bool) -> Self {
        match (format, quiet, stderr_is_terminal) {
            (OutputFormat::Human, false, true) => Self::Terminal,
            (OutputFormat::Human, false, false) => Self::Plain,
            _ => Self::Off,
        }
    }
}

/// A duration in whole seconds for people (`2m 30s`).
fn elapsed(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(d.as_secs()))
}

/// How long an action took: milliseconds under a second, else whole seconds.
fn took(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        elapsed(d).to_string()
    }
}

/// `#7 run-setup edge1.contoso.com …`.
fn label(action: &Action) -> String {
    format!("#{} {}", action.id, action.operation)
}

/// One action in flight.
#[derive(Debug)]
struct Running {
    label: String,
    since: Instant,
    /// The time in flight at which its next `still running` line is due.
    next_note: Duration,
}

/// The plain lines: a pure formatter over the clock's readings.
#[derive(Debug)]
pub struct Plain {
    total: usize,
    done: usize,
    every: Duration,
    running: BTreeMap<usize, Running>,
}

impl Plain {
    /// For a run of `total` actions, saying `still running` after `every`
    /// and every `every` after that.
    #[must_use]
    pub fn new(total: usize, every: Duration) -> Self {
        Self {
            total,
            done: 0,
            every: every.max(Duration::from_secs(1)),
            running: BTreeMap::new(),
        }
    }

    fn stamp(wall: SystemTime) -> humantime::Rfc3339Timestamp {
        humantime::format_rfc3339_seconds(wall)
    }

    fn count(&self) -> String {
        let width = self.total.to_string().len();
        format!("[{:>width$}/{}]", self.done, self.total)
    }

    /// The line as `action` starts.
    pub fn started(&mut self, action: &Action, now: Instant, wall: SystemTime) -> String {
        let label = label(action);
        let line = format!("{} {} {label} started", Self::stamp(wall), self.count());
        self.running.insert(
            action.id,
            Running {
                label,
                since: now,
                next_note: self.every,
            },
        );
        line
    }

    /// The line as `action` ends.
    pub fn finished(&mut self, action: &Action, outcome: &Outcome, wall: SystemTime) -> String {
        self.running.remove(&action.id);
        self.done += 1;
        let how = match outcome {
            Outcome::Applied { duration, .. } => format!("done in {}", took(*duration)),
            Outcome::Failed { duration, .. } => format!("FAILED after {}", took(*duration)),
            Outcome::NotAttempted { blocked_by } => {
                let ids: Vec<String> = blocked_by.iter().map(|id| format!("#{id}")).collect();
                format!("not attempted (blocked by {})", ids.join(", "))
            }
        };
        format!("{} {} {} {how}", Self::stamp(wall), self.count(), label(action))
    }

    /// The `still running` lines due at `now`, oldest action first.
    pub fn due(&mut self, now: Instant, wall: SystemTime) -> Vec<String> {
        let every = self.every;
        let mut due: Vec<(Duration, &str)> = Vec::new();
        for r in self.running.values_mut() {
            let ran = now.saturating_duration_since(r.since);
            if ran >= r.next_note {
                // The next one a whole period later, skipping any missed.
                while r.next_note <= ran {
                    r.next_note += every;
                }
                due.push((ran, &r.label));
            }
        }
        due.sort_by_key(|d| std::cmp::Reverse(d.0));
        let stamp = Self::stamp(wall);
        let mut lines: Vec<String> = due
            .iter()
            .take(MAX_STILL_RUNNING_LINES)
            .map(|(ran, label)| format!("{stamp} still running ({}): {label}", elapsed(*ran)))
            .collect();
        if due.len() > MAX_STILL_RUNNING_LINES {
            lines.push(format!(
                "{stamp} … and {} more actions still running",
                due.len() - MAX_STILL_RUNNING_LINES
            ));
        }
        lines
    }
}

/// The terminal display: the count, then one spinner per action in flight.
#[derive(Debug)]
pub struct Terminal {
    multi: MultiProgress,
    overall: ProgressBar,
    running: BTreeMap<usize, ProgressBar>,
}

impl Terminal {
    /// A display of `total` actions drawn to `target`.
    #[must_use]
    pub fn new(total: usize, target: ProgressDrawTarget) -> Self {
        let multi = MultiProgress::with_draw_target(target);
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(style("{spinner} {pos}/{len} actions ended [{bar:30}] {elapsed}"));
        overall.enable_steady_tick(REDRAW_EVERY);
        Self {
            multi,
            overall,
            running: BTreeMap::new(),
        }
    }

    /// An action started: a spinner line for it.
    pub fn started(&mut self, action: &Action) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(style("  {spinner} {msg} ({elapsed})"));
        bar.set_message(label(action));
        bar.enable_steady_tick(REDRAW_EVERY);
        self.running.insert(action.id, bar);
    }

    /// An action ended: its line goes, the count goes up.
    pub fn finished(&mut self, action: &Action) {
        if let Some(bar) = self.running.remove(&action.id) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
    }

    /// Prints `text` on stdout without tearing the display.
    pub fn print(&self, text: &str) {
        self.multi.suspend(|| crate::app::print(text));
    }

    /// How many actions have ended.
    #[cfg(test)]
    #[must_use]
    pub fn done(&self) -> u64 {
        self.overall.position()
    }

    /// The lines of the actions in flight, by id.
    #[cfg(test)]
    #[must_use]
    pub fn in_flight(&self) -> Vec<String> {
        self.running.values().map(ProgressBar::message).collect()
    }

    fn clear(&mut self) {
        for bar in std::mem::take(&mut self.running).into_values() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Where plain lines go (stderr in a run, a buffer in tests).
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

enum Shown {
    Off,
    Plain {
        state: Arc<Mutex<Plain>>,
        ticker: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    },
    Terminal(Terminal),
}

/// The progress of one apply: feed it every [`Event`]; drop it at the end.
pub struct Progress {
    shown: Shown,
    clock: Arc<dyn Clock>,
    sink: Sink,
    total: usize,
    done: usize,
}

impl Progress {
    /// The display `mode` for `total` actions. Plain lines go to `sink`,
    /// with `still running` lines after `every` (checked once a second by a
    /// thread of its own, stopped on drop).
    #[must_use]
    pub fn start(mode: Mode, total: usize, every: Duration, clock: Arc<dyn Clock>, sink: Sink) -> Self {
        let shown = match mode {
            Mode::Off => Shown::Off,
            Mode::Terminal => Shown::Terminal(Terminal::new(total, ProgressDrawTarget::stderr())),
            Mode::Plain => {
                let state = Arc::new(Mutex::new(Plain::new(total, every)));
                let ticker = spawn_ticker(state.clone(), clock.clone(), sink.clone());
                Shown::Plain { state, ticker }
            }
        };
        Self {
            shown,
            clock,
            sink,
            total,
            done: 0,
        }
    }

    /// Takes one event; returns the stdout line (`[3/17] #11 …`) for an
    /// action that ended.
    pub fn event(&mut self, event: &Event<'_>) -> Option<String> {
        match event {
            Event::Started(a) => {
                match &mut self.shown {
                    // `-q` logs no info; `--output json` no progress at all.
                    Shown::Off => {}
                    Shown::Terminal(_) | Shown::Plain { .. } => {
                        tracing::info!("{}", crate::render::human::started(a, self.done, self.total));
                    }
                }
                match &mut self.shown {
                    Shown::Off => {}
                    Shown::Terminal(t) => t.started(a),
                    Shown::Plain { state, .. } => {
                        let line = lock(state).started(a, self.clock.now(), self.clock.wall());
                        (self.sink)(&line);
                    }
                }
                None
            }
            Event::Finished(a, outcome) => {
                self.done += 1;
                match &mut self.shown {
                    Shown::Off => {}
                    Shown::Terminal(t) => t.finished(a),
                    Shown::Plain { state, .. } => {
                        let line = lock(state).finished(a, outcome, self.clock.wall());
                        (self.sink)(&line);
                    }
                }
                Some(crate::render::human::finished(a, self.done, self.total, outcome))
            }
            Event::Stopping { .. } => None,
        }
    }

    /// Prints `text` on stdout, around the terminal display if there is one.
    pub fn print(&self, text: &str) {
        match &self.shown {
            Shown::Terminal(t) => t.print(text),
            _ => crate::app::print(text),
        }
    }

    /// Writes a note on stderr, around the terminal display if there is one.
    pub fn note(&self, text: &str) {
        match &self.shown {
            Shown::Terminal(t) => t.multi.suspend(|| crate::app::note(text)),
            _ => crate::app::note(text),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        match &mut self.shown {
            Shown::Off => {}
            Shown::Terminal(t) => t.clear(),
            Shown::Plain { ticker, .. } => {
                if let Some((stop, handle)) = ticker.take() {
                    drop(stop);
                    let _ = handle.join();
                }
            }
        }
    }
}

fn lock(state: &Mutex<Plain>) -> std::sync::MutexGuard<'_, Plain> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Checks once a second for `still running` lines until the sender drops.
/// Without a thread there are no such lines; the run goes on.
fn spawn_ticker(
    state: Arc<Mutex<Plain>>,
    clock: Arc<dyn Clock>,
    sink: Sink,
) -> Option<(mpsc::Sender<()>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("edgefed-progress".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(1)) {
                let lines = lock(&state).due(clock.now(), clock.wall());
                for line in lines {
                    sink(&line);
                }
            }
        })
        .ok()?;
    Some((tx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Applied, BackendError};

    fn action(id: usize, computer: &str) -> Action {
        crate::plan::testing::start_services(id, computer, &[])
    }

    fn wall(secs: u64) -> SystemTime {
        // 2026-12-07T17:00:00Z
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_662_800 + secs)
    }

    fn applied(secs: u64) -> Outcome {
        Outcome::Applied {
            applied: Applied::default(),
            duration: Duration::from_secs(secs),
        }
    }

    #[test]
    fn plain_lines_count_ended_actions_and_keep_the_id() {
        let t0 = Instant::now();
        let mut p = Plain::new(17, STILL_RUNNING_EVERY);
        let a = action(11, "edge1.contoso.com");
        assert_eq!(
            p.started(&a, t0, wall(3)),
            "2026-12-07T17:00:03Z [ 0/17] #11 start-services edge1.contoso.com (pool edge1.contoso.com) started"
        );
        assert_eq!(
            p.finished(&a, &applied(150), wall(153)),
            "2026-12-07T17:02:33Z [ 1/17] #11 start-services edge1.contoso.com (pool edge1.contoso.com) done in 2m 30s"
        );
        let b = action(12, "edge2.contoso.com");
        p.started(&b, t0, wall(153));
        let failed = Outcome::Failed {
            error: BackendError::Failed {
                message: "no answer".into(),
                source: None,
            },
            duration: Duration::from_secs(4),
        };
        assert!(
            p.finished(&b, &failed, wall(157))
                .ends_with("[ 2/17] #12 start-services edge2.contoso.com (pool edge2.contoso.com) FAILED after 4s")
        );
        let quick = Outcome::Applied {
            applied: Applied::default(),
            duration: Duration::from_millis(12),
        };
        let mut q = Plain::new(1, STILL_RUNNING_EVERY);
        q.started(&b, t0, wall(157));
        assert!(
            q.finished(&b, &quick, wall(157))
                .ends_with("[1/1] #12 start-services edge2.contoso.com (pool edge2.contoso.com) done in 12 ms")
        );
        let blocked = Outcome::NotAttempted { blocked_by: vec![12] };
        assert!(
            p.finished(&action(13, "edge3.contoso.com"), &blocked, wall(157))
                .ends_with("[ 3/17] #13 start-services edge3.contoso.com (pool edge3.contoso.com) not attempted (blocked by #12)")
        );
    }

    #[test]
    fn still_running_comes_after_the_threshold_then_every_period() {
        let t0 = Instant::now();
        let mut p = Plain::new(3, STILL_RUNNING_EVERY);
        let a = action(7, "edge1.contoso.com");
        p.started(&a, t0, wall(0));
        assert!(p.due(t0 + Duration::from_secs(29), wall(29)).is_empty());
        assert_eq!(
            p.due(t0 + Duration::from_secs(30), wall(30)),
            ["2026-12-07T17:00:30Z still running (30s): #7 start-services edge1.contoso.com (pool edge1.contoso.com)"]
        );
        assert!(
            p.due(t0 + Duration::from_secs(31), wall(31)).is_empty(),
            "once per period"
        );
        assert!(p.due(t0 + Duration::from_secs(59), wall(59)).is_empty());
        let at = p.due(t0 + Duration::from_secs(150), wall(150));
        assert_eq!(at.len(), 1, "missed periods are not made up: {at:?}");
        assert!(at[0].contains("still running (2m 30s): #7"), "{at:?}");
        assert!(p.due(t0 + Duration::from_secs(170), wall(170)).is_empty());
        p.finished(&a, &applied(175), wall(175));
        assert!(
            p.due(t0 + Duration::from_secs(300), wall(300)).is_empty(),
            "an ended action says nothing"
        );
    }

    #[test]
    fn still_running_lines_are_bounded_per_period() {
        let t0 = Instant::now();
        let mut p = Plain::new(9, STILL_RUNNING_EVERY);
        for id in 1..=8 {
            p.started(
                &action(id, &format!("edge{id}.contoso.com")),
                t0 + Duration::from_secs(id as u64),
                wall(0),
            );
        }
        let lines = p.due(t0 + Duration::from_secs(60), wall(60));
        assert_eq!(lines.len(), MAX_STILL_RUNNING_LINES + 1, "{lines:?}");
        assert!(lines[0].contains("(59s): #1 "), "longest first: {lines:?}");
        assert!(lines[5].ends_with("… and 3 more actions still running"), "{lines:?}");
    }

    #[test]
    fn the_mode_follows_format_quiet_and_terminal() {
        assert_eq!(Mode::choose(OutputFormat::Human, false, true), Mode::Terminal);
        assert_eq!(Mode::choose(OutputFormat::Human, false, false), Mode::Plain);
        assert_eq!(Mode::choose(OutputFormat::Human, true, true), Mode::Off);
        assert_eq!(Mode::choose(OutputFormat::Json, false, true), Mode::Off);
        assert_eq!(Mode::choose(OutputFormat::Json, false, false), Mode::Off);
    }

    #[test]
    fn the_terminal_display_tracks_ended_and_in_flight_actions() {
        let mut t = Terminal::new(3, ProgressDrawTarget::hidden());
        let (a, b) = (action(4, "edge1.contoso.com"), action(9, "edge2.contoso.com"));
        t.started(&a);
        t.started(&b);
        assert_eq!(t.done(), 0);
        assert_eq!(
            t.in_flight(),
            [
                "#4 start-services edge1.contoso.com (pool edge1.contoso.com)",
                "#9 start-services edge2.contoso.com (pool edge2.contoso.com)"
            ]
        );
        t.finished(&a);
        assert_eq!(t.done(), 1);
        assert_eq!(
            t.in_flight(),
            ["#9 start-services edge2.contoso.com (pool edge2.contoso.com)"]
        );
        t.finished(&b);
        assert_eq!(t.done(), 2);
        assert!(t.in_flight().is_empty());
        t.clear();
    }

    /// A clock the test moves.
    struct Manual {
        t0: Instant,
        offset: Mutex<Duration>,
    }

    impl Clock for Manual {
        fn now(&self) -> Instant {
            self.t0 + *self.offset.lock().expect("clock")
        }
        fn wall(&self) -> SystemTime {
            wall(self.offset.lock().expect("clock").as_secs())
        }
    }

    #[test]
    fn progress_feeds_the_plain_lines_and_returns_the_counted_stdout_line() {
        let clock = Arc::new(Manual {
            t0: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        });
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink_seen = seen.clone();
        let sink: Sink = Arc::new(move |l: &str| sink_seen.lock().expect("sink").push(l.to_owned()));
        let mut p = Progress::start(Mode::Plain, 2, STILL_RUNNING_EVERY, clock.clone(), sink);
        let a = action(2, "edge1.contoso.com");
        assert_eq!(p.event(&Event::Started(&a)), None);
        *clock.offset.lock().expect("clock") = Duration::from_secs(5);
        let out = p.event(&Event::Finished(&a, &applied(5))).expect("a line");
        assert!(
            out.starts_with("[1/2] #2 start-services edge1.contoso.com (pool edge1.contoso.com)"),
            "{out}"
        );
        drop(p);
        let seen = seen.lock().expect("sink");
        assert_eq!(
            *seen,
            [
                "2026-12-07T17:00:00Z [0/2] #2 start-services edge1.contoso.com (pool edge1.contoso.com) started",
                "2026-12-07T17:00:05Z [1/2] #2 start-services edge1.contoso.com (pool edge1.contoso.com) done in 5s",
            ]
        );
    }
}
