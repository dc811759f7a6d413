//! The DNS client: queries record sets and changes them with one RFC 2136
//! UPDATE per record set, signed with TSIG, whose prerequisites say the set is
//! still what the plan observed.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::NetError;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsHandle;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::{DNSClass, RData, RecordType as WireType, TSigner};
use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use super::convert::{self, describe, wire_name, wire_types};
use super::error::DnsError;
use super::key::TsigKey;
use crate::model::{DnsName, DnsRecord, Fqdn, RecordType};

/// A client of one DNS server: the primary that takes updates, or any server
/// for queries. Requests go over UDP; the connection is made on the first
/// request and stays bound to that request's tokio runtime.
pub struct DnsClient {
    server: SocketAddr,
    key: Option<TsigKey>,
    timeout: Duration,
    client: OnceCell<Client<TokioRuntimeProvider>>,
}

impl std::fmt::Debug for DnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsClient")
            .field("server", &self.server)
            .field("key", &self.key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`DnsClient::update`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The server applied the update.
    Updated,
    /// The prerequisite failed but the server already holds the desired set
    /// (an earlier run applied it): nothing changed.
    AlreadyDesired,
}

impl DnsClient {
    /// A client of `server`. Updates are signed with `key` when given
    /// (queries are not signed); each request waits at most `timeout`.
    #[must_use]
    pub fn new(server: SocketAddr, key: Option<TsigKey>, timeout: Duration) -> Self {
        Self {
            server,
            key,
            timeout,
            client: OnceCell::new(),
        }
    }

