//! `edgefed reconcile`: plan and apply; `--check` only compares;
//! `--plan FILE` applies exactly a saved plan, refusing a stale one or one whose
//! actions are not what its document gives. A run
//! whose actions all succeeded ends by verifying (see [`super::verify`]).

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Outcome;
use super::progress;
use super::run_journal::{self, RunJournal};
use super::verify::{self, Remaining};
use crate::app::{self, Access, print};
use crate::backend::Backend;
use crate::cli::{OutputFormat, ReconcileArgs};
use crate::error::{Error, SavedPlanProblem};
use crate::executor::{self, ApplyReport, Event};
use crate::exit;
use crate::plan::{Action, Plan, PlanError, first_difference};
use crate::render::json::differences;
use crate::render::report::ReportDocument;
use crate::render::{self, PlanDocument};
use crate::settings::Settings;

/// Runs `reconcile`.
///
/// # Errors
/// Invalid document, backend failure, stale plan, lock held, or a failed action (exit 1).
pub fn run(settings: &Settings, args: &ReconcileArgs) -> Outcome {
    let format = settings.output.unwrap_or(OutputFormat::Human);
    if args.check {
        // A check prints the plan, so it takes every format `plan` takes.
        super::plan::check_format(format, "reconcile --check")?;
    } else if !matches!(format, OutputFormat::Human | OutputFormat::Json) {
        return Err(Error::usage(format!(
            "`reconcile` prints human or json while it applies, not {}; `reconcile --check` and `plan` also print markdown and powershell",
            super::format_name(format)
        )));
    }
    if let Some(path) = &args.plan {
        return apply_saved(settings, path, format, args);
    }
    let Some(file) = &args.file else {
        return Err(Error::usage("give -f DESIRED.yaml or --plan PLAN.json"));
    };
    let desired = super::load_desired(file)?;
    // A check only reads; a reconcile holds the lab's lock from observation to the end.
    let access = if args.check { Access::Read } else { Access::Write };
    if !args.check {
        run_journal::warn_if_last_run_died(settings);
    }
    let super::plan::Planned {
        backend,
        observed,
        plan,
        dns_unreadable,
        rt,
    } = super::plan::make_plan(settings, &desired, access)?;
    let doc = PlanDocument::new(&plan, &desired, backend.name(), &observed);
    if args.check {
        // Records that could not be read are not known to be absent: a check
        // that reported them as drift would send a pipeline after a resolver
        // problem as if it were a change.
        if let Some(why) = dns_unreadable {
            return Err(Error::DnsUnreadable { why });
        }
        print(&super::plan::render(format, &plan, &doc)?);
        return Ok(if plan.in_sync() { exit::SUCCESS } else { exit::DRIFT });
    }
    if format == OutputFormat::Human {
        print(&render::human::plan(&plan));
    }
    if plan.actions.is_empty() {
        if format == OutputFormat::Json {
            print(&result_json(&doc, &ApplyReport::default(), None)?);
        }
        return Ok(exit::SUCCESS);
    }
    super::approval::obtain(settings, &plan, args.yes)?;
    let report = apply(settings, &rt, &doc, &plan, backend.clone(), format, args)?;
    let verified =
        (report.complete() && report.stopped.is_none()).then(|| verify::after_apply(&rt, backend.as_ref(), &desired));
    finish(&doc, &plan, &report, verified, format)
}

/// Applies the plan, journaling the run and showing its progress (see
/// [`super::progress`]); a signal (see [`crate::signals`]) stops it between
/// actions.
///
/// # Errors
/// [`Error::Journal`] when the journal cannot be written: nothing is applied.
fn apply(
    settings: &Settings,
    rt: &tokio::runtime::Runtime,
    doc: &PlanDocument,
    plan: &Plan,
    backend: Arc<dyn Backend>,
    format: OutputFormat,
    args: &ReconcileArgs,
) -> Result<ApplyReport, Error> {
    use std::io::IsTerminal as _;

    let mut journal = RunJournal::start(settings, doc, plan, backend.name())?;
    if format == OutputFormat::Human {
        print("\nApplying:\n");
    }
    let mode = progress::Mode::choose(format, settings.quiet, std::io::stderr().is_terminal());
    let every = args.still_running_every.unwrap_or(progress::STILL_RUNNING_EVERY);
    let sink: progress::Sink = Arc::new(|line: &str| app::note(line));
    let mut shown = progress::Progress::start(mode, plan.actions.len(), every, Arc::new(progress::SystemClock), sink);
    let stop = crate::signals::current();
    let handled = crate::signals::handled();
    let report = rt.block_on(executor::execute_until(&plan.actions, backend, &stop, |event| {
        journal.progress(&event);
        if let Event::Stopping {
            reason,
            in_flight,
            grace,
        } = &event
        {
            shown.note(&stopping(*reason, in_flight, *grace));
        }
        if let Some(line) = shown.event(&event).filter(|_| format == OutputFormat::Human) {
            shown.print(&format!("{line}\n"));
        }
    }));
    drop(shown);
    drop(handled);
    journal.end(&report);
    Ok(report)
}

/// What stderr says when a stop is requested during apply.
fn stopping(reason: crate::stop::StopReason, in_flight: &[&Action], grace: std::time::Duration) -> String {
    if in_flight.is_empty() {
        return format!("edgefed: {} received: no new action is started", reason.name());
    }
    let ids: Vec<String> = in_flight.iter().map(|a| format!("#{} {}", a.id, a.operation)).collect();
    format!(
        "edgefed: {} received: no new action is started; waiting up to {}s for {} to end (send it again to stop at once)",
        reason.name(),
        grace.as_secs(),
        ids.join(", ")
    )
}

