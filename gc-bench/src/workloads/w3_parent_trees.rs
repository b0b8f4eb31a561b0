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

use super::{collections, mix, tree_depths, tree_nodes, Outcome};

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
    let collected = heap.collect() as u64;
    drop(m);
    Outcome {
        checksum,
        ops: objects(p),
        collections: collections(heap) - before,
        collected,
        ..Outcome::default()
    }
}

/// An `Rc` tree node with a weak parent pointer.
pub enum RcTree {
    /// The root of a tree.
    Root {
        /// Left subtree.
        left: Rc<RcTree>,
        /// Right subtree.
        right: Rc<RcTree>,
    },
    /// An inner node below the root.
    Nested {
        /// The parent.
        parent: RefCell<Option<RcWeak<RcTree>>>,
        /// Left subtree.
        left: Rc<RcTree>,
        /// Right subtree.
        right: Rc<RcTree>,
    },
    /// A leaf.
    End,
}

impl RcTree {
    /// A tree of `depth` with parent links.
    pub fn build(depth: usize) -> Rc<RcTree> {
        if depth == 0 {
            return Rc::new(RcTree::End);
        }
        let root = Rc::new(RcTree::Root {
            left: RcTree::nested(depth - 1),
            right: RcTree::nested(depth - 1),
        });
        if let RcTree::Root { left, right } = &*root {
            left.adopt(&root);
            right.adopt(&root);
        }
        root
    }

    fn nested(depth: usize) -> Rc<RcTree> {
        if depth == 0 {
            return Rc::new(RcTree::End);
        }
        let node = Rc::new(RcTree::Nested {
            parent: RefCell::new(None),
            left: RcTree::nested(depth - 1),
            right: RcTree::nested(depth - 1),
        });
        if let RcTree::Nested { left, right, .. } = &*node {
            left.adopt(&node);
            right.adopt(&node);
        }
        node
    }

    fn adopt(&self, parent: &Rc<RcTree>) {
        if let RcTree::Nested { parent: slot, .. } = self {
            *slot.borrow_mut() = Some(Rc::downgrade(parent));
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            RcTree::Root { left, right } => left.check() + right.check() + 1,
            RcTree::Nested { left, right, .. } => left.check() + right.check() + 1,
            RcTree::End => 1,
        }
    }
}

/// W3 with `Rc` and weak parent pointers.
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
        ops: objects(p),
        ..Outcome::default()
    }
}

/// An `Arc` tree node with a weak parent pointer.
pub enum ArcTree {
    /// The root of a tree.
    Root {
        /// Left subtree.
        left: Arc<ArcTree>,
        /// Right subtree.
        right: Arc<ArcTree>,
    },
    /// An inner node below the root.
    Nested {
        /// The parent.
        parent: Mutex<Option<ArcWeak<ArcTree>>>,
        /// Left subtree.
        left: Arc<ArcTree>,
        /// Right subtree.
        right: Arc<ArcTree>,
    },
    /// A leaf.
    End,
}

impl ArcTree {
    /// A tree of `depth` with parent links.
    pub fn build(depth: usize) -> Arc<ArcTree> {
        if depth == 0 {
            return Arc::new(ArcTree::End);
        }
        let root = Arc::new(ArcTree::Root {
            left: ArcTree::nested(depth - 1),
            right: ArcTree::nested(depth - 1),
        });
        if let ArcTree::Root { left, right } = &*root {
            left.adopt(&root);
            right.adopt(&root);
        }
        root
    }

    fn nested(depth: usize) -> Arc<ArcTree> {
        if depth == 0 {
            return Arc::new(ArcTree::End);
        }
        let node = Arc::new(ArcTree::Nested {
            parent: Mutex::new(None),
            left: ArcTree::nested(depth - 1),
            right: ArcTree::nested(depth - 1),
        });
        if let ArcTree::Nested { left, right, .. } = &*node {
            left.adopt(&node);
            right.adopt(&node);
        }
        node
    }

    fn adopt(&self, parent: &Arc<ArcTree>) {
        if let ArcTree::Nested { parent: slot, .. } = self {
            *slot.lock().unwrap() = Some(Arc::downgrade(parent));
        }
    }

    /// Nodes in the tree.
    pub fn check(&self) -> u64 {
        match self {
            ArcTree::Root { left, right } => left.check() + right.check() + 1,
            ArcTree::Nested { left, right, .. } => left.check() + right.check() + 1,
            ArcTree::End => 1,
        }
    }
}

/// W3 with `Arc` and weak parent pointers.
pub fn arc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for (depth, iterations) in tree_depths(p.max_depth) {
        let mut check = 0;
        for _ in 0..iterations {
            check += ArcTree::build(depth).check();
        }
        checksum = mix(checksum, check);
    }
    Outcome {
        checksum,
        ops: objects(p),
        ..Outcome::default()
    }
}
