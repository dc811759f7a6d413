//! CMS replication in the double, and `Edgefed-WaitReplication`.
//!
//! After a publish, each Edge replica keeps reporting the previous update
//! (`UpToDate = True`, `LastUpdateCreation` of the previous update) for
//! `replication_lag_polls` polls of `Get-CsManagementStoreReplicationStatus
//! -ReplicaFqdn`, then the new one: the window in which a wait that trusts
//! `UpToDate` alone is fooled.
//!
//! The wait's loop (poll, sleep, give up after its timeout) is simulated
//! here, but whether a poll's answer lets it proceed is decided by
//! evaluating the `Where-Object { … }` filter of the helper the script
//! defined, over the replica's record, with the helper's parameters bound to
//! the call's arguments: the double runs the backend's own condition, so an
//! old or weaker helper proceeds where Lync's replica would not be ready.

use std::collections::BTreeMap;

use edgefed::model::Fqdn;
use serde_json::{Map, Value, json};

use super::clock;
use super::lexer::{Tok, matching};
use super::state::State;

/// The replica status of `c` as `Get-CsManagementStoreReplicationStatus`
/// returns it now.
pub fn record(st: &State, c: &Fqdn) -> Value {
    let stale = st.replication_lag.get(c).copied().unwrap_or(0) > 0;
    let creation = if stale {
        st.replica_update_creation
            .get(c)
            .copied()
            .unwrap_or(st.last_update_creation)
    } else {
        st.last_update_creation
    };
    json!({
        "UpToDate": "True",
        "ReplicaFqdn": c.to_string(),
        "LastStatusReport": clock::iso(st.clock),
        "LastUpdateCreation": clock::iso(creation),
    })
}

/// One poll of `-ReplicaFqdn c`: the record, and one poll less of lag.
fn poll(st: &mut State, c: &Fqdn) -> Value {
    let r = record(st, c);
    if let Some(n) = st.replication_lag.get_mut(c) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            st.replication_lag.remove(c);
            st.replica_update_creation.remove(c);
        }
    }
    r
}

/// A value in a filter: text, or a time (`[datetime]`).
#[derive(Debug, Clone, PartialEq)]
enum V {
    Text(String),
    Time(i64),
}

fn time_of(text: &str) -> Result<i64, String> {
    clock::parse(text).ok_or(format!("Cannot convert value \"{text}\" to type \"System.DateTime\"."))
}

fn operand(toks: &[Tok], rec: &Map<String, Value>, vars: &BTreeMap<String, String>) -> Result<V, String> {
    let toks = strip_parens(toks);
    let (cast, rest) = match toks {
        [Tok::Punct('['), Tok::Word(t), Tok::Punct(']'), rest @ ..] => (Some(t.to_ascii_lowercase()), rest),
        _ => (None, toks),
    };
    let text = match rest {
        [Tok::Var(u), Tok::Punct('.'), Tok::Word(prop)] if u == "_" => rec
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(prop))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_string(),
        [Tok::Var(v)] => vars
            .get(&v.to_ascii_lowercase())
            .cloned()
            .ok_or(format!("the filter uses ${v}, which is not a parameter of the helper"))?,
        [Tok::Str(s)] => s.clone(),
        other => return Err(format!("the double cannot evaluate the operand {other:?}")),
    };
    match cast.as_deref() {
        Some("datetime") => Ok(V::Time(time_of(&text)?)),
        Some("string") | None => Ok(V::Text(text)),
        Some(t) => Err(format!("the double cannot cast to [{t}]")),
    }
}

fn strip_parens(toks: &[Tok]) -> &[Tok] {
    if let [Tok::Punct('('), .., Tok::Punct(')')] = toks
        && matching(toks, 0) == Some(toks.len() - 1)
    {
        return strip_parens(&toks[1..toks.len() - 1]);
    }
    toks
}

/// Splits at the `-op` parameters outside brackets.
fn split<'a>(toks: &'a [Tok], op: &str) -> Vec<&'a [Tok]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Param(p, None) if depth == 0 && p.eq_ignore_ascii_case(op) => {
                out.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&toks[start..]);
    out
}

