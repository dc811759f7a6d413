//! `edgefed-shell-double`: a stand-in for the Lync Server Management Shell,
//! for tests (pwsh cannot be installed here).
//!
//! It reads a script on stdin, checks every command and parameter against
//! the cmdlets Lync has (failing loudly on anything else, e.g.
//! `-XmppExternalFederationRoute`), executes the statement shapes edgefed's
//! backend generates against an in-memory deployment loaded from the JSON
//! state file named by `EDGEFED_SHELL_DOUBLE_STATE`, answers with objects
//! shaped like Lync's, surrounds the marked JSON result with banner, warning
//! and progress noise (and a decoy marker), counts round trips and bytes in
//! the state file, records every script received, and writes it back
//! atomically.
//!
//! It is as strict as the perimeter network about the Edge servers: each
//! is in a workgroup unless the state says otherwise, so direct
//! `-ComputerName` service control is refused and remote sessions need the
//! Edge credential; service cmdlets run through one `Invoke-Command`
//! fan-out (recorded in `fanOuts`), and each Edge server can be made to
//! fail remoting the way WinRM fails (`edgeHosts.<fqdn>.remoting`).
//!
//! It is as strict as Lync about the topology: `Set-CsSite` and
//! `Set-CsEdgeServer` write to it (a new `Signature`, and
//! `Get-CsTopology -AsXml` shows the new route or next hop), and
//! `Publish-CsTopology` replaces the whole topology with the document it is
//! given, so a document exported before such a write puts the old values
//! back.
//!
//! It is as strict about what a publish undoes and when replicas catch up:
//! a publish empties the simple URL collections (`Get-` /
//! `Set-CsSimpleUrlConfiguration`, seeded with contoso.com's `meet`,
//! `dialin` and `admin` URLs), and each Edge replica keeps reporting the
//! previous update (`UpToDate = True`) for a few polls; the replication
//! wait is judged by evaluating the script's own helper filter.
//!
//! It can take the time Lync takes (`latency`: per-cmdlet figures scaled by
//! `EDGEFED_DOUBLE_LATENCY_SCALE`); fan-outs then run their servers
//! concurrently up to `-ThrottleLimit` and record how many ran at once.
//! Several doubles may run at once (edgefed runs independent round trips
//! side by side): each holds a lock on the state (`<state>.lock`) while it
//! works and lets it go while a cmdlet takes its time, and the state
//! records the most shells and the most topology writes in flight at once
//! (`maxShellsInFlight`, `maxTopologyWritesInFlight`: two topology writes
//! at once would race), and Edge servers whose services were started
//! before the latest CMS update reached them
//! (`servicesStartedOnStaleReplica`).
//!
//! For scale tests, `estateSites: N` with an empty deployment generates an
//! N-site estate (`estate`).

#[path = "edgefed-shell-double/clock.rs"]
mod clock;
#[path = "edgefed-shell-double/cmdlets.rs"]
mod cmdlets;
#[path = "edgefed-shell-double/estate.rs"]
mod estate;
#[path = "edgefed-shell-double/exec.rs"]
mod exec;
#[path = "edgefed-shell-double/latency.rs"]
mod latency;
#[path = "edgefed-shell-double/lexer.rs"]
mod lexer;
#[path = "edgefed-shell-double/observe_answers.rs"]
mod observe_answers;
#[path = "edgefed-shell-double/publish.rs"]
mod publish;
#[path = "edgefed-shell-double/remoting.rs"]
mod remoting;
#[path = "edgefed-shell-double/replication.rs"]
mod replication;
#[path = "edgefed-shell-double/shell.rs"]
mod shell;
#[path = "edgefed-shell-double/simple_urls.rs"]
mod simple_urls;
#[path = "edgefed-shell-double/site_routes.rs"]
mod site_routes;
#[path = "edgefed-shell-double/slow.rs"]
mod slow;
#[path = "edgefed-shell-double/state.rs"]
mod state;
#[path = "edgefed-shell-double/topology_xml.rs"]
mod topology_xml;

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Ok(path) = std::env::var("EDGEFED_SHELL_DOUBLE_STATE") else {
        eprintln!("edgefed-shell-double: EDGEFED_SHELL_DOUBLE_STATE is not set");
        return ExitCode::from(2);
    };
    let mut script = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut script) {
        eprintln!("edgefed-shell-double: cannot read the script: {e}");
        return ExitCode::from(2);
    }
    // Knobs for the tests of a shell that outlives edgefed: write our pid
    // (and that of a child we start, as a shell starts helpers) to a file,
    // then take a while, as a slow cmdlet does.
    let _helper = match slow::start() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("edgefed-shell-double: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = state::lock(&path) {
        eprintln!("edgefed-shell-double: {e}");
        return ExitCode::from(2);
    }
    let mut st = match state::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("edgefed-shell-double: {e}");
            return ExitCode::from(2);
        }
    };
    st.round_trips += 1;
    st.shells_in_flight += 1;
    st.max_shells_in_flight = st.max_shells_in_flight.max(st.shells_in_flight);
    st.clock += 1;
    st.bytes_in += script.len() as u64;
    st.last_script = Some(script.clone());
    st.scripts.push(script.clone());
    let outcome = shell::run(&mut st, &script);
    let (stdout, code) = match outcome {
        Ok(out) => (out, 0u8),
        Err(message) => {
            eprintln!("edgefed-shell-double: {message}");
            (String::from("Windows PowerShell\r\n"), 3)
        }
    };
    st.bytes_out += stdout.len() as u64;
    st.shells_in_flight = st.shells_in_flight.saturating_sub(1);
    if let Err(e) = state::save(&path, &st) {
        eprintln!("edgefed-shell-double: {e}");
        return ExitCode::from(2);
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(stdout.as_bytes());
    let _ = out.flush();
    if !st.quiet {
        eprintln!("WARNING: the double writes noise to stderr as well");
    }
    ExitCode::from(code)
}
