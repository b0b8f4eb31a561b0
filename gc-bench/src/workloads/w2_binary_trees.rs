//! W2: binary trees from the benchmarks game. For each depth in `(4..max_depth).step_by(2)`,
//! build and check `1 << (max_depth - depth + 4)` complete trees; collect at the end. No cycles:
//! this is the reference-counting fast path (allocation, clone-free construction, drop).
//!
//! Checksum: the per-depth sums of `check()` (nodes counted), folded in depth order.

use std::rc::Rc;
use std::sync::Arc;

use gc_core::{Gc, Heap, Mutator, Trace};

use super::{collections, gc_core_outcome, mix, tree_depths, tree_nodes, Outcome};

/// Sizes of W2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The benchmarks game's `max_depth` (exclusive bound of the depths).
    pub max_depth: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params { max_depth: 11 }
    }
}

impl Params {
    /// A size for tests.
    pub fn small() -> Self {
        Params { max_depth: 8 }
    }

    /// Objects allocated per run.
    pub fn objects(&self) -> u64 {
        tree_depths(self.max_depth)
            .map(|(depth, n)| n as u64 * tree_nodes(depth))
            .sum()
    }
}

/// A gc-core tree node.
#[derive(Trace)]
pub enum Tree {
    /// An inner node.
    Nested {
        /// Left subtree.
        left: Gc<Tree>,
        /// Right subtree.
        right: Gc<Tree>,
    },
    /// A leaf.
    End,
}

impl Tree {
    /// A complete tree of `depth`.
    pub fn build(m: &Mutator, depth: usize) -> Gc<Tree> {
        if depth == 0 {
            m.alloc(Tree::End)
        } else {
            m.alloc(Tree::Nested {
                left: Tree::build(m, depth - 1),
                right: Tree::build(m, depth - 1),
            })
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            Tree::Nested { left, right } => left.check() + right.check() + 1,
            Tree::End => 1,
        }
    }
}

/// The trees of one depth on gc-core: the sum of their checks.
pub fn gc_core_depth(m: &Mutator, depth: usize, iterations: usize) -> u64 {
    let mut check = 0;
    for _ in 0..iterations {
        check += Tree::build(m, depth).check();
    }
    m.safepoint();
    check
}

/// W2 on gc-core.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        checksum = mix(checksum, gc_core_depth(&m, depth, iterations));
    }
    gc_core_outcome(heap, before, m, checksum, p.objects())
}

/// A standard-library tree (`$Tree` on `$Ptr`), the trees of one depth on it (`$depth`) and
/// W2 on it, `$run`.
macro_rules! std_tree {
    ($Tree:ident, $Ptr:ident, $depth:ident, $run:ident) => {
        #[doc = concat!("An `", stringify!($Ptr), "` tree node.")]
        pub enum $Tree {
            /// An inner node.
            Nested {
                /// Left subtree.
                left: $Ptr<$Tree>,
                /// Right subtree.
                right: $Ptr<$Tree>,
            },
            /// A leaf.
            End,
        }

        impl $Tree {
            /// A complete tree of `depth`.
            pub fn build(depth: usize) -> $Ptr<$Tree> {
                if depth == 0 {
                    $Ptr::new($Tree::End)
                } else {
                    $Ptr::new($Tree::Nested {
                        left: $Tree::build(depth - 1),
                        right: $Tree::build(depth - 1),
                    })
                }
            }

            /// Nodes in the tree.
            pub fn check(&self) -> u64 {
                match self {
                    $Tree::Nested { left, right } => left.check() + right.check() + 1,
                    $Tree::End => 1,
                }
            }
        }

        #[doc = concat!("The trees of one depth with `", stringify!($Ptr), "`: the sum of their checks.")]
        pub fn $depth(depth: usize, iterations: usize) -> u64 {
            let mut check = 0;
            for _ in 0..iterations {
                check += $Tree::build(depth).check();
            }
            check
        }

        #[doc = concat!("W2 with `", stringify!($Ptr), "`.")]
        pub fn $run(p: &Params) -> Outcome {
            let mut checksum = 0;
            for (depth, iterations) in tree_depths(p.max_depth) {
                checksum = mix(checksum, $depth(depth, iterations));
            }
            Outcome::new(checksum, p.objects())
        }
    };
}

std_tree!(RcTree, Rc, rc_depth, rc);
std_tree!(ArcTree, Arc, arc_depth, arc);
