//! Every command README.md shows in a code block, and every command an
//! example's header comment names, runs against a temporary lab without a
//! usage error. Commands that need a real deployment are skipped, each with
//! its reason in [`SKIPPED`].

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::support::*;

/// Commands the test does not run, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "edgefed --backend powershell plan -f federation/contoso.yaml",
        "needs a real Lync deployment reached through the Management Shell",
    ),
    (
        "edgefed --backend powershell reconcile --check -f federation/contoso.yaml --output markdown",
        "needs a real Lync deployment; its lab equivalent runs in `the_readme_pipeline_check_runs_on_the_lab`",
    ),
    (
        "edgefed watch -f examples/failback.yaml --mode correct --leader-election etcd://127.0.0.1:2379/edgefed/prod/leader",
        "needs an etcd; tests/leader.rs runs watchers electing a leader against a real etcd",
    ),
    (
        "edgefed --lock etcd://127.0.0.1:2379/edgefed/prod reconcile -f DESIRED.yaml",
        "needs an etcd; tests/lock.rs runs reconciles on an etcd lock against a real etcd",
    ),
];

/// Synopsis placeholders and what the test puts in their place: (the option
/// before it, or "" for any; the placeholder; the value). `{dir}` is the
/// temporary folder, `{repo}` the repository. The topology edits fit
/// `tests/fixtures/topology/two-sites.xml`.
const PLACEHOLDERS: &[(&str, &str, &str)] = &[
    ("", "DESIRED.yaml", "{repo}/examples/failback.yaml"),
    ("", "federation.yaml", "{repo}/examples/failback.yaml"),
    ("", "PLAN.json", "{dir}/plan.json"),
    ("", "TOPOLOGY.xml", "{repo}/tests/fixtures/topology/two-sites.xml"),
    ("", "SITES.json", "{dir}/sites.json"),
    ("", "NAME", "xmpp-failed-over"),
    ("--out", "FILE", "{dir}/written"),
    ("", "FILE", "{repo}/tests/fixtures/topology/two-sites.xml"),
    ("--enable-sip-federation", "POOL", "edgepool2.contoso.com"),
    ("", "POOL", "edgepool1.contoso.com"),
    ("", "SHELL", "bash"),
    ("--out-dir", "DIR", "{dir}/man"),
    ("--journal", "PATH", "{dir}/journal.ndjson"),
    ("", "FE=EDGE", "pool1.contoso.com=edgepool2.contoso.com"),
    ("", "EDGE=FE", "edgepool2.contoso.com=pool2.contoso.com"),
    ("--mode", "MODE", "monitor"),
    ("", "DURATION", "1s"),
];

