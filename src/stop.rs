//! Stopping a run from outside: a value the executor takes. The first
//! request stops the dispatch of new actions and lets those in flight end
//! within a grace period; a second request (or the end of the grace period)
//! abandons them at once. The command line feeds it from SIGINT / SIGTERM
//! (see [`crate::signals`]); a long-running controller passes its own and
//! calls [`Stop::request`] itself.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::exit;

/// How long in-flight actions may take to end after a stop was requested,
/// before they are abandoned.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Why a stop was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// SIGINT, or Ctrl-C on Windows.
    Interrupt,
    /// SIGTERM, or Ctrl-Break on Windows.
    Terminate,
    /// A controller asked (not a signal).
    Requested,
    /// The run's etcd lock lease was lost (etcd out of reach for a whole
    /// TTL): another run may now hold the lock, so this one starts nothing
    /// more.
    LockLost,
}

impl StopReason {
    /// The signal's name as people know it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Interrupt if cfg!(windows) => "Ctrl-C",
            Self::Terminate if cfg!(windows) => "Ctrl-Break",
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
            Self::Requested => "a stop request",
            Self::LockLost => "the loss of the etcd lock's lease",
        }
    }

    /// The exit code of a run stopped this way: 130 for SIGINT, 143 for
    /// SIGTERM, 1 for a controller's request or a lost lock.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Interrupt => exit::INTERRUPTED,
            Self::Terminate => exit::TERMINATED,
            Self::Requested | Self::LockLost => exit::FAILURE,
        }
    }
}

/// A stop that can be requested from any thread; clones share it.
#[derive(Clone, Debug)]
pub struct Stop {
    drain: CancellationToken,
    abandon: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
    grace: Duration,
}

impl Default for Stop {
    fn default() -> Self {
        Self::new(DEFAULT_GRACE)
    }
}

impl Stop {
    /// A stop not yet requested; in-flight work gets `grace` to end.
    #[must_use]
    pub fn new(grace: Duration) -> Self {
        Self {
            drain: CancellationToken::new(),
            abandon: CancellationToken::new(),
            reason: Arc::new(OnceLock::new()),
            grace,
        }
    }

    /// Requests a stop: the first request stops dispatching (and records
    /// `reason`); any later one abandons what is in flight.
    pub fn request(&self, reason: StopReason) {
        if self.reason.set(reason).is_ok() {
            self.drain.cancel();
        } else {
            self.abandon.cancel();
        }
    }

    /// Why the stop was requested, if it was.
    #[must_use]
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    /// Whether a stop was requested.
    #[must_use]
    pub fn is_requested(&self) -> bool {
        self.drain.is_cancelled()
    }

    /// Whether what is in flight is to be abandoned now.
    #[must_use]
    pub fn is_abandoned(&self) -> bool {
        self.abandon.is_cancelled()
    }

    /// Completes once a stop is requested.
    pub async fn requested(&self) {
        self.drain.cancelled().await;
    }

    /// Completes once a second request abandons what is in flight.
    pub async fn abandoned(&self) {
        self.abandon.cancelled().await;
    }

    /// How long in-flight work may take to end once a stop is requested.
    #[must_use]
    pub fn grace(&self) -> Duration {
        self.grace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_request_drains_and_keeps_its_reason_the_second_abandons() {
        let stop = Stop::default();
        assert!(!stop.is_requested());
        assert_eq!(stop.reason(), None);
        stop.request(StopReason::Terminate);
        assert!(stop.is_requested());
        assert!(!stop.is_abandoned());
        stop.clone().request(StopReason::Interrupt);
        assert!(stop.is_abandoned());
        assert_eq!(stop.reason(), Some(StopReason::Terminate));
        assert_eq!(stop.reason().map(StopReason::exit_code), Some(143));
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(StopReason::Interrupt.exit_code(), 130);
        assert_eq!(StopReason::Terminate.exit_code(), 143);
        assert_eq!(StopReason::Requested.exit_code(), 1);
    }
}
