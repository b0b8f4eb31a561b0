//! Model 3: the last drop racing a collection (race 3 of docs/concurrency.md).
//!
//! `A → B` and `B → B`; a detached thread holds the only handle to `A` and drops it while the
//! main thread collects. The free path must wait for a stopped world (it unlists `A`, runs its
//! finalizer and drops its value, which drops the edge to `B`); a scan that meets `A` with a
//! zero count must treat it as a root, so that neither `A` is freed twice nor `B` judged garbage
//! while `A`'s value still holds it. Afterwards `B` is an ordinary garbage cycle.
#![cfg(loom)]

use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, FinalizedNode as Node};

#[test]
fn last_handle_dropped_against_collect() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let node = |label| Node::new(&heap, &counts, label);
        let b = node(2);
        *b.edge.borrow_mut() = Some(b.clone());
        let a = node(1);
        *a.edge.borrow_mut() = Some(b);
        // A candidate, so that a heap that scans candidates examines `A` too.
        drop(a.clone());
        let t = thread::spawn(move || drop(a));
        let found = heap.collect();
        assert!(found <= 1, "only B's cycle can be garbage, found {found}");
        t.join().unwrap();
        assert_eq!(counts.finalized(), 1 + found, "A died by its count");
        assert_eq!(counts.dropped(), 1 + found);

        assert_heap_empty(&heap);
        counts.assert_end(2, 2);
    });
}
