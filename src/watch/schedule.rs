//! When the next reconcile runs: the requeue interval after a success, and
//! after a failure an exponential backoff with jitter and a cap, counted per
//! cause (observation, apply, invalid document) and reset by a success. A
//! pure state machine: the random source is injected, and readiness takes
//! the current instant as an argument, so both are unit-tested without time.

use std::time::{Duration, Instant};

/// Why a reconcile failed; each cause backs off on its own count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The backend could not be opened or could not observe (or plan).
    Observe,
    /// An action failed, the lock was held, or the run did not verify.
    Apply,
    /// The document is invalid and no valid one was read before.
    Document,
}

impl Cause {
    /// Every cause.
    pub const ALL: [Self; 3] = [Self::Observe, Self::Apply, Self::Document];

    /// The name used in events and metrics.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Observe => "observe",
            Self::Apply => "apply",
            Self::Document => "document",
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::Observe => 0,
            Self::Apply => 1,
            Self::Document => 2,
        }
    }
}

/// A source of jitter: uniform values in `[0, 1)`.
pub trait Random {
    /// The next value in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

/// The process's random source.
#[derive(Debug)]
pub struct FastRandom(fastrand::Rng);

impl FastRandom {
    /// Seeded from the system.
    #[must_use]
    pub fn new() -> Self {
        Self(fastrand::Rng::new())
    }
}

impl Default for FastRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl Random for FastRandom {
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }
}

/// The schedule's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Requeue after a success.
    pub interval: Duration,
    /// The fraction of the interval added or taken away at random (0.1: ±10%).
    pub jitter: f64,
    /// The first delay after a failure.
    pub retry_min: Duration,
    /// The longest delay after repeated failures.
    pub retry_max: Duration,
}

/// The schedule: consecutive failures per cause.
#[derive(Debug)]
pub struct Schedule<R> {
    policy: Policy,
    failures: [u32; 3],
    random: R,
}

impl<R: Random> Schedule<R> {
    /// A schedule with no failures yet.
    pub fn new(policy: Policy, random: R) -> Self {
        Self {
            policy,
            failures: [0; 3],
            random,
        }
    }

    /// The parameters.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Consecutive failures of `cause` since the last success.
    pub fn failures(&self, cause: Cause) -> u32 {
        self.failures[cause.index()]
    }

    /// A reconcile succeeded: every count resets; the next one runs after
    /// the interval, jittered.
    pub fn succeeded(&mut self) -> Duration {
        self.failures = [0; 3];
        let spread = self.policy.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + spread * (2.0 * self.random.unit() - 1.0);
        self.policy.interval.mul_f64(factor.max(0.0))
    }

    /// A reconcile failed for `cause`: the next one runs after
    /// `retry_min · 2^(n-1)` for the n-th consecutive failure of that cause,
    /// capped at `retry_max`, with "equal jitter" (between half and all of it)
    /// so that many watchers failing together do not retry in step.
    pub fn failed(&mut self, cause: Cause) -> Duration {
        let n = &mut self.failures[cause.index()];
        *n = n.saturating_add(1);
        let exponent = (*n - 1).min(30);
        let base = self
            .policy
            .retry_min
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.policy.retry_max)
            .min(self.policy.retry_max);
        let half = base / 2;
        half + half.mul_f64(self.random.unit())
    }
}

/// Ready: the last successful observation is no older than two intervals.
#[must_use]
pub fn ready(last_observed: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last_observed.is_some_and(|t| now.saturating_duration_since(t) <= interval.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random source that replays fixed values.
    struct Fixed(Vec<f64>, usize);

    impl Random for Fixed {
        fn unit(&mut self) -> f64 {
            let v = self.0[self.1 % self.0.len()];
            self.1 += 1;
            v
        }
    }

    fn policy() -> Policy {
        Policy {
            interval: Duration::from_secs(300),
            jitter: 0.1,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
        }
    }

    fn at(value: f64) -> Schedule<Fixed> {
        Schedule::new(policy(), Fixed(vec![value], 0))
    }

    #[test]
    fn success_requeues_at_the_interval_within_the_jitter() {
        assert_eq!(at(0.5).succeeded(), Duration::from_secs(300));
        assert_eq!(at(0.0).succeeded(), Duration::from_secs(270));
        let high = at(0.999_999).succeeded();
        assert!(
            high > Duration::from_secs(329) && high <= Duration::from_secs(330),
            "{high:?}"
        );
    }

    #[test]
    fn failures_double_from_the_minimum_up_to_the_cap() {
        // With the random value at its top the delay is the full base.
        let mut s = at(0.999_999_999);
        let secs: Vec<u64> = (0..9)
            .map(|_| s.failed(Cause::Observe).as_secs_f64().round() as u64)
            .collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(s.failures(Cause::Observe), 9);
    }

    #[test]
    fn jitter_keeps_a_failure_delay_between_half_and_all_of_its_base() {
        assert_eq!(at(0.0).failed(Cause::Apply), Duration::from_millis(2500));
        assert_eq!(at(0.5).failed(Cause::Apply), Duration::from_millis(3750));
    }

    #[test]
    fn each_cause_backs_off_on_its_own_count() {
        let mut s = at(0.999_999_999);
        s.failed(Cause::Observe);
        s.failed(Cause::Observe);
        s.failed(Cause::Observe);
        // The first apply failure starts at the minimum, not at the observe count.
        assert_eq!(s.failed(Cause::Apply).as_secs_f64().round() as u64, 5);
        assert_eq!(s.failed(Cause::Observe).as_secs_f64().round() as u64, 40);
        assert_eq!(s.failures(Cause::Document), 0);
    }

    #[test]
    fn a_success_resets_every_cause() {
        let mut s = at(0.999_999_999);
        for _ in 0..5 {
            s.failed(Cause::Observe);
            s.failed(Cause::Apply);
        }
        s.succeeded();
        for cause in Cause::ALL {
            assert_eq!(s.failures(cause), 0, "{cause:?}");
        }
        assert_eq!(s.failed(Cause::Observe).as_secs_f64().round() as u64, 5);
    }

    #[test]
    fn many_failures_never_overflow() {
        let mut s = at(0.999_999_999);
        for _ in 0..100 {
            assert!(s.failed(Cause::Document) <= Duration::from_secs(300));
        }
    }

    #[test]
    fn ready_means_observed_within_two_intervals() {
        let start = Instant::now();
        let interval = Duration::from_secs(60);
        assert!(!ready(None, start, interval));
        assert!(ready(Some(start), start + Duration::from_secs(120), interval));
        assert!(!ready(Some(start), start + Duration::from_secs(121), interval));
    }
}