    /// The server this client talks to.
    #[must_use]
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    async fn handle(&self, what: &str) -> Result<Client<TokioRuntimeProvider>, DnsError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                let signer: Option<TSigner> = match &self.key {
                    Some(k) => Some(k.signer().map_err(|message| DnsError::InvalidRequest {
                        zone: String::new(),
                        record: what.to_string(),
                        message: format!("{k} is unusable: {message}"),
                    })?),
                    None => None,
                };
                let stream = UdpClientStream::builder(self.server, TokioRuntimeProvider::default())
                    .with_timeout(Some(self.timeout))
                    .with_signer(signer)
                    .build();
                let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
                tokio::spawn(bg);
                Ok::<_, DnsError>(client)
            })
            .await?;
        Ok(client.clone())
    }

    /// Reads the wanted record sets. SRV names are asked for SRV; A names for
    /// A and AAAA, merged into one [`DnsRecord::A`] with sorted addresses.
    /// Absent sets are left out of the result, which keeps `wanted`'s order.
    ///
    /// # Errors
    /// [`DnsError::Timeout`], [`DnsError::QueryFailed`] (e.g. REFUSED or
    /// SERVFAIL) or [`DnsError::Transport`].
    pub async fn observe(&self, wanted: &[(DnsName, RecordType)]) -> Result<Vec<DnsRecord>, DnsError> {
        let client = self.handle("querying").await?;
        let mut set = JoinSet::new();
        for (i, (name, rtype)) in wanted.iter().enumerate() {
            for &wire in wire_types(*rtype) {
                let client = client.clone();
                let name = name.clone();
                let server = self.server;
                let timeout = self.timeout;
                set.spawn(async move {
                    let answers = query(client, server, timeout, &name, wire).await;
                    (i, answers)
                });
            }
        }
        let mut per_name: Vec<Vec<hickory_proto::rr::Record>> = vec![Vec::new(); wanted.len()];
        let mut first_error = None;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, Ok(records))) => {
                    if let Some(slot) = per_name.get_mut(i) {
                        slot.extend(records);
                    }
                }
                Ok((_, Err(e))) => {
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    first_error.get_or_insert(DnsError::Transport {
                        server: self.server,
                        what: "querying".into(),
                        source: Box::new(NetError::from(join.to_string())),
                    });
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(wanted
            .iter()
            .zip(per_name)
            .filter_map(|((name, rtype), answers)| convert::from_answers(name, *rtype, &answers))
            .collect())
    }

    /// Replaces the record set of `desired` in `zone` with one signed RFC 2136
    /// UPDATE whose prerequisites require the set to be exactly `observed`
    /// (value-dependent RRset exists) or, when `None`, absent (RRset does not
    /// exist). A and AAAA are checked and replaced per family.
    ///
    /// # Errors
    /// [`DnsError::ChangedBehindOurBack`] when the prerequisite failed (after
    /// re-reading the set; nothing was written), [`DnsError::TsigRejected`],
    /// [`DnsError::UpdateRefused`], [`DnsError::UnknownZone`],
    /// [`DnsError::Timeout`], [`DnsError::InvalidRequest`] or
    /// [`DnsError::Transport`].
    pub async fn update(&self, zone: &Fqdn, desired: &DnsRecord, observed: Option<&DnsRecord>) -> Result<(), DnsError> {
        self.update_with_outcome(zone, desired, observed).await.map(|_| ())
    }

    /// As [`DnsClient::update`], telling whether the server was changed.
    ///
    /// # Errors
    /// As [`DnsClient::update`].
    #[tracing::instrument(
        level = "debug",
        name = "dns_update",
        skip_all,
        fields(server = %self.server, %zone, name = %desired.name(), rtype = ?desired.record_type())
    )]
    pub async fn update_with_outcome(
        &self,
        zone: &Fqdn,
        desired: &DnsRecord,
        observed: Option<&DnsRecord>,
    ) -> Result<UpdateOutcome, DnsError> {
        let name = desired.name();
        let rtype = desired.record_type();
        let record = describe(name, rtype);
        let invalid = |message: String| DnsError::InvalidRequest {
            zone: zone.to_string(),
            record: record.clone(),
            message,
        };
        let in_zone = name.as_str() == zone.as_str() || name.as_str().ends_with(&format!(".{}", zone.as_str()));
        if !in_zone {
            return Err(invalid(format!("{name} is not in zone {zone}")));
        }
        if let Some(obs) = observed
            && (obs.name() != name || obs.record_type() != rtype)
        {
            return Err(invalid(format!(
                "the observed set is {} and cannot be the prerequisite of {record}",
                describe(obs.name(), obs.record_type())
            )));
        }
        let message = build_update(zone, desired, observed).map_err(invalid)?;
        let what = format!("updating {record} in zone {zone}");
        let client = self.handle(&what).await?;
        tracing::debug!(server = %self.server, %zone, %record, "sending DNS UPDATE");
        let response = send(client, self.timeout, message).await;
        let response = match response {
            Ok(r) => r,
            Err(SendError::Timeout) => {
                return Err(DnsError::Timeout {
                    server: self.server,
                    what,
                    after: self.timeout,
                });
            }
            Err(SendError::Net(e)) if is_tsig_failure(&e) => {
                return Err(DnsError::TsigRejected {
                    server: self.server,
                    zone: zone.to_string(),
                    record,
                    key: self
                        .key
                        .as_ref()
                        .map_or_else(|| "(none)".into(), |k| k.name().to_string()),
                    source: Some(Box::new(e)),
                });
            }
            Err(SendError::Net(source)) => {
                return Err(DnsError::Transport {
                    server: self.server,
                    what,
                    source: Box::new(source),
                });
            }
        };
        let rcode = response.response_code;
        tracing::debug!(server = %self.server, %zone, %record, %rcode, "DNS UPDATE answered");
        match rcode {
            ResponseCode::NoError => Ok(UpdateOutcome::Updated),
            ResponseCode::YXRRSet | ResponseCode::NXRRSet | ResponseCode::YXDomain | ResponseCode::NXDomain => {
                // The prerequisite failed: nothing was written. Re-read the set
                // to say what it holds now.
                let found = match self.observe(&[(name.clone(), rtype)]).await {
                    Ok(found) => found.into_iter().next(),
                    Err(e) => {
                        return Err(DnsError::UpdateFailed {
                            server: self.server,
                            zone: zone.to_string(),
                            record,
                            rcode: format!(
                                "{} (the set is no longer what the plan observed; nothing was changed; re-reading it failed: {e})",
                                rcode_name(rcode)
                            ),
                        });
                    }
                };
                if convert::same(found.as_ref(), Some(desired)) {
                    return Ok(UpdateOutcome::AlreadyDesired);
                }
                Err(DnsError::ChangedBehindOurBack {
                    server: self.server,
                    zone: zone.to_string(),
                    name: name.clone(),
                    expected: observed.cloned(),
                    found,
                })
            }
            ResponseCode::Refused => Err(DnsError::UpdateRefused {
                server: self.server,
                zone: zone.to_string(),
                record,
                rcode: rcode_name(rcode),
                key: self.key.as_ref().map(|k| k.name().to_string()),
            }),
            ResponseCode::NotAuth | ResponseCode::NotZone | ResponseCode::ServFail => Err(DnsError::UnknownZone {
                server: self.server,
                zone: zone.to_string(),
                record,
                rcode: rcode_name(rcode),
            }),
            other => Err(DnsError::UpdateFailed {
                server: self.server,
                zone: zone.to_string(),
                record,
                rcode: rcode_name(other),
            }),
        }
    }
}

