//! [`Waiting`]: the notes a waiter prints — once when it starts, then every
//! [`NOTE_EVERY`] with the time waited — and when it gives up.

use std::fmt;
use std::time::Duration;

/// How often a waiter says it is still waiting.
pub const NOTE_EVERY: Duration = Duration::from_secs(10);

/// A note for whoever watches the run (stderr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The lock (`the lock file …`, `the etcd lock …`, `lab …`).
    pub lock: String,
    /// Who holds it.
    pub holder: String,
    /// How long we have waited.
    pub waited: Duration,
    /// How long we wait at most (`--lock-timeout`).
    pub timeout: Duration,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timeout = humantime::format_duration(self.timeout);
        if self.waited.is_zero() {
            write!(
                f,
                "waiting for {} (up to {timeout}, --lock-timeout); it is held by {}",
                self.lock, self.holder
            )
        } else {
            write!(
                f,
                "still waiting for {} after {} of {timeout}; it is held by {}",
                self.lock,
                humantime::format_duration(Duration::from_secs(self.waited.as_secs())),
                self.holder
            )
        }
    }
}

/// When a waiter prints its notes.
#[derive(Debug)]
pub struct Waiting {
    timeout: Duration,
    next_note: Option<Duration>,
}

impl Waiting {
    /// A wait of at most `timeout`.
    #[must_use]
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            next_note: Some(Duration::ZERO),
        }
    }

    /// Whether the wait is over after `waited`.
    #[must_use]
    pub fn timed_out(&self, waited: Duration) -> bool {
        waited >= self.timeout
    }

    /// The note due after `waited`, if one is: the first at once (unless
    /// the wait is over before it starts), then one every [`NOTE_EVERY`].
    pub fn note(&mut self, lock: &str, holder: &str, waited: Duration) -> Option<Progress> {
        let due = self.next_note?;
        if waited < due || self.timed_out(waited) {
            return None;
        }
        self.next_note = due
            .checked_add(NOTE_EVERY)
            .map(|next| next.max(waited + Duration::from_secs(1)));
        Some(Progress {
            lock: lock.to_owned(),
            holder: holder.to_owned(),
            waited: if due.is_zero() { Duration::ZERO } else { waited },
            timeout: self.timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn notes_come_at_the_start_then_every_ten_seconds() {
        let mut w = Waiting::new(secs(60));
        let first = w
            .note("the lock file x", "pid 7", Duration::from_millis(3))
            .expect("first");
        assert_eq!(
            first.to_string(),
            "waiting for the lock file x (up to 1m, --lock-timeout); it is held by pid 7"
        );
        assert_eq!(w.note("l", "h", secs(1)), None);
        assert_eq!(w.note("l", "h", secs(9)), None);
        let second = w
            .note("the lock file x", "pid 7", Duration::from_millis(10_400))
            .expect("at 10 s");
        assert_eq!(
            second.to_string(),
            "still waiting for the lock file x after 10s of 1m; it is held by pid 7"
        );
        assert_eq!(w.note("l", "h", secs(15)), None);
        assert!(w.note("l", "h", secs(21)).is_some());
        assert!(!w.timed_out(secs(59)));
        assert!(w.timed_out(secs(60)));
        assert_eq!(w.note("l", "h", secs(60)), None, "no note once it gave up");
    }

    #[test]
    fn a_zero_timeout_says_nothing_and_gives_up_at_once() {
        let mut w = Waiting::new(Duration::ZERO);
        assert!(w.timed_out(Duration::ZERO));
        assert_eq!(w.note("l", "h", Duration::ZERO), None);
    }
}
