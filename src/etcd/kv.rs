//! Keys: create-if-absent under a lease, read, delete.

use serde_json::{Value, json};

use super::client::{decode, encode, int};
use super::{Client, EtcdError, LeaseId};

/// A key's value with its revisions and lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// The revision that created the key (it grows with every creation).
    pub create_revision: i64,
    /// The revision of its last change.
    pub mod_revision: i64,
    /// The lease it lives under (`None`: none).
    pub lease: Option<LeaseId>,
}

/// What [`Client::create_if_absent`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The key did not exist and now does, created at this revision.
    Created {
        /// The create revision.
        revision: i64,
    },
    /// The key exists: nothing was written. What is there now.
    Exists(KeyValue),
}

impl Client {
    /// Writes `key` = `value` under `lease` only if the key does not exist
    /// (one transaction comparing its `create_revision` with 0).
    ///
    /// # Errors
    /// When etcd cannot be reached or refuses (an unknown lease, for one).
    pub async fn create_if_absent(&self, key: &[u8], value: &[u8], lease: LeaseId) -> Result<Created, EtcdError> {
        const CALL: &str = "/v3/kv/txn";
        let k = encode(key);
        let body = json!({
            "compare": [{ "key": k, "result": "EQUAL", "target": "CREATE", "create_revision": "0" }],
            "success": [{ "request_put": { "key": k, "value": encode(value), "lease": lease.0.to_string() } }],
            "failure": [{ "request_range": { "key": k } }],
        });
        let answer = self.call(CALL, &body).await?;
        if answer.get("succeeded").and_then(Value::as_bool) == Some(true) {
            let revision = int(answer.pointer("/header/revision")).map_err(|e| self.malformed(CALL, e))?;
            return Ok(Created::Created { revision });
        }
        let kvs = answer.pointer("/responses/0/response_range/kvs");
        match self.first_kv(CALL, kvs)? {
            Some(kv) => Ok(Created::Exists(kv)),
            // Deleted between the compare and the range: both ran in one
            // transaction, so this cannot happen; say so rather than guess.
            None => Err(self.malformed(CALL, "the transaction failed but the key does not exist")),
        }
    }

    /// Reads `key`.
    ///
    /// # Errors
    /// When etcd cannot be reached or refuses.
    pub async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, EtcdError> {
        const CALL: &str = "/v3/kv/range";
        let answer = self.call(CALL, &json!({ "key": encode(key) })).await?;
        self.first_kv(CALL, answer.get("kvs"))
    }

    /// Deletes `key`; returns whether it existed.
    ///
    /// # Errors
    /// When etcd cannot be reached or refuses.
    pub async fn delete(&self, key: &[u8]) -> Result<bool, EtcdError> {
        const CALL: &str = "/v3/kv/deleterange";
        let answer = self.call(CALL, &json!({ "key": encode(key) })).await?;
        let deleted = int(answer.get("deleted")).map_err(|e| self.malformed(CALL, e))?;
        Ok(deleted > 0)
    }

    /// Deletes `key` only if its create revision is `revision` (it is still
    /// the same key, not one created since); returns whether it did.
    ///
    /// # Errors
    /// When etcd cannot be reached or refuses.
    pub async fn delete_if_created_at(&self, key: &[u8], revision: i64) -> Result<bool, EtcdError> {
        const CALL: &str = "/v3/kv/txn";
        let k = encode(key);
        let body = json!({
            "compare": [{ "key": k, "result": "EQUAL", "target": "CREATE", "create_revision": revision.to_string() }],
            "success": [{ "request_delete_range": { "key": k } }],
        });
        let answer = self.call(CALL, &body).await?;
        Ok(answer.get("succeeded").and_then(Value::as_bool) == Some(true))
    }

    fn first_kv(&self, call: &'static str, kvs: Option<&Value>) -> Result<Option<KeyValue>, EtcdError> {
        let Some(kv) = kvs.and_then(Value::as_array).and_then(|a| a.first()) else {
            return Ok(None);
        };
        let bad = |e: String| self.malformed(call, e);
        let lease = int(kv.get("lease")).map_err(bad)?;
        Ok(Some(KeyValue {
            key: decode(kv.get("key")).map_err(bad)?,
            value: decode(kv.get("value")).map_err(bad)?,
            create_revision: int(kv.get("create_revision")).map_err(bad)?,
            mod_revision: int(kv.get("mod_revision")).map_err(bad)?,
            lease: (lease != 0).then_some(LeaseId(lease)),
        }))
    }
}