/// Builds the UPDATE message: zone section, prerequisites, then per family a
/// delete of the RRset and the adds of the desired records.
fn build_update(zone: &Fqdn, desired: &DnsRecord, observed: Option<&DnsRecord>) -> Result<Message, String> {
    let owner = wire_name(desired.name().as_str())?;
    let mut zone_q = Query::new();
    zone_q
        .set_name(wire_name(zone.as_str())?)
        .set_query_class(DNSClass::IN)
        .set_query_type(WireType::SOA);

    let mut message = Message::query();
    message.metadata.op_code = OpCode::Update;
    message.metadata.recursion_desired = false;
    message.add_zone(zone_q);

    let desired_data = convert::rdatas(desired)?;
    let observed_data = observed.map(convert::rdatas).transpose()?.unwrap_or_default();
    let ttl = convert::ttl(desired);

    for &family in wire_types(desired.record_type()) {
        let of = |data: &[(WireType, RData)]| -> Vec<RData> {
            data.iter()
                .filter(|(t, _)| *t == family)
                .map(|(_, d)| d.clone())
                .collect()
        };
        let before = of(&observed_data);
        let after = of(&desired_data);
        // Prerequisite: the family's RRset is exactly `before`, or absent.
        if before.is_empty() {
            message.add_pre_requisite(convert::empty(&owner, DNSClass::NONE, family));
        } else {
            for d in &before {
                message.add_pre_requisite(convert::record(&owner, 0, DNSClass::IN, d.clone()));
            }
        }
        // Replace the family's RRset when there is anything to replace.
        if !before.is_empty() || !after.is_empty() {
            message.add_update(convert::empty(&owner, DNSClass::ANY, family));
            for d in after {
                message.add_update(convert::record(&owner, ttl, DNSClass::IN, d));
            }
        }
    }
    message
        .edns
        .get_or_insert_with(Edns::new)
        .set_max_payload(hickory_proto::op::DEFAULT_MAX_PAYLOAD_LEN)
        .set_version(0);
    Ok(message)
}

enum SendError {
    Timeout,
    Net(NetError),
}

/// Sends one request and waits for its first answer, bounded by `timeout`
/// (plus a small margin over the stream's own timeout).
async fn send(
    client: Client<TokioRuntimeProvider>,
    timeout: Duration,
    message: Message,
) -> Result<hickory_proto::op::DnsResponse, SendError> {
    let request = DnsRequest::new(message, DnsRequestOptions::default());
    let fut = first(client.send(request));
    match tokio::time::timeout(timeout.saturating_add(Duration::from_millis(200)), fut).await {
        Err(_) | Ok(Err(NetError::Timeout)) => Err(SendError::Timeout),
        Ok(Err(e)) => Err(SendError::Net(e)),
        Ok(Ok(r)) => Ok(r),
    }
}

async fn first<S>(mut stream: S) -> Result<hickory_proto::op::DnsResponse, NetError>
where
    S: futures_util::Stream<Item = Result<hickory_proto::op::DnsResponse, NetError>> + Unpin,
{
    use futures_util::StreamExt as _;
    stream.next().await.unwrap_or(Err(NetError::Timeout))
}

/// One query; NXDOMAIN and empty answers give no records.
#[tracing::instrument(level = "debug", name = "dns_query", skip_all, fields(%server, %name, rtype = wire_str(wire)))]
async fn query(
    mut client: Client<TokioRuntimeProvider>,
    server: SocketAddr,
    timeout: Duration,
    name: &DnsName,
    wire: WireType,
) -> Result<Vec<hickory_proto::rr::Record>, DnsError> {
    let rtype = wire_str(wire);
    let what = format!("querying {rtype} {name}");
    let qname = wire_name(name.as_str()).map_err(|message| DnsError::InvalidRequest {
        zone: String::new(),
        record: format!("{rtype} {name}"),
        message,
    })?;
    let fut = client.query(qname, DNSClass::IN, wire);
    let response = match tokio::time::timeout(timeout.saturating_add(Duration::from_millis(200)), fut).await {
        Err(_) | Ok(Err(NetError::Timeout)) => {
            return Err(DnsError::Timeout {
                server,
                what,
                after: timeout,
            });
        }
        Ok(Err(source)) => {
            return Err(DnsError::Transport {
                server,
                what,
                source: Box::new(source),
            });
        }
        Ok(Ok(r)) => r,
    };
    match response.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(response.answers.clone()),
        other => Err(DnsError::QueryFailed {
            server,
            name: name.clone(),
            rtype: rtype.to_string(),
            rcode: rcode_name(other),
        }),
    }
}

/// The RFC name of a response code (`REFUSED`, `NOTAUTH`, …).
fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn wire_str(wire: WireType) -> &'static str {
    match wire {
        WireType::SRV => "SRV",
        WireType::A => "A",
        WireType::AAAA => "AAAA",
        _ => "?",
    }
}

/// Whether a library error is hickory's report of a TSIG failure: the
/// server's unsigned BADSIG/BADKEY answer shows up as a "truncated HMAC", a
/// wrong key name or algorithm as "wrong key", a stale answer as "outdated".
fn is_tsig_failure(e: &NetError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("tsig") || text.contains("hmac")
}
