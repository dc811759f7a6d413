//! One round trip: start the launcher (contained, so that it never outlives
//! edgefed: see [`super::child`]), write the script to its stdin, read
//! stdout until it exits (bounded by a timeout), and pull the marked JSON
//! result out of whatever else the shell printed.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::Instrument as _;

use super::config::Launcher;
use super::output_bound::OutputBound;
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
        let x = self.exchange(script, timeout, OutputBound::Command).await?;
        reply_of(x.out, &x.err, &x.nonce, &x.status, x.write_error)
    }

    /// [`Self::run`], with the result read one step at a time
    /// ([`LazyReply`]) and the output bounded by `bound`: what observation
    /// uses, whose answer is large.
    ///
    /// # Errors
    /// As [`Self::run`]; [`OutputBound::exceeded`] past the bound.
    pub async fn run_lazy(
        &self,
        script: Script,
        timeout: Duration,
        bound: OutputBound,
    ) -> Result<LazyReply, BackendError> {
        let x = self.exchange(script, timeout, bound).await?;
        LazyReply::parse(x.out, &x.err, &x.nonce, &x.status, x.write_error)
    }

    /// Runs `script`: what the shell printed, and how it ended.
    async fn exchange(&self, script: Script, timeout: Duration, bound: OutputBound) -> Result<Exchange, BackendError> {
        let (text, nonce) = script.finish();
        // One span per round trip: its close prints the duration (`-vv`);
        // the exit status and bytes read are recorded when the shell ends.
        let span = tracing::debug_span!(
            "powershell",
            launcher = %self.launcher.program,
            script_bytes = text.len(),
            exit = tracing::field::Empty,
            bytes_received = tracing::field::Empty,
        );
        // The script itself only at trace level: it holds no secret (an
        // Edge credential is read from its file by the shell, never sent),
        // but it can be megabytes long.
        tracing::trace!(parent: &span, script = %text, "PowerShell script");
        self.round_trip(text, nonce, timeout, bound).instrument(span).await
    }

    async fn round_trip(
        &self,
        text: String,
        nonce: String,
        timeout: Duration,
        bound: OutputBound,
    ) -> Result<Exchange, BackendError> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        self.sent.fetch_add(text.len() as u64, Ordering::Relaxed);
        let program = &self.launcher.program;
        let failed = |message: String| BackendError::failed(message);
        let mut command = tokio::process::Command::new(program);
        command
            .args(&self.launcher.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The shell (and what it starts) ends with this round trip, and
        // with edgefed: see `child`.
        super::child::contain(&mut command);
        let mut child = command
            .spawn()
            .map_err(|e| {
                BackendError::failed_by(
                    format!(
                        "cannot start the Management Shell launcher `{program}`: {e} (set --ps-command or EDGEFED_PS_COMMAND)"
                    ),
                    Cause::Io(Arc::new(e)),
                )
            })?;
        // Declared after `child`, so dropped before it: the whole group goes.
        let _contained = super::child::Contained::attach(&child);
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
                read_capped(&mut stdout, bound, "output"),
                read_capped(&mut stderr, bound, "error output")
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
        let span = tracing::Span::current();
        span.record("exit", tracing::field::display(&status));
        span.record("bytes_received", out.len() + err.len());
        Ok(Exchange {
            out,
            err,
            nonce,
            status: status.to_string(),
            write_error: write.err(),
        })
    }
}

/// What one script run gave back.
struct Exchange {
    out: Vec<u8>,
    err: Vec<u8>,
    nonce: String,
    status: String,
    write_error: Option<std::io::Error>,
}

/// The error of a run that printed no marked result.
fn no_result(err: &[u8], status: &str, write_error: Option<std::io::Error>) -> BackendError {
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
    BackendError::failed(format!(
        "the Management Shell returned no result ({status}{wrote}); stderr: {}",
        if tail.is_empty() { "(empty)" } else { &tail }
    ))
}

/// A result object read one step at a time: the shell's output stays
/// text, each step's JSON is located once, and a step is parsed only when
/// taken, so a large answer is never held whole both as text and as a
/// tree. A document step ([`Steps::take_text`]) is decoded where it lies
/// and the output's buffer becomes its `String`: the answer is never held
/// beside a copy of the document.
#[derive(Debug)]
pub struct LazyReply {
    /// UTF-8 text (checked once, when parsed).
    text: Vec<u8>,
    steps: BTreeMap<String, std::ops::Range<usize>>,
}

