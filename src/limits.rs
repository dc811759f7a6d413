//! How much edgefed reads and how long it waits, at most: every file and
//! stream it reads has a cap, and every duration option a ceiling, so a wrong
//! file (`/dev/zero`), a runaway shell or a mistyped number fails fast with a
//! clear error instead of filling memory or overflowing.

/// The cap on a lab file, a saved plan, a topology document and the
/// Management Shell's output (and error output) of one script: 64 MiB; a
/// large deployment's topology is a few MiB.
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;

/// The cap on small files: a TSIG key file, a CA file, the
/// failover record, a lock file: 1 MiB.
pub const MAX_SMALL_FILE_BYTES: u64 = 1024 * 1024;

/// The ceiling of every duration option (`--lock-timeout`,
/// `--network-timeout`, `--ps-timeout`): 7 days, in seconds. Sums of them
/// (a batch's timeout) stay far from overflowing.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 60 * 60;

/// The size at which a lab's operation log (`<lab>.log.ndjson`) is rotated
/// to `<lab>.log.ndjson.1`: 4 MiB, about 20,000 operations. The two files
/// together stay under about twice this, so no lab becomes unreadable by use.
pub const MAX_LOG_BYTES: u64 = 4 * 1024 * 1024;
