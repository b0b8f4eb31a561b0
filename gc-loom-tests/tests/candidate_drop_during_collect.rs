//! Model 14: the last outside handle to a recorded cycle, dropped by a thread that does not
//! hold the world while a collection examines the cycle's candidate.
//!
//! The main thread makes a self-cycle, gives a second handle to another thread and drops its
//! own, which records the object as a candidate. The other thread drops its handle while the
//! main thread collects. Whichever comes first, the cycle must be found by that collection or
//! by the next one: either the drop came before the stop, or it waited for the stop to end and
//! recorded the object again. Seeded bug `drop_no_hold`: the decrement lands during the stop,
//! after the collection counted the handle and took the object off its candidate list; the
//! object is let go as alive, then turns into garbage that no candidate reaches.
#![cfg(loom)]

use gc_core::{Config, Scan};
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap_with, model, Counts, Node};

#[test]
fn a_detached_drop_races_the_collection_of_its_candidate() {
    model(|| {
        let counts = Counts::new();
        let heap = heap_with(Config::default().thresholds(&[0]).scan(Scan::Candidates));
        let cycle = Node::new(&heap, &counts, 0);
        *cycle.edge.borrow_mut() = Some(cycle.clone());
        let outside = cycle.clone();
        // Count 3 → 2: recorded.
        drop(cycle);
        let t = thread::spawn(move || drop(outside));
        let first = heap.collect();
        t.join().unwrap();
        let second = heap.collect();
        assert_eq!(
            (first + second, counts.dropped()),
            (1, 1),
            "the cycle was found by one of the two collections"
        );
        assert_heap_empty(&heap);
        counts.assert_end(1, 0);
    });
}
