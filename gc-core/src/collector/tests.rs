//! Unit tests of whole collections: rings, resurrection, SAVEALL, list positions, promotion.

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::{Arc, Mutex};

use crate::test_support::quiet_heap as heap;
use crate::{DebugFlags, Finalize, Gc, GcCell, Heap, Trace};

#[derive(Trace)]
#[gc(finalize)]
struct Node {
    edges: GcCell<Vec<Gc<Node>>>,
    #[gc(skip)]
    deaths: Arc<AtomicUsize>,
    #[gc(skip)]
    keep: Option<Arc<Mutex<Vec<Gc<Node>>>>>,
}

impl Finalize for Node {
    fn finalize(this: &Gc<Self>) {
        this.deaths.fetch_add(1, StdOrdering::SeqCst);
        if let Some(keep) = &this.keep {
            keep.lock().unwrap().push(this.clone());
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Touching a sibling in the garbage cycle must panic, never read freed memory.
        if let Some(first) = self.edges.get_mut().first() {
            let _ = first.edges.borrow().len();
        }
    }
}

fn node(
    heap: &Heap,
    deaths: &Arc<AtomicUsize>,
    keep: Option<Arc<Mutex<Vec<Gc<Node>>>>>,
) -> Gc<Node> {
    heap.alloc(Node {
        edges: GcCell::new(Vec::new()),
        deaths: deaths.clone(),
        keep,
    })
}

#[test]
fn a_ring_is_finalized_torn_down_and_freed() {
    let heap = heap();
    let deaths = Arc::new(AtomicUsize::new(0));
    let nodes: Vec<_> = (0..5).map(|_| node(&heap, &deaths, None)).collect();
    for (i, n) in nodes.iter().enumerate() {
        n.edges.borrow_mut().push(nodes[(i + 1) % 5].clone());
    }
    let weak = Gc::downgrade(&nodes[0]);
    drop(nodes);
    assert_eq!(heap.collect(), 5);
    assert_eq!(deaths.load(StdOrdering::SeqCst), 5);
    assert!(weak.upgrade().is_none());
    assert_eq!(
        heap.stats()[2].uncollectable,
        5,
        "each Drop touched a sibling"
    );
}

#[test]
fn resurrection_keeps_the_object_and_its_cycle_intact() {
    let heap = heap();
    let deaths = Arc::new(AtomicUsize::new(0));
    let keep = Arc::new(Mutex::new(Vec::new()));
    let a = node(&heap, &deaths, Some(keep.clone()));
    let b = node(&heap, &deaths, None);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    drop((a, b));
    assert_eq!(heap.collect(), 0);
    let a = keep.lock().unwrap().pop().unwrap();
    assert_eq!(a.edges.borrow()[0].edges.borrow().len(), 1);
    drop(a);
    assert_eq!(heap.collect(), 2);
    assert_eq!(deaths.load(StdOrdering::SeqCst), 2);
}

#[test]
fn saveall_then_release() {
    let heap = heap();
    let deaths = Arc::new(AtomicUsize::new(0));
    heap.set_debug(DebugFlags::SAVEALL);
    let a = node(&heap, &deaths, None);
    a.edges.borrow_mut().push(a.clone());
    drop(a);
    assert_eq!(heap.collect(), 1);
    assert_eq!(heap.garbage().len(), 1);
    heap.set_debug(DebugFlags::empty());
    drop(heap.take_garbage());
    assert_eq!(heap.collect(), 1);
}

#[derive(Trace)]
struct Link {
    next: GcCell<Option<Gc<Link>>>,
}

/// Every listed object's position, generation and flags agree with its list.
fn assert_lists_consistent(heap: &Heap) {
    let stopped = crate::world::stop(None).unwrap();
    super::validate::check_lists(&heap.inner);
    drop(stopped);
}

#[test]
fn collections_keep_every_list_position_right() {
    let heap = heap();
    let link = || {
        heap.alloc(Link {
            next: GcCell::new(None),
        })
    };
    let mut kept: Vec<Gc<Link>> = (0..600).map(|_| link()).collect();
    heap.collect();
    // Holes all over the oldest list: every third object becomes a self-cycle and goes,
    // and a few young objects wait to join it.
    let mut young: Vec<Gc<Link>> = (0..50).map(|_| link()).collect();
    for (i, object) in core::mem::take(&mut kept).into_iter().enumerate() {
        if i % 3 == 0 {
            object.next.set(Some(object.clone()));
        } else {
            kept.push(object);
        }
    }
    assert_eq!(heap.collect_generation(0).unwrap(), 0);
    assert_lists_consistent(&heap);
    assert_eq!(heap.collect(), 200);
    assert_lists_consistent(&heap);
    assert_eq!(heap.objects(Some(2)).unwrap().len(), 450);
    // Frees unlist by position: drop in an order unlike the lists'.
    kept.append(&mut young);
    let mut i = 0;
    while !kept.is_empty() {
        i = (i + 7) % kept.len();
        drop(kept.swap_remove(i));
        if kept.len().is_multiple_of(97) {
            assert_lists_consistent(&heap);
        }
    }
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[test]
fn generations_promote_survivors() {
    let heap = heap();
    let deaths = Arc::new(AtomicUsize::new(0));
    let a = node(&heap, &deaths, None);
    heap.collect_generation(0).unwrap();
    assert_eq!(heap.objects(Some(1)).unwrap().len(), 1);
    heap.collect_generation(1).unwrap();
    assert_eq!(heap.objects(Some(2)).unwrap().len(), 1);
    drop(a);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}
