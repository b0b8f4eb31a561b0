//! W8: parallel binary trees. The depths of W2 are dealt round-robin to `threads` threads (one
//! thread per depth when there are as many threads as depths), each building and checking its
//! trees. Atomic reference counting under parallelism; compared with `Arc`.
//!
//! Checksum: the per-depth sums, folded in depth order (as W2, so equal for any thread count).

use gc_core::Heap;

use super::w2_binary_trees::{arc_depth, gc_core_depth};
use super::{collections, gc_core_outcome, mix, tree_depths, Outcome};

/// Sizes of W8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// As W2's `max_depth`.
    pub max_depth: usize,
    /// Threads building trees.
    pub threads: usize,
}

impl Params {
    /// The default size with `threads` threads.
    pub fn with_threads(threads: usize) -> Self {
        Params {
            max_depth: 11,
            threads,
        }
    }

    /// A size for tests.
    pub fn small(threads: usize) -> Self {
        Params {
            max_depth: 8,
            threads,
        }
    }

    /// Objects allocated per run.
    pub fn objects(&self) -> u64 {
        super::w2_binary_trees::Params {
            max_depth: self.max_depth,
        }
        .objects()
    }
}

/// Runs `per_depth(depth, iterations)` for every depth, dealt round-robin over `threads`
/// scoped threads, each first making its context with `ctx()`. Returns the per-depth results
/// in depth order.
pub fn spread<C, F, G>(max_depth: usize, threads: usize, ctx: G, per_depth: F) -> Vec<u64>
where
    G: Fn() -> C + Sync,
    F: Fn(&C, usize, usize) -> u64 + Sync,
{
    let depths: Vec<(usize, usize)> = tree_depths(max_depth).collect();
    let mut results = vec![0u64; depths.len()];
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|t| {
                let (depths, ctx, per_depth) = (&depths, &ctx, &per_depth);
                s.spawn(move || {
                    let ctx = ctx();
                    depths
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads.max(1))
                        .map(|(k, &(depth, n))| (k, per_depth(&ctx, depth, n)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for w in workers {
            for (k, check) in w.join().expect("a W8 worker panicked") {
                results[k] = check;
            }
        }
    });
    results
}

fn fold(results: &[u64]) -> u64 {
    results.iter().fold(0, |acc, &c| mix(acc, c))
}

/// W8 on gc-core: every thread attaches to `heap`; a final collection runs at the end.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let results = spread(p.max_depth, p.threads, || heap.attach(), gc_core_depth);
    gc_core_outcome(heap, before, (), fold(&results), p.objects())
}

/// W8 with `Arc`.
pub fn arc(p: &Params) -> Outcome {
    let results = spread(
        p.max_depth,
        p.threads,
        || (),
        |_, depth, n| arc_depth(depth, n),
    );
    Outcome::new(fold(&results), p.objects())
}

/// Folds per-depth results as every W8 implementation does.
pub fn checksum(results: &[u64]) -> u64 {
    fold(results)
}
