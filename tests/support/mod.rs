//! Real servers for the DNS and probe tests: BIND 9 (`named`) and Prosody,
//! each started in its own temp dir on a free loopback port and killed on
//! drop; plus the skipping rule (skip locally, fail under `CI=true`).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub mod etcd;
pub mod watcher;

/// The address every zone's `xmpp` host starts with.
pub const INITIAL_XMPP_A: &str = "192.0.2.10";
/// The TSIG key name the servers are configured with.
pub const KEY_NAME: &str = "edgefed-key";

/// Finds a program on `PATH` or in the sbin directories Debian uses.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The skipping rule: when a tool is missing, print `skipped: <reason>` and
/// return `false` — unless `CI=true`, where a missing tool is a failure.
pub fn need(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| tool(t).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let reason = format!("{} not installed (run .ci/install-test-servers)", missing.join(", "));
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and {reason}");
    eprintln!("skipped: {reason}");
    false
}

/// A loopback port free for both TCP and UDP (DNS uses both).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = tcp.local_addr() else { continue };
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, addr.port())).is_ok() {
            return addr.port();
        }
    }
    panic!("no free loopback port found");
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, child: &mut Child, log: &Path, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited early ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what} not ready after 20 s:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A running `named` serving `zones`, each updatable with [`KEY_NAME`].
pub struct Bind {
    pub dir: TempDir,
    pub port: u16,
    pub key_file: PathBuf,
    pub zones: Vec<String>,
    child: Child,
}

