//! [`PowerShellBackend`]: the [`LyncSystem`] that drives a real deployment
//! through the Lync Server Management Shell.
//!
//! Observe is one round trip. Apply sends independent actions side by side,
//! each call one script (one round trip, at most `--parallelism` shells at
//! once), every action in its own try/catch: the Edge-server operations
//! ready together go in one `Invoke-Command` fan-out per verb (and one for
//! setup), the topology edits ready together in one call, and every other
//! action in a call of its own, so what waits on it starts as soon as it
//! ends. The planner chains the cmdlets that write the topology, so two of
//! them are never in flight at once. The
//! phase-3 topology edits are not sent one by one: the backend keeps the
//! topology document it observed, and the first edit of a plan fetches the
//! published document once (saved locally as a backup; its signature must
//! still be the observed one, or the edits are refused because someone else
//! published). `publish-topology` applies every staged edit to the observed
//! document through the topology module and publishes that ONE document —
//! after checking, inside the same script, that the signature is still the
//! observed one.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::Value;

use super::body::{Slot, Values};
use super::commands::{
    CREDENTIAL_FROM_FILE, EXPORT_TOPOLOGY, NO_WRITE_TIME, NOW_HELPER, PER_COMPUTER_HELPERS, SIGNATURE_HELPERS,
    SIMPLE_URL_HELPERS, ServiceVerb, WAIT_REPLICATION_HELPER, WRITE_FILE_HELPER, computer_list, credential_helper,
    service_fan_out, setup_fan_out, shell_body, write_file_call,
};
use super::config::PowerShellConfig;
use super::failover_record::FailoverRecord;
use super::observe::{Observed, observe_script, parse_observation, signature_of};
use super::output_bound::OutputBound;
use super::quote::{ps_value, quote_literal};
use super::remoting::parse_answers;
use super::script::Script;
use super::topology_view::apply_edits;
use super::transport::{Reply, RoundTripStats, StepOutcome, Transport, step};
use crate::backend::{Applied, BackendError, LyncSystem, Observation};
use crate::model::Product;
use crate::model::{FailoverState, Fqdn};
use crate::plan::Operation;
use std::collections::BTreeMap;

/// What the backend remembers between observe and apply.
#[derive(Debug, Default)]
struct Session {
    observed: Option<Observed>,
    staged: Vec<Operation>,
    backup: Option<PathBuf>,
    /// When this session last wrote the topology (its publish, or a later
    /// `Set-CsSite` / `Set-CsEdgeServer`), on the server's clock: the
    /// replication waits compare replicas with it.
    written_at: Option<String>,
}

impl Session {
    /// Notes a topology write at `at` (the server's round-trip time format,
    /// UTC, which sorts as text): the latest write is the one the
    /// replication waits compare with, whatever order calls running side by
    /// side end in.
    fn note_write(&mut self, at: Option<String>) {
        if let Some(at) = at
            && self.written_at.as_ref().is_none_or(|w| *w < at)
        {
            self.written_at = Some(at);
        }
    }
}

/// The PowerShell backend.
#[derive(Debug)]
pub struct PowerShellBackend {
    config: PowerShellConfig,
    transport: Transport,
    session: Mutex<Session>,
    /// Held while edgefed's failover record is read and written: calls run
    /// side by side, and each pool failover records itself before it runs.
    record: Mutex<()>,
}

/// Which call of a set of ready operations an operation goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    /// A service fan-out of this verb to every server concerned.
    Services(ServiceVerb),
    /// The setup fan-out to every server concerned.
    Setup,
    /// The topology edits, staged together.
    TopologyEdits,
    /// An operation in a call of its own (its index).
    Alone(usize),
}

impl Call {
    fn of(index: usize, op: &Operation) -> Self {
        match op {
            Operation::StartServices { .. } | Operation::StopServices { .. } => {
                ServiceVerb::of(op).map_or(Self::Alone(index), Self::Services)
            }
            Operation::RunSetup { .. } => Self::Setup,
            Operation::DisableSipFederation { .. }
            | Operation::EnableSipFederation { .. }
            | Operation::SetMediaEdgePool { .. }
            | Operation::EditEdgeNextHop { .. } => Self::TopologyEdits,
            _ => Self::Alone(index),
        }
    }
}

