//! Model 4: `Weak::upgrade` racing the clearing of weak references (race 6 of docs/concurrency.md).
//!
//! A garbage self-cycle `A` with weak handles (in one variant, one of them carries a callback).
//! One thread upgrades a weak handle while the main thread collects. Either the upgrade came first — then the thread
//! holds `A`, the collection must find nothing, and `A` must stay intact — or the collection
//! judged `A` garbage first — then the upgrade must fail, even though the collector still holds
//! `A` (its count is not zero) until teardown. The weak callback runs exactly once, when `A`
//! finally dies, and finds its own weak handle already cleared.
#![cfg(loom)]

use gc_core::Gc;
use gc_loom_tests::loom::sync::atomic::{AtomicUsize, Ordering};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, FinalizedNode as Node};

/// A garbage self-cycle `A`; a thread upgrades a weak handle to it while the main thread
/// collects. With `with_callback`, a second weak handle carries a callback.
fn upgrade_against_collect(with_callback: bool) {
    model(move || {
        let counts = Counts::new();
        let heap = heap();
        let a = Node::new(&heap, &counts, 1);
        *a.edge.borrow_mut() = Some(a.clone());
        // Calls of the callback, and of those that found their weak handle still upgradable
        // (checked at the end: a callback's panic would be caught and reported by gc-core).
        let called = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let weak = if with_callback {
            let called = called.clone();
            Gc::downgrade_with_callback(&a, move |w| {
                called.0.fetch_add(1, Ordering::SeqCst);
                if w.upgrade().is_some() {
                    called.1.fetch_add(1, Ordering::SeqCst);
                }
            })
        } else {
            Gc::downgrade(&a)
        };
        let plain = Gc::downgrade(&a);
        drop(a);
        let t = thread::spawn(move || {
            let got = plain.upgrade();
            if let Some(a) = &got {
                let edge = a.edge.borrow();
                a.probe.write();
                assert!(edge.is_some());
            }
            got
        });
        let found = heap.collect();
        let got = t.join().unwrap();
        match got {
            Some(a) => {
                assert_eq!(found, 0, "an upgraded object is not garbage");
                assert_eq!(a.label, 1, "the upgraded object is intact");
                assert!(weak.upgrade().is_some());
                assert_eq!(counts.dropped(), 0);
                assert_eq!(called.0.load(Ordering::SeqCst), 0);
            }
            None => {
                assert_eq!(
                    found, 1,
                    "the upgrade failed: the collection judged A garbage"
                );
                assert!(weak.upgrade().is_none());
            }
        }

        assert_heap_empty(&heap);
        assert!(weak.upgrade().is_none());
        let calls = usize::from(with_callback);
        assert_eq!(
            called.0.load(Ordering::SeqCst),
            calls,
            "the callback ran once"
        );
        assert_eq!(
            called.1.load(Ordering::SeqCst),
            0,
            "a weak handle is cleared before its callback runs"
        );
        drop(weak);
        counts.assert_end(1, 1);
    });
}

#[test]
fn upgrade_against_collect_plain() {
    upgrade_against_collect(false);
}

#[test]
fn upgrade_against_collect_with_callback() {
    upgrade_against_collect(true);
}
