//! The lab file: a simulated deployment in one YAML file, read with
//! positions in its errors and written atomically. Its format is the wire
//! types of the `wire` module; this is the lab as the backend works with it.

use std::path::{Path, PathBuf};

use super::wire::LabV1;
use crate::model::{Deployment, DnsRecord};
use crate::plan::Operation;

/// A fault to inject: the next `times` operations of `kind` (on `target`,
/// when given) fail with `message` — or, when `silent`, report success and
/// change nothing (a write that does not stick). With `delay_ms`, each
/// takes that long first; a delay with neither `message` nor `silent` only
/// slows the operation, which then runs as usual (a slow cmdlet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The action kind, e.g. `publish-topology`.
    pub kind: String,
    /// How many matching operations fail (default 1 in the file).
    pub times: u32,
    /// The failure message.
    pub message: String,
    /// Only operations on this target (a computer, pool, site or record name).
    pub target: Option<String>,
    /// Report success but change nothing (`message` is then not shown).
    pub silent: bool,
    /// Milliseconds each matching operation takes before it acts (0: none).
    pub delay_ms: u64,
}

impl Fault {
    /// The next `kind` operation fails with `message`.
    #[must_use]
    pub fn failing(kind: &str, message: &str) -> Self {
        Self {
            kind: kind.into(),
            times: 1,
            message: message.into(),
            target: None,
            silent: false,
            delay_ms: 0,
        }
    }

    /// The next `kind` operation takes `delay_ms` first, then runs as usual
    /// (a slow cmdlet).
    #[must_use]
    pub fn slowing(kind: &str, delay_ms: u64) -> Self {
        Self {
            delay_ms,
            ..Self::failing(kind, "")
        }
    }

    /// The next `kind` operation reports success and changes nothing (a
    /// write that does not stick).
    #[must_use]
    pub fn silently_ignoring(kind: &str) -> Self {
        Self {
            silent: true,
            ..Self::failing(kind, "")
        }
    }

    /// The same fault for the next `times` matching operations.
    #[must_use]
    pub fn times(self, times: u32) -> Self {
        Self { times, ..self }
    }

    /// The same fault, only for operations on `target`.
    #[must_use]
    pub fn on(self, target: &str) -> Self {
        Self {
            target: Some(target.into()),
            ..self
        }
    }

    /// Whether it only slows the operation down.
    #[must_use]
    pub fn only_delays(&self) -> bool {
        self.delay_ms > 0 && self.message.is_empty() && !self.silent
    }
}

/// The whole lab file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabFile {
    /// Always `edgefed/v1`.
    pub api_version: String,
    /// Always `Lab`.
    pub kind: String,
    /// The published topology and runtime state (its `dns` stays empty: DNS
    /// is kept below, as external DNS is its own system).
    pub topology: Deployment,
    /// Topology edits made but not yet published, as Topology Builder holds
    /// them: observation does not show them.
    pub staged: Vec<Operation>,
    /// The topology signature the `staged` edits were made against: a
    /// publish is refused once the topology has changed since (a site route
    /// or next-hop write changes it, as a publish does). Absent in files
    /// written before it existed: the edits then count as made against the
    /// current topology.
    pub staged_against: Option<String>,
    /// External DNS.
    pub dns: Vec<DnsRecord>,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// The sequence number of the last operation of the operation log
    /// (`<lab>.log.ndjson`, see [`super::OperationLog`]) this state includes.
    pub sequence: u64,
    /// The operations a lab file written before the operation log had its
    /// own file still lists under `log:` (numbered up to `sequence`); the
    /// next [`LabFile::write`] moves them into the operation log.
    pub legacy_log: Vec<super::LogEntry>,
    /// A published topology document (`Get-CsTopology -AsXml`), relative to
    /// the lab file, kept in step with `topology`: publish and next-hop
    /// changes edit it with the same code the PowerShell backend publishes
    /// with. Set by `lab init --from-topology`.
    pub topology_document: Option<PathBuf>,
}

/// Why the lab file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LabFileError {
    /// The file does not exist.
    #[error("lab file {path} does not exist")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("cannot {action} lab file {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid lab.
    #[error(
        "{path}:{line}:{column}: invalid lab file: {message} — fix it, or start again with `edgefed lab init --force`"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// The lab's operation log does not read.
    #[error(
        "{path}:{line}:{column}: invalid lab operation log: {message} — the lab cannot be brought up to date; move the log aside to use the lab file as it was last written, or start again with `edgefed lab init --force`"
    )]
    InvalidLog {
        /// The log file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
}

