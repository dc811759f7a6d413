//! The watcher's Prometheus metrics, in the text exposition format served
//! at `/metrics`. Names and labels are the README's "Continuous
//! reconciliation" table.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::plan::{Action, OperationKind};

/// A label naming an action kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The kind, e.g. `publish-topology`.
    pub kind: String,
}

/// A label naming a reconcile's result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// The result, e.g. `in-sync`.
    pub result: String,
}

fn action_buckets() -> Histogram {
    // 1 ms to about 4.4 minutes: lab writes to PowerShell setup runs.
    Histogram::new(exponential_buckets(0.001, 4.0, 10))
}

/// Every metric the watcher exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    in_sync: Gauge,
    pending: Family<KindLabel, Gauge>,
    reconciles: Family<ResultLabel, Counter>,
    last_success: Gauge<f64, AtomicU64>,
    action_duration: Family<KindLabel, Histogram, fn() -> Histogram>,
    round_trips: Counter,
    lock_held: Gauge,
    leader: Gauge,
    lease_live: Gauge,
    fencing_token: Gauge,
    document_valid: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The metrics, registered, all at their starting values.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let in_sync = Gauge::default();
        let pending = Family::<KindLabel, Gauge>::default();
        let reconciles = Family::<ResultLabel, Counter>::default();
        let last_success = Gauge::<f64, AtomicU64>::default();
        let action_duration = Family::<KindLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            action_buckets as fn() -> Histogram,
        );
        let round_trips = Counter::default();
        let lock_held = Gauge::default();
        let leader = Gauge::default();
        let lease_live = Gauge::default();
        let fencing_token = Gauge::default();
        let document_valid = Gauge::default();
        registry.register(
            "edgefed_in_sync",
            "1 when the last observation matched the document, else 0",
            in_sync.clone(),
        );
        registry.register(
            "edgefed_pending_actions",
            "Actions the last plan had, by action kind",
            pending.clone(),
        );
        registry.register("edgefed_reconciles", "Reconciles by result", reconciles.clone());
        registry.register(
            "edgefed_last_success_timestamp_seconds",
            "Unix time of the last reconcile that ended in sync",
            last_success.clone(),
        );
        registry.register(
            "edgefed_action_duration_seconds",
            "How long applied or failed actions took, by action kind",
            action_duration.clone(),
        );
        registry.register(
            "edgefed_backend_round_trips",
            "Calls to the backend: one per observation and one per action attempted",
            round_trips.clone(),
        );
        registry.register(
            "edgefed_lock_held",
            "1 while this watcher holds the reconcile lock",
            lock_held.clone(),
        );
        registry.register(
            "edgefed_leader",
            "1 while this watcher leads (and may apply), 0 while it only observes",
            leader.clone(),
        );
        registry.register(
            "edgefed_leader_lease_live",
            "1 while this watcher holds a live election lease (it campaigns or leads), 0 when it has none; 1 without an election",
            lease_live.clone(),
        );
        registry.register(
            "edgefed_leader_fencing_token",
            "The fencing token of this watcher's term while it leads an election, 0 otherwise",
            fencing_token.clone(),
        );
        registry.register(
            "edgefed_document_valid",
            "1 when the document as last read is valid, 0 when the watcher keeps an earlier one",
            document_valid.clone(),
        );
        for kind in OperationKind::ALL {
            pending.get_or_create(&kind_label(kind)).set(0);
        }
        Self {
            registry,
            in_sync,
            pending,
            reconciles,
            last_success,
            action_duration,
            round_trips,
            lock_held,
            leader,
            lease_live,
            fencing_token,
            document_valid,
        }
    }

    /// A plan was made: in sync or not, and its actions by kind.
    pub fn planned(&self, actions: &[Action], in_sync: bool) {
        self.in_sync.set(i64::from(in_sync));
        for kind in OperationKind::ALL {
            let n = actions.iter().filter(|a| a.operation.kind() == kind).count();
            self.pending
                .get_or_create(&kind_label(kind))
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The deployment is not known to match the document (a failure, a plan refused).
    pub fn out_of_sync(&self) {
        self.in_sync.set(0);
    }

    /// A reconcile ended with `result`.
    pub fn reconciled(&self, result: &str) {
        self.reconciles
            .get_or_create(&ResultLabel { result: result.into() })
            .inc();
    }

    /// A reconcile ended in sync at `unix_seconds`.
    pub fn succeeded_at(&self, unix_seconds: f64) {
        self.last_success.set(unix_seconds);
    }

    /// An action of `kind` ended after `duration`.
    pub fn action_took(&self, kind: OperationKind, duration: Duration) {
        self.action_duration
            .get_or_create(&kind_label(kind))
            .observe(duration.as_secs_f64());
    }

    /// `n` more calls were made to the backend.
    pub fn round_trips(&self, n: u64) {
        self.round_trips.inc_by(n);
    }

    /// The reconcile lock was taken (`true`) or let go.
    pub fn lock_held(&self, held: bool) {
        self.lock_held.set(i64::from(held));
    }

    /// This watcher leads, or only follows.
    pub fn leader(&self, leads: bool) {
        self.leader.set(i64::from(leads));
    }

    /// The election's status: leading, the lease, the term's token.
    pub fn election(&self, status: &super::leadership::Status) {
        self.leader.set(i64::from(status.leader));
        self.lease_live.set(i64::from(status.lease_live));
        let token = status.token.filter(|_| status.leader).unwrap_or(0);
        self.fencing_token.set(i64::try_from(token).unwrap_or(i64::MAX));
    }

    /// The document as last read is valid, or not.
    pub fn document_valid(&self, valid: bool) {
        self.document_valid.set(i64::from(valid));
    }

    /// The exposition text.
    ///
    /// # Errors
    /// When a metric cannot be written (a formatting error).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn kind_label(kind: OperationKind) -> KindLabel {
    KindLabel {
        kind: kind.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
            .map(str::to_string)
    }

    #[test]
    fn the_exposition_names_every_metric_with_its_labels() {
        let m = Metrics::new();
        m.planned(&[], true);
        m.reconciled("in-sync");
        m.reconciled("in-sync");
        m.reconciled("failed-observe");
        m.round_trips(3);
        m.lock_held(true);
        m.leader(true);
        m.document_valid(true);
        m.election(&crate::watch::Status {
            leader: true,
            token: Some(42),
            lease_live: true,
            why: "elected".into(),
        });
        m.succeeded_at(1_700_000_000.5);
        m.action_took(OperationKind::PublishTopology, Duration::from_millis(20));
        let text = m.encode().expect("encode");
        assert_eq!(value(&text, "edgefed_in_sync").as_deref(), Some("1"), "{text}");
        assert_eq!(
            value(&text, r#"edgefed_reconciles_total{result="in-sync"}"#).as_deref(),
            Some("2"),
            "{text}"
        );
        assert_eq!(
            value(&text, r#"edgefed_reconciles_total{result="failed-observe"}"#).as_deref(),
            Some("1")
        );
        assert_eq!(value(&text, "edgefed_backend_round_trips_total").as_deref(), Some("3"));
        assert_eq!(value(&text, "edgefed_lock_held").as_deref(), Some("1"));
        assert_eq!(value(&text, "edgefed_leader").as_deref(), Some("1"));
        assert_eq!(value(&text, "edgefed_document_valid").as_deref(), Some("1"));
        assert_eq!(value(&text, "edgefed_leader_lease_live").as_deref(), Some("1"));
        assert_eq!(value(&text, "edgefed_leader_fencing_token").as_deref(), Some("42"));
        assert_eq!(
            value(&text, "edgefed_last_success_timestamp_seconds").as_deref(),
            Some("1700000000.5")
        );
        assert_eq!(
            value(
                &text,
                r#"edgefed_action_duration_seconds_count{kind="publish-topology"}"#
            )
            .as_deref(),
            Some("1"),
            "{text}"
        );
        assert_eq!(
            value(&text, r#"edgefed_pending_actions{kind="run-setup"}"#).as_deref(),
            Some("0")
        );
    }
}
