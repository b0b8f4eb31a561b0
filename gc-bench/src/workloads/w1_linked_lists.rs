//! W1: doubly linked lists (30 × 4,096 nodes). `next` is strong, `previous` goes through a cell;
//! each list becomes one large garbage cycle when the next one starts, and one collection runs
//! at the end. Measures one deep trace and drop per list, and allocation.
//!
//! Checksum: the length of every list, walked from its head, folded in list order.

use std::cell::RefCell;
use std::rc::{Rc, Weak as RcWeak};
use std::sync::{Arc, Mutex, Weak as ArcWeak};

use gc_core::{Gc, GcCell, Heap, Trace};

use super::{collections, mix, Outcome};

/// Sizes of W1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Lists built one after the other.
    pub lists: usize,
    /// Nodes per list (the `Nil` end not counted).
    pub nodes: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            lists: 30,
            nodes: 4096,
        }
    }
}

impl Params {
    /// A size for tests.
    pub fn small() -> Self {
        Params {
            lists: 3,
            nodes: 300,
        }
    }

    /// Objects allocated per run (the `Nil` ends included).
    pub fn objects(&self) -> u64 {
        (self.lists * (self.nodes + 1)) as u64
    }
}

/// A gc-core list node.
#[derive(Trace)]
pub enum Node {
    /// A node and its links.
    Cons {
        /// The next node (towards the first one added).
        next: Gc<Node>,
        /// The node added after this one.
        previous: GcCell<Option<Gc<Node>>>,
    },
    /// The end of a list.
    Nil,
}

fn gc_len(head: &Gc<Node>) -> u64 {
    let mut len = 0;
    let mut cur = head;
    while let Node::Cons { next, .. } = &**cur {
        len += 1;
        cur = next;
    }
    len
}

/// W1 on gc-core.
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let mut checksum = 0;
    for _ in 0..p.lists {
        let mut head = m.alloc(Node::Nil);
        for _ in 0..p.nodes {
            let cons = m.alloc(Node::Cons {
                next: head.clone(),
                previous: GcCell::new(None),
            });
            if let Node::Cons { previous, .. } = &*head {
                previous.set(Some(cons.clone()));
            }
            head = cons;
        }
        checksum = mix(checksum, gc_len(&head));
        m.safepoint();
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

/// An `Rc` list node; `previous` is weak, so no cycle forms.
pub enum RcNode {
    /// A node and its links.
    Cons {
        /// The next node.
        next: Rc<RcNode>,
        /// The node added after this one.
        previous: RefCell<Option<RcWeak<RcNode>>>,
    },
    /// The end of a list.
    Nil,
}

fn rc_len(head: &Rc<RcNode>) -> u64 {
    let mut len = 0;
    let mut cur = head;
    while let RcNode::Cons { next, .. } = &**cur {
        len += 1;
        cur = next;
    }
    len
}

/// W1 with `Rc` and a `Weak` back edge.
pub fn rc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for _ in 0..p.lists {
        let mut head = Rc::new(RcNode::Nil);
        for _ in 0..p.nodes {
            let cons = Rc::new(RcNode::Cons {
                next: head.clone(),
                previous: RefCell::new(None),
            });
            if let RcNode::Cons { previous, .. } = &*head {
                *previous.borrow_mut() = Some(Rc::downgrade(&cons));
            }
            head = cons;
        }
        checksum = mix(checksum, rc_len(&head));
    }
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}

/// An `Arc` list node; `previous` is weak, so no cycle forms.
pub enum ArcNode {
    /// A node and its links.
    Cons {
        /// The next node.
        next: Arc<ArcNode>,
        /// The node added after this one.
        previous: Mutex<Option<ArcWeak<ArcNode>>>,
    },
    /// The end of a list.
    Nil,
}

fn arc_len(head: &Arc<ArcNode>) -> u64 {
    let mut len = 0;
    let mut cur = head;
    while let ArcNode::Cons { next, .. } = &**cur {
        len += 1;
        cur = next;
    }
    len
}

/// W1 with `Arc` and a `Weak` back edge.
pub fn arc(p: &Params) -> Outcome {
    let mut checksum = 0;
    for _ in 0..p.lists {
        let mut head = Arc::new(ArcNode::Nil);
        for _ in 0..p.nodes {
            let cons = Arc::new(ArcNode::Cons {
                next: head.clone(),
                previous: Mutex::new(None),
            });
            if let ArcNode::Cons { previous, .. } = &*head {
                *previous.lock().unwrap() = Some(Arc::downgrade(&cons));
            }
            head = cons;
        }
        checksum = mix(checksum, arc_len(&head));
    }
    Outcome {
        checksum,
        ops: p.objects(),
        ..Outcome::default()
    }
}
