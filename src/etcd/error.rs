//! [`EtcdError`]: why a call to etcd failed.

/// A call to etcd failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// etcd could not be reached or did not answer in time.
    #[error("cannot reach etcd at {endpoint} ({call}): {source}")]
    Unreachable {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// The gateway path called (`/v3/kv/txn`, …).
        call: &'static str,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// etcd answered with an error status.
    #[error("etcd at {endpoint} refused {call}: HTTP {status}: {message}")]
    Refused {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// The gateway path called.
        call: &'static str,
        /// The HTTP status.
        status: u16,
        /// etcd's message (its `error` / `message` field, or the body).
        message: String,
    },
    /// etcd's answer is not what the v3 gateway sends.
    #[error("etcd at {endpoint} answered {call} with something unexpected: {what}")]
    Malformed {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// The gateway path called.
        call: &'static str,
        /// What was wrong with it.
        what: String,
    },
    /// etcd did not answer within the time the caller could wait.
    #[error("etcd at {endpoint} did not answer {call} within {}ms", after.as_millis())]
    NoAnswer {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// The gateway path called.
        call: &'static str,
        /// How long the caller waited.
        after: std::time::Duration,
    },
    /// The lease is gone (expired or revoked): what it held is released.
    #[error("the etcd lease {lease:x} at {endpoint} has expired or was revoked")]
    LeaseLost {
        /// `http://HOST:PORT`.
        endpoint: String,
        /// The lease.
        lease: i64,
    },
}
