//! Model 15: a candidate that a younger collection finds alive only because an older
//! generation references it.
//!
//! A two-node cycle spans the generations: `old` was promoted to generation 1 before `young`
//! was made, and the only handle from outside is to `young`, which another thread drops (the
//! one decrement that leaves a count above zero: `young` is the cycle's only candidate) while
//! the main thread collects generation 0. That collection cannot see the cycle — `old` is
//! outside it — and must keep `young` a candidate, so that the full collection after it finds
//! both. Seeded bug `seeds_let_go`: a younger collection lets its surviving seeds go, and the
//! cycle is never examined again.
#![cfg(loom)]

use gc_core::{Config, Scan};
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap_with, model, Counts, Node};

#[test]
fn a_young_collection_keeps_a_candidate_an_older_generation_references() {
    model(|| {
        let counts = Counts::new();
        let heap = heap_with(Config::default().thresholds(&[0, 0]).scan(Scan::Candidates));
        let old = Node::new(&heap, &counts, 0);
        heap.collect_generation(0).unwrap();
        let young = Node::new(&heap, &counts, 1);
        // The handle to `old` moves into `young`: no decrement, so `old` is no candidate.
        *young.edge.borrow_mut() = Some(old);
        if let Some(old) = &*young.edge.borrow() {
            *old.edge.borrow_mut() = Some(young.clone());
        }
        let t = thread::spawn(move || drop(young));
        let young_found = heap.collect_generation(0).unwrap();
        t.join().unwrap();
        let full_found = heap.collect();
        assert_eq!(
            young_found, 0,
            "generation 1 keeps the cycle from a young collection"
        );
        assert_eq!(
            (full_found, counts.dropped()),
            (2, 2),
            "the full collection finds the cycle"
        );
        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}
