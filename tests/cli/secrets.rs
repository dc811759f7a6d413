//! No secret in any message: a malformed TSIG key file or `EDGEFED_TSIG_KEY`
//! is refused without its secret appearing in stdout or stderr.

use super::support::*;

const SECRET: &str = "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMDAwMDA=";

fn run_with(env: &Env, args: &[&str], var: Option<&str>) -> std::process::Output {
    let mut args: Vec<&str> = ["--dns-server", "127.0.0.1:9"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    let doc = example("failback.yaml");
    args.extend(["plan", "-f", &doc]);
    let mut cmd = env.command(&args);
    cmd.env_remove("EDGEFED_TSIG_KEY_FILE").env_remove("EDGEFED_TSIG_KEY");
    if let Some(v) = var {
        cmd.env("EDGEFED_TSIG_KEY", v);
    }
    cmd.output().expect("run edgefed")
}

fn assert_hidden(out: &std::process::Output, want: i32, what: &str) {
    assert_eq!(code(out), want, "{what}: {}", text(out));
    let all = text(out);
    assert!(!all.contains(SECRET), "{what}: the secret leaked:\n{all}");
    assert!(
        !all.contains(&SECRET[..12]),
        "{what}: part of the secret leaked:\n{all}"
    );
    assert!(all.contains("error:"), "{what}: no error shown:\n{all}");
}

#[test]
fn malformed_key_files_are_refused_without_the_secret() {
    let env = Env::new("healthy");
    for (name, content) in [
        ("only-secret.key", format!("{SECRET}\n")),
        (
            "secret-as-algorithm.key",
            format!("key k {{ algorithm {SECRET}; secret \"{SECRET}\"; }};"),
        ),
        ("secret-as-clause.key", format!("key \"k\" {{ {SECRET}; }};")),
        (
            "secret-as-name.key",
            format!("key \"{SECRET}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};"),
        ),
        (
            "bad-base64.key",
            format!("key k {{ algorithm hmac-sha256; secret \"{SECRET}*!\"; }};"),
        ),
    ] {
        let path = env.file(name, &content);
        let out = run_with(&env, &["--tsig-key-file", &path], None);
        assert_hidden(&out, 1, name);
        assert!(
            text(&out).contains(name),
            "{name}: the file is not named: {}",
            text(&out)
        );
    }
}

#[test]
fn a_malformed_key_variable_is_refused_without_the_secret() {
    let env = Env::new("healthy");
    for spec in [
        SECRET.to_string(),
        format!("{SECRET}:k:hmac-sha256"),
        format!("k:{SECRET}%"),
        format!("hmac-sha256:{SECRET}:{SECRET}"),
        format!("a:b:c:{SECRET}"),
    ] {
        let out = run_with(&env, &[], Some(&spec));
        assert_hidden(&out, 64, &spec);
        assert!(text(&out).contains("EDGEFED_TSIG_KEY"), "{spec}: {}", text(&out));
    }
}
