//! `edgefed plan -f DESIRED.yaml`: observe, compare, print the plan.

use super::Outcome;
use crate::app::{self, Access, print};
use crate::cli::{OutputFormat, PlanArgs};
use crate::document::Desired;
use crate::error::Error;
use crate::exit;
use crate::model::Deployment;
use crate::plan::{Plan, PlanError};
use crate::render::{self, PlanDocument};
use crate::settings::Settings;

/// A plan and what it was made against.
pub(crate) struct Planned {
    /// The backend that observed (and will apply).
    pub backend: std::sync::Arc<dyn crate::backend::Backend>,
    /// The observation.
    pub observed: Deployment,
    /// The plan.
    pub plan: Plan,
    /// Why external DNS could not be read, when it could not.
    pub dns_unreadable: Option<String>,
    /// The runtime the backend lives on.
    pub rt: tokio::runtime::Runtime,
}

/// Observes through the configured backend and plans.
pub(crate) fn make_plan(settings: &Settings, desired: &Desired, access: Access) -> Result<Planned, Error> {
    let rt = app::runtime()?;
    let backend = app::open_backend(settings, access, desired.managed_records())?;
    let observation = app::observe(&rt, backend.as_ref())?;
    let planning = tracing::info_span!("plan").entered();
    let mut plan = crate::plan::plan(desired, &observation.deployment).map_err(|e| match e {
        PlanError::Rules(d) => Error::PlanRules(d),
        PlanError::Bug(bug) => Error::PlannerBug(bug),
    })?;
    drop(planning);
    plan.warnings.extend(observation.warnings);
    if settings.dns_is_manual() {
        for a in &plan.actions {
            if let crate::backend::Routed::Dns(update) = crate::backend::route(&a.operation) {
                plan.warnings.push(format!(
                    "manual step #{}: {} (no --dns-server: edgefed does not change DNS itself)",
                    a.id,
                    crate::backend::manual_record(update.change())
                ));
            }
        }
    }
    Ok(Planned {
        backend,
        observed: observation.deployment,
        plan,
        dns_unreadable: observation.dns_unreadable,
        rt,
    })
}

/// Renders a plan in the requested format.
pub(crate) fn render(format: OutputFormat, plan: &Plan, doc: &PlanDocument) -> Result<String, Error> {
    let observed = doc.observed.state.as_ref();
    Ok(match format {
        OutputFormat::Human => human(plan, false),
        OutputFormat::Json => doc.to_json(),
        OutputFormat::Markdown => render::markdown::plan(plan, observed),
        OutputFormat::Powershell => {
            // The runbook carries the plan's warnings (unreachable servers,
            // manual DNS steps) as comments at its top, and stderr repeats them.
            let mut text = String::new();
            for w in &plan.warnings {
                app::note(&format!("warning: {w}"));
                text.push_str(&format!("# WARNING: {w}\n"));
            }
            text.push_str(&crate::powershell::runbook(&plan.actions, observed));
            text
        }
        OutputFormat::Yaml | OutputFormat::Github => {
            check_format(format, "plan")?;
            String::new()
        }
    })
}

/// The plan for people; `explain` adds why each action waits.
fn human(plan: &Plan, explain: bool) -> String {
    if explain {
        render::human::plan_explained(plan)
    } else {
        render::human::plan(plan)
    }
}

/// Refuses a format a plan cannot be printed in; `command` names the command
/// for the message.
///
/// # Errors
/// [`Error::Usage`] for `yaml` and `github`.
pub(crate) fn check_format(format: OutputFormat, command: &str) -> Result<(), Error> {
    match format {
        OutputFormat::Yaml | OutputFormat::Github => Err(Error::usage(format!(
            "`{command}` prints human, json, markdown or powershell, not {}",
            super::format_name(format)
        ))),
        OutputFormat::Human | OutputFormat::Json | OutputFormat::Markdown | OutputFormat::Powershell => Ok(()),
    }
}

/// Runs `plan`.
///
/// # Errors
/// Invalid document, plan-time rule, or backend failure (exit 1).
pub fn run(settings: &Settings, args: &PlanArgs) -> Outcome {
    let format = settings.output.unwrap_or(OutputFormat::Human);
    check_format(format, "plan")?;
    if args.explain && format != OutputFormat::Human {
        return Err(Error::usage(
            "`--explain` explains the human output; the json output already has each action's `waitsFor` with its reasons",
        ));
    }
    let desired = super::load_desired(&args.doc.file)?;
    // `plan` prints what it saw; an unreadable DNS is among its warnings.
    let Planned {
        backend,
        observed,
        plan,
        dns_unreadable: _,
        rt: _rt,
    } = make_plan(settings, &desired, Access::Read)?;
    let backend_name = backend.name();
    // A backend that only read changes nothing when it goes; the lab's holds
    // a whole copy of the lab, freed before the plan is rendered.
    drop(backend);
    let outcome = if args.detailed_exitcode && !plan.in_sync() {
        exit::DRIFT
    } else {
        exit::SUCCESS
    };
    if format == OutputFormat::Human {
        match &args.out {
            Some(out) => save(
                out,
                &PlanDocument::with_observation(&plan, &desired, backend_name, observed),
            )?,
            None => drop(observed),
        }
        print(&human(&plan, args.explain));
        return Ok(outcome);
    }
    let doc = PlanDocument::with_observation(&plan, &desired, backend_name, observed);
    if let Some(out) = &args.out {
        save(out, &doc)?;
    }
    if format == OutputFormat::Json {
        // The document carries all the JSON needs.
        drop(plan);
        drop(desired);
        app::print_streamed(|out| doc.write_json(out));
    } else {
        print(&render(format, &plan, &doc)?);
    }
    Ok(outcome)
}

/// Writes the plan JSON to `out` (`plan --out`).
fn save(out: &std::path::Path, doc: &PlanDocument) -> Result<(), Error> {
    app::write_file(out, doc.to_json().as_bytes())?;
    app::note(&format!(
        "edgefed: plan written to {} (apply it with `edgefed reconcile --plan {}`)",
        out.display(),
        out.display()
    ));
    Ok(())
}
