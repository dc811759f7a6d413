//! The desired-state document as written: serde types that keep
//! the source position of every value that a diagnostic may point at.
//!
//! These types are the document's *syntax*. [`super::Desired`] is its
//! meaning, built by the `validate` module (rules V1–V7).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

/// The whole document.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "edgefed desired federation topology (edgefed/v1)")]
pub struct DocumentFile {
    /// Always `edgefed/v1`.
    #[schemars(with = "String", extend("const" = "edgefed/v1"))]
    pub api_version: Spanned<String>,
    /// Always `FederationTopology`.
    #[schemars(with = "String", extend("const" = "FederationTopology"))]
    pub kind: Spanned<String>,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// The desired state.
    pub spec: Spec,
}

/// Free-form metadata.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// A name for the deployment; free text.
    #[serde(default)]
    pub name: Option<String>,
}

/// The desired state.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spec {
    /// Per site, the two federation routes. Sites not listed are left as they are.
    #[serde(default)]
    pub sites: KeyedMap<SiteSpec>,
    /// Edge pools by FQDN. Pools not listed are left as they are.
    #[serde(default)]
    pub edge_pools: KeyedMap<EdgePoolSpec>,
    /// Front End pools by FQDN.
    #[serde(default)]
    pub front_end_pools: KeyedMap<FrontEndPoolSpec>,
    /// External DNS zones whose federation records edgefed manages. Without
    /// it no DNS record is touched.
    #[serde(default)]
    pub dns: Vec<DnsZoneSpec>,
    /// Checks after a route moves.
    #[serde(default)]
    pub verify: Option<VerifySpec>,
    /// Allow several SIP federation pools (only during a migration; rule V3).
    #[serde(default)]
    pub allow_multiple_federation_routes: bool,
}

/// The routes of one site. Omitted = not managed; `null` = managed and empty.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteSpec {
    /// The Edge pool (FQDN, or `EdgeServer:<fqdn>`) that carries SIP federation for the site; `null` = none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub federation_route: Option<Spanned<Option<String>>>,
    /// The Edge pool that carries XMPP federation for the site; `null` = none.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    pub xmpp_federation_route: Option<Spanned<Option<String>>>,
}

/// Whether an Edge pool's services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServicesSpec {
    /// Running.
    Running,
    /// Stopped.
    Stopped,
}

/// One Edge pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgePoolSpec {
    /// `running` or `stopped`.
    #[serde(default)]
    #[schemars(with = "Option<ServicesSpec>")]
    pub services: Option<Spanned<ServicesSpec>>,
    /// The Edge pool's internal next-hop pool (a Front End or Director pool).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub next_hop: Option<Spanned<String>>,
    /// Public Access Edge external addresses; overrides what the topology says, and is needed for DNS when the topology has none (an Edge behind NAT).
    #[serde(default)]
    #[schemars(with = "Option<Vec<std::net::IpAddr>>")]
    pub external_addresses: Option<Vec<Spanned<String>>>,
}

/// One Front End pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FrontEndPoolSpec {
    /// "Associate Edge pool (for media components)".
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub media_edge_pool: Option<Spanned<String>>,
    /// `true`: `Invoke-CsPoolFailover` done; `false`: failed back.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub failed_over: Option<Spanned<bool>>,
}

/// One external DNS zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsZoneSpec {
    /// The zone, e.g. `contoso.com`.
    #[schemars(with = "String")]
    pub zone: Spanned<String>,
    /// The `_xmpp-server._tcp.<zone>` SRV record set (port 5269).
    #[serde(default)]
    pub xmpp: Option<XmppDnsSpec>,
    /// The `_sipfederationtls._tcp.<zone>` SRV record (port 5061).
    #[serde(default)]
    pub sip: Option<SipDnsSpec>,
}

/// The XMPP federation records. Without `host` or `hosts` the SRV record
/// points at the Access Edge external FQDN of the pool the XMPP route
/// names, and no A record is touched.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct XmppDnsSpec {
    /// One shared host, e.g. `xmpp.contoso.com`: the SRV record is
    /// `0 100 5269 <host>` and the A record of `host` holds the external
    /// addresses of the pool the XMPP route names (unless `moveAddress: false`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<Spanned<String>>,
    /// An SRV record per Edge pool, each the pool's Access Edge external FQDN,
    /// priorities in this order; the host of the pool the XMPP route names is
    /// always first. The hosts' A records are left alone.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub hosts: Option<Vec<Spanned<String>>>,
    /// With `host`: whether the A record of `host` follows the XMPP route
    /// (default `true`).
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub move_address: Option<Spanned<bool>>,
    /// Time to live of the records, in seconds (default 300).
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// The SIP federation record. Without `host` the SRV record points at the
/// Access Edge external FQDN of the pool that carries SIP federation — the
/// name its certificate carries — and no A record is touched.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SipDnsSpec {
    /// A fixed SRV target, e.g. `sip.contoso.com`; needs `moveAddress`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub host: Option<Spanned<String>>,
    /// With `host`: `true` moves the A record of `host` to the external
    /// addresses of the federation pool (every pool's certificate must then
    /// carry that name); `false` leaves it alone.
    #[serde(default)]
    #[schemars(with = "Option<bool>")]
    pub move_address: Option<Spanned<bool>>,
    /// Time to live of the records, in seconds (default 300).
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// Checks after a route moves.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpec {
    /// Probe 5269 / 5061 on the pool a route moved to (default `true`).
    #[serde(default)]
    pub ports: Option<bool>,
}

/// Deserialises a field that is present, even when its value is `null`, as
/// `Some`: with `#[serde(default)]`, an absent field stays `None`. This is how
/// "omitted = not managed, null = managed and empty" is told apart.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A YAML mapping whose keys keep their source position, in document order.
/// Duplicate keys are refused by the parser before they get here.
#[derive(Debug)]
pub struct KeyedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for KeyedMap<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for KeyedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = KeyedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(KeyedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(KeyedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<V: JsonSchema> JsonSchema for KeyedMap<V> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        BTreeMap::<String, V>::json_schema(generator)
    }
    fn inline_schema() -> bool {
        true
    }
}
