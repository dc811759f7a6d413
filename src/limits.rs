//! How much edgefed reads and how long it waits, at most: every file and
//! stream it reads has a cap, and every duration option a ceiling, so a wrong
//! file (`/dev/zero`), a runaway shell or a mistyped number fails fast with a
//! clear error instead of filling memory or overflowing.

/// The cap on a lab file, a saved plan, a topology document and the
/// Management Shell's output (and error output) of one script: 64 MiB; a
/// large deployment's topology is a few MiB. The observe script's output
/// has its own bound ([`DEFAULT_OBSERVE_ANSWER_MIB`]).
pub const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;

/// The default bound on the Management Shell's answer to the observe
/// script, in MiB: 512. That answer carries the whole published topology
/// and one record per site, pool and Edge server — about 200 MiB for
/// 10,000 sites of two Edge pools and two Front End pools each — and
/// edgefed needs up to about three times it in memory. `--ps-max-observe-mib`
/// (`EDGEFED_PS_MAX_OBSERVE_MIB`) sets another, up to
/// [`MAX_OBSERVE_ANSWER_MIB`].
pub const DEFAULT_OBSERVE_ANSWER_MIB: u16 = 512;

/// The most `--ps-max-observe-mib` accepts: 16,384 MiB (16 GiB).
pub const MAX_OBSERVE_ANSWER_MIB: u16 = 16_384;

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