/// Prints the report and the verification; a run is a success only if every
/// action succeeded and nothing differs afterwards.
fn finish(
    doc: &PlanDocument,
    plan: &Plan,
    report: &ApplyReport,
    verified: Option<Result<Remaining, Error>>,
    format: OutputFormat,
) -> Outcome {
    let (remaining, verify_error) = match verified {
        Some(Ok(r)) => (Some(r), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    match format {
        OutputFormat::Json => print(&result_json(doc, report, remaining.as_ref())?),
        _ => {
            print(&format!("\n{}", render::human::report(&plan.actions, report)));
            if let Some(r) = remaining.as_ref().filter(|r| !r.in_sync()) {
                print(&r.human());
            }
        }
    }
    if let Some(e) = verify_error {
        return Err(e);
    }
    if let Some(stopped) = &report.stopped {
        return Ok(stopped.reason.exit_code());
    }
    Ok(
        if report.complete() && remaining.as_ref().is_none_or(Remaining::in_sync) {
            exit::SUCCESS
        } else {
            exit::FAILURE
        },
    )
}

fn result_json(doc: &PlanDocument, report: &ApplyReport, remaining: Option<&Remaining>) -> Result<String, Error> {
    Ok(ReportDocument::new(doc.clone(), report, remaining.map(Remaining::wire)).to_json())
}

/// `reconcile --plan FILE`: observe again; refuse if anything changed.
fn apply_saved(settings: &Settings, path: &std::path::Path, format: OutputFormat, args: &ReconcileArgs) -> Outcome {
    let saved_plan = |problem| Error::SavedPlan {
        path: path.to_path_buf(),
        problem,
    };
    let (doc, plan) = super::saved_plan::read(path)?;
    let rt = app::runtime()?;
    // Observe the same DNS record sets the plan saw.
    let mut managed: Vec<_> = doc
        .observed
        .state
        .iter()
        .flat_map(|s| s.dns.iter().map(|r| (r.name().clone(), r.record_type())))
        .collect();
    for a in &doc.actions {
        match &a.operation {
            crate::plan::Operation::SetDnsSrv { name, .. } => {
                managed.push((name.clone(), crate::model::RecordType::Srv))
            }
            crate::plan::Operation::SetDnsA { name, .. } => managed.push((name.clone(), crate::model::RecordType::A)),
            _ => {}
        }
    }
    managed.sort();
    managed.dedup();
    run_journal::warn_if_last_run_died(settings);
    let backend = app::open_backend(settings, Access::Write, managed)?;
    if backend.name() != doc.observed.backend {
        return Err(saved_plan(SavedPlanProblem::OtherBackend {
            made_with: doc.observed.backend.clone(),
            now: backend.name(),
        }));
    }
    let now = app::observe(&rt, backend.as_ref())?.deployment;
    if now.fingerprint() != doc.observed.fingerprint {
        let changed = doc
            .observed
            .state
            .as_ref()
            .map(|before| differences(before, &now))
            .unwrap_or_default();
        return Err(Error::StalePlan {
            path: path.to_path_buf(),
            before: doc.observed.fingerprint.clone(),
            after: now.fingerprint(),
            changes: changed,
        });
    }
    // The saved actions must be exactly what their document gives against
    // this observation: a plan edited by hand is refused.
    let desired = saved_desired(&doc).map_err(saved_plan)?;
    let planning = tracing::info_span!("plan").entered();
    let derived = crate::plan::plan(&desired, &now).map_err(|e| match e {
        PlanError::Rules(d) => Error::PlanRules(d),
        PlanError::Bug(bug) => Error::PlannerBug(bug),
    })?;
    drop(planning);
    if let Some(difference) = first_difference(&plan.actions, &derived.actions) {
        return Err(saved_plan(SavedPlanProblem::Tampered {
            file: doc.desired.file.clone(),
            difference,
        }));
    }
    if format == OutputFormat::Human {
        print(&render::human::plan(&plan));
    }
    if plan.actions.is_empty() {
        return Ok(exit::SUCCESS);
    }
    super::approval::obtain(settings, &plan, args.yes)?;
    let report = apply(settings, &rt, &doc, &plan, backend.clone(), format, args)?;
    let verified =
        (report.complete() && report.stopped.is_none()).then(|| verify::after_apply(&rt, backend.as_ref(), &desired));
    finish(&doc, &plan, &report, verified, format)
}

/// The document a saved plan was made from, read again from where the plan
/// says and checked against the SHA-256 the plan recorded.
fn saved_desired(doc: &PlanDocument) -> Result<crate::document::Desired, SavedPlanProblem> {
    let file = &doc.desired.file;
    let missing = |why: String| SavedPlanProblem::DocumentMissing {
        file: file.clone(),
        why,
    };
    if file == "-" {
        return Err(missing("it was read from standard input".into()));
    }
    let bytes = crate::fs_util::read_capped(std::path::Path::new(file), crate::document::MAX_DOCUMENT_BYTES as u64)
        .map_err(|e| missing(e.to_string()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    if sha256 != doc.desired.sha256 {
        return Err(SavedPlanProblem::DocumentChanged {
            file: file.clone(),
            recorded: doc.desired.sha256.clone(),
            now: sha256,
        });
    }
    super::load_desired(file).map_err(|e| missing(e.to_string()))
}
