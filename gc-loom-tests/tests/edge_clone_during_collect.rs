//! Model 2: cloning an edge out of a cycle while the cycle is being collected (race 1 of docs/concurrency.md).
//!
//! `P → X` through a plain field, `X → P` through a `GcCell`. A thread holds the only outside
//! handle to `P`; it clones `X` out of `P` (a bare `Gc::clone`, no cell borrow involved) and
//! drops `P`, while the main thread collects. If the clone could slip between the collector's
//! reads of the two counts, both would look internally referenced only and the cycle would be
//! torn down under the thread's handle. After both threads are done, `X` must be alive and
//! intact, and `P` — reachable from `X` — too.
#![cfg(loom)]

use gc_core::{Gc, GcCell, Trace};
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Probe};

#[derive(Trace)]
struct Parent {
    probe: Probe,
    child: Gc<Child>,
}

#[derive(Trace)]
struct Child {
    probe: Probe,
    label: u32,
    parent: GcCell<Option<Gc<Parent>>>,
}

#[test]
fn clone_child_then_drop_parent_against_collect() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let x = heap.alloc(Child {
            probe: Probe::new(&counts),
            label: 7,
            parent: GcCell::new(None),
        });
        let p = heap.alloc(Parent {
            probe: Probe::new(&counts),
            child: x,
        });
        *p.child.parent.borrow_mut() = Some(p.clone());
        // A candidate, so that a heap that scans candidates examines the cycle too.
        drop(p.clone());
        // P: the thread's handle and X's cell. X: P's field only.
        let t = thread::spawn(move || {
            let x = p.child.clone();
            drop(p);
            x
        });
        assert_eq!(
            heap.collect(),
            0,
            "the cycle is held by the thread throughout"
        );
        let x = t.join().unwrap();

        assert_eq!(x.label, 7, "X is intact");
        assert_eq!(Gc::ref_count(&x), 2, "the thread's clone and P's field");
        let p = x.parent.borrow().clone().expect("X still points at P");
        assert!(
            Gc::ptr_eq(&p.child, &x),
            "P is intact and still points at X"
        );
        assert_eq!(counts.dropped(), 0, "nothing was torn down");
        drop((p, x));

        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}
