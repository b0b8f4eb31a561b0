//! Generations: the per-shard object lists and CPython's counting rules.
//!
//! ```text
//!  shard 0:  gen0 [a b c]   gen1 [d]      gen2 [e f]   permanent [ ]
//!  shard 1:  gen0 [g]       gen1 [ ]      gen2 [h]     permanent [i]
//!            ^ allocations of the threads mapped to the shard land here
//! ```
//!
//! Each list is a vector of headers; an object's `index` is its position, so removal is a
//! swap-remove that rewrites one other object's index. A shard's lists are guarded by the
//! shard's own mutex, so threads freeing objects of different shards never meet.
//!
//! Counting follows CPython 3.12: `count[0]` is tracked allocations minus deallocations since
//! the last collection (published from the shards in small batches); `count[g]` for `g > 0` is
//! the number of collections of generation `g - 1` since the last collection of `g`.

use core::ptr::NonNull;

use crate::header::Header;
use crate::sync::Ordering;

/// One shard's generation lists; the last list is the permanent (frozen) generation.
pub(crate) struct Shard {
    pub(crate) lists: Vec<Vec<NonNull<Header>>>,
    /// Allocations minus deallocations not yet added to the heap's gen-0 count.
    pub(crate) unpublished: isize,
}

// SAFETY: the pointers are to objects owned by the heap; the shard mutex serialises all access
// to the lists, and the objects' own fields are atomic.
unsafe impl Send for Shard {}

impl Shard {
    pub(crate) fn new(generations: usize) -> Self {
        Shard {
            lists: (0..=generations).map(|_| Vec::new()).collect(),
            unpublished: 0,
        }
    }

    /// Appends an object to list `gen`, recording its generation and position.
    pub(crate) fn push(&mut self, gen: usize, object: NonNull<Header>) {
        let list = &mut self.lists[gen];
        // SAFETY: listed objects are alive.
        let header = unsafe { object.as_ref() };
        header.set_generation(gen);
        header.index.store(list.len() as u32, Ordering::Relaxed);
        list.push(object);
    }

    /// Removes an object from its list.
    pub(crate) fn remove(&mut self, header: &Header) {
        let list = &mut self.lists[header.generation()];
        let index = header.index.load(Ordering::Relaxed) as usize;
        debug_assert!(core::ptr::eq(list[index].as_ptr(), header));
        list.swap_remove(index);
        if let Some(moved) = list.get(index) {
            // SAFETY: listed objects are alive.
            unsafe { moved.as_ref() }
                .index
                .store(index as u32, Ordering::Relaxed);
        }
    }

    /// Moves every object of list `from` to the end of list `to`.
    pub(crate) fn merge(&mut self, from: usize, to: usize) {
        let moved = core::mem::take(&mut self.lists[from]);
        for object in moved {
            self.push(to, object);
        }
    }
}

/// CPython's generation counters and thresholds for one heap.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) thresholds: Vec<usize>,
    /// `counts[g]` for `g > 0`; `counts[0]` is kept in the heap's atomic and the shards.
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
}
