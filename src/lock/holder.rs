//! [`Holder`]: who holds a lock, as the holder writes it (JSON, in the lock
//! file or the etcd value) for whoever waits.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Who holds a lock and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The machine.
    pub host: String,
    /// The process id on that machine.
    pub pid: u32,
    /// The user running it.
    pub user: String,
    /// Its command line.
    pub command: String,
    /// When it took the lock (RFC 3339, UTC).
    pub since: String,
}

impl Holder {
    /// This process, now.
    #[must_use]
    pub fn me() -> Self {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Self {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            user,
            command: std::env::args().collect::<Vec<_>>().join(" "),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// As written into the lock.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"pid\":{}}}", self.pid))
    }

    /// Describes what a lock holds: a holder's JSON, or (written by an older
    /// edgefed or something else) its text, or nothing yet.
    #[must_use]
    pub fn describe(bytes: &[u8]) -> String {
        if let Ok(holder) = serde_json::from_slice::<Self>(bytes) {
            return holder.to_string();
        }
        let text: String = String::from_utf8_lossy(bytes)
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        if text.is_empty() {
            "another edgefed process (it has not said who it is yet)".into()
        } else {
            text
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "edgefed (pid {} on {}, user {}, since {}, `{}`)",
            self.pid, self.host, self.user, self.since, self.command
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_reads_back_and_strangers_are_described() {
        let me = Holder::me();
        assert_eq!(me.pid, std::process::id());
        let shown = Holder::describe(me.to_json().as_bytes());
        assert!(
            shown.starts_with(&format!("edgefed (pid {} on {}", me.pid, me.host)),
            "{shown}"
        );
        assert!(shown.contains(&format!("since {}", me.since)), "{shown}");
        assert_eq!(
            Holder::describe(b"edgefed (pid 7, `edgefed reconcile`)\n"),
            "edgefed (pid 7, `edgefed reconcile`)"
        );
        assert!(Holder::describe(b"  ").starts_with("another edgefed process"));
        assert_eq!(Holder::describe(b"a\x1b[31mb"), "a[31mb");
    }
}
