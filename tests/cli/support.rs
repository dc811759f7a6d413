//! A temporary lab and a way to run the binary against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use edgefed::backend::lab::LabFile;
pub use edgefed::plan::{Dependency, Operation, Wait};
pub use edgefed::render::PlanDocument;
use serde_json::Value;

pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// The seed failback from `xmpp-failed-over`, with every SRV record already
/// in place: the five steps of the seed failback procedure, in its order.
pub const SEED_STEPS: [&str; 17] = [
    "start-services edgeserver1a.contoso.com",
    "start-services edgeserver1b.contoso.com",
    "disable-sip-federation edgepool2.contoso.com",
    "enable-sip-federation edgepool1.contoso.com",
    "set-media-edge-pool fepool1.contoso.com",
    "publish-topology",
    "run-setup edgeserver1a.contoso.com",
    "run-setup edgeserver1b.contoso.com",
    "set-site-federation-route Site1",
    "set-site-federation-route Site2",
    "set-site-xmpp-route Site1",
    "set-site-xmpp-route Site2",
    "set-dns-a sip.contoso.com",
    "set-dns-a xmpp.contoso.com",
    "verify-port 203.0.113.10:5061",
    "verify-port 203.0.113.10:5269",
    "invoke-pool-failback fepool3.contoso.com",
];

pub fn example(name: &str) -> String {
    format!("{EXAMPLES}/{name}")
}

/// A temporary folder with a lab in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A lab from a built-in scenario.
    pub fn new(scenario: &str) -> Self {
        let env = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        env.ok(&["lab", "init", "--scenario", scenario]);
        env
    }

    /// A lab with this text (a generated estate, say).
    pub fn with_lab(text: &str) -> Self {
        let env = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::write(env.lab_path(), text).expect("lab");
        env
    }

    pub fn lab_path(&self) -> PathBuf {
        self.dir.path().join("lab.yaml")
    }

    /// Runs `edgefed --lab <lab> ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, None)
    }

    /// `edgefed --lab <lab> ARGS` in the folder, without colour or an
    /// inherited lab, lock or log filter; stdin empty, stdout and stderr piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgefed"));
        cmd.current_dir(self.dir.path())
            .arg("--lab")
            .arg(self.lab_path())
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("EDGEFED_LAB")
            .env_remove("EDGEFED_LOCK")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.command(args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn edgefed");
        if let Some(text) = stdin {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write stdin");
        }
        child.wait_with_output().expect("edgefed output")
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(code(&out), 0, "edgefed {args:?} failed:\n{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `plan --output json` of a document.
    pub fn plan_json(&self, doc: &str) -> Value {
        serde_json::from_str(&self.ok(&["plan", "-f", doc, "--output", "json"])).expect("plan JSON")
    }

    /// `plan --output json`, read as the typed plan document.
    pub fn plan_doc(&self, doc: &str) -> PlanDocument {
        PlanDocument::from_json(&self.ok(&["plan", "-f", doc, "--output", "json"])).expect("plan JSON")
    }

    pub fn lab(&self) -> LabFile {
        LabFile::read(&self.lab_path()).expect("lab")
    }

    /// The operations the lab's operation log says were performed, oldest first.
    pub fn applied(&self) -> Vec<edgefed::plan::Operation> {
        edgefed::backend::lab::OperationLog::of(&self.lab_path())
            .applied()
            .expect("operation log")
    }

    pub fn set_lab(&self, lab: &LabFile) {
        lab.write(&self.lab_path()).expect("write lab");
    }

    /// Adds `fault` to the lab's faults.
    pub fn add_fault(&self, fault: edgefed::backend::lab::Fault) {
        let mut lab = self.lab();
        lab.faults.push(fault);
        self.set_lab(&lab);
    }

    /// Writes a file into the folder and returns its path.
    pub fn file(&self, name: &str, content: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).expect("write file");
        p.to_string_lossy().into_owned()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `kind target` of each action, in order.
pub fn steps(plan: &Value) -> Vec<String> {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            let kind = a["kind"].as_str().unwrap_or_default();
            let target = ["computer", "site", "frontEndPool", "edgePool", "name", "address"]
                .iter()
                .find_map(|k| a.get(*k).and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            if kind == "verify-port" {
                format!("{kind} {}:{}", a["address"].as_str().unwrap_or_default(), a["port"])
            } else {
                format!("{kind} {target}").trim_end().to_string()
            }
        })
        .collect()
}

/// Asserts that every action comes after all it depends on.
pub fn assert_order_respects_dependencies(plan: &Value) {
    for (pos, a) in plan["actions"].as_array().expect("actions").iter().enumerate() {
        assert_eq!(a["id"].as_u64(), Some(pos as u64 + 1));
        for d in a["dependsOn"].as_array().expect("dependsOn") {
            assert!(
                d.as_u64().expect("id") < a["id"].as_u64().expect("id"),
                "action {a} depends on a later one"
            );
        }
    }
}
