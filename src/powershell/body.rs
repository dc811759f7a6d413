//! Step bodies with named holes.
//!
//! A step's body is the PowerShell the Management Shell runs for one action.
//! Most bodies follow from the action alone. A few take values from where
//! they run: the backend knows them (the signature it observed, the product
//! of the observed pool, its configured timeouts, whether it reads an Edge
//! credential file) and writes them as literals; a runbook names variables
//! the administrator sets at its top. A [`Body`] is the fixed text with a
//! named [`Slot`] for each such value, so the backend's script and the
//! runbook fill one and the same text (see `commands::shell_body`).

use std::collections::BTreeMap;
use std::fmt;

/// A value a body takes from where it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    /// The topology signature `publish-topology` asserts is still the
    /// published one.
    Signature,
    /// An expression giving the path of the topology document to publish.
    TopologyDocument,
    /// Bootstrapper.exe relative to `%ProgramFiles%` on the Edge server,
    /// as seen inside the remote script block.
    Bootstrapper,
    /// The `-Credential …` parameter of the remote session, or nothing.
    EdgeCredential,
    /// When the run last wrote the topology — its publish, or a later
    /// `Set-CsSite` / `Set-CsEdgeServer` (the replication wait requires each
    /// replica's `LastUpdateCreation` not to be older).
    WrittenAt,
    /// How many seconds `run-setup` waits for CMS replication.
    ReplicationWait,
    /// How often (seconds) it polls the replication status meanwhile.
    ReplicationPoll,
    /// How many Edge servers a fan-out works on at once
    /// (`-ThrottleLimit`).
    ThrottleLimit,
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Signature => "the topology signature",
            Self::TopologyDocument => "the topology document",
            Self::Bootstrapper => "the path of Bootstrapper.exe",
            Self::EdgeCredential => "the Edge credential",
            Self::WrittenAt => "the time of the last topology write",
            Self::ReplicationWait => "the replication wait",
            Self::ReplicationPoll => "the replication poll interval",
            Self::ThrottleLimit => "the fan-out's throttle limit",
        })
    }
}

/// A body was filled without a value for one of its slots.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the step body has no value for {0}; nothing was sent (this is a bug in edgefed: please report it)")]
pub struct Unfilled(pub Slot);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// The values that fill a body's slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<Slot, String>);

impl Values {
    /// No values (enough for a body without slots).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// These values with `slot` set to `value` (PowerShell text, already
    /// quoted where it is a literal).
    #[must_use]
    pub fn with(mut self, slot: Slot, value: impl Into<String>) -> Self {
        self.0.insert(slot, value.into());
        self
    }

    /// The value of `slot`, if set.
    #[must_use]
    pub fn get(&self, slot: Slot) -> Option<&str> {
        self.0.get(&slot).map(String::as_str)
    }
}

/// One statement line's worth of PowerShell with named holes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    parts: Vec<Part>,
}

impl Body {
    /// A body that is only `text`.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        Self::default().then(text)
    }

    /// This body followed by `text`.
    #[must_use]
    pub fn then(mut self, text: impl Into<String>) -> Self {
        let text = text.into();
        if let Some(Part::Text(last)) = self.parts.last_mut() {
            last.push_str(&text);
        } else if !text.is_empty() {
            self.parts.push(Part::Text(text));
        }
        self
    }

    /// This body followed by the hole `slot`.
    #[must_use]
    pub fn slot(mut self, slot: Slot) -> Self {
        self.parts.push(Part::Slot(slot));
        self
    }

    /// The slots, in order of appearance.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Slot(s) => Some(*s),
            Part::Text(_) => None,
        })
    }

    /// The body with every slot filled from `values`.
    ///
    /// # Errors
    /// [`Unfilled`] naming the first slot `values` has no value for.
    pub fn fill(&self, values: &Values) -> Result<String, Unfilled> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(s) => out.push_str(values.get(*s).ok_or(Unfilled(*s))?),
            }
        }
        Ok(out)
    }

    /// The values that make this body exactly `text`, if some do: how a
    /// test recognises this body in a script, whatever filled it.
    #[must_use]
    pub fn values_in(&self, text: &str) -> Option<Values> {
        let mut values = Values::new();
        match_parts(&self.parts, text, &mut values).then_some(values)
    }
}

/// Whether `parts` spell `text`, each slot taking the shortest value that
/// lets the rest match (the same value wherever a slot repeats).
fn match_parts(parts: &[Part], text: &str, values: &mut Values) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    match first {
        Part::Text(t) => text
            .strip_prefix(t.as_str())
            .is_some_and(|tail| match_parts(rest, tail, values)),
        Part::Slot(slot) => {
            // Where the slot's value can end: before each occurrence of the
            // text that follows it, or anywhere when nothing does.
            let ends: Vec<usize> = match rest.first() {
                Some(Part::Text(next)) => text.match_indices(next.as_str()).map(|(i, _)| i).collect(),
                Some(Part::Slot(_)) | None => text.char_indices().map(|(i, _)| i).chain([text.len()]).collect(),
            };
            for end in ends {
                let value = &text[..end];
                if values.get(*slot).is_some_and(|v| v != value) {
                    continue;
                }
                let mut tried = values.clone();
                tried.0.insert(*slot, value.to_string());
                if match_parts(rest, &text[end..], &mut tried) {
                    *values = tried;
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Body {
        Body::text("Wait ")
            .slot(Slot::ReplicationWait)
            .then(" ")
            .slot(Slot::ReplicationPoll)
            .then("; Go")
            .slot(Slot::EdgeCredential)
            .then(" now")
    }

    #[test]
    fn a_filled_body_is_recognised_with_its_values() {
        let values = Values::new()
            .with(Slot::ReplicationWait, "900")
            .with(Slot::ReplicationPoll, "$p")
            .with(Slot::EdgeCredential, "");
        let text = sample().fill(&values).unwrap();
        assert_eq!(text, "Wait 900 $p; Go now");
        assert_eq!(sample().values_in(&text), Some(values));
        let with_cred = text.replace("Go now", "Go -Credential $c now");
        assert_eq!(
            sample().values_in(&with_cred).unwrap().get(Slot::EdgeCredential),
            Some(" -Credential $c")
        );
    }

    #[test]
    fn other_text_is_not_this_body() {
        assert_eq!(sample().values_in("Wait 900 15; Go now!"), None);
        assert_eq!(sample().values_in("Wait 900 15 Go now"), None);
        assert_eq!(sample().values_in(""), None);
        assert_eq!(Body::text("a").values_in("a"), Some(Values::new()));
    }

    #[test]
    fn filling_needs_every_slot() {
        let e = sample()
            .fill(&Values::new().with(Slot::ReplicationWait, "1"))
            .unwrap_err();
        assert_eq!(e, Unfilled(Slot::ReplicationPoll));
        assert!(e.to_string().contains("replication poll"));
        assert_eq!(
            sample().slots().collect::<Vec<_>>(),
            [Slot::ReplicationWait, Slot::ReplicationPoll, Slot::EdgeCredential]
        );
    }
}
