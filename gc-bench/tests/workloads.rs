//! Every gc-core workload at a small size computes what the `Rc`/`Arc` version computes, and
//! leaves nothing behind on its heap after its final collection.

use gc_bench::workloads::{
    w11_shared_globals as w11, w1_linked_lists as w1, w2_binary_trees as w2, w3_parent_trees as w3,
    w4_stress_graph as w4, w5_churn as w5, w6_threaded_churn as w6, w7_self_cycles as w7,
    w8_parallel_trees as w8, Outcome,
};
use gc_core::{Config, Heap};

/// Asserts the heap holds no tracked object and counts nothing in generation 0.
#[track_caller]
fn assert_empty(heap: &Heap) {
    let left = heap.objects(None).expect("all generations").len();
    assert_eq!(
        left, 0,
        "objects left on the heap after the final collection"
    );
    assert_eq!(heap.count()[0], 0, "gen-0 count after the final collection");
}

#[track_caller]
fn assert_same(gc: &Outcome, baseline: &Outcome) {
    assert_eq!(
        gc.comparable(),
        baseline.comparable(),
        "{gc:?} vs {baseline:?}"
    );
}

#[test]
fn w1_linked_lists_match_rc_and_arc() {
    let p = w1::Params::small();
    let heap = Heap::new();
    let gc = w1::gc_core(&heap, &p);
    assert_same(&gc, &w1::rc(&p));
    assert_same(&gc, &w1::arc(&p));
    assert_eq!(gc.ops, p.objects());
    assert!(gc.collections >= 1);
    assert_empty(&heap);
}

#[test]
fn w1_cycles_are_found_by_the_final_collection_when_automatic_is_off() {
    let p = w1::Params::small();
    let heap = Heap::new();
    heap.disable();
    let gc = w1::gc_core(&heap, &p);
    assert_same(&gc, &w1::rc(&p));
    // Every list is one cycle; with no automatic collection the final one frees them all.
    assert_eq!(gc.collected, p.objects());
    assert_eq!(gc.collections, 1);
    assert_empty(&heap);
}

#[test]
fn w2_binary_trees_match_rc_and_arc() {
    let p = w2::Params::small();
    let heap = Heap::new();
    let gc = w2::gc_core(&heap, &p);
    assert_same(&gc, &w2::rc(&p));
    assert_same(&gc, &w2::arc(&p));
    assert_eq!(
        gc.collected, 0,
        "acyclic trees are all freed by reference counting"
    );
    assert_empty(&heap);
}

#[test]
fn w3_parent_trees_match_rc_and_arc() {
    let p = w3::Params::small();
    let heap = Heap::new();
    let gc = w3::gc_core(&heap, &p);
    assert_same(&gc, &w3::rc(&p));
    assert_same(&gc, &w3::arc(&p));
    assert_empty(&heap);

    let manual = Heap::new();
    manual.disable();
    let gc = w3::gc_core(&manual, &p);
    assert_same(&gc, &w3::rc(&p));
    // Leaves of the nested trees and depth-0 trees are plain; the rest is cyclic garbage.
    assert!(gc.collected > 0);
    assert_empty(&manual);
}

#[test]
fn w4_stress_graph_matches_the_replayed_truncations() {
    let p = w4::Params::small();
    let heap = Heap::new();
    let gc = w4::gc_core(&heap, &p);
    assert_same(&gc, &w4::expected(&p));
    let truncations = w4::truncations(&p).count() as u64;
    assert!(gc.collections > truncations, "{gc:?}");
    assert_empty(&heap);
}

#[test]
fn w5_churn_matches_rc_and_arc_with_the_trigger_on_and_off() {
    let p = w5::Params::small();
    let rc = w5::rc(&p);
    assert_same(&rc, &w5::arc(&p));

    let heap = Heap::new();
    let auto = w5::gc_core_trigger(&heap, &p, true);
    assert_same(&auto, &rc);
    assert!(auto.collections > 1, "{auto:?}");
    assert_empty(&heap);

    let manual = w5::gc_core_trigger(&heap, &p, false);
    assert_same(&manual, &rc);
    assert_eq!(manual.collections, 1, "only the final collection runs");
    assert!(manual.collected > 0, "random churn leaves cycles");
    assert!(heap.is_enabled(), "the trigger setting is restored");
    assert_empty(&heap);
}

#[test]
fn w6_threaded_churn_matches_arc_on_one_thread() {
    let p = w6::Params::small(1);
    let heap = Heap::new();
    let gc = w6::gc_core(&heap, &p);
    assert_same(&gc.outcome, &w6::arc(&p).outcome);
    assert_empty(&heap);
}

#[test]
fn w6_threaded_churn_on_two_threads_frees_everything() {
    let p = w6::Params::small(2);
    let heap = Heap::with_config(Config::default().workers(2)).unwrap();
    let gc = w6::gc_core(&heap, &p);
    assert_eq!(gc.outcome.ops, p.total_ops());
    assert!(gc.outcome.collections >= 1);
    assert_empty(&heap);
}

#[test]
fn w7_self_cycles_match_rc_and_memory_stays_flat() {
    let p = w7::Params::small();
    let heap = Heap::new();
    let gc = w7::gc_core(&heap, &p);
    assert_same(&gc, &w7::rc(&p));
    let threshold = heap.thresholds()[0] as u64;
    assert!(
        gc.collections >= p.iterations as u64 / (2 * threshold),
        "the automatic trigger keeps up: {gc:?}"
    );
    assert!(
        gc.peak_young <= 2 * threshold,
        "gen 0 stays bounded: {gc:?}"
    );
    assert_empty(&heap);
}

#[test]
fn w8_parallel_trees_match_w2_on_one_and_two_threads() {
    let w2p = w2::Params::small();
    let expected = w2::rc(&w2p);
    for threads in [1, 2] {
        let p = w8::Params::small(threads);
        assert_eq!(p.max_depth, w2p.max_depth);
        let heap = Heap::new();
        let gc = w8::gc_core(&heap, &p);
        assert_same(&gc, &expected);
        assert_same(&w8::arc(&p), &expected);
        assert_empty(&heap);
    }
}

#[test]
fn w11_shared_globals_match_arc_with_and_without_immortal_objects() {
    for threads in [1, 2] {
        let p = w11::Params::small(threads);
        let arc = w11::arc(&p);
        assert_eq!(arc.ops, p.ops());
        let heap = Heap::new();
        assert_same(&w11::gc_core(&heap, &p, false), &arc);
        assert_empty(&heap);
        let heap = Heap::new();
        assert_same(&w11::gc_core(&heap, &p, true), &arc);
        assert_eq!(
            heap.objects(None).expect("all generations").len(),
            w11::ENTRIES,
            "the immortal table stays"
        );
    }
}
