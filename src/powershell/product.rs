//! Product versions and where each keeps its Bootstrapper.exe.
//!
//! `Get-CsService` objects carry `Version` on the scale the topology uses for
//! `ServiceVersion`: 5 = Lync Server 2010, 6 = Lync Server 2013, 7 = Skype for
//! Business Server 2015, 8 = Skype for Business Server 2019.

/// A server product version edgefed can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Product {
    /// Lync Server 2013 (`Version` 6).
    Lync2013,
    /// Skype for Business Server 2015 (`Version` 7).
    SkypeForBusiness2015,
    /// Skype for Business Server 2019 (`Version` 8).
    SkypeForBusiness2019,
}

impl Product {
    /// The product of a `Version` / `ServiceVersion` number; `None` for
    /// Lync 2010 (no XMPP route, no pool failover) and unknown numbers.
    #[must_use]
    pub fn from_version(version: u32) -> Option<Self> {
        match version {
            6 => Some(Self::Lync2013),
            7 => Some(Self::SkypeForBusiness2015),
            8 => Some(Self::SkypeForBusiness2019),
            _ => None,
        }
    }

    /// The folder under `%ProgramFiles%`.
    #[must_use]
    pub fn folder(self) -> &'static str {
        match self {
            Self::Lync2013 => "Microsoft Lync Server 2013",
            Self::SkypeForBusiness2015 => "Skype for Business Server 2015",
            Self::SkypeForBusiness2019 => "Skype for Business Server 2019",
        }
    }

    /// Bootstrapper.exe relative to `%ProgramFiles%`.
    #[must_use]
    pub fn bootstrapper(self) -> String {
        format!("{}\\Deployment\\Bootstrapper.exe", self.folder())
    }

    /// The product's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Lync2013 => "Lync Server 2013",
            Self::SkypeForBusiness2015 => "Skype for Business Server 2015",
            Self::SkypeForBusiness2019 => "Skype for Business Server 2019",
        }
    }
}
