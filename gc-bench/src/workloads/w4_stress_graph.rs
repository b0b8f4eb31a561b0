//! W4: rust-cc's (originally shredder's) stress test. 32,769 labelled nodes with a vector of
//! edges, 32,769 random edges; then, for `i` in `0..32,768`, every 1,024th step truncates the
//! root list to `32,768 - i` nodes and runs a full collection (32 collections), then a final one.
//! Repeated collections over a large, mostly surviving heap. No `Rc`/`Arc` version: the random
//! cycles cannot be broken with weak edges.
//!
//! Checksum: after each truncation, the number of roots and the edge count of the last root.

use gc_core::{Gc, GcCell, Heap, Trace};

use super::{below, collections, gc_core_outcome, mix, rng, Outcome, SEED};

/// Sizes of W4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Nodes are `0..=nodes`.
    pub nodes: usize,
    /// Edges are `0..=edges`.
    pub edges: usize,
    /// A truncation and collection every this many steps.
    pub shrink_every: usize,
    /// Seed of the edge choice.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            nodes: 1 << 15,
            edges: 1 << 15,
            shrink_every: 1 << 10,
            seed: SEED,
        }
    }
}

impl Params {
    /// A size for tests.
    pub fn small() -> Self {
        Params {
            nodes: 1 << 11,
            edges: 1 << 11,
            shrink_every: 1 << 7,
            seed: SEED,
        }
    }

    /// Nodes and edges created per run.
    pub fn objects(&self) -> u64 {
        (self.nodes + 1 + self.edges + 1) as u64
    }
}

/// The random edges of a run, `(from, to)` indices into the initial node list, in order.
pub fn edge_list(p: &Params) -> Vec<(usize, usize)> {
    let mut rng = rng(p.seed);
    let len = p.nodes + 1;
    (0..=p.edges)
        .map(|_| {
            let a = below(&mut rng, len);
            let b = below(&mut rng, len);
            (a, b)
        })
        .collect()
}

/// The sizes the root list is truncated to, in order.
pub fn truncations(p: &Params) -> impl Iterator<Item = usize> {
    let (nodes, every) = (p.nodes, p.shrink_every);
    (0..nodes)
        .filter(move |i| i % every == 0)
        .map(move |i| nodes - i)
}

/// The label of node `i`.
pub fn label(i: usize) -> String {
    format!("Node {i}")
}

/// A gc-core graph node.
#[derive(Trace)]
pub struct Node {
    /// A label, as the original benchmark has.
    pub label: String,
    /// Outgoing edges.
    pub edges: GcCell<Vec<Gc<Node>>>,
}

/// W4 on gc-core. The edge list is drawn inside, as the peers do.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let mut rng = rng(p.seed);
    let mut nodes: Vec<Gc<Node>> = (0..=p.nodes)
        .map(|i| {
            m.alloc(Node {
                label: label(i),
                edges: GcCell::new(Vec::new()),
            })
        })
        .collect();
    for _ in 0..=p.edges {
        let a = below(&mut rng, nodes.len());
        let b = below(&mut rng, nodes.len());
        let target = nodes[b].clone();
        nodes[a].edges.borrow_mut().push(target);
    }
    let mut checksum = 0;
    for keep in truncations(p) {
        nodes.truncate(keep);
        heap.collect();
        checksum = mix(checksum, nodes.len() as u64);
        checksum = mix(
            checksum,
            nodes.last().map_or(0, |n| n.edges.borrow().len()) as u64,
        );
    }
    drop(nodes);
    gc_core_outcome(heap, before, m, checksum, p.objects())
}

/// The checksum W4 must produce, computed without any collector: replays the truncations on
/// plain indices. Used to verify every implementation.
pub fn expected(p: &Params) -> Outcome {
    let mut out_degree = vec![0u64; p.nodes + 1];
    for (a, _) in edge_list(p) {
        out_degree[a] += 1;
    }
    let mut checksum = 0;
    for keep in truncations(p) {
        checksum = mix(checksum, keep as u64);
        checksum = mix(checksum, if keep == 0 { 0 } else { out_degree[keep - 1] });
    }
    Outcome::new(checksum, p.objects())
}
