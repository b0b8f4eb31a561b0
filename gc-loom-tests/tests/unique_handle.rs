//! Model 13: the only handle to an object, mutating it in place (`Gc::get_mut`).
//!
//! First, the uniqueness check against a thread that turns a strong handle into a weak one and
//! back: it holds a clone, downgrades it, drops the clone and upgrades the weak handle again, so
//! at every moment it holds a strong or a weak handle, and `get_mut` must fail in every
//! interleaving. It would not if the check read the two counts without locking the weak count
//! between them (`Arc::is_unique`'s lock): the thread's handle can move from one count to the
//! other between the reads.
//!
//! The check does not depend on the scan, and the first test's heap scans generations, so that
//! the thread's drop is a plain decrement: under `Scan::Candidates` the drop also records a
//! candidate and posts it to the shard's inbox, and loom's bounded search then explores a single
//! interleaving of the model and never separates the two reads.
//!
//! Second, the guard against a collection: the main thread writes a tracked object's probe
//! through a `GcMut`, holding no world, while a thread collects. The collector must not trace
//! the object while the guard lives (it is marked, and kept as a root), and the mark must be
//! taken off under a hold, so that the writes happen before any later trace.
#![cfg(loom)]

use gc_core::{Config, Gc, Scan};
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, heap_with, model, Counts, Node};

#[test]
fn get_mut_against_a_handle_moving_between_strong_and_weak() {
    model(|| {
        let counts = Counts::new();
        let heap = heap_with(Config::default().thresholds(&[0]).scan(Scan::Generations));
        let mut a = Node::new(&heap, &counts, 1);
        let b = a.clone();
        let t = thread::spawn(move || {
            let weak = Gc::downgrade(&b);
            drop(b);
            let again = weak.upgrade();
            drop(weak);
            again
        });
        assert!(
            Gc::get_mut(&mut a).is_none(),
            "another handle existed at every moment"
        );
        let again = t.join().unwrap().expect("a strong handle kept it alive");
        assert!(Gc::ptr_eq(&again, &a));
        drop((a, again));

        assert_heap_empty(&heap);
        counts.assert_end(1, 0);
    });
}

#[test]
fn writes_through_get_mut_against_collect() {
    model(|| {
        let counts = Counts::new();
        let heap = heap();
        let mut a = Node::new(&heap, &counts, 1);
        // A candidate, so that a heap that scans candidates examines `a` too.
        drop(a.clone());
        let collector = heap.clone();
        let t = thread::spawn(move || collector.collect());
        {
            let guard = Gc::get_mut(&mut a).expect("the only handle");
            guard.probe.write();
        }
        assert_eq!(t.join().unwrap(), 0);
        assert_eq!(heap.collect(), 0, "traced again once the guard is gone");
        drop(a);

        assert_heap_empty(&heap);
        counts.assert_end(1, 0);
    });
}
