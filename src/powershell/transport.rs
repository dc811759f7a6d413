//! One round trip: start the launcher, write the script to its stdin, read
//! stdout until it exits (bounded by a timeout), and pull the marked JSON
//! result out of whatever else the shell printed.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::config::Launcher;
use super::script::{Script, extract_result};
use crate::backend::{BackendError, Cause};

/// Round trips and bytes exchanged so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTripStats {
    /// Scripts sent.
    pub round_trips: u64,
    /// Bytes written to the shell's stdin.
    pub bytes_sent: u64,
    /// Bytes read from its stdout and stderr.
    pub bytes_received: u64,
}

/// Runs scripts through a launcher and counts them.
#[derive(Debug)]
pub struct Transport {
    launcher: Launcher,
    round_trips: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
}

/// The result of one script: each step's outcome by key.
pub type Reply = Map<String, Value>;

impl Transport {
    /// A transport over `launcher`.
    #[must_use]
    pub fn new(launcher: Launcher) -> Self {
        Self {
            launcher,
            round_trips: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> RoundTripStats {
        RoundTripStats {
            round_trips: self.round_trips.load(Ordering::Relaxed),
            bytes_sent: self.sent.load(Ordering::Relaxed),
            bytes_received: self.received.load(Ordering::Relaxed),
        }
    }

    /// Runs `script` and returns its result object.
    ///
    /// # Errors
    /// [`BackendError::Failed`] when the launcher cannot start or prints no
    /// marked result (with its exit status and the end of its stderr);
    /// [`BackendError::Timeout`] when it does not finish in time.
    pub async fn run(&self, script: Script, timeout: Duration) -> Result<Reply, BackendError> {
        let (text, nonce) = script.finish();
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.sent.fetch_add(text.len() as u64, Ordering::Relaxed);
        let program = &self.launcher.program;
        let failed = |message: String| BackendError::failed(message);
        let mut child = tokio::process::Command::new(program)
            .args(&self.launcher.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                BackendError::failed_by(
                    format!(
                        "cannot start the Management Shell launcher `{program}`: {e} (set --ps-command or EDGEFED_PS_COMMAND)"
                    ),
                    Cause::Io(Arc::new(e)),
                )
            })?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| failed("the launcher's stdin is not available".into()))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| failed("the launcher's stdout is not available".into()))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| failed("the launcher's stderr is not available".into()))?;
        let cap = crate::limits::MAX_DATA_BYTES;
        let work = async {
            let write = async {
                let r = stdin.write_all(text.as_bytes()).await;
                drop(stdin);
                Ok::<_, BackendError>(r)
            };
            // Each stream is read up to the cap; past it, reading stops and
            // the shell is ended (dropping the child kills it).
            let (w, out, err) = tokio::try_join!(
                write,
                read_capped(&mut stdout, cap, "output"),
                read_capped(&mut stderr, cap, "error output")
            )?;
            let status = child
                .wait()
                .await
                .map_err(|e| failed(format!("waiting for the shell failed: {e}")))?;
            Ok::<_, BackendError>((w, out, err, status))
        };
        let (write, out, err, status) = tokio::time::timeout(timeout, work).await.map_err(|_| {
            BackendError::timeout(
                timeout,
                format!(
                    "the Management Shell did not finish within {}s; the deployment's state is unknown: observe again",
                    timeout.as_secs()
                ),
            )
        })??;
        self.received
            .fetch_add((out.len() + err.len()) as u64, Ordering::Relaxed);
        reply_of(out, &err, &nonce, &status.to_string(), write.err())
    }
}

