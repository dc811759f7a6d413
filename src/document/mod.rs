//! The desired-state document: parsing with positions, the
//! static rules V1–V7, and the validated [`Desired`] state.

pub mod budget;
mod desired;
pub mod file;
mod load;
mod observed;
pub mod plain_yaml;
pub mod shape;
mod validate;

pub use desired::{
    Desired, DesiredEdgePool, DesiredFrontEndPool, DesiredRecords, DesiredSite, DesiredZone, Located, Route, Source,
    SrvTargets,
};
pub(crate) use load::yaml_message;
pub use load::{LoadError, MAX_DOCUMENT_BYTES, load, parse};
pub use observed::observed_document;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failback_example_parses() {
        let d = load("examples/failback.yaml").unwrap();
        assert_eq!(d.sites.len(), 2);
        let r = d.sites["Site1"].federation_route.as_ref().unwrap();
        assert_eq!(r.value.as_ref().unwrap().as_str(), "edgepool1.contoso.com");
        assert_eq!(r.at.unwrap().line, 17);
        assert_eq!(r.at.unwrap().column, 24);
    }
}
