//! A heap's configuration: generations and thresholds, shards, collector workers, waits.

use std::time::Duration;

use crate::error::GcError;

/// How a [`Heap`](crate::Heap) is set up. `Config::default()` is CPython's: three generations
/// with thresholds (700, 10, 10) and the 25 % long-lived rule.
///
/// ```
/// use gc_core::{Config, Heap};
/// let heap = Heap::with_config(Config::default().thresholds(&[1000, 20, 20]).workers(2)).unwrap();
/// assert_eq!(heap.thresholds(), vec![1000, 20, 20]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) thresholds: Vec<usize>,
    pub(crate) scan: Scan,
    pub(crate) trigger: Trigger,
    pub(crate) shards: usize,
    pub(crate) workers: usize,
    pub(crate) parallel_cutoff: usize,
    pub(crate) safepoint_timeout: Duration,
    pub(crate) long_lived_rule: bool,
    pub(crate) pool: bool,
}

/// Which objects a collection examines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scan {
    /// Only what is reachable, inside the generations collected, from *candidates*: objects
    /// whose strong count fell to a value above zero since they were last examined — the only
    /// place a garbage cycle can be (Bacon and Rajan's possible roots). A collection with no
    /// candidate examines nothing and stops no thread. Where the candidates are at least a
    /// quarter of the objects of the generations collected, or the last collection of that
    /// generation found most of it reachable from them, the collection scans those generations
    /// whole instead, which is then cheaper, and keeps the candidates' rules. The default.
    Candidates,
    /// Every object of the generations collected, as CPython does.
    Generations,
}

/// What makes an automatic collection of generation 0 due; the older generations follow
/// CPython's counts whatever this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Tracked allocations minus deallocations since the last collection above the gen-0
    /// threshold (CPython's rule; the default).
    Allocations,
    /// Candidates recorded since the last collection above the gen-0 threshold.
    Candidates,
    /// Bytes of tracked objects allocated since the last collection above this many.
    Bytes(usize),
}

/// At most this many generations.
pub const MAX_GENERATIONS: usize = 8;
/// At most this many shards (the shard number lives in 8 header bits).
pub const MAX_SHARDS: usize = 256;

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Config {
            thresholds: vec![700, 10, 10],
            scan: default_scan(),
            trigger: Trigger::Allocations,
            shards: (cores * 4).clamp(1, 64),
            workers: cores,
            parallel_cutoff: 32_768,
            safepoint_timeout: Duration::from_millis(50),
            long_lived_rule: true,
            // Under Miri objects come from the global allocator, which Miri watches: a use of
            // a freed object inside a pool page would look like a use of live memory.
            pool: !cfg!(miri),
        }
    }
}

/// `Scan::Candidates`, unless the environment variable `GC_CORE_SCAN` says `generations` (a way
/// to run a whole program, or a test suite, under either without changing its code).
///
/// # Panics
/// If `GC_CORE_SCAN` is set to anything but `candidates` or `generations`.
fn default_scan() -> Scan {
    match std::env::var("GC_CORE_SCAN") {
        Err(std::env::VarError::NotPresent) => Scan::Candidates,
        Ok(value) if value == "candidates" => Scan::Candidates,
        Ok(value) if value == "generations" => Scan::Generations,
        Ok(value) => panic!(
            "gc-core: GC_CORE_SCAN is {value:?}; it must be \"candidates\" or \"generations\""
        ),
        Err(std::env::VarError::NotUnicode(value)) => panic!(
            "gc-core: GC_CORE_SCAN is {value:?}; it must be \"candidates\" or \"generations\""
        ),
    }
}

impl Config {
    /// Which objects collections examine (`Scan::Candidates` by default; `GC_CORE_SCAN=
    /// generations` in the environment changes the default).
    pub fn scan(mut self, scan: Scan) -> Self {
        self.scan = scan;
        self
    }

    /// What makes an automatic collection due (`Trigger::Allocations`, CPython's, by default).
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// One threshold per generation: the length sets the number of generations. A gen-0
    /// threshold of zero disables automatic collection.
    pub fn thresholds(mut self, thresholds: &[usize]) -> Self {
        self.thresholds = thresholds.to_vec();
        self
    }

    /// Number of lock shards for the generation lists (threads are spread over them).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards;
        self
    }

    /// Threads that run the parallel collector phases (1: always sequential).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Collections examining fewer objects than this run sequentially.
    pub fn parallel_cutoff(mut self, objects: usize) -> Self {
        self.parallel_cutoff = objects;
        self
    }

    /// How long an automatic collection waits for other threads to reach a safepoint before it
    /// gives up, records a miss and retries later. Explicit collections wait as long as needed.
    pub fn safepoint_timeout(mut self, timeout: Duration) -> Self {
        self.safepoint_timeout = timeout;
        self
    }

    /// CPython's bpo-4074 rule: a full collection runs only when the objects promoted to the
    /// oldest generation since the last one exceed 25 % of those that survived it.
    pub fn long_lived_rule(mut self, on: bool) -> Self {
        self.long_lived_rule = on;
        self
    }

    /// Whether objects of at most 512 bytes come from gc-core's pool of per-thread pages (the
    /// default, except under Miri; CPython's `obmalloc`), rather than from the global allocator (or mimalloc with
    /// the `mimalloc` feature). The pool maps memory from the system 1 MiB at a time and
    /// unmaps it once every object in it has been freed for a second (`docs/allocation.md`).
    /// Off, the global allocator sees every object (a heap profiler, say).
    pub fn pool(mut self, on: bool) -> Self {
        self.pool = on;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), GcError> {
        if self.thresholds.is_empty() || self.thresholds.len() > MAX_GENERATIONS {
            return Err(GcError::InvalidConfig(format!(
                "between 1 and {MAX_GENERATIONS} generations are supported, not {}",
                self.thresholds.len()
            )));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(GcError::InvalidConfig(format!(
                "between 1 and {MAX_SHARDS} shards are supported, not {}",
                self.shards
            )));
        }
        if self.workers == 0 {
            return Err(GcError::InvalidConfig(
                "at least one worker is needed".into(),
            ));
        }
        Ok(())
    }
}