/// Evaluates a filter (`-or` of `-and` of comparisons) for one record.
///
/// # Errors
/// A message for what the double cannot evaluate (loud).
fn eval(toks: &[Tok], rec: &Map<String, Value>, vars: &BTreeMap<String, String>) -> Result<bool, String> {
    let toks = strip_parens(toks);
    let ors = split(toks, "or");
    if ors.len() > 1 {
        for part in ors {
            if eval(part, rec, vars)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let ands = split(toks, "and");
    if ands.len() > 1 {
        for part in ands {
            if !eval(part, rec, vars)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    for op in ["eq", "ne", "lt", "le", "gt", "ge"] {
        let sides = split(toks, op);
        if let [l, r] = sides.as_slice() {
            let (l, r) = (operand(l, rec, vars)?, operand(r, rec, vars)?);
            // PowerShell converts the right operand to the left one's type.
            let ord = match (&l, &r) {
                (V::Time(a), V::Time(b)) => a.cmp(b),
                (V::Time(a), V::Text(b)) => a.cmp(&time_of(b)?),
                (V::Text(a), V::Time(b)) => a.to_ascii_lowercase().cmp(&clock::iso(*b).to_ascii_lowercase()),
                (V::Text(a), V::Text(b)) => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
            };
            use std::cmp::Ordering::{Equal, Greater, Less};
            return Ok(match op {
                "eq" => ord == Equal,
                "ne" => ord != Equal,
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            });
        }
    }
    Err(format!("the double cannot evaluate the filter {toks:?}"))
}

/// The parameter names of a helper's definition, in order.
fn parameters(def: &[Tok]) -> Vec<String> {
    let Some(open) = def.iter().position(|t| *t == Tok::Punct('(')) else {
        return Vec::new();
    };
    let close = matching(def, open).unwrap_or(open);
    def[open..close]
        .iter()
        .filter_map(|t| match t {
            Tok::Var(v) => Some(v.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The `Where-Object { … }` filter of a helper's definition.
fn filter(def: &[Tok]) -> Option<&[Tok]> {
    let at = def
        .windows(2)
        .position(|w| matches!(w, [Tok::Word(w), Tok::Punct('{')] if w.eq_ignore_ascii_case("Where-Object")))?;
    let close = matching(def, at + 1)?;
    Some(&def[at + 2..close])
}

/// `Edgefed-WaitReplication` called with `args` (already resolved to text),
/// defined by `def`.
///
/// # Errors
/// Outer: the double cannot run this helper (loud). Inner: the helper's
/// throw when the replica does not catch up within its timeout.
pub fn wait(st: &mut State, def: &[Tok], args: &[String]) -> Result<Result<(), String>, String> {
    let names = parameters(def);
    if names.len() != args.len() {
        return Err(format!(
            "Edgefed-WaitReplication takes {} arguments ({}), the call gives {}",
            names.len(),
            names.join(", "),
            args.len()
        ));
    }
    let vars: BTreeMap<String, String> = names.iter().cloned().zip(args.iter().cloned()).collect();
    let get = |n: &str| vars.get(n).cloned().ok_or(format!("the helper has no parameter ${n}"));
    let c = Fqdn::parse(&get("c")?).map_err(|e| e.to_string())?;
    let t: i64 = get("t")?
        .parse()
        .map_err(|_| "the timeout is not a number".to_string())?;
    let p: i64 = get("p")?
        .parse::<i64>()
        .map_err(|_| "the poll is not a number".to_string())?
        .max(1);
    let behind = filter(def).ok_or("the helper has no Where-Object filter")?;
    let deadline = st.clock + t;
    loop {
        let r = poll(st, &c);
        let rec = r.as_object().cloned().unwrap_or_default();
        if !eval(behind, &rec, &vars)? {
            return Ok(Ok(()));
        }
        if st.clock > deadline {
            let since = vars
                .get("s")
                .map_or(String::new(), |s| format!(", older than the topology write at {s}"));
            return Ok(Err(format!(
                "CMS replication did not reach {c} within {t} s: its replica reports UpToDate {} and LastUpdateCreation {}{since}. Check the Master Replicator Agent (REPLICA) service on {c}, run Invoke-CsManagementStoreReplication -ReplicaFqdn {c}, then reconcile again.",
                rec.get("UpToDate").and_then(Value::as_str).unwrap_or("?"),
                rec.get("LastUpdateCreation").and_then(Value::as_str).unwrap_or("?"),
            )));
        }
        st.clock += p;
    }
}
