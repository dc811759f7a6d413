//! `edgefed watch -f DESIRED.yaml`: continuous reconciliation (see
//! [`crate::watch`]). This file checks the options and starts the watcher.

use super::Outcome;
use crate::cli::{OutputFormat, WatchArgs, WatchMode};
use crate::error::Error;
use crate::lock::{EtcdSpec, LockSpec};
use crate::settings::Settings;
use crate::watch::election::{Elected, poll_for};
use crate::watch::etcd_ballot::EtcdBallot;
use crate::watch::{self, AlwaysLeader, Limits, Mode, Policy};

/// Runs `watch` until SIGTERM or SIGINT.
///
/// # Errors
/// A bad option (exit 64), `--mode correct` on a real system without
/// `--yes`, or an address that cannot be listened on.
pub fn run(settings: &Settings, args: &WatchArgs) -> Outcome {
    let format = super::output_format(settings, "watch", &[OutputFormat::Human, OutputFormat::Json])?;
    let config = config(settings, args, format)?;
    let Some(spec) = &args.leader_election else {
        return watch::run(settings, &config, &AlwaysLeader);
    };
    let spec = election_spec(spec)?;
    let ballot = EtcdBallot::new(spec.clone(), settings.network_timeout)
        .map_err(|e| Error::usage(format!("--leader-election {spec}: {e}")))?;
    let elected = Elected::start(ballot, poll_for(spec.ttl), settings.network_timeout)
        .map_err(|e| Error::Internal(format!("cannot start the election's runtime: {e}")))?;
    // Dropped on return: resigns and revokes the lease.
    watch::run(settings, &config, &elected)
}

/// `--leader-election SPEC`: an etcd URL, as `--lock` reads it.
fn election_spec(spec: &str) -> Result<EtcdSpec, Error> {
    let form = "give etcd://HOST:PORT/KEY[?ttl=DURATION], e.g. etcd://127.0.0.1:2379/edgefed/prod/leader";
    match LockSpec::parse(spec) {
        Ok(LockSpec::Etcd(etcd)) => Ok(etcd),
        Ok(LockSpec::File(_)) => Err(Error::usage(format!(
            "--leader-election {spec}: an election needs etcd, not a file; {form}"
        ))),
        Err(e) => Err(Error::usage(format!("--leader-election {spec}: {}; {form}", e.problem))),
    }
}

fn config(settings: &Settings, args: &WatchArgs, format: OutputFormat) -> Result<watch::Config, Error> {
    if args.file == "-" {
        return Err(Error::usage(
            "`watch` needs the document as a file it can watch, not standard input: give -f DESIRED.yaml",
        ));
    }
    let ceiling = std::time::Duration::from_secs(crate::limits::MAX_TIMEOUT_SECS);
    for (option, value) in [
        ("--interval", args.interval),
        ("--retry-min", args.retry_min),
        ("--retry-max", args.retry_max),
        ("--stop-timeout", args.stop_timeout),
    ] {
        if value > ceiling {
            return Err(Error::usage(format!(
                "{option} {}: at most 7 days",
                humantime::format_duration(value)
            )));
        }
    }
    if args.interval.is_zero() {
        return Err(Error::usage(
            "--interval must be longer than zero, e.g. `--interval 5m`",
        ));
    }
    if args.retry_min.is_zero() || args.retry_min > args.retry_max {
        return Err(Error::usage(format!(
            "--retry-min ({}) must be longer than zero and at most --retry-max ({})",
            humantime::format_duration(args.retry_min),
            humantime::format_duration(args.retry_max)
        )));
    }
    if args.max_actions == Some(0) {
        return Err(Error::usage(
            "--max-actions 0 would block every change; use `--mode monitor` to only report drift",
        ));
    }
    let mode = match args.mode {
        WatchMode::Monitor => Mode::Monitor,
        WatchMode::Correct => Mode::Correct,
    };
    if mode == Mode::Correct
        && !args.yes
        && let Some(target) = super::approval::real_systems(settings)
    {
        return Err(Error::NotApproved {
            reason: format!(
                "`watch --mode correct` would change {target} with nobody at a terminal to ask: \
                 review the plan (`edgefed plan`) and pass `--yes` (or `--auto-approve`), or use `--mode monitor`"
            ),
        });
    }
    Ok(watch::Config {
        document: args.file.clone(),
        limits: Limits {
            mode,
            max_actions: args.max_actions,
            yes: args.yes,
        },
        policy: Policy {
            interval: args.interval,
            jitter: f64::from(args.jitter) / 100.0,
            retry_min: args.retry_min,
            retry_max: args.retry_max,
        },
        metrics_addr: args.metrics_addr,
        json: format == OutputFormat::Json,
        stop_timeout: args.stop_timeout,
    })
}
