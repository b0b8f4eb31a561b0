//! W3: W2 where every nested node also points back at its parent through a cell, so every tree
//! is one garbage cycle once dropped (many small cycles). Shaped as rust-cc's
//! `binary_trees_with_parent_pointers`: the root has no parent slot, nested nodes do, leaves are
//! plain.
//!
//! Checksum: as W2 (nodes counted by `check()`, which, as in rust-cc's benchmark, follows only
//! the child links).

use std::cell::RefCell;
use std::rc::{Rc, Weak as RcWeak};
use std::sync::{Arc, Mutex, Weak as ArcWeak};

use gc_core::{Gc, GcCell, Heap, Mutator, Trace};

use super::{collections, gc_core_outcome, mix, tree_depths, tree_nodes, Outcome};

/// Sizes of W3 (as W2).
pub type Params = super::w2_binary_trees::Params;

/// Objects allocated per run of W3.
pub fn objects(p: &Params) -> u64 {
    tree_depths(p.max_depth)
        .map(|(depth, n)| n as u64 * tree_nodes(depth))
        .sum()
}

/// A gc-core tree node with a parent pointer.
#[derive(Trace)]
pub enum Tree {
    /// The root of a tree.
    Root {
        /// Left subtree.
        left: Gc<Tree>,
        /// Right subtree.
        right: Gc<Tree>,
    },
    /// An inner node below the root.
    Nested {
        /// The parent, set right after the parent is allocated.
        parent: GcCell<Option<Gc<Tree>>>,
        /// Left subtree.
        left: Gc<Tree>,
        /// Right subtree.
        right: Gc<Tree>,
    },
    /// A leaf.
    End,
}

impl Tree {
    /// A tree of `depth` with parent links.
    pub fn build(m: &Mutator, depth: usize) -> Gc<Tree> {
        if depth == 0 {
            return m.alloc(Tree::End);
        }
        let root = m.alloc(Tree::Root {
            left: Tree::nested(m, depth - 1),
            right: Tree::nested(m, depth - 1),
        });
        if let Tree::Root { left, right } = &*root {
            left.adopt(&root);
            right.adopt(&root);
        }
        root
    }

    fn nested(m: &Mutator, depth: usize) -> Gc<Tree> {
        if depth == 0 {
            return m.alloc(Tree::End);
        }
        let node = m.alloc(Tree::Nested {
            parent: GcCell::new(None),
            left: Tree::nested(m, depth - 1),
            right: Tree::nested(m, depth - 1),
        });
        if let Tree::Nested { left, right, .. } = &*node {
            left.adopt(&node);
            right.adopt(&node);
        }
        node
    }

    fn adopt(&self, parent: &Gc<Tree>) {
        if let Tree::Nested { parent: slot, .. } = self {
            slot.set(Some(parent.clone()));
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            Tree::Root { left, right } => left.check() + right.check() + 1,
            Tree::Nested { left, right, .. } => left.check() + right.check() + 1,
            Tree::End => 1,
        }
    }
}

/// W3 on gc-core.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        let mut check = 0;
        for _ in 0..iterations {
            check += Tree::build(&m, depth).check();
        }
        checksum = mix(checksum, check);
        m.safepoint();
    }
    gc_core_outcome(heap, before, m, checksum, objects(p))
}

/// A standard-library parent-linked tree (`$Tree` on `$Ptr`, parent `$Weak` in `$Cell`,
/// written through `$write`) and W3 on it, `$run`.
macro_rules! std_ptree {
    ($Tree:ident, $Ptr:ident, $Weak:ident, $Cell:ident, |$slot:ident| $write:expr, $run:ident) => {
        #[doc = concat!("An `", stringify!($Ptr), "` tree node with a weak parent pointer.")]
        pub enum $Tree {
            /// The root of a tree.
            Root {
                /// Left subtree.
                left: $Ptr<$Tree>,
                /// Right subtree.
                right: $Ptr<$Tree>,
            },
            /// An inner node below the root.
            Nested {
                /// The parent.
                parent: $Cell<Option<$Weak<$Tree>>>,
                /// Left subtree.
                left: $Ptr<$Tree>,
                /// Right subtree.
                right: $Ptr<$Tree>,
            },
            /// A leaf.
            End,
        }

        impl $Tree {
            /// A tree of `depth` with parent links.
            pub fn build(depth: usize) -> $Ptr<$Tree> {
                if depth == 0 {
                    return $Ptr::new($Tree::End);
                }
                let root = $Ptr::new($Tree::Root {
                    left: $Tree::nested(depth - 1),
                    right: $Tree::nested(depth - 1),
                });
                if let $Tree::Root { left, right } = &*root {
                    left.adopt(&root);
                    right.adopt(&root);
                }
                root
            }

            fn nested(depth: usize) -> $Ptr<$Tree> {
                if depth == 0 {
                    return $Ptr::new($Tree::End);
                }
                let node = $Ptr::new($Tree::Nested {
                    parent: $Cell::new(None),
                    left: $Tree::nested(depth - 1),
                    right: $Tree::nested(depth - 1),
                });
                if let $Tree::Nested { left, right, .. } = &*node {
                    left.adopt(&node);
                    right.adopt(&node);
                }
                node
            }

            fn adopt(&self, parent: &$Ptr<$Tree>) {
                if let $Tree::Nested { parent: $slot, .. } = self {
                    *$write = Some($Ptr::downgrade(parent));
                }
            }

            /// Nodes in the tree.
            pub fn check(&self) -> u64 {
                match self {
                    $Tree::Root { left, right } => left.check() + right.check() + 1,
                    $Tree::Nested { left, right, .. } => left.check() + right.check() + 1,
                    $Tree::End => 1,
                }
            }
        }

        #[doc = concat!("W3 with `", stringify!($Ptr), "` and weak parent pointers.")]
        pub fn $run(p: &Params) -> Outcome {
            let mut checksum = 0;
            for (depth, iterations) in tree_depths(p.max_depth) {
                let mut check = 0;
                for _ in 0..iterations {
                    check += $Tree::build(depth).check();
                }
                checksum = mix(checksum, check);
            }
            Outcome::new(checksum, objects(p))
        }
    };
}

std_ptree!(RcTree, Rc, RcWeak, RefCell, |slot| slot.borrow_mut(), rc);
std_ptree!(
    ArcTree,
    Arc,
    ArcWeak,
    Mutex,
    |slot| slot.lock().unwrap(),
    arc
);
