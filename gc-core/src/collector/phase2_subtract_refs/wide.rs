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
//!  positions:     chunk 0         chunk 1         ...   chunk n-1       last chunk (traced first)
//!                 [a0 .. a4095]   [a4096 .. ]           [ .. ]          [ .. root ]
//!  root's edges:  0 .. 4095       4096 .. 8191    ...                   guess: edge k at k + offset
//!  pieces:        piece 0         piece 1         ...   piece n-1
//!  a worker:      trace chunk c, then locate piece c: a4096c .. are still in cache
//! ```
//!
//! With several workers, one traces the last chunk while another traces chunks from the first
//! on; the pieces of the chunks traced meanwhile, and those guessed into the last chunk or out
//! of the region, are shared out among the chunks still to trace. A wrong guess costs what not
//! guessing does: the piece's headers come from memory.
//!
//! Every target is written in the piece's slice of the log (`NONE` for an edge out of the
//! region), so the log is as if located at once. The decrements go to a [`Sink`]: in the
//! sequential path to the slots at once; in the parallel one, the worker that traced chunk `c`
//! decrements the slots of chunk `c`, which it alone writes during step 1, and keeps every other
//! target as a remote edge of chunk `c` for step 2.

use core::ops::Range;

use super::stripes::Stripes;
use crate::collector::structures::edge_log::{RemoteEdge, NONE};
use crate::collector::structures::region::{prefetch, Region, CHUNK, PREFETCH};
use crate::header::HeaderPtr;
use crate::trace::MemberEdges;

/// A member with at least this many edges has them located apart from its tracing: by several
/// workers, or deferred piece by piece.
pub(crate) const WIDE: usize = 4 * CHUNK;

/// How many of a deferred member's first edges are tried to guess where the rest lead.
const GUESS_FROM: usize = 16;

/// The edges of one deferred member, as traced: the buffer they were traced into, or where they
/// lie in its value.
pub(crate) struct Deferred(pub(crate) MemberEdges);

// SAFETY: as for `HeaderPtr`: the edges point at members, whose headers workers read only while
// the world is stopped; edges left in place lie in a member's value, unchanged until then.
unsafe impl Send for Deferred {}

/// A run of a deferred member's edges and the slice of the log its targets go to.
pub(crate) struct Piece<'a> {
    edges: &'a [HeaderPtr],
    targets: &'a mut [u32],
}

/// Where the targets a piece locates are applied.
pub(crate) enum Sink<'s> {
    /// The sequential path: each target's slot is decremented at once.
    Apply,
    /// A worker of the parallel step 1, writing the slots of `own` alone (the chunk it has
    /// traced): a target there is decremented at once, any other kept in `remote`, by stripe,
    /// for step 2.
    Owner {
        own: Range<usize>,
        remote: &'s mut [Vec<RemoteEdge>],
        stripes: &'s Stripes,
    },
}

impl Piece<'_> {
    /// Locates the piece's edges into its targets, and applies them to `sink`.
    pub(crate) fn locate(self, region: &Region, sink: &mut Sink<'_>) {
        for (i, (edge, target)) in self.edges.iter().zip(self.targets).enumerate() {
            if let Some(ahead) = self.edges.get(i + PREFETCH) {
                prefetch(ahead.0.as_ptr());
            }
            // An edge of a live object points at a live object.
            let Some(q) = region.locate(edge.header()) else {
                *target = NONE;
                continue;
            };
            *target = q as u32;
            match sink {
                Sink::Apply => region.add_alone(q, -1),
                Sink::Owner { own, .. } if own.contains(&q) => region.add_alone(q, -1),
                Sink::Owner {
                    remote, stripes, ..
                } => remote[stripes.of(q)].push((q as u32, 1)),
            }
        }
    }
}

/// Where the deferred edges are to be located: pieces per chunk of positions, to be located
/// right after that chunk is traced, and the rest.
pub(crate) struct Plan<'a> {
    /// `per_chunk[i]`: the pieces guessed to lead into the `i`-th chunk still to be traced,
    /// then a share of the others.
    pub(crate) per_chunk: Vec<Vec<Piece<'a>>>,
    /// Pieces guessed to lead elsewhere (into a chunk traced already, or out of the region), or
    /// of members whose first edges lead out of the region, in runs of at most a chunk's length:
    /// shared out among the chunks still to be traced, as their headers come from memory
    /// wherever they are located; left here only if no chunk is.
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
            let edges = HeaderPtr::from_edges(edges.0.edges());
            debug_assert_eq!(edges.len(), targets.len());
            let Some(offset) = guess(region, edges) else {
                plan.leave(region, edges, targets);
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
                    _ => plan.leave(region, run, run_targets),
                }
                (edges, targets, done) = (rest, rest_targets, start as usize);
            }
            plan.leave(region, edges, targets);
        }
        let (pieces, chunks) = (plan.leftover.len(), plan.per_chunk.len());
        if chunks > 0 {
            for (j, piece) in plan.leftover.drain(..).enumerate() {
                plan.per_chunk[j * chunks / pieces].push(piece);
            }
        }
        plan
    }

    /// Leaves `edges` out of the per-chunk pieces, in runs of at most a chunk's length.
    fn leave(&mut self, region: &Region, edges: &'a [HeaderPtr], targets: &'a mut [u32]) {
        let size = region.chunk_len();
        let runs = edges.chunks(size).zip(targets.chunks_mut(size));
        self.leftover
            .extend(runs.map(|(edges, targets)| Piece { edges, targets }));
    }
}