fn failed(message: impl Into<String>) -> BackendError {
    BackendError::failed(message)
}

fn refused(message: impl Into<String>) -> BackendError {
    BackendError::refused(message)
}

/// The script step of a Management Shell operation: its body
/// (`commands::shell_body`) filled with `values`.
fn shell_step(op: &Operation, values: &Values) -> Plan {
    match shell_body(op) {
        Ok(Some(body)) => match body.fill(values) {
            Ok(text) => Plan::Step(text),
            Err(e) => Plan::Done(Err(failed(format!("{}: {e}", op.kind())))),
        },
        Ok(None) => Plan::Done(Err(failed(format!(
            "{} is not an operation of the PowerShell backend",
            op.kind()
        )))),
        Err(e) => Plan::Done(Err(refused(e.to_string()))),
    }
}

/// The pool a failover or failback acts on, and whether it fails it over.
fn pool_failover_of(op: &Operation) -> Option<(&Fqdn, bool)> {
    match op {
        Operation::InvokePoolFailover { front_end_pool } => Some((front_end_pool, true)),
        Operation::InvokePoolFailback { front_end_pool } => Some((front_end_pool, false)),
        _ => None,
    }
}

/// What a fan-out runs on each of its Edge servers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum FanOutKey {
    /// A service cmdlet.
    Service(ServiceVerb),
    /// Bootstrapper.exe at this path (a PowerShell literal).
    Setup(String),
}

/// What to do with one operation of a batch.
enum Plan {
    /// Answered without the shell.
    Done(Result<Applied, BackendError>),
    /// A script step.
    Step(String),
    /// A topology edit to stage.
    Stage,
    /// The publish step, with the document that will be published.
    Publish(String),
    /// The call's service fan-out of this operation's verb (sent as this
    /// operation's step): each of its servers' answers is read from it.
    FanOut(String),
    /// A service operation whose server is in the fan-out of the operation
    /// at this index.
    Joined(usize),
}

