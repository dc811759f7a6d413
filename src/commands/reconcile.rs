//! `edgefed reconcile`: plan and apply; `--check` only compares;
//! `--plan FILE` applies exactly a saved plan, refusing a stale one.

use std::sync::Arc;

use crate::app::{self, Access, Failure, Outcome, print};
use crate::backend::Backend;
use crate::cli::{Global, OutputFormat, ReconcileArgs};
use crate::executor::{self, ApplyReport, Event, Outcome as ActionOutcome};
use crate::exit;
use crate::plan::{Action, Plan};
use crate::render::json::{PlanReadError, differences};
use crate::render::{self, PlanDocument};

/// Runs `reconcile`.
///
/// # Errors
/// Invalid document, backend failure, stale plan, lock held, or a failed action (exit 1).
pub fn run(global: &Global, args: &ReconcileArgs) -> Outcome {
    let format = global.output.unwrap_or(OutputFormat::Human);
    if !matches!(format, OutputFormat::Human | OutputFormat::Json) {
        return Err(Failure::usage("`reconcile` prints human or json"));
    }
    if let Some(path) = &args.plan {
        return apply_saved(global, path, format);
    }
    let Some(file) = &args.file else {
        return Err(Failure::usage("give -f DESIRED.yaml or --plan PLAN.json"));
    };
    let desired = super::load_desired(file)?;
    // A check only reads; a reconcile holds the lab's lock from observation to the end.
    let access = if args.check { Access::Read } else { Access::Write };
    let super::plan::Planned {
        backend,
        observed,
        plan,
        rt,
    } = super::plan::make_plan(global, &desired, access)?;
    let doc = PlanDocument::new(&plan, &desired, backend.name(), &observed);
    if args.check {
        print(&super::plan::render(format, &plan, &doc)?);
        return Ok(if plan.in_sync() { exit::SUCCESS } else { exit::DRIFT });
    }
    if format == OutputFormat::Human {
        print(&render::human::plan(&plan));
    }
    if plan.actions.is_empty() {
        if format == OutputFormat::Json {
            print(&result_json(&doc, &ApplyReport::default()));
        }
        return Ok(exit::SUCCESS);
    }
    let report = apply(&rt, &plan, backend, format);
    finish(&doc, &plan, &report, format)
}

fn apply(rt: &tokio::runtime::Runtime, plan: &Plan, backend: Arc<dyn Backend>, format: OutputFormat) -> ApplyReport {
    let total = plan.actions.len();
    if format == OutputFormat::Human {
        print("\nApplying:\n");
    }
    rt.block_on(executor::execute(&plan.actions, backend, |event| {
        if format != OutputFormat::Human {
            return;
        }
        match event {
            Event::Started(a) => tracing::info!("{}", render::human::started(a, total)),
            Event::Finished(a, o) => print(&format!("{}\n", render::human::finished(a, total, o))),
        }
    }))
}

fn finish(doc: &PlanDocument, plan: &Plan, report: &ApplyReport, format: OutputFormat) -> Outcome {
    match format {
        OutputFormat::Json => print(&result_json(doc, report)),
        _ => print(&format!("\n{}", render::human::report(&plan.actions, report))),
    }
    Ok(if report.complete() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

fn result_json(doc: &PlanDocument, report: &ApplyReport) -> String {
    let outcome = |o: &ActionOutcome| match o {
        ActionOutcome::Applied { applied, duration } => serde_json::json!({
            "status": "applied", "durationMs": duration.as_millis() as u64,
            "detail": applied.detail, "warnings": applied.warnings }),
        ActionOutcome::Failed { error, duration } => serde_json::json!({
            "status": "failed", "durationMs": duration.as_millis() as u64, "message": error.to_string() }),
        ActionOutcome::NotAttempted { blocked_by } => {
            serde_json::json!({ "status": "not-attempted", "blockedBy": blocked_by })
        }
    };
    let results: Vec<serde_json::Value> = report
        .outcomes
        .iter()
        .map(|(id, o)| {
            let mut v = outcome(o);
            v["id"] = serde_json::json!(id);
            v
        })
        .collect();
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    value["apply"] = serde_json::json!({
        "complete": report.complete(),
        "applied": report.applied().len(),
        "failed": report.failed().len(),
        "notAttempted": report.not_attempted().len(),
        "results": results,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// `reconcile --plan FILE`: observe again; refuse if anything changed.
fn apply_saved(global: &Global, path: &std::path::Path, format: OutputFormat) -> Outcome {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::error(format!("cannot read plan {}: {e}", path.display())))?;
    let doc = PlanDocument::from_json(&text).map_err(|e| match e {
        PlanReadError::NotAPlan(e) => Failure::error(format!(
            "{}:{}:{}: not an edgefed plan: {e} — write one with `edgefed plan -f DESIRED.yaml --out {}`",
            path.display(),
            e.line(),
            e.column(),
            path.display()
        )),
        PlanReadError::Version(_) => Failure::error(format!(
            "{}: {e} (`edgefed plan -f DESIRED.yaml --out {}`)",
            path.display(),
            path.display()
        )),
    })?;
    let plan = doc
        .plan()
        .map_err(|m| Failure::error(format!("{}: {m}", path.display())))?;
    check_ids(&plan.actions).map_err(|m| Failure::error(format!("{}: {m}", path.display())))?;
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
    let backend = app::open_backend(global, Access::Write, managed)?;
    if backend.name() != doc.observed.backend {
        return Err(Failure::error(format!(
            "{} was made against the {} backend, not {}: use `--backend {}`",
            path.display(),
            doc.observed.backend,
            backend.name(),
            doc.observed.backend
        )));
    }
    let now = app::observe(&rt, backend.as_ref())?.deployment;
    if now.fingerprint() != doc.observed.fingerprint {
        let changed = doc
            .observed
            .state
            .as_ref()
            .map(|before| differences(before, &now))
            .unwrap_or_default();
        let mut msg = format!(
            "the plan {} is stale: the deployment changed since it was made (fingerprint {} → {}); nothing was applied.\n",
            path.display(),
            doc.observed.fingerprint,
            now.fingerprint()
        );
        for c in changed.iter().take(20) {
            msg.push_str(&format!("  changed: {c}\n"));
        }
        if changed.len() > 20 {
            msg.push_str(&format!("  … and {} more\n", changed.len() - 20));
        }
        msg.push_str("Make a new plan: `edgefed plan -f DESIRED.yaml --out PLAN.json`.");
        return Err(Failure::error(msg));
    }
    if format == OutputFormat::Human {
        print(&render::human::plan(&plan));
    }
    if plan.actions.is_empty() {
        return Ok(exit::SUCCESS);
    }
    let report = apply(&rt, &plan, backend, format);
    finish(&doc, &plan, &report, format)
}

/// A saved plan's ids must be 1..n in order, and dependencies point backwards.
fn check_ids(actions: &[Action]) -> Result<(), String> {
    for (i, a) in actions.iter().enumerate() {
        if a.id != i + 1 {
            return Err(format!(
                "action ids must be 1..{} in order; found {} at position {}",
                actions.len(),
                a.id,
                i + 1
            ));
        }
        if let Some(d) = a.depends_on_ids().find(|d| *d >= a.id || *d == 0) {
            return Err(format!("action {} depends on {d}, which does not come before it", a.id));
        }
    }
    Ok(())
}
