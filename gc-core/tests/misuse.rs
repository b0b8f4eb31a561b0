//! Embedding mistakes and protocol corners, each with what it gets: never a read of freed
//! memory, a broken hold count, a hang or an abort; a clear message where the program is wrong.
//!
//! - A collection that meets an object being dropped on another thread (from the `Drop`
//!   itself: `collect`, `blocking`, an allocation that runs an automatic collection; or after
//!   a `Drop` that panicked) does not trace its value.
//! - Holds belong to the guards that took them: a guard or `Mutator` moved into a `blocking`
//!   closure, or made inside one and returned, keeps the thread's hold count right.
//! - `freeze`, `unfreeze` and `freeze_count` work from finalizers, weak callbacks, gc callbacks
//!   and teardown `Drop`s, and fail loudly from a `Trace`.
//! - Handles kept in thread-locals are freed at thread exit.
//! - A borrow held across allocations does not stop automatic collection.
//! - A `GcCell` conflict names the type and says that another thread holds it.
//! - A `Trace` that reports an edge twice is caught; callback ids belong to their heap.
//!
//! Several of these run under Miri in CI (`.ci/run`), which reports any read of freed memory.

mod common;

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use common::{isolated, panics, quiet_heap, serial};
use gc_core::{Config, Finalize, Gc, GcCell, Heap, Phase, Trace, Tracer, Weak};

#[derive(Trace)]
struct Leaf {
    label: usize,
}

