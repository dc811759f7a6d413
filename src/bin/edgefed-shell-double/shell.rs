//! The interpreter: validates every line, then runs the lines edgefed's
//! backend generates (prelude definitions, `Edgefed-Step` lines, the
//! result line) and renders the output with noise around the markers.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::cmdlets::validate;
use super::exec::{Ctx, exec_statement};
use super::lexer::{Tok, lex, matching, statements};
use super::observe_answers as answers;
use super::remoting;
use super::state::State;

/// Runs a script; returns stdout.
///
/// # Errors
/// The loud message: an unknown command or parameter, or a line the double
/// does not implement.
pub fn run(st: &mut State, script: &str) -> Result<String, String> {
    let lines: Vec<&str> = script.lines().collect();
    let mut toks = Vec::with_capacity(lines.len());
    let mut helpers = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let t = lex(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        if let [Tok::Word(f), Tok::Word(name), ..] = t.as_slice()
            && f == "function"
        {
            helpers.push(name.clone());
        }
        toks.push(t);
    }
    for (n, t) in toks.iter().enumerate() {
        validate(t, &helpers).map_err(|e| format!("line {}: {e}\n  {}", n + 1, lines[n]))?;
    }
    let mut out = String::new();
    if !st.quiet {
        out.push_str("Windows PowerShell\r\nCopyright (C) Microsoft Corporation. All rights reserved.\r\n\r\n");
        out.push_str("WARNING: Some imported command names include unapproved verbs.\r\n");
        out.push_str("EDGEFED-BEGIN-0000decoy\r\n{\"not\":\"this\"}\r\nEDGEFED-END-0000decoy\r\n");
    }
    let mut results = Map::new();
    let mut ctx = Ctx {
        vars: BTreeMap::new(),
        files: BTreeMap::new(),
        credential_file: credential_file(&toks),
        objects: BTreeMap::new(),
        helpers: toks
            .iter()
            .filter_map(|t| match t.as_slice() {
                [Tok::Word(f), Tok::Word(name), ..] if f == "function" => Some((name.to_ascii_lowercase(), t.clone())),
                _ => None,
            })
            .collect(),
    };
    let mut finished = false;
    for (n, t) in toks.iter().enumerate() {
        match t.as_slice() {
            [] => {}
            [Tok::Word(w), ..] if w == "function" || w == "try" || w == "if" => {}
            [Tok::Var(v), ..] if v == "ErrorActionPreference" || v == "edgefedR" => {}
            [Tok::Word(w), Tok::Str(key), Tok::Punct('{'), ..] if w == "Edgefed-Step" => {
                let close = matching(t, 2).ok_or(format!("line {}: unbalanced braces", n + 1))?;
                let body = &t[3..close];
                let outcome = run_step(st, &mut ctx, &results, body)
                    .map_err(|e| format!("line {}: {e}\n  {}", n + 1, lines[n]))?;
                if !st.quiet {
                    out.push_str(&format!("Progress: step {key} ...\r\n"));
                }
                results.insert(key.clone(), outcome);
            }
            [
                Tok::Word(w),
                Tok::Punct('('),
                Tok::Str(begin),
                Tok::Punct('+'),
                Tok::Str(nonce),
                ..,
            ] if w == "Write-Output" && begin == "EDGEFED-BEGIN-" => {
                let json = serde_json::to_string(&Value::Object(results.clone())).map_err(|e| e.to_string())?;
                let json = as_windows_powershell_writes_it(&json);
                out.push_str(&format!("EDGEFED-BEGIN-{nonce}\r\n{json}\r\nEDGEFED-END-{nonce}\r\n"));
                finished = true;
            }
            _ => {
                return Err(format!(
                    "line {}: the double does not implement this statement\n  {}",
                    n + 1,
                    lines[n]
                ));
            }
        }
    }
    if !finished {
        return Err("the script never wrote its result".into());
    }
    if !st.quiet {
        out.push_str("PS C:\\Users\\admin> \r\n");
    }
    Ok(out)
}

/// JSON as Windows PowerShell 5.1's `ConvertTo-Json` writes it: `<`, `>`,
/// `&` and `'` escaped as `\u003c`, `\u003e`, `\u0026`, `\u0027` (a
/// topology document grows by about 15 %). JSON has none of them outside
/// its strings.
fn as_windows_powershell_writes_it(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 4);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => out.push(c),
        }
    }
    out
}

/// The credential file the script's `Edgefed-Credential` helper reads.
fn credential_file(toks: &[Vec<Tok>]) -> Option<String> {
    toks.iter().find_map(|t| {
        if !matches!(t.as_slice(), [Tok::Word(f), Tok::Word(n), ..] if f == "function" && n == "Edgefed-Credential") {
            return None;
        }
        t.windows(2).find_map(|w| match w {
            [Tok::Param(p, None), Tok::Str(path)] if p == "LiteralPath" => Some(path.clone()),
            _ => None,
        })
    })
}

