//! Comparing two plans' actions: a saved plan against the plan its document
//! gives today. The first difference is named by action id and kind, so a
//! plan edited by hand (an action removed, added or changed) is refused with
//! a message that says where.

use std::fmt;

use super::{Action, Wait};

/// The first way a saved plan's actions differ from the plan re-derived from
/// its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionDifference {
    /// The re-derived plan has an action the saved plan does not.
    Removed {
        /// Its id in the re-derived plan.
        id: usize,
        /// What it does, in one line.
        operation: String,
    },
    /// The saved plan has an action the re-derived plan does not.
    Added {
        /// Its id in the saved plan.
        id: usize,
        /// What it does, in one line.
        operation: String,
    },
    /// Both plans have action `id`, but not the same.
    Changed {
        /// The action's id.
        id: usize,
        /// Its kind in the saved plan.
        kind: &'static str,
        /// What differs, with both values.
        what: String,
    },
}

impl fmt::Display for ActionDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Removed { id, operation } => {
                write!(f, "action {id} ({operation}) is missing from the saved plan")
            }
            Self::Added { id, operation } => {
                write!(
                    f,
                    "action {id} ({operation}) is in the saved plan but its document does not call for it"
                )
            }
            Self::Changed { id, kind, what } => write!(f, "action {id} ({kind}) was changed: {what}"),
        }
    }
}

/// The first difference between `saved` and `derived` in operations, phases
/// and edges (what each action waits on, and for what), or `None` when they
/// are the same plan. Reasons are display only and not compared.
#[must_use]
pub fn first_difference(saved: &[Action], derived: &[Action]) -> Option<ActionDifference> {
    let ops_differ_at = saved
        .iter()
        .zip(derived)
        .position(|(s, d)| s.operation != d.operation)
        .or_else(|| (saved.len() != derived.len()).then_some(saved.len().min(derived.len())));
    if let Some(i) = ops_differ_at {
        return Some(operation_difference(saved, derived, i));
    }
    saved.iter().zip(derived).find_map(|(s, d)| {
        let kind = s.operation.kind().name();
        if s.phase != d.phase {
            return Some(ActionDifference::Changed {
                id: s.id,
                kind,
                what: format!(
                    "phase {}, its document gives phase {}",
                    u8::from(s.phase),
                    u8::from(d.phase)
                ),
            });
        }
        let (se, de) = (edges(s), edges(d));
        (se != de).then(|| ActionDifference::Changed {
            id: s.id,
            kind,
            what: format!("it waits for {}, its document gives {}", show(&se), show(&de)),
        })
    })
}

/// The operations first differ at position `i`: one action removed, one
/// added, or one changed.
fn operation_difference(saved: &[Action], derived: &[Action], i: usize) -> ActionDifference {
    let same_ops =
        |a: &[Action], b: &[Action]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.operation == y.operation);
    if derived.len() > saved.len() && same_ops(&saved[i..], &derived[i + 1..]) {
        return ActionDifference::Removed {
            id: derived[i].id,
            operation: derived[i].operation.to_string(),
        };
    }
    if saved.len() > derived.len() && same_ops(&saved[i + 1..], &derived[i..]) {
        return ActionDifference::Added {
            id: saved[i].id,
            operation: saved[i].operation.to_string(),
        };
    }
    match (saved.get(i), derived.get(i)) {
        (Some(s), Some(d)) => ActionDifference::Changed {
            id: s.id,
            kind: s.operation.kind().name(),
            what: format!("`{}`, its document gives `{}`", s.operation, d.operation),
        },
        (None, Some(d)) => ActionDifference::Removed {
            id: d.id,
            operation: d.operation.to_string(),
        },
        (Some(s), None) => ActionDifference::Added {
            id: s.id,
            operation: s.operation.to_string(),
        },
        (None, None) => unreachable_difference(),
    }
}

/// Position `i` lies within one of the plans by construction; should it not,
/// say nothing differs at a position rather than panic.
fn unreachable_difference() -> ActionDifference {
    ActionDifference::Changed {
        id: 0,
        kind: "plan",
        what: "the number of actions differs".into(),
    }
}

fn edges(a: &Action) -> Vec<(usize, Wait)> {
    let mut e: Vec<_> = a.depends_on.iter().map(|d| (d.on, d.wait)).collect();
    e.sort_by_key(|(on, _)| *on);
    e
}

fn show(edges: &[(usize, Wait)]) -> String {
    if edges.is_empty() {
        return "nothing".into();
    }
    edges
        .iter()
        .map(|(on, wait)| match wait {
            Wait::Success => format!("#{on}"),
            Wait::Completion => format!("#{on} (to end)"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Dependency, Operation, Phase};

    fn action(id: usize, site: &str, on: &[usize]) -> Action {
        Action {
            id,
            operation: Operation::SetSiteFederationRoute {
                site: site.to_string(),
                edge_pool: None,
            },
            phase: Phase::SiteRoutes,
            depends_on: on
                .iter()
                .map(|&on| Dependency {
                    on,
                    wait: Wait::Success,
                    reason: "r".into(),
                })
                .collect(),
            reason: String::new(),
        }
    }

    #[test]
    fn the_same_plan_has_no_difference_even_with_other_reasons() {
        let a = vec![action(1, "Site1", &[]), action(2, "Site2", &[1])];
        let mut b = a.clone();
        b[1].depends_on[0].reason = "other".into();
        assert_eq!(first_difference(&a, &b), None);
    }

    #[test]
    fn a_removed_action_is_named_by_its_id_in_the_derived_plan() {
        let derived = vec![
            action(1, "Site1", &[]),
            action(2, "Site2", &[]),
            action(3, "Site3", &[]),
        ];
        let saved = vec![action(1, "Site1", &[]), action(2, "Site3", &[])];
        let d = first_difference(&saved, &derived).expect("differs");
        assert!(matches!(d, ActionDifference::Removed { id: 2, .. }), "{d:?}");
        assert!(
            d.to_string().starts_with("action 2 (set-site-federation-route Site2"),
            "{d}"
        );
    }

    #[test]
    fn an_added_action_is_named_by_its_id_in_the_saved_plan() {
        let derived = vec![action(1, "Site1", &[])];
        let saved = vec![action(1, "Site1", &[]), action(2, "Site9", &[])];
        let d = first_difference(&saved, &derived).expect("differs");
        assert!(matches!(d, ActionDifference::Added { id: 2, .. }), "{d:?}");
    }

    #[test]
    fn a_changed_operation_phase_or_edge_is_named() {
        let derived = vec![action(1, "Site1", &[]), action(2, "Site2", &[1])];
        let mut saved = derived.clone();
        saved[1].operation = action(2, "Site7", &[]).operation;
        let d = first_difference(&saved, &derived).expect("differs");
        assert!(matches!(d, ActionDifference::Changed { id: 2, .. }), "{d:?}");
        assert!(d.to_string().contains("Site7"), "{d}");

        let mut saved = derived.clone();
        saved[1].phase = Phase::Services;
        assert!(
            first_difference(&saved, &derived)
                .expect("phase")
                .to_string()
                .contains("phase")
        );

        let mut saved = derived.clone();
        saved[1].depends_on.clear();
        let d = first_difference(&saved, &derived).expect("edge");
        assert_eq!(
            d.to_string(),
            "action 2 (set-site-federation-route) was changed: it waits for nothing, its document gives #1"
        );
    }
}
