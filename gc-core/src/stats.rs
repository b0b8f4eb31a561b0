//! What collections report: per-generation statistics (CPython `gc.get_stats`), the info handed
//! to callbacks (`gc.callbacks`), and the debug flags (`gc.set_debug`).

use std::sync::Arc as StdArc;
use std::time::Duration;

use crate::handle::GcAny;
use crate::sync::Instant;

/// Statistics of one generation (CPython `gc.get_stats()[g]`, plus timing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: u64,
    /// Unreachable objects found and freed.
    pub collected: u64,
    /// Unreachable objects that could not be torn down cleanly (their `Drop` panicked).
    pub uncollectable: u64,
    /// Objects examined by those collections.
    pub examined: u64,
    /// Total time the world was stopped for them.
    pub pause: Duration,
    /// Longest single stop of the world.
    pub max_pause: Duration,
    /// Total wall time of those collections, finalizers and teardown included.
    pub time: Duration,
    /// Automatic collections of this generation abandoned because a thread did not reach a
    /// safepoint in time; each is retried later.
    pub missed: u64,
}

/// A lap timer: each [`Clock::lap`] is the time since the last one, for [`PhaseTimes`].
pub(crate) struct Clock(Instant);

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock(Instant::now())
    }

    /// The time since the start or the last lap.
    pub(crate) fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let lap = now.duration_since(self.0);
        self.0 = now;
        lap
    }
}

/// Which end of a collection a callback is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the collection.
    Start,
    /// After the collection.
    Stop,
}

/// What a callback is told (CPython's `info` dict, plus timing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionInfo {
    /// The generation being collected.
    pub generation: usize,
    /// Unreachable objects found (0 at `Start`).
    pub collected: usize,
    /// Unreachable objects that could not be torn down (0 at `Start`).
    pub uncollectable: usize,
    /// Objects examined (0 at `Start`).
    pub examined: usize,
    /// Time the world was stopped, waiting included (zero at `Start`).
    pub pause: Duration,
    /// Of the pause, the time spent waiting for threads to reach safepoints.
    pub time_to_safepoint: Duration,
    /// Wall time of the whole collection, finalizers and tear-down included (zero at `Start`).
    pub duration: Duration,
    /// Where `duration` went, phase by phase (zero at `Start`).
    pub phases: PhaseTimes,
}

impl CollectionInfo {
    /// What callbacks are told as a collection of `generation` starts.
    pub(crate) fn starting(generation: usize) -> CollectionInfo {
        CollectionInfo {
            generation,
            ..CollectionInfo::default()
        }
    }

    /// What callbacks are told of a collection that gave up waiting for safepoints.
    pub(crate) fn missed(generation: usize, duration: Duration) -> CollectionInfo {
        CollectionInfo {
            generation,
            duration,
            ..CollectionInfo::default()
        }
    }
}

/// A collection's time by phase of the collector (`docs/collector.md`). The first four run with
/// the world stopped and add up to the pause less the time to safepoint; the last two run once
/// it restarts. Together they are the collection's `duration` less the callbacks and reports
/// around them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    /// Taking the lists of the generations collected off every shard.
    pub take: Duration,
    /// `subtract_refs`: tracing every member once, counting the references from outside.
    pub subtract: Duration,
    /// The reachability mark, from the edge log.
    pub mark: Duration,
    /// Judging the garbage and putting the survivors back on their lists, until the world
    /// restarts.
    pub relist: Duration,
    /// Weak callbacks, finalizers and the resurrection check (zero when none is needed).
    pub finalize: Duration,
    /// Dropping and freeing the garbage (or saving it, with `DebugFlags::SAVEALL`).
    pub teardown: Duration,
}

/// A registered collection callback.
pub(crate) type Callback = StdArc<dyn Fn(Phase, &CollectionInfo) + Send + Sync>;

/// The id of a registered callback, for [`Heap::remove_callback`](crate::Heap::remove_callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

impl CallbackId {
    /// A new id, unique in the process: an id of one heap never names another heap's callback.
    pub(crate) fn next() -> CallbackId {
        static IDS: crate::sync::Ids = crate::sync::Ids::new();
        CallbackId(IDS.next())
    }
}

bitflags::bitflags! {
    /// CPython's `gc.set_debug` flags.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DebugFlags: u32 {
        /// A one-line summary of every collection on stderr.
        const STATS = 1;
        /// Print each collectable object found.
        const COLLECTABLE = 2;
        /// Print each uncollectable object found.
        const UNCOLLECTABLE = 4;
        /// Keep every unreachable object alive in [`Heap::garbage`](crate::Heap::garbage)
        /// instead of freeing it.
        const SAVEALL = 32;
        /// `COLLECTABLE | UNCOLLECTABLE | SAVEALL`, for hunting leaks.
        const LEAK = 2 | 4 | 32;
    }
}

/// A heap's record of its collections and the settings that shape what they report: the
/// statistics, the callbacks, the garbage saved by `DebugFlags::SAVEALL`, the debug flags.
pub(crate) struct CollectorState {
    pub(crate) stats: Vec<GenerationStats>,
    pub(crate) callbacks: Vec<(CallbackId, Callback)>,
    pub(crate) garbage: Vec<GcAny>,
    pub(crate) debug: DebugFlags,
    #[cfg(feature = "pause-histogram")]
    pub(crate) pauses: Vec<crate::pauses::PauseHistograms>,
}

impl CollectorState {
    pub(crate) fn new(generations: usize) -> Self {
        CollectorState {
            stats: vec![GenerationStats::default(); generations],
            callbacks: Vec::new(),
            garbage: Vec::new(),
            debug: DebugFlags::empty(),
            #[cfg(feature = "pause-histogram")]
            pauses: (0..generations)
                .map(|_| crate::pauses::PauseHistograms::new())
                .collect(),
        }
    }
}
