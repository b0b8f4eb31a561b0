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

use crate::collector::{self, Wait};
use crate::generation::Shard;
use crate::heap::HeapInner;
use crate::sync::{AtomicBool, AtomicIsize, AtomicU32, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::world;

/// After automatic collections missed in a row, retries wait at most this many thresholds.
const MAX_BACKOFF: u32 = 64;

/// A heap's automatic trigger.
pub(crate) struct Trigger {
    /// Published part of `count()[0]`.
    young: AtomicIsize,
    /// Batch size for publishing shard counts.
    publish_batch: AtomicIsize,
    /// Gen-0 threshold (0 disables automatic collection).
    threshold0: AtomicUsize,
    /// Gen-0 count above which a collection is due: the threshold, or later after a miss.
    trigger_at: AtomicUsize,
    /// Automatic collections missed in a row.
    misses: AtomicU32,
    enabled: AtomicBool,
    /// An automatic collection is due; it runs at the next tracked allocation or safepoint.
    pending: AtomicBool,
    counters: Mutex<Counters>,
}

impl Trigger {
    pub(crate) fn new(thresholds: &[usize], shards: usize) -> Trigger {
        let trigger = Trigger {
            young: AtomicIsize::new(0),
            publish_batch: AtomicIsize::new(1),
            threshold0: AtomicUsize::new(0),
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
            self.publish(n);
        }
    }

    /// Adds a shard's batch to the gen-0 count (never below zero) and flags a due collection.
    fn publish(&self, delta: isize) {
        let young = self
            .young
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |y| {
                Some((y + delta).max(0))
            })
            .map_or(0, |y| (y + delta).max(0));
        let threshold = self.threshold0.load(Ordering::Relaxed);
        let trigger = self.trigger_at.load(Ordering::Relaxed);
        if threshold > 0 && young as usize > trigger && self.enabled.load(Ordering::Relaxed) {
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// `count()[0]`: published plus unpublished, never below zero.
    pub(crate) fn young_count(&self, shards: impl Iterator<Item = isize>) -> usize {
        let unpublished: isize = shards.sum();
        (self.young.load(Ordering::Relaxed) + unpublished).max(0) as usize
    }

    /// Zeroes gen 0's published count (after a collection, or a freeze, with the world
    /// stopped; the shards zero their own).
    pub(crate) fn reset_young(&self) {
        self.young.store(0, Ordering::Relaxed);
        self.trigger_at
            .store(self.threshold0.load(Ordering::Relaxed), Ordering::Relaxed);
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
        let young = self.young.load(Ordering::Relaxed).max(0) as usize;
        let threshold = self.threshold0.load(Ordering::Relaxed).max(1);
        self.trigger_at
            .store(young + (threshold << misses), Ordering::Relaxed);
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
        self.trigger_at.store(threshold, Ordering::Relaxed);
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
}

impl Counters {
    pub(crate) fn new(thresholds: Vec<usize>) -> Self {
        let n = thresholds.len();
        Counters {
            thresholds,
            counts: vec![0; n],
            long_lived_total: 0,
            long_lived_pending: 0,
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
        let trigger = Trigger::new(&[100, 10, 10], 1);
        let at = |t: &Trigger| t.trigger_at.load(Ordering::Relaxed);
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
