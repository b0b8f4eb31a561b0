//! Model 5: moving a handle out of a gc cell while a collection traces (race 2 of docs/concurrency.md).
//!
//! `P → X` and `X → P`, both through `GcCell`s. A thread holds the only outside handle to `P`;
//! it moves `X` out of `P`'s cell (`take`, or `replace`: no count changes) and drops `P`, while
//! the main thread collects. A collector that could trace `P`'s cell before the move and mark
//! from it after would never see the moved handle and would judge `X` garbage under the
//! thread's feet. Afterwards `X` must be intact and still point at `P`.
//!
//! The `take` test also writes `P`'s [`Probe`] inside the borrow, so loom reports any overlap of
//! the borrow with the collector's trace directly. The `replace` test does not: it fails only
//! through the outcome (`X` judged garbage, torn down). No type here has a finalizer: the
//! collector's resurrection check after finalizers would re-count `X` and hide that outcome.
#![cfg(loom)]

use gc_core::Gc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Node};

fn move_out_against_collect(move_out: fn(&Gc<Node>) -> Option<Gc<Node>>) {
    model(move || {
        let counts = Counts::new();
        let heap = heap();
        let node = |label| Node::new(&heap, &counts, label);
        let p = node(1);
        let x = node(2);
        *x.edge.borrow_mut() = Some(p.clone());
        *p.edge.borrow_mut() = Some(x);
        // A candidate, so that a heap that scans candidates examines the cycle too.
        drop(p.clone());
        // P: the thread's handle and X's cell. X: P's cell only.
        let t = thread::spawn(move || {
            let x = move_out(&p).expect("P points at X");
            drop(p);
            x
        });
        assert_eq!(heap.collect(), 0, "the thread holds P, then X");
        let x = t.join().unwrap();

        assert_eq!(x.label, 2, "X is intact");
        {
            let edge = x.edge.borrow();
            let p = edge.as_ref().expect("X still points at P");
            assert_eq!(p.label, 1, "P is intact");
            assert!(p.edge.borrow().is_none(), "the move happened");
        }
        assert_eq!(counts.dropped(), 0);
        drop(x);
        assert_eq!(counts.dropped(), 2, "acyclic now: freed by count");

        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}

#[test]
fn take_out_of_cell_against_collect() {
    move_out_against_collect(|p| {
        let mut edge = p.edge.borrow_mut();
        p.probe.write();
        edge.take()
    });
}

#[test]
fn replace_in_cell_against_collect() {
    move_out_against_collect(|p| p.edge.replace(None));
}
