//! Product versions and where each keeps its Bootstrapper.exe.
//!
//! `Get-CsService` objects carry `Version` on the scale the topology uses for
//! `ServiceVersion`: 5 = Lync Server 2010, 6 = Lync Server 2013, 7 = Skype for
//! Business Server 2015, 8 = Skype for Business Server 2019.
//!
//! A product build number (`Get-CsServerVersion`, `Get-CsServerPatchVersion`)
//! is on another scale, and is read too when a `Version` has a dot: 5.0 =
//! Lync Server 2013 (the `Get-CsServerVersion` reference's example is
//! "5.0.8308"), 6.0 = Skype for Business Server 2015 (the
//! `Get-CsServerPatchVersion` reference names "November 2015 Cumulative
//! Update (6.0.9319.102) for Skype for Business Server 2015"), 7.0 = Skype
//! for Business Server 2019 (not found in Microsoft's cmdlet reference;
//! taken as the next major build, as 2013 → 2015 went 5 → 6).
//!
//! Not known, and so not guessed: the `Version` and build number of
//! Skype for Business Server Subscription Edition, and its folder under
//! Program Files (it installs in place over 2019, so it may keep that
//! folder — unconfirmed). A pool reporting any other version gets no
//! product; run-setup then fails saying which folders to check.

/// A server product version edgefed can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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

    /// The product of what `Get-CsService` reports as `Version`: a
    /// topology service version (`7`) or a product build (`6.0.9319.102`).
    #[must_use]
    pub fn from_reported(version: &str) -> Option<Self> {
        let v = version.trim();
        match v.split_once('.') {
            None => v.parse().ok().and_then(Self::from_version),
            Some((major, rest)) => match (major, rest.split('.').next()) {
                ("5", Some("0")) => Some(Self::Lync2013),
                ("6", Some("0")) => Some(Self::SkypeForBusiness2015),
                ("7", Some("0")) => Some(Self::SkypeForBusiness2019),
                _ => None,
            },
        }
    }

    /// The folders under `%ProgramFiles%` an administrator checks when the
    /// version is not known.
    pub const FOLDERS: &'static str =
        "'Microsoft Lync Server 2013', 'Skype for Business Server 2015' or 'Skype for Business Server 2019'";

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

#[cfg(test)]
mod tests {
    use super::Product;

    #[test]
    fn service_versions_and_build_numbers_name_the_product() {
        assert_eq!(Product::from_reported("6"), Some(Product::Lync2013));
        assert_eq!(Product::from_reported("7"), Some(Product::SkypeForBusiness2015));
        assert_eq!(Product::from_reported("8"), Some(Product::SkypeForBusiness2019));
        assert_eq!(Product::from_reported("5.0.8308"), Some(Product::Lync2013));
        assert_eq!(
            Product::from_reported("6.0.9319.102"),
            Some(Product::SkypeForBusiness2015)
        );
        assert_eq!(
            Product::from_reported("7.0.2046.0"),
            Some(Product::SkypeForBusiness2019)
        );
        assert_eq!(Product::from_reported("5"), None);
        assert_eq!(Product::from_reported("9"), None);
        assert_eq!(Product::from_reported("8.0.1"), None);
        assert_eq!(Product::from_reported("x"), None);
    }
}
