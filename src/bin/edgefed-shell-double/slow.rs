//! Knobs for testing that the shell does not outlive edgefed:
//! `EDGEFED_SHELL_DOUBLE_PID_FILE` — write the double's pid there, and with
//! `EDGEFED_SHELL_DOUBLE_HELPER=1` start a helper child (`sleep 600`, as a
//! shell starts helpers) and write its pid on the next line;
//! `EDGEFED_SHELL_DOUBLE_DELAY_MS` — take that long before answering (a slow
//! cmdlet).

use std::io::Write as _;
use std::process::{Child, Command};
use std::time::Duration;

/// The helper child, if one was started (it is left running on purpose:
/// edgefed must end it).
pub struct Helper(#[allow(dead_code)] Option<Child>);

/// Applies the knobs set in the environment.
pub fn start() -> Result<Helper, String> {
    let mut helper = None;
    if let Some(file) = std::env::var_os("EDGEFED_SHELL_DOUBLE_PID_FILE") {
        let mut pids = format!("{}\n", std::process::id());
        if std::env::var("EDGEFED_SHELL_DOUBLE_HELPER").as_deref() == Ok("1") {
            let child = Command::new("sleep")
                .arg("600")
                .spawn()
                .map_err(|e| format!("cannot start the helper `sleep 600`: {e}"))?;
            pids.push_str(&format!("{}\n", child.id()));
            helper = Some(child);
        }
        let tmp = std::path::PathBuf::from(format!("{}.tmp", file.to_string_lossy()));
        std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(pids.as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, &file))
            .map_err(|e| format!("cannot write the pid file: {e}"))?;
    }
    if let Some(ms) = std::env::var("EDGEFED_SHELL_DOUBLE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    Ok(Helper(helper))
}
