//! Model 12: holds owned by the guards that took them, across `blocking`.
//!
//! A thread borrows a cell (one hold), moves the guard into a `blocking` closure and drops it
//! there, then — still inside the closure, detached — borrows another cell and writes that
//! object's probe, while the main thread collects. The guard's hold must go back to the frame
//! it was taken in (the suspended one), so the borrow inside the closure takes the thread's
//! slot afresh and waits for a stopped world; and once `blocking` returns the thread holds
//! nothing. A hold count saved and restored by value (seeded bug `holds_by_value`) wraps below
//! zero in the closure, the inner borrow then believes the world held, and its write races the
//! collector's trace.
#![cfg(loom)]

use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Node};

#[test]
fn a_guard_dropped_inside_blocking_against_collect() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let a = Node::new(&heap, &counts, 1);
        let b = Node::new(&heap, &counts, 2);
        let t = {
            let (a, b) = (a.clone(), b.clone());
            thread::spawn(move || {
                let guard = a.edge.borrow_mut();
                let inner = b.clone();
                gc_core::blocking(move || {
                    drop(guard);
                    let _read = inner.edge.borrow();
                    inner.probe.write();
                });
                drop((a, b));
            })
        };
        assert_eq!(heap.collect(), 0);
        t.join().unwrap();
        drop((a, b));
        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}

#[test]
fn a_guard_made_inside_blocking_and_returned_against_collect() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let a = Node::new(&heap, &counts, 1);
        let b = Node::new(&heap, &counts, 2);
        let t = {
            let (a, b, heap) = (a.clone(), b.clone(), heap.clone());
            thread::spawn(move || {
                let m = heap.attach();
                let read = gc_core::blocking(|| b.edge.borrow());
                // The attachment goes: the returned guard alone holds the world now.
                drop(m);
                b.probe.write();
                drop(read);
                drop((a, b));
            })
        };
        assert_eq!(heap.collect(), 0);
        t.join().unwrap();
        drop((a, b));
        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}
