//! The document's shape, checked all at once: the YAML is read into a
//! located tree ([`Node`]), which is walked against the document's JSON
//! Schema (generated from the [`super::file`] types, so the two cannot
//! drift apart). Every unknown key (with the closest known key, when one is
//! close) and every value of the wrong type is reported, each at its
//! `line:column`, instead of only the first one the deserializer meets.
//!
//! The walk runs only when deserialization has refused the document, and
//! is deliberately no stricter than the deserializer: what it lets through,
//! the deserializer's own error still reports.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Schema;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Position};

/// A YAML value with the position of each of its parts.
#[derive(Debug)]
pub enum Node {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool,
    /// An integer.
    Int(i128),
    /// A floating-point number.
    Float,
    /// Any other scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Spanned<Node>>),
    /// A mapping, keys in document order.
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl Node {
    fn describe(&self) -> String {
        match self {
            Self::Null => "nothing (null)".into(),
            Self::Bool => "a boolean".into(),
            Self::Int(i) => format!("the number {i}"),
            Self::Float => "a number".into(),
            Self::Str(s) => format!("the text `{}`", s.escape_debug()),
            Self::Seq(_) => "a list".into(),
            Self::Map(_) => "a mapping".into(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Bool)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value::<Spanned<Node>>()?));
        }
        Ok(Node::Map(entries))
    }
}

/// The JSON Schema of the desired-state document (what `edgefed schema` prints).
#[must_use]
pub fn document_schema() -> Schema {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::file::DocumentFile>();
    serde_json::to_value(schema).unwrap_or(Schema::Null)
}

/// Every unknown key and every value of the wrong type in `tree`, in
/// document order.
#[must_use]
pub fn check(tree: &Spanned<Node>, schema: &Schema) -> Vec<Diagnostic> {
    let mut walk = Walk {
        root: schema,
        problems: Vec::new(),
    };
    walk.value(tree, schema, "the document");
    walk.problems.sort_by_key(|d| d.position);
    walk.problems
}

/// The position of a located value.
pub(crate) fn located<T>(s: &Spanned<T>) -> Option<Position> {
    let l = s.referenced;
    (l.line() > 0).then(|| {
        Position::at(
            u32::try_from(l.line()).unwrap_or(u32::MAX),
            u32::try_from(l.column()).unwrap_or(u32::MAX),
        )
    })
}

struct Walk<'s> {
    root: &'s Schema,
    problems: Vec<Diagnostic>,
}

/// What a schema position accepts, flattened from `$ref`, `allOf`, `anyOf`
/// and `oneOf`.
#[derive(Default)]
struct Accepts<'s> {
    null: bool,
    boolean: bool,
    integer: bool,
    number: bool,
    string: bool,
    /// The only strings accepted, when the schema lists them (an enum).
    choices: Vec<&'s str>,
    array: Option<&'s Schema>,
    object: Vec<&'s Schema>,
}

