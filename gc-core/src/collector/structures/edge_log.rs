//! The edge log: every edge between members of a region, recorded by `subtract_refs` as it
//! traces them, so that `mark` walks positions in arrays instead of tracing objects again.
//!
//! ```text
//!  positions:      0        1     2            (chunk 0: positions 0..CHUNK)
//!  edges:          0 → 1    1 → 2, 1 → 0       2 → (none)
//!  chunk 0 log:    starts  [0, 1, 3, 3]        member i's targets: targets[starts[i]..starts[i + 1]]
//!                  targets [1, 2, 0]
//!                  remote  per stripe: (target, times) outside the chunk, for the parallel path
//! ```
//!
//! The log is kept per chunk of positions, the unit of parallel work: a worker tracing a chunk
//! writes that chunk's log alone. Edges to non-members are not logged; repeats of one edge in a
//! row are logged once (marking needs each target once; `subtract_refs` counts the repeats).
//!
//! A member with very many edges (a list of a million objects) is traced by one worker but its
//! edges are located by several, each writing a slice of the member's targets in place,
//! [`NONE`] where the edge leads out of the region. The chunk's log notes the member's targets
//! as `wide`: all of them are remote edges, not split by stripe.
//!
//! A member's log is the edges its `Trace` reported during this stopped-world scan, so marking
//! from it gives what tracing again would: nothing can change an edge until the world restarts.

use crate::heap::HeapInner;

/// The log of one chunk of positions.
#[derive(Default)]
pub(crate) struct ChunkLog {
    /// `starts[i]..starts[i + 1]`: where the targets of the chunk's `i`-th member are.
    starts: Vec<u32>,
    /// Target positions of the chunk's members, member after member.
    targets: Vec<u32>,
    /// Edges to members outside the chunk, `(target, times)`, split by the stripe of the target:
    /// the parallel `subtract_refs` applies them once every chunk is traced, one worker per
    /// stripe.
    pub(crate) remote: Vec<Vec<RemoteEdge>>,
    /// The targets (ranges of `targets`) of the chunk's members with very many edges located at
    /// once: every one a remote edge, which each stripe's worker picks out its own from.
    wide: Vec<(u32, u32)>,
    /// The targets (ranges of `targets`) of the chunk's members with very many edges whose
    /// locating was deferred (`wide`): reserved as [`NONE`], written and applied by the pieces.
    deferred: Vec<(u32, u32)>,
}

/// An edge to a member outside the chunk: `(target, times)`.
pub(crate) type RemoteEdge = (u32, i32);

/// A logged target that is not a member (in the slices of members with very many edges).
pub(crate) const NONE: u32 = u32::MAX;

impl ChunkLog {
    /// Empties the log for a chunk traced afresh, its remote edges split in (at least)
    /// `stripes`; buffers of stripes beyond are kept for parallel collections to come.
    pub(crate) fn start(&mut self, stripes: usize) {
        self.starts.clear();
        self.starts.push(0);
        self.targets.clear();
        if self.remote.len() < stripes {
            self.remote.resize_with(stripes, Vec::new);
        }
        for stripe in &mut self.remote {
            stripe.clear();
        }
        self.wide.clear();
        self.deferred.clear();
    }

    /// Logs the targets of the member being traced, one per edge ([`NONE`] for an edge out of
    /// the region), all of them remote edges: `targets` extends the log in place.
    pub(crate) fn wide(&mut self, log: impl FnOnce(&mut Vec<u32>)) {
        let start = self.logged();
        log(&mut self.targets);
        self.wide.push((start, self.logged()));
    }

    /// Reserves `len` targets for the member being traced, to be located later (`wide`).
    pub(crate) fn defer(&mut self, len: usize) {
        let start = self.logged();
        self.targets.resize(self.targets.len() + len, NONE);
        self.deferred.push((start, self.logged()));
    }

    /// The targets of the chunk's members with very many edges ([`ChunkLog::wide`]).
    pub(crate) fn wide_targets(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.wide
            .iter()
            .map(|&(start, end)| &self.targets[start as usize..end as usize])
    }

    /// The targets reserved by [`ChunkLog::defer`], in order, to write; and the chunk's remote
    /// edges, to add to.
    pub(crate) fn deferred_mut(&mut self) -> (Vec<&mut [u32]>, &mut [Vec<RemoteEdge>]) {
        let mut slices = Vec::with_capacity(self.deferred.len());
        let mut rest = &mut self.targets[..];
        let mut taken = 0;
        for &(start, end) in &self.deferred {
            let (_, tail) = rest.split_at_mut((start - taken) as usize);
            let (slice, tail) = tail.split_at_mut((end - start) as usize);
            slices.push(slice);
            (rest, taken) = (tail, end);
        }
        (slices, &mut self.remote)
    }

    /// Logs an edge of the member being traced.
    #[inline]
    pub(crate) fn target(&mut self, q: usize) {
        self.targets.push(q as u32);
    }

