//! The benchmark workloads W1–W8 and W11 (gc-bench's README describes them).
//!
//! One module per workload. Each has a `Params` struct (`Default` is the size the README
//! gives; `small()` is a size for tests) and one function per implementation:
//!
//! - `gc_core(&Heap, &Params) -> Outcome`: the workload on a gc-core heap. The function attaches
//!   the calling thread (multi-threaded ones attach each worker) and ends with the collection the
//!   workload prescribes, so after it returns nothing the workload made is left on the heap.
//! - `rc(&Params)` / `arc(&Params)`: the standard-library baselines, with `Weak` back edges
//!   where the shape allows it (W5/W6 cannot break their random cycles and leak them, as the
//!   dumpster benchmark's `Arc` baseline does).
//!
//! Every implementation of a workload computes the same [`Outcome::checksum`] and
//! [`Outcome::ops`] for the same parameters (single-threaded runs; the interleaving of threads
//! changes multi-threaded checksums), which the tests assert. Random choices come from a seeded
//! [`Rng`], so every implementation sees the same sequence.

use gc_core::Heap;
use rand::{RngExt, SeedableRng};

pub mod w11_shared_globals;
pub mod w1_linked_lists;
pub mod w2_binary_trees;
pub mod w3_parent_trees;
pub mod w4_stress_graph;
pub mod w5_churn;
pub mod w6_threaded_churn;
pub mod w7_self_cycles;
pub mod w8_parallel_trees;

/// The seeded random number generator every workload uses.
pub type Rng = rand_chacha::ChaCha8Rng;

/// The default seed of the randomized workloads.
pub const SEED: u64 = 0xCAFE;

/// A generator seeded with `seed`.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// A uniformly chosen index in `0..n` (`n > 0`).
#[inline]
pub fn below(rng: &mut Rng, n: usize) -> usize {
    rng.random_range(0..n)
}

/// Folds `value` into an order-sensitive checksum.
#[inline]
pub fn mix(acc: u64, value: u64) -> u64 {
    (acc ^ value).wrapping_mul(0x0000_0100_0000_01b3)
}

/// What a workload run reports, so runs can be compared across implementations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// A workload-defined checksum of values read through the handles; equal across
    /// implementations for the same parameters (single-threaded).
    pub checksum: u64,
    /// Work done: objects allocated, or operations performed (churn workloads).
    pub ops: u64,
    /// Collections that ran during the workload, automatic and explicit (gc-core only; 0 for
    /// the baselines).
    pub collections: u64,
    /// Objects the final collection found unreachable (gc-core only).
    pub collected: u64,
    /// Largest gen-0 count sampled during the run (W7 on gc-core; 0 elsewhere).
    pub peak_young: u64,
}

impl Outcome {
    /// An outcome with only a checksum and a work count (the baselines and peers).
    #[inline]
    pub fn new(checksum: u64, ops: u64) -> Self {
        Outcome {
            checksum,
            ops,
            ..Outcome::default()
        }
    }

    /// The parts every implementation must agree on.
    pub fn comparable(&self) -> (u64, u64) {
        (self.checksum, self.ops)
    }
}

/// Ends a gc-core run: the final collection on `heap`, then `mutator` (the run's attached
/// mutator, or `()`) is dropped; `before` is [`collections`] at the start of the run.
pub fn gc_core_outcome<M>(
    heap: &Heap,
    before: u64,
    mutator: M,
    checksum: u64,
    ops: u64,
) -> Outcome {
    let collected = heap.collect() as u64;
    drop(mutator);
    Outcome {
        checksum,
        ops,
        collections: collections(heap) - before,
        collected,
        ..Outcome::default()
    }
}

/// Collections run on `heap` so far, all generations together.
pub fn collections(heap: &Heap) -> u64 {
    heap.stats().iter().map(|s| s.collections).sum()
}

/// The depths and iteration counts of the binary-trees benchmark (W2, W3, W8):
/// `for depth in (4..max_depth).step_by(2)`, `1 << (max_depth - depth + 4)` trees each.
pub fn tree_depths(max_depth: usize) -> impl Iterator<Item = (usize, usize)> {
    (MIN_TREE_DEPTH..max_depth)
        .step_by(2)
        .map(move |depth| (depth, 1usize << (max_depth - depth + MIN_TREE_DEPTH)))
}

/// The smallest tree depth of the binary-trees benchmark.
pub const MIN_TREE_DEPTH: usize = 4;

/// Objects in a complete binary tree of `depth` (a lone leaf has depth 0).
pub fn tree_nodes(depth: usize) -> u64 {
    (1u64 << (depth + 1)) - 1
}
