//! Model 1: the stop-the-world handshake.
//!
//! One thread attaches, touches an object while attached, passes a safepoint, runs a
//! `blocking` section, touches the object again, detaches and finally touches it inside a
//! gc-cell borrow (a short temporary hold). The main thread collects meanwhile, and the
//! collection's trace reads the same object's [`Probe`]. Loom reports any trace that is not
//! ordered with every mutator access (a stop that did not wait for the attached thread, a hold
//! taken while the world is stopped, a slot release or acquire without its happens-before
//! edge), and any deadlock of the handshake itself.
//!
//! The next two tests add an allocation by the attached thread. The heap's one shard belongs
//! to the main thread (it allocated first), so the new object travels to the shard through its
//! inbox, which the collector drains before it scans; the object is then freed either by the
//! allocating thread (handed over again, as dead) or by the shard's owner. The last test has two
//! stoppers: an attached thread collecting one heap while the main thread collects another.
#![cfg(loom)]

use gc_core::{Gc, GcCell, Heap};
use gc_loom_tests::loom::sync::Arc;
use gc_loom_tests::loom::thread;
use gc_loom_tests::{assert_heap_empty, heap, model, Counts, Node, Probe};

fn node(heap: &Heap, counts: &Arc<Counts>) -> Gc<Node> {
    Node::new(heap, counts, 0)
}

#[derive(Clone, Copy, PartialEq)]
enum Fresh {
    /// No allocation by the attached thread.
    None,
    /// Allocated, stored in the shared node, removed again (and freed) by the same thread.
    FreedByAllocator,
    /// Allocated and stored in the shared node, freed later by the main thread.
    FreedByOwner,
}

fn handshake(fresh: Fresh) {
    model(move || {
        let counts = Counts::new();
        let heap = heap();
        let shared = node(&heap, &counts);
        let t = {
            let (heap, shared, counts) = (heap.clone(), shared.clone(), counts.clone());
            thread::spawn(move || {
                let m = heap.attach();
                shared.probe.write();
                if fresh != Fresh::None {
                    *shared.edge.borrow_mut() = Some(m.alloc(Node {
                        probe: Probe::new(&counts),
                        label: 0,
                        edge: GcCell::new(None),
                    }));
                }
                m.safepoint();
                shared.probe.write();
                m.blocking(|| ());
                shared.probe.write();
                if fresh == Fresh::FreedByAllocator {
                    drop(shared.edge.borrow_mut().take());
                }
                drop(m);
                let edge = shared.edge.borrow();
                shared.probe.write();
                drop(edge);
            })
        };
        assert_eq!(heap.collect(), 0, "live objects are not garbage");
        t.join().unwrap();
        assert_eq!(shared.probe.read(), 4);
        assert_eq!(shared.edge.borrow().is_some(), fresh == Fresh::FreedByOwner);
        drop(shared);
        let objects = if fresh == Fresh::None { 1 } else { 2 };
        assert_eq!(counts.dropped(), objects, "acyclic: freed by count");

        assert_heap_empty(&heap);
        counts.assert_end(objects, 0);
    });
}

#[test]
fn attach_safepoint_blocking_detach_against_collect() {
    handshake(Fresh::None);
}

#[test]
fn allocation_off_shard_freed_by_allocator_against_collect() {
    handshake(Fresh::FreedByAllocator);
}

#[test]
fn allocation_off_shard_freed_by_owner_against_collect() {
    handshake(Fresh::FreedByOwner);
}

/// Two heaps share the world: an attached thread collects one while the main thread collects
/// the other, so two stoppers meet — one of them holding its own slot — and each must find its
/// heap's garbage cycle without deadlocking or tracing past a guarded access.
#[test]
fn two_stoppers_one_attached() {
    model(|| {
        let counts = Counts::new();
        let (heap_a, heap_b) = (heap(), heap());
        let cycle = |heap: &Heap| {
            let n = node(heap, &counts);
            *n.edge.borrow_mut() = Some(n.clone());
        };
        cycle(&heap_a);
        cycle(&heap_b);
        let shared = node(&heap_a, &counts);
        let t = {
            let (heap_b, shared) = (heap_b.clone(), shared.clone());
            thread::spawn(move || {
                let m = heap_b.attach();
                shared.probe.write();
                let found = m.heap().collect();
                shared.probe.write();
                drop(m);
                found
            })
        };
        assert_eq!(heap_a.collect(), 1, "heap A's cycle");
        assert_eq!(t.join().unwrap(), 1, "heap B's cycle");
        assert_eq!(shared.probe.read(), 2);
        drop(shared);

        assert_heap_empty(&heap_a);
        assert_heap_empty(&heap_b);
        counts.assert_end(3, 0);
    });
}
