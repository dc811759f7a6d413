//! The YAML parser's budgets, grown with the input: a valid file of any
//! size the byte caps allow is never refused for its number of nodes,
//! while alias expansion (a "billion laughs" bomb) and deep nesting stay
//! bounded relative to the text that was actually written.

/// Nesting deeper than this is refused (the document needs 6 levels, the
/// lab file 6).
pub const MAX_DEPTH: usize = 32;

/// The floor of the count budgets: small inputs keep the parser's usual room.
const FLOOR: usize = 100_000;

/// How many parser events one input byte can give without aliases, at most:
/// every node takes at least one byte (`-` or a one-letter scalar), and a
/// node gives at most two events (start and end).
const EVENTS_PER_BYTE: usize = 2;

/// The parser options for a YAML text of `input_bytes` bytes: node, event
/// and anchor budgets proportional to its size (so none can refuse a file
/// written out in full), alias expansion capped at the size of the text
/// itself (an alias may repeat what was written, not multiply it), nesting
/// capped at [`MAX_DEPTH`], one document per file.
#[must_use]
pub fn options(input_bytes: usize) -> serde_saphyr::Options {
    let written = input_bytes.saturating_add(FLOOR);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_documents = 1;
    budget.max_nodes = written.saturating_mul(EVENTS_PER_BYTE);
    budget.max_events = written.saturating_mul(EVENTS_PER_BYTE);
    budget.max_anchors = written;
    budget.max_aliases = written;
    budget.max_recorded_anchor_events = written;
    budget.max_reader_input_bytes = Some(input_bytes.saturating_add(1));
    // The expansion caps below bound what aliases can cost; a file that
    // reuses one anchor many times is not refused for its ratio.
    budget.enforce_alias_anchor_ratio = false;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.with_snippet = false;
    options.alias_limits.max_alias_expansions_per_anchor = written;
    options.alias_limits.max_total_replayed_events = written;
    options
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    use super::*;

    fn parse(text: &str) -> Result<serde_json::Value, serde_saphyr::Error> {
        serde_saphyr::from_str_with_options(text, options(text.len()))
    }

    #[test]
    fn the_densest_sequence_is_read() {
        // One node per two bytes, `[0,0,0,...]`: more nodes than the
        // parser's default budget of 250,000.
        let text = format!("[{}]", vec!["0"; 400_000].join(","));
        let v: Vec<u8> = serde_saphyr::from_str_with_options(&text, options(text.len())).expect("valid");
        assert_eq!(v.len(), 400_000);
    }

    #[test]
    fn an_alias_bomb_is_refused_with_its_position() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            let _ = writeln!(text, "a{i}: &a{i} [{refs}]");
        }
        let err = parse(&text).expect_err("10^10 nodes from a few hundred bytes");
        let location = err.location().expect("located");
        assert!(location.line() > 1, "{err}");
    }

    #[test]
    fn aliases_that_repeat_what_was_written_are_read() {
        let mut text = String::from("base: &b { federationRoute: edge1.contoso.com }\nsites:\n");
        for i in 0..2_000 {
            let _ = writeln!(text, "  s{i}: *b");
        }
        let v: BTreeMap<String, serde_json::Value> =
            serde_saphyr::from_str_with_options(&text, options(text.len())).expect("valid");
        assert_eq!(v["sites"].as_object().map(serde_json::Map::len), Some(2_000));
    }

    #[test]
    fn deep_nesting_is_refused_with_its_position() {
        let text = format!("{}1{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        let err = parse(&text).expect_err("too deep");
        assert!(err.location().is_some(), "{err}");
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        parse(&ok).expect("nesting within the cap");
    }
}
