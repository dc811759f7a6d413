//! The scenarios built into the binary for `lab init --scenario`.

use std::fmt;
use std::path::Path;

use super::file::{LabFile, LabFileError};

/// A built-in lab scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The seed's starting point: federation failed over to EdgePool2, EdgePool1 back but stopped.
    XmppFailedOver,
    /// Everything on EdgePool1, all running.
    Healthy,
    /// Everything on EdgePool1, which has just failed (unreachable).
    EdgeDown,
    /// Site1 lost: EdgePool1 and the Site1 Front End pools (one hosting the
    /// Central Management Server) unreachable, federation still on EdgePool1.
    SiteDown,
}

impl Scenario {
    /// The default scenario.
    pub const DEFAULT: Self = Self::XmppFailedOver;

    /// Every scenario.
    pub const ALL: [Self; 4] = [Self::XmppFailedOver, Self::Healthy, Self::EdgeDown, Self::SiteDown];

    /// The scenario's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::XmppFailedOver => "xmpp-failed-over",
            Self::Healthy => "healthy",
            Self::EdgeDown => "edge-down",
            Self::SiteDown => "site-down",
        }
    }

    /// The lab file text (commented YAML).
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::XmppFailedOver => include_str!("scenarios/xmpp-failed-over.yaml"),
            Self::Healthy => include_str!("scenarios/healthy.yaml"),
            Self::EdgeDown => include_str!("scenarios/edge-down.yaml"),
            Self::SiteDown => include_str!("scenarios/site-down.yaml"),
        }
    }

    /// The scenario as a lab.
    ///
    /// # Errors
    /// Never for the built-in texts (a test parses each); typed for safety.
    pub fn lab(self) -> Result<LabFile, LabFileError> {
        LabFile::parse(Path::new(self.name()), self.text())
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_scenario_is_a_valid_lab() {
        for s in Scenario::ALL {
            let lab = s.lab().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(lab.topology.sites.len(), 2, "{s}");
            assert!(lab.legacy_log.is_empty() && lab.sequence == 0);
        }
    }

    /// Saved plans made against the default scenario stay valid: its
    /// observed deployment keeps its fingerprint (the value in
    /// `tests/golden/xmpp-failed-over/failback.json.txt`). It changed once,
    /// deliberately, when the scenarios moved to documentation addresses.
    #[test]
    fn the_default_scenario_keeps_its_fingerprint() {
        let lab = Scenario::XmppFailedOver.lab().expect("scenario");
        assert_eq!(lab.deployment().fingerprint(), "457db9538cd64bc33e994d404151e92a");
    }

    #[test]
    fn in_site_down_the_central_management_server_is_down_with_a_known_backup() {
        let d = Scenario::SiteDown.lab().expect("scenario").deployment();
        let cms = d.central_management.expect("modelled");
        assert_eq!(cms.pool.as_str(), "fepool1.contoso.com");
        assert!(!cms.available);
        let backup = cms.backup.expect("backup");
        assert_eq!(backup.pool.as_str(), "fepool2.contoso.com");
        assert_eq!(backup.sql_server.as_str(), "sql2.contoso.com");
        assert_eq!(backup.sql_instance.as_deref(), Some("rtc"));
    }
}
