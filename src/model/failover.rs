//! Whether a Front End pool is failed over (`Invoke-CsPoolFailover` done and
//! not yet reversed), as far as anyone can tell.
//!
//! Lync documents no way to read this back. `Get-CsPoolBackupRelationship`
//! "returns the fully qualified domain name of the backup pool associated
//! with a Registrar pool" and nothing else; `Get-CsPoolFabricState` reports
//! Windows Fabric replicas; `Get-CsUserPoolInfo` names the server a user
//! *would* register with on the backup pool, not where the user is. So the
//! PowerShell backend observes [`FailoverState::Unknown`], together with
//! what edgefed itself last did to the pool (its own record), while the lab
//! and tests keep a known state.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Front End pool's failover state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailoverState {
    /// Not failed over (the pool serves its own users).
    #[default]
    NotFailedOver,
    /// Failed over to its backup pool.
    FailedOver,
    /// Nothing documented says which; `recorded` is what edgefed's own
    /// record says it last did: `Some(true)` it ran `Invoke-CsPoolFailover`,
    /// `Some(false)` it ran `Invoke-CsPoolFailBack`, `None` it never did.
    Unknown {
        /// edgefed's last recorded action on the pool.
        recorded: Option<bool>,
    },
}

impl FailoverState {
    /// A known state from a boolean.
    #[must_use]
    pub fn known(failed_over: bool) -> Self {
        if failed_over {
            Self::FailedOver
        } else {
            Self::NotFailedOver
        }
    }

    /// `Some(state)` when the state is known.
    #[must_use]
    pub fn as_known(self) -> Option<bool> {
        match self {
            Self::NotFailedOver => Some(false),
            Self::FailedOver => Some(true),
            Self::Unknown { .. } => None,
        }
    }

    /// Whether the pool is known to be failed over.
    #[must_use]
    pub fn is_failed_over(self) -> bool {
        self == Self::FailedOver
    }

    /// What edgefed last did to the pool, when the state is unknown.
    #[must_use]
    pub fn recorded(self) -> Option<bool> {
        match self {
            Self::Unknown { recorded } => recorded,
            _ => None,
        }
    }

    /// The state's text in changes and output: `true`, `false` or
    /// `unknown` (with edgefed's record, if any).
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::NotFailedOver => "false".into(),
            Self::FailedOver => "true".into(),
            Self::Unknown { recorded: None } => "unknown".into(),
            Self::Unknown { recorded: Some(true) } => "unknown (edgefed last ran Invoke-CsPoolFailover)".into(),
            Self::Unknown { recorded: Some(false) } => "unknown (edgefed last ran Invoke-CsPoolFailBack)".into(),
        }
    }
}

/// The serialized form: `true`, `false`, or `{"unknown": {"recorded": …}}`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Wire {
    Known(bool),
    Unknown { unknown: UnknownWire },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnknownWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recorded: Option<bool>,
}

impl Serialize for FailoverState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_known() {
            Some(b) => Wire::Known(b),
            None => Wire::Unknown {
                unknown: UnknownWire {
                    recorded: self.recorded(),
                },
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for FailoverState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Wire::deserialize(d)? {
            Wire::Known(b) => Self::known(b),
            Wire::Unknown { unknown } => Self::Unknown {
                recorded: unknown.recorded,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_states_serialize_as_booleans_and_unknown_keeps_the_record() {
        for (state, text) in [
            (FailoverState::FailedOver, "true"),
            (FailoverState::NotFailedOver, "false"),
            (FailoverState::Unknown { recorded: None }, r#"{"unknown":{}}"#),
            (
                FailoverState::Unknown { recorded: Some(true) },
                r#"{"unknown":{"recorded":true}}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap(), text);
            assert_eq!(serde_json::from_str::<FailoverState>(text).unwrap(), state);
        }
        assert!(serde_json::from_str::<FailoverState>(r#""maybe""#).is_err());
    }
}