impl LazyReply {
    /// The result in a shell's output `out` (see [`reply_of`]).
    ///
    /// # Errors
    /// As [`reply_of`].
    pub fn parse(
        out: Vec<u8>,
        err: &[u8],
        nonce: &str,
        status: &str,
        write_error: Option<std::io::Error>,
    ) -> Result<Self, BackendError> {
        let text = String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let (text, range) = match extract_result(&text, nonce) {
            None => return Err(no_result(err, status, write_error)),
            Some(std::borrow::Cow::Borrowed(json)) => {
                let start = json.as_ptr() as usize - text.as_ptr() as usize;
                let range = start..start + json.len();
                (text, range)
            }
            Some(std::borrow::Cow::Owned(json)) => {
                let len = json.len();
                (json, 0..len)
            }
        };
        let steps = {
            let index: BTreeMap<String, &serde_json::value::RawValue> =
                serde_json::from_str(&text[range]).map_err(|e| {
                    BackendError::failed(format!("the Management Shell's result is not a JSON object: {e}"))
                })?;
            index
                .into_iter()
                .map(|(key, raw)| {
                    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
                    (key, start..start + raw.get().len())
                })
                .collect()
        };
        Ok(Self {
            text: text.into_bytes(),
            steps,
        })
    }

    /// The text of `range` (a step's JSON, or a part of it).
    fn str_of(&self, range: std::ops::Range<usize>) -> Result<&str, BackendError> {
        self.text
            .get(range)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| BackendError::failed("the Management Shell's result is not text where a step was located"))
    }

    /// Where the document of step `key` starts, when the step ran and its
    /// value is one string (or a list whose first item is a string): the
    /// offset of the string token's opening quote. Its end is found when it
    /// is decoded ([`super::json_text::decode_leading_token`]): the step's
    /// syntax is checked here, so the document is not scanned again to
    /// find it.
    fn document_start(&self, key: &str) -> Result<Option<usize>, BackendError> {
        use serde_json::value::RawValue;
        let Some(range) = self.steps.get(key).cloned() else {
            return Ok(None);
        };
        let base = self.text.as_ptr() as usize;
        let step = self.str_of(range)?;
        let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(step) else {
            return Ok(None);
        };
        let ok = fields.get("ok").is_some_and(|raw| raw.get() == "true");
        let Some(value) = fields.get("value").filter(|_| ok) else {
            return Ok(None);
        };
        let raw = value.get();
        // A list's first item: after `[` and any JSON whitespace.
        let offset = match raw.strip_prefix('[') {
            Some(items) => 1 + items.len() - items.trim_start_matches([' ', '\t', '\n', '\r']).len(),
            None => 0,
        };
        Ok((raw.as_bytes().get(offset) == Some(&b'"')).then(|| raw.as_ptr() as usize - base + offset))
    }
}

/// Where steps' outcomes are taken from: a parsed [`Reply`] or a
/// [`LazyReply`].
pub trait Steps {
    /// The outcome of step `key`, taken (a second take finds nothing).
    ///
    /// # Errors
    /// As [`step`]; for a [`LazyReply`], also when the step is not JSON.
    fn take(&mut self, key: &str) -> Result<StepOutcome, BackendError>;

    /// The outcome of a step whose output is one document: its first
    /// output value when that is a string (`Ok(None)`: it is not), or
    /// Lync's message.
    ///
    /// # Errors
    /// As [`Self::take`].
    fn take_text(&mut self, key: &str) -> Result<Result<Option<String>, String>, BackendError>
    where
        Self: Sized,
    {
        default_take_text(self, key)
    }

    /// The outcome of step `key`, its output values handed to `each` one
    /// at a time, in order (`Err`: Lync's message). A large step is never
    /// held whole as a tree; the first error `each` returns ends the read.
    ///
    /// # Errors
    /// As [`Self::take`], and what `each` returns.
    fn take_each(
        &mut self,
        key: &str,
        each: &mut dyn FnMut(Value) -> Result<(), BackendError>,
    ) -> Result<Result<(), String>, BackendError>
    where
        Self: Sized,
    {
        default_take_each(self, key, each)
    }
}

impl Steps for Reply {
    fn take(&mut self, key: &str) -> Result<StepOutcome, BackendError> {
        take_step(self, key)
    }
}

impl Steps for LazyReply {
    fn take(&mut self, key: &str) -> Result<StepOutcome, BackendError> {
        let mut one = Reply::new();
        if let Some(range) = self.steps.remove(key) {
            let value: Value = serde_json::from_str(self.str_of(range)?).map_err(|e| {
                BackendError::failed(format!(
                    "the Management Shell's result for step `{key}` is not valid JSON: {e}"
                ))
            })?;
            one.insert(key.to_string(), value);
        }
        take_step(&mut one, key)
    }

