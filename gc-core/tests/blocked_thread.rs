//! A thread blocked while attached must never deadlock automatic collections, and must be
//! named. This test parks an attached thread on purpose, so it lives in its own test binary:
//! an explicit collection elsewhere in the same process would (by design) wait for that thread.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use gc_core::{Config, Gc, GcCell, GcError, Heap, Trace};

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

fn missed(heap: &Heap) -> u64 {
    heap.stats().iter().map(|s| s.missed).sum()
}

#[test]
fn an_automatic_collection_never_waits_forever_for_a_blocked_thread_and_names_it() {
    let heap = Heap::with_config(
        Config::default()
            .thresholds(&[50, 10, 10])
            .safepoint_timeout(Duration::from_millis(20)),
    )
    .unwrap();
    let release = Arc::new(Barrier::new(2));
    let attached = Arc::new(Barrier::new(2));
    let attach_line = line!() + 6;
    let t = {
        let (heap, release, attached) = (heap.clone(), release.clone(), attached.clone());
        std::thread::Builder::new()
            .name("blocked-worker".into())
            .spawn(move || {
                let _m = heap.attach();
                attached.wait();
                // Blocked while attached, never reaching a safepoint.
                release.wait();
            })
            .unwrap()
    };
    attached.wait();
    for i in 0..500 {
        let n = node(&heap, i);
        n.edges.borrow_mut().push(n.clone());
    }
    let misses = missed(&heap);
    assert!(misses > 0, "the blocked thread caused recorded misses");
    assert!(
        misses <= 5,
        "retries back off: a few misses for ten thresholds' worth of allocations, not {misses}"
    );
    let stall = gc_core::stalls()
        .into_iter()
        .find(|s| s.name.as_deref() == Some("blocked-worker"))
        .expect("the blocked thread is named");
    assert_eq!(
        stall.stalls, 1,
        "waited for once; later attempts saw it had not moved and did not wait"
    );
    let at = stall.attached_at.expect("where it attached");
    assert_eq!((at.file(), at.line()), (file!(), attach_line));

    // An explicit collection with a deadline gives up and says who kept it waiting.
    match heap.collect_within(Duration::from_millis(50)) {
        Err(GcError::Stalled { threads, waited }) => {
            assert!(waited >= Duration::from_millis(50));
            assert!(
                threads
                    .iter()
                    .any(|t| t.contains("'blocked-worker'") && t.contains("attached at")),
                "{threads:?}"
            );
        }
        other => panic!("expected a stall, got {other:?}"),
    }
    release.wait();
    t.join().unwrap();
    // Inspection stops the world too, so it waits for the blocked thread: only now.
    let objects = heap.objects(None).unwrap();
    assert!(objects
        .iter()
        .all(|o| o.downcast::<Node>().unwrap().label < 500));
    let before = missed(&heap);
    for i in 0..500 {
        let n = node(&heap, i);
        n.edges.borrow_mut().push(n.clone());
    }
    assert_eq!(missed(&heap), before, "nothing is missed once it moved");
    let collected: u64 = heap.stats().iter().map(|s| s.collected).sum();
    assert!(
        collected > 0,
        "collections resumed once the thread detached"
    );
}
