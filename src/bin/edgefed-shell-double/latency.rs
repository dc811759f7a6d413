//! The latency model: how long the cmdlets edgefed sends take on a real
//! deployment, slept in real time scaled by a factor so a test or bench
//! can run a plan in seconds and report it in model seconds.
//!
//! `EDGEFED_DOUBLE_LATENCY_SCALE` (a number ≥ 0; default 0 = no sleeping)
//! scales every figure; `EDGEFED_DOUBLE_LATENCY=NAME=SECONDS,…` overrides
//! figures by name. Names and defaults (model seconds): `Publish-CsTopology`
//! 60, `replication` 120 (CMS replication brings the Edge servers each
//! update of the store — a publish, `Set-CsSite`, `Set-CsEdgeServer` —
//! this long after it was made; a replication wait sleeps until the update
//! it waits for has arrived),
//! `Bootstrapper.exe` 300 per server, `Set-CsSite` 5, `Set-CsEdgeServer` 5,
//! `Start-CsWindowsService` and `Stop-CsWindowsService` 30 per server,
//! `Invoke-CsPoolFailover`, `Invoke-CsPoolFailBack` and
//! `Invoke-CsManagementServerFailover` 600. Anything else takes no time.
//!
//! A fan-out (`Invoke-Command -ComputerName <list> -ThrottleLimit n`) runs
//! its servers on worker threads, at most `n` at once, each sleeping its
//! figure, and counts how many were in flight at most.
//!
//! While a cmdlet sleeps, the double lets go of its state (saved first,
//! reloaded after: `state::pause`), so shells edgefed runs side by side
//! act meanwhile; the state counts the shells and the topology writes in
//! flight, and the most of each at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use edgefed::powershell::latency as m;

use super::state::{self, State};

/// The scale factor's variable.
pub const ENV_SCALE: &str = "EDGEFED_DOUBLE_LATENCY_SCALE";
/// The overrides' variable.
pub const ENV_OVERRIDES: &str = "EDGEFED_DOUBLE_LATENCY";

/// The default figures, model seconds: edgefed's model
/// (`edgefed::powershell::latency`), per cmdlet.
pub const DEFAULTS: [(&str, f64); 10] = [
    ("Publish-CsTopology", m::PUBLISH),
    ("replication", m::REPLICATION),
    ("Bootstrapper.exe", m::BOOTSTRAPPER),
    ("Set-CsSite", m::SET_SITE),
    ("Set-CsEdgeServer", m::SET_EDGE_SERVER),
    ("Start-CsWindowsService", m::SERVICES),
    ("Stop-CsWindowsService", m::SERVICES),
    ("Invoke-CsPoolFailover", m::FAILOVER),
    ("Invoke-CsPoolFailBack", m::FAILOVER),
    ("Invoke-CsManagementServerFailover", m::FAILOVER),
];

/// The scale factor (0 when unset).
///
/// # Errors
/// A message when it is set but not a finite number ≥ 0.
pub fn scale() -> Result<f64, String> {
    match std::env::var(ENV_SCALE) {
        Err(_) => Ok(0.0),
        Ok(v) if v.is_empty() => Ok(0.0),
        Ok(v) => match v.parse::<f64>() {
            Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
            _ => Err(format!("{ENV_SCALE}={v} is not a number >= 0")),
        },
    }
}

/// The model seconds of `name` (case-insensitive), overrides first.
///
/// # Errors
/// A message when the overrides do not read as `NAME=SECONDS,…`.
pub fn figure(name: &str) -> Result<f64, String> {
    if let Ok(list) = std::env::var(ENV_OVERRIDES) {
        for item in list.split(',').filter(|i| !i.trim().is_empty()) {
            let (n, s) = item
                .split_once('=')
                .ok_or(format!("{ENV_OVERRIDES}: `{item}` is not NAME=SECONDS"))?;
            let s: f64 = s
                .trim()
                .parse()
                .map_err(|_| format!("{ENV_OVERRIDES}: `{item}`: the seconds are not a number"))?;
            if n.trim().eq_ignore_ascii_case(name) {
                return Ok(s.max(0.0));
            }
        }
    }
    Ok(DEFAULTS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(0.0, |(_, s)| *s))
}