impl PowerShellBackend {
    /// A backend with `config`.
    #[must_use]
    pub fn new(config: PowerShellConfig) -> Self {
        let transport = Transport::new(config.launcher.clone());
        Self {
            config,
            transport,
            session: Mutex::new(Session::default()),
            record: Mutex::new(()),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PowerShellConfig {
        &self.config
    }

    /// Round trips and bytes exchanged so far.
    #[must_use]
    pub fn stats(&self) -> RoundTripStats {
        self.transport.stats()
    }

    /// The topology edits staged for the next `publish-topology`.
    #[must_use]
    pub fn staged_edits(&self) -> Vec<Operation> {
        self.lock().staged.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.record.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts `pool`'s entry of the failover record back to `before` (its
    /// failover failed), under the record's lock.
    fn put_back(&self, record: &FailoverRecord, pool: &Fqdn, before: Option<bool>) -> Result<(), BackendError> {
        let _record = self.record_lock();
        record.set(pool, before)
    }

    /// The `-Credential …` the Edge servers are reached with (empty: the
    /// current identity).
    fn edge_credential(&self) -> &'static str {
        if self.config.edge_credential_file.is_some() {
            CREDENTIAL_FROM_FILE
        } else {
            ""
        }
    }

    /// The values of a setup fan-out's body, or why it cannot be sent.
    fn setup_values(&self, pool: &Fqdn, computer: &Fqdn) -> Result<(String, Values), BackendError> {
        let session = self.lock();
        let Some(observed) = session.observed.as_ref() else {
            return Err(failed("run-setup needs an observation first"));
        };
        let Some(product) = observed.products.get(pool) else {
            return Err(failed(format!(
                "the product version of Edge pool {pool} is unknown (Get-CsService -EdgeServer gave no Version edgefed knows): cannot locate Bootstrapper.exe; on {computer}, find which of {} under Program Files holds Deployment\\Bootstrapper.exe and run it by hand (Run Again)",
                Product::FOLDERS
            )));
        };
        let t = &self.config.timeouts;
        let written_at = session.written_at.as_deref().unwrap_or(NO_WRITE_TIME);
        let written_at = ps_value("topology write time", written_at).map_err(|e| failed(e.to_string()))?;
        let bootstrapper = quote_literal(&product.bootstrapper());
        let values = Values::new()
            .with(Slot::WrittenAt, written_at)
            .with(Slot::ReplicationWait, t.replication_wait.as_secs().to_string())
            .with(Slot::ReplicationPoll, t.replication_poll.as_secs().max(1).to_string())
            .with(Slot::EdgeCredential, self.edge_credential())
            .with(Slot::ThrottleLimit, self.config.parallelism.max(1).to_string())
            .with(Slot::Bootstrapper, bootstrapper.clone());
        Ok((bootstrapper, values))
    }

    /// The operations of a batch that run on Edge servers through
    /// `Invoke-Command`: one fan-out per service verb, and one per
    /// Bootstrapper.exe path for `run-setup`, each to all its servers and
    /// sent as the step of its first operation; the others read their
    /// server's answer from it.
    fn plan_fan_outs(&self, operations: &[Operation]) -> Vec<Option<Plan>> {
        let mut first: BTreeMap<FanOutKey, (usize, Vec<Fqdn>, Values)> = BTreeMap::new();
        let mut plans: Vec<Option<Plan>> = Vec::with_capacity(operations.len());
        let service_values = Values::new()
            .with(Slot::EdgeCredential, self.edge_credential())
            .with(Slot::ThrottleLimit, self.config.parallelism.max(1).to_string());
        for (i, op) in operations.iter().enumerate() {
            let (key, computer, values) = match op {
                Operation::StartServices { computer, .. } | Operation::StopServices { computer, .. } => {
                    let Some(verb) = ServiceVerb::of(op) else {
                        plans.push(None);
                        continue;
                    };
                    (FanOutKey::Service(verb), computer, service_values.clone())
                }
                Operation::RunSetup { pool, computer } => match self.setup_values(pool, computer) {
                    Ok((bootstrapper, values)) => (FanOutKey::Setup(bootstrapper), computer, values),
                    Err(e) => {
                        plans.push(Some(Plan::Done(Err(e))));
                        continue;
                    }
                },
                _ => {
                    plans.push(None);
                    continue;
                }
            };
            let entry = first.entry(key).or_insert_with(|| (i, Vec::new(), values));
            if !entry.1.contains(computer) {
                entry.1.push(computer.clone());
            }
            plans.push(Some(if entry.0 == i {
                Plan::FanOut(String::new())
            } else {
                Plan::Joined(entry.0)
            }));
        }
        for (key, (i, computers, values)) in first {
            let body = match key {
                FanOutKey::Service(verb) => service_fan_out(verb, &computer_list(&computers)),
                FanOutKey::Setup(_) => setup_fan_out(&computers),
            };
            plans[i] = Some(match body.fill(&values) {
                Ok(text) => Plan::FanOut(text),
                Err(e) => Plan::Done(Err(failed(format!("{}: {e}", operations[i].kind())))),
            });
        }
        plans
    }

    fn plan_one(&self, op: &Operation, script: &Script) -> Plan {
        match op {
            Operation::SetDnsSrv { .. } | Operation::SetDnsA { .. } => Plan::Done(Err(failed(
                "DNS records are not changed by the PowerShell backend: they are handled by the DNS backend (RFC 2136)",
            ))),
            Operation::VerifyPort { .. } => Plan::Done(Err(failed(
                "port probes are not run by the PowerShell backend: they are handled by the probe module",
            ))),
            Operation::DisableSipFederation { .. }
            | Operation::EnableSipFederation { .. }
            | Operation::SetMediaEdgePool { .. }
            | Operation::EditEdgeNextHop { .. } => Plan::Stage,
            Operation::PublishTopology {} => self.plan_publish(op, script),
            Operation::WaitForReplication { .. } => {
                let t = &self.config.timeouts;
                let written_at = self.lock().written_at.clone();
                let written_at = match ps_value("topology write time", written_at.as_deref().unwrap_or(NO_WRITE_TIME)) {
                    Ok(literal) => literal,
                    Err(e) => return Plan::Done(Err(failed(e.to_string()))),
                };
                let values = Values::new()
                    .with(Slot::WrittenAt, written_at)
                    .with(Slot::ReplicationWait, t.replication_wait.as_secs().to_string())
                    .with(Slot::ReplicationPoll, t.replication_poll.as_secs().max(1).to_string());
                shell_step(op, &values)
            }
            Operation::StartServices { .. } | Operation::StopServices { .. } | Operation::RunSetup { .. } => {
                Plan::Done(Err(failed(format!(
                    "{} is sent in its call's fan-out (this is a bug in edgefed: please report it)",
                    op.kind()
                ))))
            }
            Operation::SetEdgeNextHop { .. }
            | Operation::SetSiteFederationRoute { .. }
            | Operation::SetSiteXmppRoute { .. }
            | Operation::InvokePoolFailover { .. }
            | Operation::InvokePoolFailback { .. }
            | Operation::InvokeCmsFailover { .. } => shell_step(op, &Values::new()),
        }
    }

    fn plan_publish(&self, op: &Operation, script: &Script) -> Plan {
        let session = self.lock();
        let Some(observed) = session.observed.as_ref() else {
            return Plan::Done(Err(failed("publish-topology needs an observation first")));
        };
        if session.staged.is_empty() {
            return Plan::Done(Err(refused(
                "no topology edit is staged in this session (they were refused or never applied); nothing was published",
            )));
        }
        let doc = match apply_edits(&observed.topology_xml, &session.staged) {
            Ok(bytes) => bytes,
            Err(e) => {
                return Plan::Done(Err(failed(format!(
                    "the staged topology edits cannot be applied to the observed document: {e}; nothing was published"
                ))));
            }
        };
        let signature = match ps_value("topology signature", &observed.signature) {
            Ok(literal) => literal,
            Err(e) => return Plan::Done(Err(failed(e.to_string()))),
        };
        let b64 = base64::engine::general_purpose::STANDARD.encode(&doc);
        let name = format!("edgefed-topology-{}.xml", script.nonce());
        let values = Values::new()
            .with(Slot::Signature, signature)
            .with(Slot::TopologyDocument, write_file_call(&name, &b64));
        match shell_step(op, &values) {
            Plan::Step(body) => Plan::Publish(body),
            other => other,
        }
    }

    fn save_backup(&self, xml: &str) -> Result<PathBuf, BackendError> {
        let dir = &self.config.backup_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            failed(format!(
                "cannot create the backup folder {}: {e}; nothing was published",
                dir.display()
            ))
        })?;
        let sig = signature_of(xml).unwrap_or_else(|_| "unknown".into());
        let safe: String = sig.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let path = dir.join(format!("topology-{safe}-{stamp}.xml"));
        std::fs::write(&path, xml).map_err(|e| {
            failed(format!(
                "cannot write the topology backup {}: {e}; nothing was published",
                path.display()
            ))
        })?;
        Ok(path)
    }

