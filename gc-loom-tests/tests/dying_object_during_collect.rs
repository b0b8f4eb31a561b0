//! Model 11: a collection that meets an object whose value is being dropped (race 3).
//!
//! The main thread allocates an object (its shard is the main thread's) and hands the only
//! handle to another thread, which drops it: the free path runs there, and the object stays on
//! the main thread's list until its owner is handed it. The value's `Drop` calls `blocking`, so
//! the main thread's collection can stop the world in the middle of the value's drop. The
//! collection must not trace the value (its `Trace` counts a trace after the drop began), and
//! the object must reach its owner even when the `Drop` panics — else it stays listed, dead,
//! for every later collection to trace. Seeded bugs: `trace_dropped` (members being dropped
//! traced like any other), `no_handover_on_unwind` (the handover posted only after a drop that
//! returns).
//!
//! When the `Drop` panics, the collection runs inside its `blocking` call by a handshake, and
//! the unwinding comes after it: loom runs every model thread on one OS thread, so while one
//! unwinds, `std::thread::panicking()` is true for all of them, and a mutex another thread
//! locked before and unlocks meanwhile would be poisoned inside loom.
#![cfg(loom)]

use gc_core::{Gc, GcCell, Trace, Tracer};
use gc_loom_tests::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model};

/// What the dying object reports.
#[derive(Default)]
struct State {
    /// Its `Drop` has begun.
    dropping: AtomicBool,
    /// Its `Trace` ran after that.
    traced_dying: AtomicUsize,
    /// Handshake of the panicking variant: the drop is under way, and the collection is over.
    dropping_seen: AtomicBool,
    collected: AtomicBool,
}

struct Dying {
    edge: GcCell<Option<Gc<Dying>>>,
    state: Arc<State>,
    panics: bool,
}

// SAFETY: reports its one edge; the check of `state` reads no handle.
unsafe impl Trace for Dying {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.state.dropping.load(Ordering::SeqCst) {
            self.state.traced_dying.fetch_add(1, Ordering::SeqCst);
        }
        self.edge.trace(tracer);
    }
}

impl Drop for Dying {
    fn drop(&mut self) {
        self.state.dropping.store(true, Ordering::SeqCst);
        let state = &self.state;
        if !self.panics {
            // Lets a collection in, anywhere around this point.
            gc_core::blocking(thread::yield_now);
            return;
        }
        gc_core::blocking(|| {
            state.dropping_seen.store(true, Ordering::SeqCst);
            while !state.collected.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        });
        panic!("Dying refuses to drop");
    }
}

fn run(panics: bool) {
    // The expected panic, once per interleaving, is not worth printing.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"Dying refuses to drop") {
            report(info);
        }
    }));
    model(move || {
        let state = Arc::new(State::default());
        let heap = heap();
        let dying = heap.alloc(Dying {
            edge: GcCell::new(None),
            state: state.clone(),
            panics,
        });
        let t = thread::spawn(move || {
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(dying)));
            assert_eq!(dropped.is_err(), panics);
        });
        if panics {
            while !state.dropping_seen.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        }
        assert_eq!(heap.collect(), 0);
        state.collected.store(true, Ordering::SeqCst);
        t.join().unwrap();
        assert_heap_empty(&heap);
        assert_eq!(
            state.traced_dying.load(Ordering::SeqCst),
            0,
            "a value being dropped was traced"
        );
    });
}

#[test]
fn a_drop_that_lets_a_collection_in_against_collect() {
    run(false);
}

#[test]
fn a_drop_that_panics_against_collect() {
    run(true);
}