/// The real time `model_seconds` take under the scale.
fn real(model_seconds: f64, scale: f64) -> Duration {
    Duration::try_from_secs_f64(model_seconds * scale).unwrap_or(Duration::ZERO)
}

/// The cmdlets that write the topology: each reads the whole topology and
/// writes it back, so two at once would race.
const TOPOLOGY_WRITERS: [&str; 3] = ["Publish-CsTopology", "Set-CsSite", "Set-CsEdgeServer"];

/// Sleeps the scaled figure of `name`, with the state let go meanwhile
/// (other shells act; `st` is reloaded after), counting a topology write
/// in flight while it takes its time.
///
/// # Errors
/// As [`scale`], [`figure`] and [`state::pause`].
pub fn sleep(st: &mut State, name: &str) -> Result<(), String> {
    let scale = scale()?;
    let pause = real(figure(name)?, scale);
    if pause.is_zero() {
        return Ok(());
    }
    let writes = TOPOLOGY_WRITERS.iter().any(|w| w.eq_ignore_ascii_case(name));
    if writes {
        st.topology_writes_in_flight += 1;
        st.max_topology_writes_in_flight = st.max_topology_writes_in_flight.max(st.topology_writes_in_flight);
    }
    state::pause(st, || std::thread::sleep(pause))?;
    if writes {
        st.topology_writes_in_flight = st.topology_writes_in_flight.saturating_sub(1);
    }
    Ok(())
}

/// The Unix time now, milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Sleeps until CMS replication has brought the Edge servers the update a
/// wait asks for — the first one created at or after `since` (the wait's
/// write time, on the simulated clock), or the latest without one — under
/// the model, with the state let go meanwhile. Later updates replicate
/// later and do not hold it up.
///
/// # Errors
/// As [`scale`], [`figure`] and [`state::pause`].
pub fn until_replicated(st: &mut State, since: Option<i64>) -> Result<(), String> {
    let scale = scale()?;
    let wanted = match since {
        Some(since) => st.updates.iter().find(|u| u.creation >= since).or(st.updates.last()),
        None => st.updates.last(),
    };
    let Some(published) = wanted.map(|u| u.at_ms) else {
        return Ok(());
    };
    if scale > 0.0 {
        let due = published.saturating_add(u64::try_from(real(figure("replication")?, scale).as_millis()).unwrap_or(0));
        let now = now_ms();
        if due > now {
            state::pause(st, || std::thread::sleep(Duration::from_millis(due - now)))?;
        }
    }
    Ok(())
}

/// Runs the remote part of a fan-out to `servers` servers: worker
/// threads, at most `throttle` at once, each server sleeping the scaled
/// figure of `name`. Returns the most servers that were in flight at once
/// (the effects on the deployment are applied by the caller, in order).
///
/// The state is let go meanwhile (other shells act; `st` is reloaded).
///
/// # Errors
/// As [`scale`], [`figure`] and [`state::pause`].
pub fn fan_out(st: &mut State, name: &str, servers: usize, throttle: usize) -> Result<usize, String> {
    let pause = real(figure(name)?, scale()?);
    if pause.is_zero() {
        return Ok(throttle.max(1).min(servers));
    }
    let mut most = 0;
    state::pause(st, || most = run_fan_out(pause, servers, throttle))?;
    Ok(most)
}

/// The fan-out's worker threads: at most `throttle` at once, each server
/// sleeping `pause`; the most that were in flight at once.
fn run_fan_out(pause: Duration, servers: usize, throttle: usize) -> usize {
    let left = AtomicUsize::new(servers);
    let in_flight = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..throttle.max(1).min(servers) {
            s.spawn(|| {
                while left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(pause);
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    most.into_inner()
}