impl LabFile {
    /// Parses lab YAML.
    ///
    /// # Errors
    /// [`LabFileError::Invalid`] with the position of the problem.
    pub fn parse(path: &Path, text: &str) -> Result<Self, LabFileError> {
        let lab = match crate::document::plain_yaml::from_str::<LabV1>(text) {
            Ok(lab) => lab,
            Err(why) => {
                tracing::debug!("{}: read with the full YAML parser ({why})", path.display());
                Self::parse_yaml(path, text)?
            }
        };
        if lab.api_version != "edgefed/v1" || lab.kind != "Lab" {
            return Err(LabFileError::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!(
                    "expected `apiVersion: edgefed/v1` and `kind: Lab`, found `{}` / `{}`",
                    lab.api_version, lab.kind
                ),
            });
        }
        Ok(lab.into())
    }

    /// Reads lab YAML with the full parser, which locates every error.
    fn parse_yaml(path: &Path, text: &str) -> Result<LabV1, LabFileError> {
        let options = crate::document::budget::options(text.len());
        serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = crate::document::yaml_message(&e);
            LabFileError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })
    }

    /// Reads the lab at `path` as it stands: the file, and the operations
    /// its operation log holds past the file's sequence (a run killed
    /// before it wrote the file back) replayed on top of it.
    ///
    /// # Errors
    /// [`LabFileError`] when the file or its log is missing, unreadable or
    /// invalid.
    pub fn read(path: &Path) -> Result<Self, LabFileError> {
        let mut lab = Self::read_file(path)?;
        super::replay::replay(path, &mut lab)?;
        Ok(lab)
    }

    /// Reads the lab file alone, without replaying its operation log.
    ///
    /// # Errors
    /// [`LabFileError`] when it is missing, unreadable or invalid.
    pub fn read_file(path: &Path) -> Result<Self, LabFileError> {
        let text = crate::fs_util::read_to_string_capped(path, crate::limits::MAX_DATA_BYTES).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                LabFileError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                LabFileError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        Self::parse(path, &text)
    }

    /// The YAML text of the lab, as written to the file.
    #[must_use]
    pub fn to_yaml(&self) -> String {
        // Every field serialises (strings, numbers, maps): this cannot fail.
        serde_saphyr::to_string(&LabV1::from(self)).unwrap_or_default()
    }

    /// The lab in the same format as JSON (`lab show --output json`), with a
    /// final newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        // As above: string-keyed maps and plain values only.
        let mut s = serde_json::to_string_pretty(&LabV1::from(self)).unwrap_or_default();
        s.push('\n');
        s
    }

    /// `lab show --output yaml`: the lab as its file says it, and a
    /// summary of its operation log under `operationLog`.
    #[must_use]
    pub fn to_show_yaml(&self, log: &super::LogSummary) -> String {
        // As `to_yaml`: plain values only.
        serde_saphyr::to_string(&super::wire::LabShowV1::new(self, log)).unwrap_or_default()
    }

    /// `lab show --output json`: as [`LabFile::to_show_yaml`], in JSON.
    #[must_use]
    pub fn to_show_json(&self, log: &super::LogSummary) -> String {
        let mut s = serde_json::to_string_pretty(&super::wire::LabShowV1::new(self, log)).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the lab atomically: a temporary file in the same folder, synced,
    /// then renamed over `path`, then the folder synced. The comment block
    /// the file starts with is kept (other comments are not: the file is
    /// written from the lab's state). The operations of an old file's
    /// `log:` are first moved into the operation log.
    ///
    /// # Errors
    /// [`LabFileError::Io`] when any step fails; `path` is then unchanged.
    pub fn write(&self, path: &Path) -> Result<(), LabFileError> {
        self.write_file(path)?;
        if self.sequence > 0 {
            let log = super::OperationLog::of(path);
            let mut appender = super::oplog::Appender::open(&log)?;
            appender.checkpoint(self.sequence).map_err(|source| LabFileError::Io {
                action: "write",
                path: log.path().to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    /// [`LabFile::write`] without the checkpoint line in the operation log
    /// (the backend appends it through its own open log).
    pub(super) fn write_file(&self, path: &Path) -> Result<(), LabFileError> {
        if !self.legacy_log.is_empty() {
            super::oplog::migrate(path, &self.legacy_log)?;
        }
        let mut text = super::comments::leading_block(path);
        text.push_str(&self.to_yaml());
        crate::fs_util::write_atomically(path, text.as_bytes()).map_err(|e| LabFileError::Io {
            action: "write",
            path: e.path,
            source: e.source,
        })
    }

    /// The published topology as Lync shows it: the Central Management
    /// Server is available while a server of its pool answers.
    #[must_use]
    pub fn published(&self) -> Deployment {
        let mut d = self.topology.clone();
        let down = d.central_management_down().is_some();
        if let Some(cms) = d.central_management.as_mut() {
            cms.available = !down;
        }
        d
    }

    /// The observed deployment: the published topology and DNS.
    #[must_use]
    pub fn deployment(&self) -> Deployment {
        let mut d = self.published();
        d.dns.clone_from(&self.dns);
        d
    }
}
