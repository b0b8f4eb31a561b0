//! W1: doubly linked lists (30 × 4,096 nodes). `next` is strong, `previous` goes through a cell;
//! each list becomes one large garbage cycle when the next one starts, and one collection runs
//! at the end. Measures one deep trace and drop per list, and allocation.
//!
//! Checksum: the length of every list, walked from its head, folded in list order.

use std::cell::RefCell;
use std::rc::{Rc, Weak as RcWeak};
use std::sync::{Arc, Mutex, Weak as ArcWeak};

use gc_core::{Gc, GcCell, Heap, Trace};

use super::{collections, gc_core_outcome, mix, Outcome};

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
    gc_core_outcome(heap, before, m, checksum, p.objects())
}

/// A standard-library list node (`$Node` on `$Ptr`, back edge `$Weak` in `$Cell`, written
/// through `$write`), its length walk `$len` and W1 on it, `$run`.
macro_rules! std_list {
    ($Node:ident, $Ptr:ident, $Weak:ident, $Cell:ident, |$slot:ident| $write:expr, $len:ident, $run:ident) => {
        #[doc = concat!("An `", stringify!($Ptr), "` list node; `previous` is weak, so no cycle forms.")]
        pub enum $Node {
            /// A node and its links.
            Cons {
                /// The next node.
                next: $Ptr<$Node>,
                /// The node added after this one.
                previous: $Cell<Option<$Weak<$Node>>>,
            },
            /// The end of a list.
            Nil,
        }

        fn $len(head: &$Ptr<$Node>) -> u64 {
            let mut len = 0;
            let mut cur = head;
            while let $Node::Cons { next, .. } = &**cur {
                len += 1;
                cur = next;
            }
            len
        }

        #[doc = concat!("W1 with `", stringify!($Ptr), "` and a `Weak` back edge.")]
        pub fn $run(p: &Params) -> Outcome {
            let mut checksum = 0;
            for _ in 0..p.lists {
                let mut head = $Ptr::new($Node::Nil);
                for _ in 0..p.nodes {
                    let cons = $Ptr::new($Node::Cons {
                        next: head.clone(),
                        previous: $Cell::new(None),
                    });
                    if let $Node::Cons { previous: $slot, .. } = &*head {
                        *$write = Some($Ptr::downgrade(&cons));
                    }
                    head = cons;
                }
                checksum = mix(checksum, $len(&head));
            }
            Outcome::new(checksum, p.objects())
        }
    };
}

std_list!(
    RcNode,
    Rc,
    RcWeak,
    RefCell,
    |previous| previous.borrow_mut(),
    rc_len,
    rc
);
std_list!(
    ArcNode,
    Arc,
    ArcWeak,
    Mutex,
    |previous| previous.lock().unwrap(),
    arc_len,
    arc
);