/// The command lines of README's fenced code blocks: `edgefed …`,
/// `cargo run -- …` (as `edgefed …`) and a pipeline's `run: edgefed …`, with
/// synopsis continuation lines joined, descriptions cut off and `a | b`
/// alternatives split.
fn readme_commands(readme: &str) -> Vec<String> {
    let mut commands: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let trimmed = line.trim_start();
        let command = trimmed
            .strip_prefix("run: ")
            .unwrap_or(trimmed)
            .replacen("cargo run -- ", "edgefed ", 1);
        if command.starts_with("edgefed ") {
            commands.push(strip_description(&command));
        } else if line.starts_with("  ")
            && trimmed.starts_with('[')
            && let Some(last) = commands.last_mut()
        {
            last.push(' ');
            last.push_str(&strip_description(trimmed));
        }
    }
    commands
        .iter()
        .flat_map(|c| {
            c.split(" | ")
                .map(|alt| {
                    let alt = alt.trim();
                    if alt.starts_with("edgefed ") {
                        alt.to_string()
                    } else {
                        format!("edgefed {alt}")
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Cuts a synopsis line's description: what follows a gap of three spaces
/// or more, unless it is an option (`-…`) or an optional group (`[…]`).
fn strip_description(line: &str) -> String {
    let mut kept = String::new();
    let mut gap = 0;
    for ch in line.chars() {
        if ch == ' ' {
            gap += 1;
            continue;
        }
        if gap >= 3 && !kept.is_empty() && ch != '-' && ch != '[' {
            break;
        }
        if gap > 0 && !kept.is_empty() {
            kept.push(' ');
        }
        gap = 0;
        kept.push(ch);
    }
    kept
}

/// The arguments of a command line, optional groups' brackets removed,
/// placeholders filled in, up to a redirection or a comment.
fn arguments(command: &str, dir: &Path) -> Vec<String> {
    let repo = env!("CARGO_MANIFEST_DIR");
    let words = shell_words::split(command).unwrap_or_else(|e| panic!("README command {command:?}: {e}"));
    let mut args: Vec<String> = Vec::new();
    for word in words.iter().skip(1) {
        // A redirection ends the command: stdout is captured instead.
        if matches!(word.as_str(), ">" | ">>" | "|") {
            break;
        }
        // Paths in the home folder go to the temporary folder.
        if let Some(rest) = word.strip_prefix("~/") {
            args.push(dir.join("home").join(rest).to_string_lossy().into_owned());
            continue;
        }
        let word = word.trim_start_matches('[').trim_end_matches(']');
        let before = args.last().map(String::as_str).unwrap_or_default();
        let value = PLACEHOLDERS
            .iter()
            .find(|(after, p, _)| *p == word && (after.is_empty() || *after == before))
            .map(|(_, _, v)| v.replace("{repo}", repo).replace("{dir}", &dir.to_string_lossy()))
            .unwrap_or_else(|| word.to_string());
        args.push(value);
    }
    args
}

/// Runs edgefed in `dir` with no lab-related environment, the default lab.
fn edgefed(dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_LAB")
        .env_remove("EDGEFED_BACKEND")
        .env_remove("EDGEFED_LOCK")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("spawn edgefed")
}

fn assert_no_usage_error(command: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        code(out) != 64 && !stderr.contains("Usage:"),
        "README command `{command}` is a usage error:\n{}",
        text(out)
    );
}

/// A temporary folder holding a copy of `examples/`, so relative paths work.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).expect("mkdir");
    for entry in std::fs::read_dir(EXAMPLES).expect("examples") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        std::fs::copy(&path, examples.join(path.file_name().expect("name"))).expect("copy example");
    }
    std::fs::write(dir.path().join("sites.json"), "[]\n").expect("sites");
    dir
}

/// Runs a `watch` command until its first reconcile has been reported, then
/// stops it with SIGTERM; it must exit 0. Its endpoints go to a free port.
fn watch_briefly(command: &str, dir: &Path, mut args: Vec<String>) {
    use std::io::BufRead as _;
    if !args.iter().any(|a| a == "--metrics-addr") {
        args.extend(["--metrics-addr".to_string(), "127.0.0.1:0".to_string()]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgefed"))
        .current_dir(dir)
        .args(&args)
        .env("NO_COLOR", "1")
        .env_remove("EDGEFED_LAB")
        .env_remove("EDGEFED_BACKEND")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn edgefed watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(60));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().expect("wait");
    assert!(
        matches!(first, Ok(Some(Ok(_)))),
        "README command `{command}` ({args:?}) reported no reconcile; exit {status}"
    );
    assert_eq!(status.code(), Some(0), "README command `{command}` ({args:?})");
    eprintln!("{command}: reconciled, stopped, exit 0");
}

#[test]
fn every_readme_command_runs() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let commands = readme_commands(&readme);
    assert!(commands.len() >= 15, "too few commands found: {commands:#?}");
    for (skipped, _) in SKIPPED {
        assert!(
            commands.iter().any(|c| c == skipped),
            "the skip list names a command README no longer shows: {skipped}\nfound: {commands:#?}"
        );
    }
    let dir = workspace();
    for command in &commands {
        if SKIPPED.iter().any(|(c, _)| c == command) {
            continue;
        }
        let args = arguments(command, dir.path());
        if args.iter().any(|a| a == "watch") {
            watch_briefly(command, dir.path(), args);
            continue;
        }
        let out = edgefed(dir.path(), &args);
        assert_no_usage_error(command, &out);
        eprintln!("{command}: exit {}", code(&out));
        assert!(
            matches!(code(&out), 0 | 2),
            "README command `{command}` ({args:?}) failed:\n{}",
            text(&out)
        );
    }
}

#[test]
fn the_readme_pipeline_check_runs_on_the_lab() {
    let dir = workspace();
    let args: Vec<String> = [
        "reconcile",
        "--check",
        "-f",
        "examples/failback.yaml",
        "--output",
        "markdown",
    ]
    .map(String::from)
    .to_vec();
    let out = edgefed(dir.path(), &args);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("**Plan: 17 actions"),
        "{}",
        text(&out)
    );
}

/// Each example's header names the lab commands it starts from; they run,
/// and then the example reconciles and is in sync afterwards.
#[test]
fn every_example_starts_from_the_commands_its_header_names() {
    for entry in std::fs::read_dir(EXAMPLES).expect("examples") {
        let path = entry.expect("entry").path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        let content = std::fs::read_to_string(&path).expect("example");
        let dir = workspace();
        let header: Vec<String> = content
            .lines()
            .take_while(|l| l.starts_with('#'))
            .filter_map(|l| {
                l.trim_start_matches('#')
                    .trim()
                    .strip_prefix("edgefed ")
                    .map(str::to_string)
            })
            .collect();
        assert!(!header.is_empty(), "{name} names no starting point");
        for command in &header {
            let args = shell_words::split(command).expect("words");
            let out = edgefed(dir.path(), &args);
            assert_eq!(code(&out), 0, "{name}: `edgefed {command}`:\n{}", text(&out));
        }
        let doc = format!("examples/{name}");
        let out = edgefed(dir.path(), &["reconcile".into(), "-f".into(), doc.clone()]);
        assert_eq!(code(&out), 0, "{name}: reconcile:\n{}", text(&out));
        let out = edgefed(dir.path(), &["reconcile".into(), "--check".into(), "-f".into(), doc]);
        assert_eq!(code(&out), 0, "{name}: in sync after reconcile:\n{}", text(&out));
    }
}
