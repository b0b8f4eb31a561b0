//! The specification: trial deletion over a set of members written as CPython's `gc.c` writes
//! it, with nothing in it for speed — `update_refs`, `subtract_refs` and the reachability mark,
//! over a map from member to `gc_refs`, tracing every member afresh each time it needs its
//! edges. The phases of the collector are tested against it on random graphs (below): the same
//! `gc_refs` after phase 2 and the same reachable set after phase 3, sequential and parallel.
//!
//! ```text
//!  update_refs:    gc_refs[m] = strong count of m (less the collector's holds)
//!  subtract_refs:  for every edge m → t between members, gc_refs[t] -= 1
//!  mark:           every member with gc_refs > 0 is a root; everything reachable is marked
//! ```
//!
//! A member is a root whatever its edges say when its count cannot be trusted or its edges
//! cannot be read: it is dying (count 0, or its value being dropped), immortal, or holds a cell
//! borrowed for writing. Such a member is still traced for the mark when it can be read.

use std::collections::HashMap;

use core::ptr::NonNull;

use crate::header::{flag, Header, HeaderPtr};
use crate::trace::Tracer;

/// A strong count this large is not trusted: the member is a root (counts saturate towards
/// immortality at 2^31).
const TOO_MANY: u32 = 1 << 30;

/// What trial deletion says of each member, in the order given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// `gc_refs` after `subtract_refs`; `None` for a member that is a root whatever its edges
    /// say.
    pub(crate) gc_refs: Vec<Option<i64>>,
    /// Reachable from a root: survives.
    pub(crate) reachable: Vec<bool>,
}

