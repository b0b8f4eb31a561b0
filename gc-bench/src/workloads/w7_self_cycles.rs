//! W7: self-cycle churn. Each iteration allocates a node, points it at itself and drops it, so
//! every node becomes garbage only the cycle collector can free. The automatic trigger must keep
//! up: memory stays flat. The full run (8,000,000 iterations, with peak RSS) belongs to the
//! `gc-bench` binary; the criterion bench runs a reduced count.
//!
//! Checksum: the ids of the nodes, read back through the self edge.

use std::cell::RefCell;
use std::rc::{Rc, Weak as RcWeak};

use gc_core::{Gc, GcCell, Heap, Trace};

use super::{collections, gc_core_outcome, mix, Outcome};

/// Sizes of W7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Nodes allocated.
    pub iterations: usize,
    /// Sample the gen-0 count every this many iterations (0: never).
    pub sample_every: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            iterations: 8_000_000,
            sample_every: 4096,
        }
    }
}

impl Params {
    /// The reduced count the criterion bench runs.
    pub fn bench() -> Self {
        Params {
            iterations: 200_000,
            sample_every: 0,
        }
    }

    /// A size for tests.
    pub fn small() -> Self {
        Params {
            iterations: 50_000,
            sample_every: 512,
        }
    }
}

/// A gc-core node that points at itself.
#[derive(Trace)]
pub struct Node {
    /// The node's id.
    pub id: u64,
    /// The self edge.
    pub me: GcCell<Option<Gc<Node>>>,
}

/// W7 on gc-core: the automatic trigger does the work; a final collection runs at the end.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let mut checksum = 0;
    let mut peak_young = 0;
    for i in 0..p.iterations {
        let node = m.alloc(Node {
            id: i as u64,
            me: GcCell::new(None),
        });
        node.me.set(Some(node.clone()));
        checksum = mix(
            checksum,
            node.me.borrow().as_ref().map_or(u64::MAX, |n| n.id),
        );
        drop(node);
        if p.sample_every > 0 && i % p.sample_every == 0 {
            peak_young = peak_young.max(heap.count()[0] as u64);
        }
    }
    Outcome {
        peak_young,
        ..gc_core_outcome(heap, before, m, checksum, p.iterations as u64)
    }
}

/// An `Rc` node whose self edge is weak (no cycle forms).
pub struct RcNode {
    /// The node's id.
    pub id: u64,
    /// The self edge.
    pub me: RefCell<Option<RcWeak<RcNode>>>,
}

/// W7 with `Rc` and a weak self edge.
pub fn rc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for i in 0..p.iterations {
        let node = Rc::new(RcNode {
            id: i as u64,
            me: RefCell::new(None),
        });
        *node.me.borrow_mut() = Some(Rc::downgrade(&node));
        let id = node
            .me
            .borrow()
            .as_ref()
            .and_then(RcWeak::upgrade)
            .map_or(u64::MAX, |n| n.id);
        checksum = mix(checksum, id);
    }
    Outcome::new(checksum, p.iterations as u64)
}
