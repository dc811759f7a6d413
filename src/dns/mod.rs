//! Placeholder: being built in its own issue.
