//! [`Client`]: one etcd endpoint and the JSON calls of its v3 gateway.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::EtcdError;

/// Where etcd listens: a host (name or IP address) and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The client port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "http://{}:{}", self.host, self.port)
        }
    }
}

/// A client of one etcd endpoint. Cheap to clone (the connection pool is
/// shared).
#[derive(Clone, Debug)]
pub struct Client {
    endpoint: Endpoint,
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of `endpoint` whose every call is bounded by `timeout`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS is involved, so only
    /// when the system refuses resources).
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Result<Self, EtcdError> {
        let base = endpoint.to_string();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|source| EtcdError::Unreachable {
                endpoint: base.clone(),
                call: "(client)",
                source,
            })?;
        Ok(Self { endpoint, base, http })
    }

    /// The endpoint, as `http://HOST:PORT`.
    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// POSTs `body` to the gateway path `call` and returns the JSON answer.
    pub(super) async fn call(&self, call: &'static str, body: &Value) -> Result<Value, EtcdError> {
        let unreachable = |source| EtcdError::Unreachable {
            endpoint: self.base.clone(),
            call,
            source,
        };
        let response = self
            .http
            .post(format!("{}{call}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if bytes.len() as u64 > crate::limits::MAX_SMALL_FILE_BYTES {
            return Err(self.malformed(call, format!("an answer of {} bytes", bytes.len())));
        }
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("error")
                        .or_else(|| v.get("message"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| text.trim().chars().take(200).collect());
            return Err(EtcdError::Refused {
                endpoint: self.base.clone(),
                call,
                status: status.as_u16(),
                message,
            });
        }
        // Streaming calls (keep-alive) answer `{"result": …}`, possibly
        // followed by more lines; the first is the answer to our one request.
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("{}");
        let value: Value = serde_json::from_str(first).map_err(|e| self.malformed(call, format!("not JSON ({e})")))?;
        if let Some(error) = value.get("error") {
            return Err(EtcdError::Refused {
                endpoint: self.base.clone(),
                call,
                status: status.as_u16(),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| error.to_string(), str::to_owned),
            });
        }
        Ok(value.get("result").cloned().unwrap_or(value))
    }

    pub(super) fn malformed(&self, call: &'static str, what: impl Into<String>) -> EtcdError {
        EtcdError::Malformed {
            endpoint: self.base.clone(),
            call,
            what: what.into(),
        }
    }

    pub(super) fn base(&self) -> &str {
        &self.base
    }
}

/// Bytes as the gateway carries them.
pub(super) fn encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// A base64 field of an answer (absent means empty).
pub(super) fn decode(value: Option<&Value>) -> Result<Vec<u8>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => BASE64.decode(s).map_err(|e| format!("bad base64 ({e})")),
        Some(other) => Err(format!("expected base64 text, found {other}")),
    }
}

/// A 64-bit number of an answer: the gateway writes them as strings and
/// leaves out zeros.
pub(super) fn int(value: Option<&Value>) -> Result<i64, String> {
    match value {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s.parse().map_err(|_| format!("expected a number, found {s:?}")),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| format!("expected an integer, found {n}")),
        Some(other) => Err(format!("expected a number, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_numbers_and_bytes_are_read_as_etcd_writes_them() {
        assert_eq!(int(Some(&Value::String("7587868".into()))), Ok(7_587_868));
        assert_eq!(int(None), Ok(0));
        assert_eq!(int(Some(&serde_json::json!(12))), Ok(12));
        assert!(int(Some(&Value::String("x".into()))).is_err());
        assert_eq!(
            decode(Some(&Value::String(encode(b"edgefed/lock")))),
            Ok(b"edgefed/lock".to_vec())
        );
        assert_eq!(decode(None), Ok(Vec::new()));
        assert!(decode(Some(&Value::String("***".into()))).is_err());
    }

    #[test]
    fn endpoints_print_as_urls() {
        let v4 = Endpoint {
            host: "127.0.0.1".into(),
            port: 2379,
        };
        assert_eq!(v4.to_string(), "http://127.0.0.1:2379");
        let v6 = Endpoint {
            host: "::1".into(),
            port: 2379,
        };
        assert_eq!(v6.to_string(), "http://[::1]:2379");
    }
}
