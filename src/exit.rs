//! Exit codes (the README's "Exit codes"). clap's own usage code 2 is remapped to 64
//! because 2 means drift.

/// Success; with `--check` / `--detailed-exitcode`: in sync.
pub const SUCCESS: u8 = 0;
/// An error: invalid document, backend failure, failed action, stale plan, lock held.
pub const FAILURE: u8 = 1;
/// `--check` / `--detailed-exitcode` only: the deployment differs from the document.
pub const DRIFT: u8 = 2;
/// Command-line usage error (EX_USAGE).
pub const USAGE: u8 = 64;
/// Interrupted by SIGINT (Ctrl-C): 128 + 2, as shells report it.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM (or Ctrl-Break on Windows): 128 + 15.
pub const TERMINATED: u8 = 143;
