//! A running `edgefed watch` for the tests: its stdout (NDJSON events) and
//! stderr read line by line in the background, its `/metrics` endpoint
//! found on stderr and scraped over loopback, stopped with a signal or
//! killed; killed on drop if a test ends without stopping it. Waits are
//! bounded polls, never timed assertions.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The longest any wait polls.
pub const BOUND: Duration = Duration::from_secs(90);

/// Polls `f` until it gives a value, at most [`BOUND`]; panics naming `what`.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    while start.elapsed() < BOUND {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// A stream read line by line into a string; `done` once it ends.
pub struct Collected {
    pub text: Arc<Mutex<String>>,
    pub done: Arc<AtomicBool>,
}

impl Collected {
    pub fn of(stream: impl std::io::Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(String::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (sink, end) = (Arc::clone(&text), Arc::clone(&done));
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let mut t = sink.lock().expect("lock");
                t.push_str(&line);
                t.push('\n');
            }
            end.store(true, Ordering::SeqCst);
        });
        Self { text, done }
    }

    /// What was read so far.
    pub fn text(&self) -> String {
        self.text.lock().expect("lock").clone()
    }
}

/// A running `edgefed watch` with its endpoint's address.
pub struct WatchProcess {
    pub child: Child,
    pub stdout: Collected,
    pub stderr: Collected,
    pub addr: SocketAddr,
}

impl WatchProcess {
    /// Spawns `command` (an `edgefed … watch … --metrics-addr 127.0.0.1:0`)
    /// without colour, an inherited lab or log filter, and waits for the
    /// endpoint's address on its stderr.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .env("NO_COLOR", "1")
            .env_remove("EDGEFED_LAB")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn edgefed watch");
        let stdout = Collected::of(child.stdout.take().expect("stdout"));
        let stderr = Collected::of(child.stderr.take().expect("stderr"));
        let addr = wait_for("the endpoint address on stderr", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("watch exited {status}: {}", stderr.text());
            }
            let text = stderr.text();
            let start = text.find("http://")? + "http://".len();
            let end = start + text[start..].find("/metrics")?;
            text[start..end].parse().ok()
        });
        Self {
            child,
            stdout,
            stderr,
            addr,
        }
    }

    /// Every event printed so far.
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an NDJSON event: {l}: {e}")))
            .collect()
    }

    /// The events of one kind (`action`, `leadership`, …).
    pub fn of(&self, kind: &str) -> Vec<Value> {
        self.events().into_iter().filter(|e| e["event"] == kind).collect()
    }

    /// Waits for an event after the first `after` that satisfies `f`; returns its index and it.
    pub fn event_after(&self, after: usize, what: &str, f: impl Fn(&Value) -> bool) -> (usize, Value) {
        wait_for(what, || {
            self.events().into_iter().enumerate().skip(after).find(|(_, e)| f(e))
        })
    }

    /// Its stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// `GET path` over loopback: (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(BOUND)).expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status: {response}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// One series' value from `/metrics`.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
    }

    /// Sends SIG`name` (`TERM`, `INT`) without waiting.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGTERM, then the exit code (bounded wait).
    pub fn stop(&mut self) -> i32 {
        self.signal("TERM");
        let status = wait_for("the watcher to exit", || self.child.try_wait().ok().flatten());
        status.code().unwrap_or(-1)
    }

    /// SIGKILL; waits until its output is read to the end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_for("the killed watcher's output to end", || {
            self.stdout.done.load(Ordering::SeqCst).then_some(())
        });
    }
}

impl Drop for WatchProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
