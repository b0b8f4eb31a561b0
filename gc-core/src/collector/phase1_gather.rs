//! Phase 1, gather: with the world stopped, lists `0..=gen` of every shard are taken off their
//! shards, each list a segment of one region whose members are numbered by position.
//!
//! ```text
//!  collecting gen 1:   shard 0: gen0 [a b c]  gen1 [d e]  gen2 [f]
//!  region:             gen1 [d e] gen0 [a b c]            (positions 0..5; f not a member)
//! ```
//!
//! Per shard the list that stays in place (the oldest, in a full collection) comes first, so
//! that `relist` can give it back with its survivors untouched. Each shard's inbox is drained
//! first: objects handed over by other threads join their lists, dead ones leave them.

use super::structures::region::{Region, Segment};
use crate::heap::HeapInner;
use crate::world::Stopped;

/// Takes lists `0..=gen` off every shard as one region; `dest` is where survivors go.
pub(crate) fn run(heap: &HeapInner, gen: usize, dest: usize, _stopped: &Stopped) -> Region {
    match Region::generations(heap, gen, take(heap, gen, dest)) {
        Ok(region) => region,
        Err(segments) => {
            put_back(heap, segments);
            panic!("gc-core: a collection of 2^32 objects or more at once is not supported");
        }
    }
}

/// Takes lists `0..=gen` off every shard as segments, numbering positions through them: per
/// shard the list that stays in place (`dest`, in a full collection) first. The world is
/// stopped.
fn take(heap: &HeapInner, gen: usize, dest: usize) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut base = 0;
    for (shard_index, shard) in heap.shards().iter().enumerate() {
        // SAFETY: the world is stopped.
        let lists = unsafe {
            heap.drain(shard);
            shard.lists()
        };
        let order = (dest <= gen).then_some(dest).into_iter();
        for g in order.chain((0..=gen).filter(|&g| g != dest)) {
            let objects = core::mem::take(&mut lists[g]);
            let len = objects.len();
            segments.push(Segment {
                shard: shard_index,
                gen: g,
                base,
                objects,
            });
            base += len;
        }
    }
    segments
}

/// Undoes [`run`] when a scan is abandoned: the lists were not changed, only taken.
pub(crate) fn put_back(heap: &HeapInner, segments: Vec<Segment>) {
    for segment in segments {
        // SAFETY: the world is stopped.
        let lists = unsafe { heap.shards()[segment.shard].lists() };
        lists[segment.gen] = segment.objects;
    }
}