fn words(body: &[Tok]) -> Vec<&str> {
    body.iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(w.as_str()),
            Tok::Param(p, _) => Some(p.as_str()),
            _ => None,
        })
        .collect()
}

/// The properties the first `Edgefed-Record '<name>',…` of `toks` keeps,
/// or `None` when it keeps every one (no names given, or no such call).
fn record_selection(toks: &[Tok]) -> Option<Vec<String>> {
    let at = toks
        .iter()
        .position(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("Edgefed-Record")))?;
    let mut names = Vec::new();
    for t in &toks[at + 1..] {
        match t {
            Tok::Str(name) => names.push(name.clone()),
            Tok::Punct(',') => {}
            _ => break,
        }
    }
    (!names.is_empty()).then_some(names)
}

/// `record` with only the properties named in `names` that it has, as
/// `Edgefed-Record` keeps them (`-contains`: case ignored).
fn select(record: &mut Value, names: &[String]) {
    if let Value::Object(props) = record {
        props.retain(|k, _| names.iter().any(|n| n.eq_ignore_ascii_case(k)));
    }
}

fn run_step(st: &mut State, ctx: &mut Ctx, results: &Map<String, Value>, body: &[Tok]) -> Result<Value, String> {
    let w = words(body);
    let ok = |value: Vec<Value>| json!({ "ok": true, "value": value, "warnings": [] });
    let shape = w.join(" ");
    let answer = match shape.as_str() {
        "Get-CsTopology AsXml ToString" => Some(answers::topology(st).map(|x| vec![json!(x)])),
        "Get-CsSite Edgefed-Record" => Some(answers::sites(st)),
        "Get-CsService EdgeServer Edgefed-Record" => Some(answers::edge_services(st)),
        "Get-CsService Registrar Edgefed-Record" => Some(answers::registrars(st)),
        "Get-CsPool Edgefed-Record" => Some(answers::pools(st)),
        "Get-CsManagementStoreReplicationStatus Edgefed-Record" => Some(answers::replication(st)),
        "Get-CsService CentralManagement Edgefed-Record" => Some(answers::central_management(st)),
        "Get-CsManagementStoreReplicationStatus CentralManagementStoreStatus Edgefed-Record" => {
            Some(answers::central_management_status(st))
        }
        "Get-CsService CentralManagementDatabase Edgefed-Record" => Some(answers::central_management_databases(st)),
        _ if w.first() == Some(&"foreach") && w.contains(&"Edgefed-ServiceState") => {
            Some(answers::windows_services(st, results))
        }
        _ if w.first() == Some(&"foreach") && w.contains(&"Edgefed-Backup") => {
            // The helper flattens each relationship with its own selection.
            let keep = ctx.helpers.get("edgefed-backup").and_then(|h| record_selection(h));
            Some(answers::backups(st, results).map(|mut all| {
                for backup in &mut all {
                    if let (Some(names), Some(Value::Array(rels))) = (&keep, backup.get_mut("Relationship")) {
                        rels.iter_mut().for_each(|r| select(r, names));
                    }
                }
                all
            }))
        }
        _ => None,
    };
    if let Some(a) = answer {
        let keep = record_selection(body).filter(|_| w.first() != Some(&"foreach"));
        return Ok(match a {
            Ok(mut v) => {
                if let Some(names) = keep {
                    v.iter_mut().for_each(|r| select(r, &names));
                }
                ok(v)
            }
            Err(m) => json!({ "ok": false, "message": m }),
        });
    }
    if w.contains(&"Invoke-Command") && w.contains(&"Edgefed-PerComputer") {
        // A setup fan-out first waits for replication to reach each server.
        for stmt in statements(body) {
            if matches!(stmt.first(), Some(Tok::Word(w)) if w == "Edgefed-WaitReplication") {
                match exec_statement(st, ctx, stmt)? {
                    Ok(_) => {}
                    Err(message) => return Ok(json!({ "ok": false, "message": message })),
                }
            }
        }
        return remoting::service_fan_out(st, ctx, results, body);
    }
    let mut value = Vec::new();
    let mut warnings = Vec::new();
    for stmt in statements(body) {
        match exec_statement(st, ctx, stmt)? {
            Ok((out, warn)) => {
                value.extend(out);
                warnings.extend(warn);
            }
            Err(message) => return Ok(json!({ "ok": false, "message": message })),
        }
    }
    Ok(json!({ "ok": true, "value": value, "warnings": warnings }))
}
