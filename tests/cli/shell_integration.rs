//! `edgefed completions SHELL` and `edgefed man`.

use super::support::*;

const SUBCOMMANDS: [&str; 9] = [
    "validate",
    "plan",
    "reconcile",
    "observe",
    "schema",
    "lab",
    "topology",
    "completions",
    "man",
];

#[test]
fn each_shell_gets_a_completion_script_naming_every_subcommand() {
    let env = Env::new("healthy");
    for (shell, marker, lab_option) in [
        ("bash", "complete -F _edgefed", "--lab"),
        ("zsh", "#compdef edgefed", "--lab"),
        ("fish", "complete -c edgefed", "-l lab"),
        ("powershell", "Register-ArgumentCompleter", "--lab"),
    ] {
        let script = env.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: no `{marker}`:\n{script}");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell}: `{sub}` missing");
        }
        // Nested commands and global options complete too.
        assert!(script.contains("restore") && script.contains(lab_option), "{shell}");
    }
    let out = env.run(&["completions", "tcsh"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    let out = env.run(&["completions", "bash", "--output", "json"]);
    assert_eq!(code(&out), 64, "{}", text(&out));
}

#[test]
fn the_man_page_has_a_name_and_every_subcommand() {
    let env = Env::new("healthy");
    let page = env.ok(&["man"]);
    assert!(page.contains(".TH edgefed 1"), "{page}");
    assert!(
        page.contains(".SH NAME\nedgefed \\- Declarative disaster recovery"),
        "{page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(page.contains(&format!("edgefed\\-{sub}")), "`{sub}` missing:\n{page}");
    }
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let env = Env::new("healthy");
    let dir = env.path().join("man/man1");
    env.ok(&["man", "--out-dir", dir.to_str().expect("utf-8")]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "edgefed.1",
        "edgefed-plan.1",
        "edgefed-lab-fail.1",
        "edgefed-topology-edit.1",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing: {names:?}");
    }
    let top = std::fs::read_to_string(dir.join("edgefed.1")).expect("page");
    assert_eq!(top, env.ok(&["man"]));
    let fail = std::fs::read_to_string(dir.join("edgefed-lab-fail.1")).expect("page");
    assert!(fail.contains(".SH NAME\nedgefed\\-lab\\-fail"), "{fail}");
}
