//! Members with very many edges (a list of a million objects): their edges are located piece by
//! piece, each piece right after the chunk of positions it is expected to reach has been traced,
//! so that the headers it reads are still in cache.
//!
//! Locating an edge reads its target's header. `subtract_refs` reads every member's header once
//! anyway, to trace it; at a million members the headers no longer fit in cache, and a member
//! that references all of them, located on its own, reads every header a second time from
//! memory. So `subtract_refs` traces the last chunk first — a container is usually allocated
//! after what it holds, and sits late in the lists — and *defers* its members with at least
//! [`WIDE`] edges: their targets are reserved in the chunk's log, and a [`Plan`] guesses where
//! each edge leads from where the first ones do.
//!
//! ```text
//!  positions:   chunk 0        chunk 1        chunk 2  ...   last chunk (traced first)
//!               [a0 .. a4095]  [a4096 ..   ]  [ ..   ]       [ .. root ]
//!  root's edges:  0 .. 4095      4096 .. 8191   ...          the guess: edge k at position k + offset
//!  pieces:        piece 0        piece 1        ...          leftover (guessed outside the chunks)
//!  tracing chunk c, then locating piece c: the headers of a(c·4096) .. are still in cache
//! ```
//!
//! A wrong guess costs what not guessing does: a piece's headers come from memory. Every
//! target is written in the piece's slice of the log (`NONE` for an edge out of the region), so
//! the log is the same as when located at once; in the parallel path these are remote edges
//! (applied by stripe in step 2), in the sequential one each target's slot is decremented as it
//! is located.

use core::ops::Range;
use core::ptr::NonNull;

use super::edge_log::NONE;
use super::region::{prefetch, Region, CHUNK, PREFETCH};
use crate::generation::Object;
use crate::header::Header;

/// A member with at least this many edges has them located apart from its tracing: by several
/// workers, or deferred piece by piece.
pub(crate) const WIDE: usize = 4 * CHUNK;

/// How many of a deferred member's first edges are tried to guess where the rest lead.
const GUESS_FROM: usize = 16;

/// The edges of one deferred member, as traced (the buffer they were traced into).
pub(crate) struct Deferred(pub(crate) Vec<NonNull<Header>>);

// SAFETY: as for `Object`: the edges point at members, whose headers workers read only while
// the world is stopped.
unsafe impl Send for Deferred {}

/// A run of a deferred member's edges and the slice of the log its targets go to.
pub(crate) struct Piece<'a> {
    edges: &'a [Object],
    targets: &'a mut [u32],
}

impl Piece<'_> {
    /// Locates the piece's edges into its targets; with `APPLY` (the sequential path), also
    /// decrements each target's slot at once.
    pub(crate) fn locate<const APPLY: bool>(self, region: &Region) {
        for (i, (edge, target)) in self.edges.iter().zip(self.targets).enumerate() {
            if let Some(ahead) = self.edges.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            // An edge of a live object points at a live object.
            *target = match region.locate(edge.header()) {
                Some(q) => {
                    if APPLY {
                        region.add_alone(q, -1);
                    }
                    q as u32
                }
                None => NONE,
            };
        }
    }
}

/// Where the deferred edges are to be located: pieces per chunk of positions, to be located
/// right after that chunk is traced, and the rest.
pub(crate) struct Plan<'a> {
    /// `per_chunk[i]`: the pieces guessed to lead into the `i`-th chunk still to be traced.
    pub(crate) per_chunk: Vec<Vec<Piece<'a>>>,
    /// Pieces guessed to lead elsewhere (into a chunk traced already, or out of the region), or
    /// of members whose first edges lead out of the region: located after all chunks, in runs
    /// of at most [`CHUNK`] edges.
    pub(crate) leftover: Vec<Piece<'a>>,
}

impl<'a> Plan<'a> {
    /// Plans `deferred` over the chunks still to be traced, `pending`; each member's targets
    /// are the matching slice of `targets`, of the same length as its edges.
    pub(crate) fn new(
        region: &Region,
        deferred: &'a [Deferred],
        targets: Vec<&'a mut [u32]>,
        pending: Range<usize>,
    ) -> Plan<'a> {
        let mut plan = Plan {
            per_chunk: pending.clone().map(|_| Vec::new()).collect(),
            leftover: Vec::new(),
        };
        let size = region.chunk_len() as isize;
        for (edges, targets) in deferred.iter().zip(targets) {
            debug_assert_eq!(edges.0.len(), targets.len());
            let edges = Object::from_edges(&edges.0);
            let Some(offset) = guess(region, edges) else {
                plan.leave(edges, targets);
                continue;
            };
            // Edge `k` is guessed at position `k + offset`: chunk `c` gets the edges from
            // `c * size - offset` on, up to where chunk `c + 1` starts.
            let (total, mut done) = (edges.len(), 0);
            let (mut edges, mut targets) = (edges, targets);
            for c in 0..=pending.end {
                let start = (c as isize * size - offset).clamp(done as isize, total as isize);
                let (run, rest) = edges.split_at(start as usize - done);
                let (run_targets, rest_targets) = targets.split_at_mut(run.len());
                match c.checked_sub(1) {
                    _ if run.is_empty() => {}
                    Some(before) if pending.contains(&before) => {
                        plan.per_chunk[before - pending.start].push(Piece {
                            edges: run,
                            targets: run_targets,
                        });
                    }
                    _ => plan.leave(run, run_targets),
                }
                (edges, targets, done) = (rest, rest_targets, start as usize);
            }
            plan.leave(edges, targets);
        }
        plan
    }

    /// Leaves `edges` to be located after all chunks, in runs of at most [`CHUNK`].
    fn leave(&mut self, edges: &'a [Object], targets: &'a mut [u32]) {
        let runs = edges.chunks(CHUNK).zip(targets.chunks_mut(CHUNK));
        self.leftover
            .extend(runs.map(|(edges, targets)| Piece { edges, targets }));
    }
}

