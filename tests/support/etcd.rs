//! A real etcd for the lock and election tests: `etcd` started on free
//! loopback client and peer ports with a temp data dir, ready once its
//! `/health` says so, killed on drop.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::{free_port, tool, wait_for};

/// Serialises the starts of `etcd` in one test binary: `free_port` lets the
/// port go before etcd binds it, so two tests starting at once could be
/// handed the same one.
static ETCD_START: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running single-member etcd.
pub struct Etcd {
    pub dir: TempDir,
    /// The client port (HTTP, the v3 JSON gateway included).
    pub port: u16,
    /// The peer port.
    pub peer_port: u16,
    child: Child,
}

impl Etcd {
    /// Starts `etcd` on 127.0.0.1 and waits until it is healthy.
    pub fn start() -> Self {
        let _one_at_a_time = ETCD_START.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let peer_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log = dir.path().join("etcd.log");
        let child = Command::new(tool("etcd").expect("etcd"))
            .arg("--name=edgefed-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=edgefed-test={peer}"))
            .arg("--initial-cluster-state=new")
            .arg("--logger=zap")
            .arg("--log-outputs=stderr")
            .env_remove("ETCDCTL_API")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn etcd");
        let mut etcd = Self {
            dir,
            port,
            peer_port,
            child,
        };
        wait_for("etcd", &mut etcd.child, &log, || health(port));
        etcd
    }

    /// `etcd://127.0.0.1:PORT/KEY`, with `query` appended when not empty.
    pub fn lock_url(&self, key: &str, query: &str) -> String {
        let mut url = format!("etcd://127.0.0.1:{}/{key}", self.port);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// `GET /health` answers `"health":"true"`.
fn health(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