    /// Handles the staging step's answer: backup, signature check, stage.
    fn finish_staging(
        &self,
        reply: Option<&Result<Reply, BackendError>>,
        edits: &[Operation],
    ) -> Result<Applied, BackendError> {
        let backup = {
            let session = self.lock();
            session.backup.clone()
        };
        let backup = match (backup, reply) {
            (Some(path), _) => path,
            (None, Some(Ok(reply))) => {
                let xml = match step(reply, "stage")? {
                    StepOutcome::Ok { value, .. } => value
                        .first()
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| failed("`Get-CsTopology -AsXml` returned no document"))?,
                    StepOutcome::Err(m) => {
                        return Err(failed(format!("`Get-CsTopology -AsXml` failed: {m}")));
                    }
                };
                let now = signature_of(&xml)?;
                let path = self.save_backup(&xml)?;
                let mut session = self.lock();
                let observed = session
                    .observed
                    .as_ref()
                    .ok_or_else(|| failed("topology edits need an observation first"))?;
                if now != observed.signature {
                    return Err(BackendError::stale(format!(
                        "the published topology changed since edgefed observed it (signature {}, now {now}): someone else published; nothing will be published. Observe again and re-plan. (Current topology saved to {})",
                        observed.signature,
                        path.display()
                    )));
                }
                session.backup = Some(path.clone());
                path
            }
            (None, Some(Err(e))) => return Err(e.clone()),
            (None, None) => return Err(failed("the published topology was not fetched")),
        };
        let mut session = self.lock();
        for e in edits {
            if !session.staged.contains(e) {
                session.staged.push(e.clone());
            }
        }
        Ok(Applied {
            detail: Some(format!(
                "staged in the topology document for publish-topology (backup of the published topology: {})",
                backup.display()
            )),
            warnings: Vec::new(),
        })
    }

    fn finish_publish(&self, outcome: StepOutcome) -> Result<Applied, BackendError> {
        match outcome {
            StepOutcome::Ok { value, warnings } => {
                let mut session = self.lock();
                // The body's output ends with the simple URL report, the
                // publish time and the new signature.
                let tail: Vec<Option<String>> = value
                    .iter()
                    .rev()
                    .take(3)
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                let new_sig = tail.first().cloned().flatten();
                let published_at = tail.get(1).cloned().flatten();
                let simple_urls = tail
                    .get(2)
                    .cloned()
                    .flatten()
                    .filter(|r| r.starts_with("simple URLs restored and verified"))
                    .ok_or_else(|| {
                        failed("the topology was published and enabled, but the step did not report the simple URLs restored and verified: check them with Get-CsSimpleUrlConfiguration and set them again if they are gone")
                    })?;
                session.note_write(published_at);
                let staged = std::mem::take(&mut session.staged);
                if let (Some(obs), Some(sig)) = (session.observed.as_mut(), new_sig.as_ref())
                    && let Ok(doc) = apply_edits(&obs.topology_xml, &staged)
                {
                    obs.topology_xml = String::from_utf8_lossy(&doc).into_owned();
                    obs.signature.clone_from(sig);
                }
                let backup = session.backup.take();
                Ok(Applied {
                    detail: Some(format!(
                        "published and enabled ({} edit{}; new signature {}); {simple_urls}; backup of the previous topology: {}",
                        staged.len(),
                        if staged.len() == 1 { "" } else { "s" },
                        new_sig.as_deref().unwrap_or("unknown"),
                        backup.map_or_else(|| "none".into(), |p| p.display().to_string())
                    )),
                    warnings,
                })
            }
            StepOutcome::Err(m) => Err(refused(m)),
        }
    }
}

