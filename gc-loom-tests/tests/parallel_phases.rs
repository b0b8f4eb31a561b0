//! Model 6: the parallel `subtract_refs` and `mark` phases with two workers.
//!
//! Rayon is not loom-aware, so the main thread and one loom thread play the two workers,
//! calling the very steps the rayon workers call (exposed by `gc_core::loom_hooks`), phase by
//! phase with a join between phases as `pool.install` returning is in the collector:
//!
//! 1. `subtract_refs` step 1: each worker traces its share of the chunks (one object each):
//!    own counts and edges inside the chunk go to the slots at once, the rest into the log;
//! 2. `subtract_refs` step 2: each worker applies the logged edges into one stripe of slots;
//! 3. `mark`: each worker claims the roots of its share and expands from them, claiming with
//!    a plain load and store.
//!
//! Work stealing is not modelled. The result must equal the sequential phases': the same
//! `gc_refs` after `subtract_refs`, the same reachable set after `mark`.
#![cfg(loom)]

use gc_core::loom_hooks::{Set, Traced};
use gc_core::{Gc, GcAny, GcCell, Heap, Trace};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Probe};

#[derive(Trace)]
struct Node {
    probe: Probe,
    edges: GcCell<Vec<Gc<Node>>>,
}

fn node(heap: &Heap, counts: &Arc<Counts>) -> Gc<Node> {
    heap.alloc(Node {
        probe: Probe::new(counts),
        edges: GcCell::new(Vec::new()),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

/// Runs `a` on the main thread and `b` on a loom thread (a collector worker) at once.
fn both<R: 'static>(
    set: &Arc<Set>,
    a: impl FnOnce(&Set) -> R,
    b: impl FnOnce(&Set) -> R + Send + 'static,
) -> (R, R) {
    let other = set.clone();
    let worker = thread::spawn(move || {
        Set::become_worker();
        b(&other)
    });
    let ra = a(set);
    (ra, worker.join().unwrap())
}

/// Claims the roots among `share` and marks from each.
fn mark(set: &Set, share: &[usize]) {
    for &i in share {
        if set.claim_root(i) {
            set.mark_from(i);
        }
    }
}

/// Runs the sequential phases, then the two workers with shares `a` and `b`, and compares.
fn check(heap: &Heap, objects: Vec<GcAny>, a: &'static [usize], b: &'static [usize]) {
    // SAFETY: the objects are tracked objects of `heap`, kept alive by the model's own handles
    // or their cycles, and only the set touches them until it is dropped below.
    let mut set = unsafe { Set::new(heap, objects) };
    set.reset();
    let refs = set.sequential();
    let reachable = set.reachable();
    set.reset();
    let mut set = Arc::new(set);

    let trace = |share: &[usize], set: &Set| -> Vec<Traced> {
        share.iter().map(|&i| set.trace_chunk(i)).collect()
    };
    let (mut logs, logs_b) = both(&set, |s| trace(a, s), move |s| trace(b, s));
    logs.extend(logs_b);
    Arc::get_mut(&mut set)
        .expect("the worker is done")
        .log_chunks(logs);
    both(&set, |s| s.apply_stripe(0), |s| s.apply_stripe(1));
    assert_eq!(
        set.gc_refs(),
        refs,
        "gc_refs after subtract_refs, parallel vs sequential"
    );
    both(&set, |s| mark(s, a), move |s| mark(s, b));
    assert_eq!(
        set.reachable(),
        reachable,
        "reachable set, parallel vs sequential"
    );
}

#[test]
fn two_roots_share_a_target() {
    // r1 → x, r2 → x, x → r1; r1 and r2 held from outside. Positions x 0, r1 1, r2 2: the
    // edges into x come from both workers' chunks (and from both stripes of sources), all land
    // in x's stripe; in marking both workers reach x.
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let (r1, r2, x) = (
            node(&heap, &counts),
            node(&heap, &counts),
            node(&heap, &counts),
        );
        link(&r1, &x);
        link(&r2, &x);
        link(&x, &r1);
        let objects = vec![GcAny::from(x), GcAny::from(&r1), GcAny::from(&r2)];
        check(&heap, objects, &[1], &[0, 2]);
        drop((r1, r2));
        assert_heap_empty(&heap);
        counts.assert_end(3, 0);
    });
}

#[test]
fn a_garbage_cycle_stays_garbage() {
    // a → a, a → b, b → a, nothing from outside. The workers decrement a at once (from a's
    // self-edge and from b); a lost decrement would make a root of a.
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let (a, b) = (node(&heap, &counts), node(&heap, &counts));
        link(&a, &a);
        link(&a, &b);
        link(&b, &a);
        check(&heap, vec![GcAny::from(a), GcAny::from(b)], &[0], &[1]);
        assert_heap_empty(&heap);
        counts.assert_end(2, 0);
    });
}
