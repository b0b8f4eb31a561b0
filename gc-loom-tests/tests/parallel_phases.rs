//! Model 6: the parallel `subtract_refs` and `mark` phases with two workers.
//!
//! Rayon is not loom-aware, so two loom threads play the two workers, calling the very
//! per-object steps the rayon workers call (exposed by `gc_core::loom_hooks`): the atomic
//! `gc_refs` decrement of `subtract_refs`, then — after the phase boundary, a barrier here as
//! `pool.install` returning is in the collector — the `REACHABLE` claim of the roots and of
//! every member a claimed object reaches. Each worker has a fixed share of the set (work
//! stealing is not modelled). The result must equal the sequential phases': the same `gc_refs`,
//! the same reachable set, and every reachable object claimed exactly once.
#![cfg(loom)]

use gc_core::loom_hooks::Set;
use gc_core::{Gc, GcAny, GcCell, Heap, Trace};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Barrier, Counts, Probe};

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

/// One worker: subtract over its share, wait for the other, then claim its roots and mark from
/// them. Returns how many objects it claimed.
fn worker(set: &Set, share: &[usize], phase: &Barrier) -> usize {
    Set::become_worker();
    for &i in share {
        set.subtract_step(i);
    }
    phase.wait();
    let mut stack: Vec<usize> = share
        .iter()
        .copied()
        .filter(|&i| set.claim_root(i))
        .collect();
    let mut claimed = stack.len();
    while let Some(i) = stack.pop() {
        let more = set.mark_step(i);
        claimed += more.len();
        stack.extend(more);
    }
    claimed
}

/// Runs the sequential phases, then the two workers with shares `a` and `b`, and compares.
fn check(heap: &Heap, objects: Vec<GcAny>, a: &'static [usize], b: &'static [usize]) {
    // SAFETY: the objects are tracked objects of `heap`, kept alive by the model's own handles
    // or their cycles, and only the set touches them until it is dropped below.
    let set = Arc::new(unsafe { Set::new(heap, objects) });
    set.update();
    set.sequential();
    let (refs, reachable) = (set.gc_refs(), set.reachable());

    set.update();
    let phase = Arc::new(Barrier::new(2));
    let spawn = |share: &'static [usize]| {
        let (set, phase) = (set.clone(), phase.clone());
        thread::spawn(move || worker(&set, share, &phase))
    };
    let (ta, tb) = (spawn(a), spawn(b));
    let claimed = ta.join().unwrap() + tb.join().unwrap();
    assert_eq!(
        set.gc_refs(),
        refs,
        "gc_refs after subtract, parallel vs sequential"
    );
    assert_eq!(
        set.reachable(),
        reachable,
        "reachable set, parallel vs sequential"
    );
    let marked = reachable.iter().filter(|&&r| r).count();
    assert_eq!(
        claimed, marked,
        "every reachable object claimed exactly once"
    );
}

#[test]
fn two_roots_share_a_target() {
    // r1 → x, r2 → x, x → r1; r1 and r2 held from outside. The workers decrement x at once
    // (from r1 and from r2) and both try to claim x.
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
        let objects = vec![GcAny::from(&r1), GcAny::from(&r2), GcAny::from(x)];
        check(&heap, objects, &[0, 2], &[1]);
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
