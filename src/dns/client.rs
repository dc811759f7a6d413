//! The DNS client: queries record sets and changes them with one RFC 2136
//! UPDATE per record set, signed with TSIG, whose prerequisites say the set is
//! still what the plan observed.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::NetError;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::DnsHandle;
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::{DNSClass, RData, RecordType as WireType, TSigner};
use tokio::sync::OnceCell;

use super::convert::{self, describe, wire_name, wire_types};
use super::error::DnsError;
use super::key::TsigKey;
use crate::model::{DnsName, DnsRecord, Fqdn, RecordType};

/// A client of one DNS server: the primary that takes updates, or any server
/// for queries. Requests go over UDP; a query whose answer comes back
/// truncated (TC bit) is asked again over a new TCP connection. The UDP
/// client is made on the first request and stays bound to that request's
/// tokio runtime.
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

    /// A new TCP connection for one truncated answer. Not kept: truncation
    /// is rare, and a server closes an idle TCP connection (BIND after 30 s)
    /// while a long run may wait minutes between two reads.
    async fn tcp_handle(&self, what: &str) -> Result<Client<TokioRuntimeProvider>, DnsError> {
        let (connect, sender) =
            TcpClientStream::new(self.server, None, Some(self.timeout), TokioRuntimeProvider::default());
        let stream = match tokio::time::timeout(self.timeout, connect).await {
            Err(_) => {
                return Err(DnsError::Timeout {
                    server: self.server,
                    what: format!("{what} (over TCP)"),
                    after: self.timeout,
                });
            }
            Ok(Err(source)) => {
                return Err(DnsError::Transport {
                    server: self.server,
                    what: format!("{what} (over TCP)"),
                    source: Box::new(source),
                });
            }
            Ok(Ok(stream)) => stream,
        };
        let (client, bg) = Client::<TokioRuntimeProvider>::with_timeout(stream, sender, self.timeout);
        tokio::spawn(bg);
        Ok(client)
    }

    /// Reads the wanted record sets. SRV names are asked for SRV; A names for
    /// A and AAAA, merged into one [`DnsRecord::A`] with sorted addresses.
    /// Absent sets are left out of the result, which keeps `wanted`'s order.
    ///
    /// # Errors
    /// [`DnsError::Timeout`], [`DnsError::QueryFailed`] (e.g. REFUSED or
    /// SERVFAIL) or [`DnsError::Transport`].
    pub async fn observe(&self, wanted: &[(DnsName, RecordType)]) -> Result<Vec<DnsRecord>, DnsError> {
        let queries = wanted.iter().flat_map(|(name, rtype)| {
            wire_types(*rtype)
                .iter()
                .map(move |&wire| async move { self.query(name, wire).await })
        });
        let mut answers = futures_util::future::join_all(queries).await.into_iter();
        let mut found = Vec::new();
        for (name, rtype) in wanted {
            let mut records = Vec::new();
            for _ in wire_types(*rtype) {
                match answers.next() {
                    Some(Ok(more)) => records.extend(more),
                    Some(Err(e)) => return Err(e),
                    None => {}
                }
            }
            let set = convert::from_answers(name, *rtype, &records).map_err(|u| DnsError::UnusableRecord {
                server: self.server,
                name: name.clone(),
                rtype: rtype.to_string(),
                data: u.data,
                reason: u.reason,
            })?;
            found.extend(set);
        }
        Ok(found)
    }

    /// The target of the CNAME `name` holds, if any.
    async fn cname_of(&self, name: &DnsName) -> Result<Option<String>, DnsError> {
        let records = self.query(name, WireType::CNAME).await?;
        Ok(records.iter().find_map(|r| match &r.data {
            RData::CNAME(target)
                if r.name
                    .to_ascii()
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case(name.as_str()) =>
            {
                Some(target.0.to_ascii())
            }
            _ => None,
        }))
    }

    /// One query; NXDOMAIN and empty answers give no records. A truncated
    /// UDP answer (TC bit) is asked again over TCP, which carries the whole
    /// set.
    async fn query(&self, name: &DnsName, wire: WireType) -> Result<Vec<hickory_proto::rr::Record>, DnsError> {
        let rtype = wire_str(wire);
        let what = format!("querying {rtype} {name}");
        let udp = self.handle(&what).await?;
        let mut response = ask(udp, self.server, self.timeout, name, wire, &what).await?;
        if response.metadata.truncation {
            tracing::debug!(server = %self.server, %name, rtype, "truncated answer over UDP; asking again over TCP");
            let tcp = self.tcp_handle(&what).await?;
            response = ask(
                tcp,
                self.server,
                self.timeout,
                name,
                wire,
                &format!("{what} (over TCP)"),
            )
            .await?;
        }
        match response.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(response.answers.clone()),
            other => Err(DnsError::QueryFailed {
                server: self.server,
                name: name.clone(),
                rtype: rtype.to_string(),
                rcode: rcode_name(other),
            }),
        }
    }

    /// Reads `desired`'s set back after the server accepted its update and
    /// checks it holds. A server answers NOERROR to an add it ignores (an A
    /// or SRV at a name holding a CNAME, RFC 2136 §3.4.2.2), so only the
    /// read-back tells.
    async fn read_back(&self, zone: &Fqdn, desired: &DnsRecord, record: &str) -> Result<(), DnsError> {
        let name = desired.name();
        let found = match self.observe(&[(name.clone(), desired.record_type())]).await {
            Ok(found) => found.into_iter().next(),
            Err(e) => {
                return Err(DnsError::ReadBackFailed {
                    server: self.server,
                    zone: zone.to_string(),
                    record: record.to_string(),
                    source: Box::new(e),
                });
            }
        };
        if convert::same(found.as_ref(), Some(desired)) {
            return Ok(());
        }
        // A CNAME at the name explains it; if asking fails, report what was
        // read back.
        if let Ok(Some(cname)) = self.cname_of(name).await {
            return Err(DnsError::IgnoredForCname {
                server: self.server,
                zone: zone.to_string(),
                name: name.clone(),
                rtype: desired.record_type().to_string(),
                cname,
            });
        }
        Err(DnsError::NotApplied {
            server: self.server,
            zone: zone.to_string(),
            record: record.to_string(),
            expected: desired.clone(),
            found,
        })
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
            ResponseCode::NoError => {
                self.read_back(zone, desired, &record).await?;
                Ok(UpdateOutcome::Updated)
            }
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

/// Sends one query through `client` and waits for its answer.
#[tracing::instrument(level = "debug", name = "dns_query", skip_all, fields(%server, %name, rtype = wire_str(wire)))]
async fn ask(
    mut client: Client<TokioRuntimeProvider>,
    server: SocketAddr,
    timeout: Duration,
    name: &DnsName,
    wire: WireType,
    what: &str,
) -> Result<hickory_proto::op::DnsResponse, DnsError> {
    let qname = wire_name(name.as_str()).map_err(|message| DnsError::InvalidRequest {
        zone: String::new(),
        record: format!("{} {name}", wire_str(wire)),
        message,
    })?;
    let fut = client.query(qname, DNSClass::IN, wire);
    match tokio::time::timeout(timeout.saturating_add(Duration::from_millis(200)), fut).await {
        Err(_) | Ok(Err(NetError::Timeout)) => Err(DnsError::Timeout {
            server,
            what: what.to_string(),
            after: timeout,
        }),
        Ok(Err(source)) => Err(DnsError::Transport {
            server,
            what: what.to_string(),
            source: Box::new(source),
        }),
        Ok(Ok(r)) => Ok(r),
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
        WireType::CNAME => "CNAME",
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
