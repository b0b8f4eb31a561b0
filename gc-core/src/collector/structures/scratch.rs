//! The collector's scratch buffers — the side array of `gc_refs`, the edge log, the list of
//! garbage, the garbage per chunk, the buffer a member's edges are traced into — kept by the
//! heap from one collection to the next.
//!
//! Allocating them afresh each time costs a page fault per 4 KiB touched. Freeing them can
//! cost more: glibc's allocator consolidates all its free lists when a large block is freed,
//! which right after a teardown means visiting every object just freed. So a buffer is kept
//! while it is at most four times what recent collections needed of it; "recent" decays by an
//! eighth per collection, so a heap that shrinks for good gives the memory back after a few
//! collections.

use core::ptr::NonNull;

use crate::header::Header;
use crate::header::HeaderPtr;
use crate::heap::HeapInner;
use crate::sync::AtomicI32;

use super::edge_log::EdgeLog;

/// Buffers up to this many elements are always kept.
const ALWAYS_KEPT: usize = 1 << 16;

/// A buffer kept between collections, with how much of it collections needed lately.
#[derive(Default)]
pub(crate) struct Kept<T> {
    buffer: T,
    /// The most recently needed, decaying by an eighth per collection.
    recent: usize,
}

impl<T: Default> Kept<T> {
    /// Takes the buffer out for a collection (leaves an empty one).
    pub(crate) fn take(&mut self) -> T {
        core::mem::take(&mut self.buffer)
    }

    /// Gives the buffer back after a collection that used `used` of its `capacity` elements;
    /// it is kept if recent collections needed at least a quarter of it, else freed.
    pub(crate) fn give_back(&mut self, buffer: T, used: usize, capacity: usize) {
        self.recent = used.max(self.recent - self.recent / 8);
        if capacity <= ALWAYS_KEPT.max(4 * self.recent) {
            self.buffer = buffer;
        }
    }
}

/// The heap's scratch buffers.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The side array (`region`).
    pub(crate) refs: Kept<Vec<AtomicI32>>,
    /// The edge log (`edge_log`).
    pub(crate) log: Kept<EdgeLog>,
    /// The list of unreachable objects (`gather`, then `teardown`).
    pub(crate) garbage: Kept<Vec<HeaderPtr>>,
    /// Garbage per chunk (the parallel `relist`).
    pub(crate) counts: Kept<Vec<u32>>,
    /// The buffer `subtract_refs` traces members into ([`LentEdges`]).
    edges: EdgeBuffer,
    /// Per generation, under `Scan::Candidates`: whether its last collection found a region
    /// worth a whole-generation scan next time (`phase1_gather::learn`).
    pub(crate) scan_whole: [bool; crate::config::MAX_GENERATIONS],
}

/// An edge buffer while the heap keeps it: always empty, so it holds capacity and no pointer.
#[derive(Default)]
struct EdgeBuffer(Vec<NonNull<Header>>);

// SAFETY: the buffer is emptied before the heap keeps it (`LentEdges::drop`), so no pointer is
// ever sent or shared with it; only its allocation is.
unsafe impl Send for EdgeBuffer {}

/// The edge buffer kept between collections holds up to this many edges (8 MiB): a member with
/// a million edges (C1's root) is traced without growing a fresh buffer each time; a larger
/// buffer goes after use.
const EDGES_KEPT: usize = 1 << 20;

/// The buffer a member's edges are traced into, lent by the heap's scratch to a collection's
/// tracing thread or worker (the first to ask gets the kept one; others start empty); given
/// back emptied when dropped, the largest kept up to [`EDGES_KEPT`].
pub(crate) struct LentEdges<'a> {
    heap: &'a HeapInner,
    pub(crate) edges: Vec<NonNull<Header>>,
}

impl<'a> LentEdges<'a> {
    pub(crate) fn new(heap: &'a HeapInner) -> LentEdges<'a> {
        let EdgeBuffer(edges) = core::mem::take(&mut heap.scratch().edges);
        LentEdges { heap, edges }
    }
}

impl Drop for LentEdges<'_> {
    fn drop(&mut self) {
        keep_edges(self.heap, core::mem::take(&mut self.edges));
    }
}

/// Gives an edge buffer back to the heap (one lent, or one moved out of it): emptied, it is kept
/// if larger than the kept one, up to [`EDGES_KEPT`].
pub(crate) fn keep_edges(heap: &HeapInner, mut edges: Vec<NonNull<Header>>) {
    edges.clear();
    if edges.capacity() > EDGES_KEPT {
        return;
    }
    let kept = &mut heap.scratch().edges;
    if edges.capacity() > kept.0.capacity() {
        *kept = EdgeBuffer(edges);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_outlives_a_small_collection_and_goes_once_the_heap_stays_small() {
        let mut kept: Kept<Vec<u8>> = Kept::default();
        let big = 1 << 20;
        kept.give_back(Vec::with_capacity(big), big, big);
        // A collection of nothing right after: kept.
        let buffer = kept.take();
        assert!(buffer.capacity() >= big);
        kept.give_back(buffer, 0, big);
        // Small collections only: the recent need decays, the buffer goes.
        let mut collections = 1;
        loop {
            let buffer = kept.take();
            if buffer.capacity() < big {
                break;
            }
            kept.give_back(buffer, 0, big);
            collections += 1;
            assert!(collections < 64, "never given back");
        }
        assert!(
            collections > 4,
            "given back after {collections} collections"
        );
    }

    #[test]
    fn small_buffers_are_always_kept() {
        let mut kept: Kept<Vec<u8>> = Kept::default();
        for _ in 0..100 {
            let buffer = kept.take();
            let buffer = if buffer.capacity() == 0 {
                Vec::with_capacity(1000)
            } else {
                buffer
            };
            let capacity = buffer.capacity();
            kept.give_back(buffer, 0, capacity);
        }
        assert!(kept.take().capacity() >= 1000);
    }
}
