//! A thread blocked while attached must never deadlock automatic collections. This test
//! parks an attached thread on purpose, so it lives in its own test binary: an explicit
//! collection elsewhere in the same process would (by design) wait for that thread.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use gc_core::{Config, Gc, GcCell, Heap, Trace};

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

#[test]
fn an_automatic_collection_never_waits_forever_for_a_blocked_thread() {
    let heap = Heap::with_config(
        Config::default()
            .thresholds(&[50, 10, 10])
            .safepoint_timeout(Duration::from_millis(20)),
    )
    .unwrap();
    let release = Arc::new(Barrier::new(2));
    let attached = Arc::new(Barrier::new(2));
    let t = {
        let (heap, release, attached) = (heap.clone(), release.clone(), attached.clone());
        std::thread::spawn(move || {
            let _m = heap.attach();
            attached.wait();
            // Blocked while attached, never reaching a safepoint.
            release.wait();
        })
    };
    attached.wait();
    for i in 0..500 {
        let n = node(&heap, i);
        n.edges.borrow_mut().push(n.clone());
    }
    let missed: u64 = heap.stats().iter().map(|s| s.missed).sum();
    assert!(missed > 0, "the blocked thread caused recorded misses");
    assert!(
        missed <= 10,
        "one wait per threshold's worth of allocations, not per allocation"
    );
    release.wait();
    t.join().unwrap();
    // Inspection stops the world too, so it waits for the blocked thread: only now.
    let objects = heap.objects(None).unwrap();
    assert!(objects
        .iter()
        .all(|o| o.downcast::<Node>().unwrap().label < 500));
    // (Inspection stops the world too, so it waits for the blocked thread: only now.)
    let labels = heap.objects(None).unwrap();
    assert!(labels
        .iter()
        .all(|o| o.downcast::<Node>().unwrap().label < 500));
    for i in 0..500 {
        let n = node(&heap, i);
        n.edges.borrow_mut().push(n.clone());
    }
    let collected: u64 = heap.stats().iter().map(|s| s.collected).sum();
    assert!(
        collected > 0,
        "collections resumed once the thread detached"
    );
}