/// Where the edges of a member are guessed to lead: `offset` such that edge `k` is at position
/// `k + offset`, from the first of its first [`GUESS_FROM`] edges that is a member.
fn guess(region: &Region, edges: &[HeaderPtr]) -> Option<isize> {
    edges
        .iter()
        .take(GUESS_FROM)
        .enumerate()
        .find_map(|(k, edge)| Some(region.locate(edge.header())? as isize - k as isize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::structures::region::{flag_set, unflag_set};
    use crate::sync::Ordering;
    use crate::test_support::quiet_heap;
    use crate::{Gc, GcCell, Trace};

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    /// Where the edges of each of `pieces` lead (`NONE`: out of the region).
    fn positions(region: &Region, pieces: &[Piece<'_>]) -> Vec<Vec<u32>> {
        let position = |edge: &HeaderPtr| region.locate(edge.header()).map_or(NONE, |q| q as u32);
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
        let objects: Vec<HeaderPtr> = nodes.iter().map(|n| HeaderPtr(n.header_ptr())).collect();
        let listed = flag_set(&objects);
        // Chunks of 4 positions: 0..4, 4..8, 8..12, 12..16 and the last, 16..18, traced first;
        // chunk 0 traced meanwhile too, so chunks 1 to 3 are pending.
        let region = Region::flagged(&heap.inner, objects.clone(), 0).with_chunk(4);
        let edges = |positions: &mut dyn Iterator<Item = usize>| {
            Deferred(MemberEdges::Buffer(
                positions.map(|p| objects[p].0).collect(),
            ))
        };
        let deferred = [
            // In position order from position 2: guessed right.
            edges(&mut (2..18)),
            // In reverse order: guessed past the region, so all left over.
            edges(&mut (2..18).rev()),
            // The first edge leads out of the region: the guess comes from the second.
            Deferred(MemberEdges::Buffer(
                [outsider.header_ptr()]
                    .into_iter()
                    .chain((5..8).map(|p| objects[p].0))
                    .collect(),
            )),
        ];
        let mut targets: Vec<Vec<u32>> = deferred
            .iter()
            .map(|d| vec![NONE; d.0.edges().len()])
            .collect();
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
        // Each pending chunk gets the pieces guessed into it, then a share of the rest: the
        // first member's edges into chunk 0 (traced already) and into the last chunk, and all
        // of the second member's, in runs of a chunk's length.
        assert_eq!(
            in_chunk,
            [
                vec![
                    vec![4, 5, 6, 7],
                    vec![NONE, 5, 6, 7],
                    vec![2, 3],
                    vec![16, 17]
                ],
                vec![
                    vec![8, 9, 10, 11],
                    vec![17, 16, 15, 14],
                    vec![13, 12, 11, 10]
                ],
                vec![vec![12, 13, 14, 15], vec![9, 8, 7, 6], vec![5, 4, 3, 2]],
            ]
        );
        assert!(plan.leftover.is_empty());
        // Each chunk's worker decrements the slots of its own chunk at once and keeps the
        // other targets as remote edges, by stripe (two stripes: positions 0..10 and 10..18, as
        // `Stripes` rounds).
        let stripes = Stripes::new(2, region.len());
        let mut remote = Vec::new();
        for (i, pieces) in plan.per_chunk.into_iter().enumerate() {
            let mut chunk_remote = vec![Vec::new(), Vec::new()];
            let mut sink = Sink::Owner {
                own: region.chunk_range(i + 1),
                remote: &mut chunk_remote,
                stripes: &stripes,
            };
            for piece in pieces {
                piece.locate(&region, &mut sink);
            }
            remote.push(chunk_remote);
        }
        let slots: Vec<i32> = (0..18)
            .map(|p| region.slot(p).load(Ordering::Relaxed))
            .collect();
        assert_eq!(
            slots,
            [0, 0, 0, 0, -1, -2, -2, -2, -1, -1, -2, -2, -1, -1, -1, -1, 0, 0]
        );
        let stripe = |chunk: usize, s: usize| -> Vec<u32> {
            remote[chunk][s]
                .iter()
                .map(|&(q, times)| {
                    assert_eq!(times, 1);
                    q
                })
                .collect()
        };
        assert_eq!((stripe(0, 0), stripe(0, 1)), (vec![2, 3], vec![16, 17]));
        assert_eq!(
            (stripe(1, 0), stripe(1, 1)),
            (vec![], vec![17, 16, 15, 14, 13, 12])
        );
        assert_eq!(
            (stripe(2, 0), stripe(2, 1)),
            (vec![9, 8, 7, 6, 5, 4, 3, 2], vec![])
        );
        let reversed: Vec<u32> = (2..18).rev().collect();
        assert_eq!(targets[0], (2..18).collect::<Vec<u32>>());
        assert_eq!(targets[1], reversed);
        assert_eq!(targets[2], [NONE, 5, 6, 7]);
        unflag_set(&objects, &listed);
    }
}