    /// Ends the member being traced: the next target logged is the next member's.
    #[inline]
    pub(crate) fn end_member(&mut self) {
        let end = self.logged();
        self.starts.push(end);
    }

    /// Targets logged so far, as the `u32` the log counts in: a chunk's members holding 2^32
    /// edges or more between them stop the collection with a panic (its lists are put back
    /// untouched, as for a panicking `Trace`) rather than be logged wrong.
    #[inline]
    fn logged(&self) -> u32 {
        u32::try_from(self.targets.len())
            .expect("gc-core: 2^32 edges or more among 4,096 objects cannot be collected")
    }

    /// Its size in 32-bit words: used, or allocated (`capacity`).
    fn words(&self, capacity: bool) -> usize {
        let size = |len: usize, allocated: usize| if capacity { allocated } else { len };
        size(self.starts.len(), self.starts.capacity())
            + size(self.targets.len(), self.targets.capacity())
            + self
                .remote
                .iter()
                .map(|r| 2 * size(r.len(), r.capacity()))
                .sum::<usize>()
    }

    /// The targets of the chunk's `i`-th member.
    #[cfg(test)]
    fn targets_of(&self, i: usize) -> &[u32] {
        &self.targets[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

/// The edge log of a region: one [`ChunkLog`] per `1 << shift` positions.
#[derive(Default)]
pub(crate) struct EdgeLog {
    /// Positions per chunk, as a power of two: position `p` is in chunk `p >> shift`.
    shift: u32,
    /// The region's chunks; logs beyond them are kept for larger regions to come.
    chunks: usize,
    logs: Vec<ChunkLog>,
}

impl EdgeLog {
    /// The heap's log, kept from its last collection (`scratch`), made ready for `len`
    /// positions in chunks of `chunk`.
    pub(crate) fn take(heap: &HeapInner, len: usize, chunk: usize) -> EdgeLog {
        let mut log = heap.scratch().log.take();
        log.prepare(len, chunk);
        log
    }

    /// A log of its own, for `len` positions in chunks of `chunk`.
    pub(crate) fn new(len: usize, chunk: usize) -> EdgeLog {
        let mut log = EdgeLog::default();
        log.prepare(len, chunk);
        log
    }

    fn prepare(&mut self, len: usize, chunk: usize) {
        assert!(
            chunk.is_power_of_two(),
            "chunks of a power of two positions"
        );
        self.shift = chunk.trailing_zeros();
        self.chunks = len.div_ceil(chunk);
        if self.logs.len() < self.chunks {
            self.logs.resize_with(self.chunks, ChunkLog::default);
        }
    }

    /// Gives the log back to the heap for its next collection (`scratch`).
    pub(crate) fn give_back(self, heap: &HeapInner) {
        let used = self.chunks().iter().map(|log| log.words(false)).sum();
        let capacity = self.logs.iter().map(|log| log.words(true)).sum();
        heap.scratch().log.give_back(self, used, capacity);
    }

    /// The logs of the region's chunks.
    pub(crate) fn chunks(&self) -> &[ChunkLog] {
        &self.logs[..self.chunks]
    }

    /// The logs of the region's chunks, to write.
    pub(crate) fn chunks_mut(&mut self) -> &mut [ChunkLog] {
        &mut self.logs[..self.chunks]
    }

    /// The targets of the member at position `p`.
    #[cfg(test)]
    pub(crate) fn targets_of(&self, p: usize) -> &[u32] {
        self.logs[p >> self.shift].targets_of(p & ((1 << self.shift) - 1))
    }

    /// Where the targets of the member at position `p` are: entries `from..to` of chunk
    /// `chunk`'s log.
    #[inline]
    pub(crate) fn span(&self, p: usize) -> (u32, u32, u32) {
        let chunk = p >> self.shift;
        let starts = &self.logs[chunk].starts;
        let i = p & ((1 << self.shift) - 1);
        (chunk as u32, starts[i], starts[i + 1])
    }

    /// Entries `from..to` of chunk `chunk`'s log (a [`EdgeLog::span`], or part of one).
    #[inline]
    pub(crate) fn entries(&self, chunk: u32, from: u32, to: u32) -> &[u32] {
        &self.logs[chunk as usize].targets[from as usize..to as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_member_reads_back_its_own_targets() {
        let mut log = EdgeLog::new(5, 2);
        assert_eq!(log.chunks().len(), 3);
        // Positions 0 1 | 2 3 | 4.
        let edges: [&[usize]; 5] = [&[1], &[2, 0], &[], &[4, 0, 3], &[]];
        for (c, chunk) in log.chunks_mut().iter_mut().enumerate() {
            chunk.start(1);
            for p in (c * 2..).take(2).filter(|&p| p < 5) {
                for &q in edges[p] {
                    chunk.target(q);
                }
                chunk.end_member();
            }
        }
        for (p, expected) in edges.iter().enumerate() {
            let got: Vec<usize> = log.targets_of(p).iter().map(|&q| q as usize).collect();
            assert_eq!(&got, expected, "targets of position {p}");
        }
    }
}
