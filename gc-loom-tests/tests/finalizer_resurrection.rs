//! Model 7: finalizers resurrecting objects across threads.
//!
//! 1. The collector's finalizer resurrects, another thread takes the object. `A ↔ B` is a
//!    garbage cycle; `A`'s finalizer (run by the collecting main thread, with the world
//!    running) stores a handle to `A` in a shared `GcLock`. Another thread takes that handle
//!    out — before, during or after the collector's resurrection check (a second stop of the
//!    world) — and keeps it, or drops it at once. Whatever the order, nothing may be torn down
//!    while a handle reaches it (checked once both threads are done), and no finalizer runs
//!    twice.
//! 2. A mutator's finalizer resurrects an object under collection. `F → X`, `X → X`; a thread
//!    drops the last handle to `F`, whose finalizer (run on that thread, at its refcount death)
//!    stores `X` in the shared lock — while the main thread collects `X`'s generation.
#![cfg(loom)]

use gc_core::{Finalize, Gc, GcCell, GcLock, Trace};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Probe};

type Stash = Arc<GcLock<Option<Gc<Node>>>>;

#[derive(Trace)]
#[gc(finalize)]
struct Node {
    probe: Probe,
    label: u32,
    edge: GcCell<Option<Gc<Node>>>,
    /// Where the finalizer resurrects to (not traced: an outside root).
    #[gc(skip)]
    stash: Option<Stash>,
    /// Resurrect the node itself (true) or the node it points at (false).
    #[gc(skip)]
    itself: bool,
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        this.probe.counts().finalize();
        if let Some(stash) = &this.stash {
            let saved = if this.itself {
                Some(this.clone())
            } else {
                this.edge.borrow().clone()
            };
            *stash.write() = saved;
        }
    }
}

fn node(heap: &gc_core::Heap, counts: &Arc<Counts>, label: u32, stash: Option<&Stash>) -> Gc<Node> {
    heap.alloc(Node {
        probe: Probe::new(counts),
        label,
        edge: GcCell::new(None),
        stash: stash.cloned(),
        itself: true,
    })
}

/// Checks `a` and the node it points at are intact.
fn check_pair(a: &Gc<Node>, labels: (u32, u32)) {
    assert_eq!(a.label, labels.0);
    let edge = a.edge.borrow();
    let b = edge.as_ref().expect("the cycle is intact");
    assert_eq!(b.label, labels.1);
    assert!(b.edge.borrow().is_some());
}

/// `A ↔ B` garbage, `A`'s finalizer resurrecting `A` into the returned stash.
fn resurrecting_pair(heap: &gc_core::Heap, counts: &Arc<Counts>) -> Stash {
    let stash: Stash = Arc::new(GcLock::new(None));
    let a = node(heap, counts, 1, Some(&stash));
    let b = node(heap, counts, 2, None);
    *a.edge.borrow_mut() = Some(b.clone());
    *b.edge.borrow_mut() = Some(a);
    stash
}

#[test]
fn collector_finalizer_resurrects_thread_keeps_it() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let stash = resurrecting_pair(&heap, &counts);
        let t = {
            let stash = stash.clone();
            thread::spawn(move || stash.write().take())
        };
        assert_eq!(
            heap.collect(),
            0,
            "resurrected: the stash or the thread holds A"
        );
        let taken = t.join().unwrap();
        assert_eq!(
            counts.finalized(),
            2,
            "both finalized once, by the collection"
        );
        assert_eq!(counts.dropped(), 0);
        let a = taken
            .or_else(|| stash.write().take())
            .expect("A was resurrected");
        check_pair(&a, (1, 2));
        drop(a);

        assert_heap_empty(&heap);
        counts.assert_end(2, 2);
    });
}

#[test]
fn collector_finalizer_resurrects_thread_drops_it() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let stash = resurrecting_pair(&heap, &counts);
        let t = {
            let stash = stash.clone();
            thread::spawn(move || stash.write().take().is_some())
        };
        let found = heap.collect();
        let dropped_by_thread = t.join().unwrap();
        assert_eq!(
            counts.finalized(),
            2,
            "both finalized once, by the collection"
        );
        match found {
            // Resurrected: intact, wherever its handle went.
            0 => assert_eq!(counts.dropped(), 0),
            // The thread gave the handle up before the resurrection check.
            2 => assert!(dropped_by_thread, "torn down only once nobody held it"),
            _ => panic!("all or nothing, found {found}"),
        }
        if let Some(a) = stash.write().take() {
            check_pair(&a, (1, 2));
        }

        assert_heap_empty(&heap);
        counts.assert_end(2, 2);
    });
}

#[test]
fn mutator_finalizer_resurrects_object_under_collection() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let stash: Stash = Arc::new(GcLock::new(None));
        let x = node(&heap, &counts, 2, None);
        *x.edge.borrow_mut() = Some(x.clone());
        let f = heap.alloc(Node {
            probe: Probe::new(&counts),
            label: 1,
            edge: GcCell::new(Some(x)),
            stash: Some(stash.clone()),
            itself: false,
        });
        let t = thread::spawn(move || drop(f));
        assert_eq!(heap.collect(), 0, "X is held by F, then by the stash");
        t.join().unwrap();
        assert_eq!(
            (counts.finalized(), counts.dropped()),
            (1, 1),
            "F died by count"
        );
        let x = stash.write().take().expect("F's finalizer resurrected X");
        assert_eq!(x.label, 2);
        assert!(Gc::ptr_eq(x.edge.borrow().as_ref().unwrap(), &x));
        drop(x);

        assert_heap_empty(&heap);
        counts.assert_end(2, 2);
    });
}