    /// Each output value is parsed alone, from the step's text.
    fn take_each(
        &mut self,
        key: &str,
        each: &mut dyn FnMut(Value) -> Result<(), BackendError>,
    ) -> Result<Result<(), String>, BackendError> {
        use serde_json::value::RawValue;
        let Some(range) = self.steps.get(key).cloned() else {
            return default_take_each(self, key, each);
        };
        let invalid = |e: serde_json::Error| {
            BackendError::failed(format!(
                "the Management Shell's result for step `{key}` is not valid JSON: {e}"
            ))
        };
        let step = self.str_of(range)?;
        let fields = match serde_json::from_str::<BTreeMap<String, &RawValue>>(step) {
            Ok(fields) if fields.get("ok").is_some_and(|raw| raw.get() == "true") => fields,
            _ => return default_take_each(self, key, each),
        };
        let items: Vec<&RawValue> = match fields.get("value") {
            None => Vec::new(),
            Some(raw) if raw.get().starts_with('[') => serde_json::from_str(raw.get()).map_err(invalid)?,
            Some(raw) if raw.get() == "null" => Vec::new(),
            Some(raw) => vec![*raw],
        };
        for item in items {
            each(serde_json::from_str(item.get()).map_err(invalid)?)?;
        }
        self.steps.remove(key);
        Ok(Ok(()))
    }

    /// The document is decoded in place; the other steps' JSON moves to a
    /// buffer of its own and the output's buffer, cut to the document,
    /// becomes the `String` returned. Anything else (a failed step, a value
    /// that is not a string, an escape the decoder refuses) is read as by
    /// [`Steps::take`], with the same outcome and messages.
    fn take_text(&mut self, key: &str) -> Result<Result<Option<String>, String>, BackendError> {
        let Some(start) = self.document_start(key)? else {
            return default_take_text(self, key);
        };
        let Some((token_len, len)) = self
            .text
            .get_mut(start..)
            .and_then(super::json_text::decode_leading_token)
        else {
            return default_take_text(self, key);
        };
        let token = start..start + token_len;
        self.steps.remove(key);
        let mut rest = Vec::with_capacity(self.steps.values().map(ExactSizeIterator::len).sum());
        for range in self.steps.values_mut() {
            let start = rest.len();
            rest.extend_from_slice(&self.text[range.clone()]);
            *range = start..rest.len();
        }
        let mut document = std::mem::replace(&mut self.text, rest);
        document.copy_within(token.start..token.start + len, 0);
        document.truncate(len);
        document.shrink_to_fit();
        String::from_utf8(document).map(|text| Ok(Some(text))).map_err(|e| {
            BackendError::failed(format!(
                "the Management Shell's result for step `{key}` is not valid JSON: {e}"
            ))
        })
    }
}

/// [`Steps::take_each`] as every [`Steps`] reads it.
fn default_take_each(
    steps: &mut impl Steps,
    key: &str,
    each: &mut dyn FnMut(Value) -> Result<(), BackendError>,
) -> Result<Result<(), String>, BackendError> {
    match steps.take(key)? {
        StepOutcome::Ok { value, .. } => {
            for v in value {
                each(v)?;
            }
            Ok(Ok(()))
        }
        StepOutcome::Err(message) => Ok(Err(message)),
    }
}

/// [`Steps::take_text`] as every [`Steps`] reads it.
fn default_take_text(steps: &mut impl Steps, key: &str) -> Result<Result<Option<String>, String>, BackendError> {
    Ok(match steps.take(key)? {
        StepOutcome::Ok { value, .. } => Ok(match value.into_iter().next() {
            Some(Value::String(text)) => Some(text),
            _ => None,
        }),
        StepOutcome::Err(message) => Err(message),
    })
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
        return Err(no_result(err, status, write_error));
    };
    match parsed {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(failed("the Management Shell's result is not a JSON object".into())),
        Err(e) => Err(failed(format!("the Management Shell's result is not valid JSON: {e}"))),
    }
}