/// The result object in a shell's output `out` (consumed: it is dropped
/// as soon as the JSON is parsed, so the answer is never held twice beside
/// its parsed form). `err`, `status` and `write_error` explain a missing
/// result.
///
/// # Errors
/// [`BackendError::Failed`] when there is no marked result or it is not a
/// JSON object.
pub fn reply_of(
    out: Vec<u8>,
    err: &[u8],
    nonce: &str,
    status: &str,
    write_error: Option<std::io::Error>,
) -> Result<Reply, BackendError> {
    let failed = |message: String| BackendError::failed(message);
    let parsed = {
        let stdout = String::from_utf8_lossy(&out);
        extract_result(&stdout, nonce).map(|json| serde_json::from_str::<Value>(&json))
    };
    drop(out);
    let Some(parsed) = parsed else {
        let stderr = String::from_utf8_lossy(err);
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        let wrote = write_error
            .map(|e| format!("; writing the script failed: {e}"))
            .unwrap_or_default();
        return Err(failed(format!(
            "the Management Shell returned no result ({status}{wrote}); stderr: {}",
            if tail.is_empty() { "(empty)" } else { &tail }
        )));
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(failed("the Management Shell's result is not a JSON object".into())),
        Err(e) => Err(failed(format!("the Management Shell's result is not valid JSON: {e}"))),
    }
}

/// Reads `stream` to its end, refusing more than `cap` bytes.
async fn read_capped(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    cap: u64,
    what: &str,
) -> Result<Vec<u8>, BackendError> {
    let mut bytes = Vec::new();
    stream
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| BackendError::failed(format!("reading the shell's {what} failed: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(BackendError::state_unknown(format!(
            "the Management Shell's {what} passed {} MiB, the most edgefed reads of one script: edgefed stopped reading \
             and ended the shell; what the script did is unknown: observe again, and check the launcher \
             (--ps-command) prints only what the script writes",
            cap / (1024 * 1024)
        )));
    }
    Ok(bytes)
}

/// One step's outcome in a [`Reply`].
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// It ran: its output values and the warnings it wrote.
    Ok {
        /// The output.
        value: Vec<Value>,
        /// Warnings (e.g. Lync's publish warning).
        warnings: Vec<String>,
    },
    /// It threw: Lync's message.
    Err(String),
}

/// The outcome of step `key`, moved out of `reply` (nothing is copied:
/// observation takes each step once).
///
/// # Errors
/// As [`step`].
pub fn take_step(reply: &mut Reply, key: &str) -> Result<StepOutcome, BackendError> {
    let Some(Value::Object(mut s)) = reply.remove(key) else {
        return step(&Reply::new(), key);
    };
    if s.get("ok").and_then(Value::as_bool) == Some(true) {
        let value = match s.remove("value") {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => Vec::new(),
            Some(v) => vec![v],
        };
        let warnings = match s.remove("warnings") {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|w| match w {
                    Value::String(w) => Some(w),
                    _ => None,
                })
                .collect(),
            Some(Value::String(w)) => vec![w],
            _ => Vec::new(),
        };
        Ok(StepOutcome::Ok { value, warnings })
    } else {
        let mut rest = Reply::new();
        rest.insert(key.to_string(), Value::Object(s));
        step(&rest, key)
    }
}

/// The outcome of step `key`.
///
/// # Errors
/// [`BackendError::StateUnknown`] when the reply has no such step (the
/// script stopped before it).
pub fn step(reply: &Reply, key: &str) -> Result<StepOutcome, BackendError> {
    let Some(Value::Object(s)) = reply.get(key) else {
        return Err(BackendError::state_unknown(format!(
            "the Management Shell's result has no outcome for step `{key}`: the script stopped before it; the step's effect is unknown"
        )));
    };
    if s.get("ok").and_then(Value::as_bool) == Some(true) {
        let value = match s.get("value") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(v) => vec![v.clone()],
        };
        let warnings = match s.get("warnings") {
            Some(Value::Array(a)) => a.iter().filter_map(|w| w.as_str().map(str::to_string)).collect(),
            Some(Value::String(w)) => vec![w.clone()],
            _ => Vec::new(),
        };
        Ok(StepOutcome::Ok { value, warnings })
    } else {
        let message = s
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the step failed without a message")
            .to_string();
        Ok(StepOutcome::Err(message))
    }
}