/// The result of an operation sent in a fan-out: its server's answer.
fn fan_out_result(op: &Operation, outcome: StepOutcome) -> Result<Applied, BackendError> {
    let (what, computer) = match op {
        Operation::StartServices { computer, .. } | Operation::StopServices { computer, .. } => {
            match ServiceVerb::of(op) {
                Some(verb) => (verb.cmdlet(), computer),
                None => return Err(failed(format!("{} is not a service operation", op.kind()))),
            }
        }
        Operation::RunSetup { computer, .. } => ("Bootstrapper.exe", computer),
        _ => return Err(failed(format!("{} is not sent in a fan-out", op.kind()))),
    };
    let value = match outcome {
        StepOutcome::Ok { value, .. } => value,
        StepOutcome::Err(m) => {
            return Err(refused(format!(
                "the `Invoke-Command` fan-out of `{what}` to the Edge servers failed: {m}"
            )));
        }
    };
    let answers = parse_answers(what, &value)?;
    match answers.into_iter().find(|a| a.computer == *computer) {
        Some(a) => match a.outcome {
            Ok(_) => Ok(Applied {
                detail: None,
                warnings: Vec::new(),
            }),
            Err(failure) => Err(failure.to_error(computer)),
        },
        None => Err(failed(format!(
            "the `Invoke-Command` fan-out of `{what}` gave no answer for Edge server {computer}"
        ))),
    }
}