/// Runs its closure when dropped (that is all it is for).
struct OnDrop(Option<Box<dyn FnOnce() + Send + Sync>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// An object whose value is torn down in steps: its `Drop` may panic, then its leaves go, then
/// `_then` runs — with the leaves' buffer already freed.
#[derive(Trace)]
struct Holder {
    leaves: GcCell<Vec<Gc<Leaf>>>,
    #[gc(skip)]
    _then: OnDrop,
    #[gc(skip)]
    panic_in_drop: bool,
}

impl Drop for Holder {
    fn drop(&mut self) {
        if self.panic_in_drop {
            panic!("Holder refuses to drop");
        }
    }
}

/// A holder with one leaf, made on a thread that stays alive (it owns the holder's shard) and
/// handed to the caller, who drops it on its own thread; `release` lets that thread end.
fn holder_from_another_thread(
    heap: &Heap,
    panic_in_drop: bool,
    then: Box<dyn FnOnce() + Send + Sync>,
) -> (
    Gc<Holder>,
    Weak<Leaf>,
    Arc<Barrier>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = mpsc::channel();
    let release = Arc::new(Barrier::new(2));
    let owner = {
        let (heap, release) = (heap.clone(), release.clone());
        std::thread::spawn(move || {
            let holder = heap.alloc(Holder {
                leaves: GcCell::new(vec![heap.alloc(Leaf { label: 1 })]),
                _then: OnDrop(Some(then)),
                panic_in_drop,
            });
            tx.send(holder).unwrap();
            release.wait();
        })
    };
    let holder = rx.recv().unwrap();
    let leaf = Gc::downgrade(&holder.leaves.borrow()[0]);
    (holder, leaf, release, owner)
}

#[test]
fn a_drop_that_panics_on_another_thread_leaves_nothing_freed_for_the_collector() {
    let _serial = serial();
    let heap = quiet_heap();
    let (holder, leaf, release, owner) = holder_from_another_thread(&heap, true, Box::new(|| ()));
    let msg = panics(|| drop(holder));
    assert!(msg.contains("refuses to drop"), "{msg}");
    assert!(leaf.upgrade().is_none(), "the fields were still dropped");
    // The holder's value is gone but its shard's owner has not unlisted it yet: a collection
    // now must not trace it.
    assert_eq!(heap.collect(), 0);
    assert_eq!(heap.collect(), 0);
    release.wait();
    owner.join().unwrap();
    assert!(
        heap.objects(None).unwrap().is_empty(),
        "the object was handed to its owner on unwind, and unlisted"
    );
}

#[test]
fn a_collection_from_a_drop_on_another_thread_does_not_trace_the_half_dropped_value() {
    let _serial = serial();
    let heap = quiet_heap();
    let h = heap.clone();
    let (holder, leaf, release, owner) =
        holder_from_another_thread(&heap, false, Box::new(move || assert_eq!(h.collect(), 0)));
    drop(holder);
    assert!(leaf.upgrade().is_none());
    release.wait();
    owner.join().unwrap();
    assert!(heap.objects(None).unwrap().is_empty());
}

#[test]
fn a_collection_while_a_drop_blocks_on_another_thread_does_not_trace_its_value() {
    let _serial = serial();
    let heap = quiet_heap();
    let (inside, collected) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let then = {
        let (inside, collected) = (inside.clone(), collected.clone());
        Box::new(move || {
            gc_core::blocking(|| {
                inside.wait();
                collected.wait();
            })
        })
    };
    let (holder, leaf, release, owner) = holder_from_another_thread(&heap, false, then);
    let collector = {
        let heap = heap.clone();
        std::thread::spawn(move || {
            inside.wait();
            let found = heap.collect();
            collected.wait();
            found
        })
    };
    drop(holder);
    assert_eq!(collector.join().unwrap(), 0);
    assert!(leaf.upgrade().is_none());
    release.wait();
    owner.join().unwrap();
    assert!(heap.objects(None).unwrap().is_empty());
}

#[test]
fn an_automatic_collection_run_by_an_allocation_in_a_drop_does_not_trace_its_value() {
    let _serial = serial();
    let heap = Heap::with_config(Config::default().thresholds(&[1, 10, 10]).workers(1)).unwrap();
    let h = heap.clone();
    let (holder, leaf, release, owner) = holder_from_another_thread(
        &heap,
        false,
        Box::new(move || {
            for label in 0..3 {
                let cycle = h.alloc(Holder {
                    leaves: GcCell::new(Vec::new()),
                    _then: OnDrop(None),
                    panic_in_drop: false,
                });
                let _ = label;
                drop(cycle);
            }
        }),
    );
    let before: u64 = heap.stats().iter().map(|s| s.collections).sum();
    drop(holder);
    let after: u64 = heap.stats().iter().map(|s| s.collections).sum();
    assert!(after > before, "the drop's allocations collected");
    assert!(leaf.upgrade().is_none());
    release.wait();
    owner.join().unwrap();
    heap.collect();
    assert!(heap.objects(None).unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Holds owned by their guards.

#[derive(Trace)]
struct Node {
    label: usize,
    edges: GcCell<Vec<Gc<Node>>>,
}

fn node(heap: &Heap, label: usize) -> Gc<Node> {
    heap.alloc(Node {
        label,
        edges: GcCell::new(Vec::new()),
    })
}

/// A full collection from another thread that waits at most `timeout`: `Err` if this thread
/// (or another) kept it waiting.
fn collect_elsewhere(heap: &Heap, timeout: Duration) -> Result<usize, gc_core::GcError> {
    let heap = heap.clone();
    std::thread::spawn(move || heap.collect_within(timeout))
        .join()
        .unwrap()
}

#[test]
fn a_borrow_moved_into_blocking_and_dropped_there_gives_its_hold_back() {
    let _serial = serial();
    let heap = quiet_heap();
    let a = node(&heap, 1);
    let borrow = a.edges.borrow_mut();
    gc_core::blocking(move || drop(borrow));
    assert!(a.edges.try_borrow_mut().is_ok());
    assert!(
        collect_elsewhere(&heap, Duration::from_secs(5)).is_ok(),
        "this thread holds nothing"
    );
    a.edges.borrow_mut().push(a.clone());
    drop(a);
    assert_eq!(heap.collect(), 1);
}

#[test]
fn a_borrow_made_inside_blocking_and_returned_keeps_holding_the_world() {
    let _serial = serial();
    let heap = quiet_heap();
    let (a, b) = (node(&heap, 1), node(&heap, 2));
    // A candidate, so that the collection has something to examine and stops the world.
    drop(a.clone());
    let outer = b.edges.borrow();
    let borrow = gc_core::blocking(|| a.edges.borrow_mut());
    drop(outer);
    match collect_elsewhere(&heap, Duration::from_millis(100)) {
        Err(gc_core::GcError::Stalled { threads, .. }) => assert!(
            threads.iter().any(|t| t.contains("cell borrow")),
            "{threads:?}"
        ),
        other => panic!("a borrow alive outside blocking must hold the world: {other:?}"),
    }
    drop(borrow);
    assert!(collect_elsewhere(&heap, Duration::from_secs(5)).is_ok());
}

#[test]
fn a_mutator_moved_into_blocking_and_dropped_there_detaches_the_thread() {
    let _serial = serial();
    let heap = quiet_heap();
    let m = heap.attach();
    let a = m.alloc(Leaf { label: 1 });
    gc_core::blocking(move || drop(m));
    assert!(
        collect_elsewhere(&heap, Duration::from_secs(5)).is_ok(),
        "the thread is not attached any more"
    );
    assert_eq!(a.label, 1);
}

#[test]
fn a_lock_guard_taken_after_waiting_detached_holds_the_world() {
    let _serial = serial();
    let heap = quiet_heap();
    #[derive(Trace)]
    struct Shared {
        edges: gc_core::GcLock<Vec<Gc<Leaf>>>,
    }
    let shared = heap.alloc(Shared {
        edges: gc_core::GcLock::new(Vec::new()),
    });
    let (locked, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let other = {
        let (shared, locked, release) = (shared.clone(), locked.clone(), release.clone());
        std::thread::spawn(move || {
            let guard = shared.edges.write();
            locked.wait();
            release.wait();
            drop(guard);
        })
    };
    locked.wait();
    let waiter = {
        let (shared, heap) = (shared.clone(), heap.clone());
        std::thread::spawn(move || {
            // Waits detached for the other thread's guard, then holds the world with its own.
            let mut guard = shared.edges.write();
            guard.push(heap.alloc(Leaf { label: 2 }));
            guard.len()
        })
    };
    release.wait();
    other.join().unwrap();
    assert_eq!(waiter.join().unwrap(), 1);
    assert!(collect_elsewhere(&heap, Duration::from_secs(5)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// The freeze calls from user code the collector runs.

#[derive(Trace)]
#[gc(finalize)]
struct Freezer {
    edges: GcCell<Vec<Gc<Freezer>>>,
    #[gc(skip)]
    heap: Option<Heap>,
    #[gc(skip)]
    in_drop: bool,
    #[gc(skip)]
    seen: Arc<AtomicUsize>,
}

/// Freezes, counts and unfreezes; counts one in `seen` once done.
fn freeze_and_count(heap: &Heap, seen: &AtomicUsize) {
    heap.freeze();
    let _ = heap.freeze_count();
    heap.unfreeze();
    seen.fetch_add(1, SeqCst);
}

impl Finalize for Freezer {
    fn finalize(this: &Gc<Self>) {
        if let (Some(heap), false) = (&this.heap, this.in_drop) {
            freeze_and_count(heap, &this.seen);
        }
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        if let (Some(heap), true) = (&self.heap, self.in_drop) {
            freeze_and_count(heap, &self.seen);
        }
    }
}

/// A self-cycle that freezes from its finalizer (or its `Drop`, with `in_drop`).
fn freezer(heap: &Heap, in_drop: bool, seen: &Arc<AtomicUsize>) -> Gc<Freezer> {
    let f = heap.alloc(Freezer {
        edges: GcCell::new(Vec::new()),
        heap: Some(heap.clone()),
        in_drop,
        seen: seen.clone(),
    });
    f.edges.borrow_mut().push(f.clone());
    f
}

#[test]
fn freeze_from_a_finalizer_a_weak_callback_and_a_gc_callback_completes() {
    isolated(
        "freeze_from_a_finalizer_a_weak_callback_and_a_gc_callback_completes",
        Duration::from_secs(60),
        || {
            let heap = quiet_heap();
            let seen = Arc::new(AtomicUsize::new(0));
            // A live object, so the freeze has something to count.
            let _live = node(&heap, 0);
            drop(freezer(&heap, false, &seen));
            assert_eq!(heap.collect(), 1);
            assert_eq!(seen.load(SeqCst), 1, "the finalizer froze");

            let target = node(&heap, 1);
            target.edges.borrow_mut().push(target.clone());
            let (h, s) = (heap.clone(), seen.clone());
            let _weak = Gc::downgrade_with_callback(&target, move |_| freeze_and_count(&h, &s));
            drop(target);
            assert_eq!(heap.collect(), 1);
            assert_eq!(seen.load(SeqCst), 2, "the weak callback froze");

            let (h, s) = (heap.clone(), seen.clone());
            let id = heap.add_callback(move |phase, _| {
                if phase == Phase::Stop {
                    freeze_and_count(&h, &s);
                }
            });
            heap.collect();
            assert_eq!(seen.load(SeqCst), 3, "the gc callback froze");
            heap.remove_callback(id);
        },
    );
}

#[test]
fn freeze_from_teardown_drops_on_both_threads_completes() {
    isolated(
        "freeze_from_teardown_drops_on_both_threads_completes",
        Duration::from_secs(60),
        || {
            // A parallel teardown: half the drops run on a collector worker.
            let heap = Heap::with_config(Config::default().workers(2).parallel_cutoff(16)).unwrap();
            heap.disable();
            let seen = Arc::new(AtomicUsize::new(0));
            let _live = node(&heap, 0);
            let m = heap.attach();
            for _ in 0..64 {
                drop(freezer(&heap, true, &seen));
            }
            assert_eq!(heap.collect(), 64);
            drop(m);
            assert_eq!(seen.load(SeqCst), 64);
        },
    );
}

#[test]
fn freeze_from_a_trace_fails_loudly() {
    let _serial = serial();
    struct Bad(Heap);
    // SAFETY: reports no edges (and freezes, which must panic).
    unsafe impl Trace for Bad {
        fn trace(&self, _: &mut Tracer<'_>) {
            self.0.freeze();
        }
    }
    let heap = quiet_heap();
    let bad = heap.alloc(Bad(heap.clone()));
    // A candidate (its count fell), so that any scan traces it.
    drop(bad.clone());
    let msg = panics(|| {
        heap.collect();
    });
    assert!(msg.contains("world stopped"), "{msg}");
    drop(bad);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Handles in thread-locals.

thread_local! {
    static KEPT: RefCell<Vec<Gc<Node>>> = const { RefCell::new(Vec::new()) };
    static ATTACHED: RefCell<Option<gc_core::Mutator>> = const { RefCell::new(None) };
}

#[test]
fn handles_and_a_mutator_in_thread_locals_are_freed_at_thread_exit() {
    isolated(
        "handles_and_a_mutator_in_thread_locals_are_freed_at_thread_exit",
        Duration::from_secs(60),
        || {
            let heap = quiet_heap();
            let weak = {
                let heap = heap.clone();
                std::thread::spawn(move || {
                    // The user's thread-locals first: their destructors run after gc-core's.
                    KEPT.with(|_| ());
                    ATTACHED.with(|_| ());
                    ATTACHED.with(|m| *m.borrow_mut() = Some(heap.attach()));
                    // A chain deeper than the trashcan's depth, and a cycle.
                    let mut head = node(&heap, 0);
                    for label in 1..300 {
                        let next = node(&heap, label);
                        next.edges.borrow_mut().push(head);
                        head = next;
                    }
                    let weak = Gc::downgrade(&head);
                    KEPT.with(|kept| kept.borrow_mut().push(head));
                    let cycle = node(&heap, 1000);
                    cycle.edges.borrow_mut().push(cycle.clone());
                    KEPT.with(|kept| kept.borrow_mut().push(cycle));
                    weak
                })
                .join()
                .expect("the thread exits cleanly")
            };
            assert!(weak.upgrade().is_none(), "the chain was freed at exit");
            assert_eq!(heap.collect(), 1, "the cycle is collectable, nothing waits");
            assert!(heap.objects(None).unwrap().is_empty());
        },
    );
}

// ---------------------------------------------------------------------------------------------
// A borrow held across allocations.

#[derive(Trace)]
struct Items {
    items: GcCell<Vec<Gc<Node>>>,
}

#[test]
fn a_borrow_held_across_a_million_allocations_of_cyclic_garbage_keeps_memory_flat() {
    let _serial = serial();
    let heap = Heap::new();
    let m = heap.attach();
    let v = m.alloc(Items {
        items: GcCell::new((0..10).map(|i| node(&heap, i)).collect()),
    });
    let rounds = if cfg!(miri) { 2_000 } else { 1_000_000 };
    let mut peak = 0;
    let mut applied = 0;
    for (round, _) in (0..rounds / 10).zip(core::iter::repeat(())) {
        for x in v.items.borrow().iter() {
            // `apply`: allocates cyclic garbage while the items are borrowed.
            let garbage = node(&heap, x.label + round);
            garbage.edges.borrow_mut().push(garbage.clone());
            applied += 1;
        }
        peak = peak.max(heap.count()[0]);
    }
    assert_eq!(applied, rounds);
    let collections: u64 = heap.stats().iter().map(|s| s.collections).sum();
    assert!(collections > 0);
    assert!(
        peak <= 2 * heap.thresholds()[0],
        "generation 0 stays below twice its threshold: {peak}"
    );
    drop(m);
    heap.collect();
    assert_eq!(heap.objects(None).unwrap().len(), 11);
}

// ---------------------------------------------------------------------------------------------
// GcCell conflicts.

#[test]
fn a_gc_cell_conflict_with_another_thread_names_the_type_and_the_other_thread() {
    let _serial = serial();
    let heap = quiet_heap();
    let a = node(&heap, 1);
    let (borrowed, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let other = {
        let (a, borrowed, release) = (a.clone(), borrowed.clone(), release.clone());
        std::thread::spawn(move || {
            let guard = a.edges.borrow_mut();
            borrowed.wait();
            release.wait();
            drop(guard);
        })
    };
    borrowed.wait();
    let err = a.edges.try_borrow().err().expect("conflicts");
    assert!(err.held_by_another_thread());
    let msg = err.to_string();
    assert!(
        msg.contains("held by another thread") && msg.contains("Node") && msg.contains("GcLock"),
        "{msg}"
    );
    let msg = panics(|| drop(a.edges.borrow_mut()));
    assert!(msg.contains("held by another thread"), "{msg}");
    release.wait();
    other.join().unwrap();
    let guard = a.edges.borrow_mut();
    let err = a.edges.try_borrow().err().expect("conflicts");
    assert!(!err.held_by_another_thread());
    assert!(err.to_string().contains("by this thread"), "{err}");
    drop(guard);
}

// ---------------------------------------------------------------------------------------------
// A `Trace` that reports an edge twice; callback ids.

/// Reports its one edge twice.
struct Twice(GcCell<Option<Gc<Node>>>);

// SAFETY: deliberately wrong (it reports its edge twice): the collector must catch it.
unsafe impl Trace for Twice {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        self.0.trace(tracer);
        self.0.trace(tracer);
    }
}

#[test]
fn a_trace_that_reports_an_edge_twice_is_caught_and_nothing_is_freed() {
    let _serial = serial();
    let heap = quiet_heap();
    let target = node(&heap, 7);
    let twice = heap.alloc(Twice(GcCell::new(Some(target.clone()))));
    let weak = Gc::downgrade(&target);
    drop(target);
    // A candidate (its count fell), so that any scan traces it.
    drop(twice.clone());
    let msg = panics(|| {
        heap.collect();
    });
    assert!(
        msg.contains("more edges") && msg.contains("Node") && msg.contains("Twice"),
        "{msg}"
    );
    assert_eq!(weak.upgrade().map(|n| n.label), Some(7), "nothing freed");
    drop(twice);
    assert_eq!(heap.collect(), 0);
    assert!(heap.objects(None).unwrap().is_empty());
}

#[test]
fn a_callback_id_of_one_heap_removes_nothing_on_another() {
    let _serial = serial();
    let (a, b) = (quiet_heap(), quiet_heap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let id_a = a.add_callback(move |_, _| {
        counted.fetch_add(1, SeqCst);
    });
    let id_b = b.add_callback(|_, _| {});
    assert_ne!(id_a, id_b);
    assert!(!b.remove_callback(id_a), "not b's callback");
    a.collect();
    assert_eq!(calls.load(SeqCst), 2, "a's callback is still registered");
    assert!(b.remove_callback(id_b) && a.remove_callback(id_a));
}