impl<'s> Walk<'s> {
    fn resolve(&self, schema: &'s Schema) -> &'s Schema {
        match schema.get("$ref").and_then(Schema::as_str) {
            Some(reference) => reference
                .strip_prefix("#/")
                .map(|path| {
                    path.split('/')
                        .try_fold(self.root, |at, part| at.get(part))
                        .unwrap_or(&Schema::Null)
                })
                .unwrap_or(&Schema::Null),
            None => schema,
        }
    }

    /// `among_options`: `schema` is one of an `anyOf` / `oneOf`'s options.
    fn accepts(&self, schema: &'s Schema, into: &mut Accepts<'s>, among_options: bool) {
        let schema = self.resolve(schema);
        if let Some(Schema::Array(options)) = schema.get("allOf") {
            for option in options {
                self.accepts(option, into, among_options);
            }
        }
        for combinator in ["anyOf", "oneOf"] {
            if let Some(Schema::Array(options)) = schema.get(combinator) {
                for option in options {
                    self.accepts(option, into, true);
                }
            }
        }
        let types: Vec<&str> = match schema.get("type") {
            Some(Schema::String(t)) => vec![t.as_str()],
            Some(Schema::Array(ts)) => ts.iter().filter_map(Schema::as_str).collect(),
            _ => Vec::new(),
        };
        for t in types {
            match t {
                "null" => into.null = true,
                "boolean" => into.boolean = true,
                "integer" => into.integer = true,
                "number" => into.number = true,
                "string" => match (schema.get("const"), schema.get("enum")) {
                    // A `const` alone (apiVersion, kind) is a value rule,
                    // checked with a better message by the validator; a
                    // `const` among `oneOf` options is an enum's choice.
                    (Some(Schema::String(c)), _) if among_options => into.choices.push(c),
                    (_, Some(Schema::Array(values))) => {
                        into.choices.extend(values.iter().filter_map(Schema::as_str));
                    }
                    _ => into.string = true,
                },
                "array" => into.array = Some(schema.get("items").unwrap_or(&Schema::Bool(true))),
                "object" => into.object.push(schema),
                _ => {}
            }
        }
    }

    fn value(&mut self, node: &Spanned<Node>, schema: &'s Schema, what: &str) {
        let mut accepts = Accepts::default();
        self.accepts(schema, &mut accepts, false);
        let at = located(node);
        let expected = accepts.describe();
        let fits = match &node.value {
            // An empty value where a mapping or list goes is read as an
            // empty one; elsewhere the deserializer decides.
            Node::Null => accepts.null || accepts.array.is_some() || !accepts.object.is_empty() || expected.is_none(),
            Node::Bool => accepts.boolean || accepts.string,
            Node::Int(i) => accepts.string || accepts.number || (accepts.integer && u32::try_from(*i).is_ok()),
            Node::Float => accepts.string || accepts.number,
            Node::Str(s) => {
                accepts.string
                    || accepts.choices.contains(&s.as_str())
                    || (accepts.boolean && is_yaml_boolean(s))
                    || ((accepts.integer || accepts.number) && s.trim().parse::<f64>().is_ok())
            }
            Node::Seq(items) => {
                if let Some(items_schema) = accepts.array {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, items_schema, &format!("item {} of {what}", i + 1));
                    }
                    true
                } else {
                    false
                }
            }
            Node::Map(entries) => {
                if accepts.object.is_empty() {
                    false
                } else {
                    self.mapping(entries, &accepts.object, what, at);
                    true
                }
            }
        };
        if fits {
            return;
        }
        let Some(expected) = expected else { return };
        let mut d = Diagnostic::plain(format!("{what} must be {expected}, not {}", node.value.describe())).at(at);
        d = match (&node.value, accepts.choices.is_empty()) {
            (Node::Str(s), false) => match did_you_mean(s, &accepts.choices) {
                Some(close) => d.help(format!("did you mean `{close}`?")),
                None => d.help(format!("write one of: {}", accepts.choices.join(", "))),
            },
            (Node::Int(_), _) if accepts.integer => d.help("a whole number from 0 to 4294967295"),
            _ => d.help("see `edgefed schema` for what each key takes"),
        };
        self.problems.push(d);
    }

    /// `at`: where the mapping starts, for a key it lacks.
    fn mapping(
        &mut self,
        entries: &[(Spanned<String>, Spanned<Node>)],
        objects: &[&'s Schema],
        what: &str,
        at: Option<Position>,
    ) {
        let properties: Vec<(&'s str, &'s Schema)> = objects
            .iter()
            .filter_map(|o| o.get("properties").and_then(Schema::as_object))
            .flat_map(|p| p.iter().map(|(k, v)| (k.as_str(), v)))
            .collect();
        let additional: Option<&'s Schema> = objects
            .iter()
            .filter_map(|o| o.get("additionalProperties"))
            .find(|a| a.is_object());
        for (key, value) in entries {
            let name = key.value.as_str();
            if let Some((_, schema)) = properties.iter().find(|(k, _)| *k == name) {
                self.value(value, schema, &format!("`{name}`"));
            } else if let Some(schema) = additional {
                self.value(value, schema, &format!("`{name}`"));
            } else {
                let known: Vec<&str> = properties.iter().map(|(k, _)| *k).collect();
                let d = Diagnostic::plain(format!("unknown key `{}` in {what}", name.escape_debug())).at(located(key));
                let help = match did_you_mean(name, &known) {
                    Some(close) => format!("did you mean `{close}`? The keys here: {}", known.join(", ")),
                    None if known.is_empty() => "remove the key: nothing goes here".to_string(),
                    None => format!(
                        "remove the key or fix its spelling; the keys here: {}",
                        known.join(", ")
                    ),
                };
                self.problems.push(d.help(help));
            }
        }
        for object in objects {
            let Some(Schema::Array(required)) = object.get("required") else {
                continue;
            };
            for name in required.iter().filter_map(Schema::as_str) {
                if !entries.iter().any(|(k, _)| k.value == name) {
                    self.problems.push(
                        Diagnostic::plain(format!("{what} has no `{name}`, which it needs"))
                            .at(at)
                            .help(format!("add `{name}:`; `edgefed schema` shows what it takes")),
                    );
                }
            }
        }
    }
}

