//! Immortal objects (`Gc::make_immortal`, CPython's PEP 683): never counted, never freed, a
//! root for every collection.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::quiet_heap;
use gc_core::{Config, Finalize, Gc, GcCell, Heap, Scan, Trace};

#[derive(Trace)]
#[gc(finalize)]
struct Global {
    name: &'static str,
    slot: GcCell<Option<Gc<Global>>>,
    #[gc(skip)]
    events: Arc<Events>,
}

#[derive(Default)]
struct Events {
    finalized: AtomicUsize,
    dropped: AtomicUsize,
}

impl Finalize for Global {
    fn finalize(this: &Gc<Self>) {
        this.events.finalized.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Global {
    fn drop(&mut self) {
        self.events.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn global(heap: &Heap, name: &'static str, events: &Arc<Events>) -> Gc<Global> {
    heap.alloc(Global {
        name,
        slot: GcCell::new(None),
        events: events.clone(),
    })
}

fn heaps() -> [Heap; 2] {
    let heap = |scan| {
        let heap = Heap::with_config(Config::default().scan(scan)).expect("a valid configuration");
        heap.disable();
        heap
    };
    [heap(Scan::Candidates), heap(Scan::Generations)]
}

#[test]
fn clones_and_drops_of_an_immortal_object_leave_its_count_alone() {
    let heap = quiet_heap();
    let events = Arc::new(Events::default());
    let g = global(&heap, "print", &events);
    assert!(!Gc::is_immortal(&g));
    Gc::make_immortal(&g);
    assert!(Gc::is_immortal(&g));
    let before = Gc::ref_count(&g);
    let clones: Vec<_> = (0..1000).map(|_| g.clone()).collect();
    assert_eq!(Gc::ref_count(&g), before);
    drop(clones);
    let weak = Gc::downgrade(&g);
    assert!(Gc::ptr_eq(&weak.upgrade().expect("alive"), &g));
    assert_eq!(Gc::ref_count(&g), before);
    assert_eq!(g.name, "print");
}

#[test]
fn an_immortal_object_outlives_its_last_handle_and_every_collection() {
    for heap in heaps() {
        let events = Arc::new(Events::default());
        let g = global(&heap, "len", &events);
        Gc::make_immortal(&g);
        let weak = Gc::downgrade(&g);
        drop(g);
        assert_eq!(heap.collect(), 0);
        let g = weak.upgrade().expect("an immortal object never dies");
        assert_eq!(g.name, "len");
        assert_eq!(events.finalized.load(Ordering::SeqCst), 0);
        assert_eq!(events.dropped.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn what_an_immortal_object_references_stays_and_what_it_lets_go_is_collected() {
    for heap in heaps() {
        let events = Arc::new(Events::default());
        let g = global(&heap, "globals", &events);
        Gc::make_immortal(&g);
        // A cycle held only by the immortal object's cell.
        let a = global(&heap, "a", &events);
        let b = global(&heap, "b", &events);
        a.slot.set(Some(b.clone()));
        b.slot.set(Some(a.clone()));
        g.slot.set(Some(a));
        drop(b);
        assert_eq!(heap.collect(), 0, "kept by the immortal object");
        assert_eq!(events.dropped.load(Ordering::SeqCst), 0);
        // Let go of it: the cycle is ordinary garbage again.
        g.slot.set(None);
        assert_eq!(heap.collect(), 2);
        assert_eq!(events.dropped.load(Ordering::SeqCst), 2);
        assert_eq!(events.finalized.load(Ordering::SeqCst), 2);
        assert_eq!(g.name, "globals");
    }
}

#[test]
fn an_immortal_cycle_is_never_collected() {
    for heap in heaps() {
        let events = Arc::new(Events::default());
        let a = global(&heap, "a", &events);
        let b = global(&heap, "b", &events);
        a.slot.set(Some(b.clone()));
        b.slot.set(Some(a.clone()));
        Gc::make_immortal(&a);
        drop((a, b));
        assert_eq!(heap.collect(), 0, "a is a root, and it references b");
        assert_eq!(events.dropped.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn threads_share_an_immortal_object_without_counting() {
    let heap = Heap::new();
    let events = Arc::new(Events::default());
    let g = global(&heap, "shared", &events);
    Gc::make_immortal(&g);
    let before = Gc::ref_count(&g);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let g = g.clone();
            let heap = heap.clone();
            s.spawn(move || {
                let m = heap.attach();
                for _ in 0..10_000 {
                    let copy = g.clone();
                    assert_eq!(copy.name, "shared");
                    m.safepoint();
                }
            });
        }
    });
    assert_eq!(Gc::ref_count(&g), before);
    assert_eq!(events.dropped.load(Ordering::SeqCst), 0);
}