#[async_trait]
impl LyncSystem for PowerShellBackend {
    fn name(&self) -> &'static str {
        "powershell"
    }

    /// One round trip; see the module documentation of `observe`.
    ///
    /// # Errors
    /// [`BackendError::Failed`] when the shell cannot be run or a required
    /// cmdlet or property is missing.
    async fn observe(&self) -> Result<Observation, BackendError> {
        let script = observe_script(self.config.edge_credential_file.as_deref(), self.config.parallelism)?;
        let bound = OutputBound::Observe {
            mib: self.config.max_observe_mib,
        };
        let reply = self
            .transport
            .run_lazy(script, self.config.timeouts.observe, bound)
            .await?;
        let mut observed = parse_observation(reply)?;
        let record = FailoverRecord::in_dir(&self.config.backup_dir).load()?;
        for (pool, p) in &mut observed.deployment.front_end_pools {
            if let FailoverState::Unknown { recorded } = &mut p.failed_over {
                *recorded = record.get(pool).copied();
            }
        }
        let observation = Observation {
            deployment: observed.deployment.clone(),
            warnings: observed.warnings.clone(),
            dns_unreadable: None,
        };
        let mut session = self.lock();
        *session = Session {
            observed: Some(observed),
            staged: Vec::new(),
            backup: None,
            written_at: None,
        };
        Ok(observation)
    }

    async fn apply(&self, operation: &Operation) -> Result<Applied, BackendError> {
        self.apply_batch(std::slice::from_ref(operation))
            .await
            .pop()
            .unwrap_or_else(|| Err(failed("no result")))
    }

    async fn apply_batch(&self, operations: &[Operation]) -> Vec<Result<Applied, BackendError>> {
        let mut script = Script::new();
        let mut plans = Vec::with_capacity(operations.len());
        let mut timeout = Duration::ZERO;
        let mut needs_wait = false;
        let mut needs_publish = false;
        let mut any_step = false;
        let mut needs_fan_out = false;
        let record = FailoverRecord::in_dir(&self.config.backup_dir);
        // Per operation index: the pool and edgefed's record before this batch.
        let mut recorded_before: BTreeMap<usize, (Fqdn, Option<bool>)> = BTreeMap::new();
        for (i, (op, fan_out)) in operations.iter().zip(self.plan_fan_outs(operations)).enumerate() {
            let mut plan = fan_out.unwrap_or_else(|| self.plan_one(op, &script));
            if let (Some((pool, failed_over)), Plan::Step(_)) = (pool_failover_of(op), &plan) {
                // Recorded before it runs, so it never runs unrecorded.
                let _record = self.record_lock();
                match record
                    .load()
                    .and_then(|r| record.set(pool, Some(failed_over)).map(|()| r.get(pool).copied()))
                {
                    Ok(before) => {
                        recorded_before.insert(i, (pool.clone(), before));
                    }
                    Err(e) => plan = Plan::Done(Err(e)),
                }
            }
            if matches!(
                plan,
                Plan::Step(_) | Plan::Publish(_) | Plan::FanOut(_) | Plan::Joined(_)
            ) {
                timeout = timeout.saturating_add(self.config.timeouts.for_operation(op));
                any_step = true;
            }
            needs_fan_out |= matches!(plan, Plan::FanOut(_));
            needs_wait |= matches!(op, Operation::RunSetup { .. } | Operation::WaitForReplication { .. })
                && matches!(plan, Plan::Step(_) | Plan::FanOut(_));
            needs_publish |= matches!(plan, Plan::Publish(_));
            plans.push(plan);
        }
        let edits: Vec<Operation> = operations
            .iter()
            .zip(&plans)
            .filter(|(_, p)| matches!(p, Plan::Stage))
            .map(|(op, _)| op.clone())
            .collect();
        let has_observation = self.lock().observed.is_some();
        let needs_stage = !edits.is_empty() && has_observation && self.lock().backup.is_none();
        if needs_fan_out {
            for h in PER_COMPUTER_HELPERS {
                script.line(h);
            }
        }
        if needs_wait {
            script.line(WAIT_REPLICATION_HELPER);
        }
        if (needs_wait || needs_fan_out)
            && let Some(path) = &self.config.edge_credential_file
        {
            match credential_helper(path) {
                Ok(h) => script.line(h),
                Err(e) => {
                    return operations.iter().map(|_| Err(failed(e.to_string()))).collect();
                }
            }
        }
        let writes_topology = operations
            .iter()
            .zip(&plans)
            .any(|(op, plan)| op.kind().writes_published_topology() && matches!(plan, Plan::Step(_)));
        if writes_topology && !needs_publish {
            script.line(NOW_HELPER);
        }
        if needs_publish {
            for h in SIGNATURE_HELPERS {
                script.line(h);
            }
            script.line(WRITE_FILE_HELPER);
            script.line(NOW_HELPER);
            for h in SIMPLE_URL_HELPERS {
                script.line(h);
            }
        }
        if needs_stage {
            script.step("stage", EXPORT_TOPOLOGY);
            timeout = timeout.saturating_add(self.config.timeouts.stage_topology);
        }
        for (i, plan) in plans.iter().enumerate() {
            if let Plan::Step(body) | Plan::Publish(body) | Plan::FanOut(body) = plan {
                script.step(&format!("a{i}"), body);
            }
        }
        let reply = if any_step || needs_stage {
            Some(self.transport.run(script, timeout).await)
        } else {
            None
        };
        let staged = if edits.is_empty() {
            None
        } else if !has_observation {
            Some(Err(failed("topology edits need an observation first")))
        } else {
            Some(self.finish_staging(reply.as_ref(), &edits))
        };
        let results: Vec<Result<Applied, BackendError>> = plans
            .into_iter()
            .enumerate()
            .map(|(i, plan)| match plan {
                Plan::Done(r) => r,
                Plan::Stage => staged.clone().unwrap_or_else(|| Err(failed("not staged"))),
                Plan::FanOut(_) | Plan::Joined(_) => {
                    let at = if let Plan::Joined(at) = plan { at } else { i };
                    let reply = match reply.as_ref() {
                        Some(Ok(r)) => r,
                        Some(Err(e)) => return Err(e.clone()),
                        None => return Err(failed("the script was not run")),
                    };
                    fan_out_result(&operations[i], step(reply, &format!("a{at}"))?)
                }
                Plan::Step(_) | Plan::Publish(_) => {
                    let reply = match reply.as_ref() {
                        Some(Ok(r)) => r,
                        Some(Err(e)) => return Err(e.clone()),
                        None => return Err(failed("the script was not run")),
                    };
                    let outcome = match step(reply, &format!("a{i}")) {
                        Ok(o) => o,
                        Err(e) => return Err(e),
                    };
                    if matches!(plan, Plan::Publish(_)) {
                        self.finish_publish(outcome)
                    } else {
                        match outcome {
                            StepOutcome::Ok { warnings, value } => {
                                if operations[i].kind().writes_published_topology() {
                                    // The body prints the time it took before the write, last.
                                    let at = value.last().and_then(Value::as_str).map(str::to_string);
                                    self.lock().note_write(at);
                                }
                                Ok(Applied { detail: None, warnings })
                            }
                            StepOutcome::Err(m) => Err(refused(m)),
                        }
                    }
                }
            })
            .collect();
        results
            .into_iter()
            .enumerate()
            .map(|(i, result)| match (result, recorded_before.get(&i)) {
                (Err(e), Some((pool, before))) => match self.put_back(&record, pool, *before) {
                    Ok(()) => Err(e),
                    Err(undo) => Err(failed(format!(
                        "{e}; and edgefed's failover record could not be put back ({undo}): check {} before reconciling again",
                        record.path().display()
                    ))),
                },
                (result, _) => result,
            })
            .collect()
    }

    /// Shells at once: `--parallelism`.
    fn max_concurrency(&self) -> usize {
        usize::try_from(self.config.parallelism.max(1)).unwrap_or(1)
    }

    fn batches(&self) -> bool {
        true
    }

    /// One fan-out per service verb, one for setup, one for the topology
    /// edits, and a call of its own for every other operation.
    fn calls(&self, operations: &[Operation]) -> Vec<Vec<usize>> {
        let mut calls: BTreeMap<Call, Vec<usize>> = BTreeMap::new();
        for (i, op) in operations.iter().enumerate() {
            calls.entry(Call::of(i, op)).or_default().push(i);
        }
        let mut calls: Vec<Vec<usize>> = calls.into_values().collect();
        calls.sort_by_key(|c| c[0]);
        calls
    }
}