/// Reads `stream` (the shell's `what`: "output" or "error output") to its
/// end, refusing more than `bound` allows.
async fn read_capped(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    bound: OutputBound,
    what: &str,
) -> Result<Vec<u8>, BackendError> {
    let cap = if what == "output" {
        bound.output_bytes()
    } else {
        bound.error_output_bytes()
    };
    let mut bytes = Vec::new();
    stream
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| BackendError::failed(format!("reading the shell's {what} failed: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(bound.exceeded(what, cap));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy(stdout: &str) -> Result<LazyReply, BackendError> {
        LazyReply::parse(stdout.as_bytes().to_vec(), b"boom", "n1", "exit status: 0", None)
    }

    #[test]
    fn a_lazy_reply_gives_each_step_once_and_ignores_the_noise() {
        let out = "banner\r\nEDGEFED-BEGIN-0000decoy\r\n{\"a\":{\"ok\":false,\"message\":\"decoy\"}}\r\nEDGEFED-END-0000decoy\r\nEDGEFED-BEGIN-n1\r\n{\"a\":{\"ok\":true,\"value\":[\"x\\\"y\"],\"warnings\":[\"w\"]},\"b\":{\"ok\":false,\"message\":\"no\"}}\r\nEDGEFED-END-n1\r\nPS> ";
        let mut r = lazy(out).unwrap();
        assert_eq!(
            r.take("a").unwrap(),
            StepOutcome::Ok {
                value: vec![Value::String("x\"y".into())],
                warnings: vec!["w".into()]
            }
        );
        assert_eq!(r.take("b").unwrap(), StepOutcome::Err("no".into()));
        // Taken once: the second take is a step the script never reached.
        assert!(r.take("a").unwrap_err().to_string().contains("no outcome for step `a`"));
        assert!(r.take("c").is_err());
    }

    #[test]
    fn a_document_step_is_decoded_in_place_and_the_other_steps_stay_readable() {
        let xml = "<Topology Signature=\"s\">\r\n  <A B='é'/>\r\n</Topology>";
        let json = serde_json::json!({
            "first": {"ok": true, "value": ["before"]},
            "topology": {"ok": true, "value": [xml], "warnings": []},
            "sites": {"ok": true, "value": [{"Identity": "Site:S1"}]},
            "bad": {"ok": false, "message": "Cannot connect."},
        });
        let out = format!("banner\r\nEDGEFED-BEGIN-n1\r\n{json}\r\nEDGEFED-END-n1\r\n");
        let mut r = lazy(&out).unwrap();
        assert_eq!(r.take_text("topology").unwrap(), Ok(Some(xml.to_string())));
        // The output's buffer became the document: nothing of it is left.
        assert!(!String::from_utf8_lossy(&r.text).contains("Topology"));
        assert!(matches!(r.take("sites").unwrap(), StepOutcome::Ok { value, .. } if value.len() == 1));
        assert!(
            matches!(r.take("first").unwrap(), StepOutcome::Ok { value, .. } if value == vec![Value::from("before")])
        );
        assert_eq!(r.take_text("bad").unwrap(), Err("Cannot connect.".to_string()));
        let e = r.take_text("topology").unwrap_err().to_string();
        assert!(e.contains("no outcome for step `topology`"), "{e}");
    }

    #[test]
    fn a_document_step_reads_as_a_parsed_reply_reads_it() {
        for step in [
            r#"{"ok":true,"value":"<X/>"}"#,
            r#"{"ok":true,"value":["\u003cX\u003e\ud83d\ude00"]}"#,
            r#"{"ok":true,"value":[]}"#,
            r#"{"ok":true,"value":null}"#,
            r#"{"ok":true,"value":[1,"<X/>"]}"#,
            r#"{"ok":true,"value":{"a":1}}"#,
            r#"{"ok":false,"message":"m"}"#,
            r#"{"ok":false}"#,
            r#"{"ok":"true","value":["<X/>"]}"#,
            r#"{"ok":true,"value":["lone \udc00"]}"#,
        ] {
            let out = format!("EDGEFED-BEGIN-n1\n{{\"t\":{step}}}\nEDGEFED-END-n1\n");
            let lazily = lazy(&out).unwrap().take_text("t").map_err(|e| e.to_string());
            let eagerly = match serde_json::from_str::<Reply>(&format!("{{\"t\":{step}}}")) {
                Ok(mut parsed) => parsed.take_text("t").map_err(|e| e.to_string()),
                // What serde_json refuses inside a step, the lazy reply
                // refuses too, as that step's JSON.
                Err(_) => {
                    assert!(
                        lazily.as_ref().is_err_and(|e| e.contains("is not valid JSON")),
                        "{step}: {lazily:?}"
                    );
                    continue;
                }
            };
            assert_eq!(lazily, eagerly, "{step}");
        }
    }

    #[test]
    fn a_wrapped_result_is_joined_and_a_missing_or_bad_one_is_named() {
        let mut r = lazy("EDGEFED-BEGIN-n1\n{\"a\":{\"ok\":true,\n\"value\":[1]}}\nEDGEFED-END-n1\n").unwrap();
        assert!(matches!(r.take("a").unwrap(), StepOutcome::Ok { value, .. } if value == vec![Value::from(1)]));
        let e = lazy("nothing here").unwrap_err().to_string();
        assert!(e.contains("returned no result") && e.contains("boom"), "{e}");
        let e = lazy("EDGEFED-BEGIN-n1\n[1]\nEDGEFED-END-n1\n").unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
    }
}