/// Where the edges of a member are guessed to lead: `offset` such that edge `k` is at position
/// `k + offset`, from the first of its first [`GUESS_FROM`] edges that is a member.
fn guess(region: &Region, edges: &[Object]) -> Option<isize> {
    edges
        .iter()
        .take(GUESS_FROM)
        .enumerate()
        .find_map(|(k, edge)| Some(region.locate(edge.header())? as isize - k as isize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::flag;
    use crate::sync::Ordering;
    use crate::test_support::quiet_heap;
    use crate::{Gc, GcCell, Trace};

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    /// Where the edges of each of `pieces` lead (`NONE`: out of the region).
    fn positions(region: &Region, pieces: &[Piece<'_>]) -> Vec<Vec<u32>> {
        let position = |edge: &Object| region.locate(edge.header()).map_or(NONE, |q| q as u32);
        pieces
            .iter()
            .map(|piece| piece.edges.iter().map(position).collect())
            .collect()
    }

    #[test]
    fn each_piece_waits_for_the_chunk_its_edges_are_guessed_to_reach() {
        let heap = quiet_heap();
        let node = || {
            heap.alloc(Node {
                edges: GcCell::new(Vec::new()),
            })
        };
        let nodes: Vec<Gc<Node>> = (0..18).map(|_| node()).collect();
        let outsider = node();
        let objects: Vec<Object> = nodes.iter().map(|n| Object(n.header_ptr())).collect();
        let listed: Vec<u32> = objects
            .iter()
            .map(|o| o.header().index.load(Ordering::Relaxed))
            .collect();
        for (i, object) in objects.iter().enumerate() {
            object.header().set(flag::IN_SET);
            object.header().index.store(i as u32, Ordering::Relaxed);
        }
        // Chunks of 4 positions: 0..4, 4..8, 8..12, 12..16 and the last, 16..18, traced first;
        // chunk 0 traced meanwhile too, so chunks 1 to 3 are pending.
        let region = Region::flagged(&heap.inner, objects.clone(), 0).with_chunk(4);
        let edges = |positions: &mut dyn Iterator<Item = usize>| {
            Deferred(positions.map(|p| objects[p].0).collect())
        };
        let deferred = [
            // In position order from position 2: guessed right.
            edges(&mut (2..18)),
            // In reverse order: guessed past the region, so all left over.
            edges(&mut (2..18).rev()),
            // The first edge leads out of the region: the guess comes from the second.
            Deferred(
                [outsider.header_ptr()]
                    .into_iter()
                    .chain((5..8).map(|p| objects[p].0))
                    .collect(),
            ),
        ];
        let mut targets: Vec<Vec<u32>> = deferred.iter().map(|d| vec![NONE; d.0.len()]).collect();
        let plan = Plan::new(
            &region,
            &deferred,
            targets.iter_mut().map(Vec::as_mut_slice).collect(),
            1..4,
        );
        let in_chunk: Vec<Vec<Vec<u32>>> = plan
            .per_chunk
            .iter()
            .map(|p| positions(&region, p))
            .collect();
        assert_eq!(
            in_chunk,
            [
                vec![vec![4, 5, 6, 7], vec![NONE, 5, 6, 7]],
                vec![vec![8, 9, 10, 11]],
                vec![vec![12, 13, 14, 15]],
            ]
        );
        let left: Vec<u32> = positions(&region, &plan.leftover).concat();
        let reversed: Vec<u32> = (2..18).rev().collect();
        assert_eq!(left, [&[2, 3, 16, 17][..], &reversed].concat());
        for piece in plan.per_chunk.into_iter().flatten().chain(plan.leftover) {
            piece.locate::<false>(&region);
        }
        assert_eq!(targets[0], (2..18).collect::<Vec<u32>>());
        assert_eq!(targets[1], reversed);
        assert_eq!(targets[2], [NONE, 5, 6, 7]);
        for (object, position) in objects.iter().zip(listed) {
            object.header().clear(flag::IN_SET);
            object.header().index.store(position, Ordering::Relaxed);
        }
    }
}