impl Accepts<'_> {
    fn describe(&self) -> Option<String> {
        let mut kinds = Vec::new();
        if self.object.iter().any(|o| o.get("properties").is_some()) {
            kinds.push("a mapping of keys".to_string());
        } else if !self.object.is_empty() {
            kinds.push("a mapping".to_string());
        }
        if self.array.is_some() {
            kinds.push("a list".into());
        }
        if self.string {
            kinds.push("text".into());
        }
        if !self.choices.is_empty() {
            kinds.push(format!("one of {}", self.choices.join(", ")));
        }
        if self.boolean {
            kinds.push("a boolean (true/false)".into());
        }
        if self.integer {
            kinds.push("a whole number".into());
        } else if self.number {
            kinds.push("a number".into());
        }
        if kinds.is_empty() {
            return None;
        }
        if self.null {
            kinds.push("null".into());
        }
        Some(match kinds.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => kinds.join(""),
        })
    }
}

/// The words YAML reads as booleans when a boolean is expected.
fn is_yaml_boolean(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// The known name closest to `given`, when it is close enough to be a typo.
#[must_use]
pub fn did_you_mean<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    known
        .iter()
        .map(|k| (*k, strsim::jaro_winkler(&given_lower, &k.to_lowercase())))
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        let tree: Spanned<Node> = serde_saphyr::from_str(yaml).expect("YAML");
        check(&tree, &document_schema())
            .into_iter()
            .map(|d| {
                let at = d
                    .position
                    .map(|p| format!("{}:{}", p.line, p.column))
                    .unwrap_or_default();
                format!("{at} {} | {}", d.message, d.help.unwrap_or_default())
            })
            .collect()
    }

    const HEAD: &str = "apiVersion: edgefed/v1\nkind: FederationTopology\n";

    #[test]
    fn a_valid_document_has_no_problem() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/multi-site.yaml")).unwrap();
        assert_eq!(problems(&doc), Vec::<String>::new());
    }

    #[test]
    fn every_unknown_key_and_type_error_is_found_with_suggestions() {
        let doc = format!(
            "{HEAD}spec:\n  sitez: {{}}\n  edgePools:\n    e.contoso.com:\n      services: runing\n      nextHop: [a]\n      externalAdresses: []\n  dns:\n    - zone: contoso.com\n      xmpp:\n        ttl: -5\n        moveAddress: maybe\n  verify: yes\n"
        );
        let found = problems(&doc);
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(
            found[0].starts_with("4:3 unknown key `sitez` in `spec` | did you mean `sites`?"),
            "{found:#?}"
        );
        assert!(found[1].starts_with("7:17 `services` must be one of running, stopped or null, not the text `runing` | did you mean `running`?"), "{found:#?}");
        assert!(
            found[2].starts_with("8:16 `nextHop` must be text or null, not a list"),
            "{found:#?}"
        );
        assert!(
            found[3].starts_with(
                "9:7 unknown key `externalAdresses` in `e.contoso.com` | did you mean `externalAddresses`?"
            ),
            "{found:#?}"
        );
        assert!(
            found[4].starts_with("13:14 `ttl` must be a whole number or null, not the number -5"),
            "{found:#?}"
        );
        assert!(
            found[5].starts_with("14:22 `moveAddress` must be a boolean (true/false) or null, not the text `maybe`"),
            "{found:#?}"
        );
        assert!(
            found[6].starts_with("15:11 `verify` must be a mapping of keys or null, not a boolean"),
            "{found:#?}"
        );
    }

    #[test]
    fn the_walk_is_no_stricter_than_the_deserializer() {
        for ok in [
            "spec:\n  sites:\n",
            "spec:\n  sites:\n    Site1:\n      federationRoute:\n",
            "spec:\n  dns:\n    - zone: 5\n      sip:\n        ttl: \"300\"\n        moveAddress: yes\n",
            "spec:\n  frontEndPools:\n    f.contoso.com:\n      failedOver: On\n",
        ] {
            assert_eq!(problems(&format!("{HEAD}{ok}")), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn missing_required_keys_are_named() {
        let found = problems("apiVersion: edgefed/v1\nspec:\n  dns:\n    - xmpp: {}\n");
        assert!(
            found.iter().any(|f| f.starts_with("1:1 the document has no `kind`")),
            "{found:#?}"
        );
        assert!(
            found.iter().any(|f| f.starts_with("4:7 item 1 of `dns` has no `zone`")),
            "{found:#?}"
        );
    }

    #[test]
    fn suggestions_are_only_made_for_close_names() {
        assert_eq!(
            did_you_mean("federationRout", &["federationRoute", "xmppFederationRoute"]),
            Some("federationRoute")
        );
        assert_eq!(did_you_mean("EdgePools", &["sites", "edgePools"]), Some("edgePools"));
        assert_eq!(did_you_mean("banana", &["sites", "edgePools", "dns"]), None);
    }
}
