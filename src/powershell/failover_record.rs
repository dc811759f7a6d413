//! edgefed's own record of the Front End pool failovers and failbacks it
//! ran through the Management Shell.
//!
//! Lync documents no way to read a pool's failover state back (see
//! [`crate::model::FailoverState`]), so without a record a document saying
//! `failedOver: true` would run `Invoke-CsPoolFailover` on every reconcile.
//! The backend keeps, next to its topology backups, `pool-failovers.json`:
//! per pool, whether the last action edgefed ran was a failover (`true`) or
//! a failback (`false`). It writes the record (atomically) *before* running
//! the cmdlet, so a cmdlet never runs unrecorded, and puts the previous value
//! back when the cmdlet fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::BackendError;
use crate::model::Fqdn;

/// The record file's name in the backup folder.
pub const FILE_NAME: &str = "pool-failovers.json";

/// The file's format.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordFile {
    format_version: u32,
    /// Per pool: `true` = edgefed last ran `Invoke-CsPoolFailover`,
    /// `false` = `Invoke-CsPoolFailBack`.
    pools: BTreeMap<Fqdn, bool>,
}

/// The record in `dir`.
#[derive(Debug, Clone)]
pub struct FailoverRecord {
    path: PathBuf,
}

impl FailoverRecord {
    /// The record kept in the folder `dir`.
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            path: dir.join(FILE_NAME),
        }
    }

    /// Its path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What edgefed last did to each pool; empty when there is no record.
    ///
    /// # Errors
    /// [`BackendError::Failed`] naming the file when it cannot be read or
    /// is not a record.
    pub fn load(&self) -> Result<BTreeMap<Fqdn, bool>, BackendError> {
        let text = match crate::fs_util::read_to_string_capped(&self.path, crate::limits::MAX_SMALL_FILE_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => {
                return Err(BackendError::failed(format!(
                    "cannot read edgefed's failover record {}: {e}",
                    self.path.display()
                )));
            }
        };
        let file: RecordFile = serde_json::from_str(&text).map_err(|e| {
            BackendError::failed(format!(
                "edgefed's failover record {} is not valid (line {}, column {}: {e}); fix or remove it — it says which Front End pools edgefed failed over",
                self.path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if file.format_version != 1 {
            return Err(BackendError::failed(format!(
                "edgefed's failover record {} has formatVersion {}; this edgefed reads 1",
                self.path.display(),
                file.format_version
            )));
        }
        Ok(file.pools)
    }

    /// Records that edgefed's last action on `pool` is a failover (`Some(true)`),
    /// a failback (`Some(false)`), or none (`None`: the entry is removed).
    ///
    /// # Errors
    /// [`BackendError::Failed`] naming the file when it cannot be read or written.
    pub fn set(&self, pool: &Fqdn, last: Option<bool>) -> Result<(), BackendError> {
        let mut pools = self.load()?;
        match last {
            Some(b) => pools.insert(pool.clone(), b),
            None => pools.remove(pool),
        };
        let file = RecordFile {
            format_version: 1,
            pools,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| BackendError::failed(e.to_string()))?;
        bytes.push(b'\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| BackendError::failed(format!("cannot create {}: {e}", dir.display())))?;
        }
        crate::fs_util::write_atomically(&self.path, &bytes).map_err(|e| {
            BackendError::failed(format!(
                "cannot write edgefed's failover record {}: {e}",
                self.path.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_and_a_broken_one_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let r = FailoverRecord::in_dir(&dir.path().join("backups"));
        let fe = Fqdn::parse("fepool1.contoso.com").unwrap();
        assert!(r.load().unwrap().is_empty());
        r.set(&fe, Some(true)).unwrap();
        assert_eq!(r.load().unwrap().get(&fe), Some(&true));
        r.set(&fe, None).unwrap();
        assert!(r.load().unwrap().is_empty());
        std::fs::write(r.path(), "{").unwrap();
        let e = r.load().unwrap_err().to_string();
        assert!(e.contains("pool-failovers.json"), "{e}");
    }
}