/// Trial deletion over `members`, each carrying `held` strong references of the collector's.
/// The world is stopped.
pub(crate) fn trial_deletion(members: &[HeaderPtr], held: u32) -> Verdict {
    let position: HashMap<NonNull<Header>, usize> =
        members.iter().enumerate().map(|(i, m)| (m.0, i)).collect();
    // The member's edges to members, or `None` if it cannot be read.
    let edges_of = |m: &HeaderPtr| -> Option<Vec<usize>> {
        let header = m.header();
        if header.has(flag::DROPPED) {
            return None;
        }
        let mut buffer = Vec::new();
        // SAFETY: the world is stopped while the edges are used.
        let mut tracer = unsafe { Tracer::collecting(&mut buffer) };
        // SAFETY: members are alive, values intact unless `DROPPED`; the world is stopped.
        unsafe { (header.vtable.trace)(m.0.as_ptr(), &mut tracer) };
        if tracer.blocked() {
            return None;
        }
        Some(
            tracer
                .traced()
                .iter()
                .filter_map(|edge| position.get(edge).copied())
                .collect(),
        )
    };
    // update_refs
    let mut gc_refs: Vec<Option<i64>> = members
        .iter()
        .map(|m| {
            let strong = m.header().strong_count();
            let trusted = strong != 0 && strong < TOO_MANY;
            trusted.then(|| i64::from(strong) - i64::from(held))
        })
        .collect();
    for (i, m) in members.iter().enumerate() {
        if edges_of(m).is_none() {
            gc_refs[i] = None;
        }
    }
    // subtract_refs
    for m in members {
        for t in edges_of(m).unwrap_or_default() {
            if let Some(refs) = &mut gc_refs[t] {
                *refs -= 1;
            }
        }
    }
    // mark
    let mut reachable = vec![false; members.len()];
    let mut work: Vec<usize> = (0..members.len())
        .filter(|&i| gc_refs[i].is_none_or(|refs| refs > 0))
        .collect();
    while let Some(i) = work.pop() {
        if reachable[i] {
            continue;
        }
        reachable[i] = true;
        work.extend(edges_of(&members[i]).unwrap_or_default());
    }
    Verdict { gc_refs, reachable }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::collector::phase1_gather;
    use crate::collector::phase2_subtract_refs as subtract_refs;
    use crate::collector::phase3_mark as mark;
    use crate::collector::structures::edge_log::EdgeLog;
    use crate::collector::structures::region::{MARKED, ROOT};
    use crate::sync::Ordering;
    use crate::{Config, Gc, GcCell, Heap, Trace};

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Vec<Gc<Node>>>,
    }

    /// A random graph: `nodes` nodes, edges as (from, to) pairs (repeats allowed), the nodes
    /// held from outside, and whether the first node has very many edges (a "wide" member).
    #[derive(Debug, Clone)]
    struct Graph {
        nodes: usize,
        edges: Vec<(usize, usize)>,
        roots: Vec<usize>,
        wide: bool,
    }

    fn graphs() -> impl Strategy<Value = Graph> {
        let max: usize = if cfg!(miri) { 12 } else { 300 };
        (1..max)
            .prop_flat_map(|nodes| {
                (
                    Just(nodes),
                    proptest::collection::vec((0..nodes, 0..nodes), 0..3 * nodes),
                    proptest::collection::vec(0..nodes, 0..nodes / 4 + 1),
                    any::<bool>(),
                )
            })
            .prop_map(|(nodes, edges, roots, wide)| Graph {
                nodes,
                edges,
                roots,
                wide: wide && !cfg!(miri),
            })
    }

    /// Builds `graph` on `heap`, in generation 0; returns the handles held from outside (the
    /// other nodes are garbage, or died already).
    fn build(heap: &Heap, graph: &Graph) -> Vec<Gc<Node>> {
        let nodes: Vec<Gc<Node>> = (0..graph.nodes)
            .map(|_| {
                heap.alloc(Node {
                    edges: GcCell::new(Vec::new()),
                })
            })
            .collect();
        for &(from, to) in &graph.edges {
            nodes[from].edges.borrow_mut().push(nodes[to].clone());
        }
        if graph.wide {
            // More edges than a member is traced with in one go: located piece by piece.
            let many = 5 * crate::collector::structures::region::CHUNK;
            let targets = (0..many).map(|k| nodes[k % graph.nodes].clone());
            nodes[0].edges.borrow_mut().extend(targets);
        }
        graph.roots.iter().map(|&r| nodes[r].clone()).collect()
    }

    /// Runs phases 1 to 3 on `heap`'s generation 0 (chunks of `chunk` positions) and the
    /// specification on the same members; asserts they agree, and gives the lists back.
    fn agree(heap: &Heap, chunk: usize) {
        let inner = &heap.inner;
        let stopped = crate::world::stop(None).unwrap();
        let region = phase1_gather::run(inner, 0, 1, &stopped).with_chunk(chunk);
        let members: Vec<HeaderPtr> = region.members().map(|(_, m)| m).collect();
        let spec = trial_deletion(&members, 0);
        let mut log = EdgeLog::new(region.len(), region.chunk_len());
        subtract_refs::run(inner, &region, &mut log);
        let gc_refs: Vec<Option<i64>> = (0..region.len())
            .map(|p| {
                let refs = region.slot(p).load(Ordering::Relaxed);
                (refs < ROOT / 2).then_some(i64::from(refs))
            })
            .collect();
        mark::run(inner, &region, &log).expect("no member overcounted");
        let reachable: Vec<bool> = (0..region.len())
            .map(|p| region.slot(p).load(Ordering::Relaxed) == MARKED)
            .collect();
        log.give_back(inner);
        phase1_gather::put_back(inner, region.into_segments(inner));
        drop(stopped);
        assert_eq!(Verdict { gc_refs, reachable }, spec);
    }

    fn cases() -> ProptestConfig {
        if cfg!(miri) {
            // Few cases, and no file of failures: Miri's isolation has no working directory.
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::with_cases(3)
            }
        } else {
            ProptestConfig::with_cases(48)
        }
    }

    fn heap(workers: usize) -> Heap {
        let config = Config::default().workers(workers).parallel_cutoff(1);
        let heap = Heap::with_config(config).expect("a valid configuration");
        heap.disable();
        heap
    }

    proptest! {
        #![proptest_config(cases())]

        #[test]
        fn the_sequential_phases_agree_with_the_specification(graph in graphs(), chunk in 0..4u32) {
            let heap = heap(1);
            let roots = build(&heap, &graph);
            agree(&heap, 4 << (3 * chunk));
            drop(roots);
        }

        #[test]
        fn the_parallel_phases_on_workers_agree_with_the_specification(graph in graphs(), chunk in 0..4u32) {
            let heap = heap(2);
            let roots = build(&heap, &graph);
            agree(&heap, 4 << (3 * chunk));
            drop(roots);
        }
    }
}