/// Serialises the starts of `named` in one test binary: `free_port` lets
/// the port go before `named` binds it, so two tests starting at once could
/// be handed the same port, and BIND 9.18 listens with SO_REUSEPORT, so both
/// servers would run on it without an error and the kernel would spread
/// queries between them. Once a server answers it holds its port.
static BIND_START: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Bind {
    /// Starts `named -g` with one primary zone per name. Each zone has an SOA,
    /// an NS, and `xmpp.<zone>` A [`INITIAL_XMPP_A`]; no SRV records. Names
    /// are not checked (`check-names ignore`, as on a server that does not
    /// check them), so a test can hold a record whose target is no host name.
    pub fn start(zones: &[String]) -> Self {
        let _one_at_a_time = BIND_START.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        let key_file = dir.path().join("key.conf");
        let key = run(Command::new(tool("tsig-keygen").expect("tsig-keygen")).args(["-a", "hmac-sha256", KEY_NAME]));
        std::fs::write(&key_file, key).expect("write key");
        let port = free_port();
        let mut conf = format!(
            "include \"{d}/key.conf\";\n\
             options {{\n  directory \"{d}\";\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  recursion no;\n  notify no;\n  dnssec-validation no;\n}};\ncontrols {{ }};\n"
        );
        for zone in zones {
            let file = dir.path().join(format!("{zone}.db"));
            std::fs::write(
                &file,
                format!(
                    "$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS ns1.{zone}.\nns1 IN A 127.0.0.1\nxmpp IN A {INITIAL_XMPP_A}\n"
                ),
            )
            .expect("write zone");
            let _ = writeln!(
                conf,
                "zone \"{zone}\" {{ type primary; file \"{}\"; check-names ignore; update-policy {{ grant {KEY_NAME} zonesub ANY; }}; }};",
                file.display()
            );
        }
        let conf_path = dir.path().join("named.conf");
        std::fs::write(&conf_path, conf).expect("write named.conf");
        let log = dir.path().join("named.log");
        let child = Command::new(tool("named").expect("named"))
            .args(["-g", "-n", "1", "-c"])
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn named");
        let mut bind = Self {
            dir,
            port,
            key_file,
            zones: zones.to_vec(),
            child,
        };
        let first = zones.first().cloned().unwrap_or_default();
        let port = bind.port;
        wait_for("named", &mut bind.child, &log, || {
            Command::new(tool("dig").expect("dig"))
                .args(["+short", "+time=1", "+tries=1", "@127.0.0.1", "-p"])
                .arg(port.to_string())
                .args([first.as_str(), "SOA"])
                .output()
                // dig prints its own errors (";; communications error …") to
                // stdout: ready means a successful answer with an SOA in it.
                .is_ok_and(|o| {
                    o.status.success()
                        && String::from_utf8_lossy(&o.stdout)
                            .lines()
                            .any(|l| !l.starts_with(';') && l.split_whitespace().count() >= 7)
                })
        });
        bind
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `dig +short @127.0.0.1 -p PORT name type`, lines sorted.
    pub fn dig(&self, name: &str, rtype: &str) -> Vec<String> {
        let out = run(Command::new(tool("dig").expect("dig"))
            .args(["+short", "+time=2", "+tries=1", "@127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args([name, rtype]));
        let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
        lines.sort();
        lines
    }

    /// Runs an `nsupdate -k key` script against this server (someone else's
    /// change). `server` and `send` are added.
    pub fn nsupdate(&self, body: &str) {
        use std::io::Write as _;
        let mut child = Command::new(tool("nsupdate").expect("nsupdate"))
            .arg("-k")
            .arg(&self.key_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn nsupdate");
        let script = format!("server 127.0.0.1 {}\n{body}\nsend\n", self.port);
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write script");
        let out = child.wait_with_output().expect("nsupdate");
        assert!(
            out.status.success(),
            "nsupdate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running Prosody with s2s on a loopback port.
pub struct Prosody {
    pub dir: TempDir,
    pub ip: Ipv4Addr,
    pub port: u16,
    child: Child,
}

impl Prosody {
    /// Starts `prosody -F` serving `domain`, s2s only, on a free port of 127.0.0.1.
    pub fn start(domain: &str) -> Self {
        Self::start_on(Ipv4Addr::LOCALHOST, free_port(), domain)
    }

    /// Starts `prosody -F` serving `domain`, s2s only, on `ip:port` (a
    /// loopback address).
    pub fn start_on(ip: Ipv4Addr, port: u16, domain: &str) -> Self {
        Self::start_with(ip, port, domain, None)
    }

    /// Starts `prosody -F` serving `domain`, s2s only, on a free port of
    /// 127.0.0.1, with `leaf` as the host's certificate: Prosody then offers
    /// STARTTLS on s2s.
    pub fn start_with_certificate(domain: &str, leaf: &Leaf) -> Self {
        Self::start_with(Ipv4Addr::LOCALHOST, free_port(), domain, Some(leaf))
    }

    /// Starts `prosody -F` serving `domain`, s2s only, on `ip:port` (a
    /// loopback address), with `leaf` as the host's certificate if given.
    pub fn start_with(ip: Ipv4Addr, port: u16, domain: &str, leaf: Option<&Leaf>) -> Self {
        assert!(ip.is_loopback(), "tests only listen on loopback");
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("data")).expect("data dir");
        std::fs::create_dir_all(dir.path().join("certs")).expect("certs dir");
        let ssl = match leaf {
            Some(leaf) => {
                let crt = dir.path().join("certs").join(format!("{domain}.crt"));
                let key = dir.path().join("certs").join(format!("{domain}.key"));
                std::fs::write(&crt, &leaf.pem).expect("write certificate");
                std::fs::write(&key, &leaf.key_pem).expect("write key");
                format!(
                    "ssl = {{ certificate = \"{}\", key = \"{}\" }}\n",
                    crt.display(),
                    key.display()
                )
            }
            None => String::new(),
        };
        // mod_tls (STARTTLS on s2s) only with a certificate: without one,
        // Prosody offers no stream features and closes the stream.
        let modules = if leaf.is_some() { "\"tls\"" } else { "" };
        let conf = format!(
            "-- tests run as root; prosody started directly does not switch user\n\
             run_as_root = true\n\
             pidfile = \"{d}/prosody.pid\"\n\
             data_path = \"{d}/data\"\n\
             certificates = \"{d}/certs\"\n\
             interfaces = {{ \"{ip}\" }}\n\
             s2s_ports = {{ {port} }}\n\
             c2s_ports = {{ }}\n\
             c2s_direct_tls_ports = {{ }}\n\
             s2s_direct_tls_ports = {{ }}\n\
             component_ports = {{ }}\n\
             http_ports = {{ }}\n\
             https_ports = {{ }}\n\
             log = {{ {{ levels = {{ min = \"info\" }}, to = \"console\" }} }}\n\
             modules_enabled = {{ {modules} }}\n\
             modules_disabled = {{ \"c2s\" }}\n\
             VirtualHost \"{domain}\"\n{ssl}"
        );
        let conf_path = dir.path().join("prosody.cfg.lua");
        std::fs::write(&conf_path, conf).expect("write prosody config");
        let log = dir.path().join("prosody.log");
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new(tool("prosody").expect("prosody"))
            .arg("-F")
            .arg("--config")
            .arg(&conf_path)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn prosody");
        let mut p = Self { dir, ip, port, child };
        let addr = p.addr();
        wait_for("prosody", &mut p.child, &log, || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        p
    }

    /// The s2s address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((self.ip, self.port))
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for `cn` (as subject CN and DNS name) and its key.
pub fn self_signed(
    cn: &str,
) -> (
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let mut params = rcgen::CertificateParams::new(vec![cn.to_string()]).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let key = rcgen::KeyPair::generate().expect("key pair");
    let cert = params.self_signed(&key).expect("self-signed");
    (
        cert.der().clone(),
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

/// A TLS server configuration with a self-signed certificate for `cn`, the
/// default protocol versions and no client authentication.
pub fn tls_server_config(cn: &str) -> rustls::ServerConfig {
    let (cert, key) = self_signed(cn);
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config")
}

/// Serves TLS handshakes on `listener` until the runtime ends (call it
/// inside a tokio runtime); returns how many handshakes completed.
pub fn serve_tls(
    listener: tokio::net::TcpListener,
    config: rustls::ServerConfig,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let handshakes = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&handshakes);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let count = Arc::clone(&count);
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(s).await {
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                }
            });
        }
    });
    handshakes
}

/// A CA made with rcgen that issues server certificates.
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A server certificate issued by a [`TestCa`], with its key.
pub struct Leaf {
    /// The certificate, DER.
    pub der: rustls::pki_types::CertificateDer<'static>,
    /// The certificate, PEM.
    pub pem: String,
    /// The key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The key, PKCS#8 PEM.
    pub key_pem: String,
}

impl TestCa {
    /// A self-signed CA with subject CN `cn`.
    pub fn new(cn: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("key pair");
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate as PEM to `dir/name` and returns the path.
    pub fn write_pem(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, self.pem()).expect("write CA file");
        path
    }

    /// A server certificate with subject CN `cn` and DNS SANs `sans`.
    pub fn issue(&self, cn: &str, sans: &[&str]) -> Leaf {
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| (*s).to_string()).collect::<Vec<_>>()).expect("params");
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().expect("key pair");
        let cert = params.signed_by(&key, &self.issuer).expect("issue");
        Leaf {
            der: cert.der().clone(),
            pem: cert.pem(),
            key_der: key.serialize_der(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A TLS server configuration presenting `leaf`, the default protocol
/// versions and no client authentication.
pub fn tls_server_config_for(leaf: &Leaf) -> rustls::ServerConfig {
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der.clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key_der.clone().into()),
        )
        .expect("server config")
}
