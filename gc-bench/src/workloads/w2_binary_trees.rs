//! W2: binary trees from the benchmarks game. For each depth in `(4..max_depth).step_by(2)`,
//! build and check `1 << (max_depth - depth + 4)` complete trees; collect at the end. No cycles:
//! this is the reference-counting fast path (allocation, clone-free construction, drop).
//!
//! Checksum: the per-depth sums of `check()` (nodes counted), folded in depth order.

use std::rc::Rc;
use std::sync::Arc;

use gc_core::{Gc, Heap, Mutator, Trace};

use super::{collections, mix, tree_depths, tree_nodes, Outcome};

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
    let collected = heap.collect() as u64;
    drop(m);
    Outcome {
        checksum,
        ops: p.objects(),
        collections: collections(heap) - before,
        collected,
        ..Outcome::default()
    }
}

/// An `Rc` tree node.
pub enum RcTree {
    /// An inner node.
    Nested {
        /// Left subtree.
        left: Rc<RcTree>,
        /// Right subtree.
        right: Rc<RcTree>,
    },
    /// A leaf.
    End,
}

impl RcTree {
    /// A complete tree of `depth`.
    pub fn build(depth: usize) -> Rc<RcTree> {
        if depth == 0 {
            Rc::new(RcTree::End)
        } else {
            Rc::new(RcTree::Nested {
                left: RcTree::build(depth - 1),
                right: RcTree::build(depth - 1),
            })
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            RcTree::Nested { left, right } => left.check() + right.check() + 1,
            RcTree::End => 1,
        }
    }
}

/// W2 with `Rc`.
pub fn rc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        let mut check = 0;
        for _ in 0..iterations {
            check += RcTree::build(depth).check();
        }
        checksum = mix(checksum, check);
    }
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

/// An `Arc` tree node.
pub enum ArcTree {
    /// An inner node.
    Nested {
        /// Left subtree.
        left: Arc<ArcTree>,
        /// Right subtree.
        right: Arc<ArcTree>,
    },
    /// A leaf.
    End,
}

impl ArcTree {
    /// A complete tree of `depth`.
    pub fn build(depth: usize) -> Arc<ArcTree> {
        if depth == 0 {
            Arc::new(ArcTree::End)
        } else {
            Arc::new(ArcTree::Nested {
                left: ArcTree::build(depth - 1),
                right: ArcTree::build(depth - 1),
            })
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            ArcTree::Nested { left, right } => left.check() + right.check() + 1,
            ArcTree::End => 1,
        }
    }
}

/// The trees of one depth with `Arc`: the sum of their checks.
pub fn arc_depth(depth: usize, iterations: usize) -> u64 {
    let mut check = 0;
    for _ in 0..iterations {
        check += ArcTree::build(depth).check();
    }
    check
}

/// W2 with `Arc`.
pub fn arc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        checksum = mix(checksum, arc_depth(depth, iterations));
    }
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}
