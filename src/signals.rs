//! SIGINT and SIGTERM (Ctrl-C and Ctrl-Break on Windows) for the command
//! line. A thread waits for them; while a stage that can stop cleanly is
//! running (observation, apply: see [`handled`]), a signal requests the
//! process's [`Stop`], which that stage honours — it ends, its guards drop
//! (the lock is released, a shell it started is killed) and the command
//! exits 130 or 143. Outside such a stage a signal ends the process at
//! once with the same code: nothing is half-done there.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::stop::{Stop, StopReason};

/// The process's stop and how many stages honour it now.
struct Listener {
    stop: Stop,
    handled: AtomicUsize,
}

static LISTENER: OnceLock<Listener> = OnceLock::new();

/// Starts listening for the signals (once per process) and returns the
/// process's stop. When the signals cannot be listened for, says so and
/// leaves their default behaviour.
pub fn install() -> Stop {
    let listener = LISTENER.get_or_init(|| {
        let (ready, started) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("edgefed-signals".into())
            .spawn(move || listen(ready, deliver));
        match spawned {
            Ok(_) => match started.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cannot listen for SIGINT / SIGTERM ({e}): a signal ends edgefed at once"),
                Err(_) => tracing::warn!("the signal listener ended before it started: a signal ends edgefed at once"),
            },
            Err(e) => tracing::warn!("cannot start the signal listener ({e}): a signal ends edgefed at once"),
        }
        Listener {
            stop: Stop::default(),
            handled: AtomicUsize::new(0),
        }
    });
    listener.stop.clone()
}

/// The process's stop (never requested when [`install`] was not called).
#[must_use]
pub fn current() -> Stop {
    LISTENER.get().map_or_else(Stop::default, |l| l.stop.clone())
}

/// While the returned guard lives, a signal requests the process's stop
/// instead of ending the process: the stage holding it honours the stop.
#[must_use = "signals are handled only while the guard lives"]
pub fn handled() -> Handled {
    if let Some(l) = LISTENER.get() {
        l.handled.fetch_add(1, Ordering::SeqCst);
    }
    Handled(())
}

/// See [`handled`].
#[derive(Debug)]
pub struct Handled(());

impl Drop for Handled {
    fn drop(&mut self) {
        if let Some(l) = LISTENER.get() {
            l.handled.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One signal arrived.
fn deliver(reason: StopReason) {
    let Some(l) = LISTENER.get() else {
        std::process::exit(i32::from(reason.exit_code()));
    };
    if l.handled.load(Ordering::SeqCst) == 0 {
        crate::app::note(&format!("edgefed: {} received: stopped", reason.name()));
        std::process::exit(i32::from(reason.exit_code()));
    }
    if l.stop.is_requested() {
        crate::app::note(&format!(
            "edgefed: {} received again: abandoning what is in flight",
            reason.name()
        ));
    }
    l.stop.request(reason);
}

/// Waits for the platform's stop signals, calling `deliver` for each;
/// reports on `ready` once they are all being listened for.
fn listen(ready: std::sync::mpsc::Sender<std::io::Result<()>>, deliver: fn(StopReason)) {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_io().build() {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let mut listeners = match platform::Listeners::new() {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        while let Some(reason) = listeners.next().await {
            deliver(reason);
        }
    });
}

#[cfg(unix)]
mod platform {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    use crate::stop::StopReason;

    /// SIGINT and SIGTERM.
    pub(super) struct Listeners {
        interrupt: Signal,
        terminate: Signal,
    }

    impl Listeners {
        pub(super) fn new() -> std::io::Result<Self> {
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }

        /// The next signal's stop reason; `None` once none can come.
        pub(super) async fn next(&mut self) -> Option<StopReason> {
            tokio::select! {
                Some(()) = self.interrupt.recv() => Some(StopReason::Interrupt),
                Some(()) = self.terminate.recv() => Some(StopReason::Terminate),
                else => None,
            }
        }
    }
}

#[cfg(windows)]
mod platform {
    use tokio::signal::windows::{CtrlBreak, CtrlC, ctrl_break, ctrl_c};

    use crate::stop::StopReason;

    /// Ctrl-C and Ctrl-Break.
    pub(super) struct Listeners {
        interrupt: CtrlC,
        brk: CtrlBreak,
    }

    impl Listeners {
        pub(super) fn new() -> std::io::Result<Self> {
            Ok(Self {
                interrupt: ctrl_c()?,
                brk: ctrl_break()?,
            })
        }

        /// The next signal's stop reason; `None` once none can come.
        pub(super) async fn next(&mut self) -> Option<StopReason> {
            tokio::select! {
                Some(()) = self.interrupt.recv() => Some(StopReason::Interrupt),
                Some(()) = self.brk.recv() => Some(StopReason::Terminate),
                else => None,
            }
        }
    }
}
