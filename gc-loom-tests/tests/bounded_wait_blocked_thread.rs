//! Model 8: an automatic collection against a thread blocked while attached.
//!
//! A thread attaches, touches an object, and blocks (on a channel) without reaching a
//! safepoint. The main thread then allocates past the gen-0 threshold, which runs an automatic
//! collection with a bounded wait for safepoints. It must give up rather than deadlock (loom
//! reports a deadlock when every thread is blocked), record the miss, restart the world, and
//! retry later (after more allocations each time; a retry while the thread has not moved gives
//! up without waiting). Once released, the thread touches its object again while still
//! attached and then detaches, racing those retries: each must either miss (and say so) or run
//! with the thread parked.
#![cfg(loom)]

use std::time::Duration;

use gc_core::{Config, Heap, Phase};
use gc_loom_tests::loom::sync::atomic::{AtomicUsize, Ordering};
use gc_loom_tests::loom::sync::{mpsc, Arc};
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap_with, model, Counts, Node};

/// Allocates a garbage self-cycle.
fn garbage(heap: &Heap, counts: &Arc<Counts>) {
    let n = Node::new(heap, counts, 0);
    *n.edge.borrow_mut() = Some(n.clone());
}

fn missed(heap: &Heap) -> u64 {
    heap.stats().iter().map(|s| s.missed).sum()
}

fn collections(heap: &Heap) -> u64 {
    heap.stats().iter().map(|s| s.collections).sum()
}

#[test]
fn automatic_collection_gives_up_on_a_blocked_attached_thread() {
    model(|| {
        let counts = Counts::new();
        let heap = heap_with(
            Config::default()
                .thresholds(&[2])
                .safepoint_timeout(Duration::from_millis(1)),
        );
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        heap.add_callback(move |phase, _| {
            if phase == Phase::Start {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        });
        let own = Node::new(&heap, &counts, 0);
        let (attached_tx, attached_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let t = {
            let heap = heap.clone();
            thread::spawn(move || {
                let m = heap.attach();
                own.probe.write();
                attached_tx.send(()).unwrap();
                // Blocked while attached: no safepoint until released.
                release_rx.recv().unwrap();
                own.probe.write();
                drop(m);
                drop(own);
            })
        };
        attached_rx.recv().unwrap();
        // Gen-0 threshold 2: the third allocation trips an automatic collection, with the
        // first garbage recorded as a candidate (so a heap that scans candidates has something
        // to examine, and must stop the world too).
        garbage(&heap, &counts);
        garbage(&heap, &counts);
        assert_eq!(
            missed(&heap),
            1,
            "the bounded wait ran out once, and was recorded"
        );
        assert_eq!(collections(&heap), 0);
        assert_eq!(counts.dropped(), 0);

        // Released, the thread touches its object once more while attached, then detaches —
        // racing the retries, which come after another threshold's worth of allocations.
        release_tx.send(()).unwrap();
        let mut allocated = 2;
        while collections(&heap) == 0 {
            assert!(allocated < 64, "the retries never succeeded");
            garbage(&heap, &counts);
            allocated += 1;
            // Time passes between allocations: the released thread gets to run. (A retry that
            // sees it has not moved gives up without a wait, which would otherwise let it.)
            thread::yield_now();
        }
        t.join().unwrap();
        assert_eq!(collections(&heap), 1, "the retried collection ran");
        assert_eq!(
            missed(&heap) as usize,
            attempts.load(Ordering::Relaxed) - 1,
            "every attempt but the one that ran was recorded as a miss"
        );
        assert!(
            counts.dropped() >= 3,
            "it freed the garbage: {}",
            counts.dropped()
        );

        assert_heap_empty(&heap);
        counts.assert_end(allocated + 1, 0);
    });
}
