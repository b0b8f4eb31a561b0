//! When a collection is due: CPython's counting rules, and the automatic trigger built on them.
//!
//! ```text
//!  allocation / death ──▶ shard count (no atomics) ──batch──▶ young (heap-wide)
//!                                                               │ > trigger_at, enabled
//!                                                               ▼
//!  next tracked allocation or safepoint ──▶ pending? ──▶ Counters::select ──▶ collect(g)
//!                                                               │ missed (a thread did not
//!                                                               ▼  reach a safepoint)
//!                                     trigger_at = young + threshold << misses (up to 64 ×)
//! ```
//!
//! Counting follows CPython 3.12: `count[0]` is tracked allocations minus deallocations since
//! the last collection, kept per shard and published to the heap in small batches so the hot
//! paths touch no shared cache line; `count[g]` for `g > 0` is the number of collections of
//! generation `g - 1` since the last collection of `g`. The generation to collect is the oldest
//! whose count exceeds its threshold, the oldest guarded by the 25 % rule (bpo-4074).

use crossbeam_utils::CachePadded;

use crate::collector::{self, Wait};
use crate::config::Trigger;
use crate::generation::Shard;
use crate::heap::HeapInner;
use crate::sync::{AtomicBool, AtomicIsize, AtomicU32, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::world;

/// After automatic collections missed in a row, retries wait at most this many thresholds.
const MAX_BACKOFF: u32 = 64;

/// A heap's automatic trigger.
pub(crate) struct AutoTrigger {
    /// Published part of `count()[0]`: written by every thread's batches, so on a cache line
    /// of its own, away from what allocations read.
    young: CachePadded<AtomicIsize>,
    /// What makes a collection due (`Config::trigger`).
    measure: Trigger,
    /// The published measure, for `Trigger::Candidates` and `Trigger::Bytes` (for
    /// `Trigger::Allocations` it is `young`).
    due: CachePadded<AtomicIsize>,
    /// Batch size for publishing shard counts.
    publish_batch: AtomicIsize,
    /// Gen-0 threshold (0 disables automatic collection).
    threshold0: AtomicUsize,
    /// The measure's threshold: the gen-0 threshold, or the bytes of `Trigger::Bytes`.
    limit: AtomicUsize,
    /// Measure above which a collection is due: the limit, or later after a miss.
    trigger_at: AtomicUsize,
    /// Automatic collections missed in a row.
    misses: AtomicU32,
    enabled: AtomicBool,
    /// An automatic collection is due; it runs at the next tracked allocation or safepoint.
    pending: AtomicBool,
    counters: Mutex<Counters>,
}

/// Bytes a shard counts before it publishes them (`Trigger::Bytes`).
const BYTES_BATCH: isize = 4096;

impl AutoTrigger {
    pub(crate) fn new(thresholds: &[usize], shards: usize, measure: Trigger) -> AutoTrigger {
        let trigger = AutoTrigger {
            young: CachePadded::new(AtomicIsize::new(0)),
            measure,
            due: CachePadded::new(AtomicIsize::new(0)),
            publish_batch: AtomicIsize::new(1),
            threshold0: AtomicUsize::new(0),
            limit: AtomicUsize::new(0),
            trigger_at: AtomicUsize::new(0),
            misses: AtomicU32::new(0),
            enabled: AtomicBool::new(true),
            pending: AtomicBool::new(false),
            counters: Mutex::new(Counters::new(thresholds.to_vec())),
        };
        trigger.set_threshold0(thresholds[0], shards);
        trigger
    }

    /// CPython's counters and thresholds.
    pub(crate) fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock()
    }

    /// An automatic collection is due (one relaxed load: the allocation fast path reads it).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Adds to a shard's gen-0 count, publishing a full batch.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    #[inline]
    pub(crate) unsafe fn count_young(&self, shard: &Shard, delta: isize) {
        // SAFETY: forwarded.
        let n = unsafe { shard.count(delta) };
        if n.abs() >= self.publish_batch.load(Ordering::Relaxed) {
            // SAFETY: forwarded.
            unsafe { shard.count(-n) };
            let young = self.young.fetch_add(n, Ordering::Relaxed) + n;
            if self.measure == Trigger::Allocations {
                self.check(young.max(0) as usize);
            }
        }
    }

    /// Counts an allocation or a death handed to a shard's owner through its inbox (`delta`
    /// 1 or -1): counted when handed over, not when the owner takes it, so that `count()[0]`
    /// does not depend on when that is.
    pub(crate) fn count_handed_over(&self, delta: isize) {
        let young = self.young.fetch_add(delta, Ordering::Relaxed) + delta;
        if self.measure == Trigger::Allocations {
            self.check(young.max(0) as usize);
        }
    }

    /// Counts the bytes of a tracked allocation, for `Trigger::Bytes`.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    #[inline]
    pub(crate) unsafe fn count_bytes(&self, shard: &Shard, bytes: usize) {
        if matches!(self.measure, Trigger::Bytes(_)) {
            // SAFETY: forwarded.
            unsafe { self.count_due(shard, bytes as isize, BYTES_BATCH) };
        }
    }

    /// Counts a candidate recorded, for `Trigger::Candidates`.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    pub(crate) unsafe fn count_candidate(&self, shard: &Shard) {
        if self.measure == Trigger::Candidates {
            let batch = self.publish_batch.load(Ordering::Relaxed);
            // SAFETY: forwarded.
            unsafe { self.count_due(shard, 1, batch) };
        }
    }

    /// # Safety
    /// As for [`Shard::lists`].
    unsafe fn count_due(&self, shard: &Shard, delta: isize, batch: isize) {
        let n = shard.unpublished_due.load(Ordering::Relaxed) + delta;
        if n < batch {
            shard.unpublished_due.store(n, Ordering::Relaxed);
            return;
        }
        shard.unpublished_due.store(0, Ordering::Relaxed);
        let due = self.due.fetch_add(n, Ordering::Relaxed) + n;
        self.check(due.max(0) as usize);
    }

    /// Flags a collection due if `measure`, the published measure, is past the trigger.
    fn check(&self, measure: usize) {
        let threshold = self.threshold0.load(Ordering::Relaxed);
        let trigger = self.trigger_at.load(Ordering::Relaxed);
        if threshold > 0 && measure > trigger && self.enabled.load(Ordering::Relaxed) {
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// The published measure.
    fn measured(&self) -> usize {
        let value = match self.measure {
            Trigger::Allocations => &self.young,
            Trigger::Candidates | Trigger::Bytes(_) => &self.due,
        };
        value.load(Ordering::Relaxed).max(0) as usize
    }

    /// `count()[0]`: published plus unpublished, never below zero.
    pub(crate) fn young_count(&self, shards: impl Iterator<Item = isize>) -> usize {
        let unpublished: isize = shards.sum();
        (self.young.load(Ordering::Relaxed) + unpublished).max(0) as usize
    }

    /// Starts gen 0's count and the measure from zero (after a collection, or a freeze):
    /// the published values are set so that, with what the shards have not published yet
    /// (`unpublished`, `unpublished_due`), they come to zero. (With the world stopped the
    /// shards zero their own first; otherwise they go on counting, unaware.)
    pub(crate) fn reset_young(&self, unpublished: isize, unpublished_due: isize) {
        self.young.store(-unpublished, Ordering::Relaxed);
        self.due.store(-unpublished_due, Ordering::Relaxed);
        self.trigger_at
            .store(self.limit.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// An automatic collection missed its safepoint deadline: retry only after more
    /// allocations — a threshold's worth after the first miss in a row, twice as many after
    /// each further one, up to [`MAX_BACKOFF`] thresholds — so a blocked thread costs a few
    /// waits, not one per threshold.
    pub(crate) fn missed(&self) {
        let misses = self
            .misses
            .fetch_add(1, Ordering::Relaxed)
            .min(MAX_BACKOFF.ilog2());
        let limit = self.limit.load(Ordering::Relaxed).max(1);
        self.trigger_at
            .store(self.measured() + (limit << misses), Ordering::Relaxed);
        self.pending.store(false, Ordering::Relaxed);
    }

    /// A collection ran: nothing is due, and retries start over from one threshold.
    pub(crate) fn ran(&self) {
        self.pending.store(false, Ordering::Relaxed);
        if self.misses.load(Ordering::Relaxed) != 0 {
            self.misses.store(0, Ordering::Relaxed);
        }
    }

    /// Sets the gen-0 threshold (0: no automatic collection) for a heap of `shards` shards.
    pub(crate) fn set_threshold0(&self, threshold: usize, shards: usize) {
        self.threshold0.store(threshold, Ordering::Relaxed);
        let limit = match self.measure {
            Trigger::Bytes(bytes) => bytes,
            Trigger::Allocations | Trigger::Candidates => threshold,
        };
        self.limit.store(limit, Ordering::Relaxed);
        self.trigger_at.store(limit, Ordering::Relaxed);
        let batch = (threshold / (4 * shards)).clamp(1, 32);
        self.publish_batch.store(batch as isize, Ordering::Relaxed);
    }

    /// CPython `gc.enable` / `gc.disable`.
    pub(crate) fn enable(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
        if !on {
            self.pending.store(false, Ordering::Relaxed);
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

impl HeapInner {
    /// Runs the automatic collection if one is due. Cells this thread holds borrowed are
    /// taken as roots, as in an explicit collection; a thread that has the world stopped (a
    /// `Trace`, a collector worker) never collects.
    pub(crate) fn collect_if_due(&self) {
        if world::stopping_here() {
            return;
        }
        let trigger = self.trigger();
        if !trigger.is_enabled() || trigger.threshold0.load(Ordering::Relaxed) == 0 {
            trigger.pending.store(false, Ordering::Relaxed);
            return;
        }
        let young = self.young_count();
        let gen = trigger
            .counters()
            .select(young, self.config().long_lived_rule);
        match gen {
            Some(gen) => {
                // A miss is counted and its retry deferred by the collection itself.
                let _ = collector::collect(self, gen, Wait::Bounded);
            }
            None => trigger.pending.store(false, Ordering::Relaxed),
        }
    }
}

/// CPython's generation counters and thresholds for one heap.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) thresholds: Vec<usize>,
    /// `counts[g]` for `g > 0`; `counts[0]` is kept in the trigger and the shards.
    pub(crate) counts: Vec<usize>,
    /// Objects that survived the last full collection.
    pub(crate) long_lived_total: usize,
    /// Objects promoted to the oldest generation since then.
    pub(crate) long_lived_pending: usize,
    /// Objects per generation: counted with the world stopped, estimated after a collection
    /// that examined nothing (deaths in older generations are not seen then).
    pub(crate) sizes: Vec<usize>,
}

impl Counters {
    pub(crate) fn new(thresholds: Vec<usize>) -> Self {
        let n = thresholds.len();
        Counters {
            thresholds,
            counts: vec![0; n],
            long_lived_total: 0,
            long_lived_pending: 0,
            sizes: vec![0; n],
        }
    }

    pub(crate) fn generations(&self) -> usize {
        self.thresholds.len()
    }

    /// The generation an automatic collection should take, given gen 0's count: the oldest
    /// whose count exceeds its threshold, with the 25 % rule guarding the oldest.
    pub(crate) fn select(&self, young: usize, long_lived_rule: bool) -> Option<usize> {
        let oldest = self.generations() - 1;
        (0..self.generations()).rev().find(|&g| {
            let count = if g == 0 { young } else { self.counts[g] };
            if count <= self.thresholds[g] {
                return false;
            }
            !(g == oldest
                && g > 0
                && long_lived_rule
                && self.long_lived_pending < self.long_lived_total / 4)
        })
    }

    /// Books a collection of `gen` that examined nothing (`Scan::Candidates` with no
    /// candidate): everything in generations `0..=gen` — `young` objects in generation 0 —
    /// survived and was promoted.
    pub(crate) fn examined_nothing(&mut self, gen: usize, young: usize) {
        self.sizes[0] = young;
        let oldest = self.generations() - 1;
        let survivors: usize = self.sizes[..=gen].iter().sum();
        if gen < oldest {
            self.sizes[..=gen].fill(0);
            self.sizes[gen + 1] += survivors;
        }
        self.collected(gen, survivors);
    }

    /// Books a finished collection of `gen` whose survivors were promoted.
    pub(crate) fn collected(&mut self, gen: usize, survivors: usize) {
        let oldest = self.generations() - 1;
        if gen < oldest {
            self.counts[gen + 1] += 1;
        }
        for count in &mut self.counts[1..=gen] {
            *count = 0;
        }
        if gen == oldest {
            self.long_lived_pending = 0;
            self.long_lived_total = survivors;
        } else if gen + 1 == oldest {
            self.long_lived_pending += survivors;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_the_oldest_generation_over_threshold() {
        let mut c = Counters::new(vec![700, 10, 10]);
        assert_eq!(c.select(700, true), None);
        assert_eq!(c.select(701, true), Some(0));
        c.counts[1] = 11;
        assert_eq!(c.select(701, true), Some(1));
        c.counts[2] = 11;
        assert_eq!(c.select(701, true), Some(2));
    }

    #[test]
    fn the_long_lived_rule_defers_full_collections() {
        let mut c = Counters::new(vec![700, 10, 10]);
        c.counts[2] = 11;
        c.long_lived_total = 1000;
        c.long_lived_pending = 100;
        assert_eq!(c.select(0, true), None);
        assert_eq!(c.select(0, false), Some(2));
        c.long_lived_pending = 251;
        assert_eq!(c.select(0, true), Some(2));
    }

    #[test]
    fn collecting_counts_as_cpython_does() {
        let mut c = Counters::new(vec![700, 10, 10]);
        c.collected(0, 5);
        assert_eq!(c.counts, vec![0, 1, 0]);
        c.collected(1, 7);
        assert_eq!(c.counts, vec![0, 0, 1]);
        assert_eq!(c.long_lived_pending, 7);
        c.collected(2, 30);
        assert_eq!(c.counts, vec![0, 0, 0]);
        assert_eq!((c.long_lived_total, c.long_lived_pending), (30, 0));
    }

    #[test]
    fn misses_in_a_row_back_off_to_a_bound_and_a_collection_resets_them() {
        let trigger = AutoTrigger::new(&[100, 10, 10], 1, Trigger::Allocations);
        let at = |t: &AutoTrigger| t.trigger_at.load(Ordering::Relaxed);
        let mut waits = Vec::new();
        for _ in 0..9 {
            trigger.missed();
            waits.push(at(&trigger));
        }
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1600, 3200, 6400, 6400, 6400],
            "one threshold, then twice as many each time, up to 64"
        );
        trigger.ran();
        trigger.missed();
        assert_eq!(at(&trigger), 100);
    }
}
