//! How much of one script's output edgefed reads, and what it says when a
//! shell prints more.
//!
//! A command script's answer is small: it is bounded by
//! [`crate::limits::MAX_DATA_BYTES`] (64 MiB), and a shell printing more is
//! taken to have run away — what its script did is unknown. The observe
//! answer carries the whole published topology and one record per site,
//! pool and Edge server, about 200 MiB at 10,000 sites, so it has its own,
//! larger bound ([`crate::limits::DEFAULT_OBSERVE_ANSWER_MIB`] unless
//! `--ps-max-observe-mib` / `EDGEFED_PS_MAX_OBSERVE_MIB` says otherwise).
//! Observing changes nothing, so passing it is a plain failure that names
//! the bound and how to raise it. Error output keeps the command bound in
//! both cases.

use crate::backend::BackendError;

/// The option that sets the observe bound.
pub const OBSERVE_OPTION: &str = "--ps-max-observe-mib";
/// The environment variable that sets the observe bound.
pub const ENV_OBSERVE_MIB: &str = "EDGEFED_PS_MAX_OBSERVE_MIB";

/// The bound on the output of one script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputBound {
    /// A command script: [`crate::limits::MAX_DATA_BYTES`].
    Command,
    /// The observe script: this many MiB.
    Observe {
        /// The bound, in MiB.
        mib: u64,
    },
}

const MIB: u64 = 1024 * 1024;

impl OutputBound {
    /// The most bytes read of the shell's output.
    #[must_use]
    pub fn output_bytes(self) -> u64 {
        match self {
            Self::Command => crate::limits::MAX_DATA_BYTES,
            Self::Observe { mib } => mib.saturating_mul(MIB),
        }
    }

    /// The most bytes read of the shell's error output.
    #[must_use]
    pub fn error_output_bytes(self) -> u64 {
        crate::limits::MAX_DATA_BYTES
    }

    /// The error when the shell's `what` ("output", "error output") passed
    /// `cap` bytes: edgefed stopped reading and ended the shell.
    #[must_use]
    pub fn exceeded(self, what: &str, cap: u64) -> BackendError {
        let mib = cap / MIB;
        match self {
            Self::Observe { .. } if what == "output" => BackendError::failed(format!(
                "the Management Shell's answer to the observe script passed {mib} MiB, the most edgefed reads of it \
                 ({OBSERVE_OPTION} / {ENV_OBSERVE_MIB}): edgefed stopped reading and ended the shell (observing \
                 changes nothing). A deployment this large needs a larger bound: give {OBSERVE_OPTION} N with N \
                 above the answer's size in MiB (edgefed needs up to about 3 times that in memory); if the \
                 deployment is not that large, check the launcher (--ps-command) prints only what the script writes"
            )),
            _ => BackendError::state_unknown(format!(
                "the Management Shell's {what} passed {mib} MiB, the most edgefed reads of one script: edgefed stopped reading \
                 and ended the shell; what the script did is unknown: observe again, and check the launcher \
                 (--ps-command) prints only what the script writes"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_observe_bound_is_its_own_and_names_how_to_raise_it() {
        let observe = OutputBound::Observe { mib: 512 };
        assert_eq!(observe.output_bytes(), 512 * MIB);
        assert_eq!(observe.error_output_bytes(), crate::limits::MAX_DATA_BYTES);
        assert_eq!(OutputBound::Command.output_bytes(), crate::limits::MAX_DATA_BYTES);
        let e = observe.exceeded("output", observe.output_bytes());
        assert!(matches!(e, BackendError::Failed { .. }), "{e:?}");
        let text = e.to_string();
        for part in ["passed 512 MiB", OBSERVE_OPTION, ENV_OBSERVE_MIB, "observe script"] {
            assert!(text.contains(part), "{part}: {text}");
        }
        // A command's (and any error output's) runaway leaves its effect unknown.
        for (bound, what) in [(OutputBound::Command, "output"), (observe, "error output")] {
            let e = bound.exceeded(what, crate::limits::MAX_DATA_BYTES);
            assert!(matches!(e, BackendError::StateUnknown { .. }), "{e:?}");
            assert!(e.to_string().contains("passed 64 MiB"), "{e}");
        }
    }
}
