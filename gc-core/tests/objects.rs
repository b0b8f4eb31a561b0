//! The object model: counted handles, immediate reclamation, weak references, finalizers,
//! cells, deep structures and the heap's own lifetime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gc_core::{Finalize, Gc, GcCell, GcLock, Heap, Trace, Weak};

/// Counts its deaths (finalizer) and drops (Drop) into shared counters.
#[derive(Trace)]
#[gc(finalize)]
struct Probe {
    id: usize,
    next: GcCell<Option<Gc<Probe>>>,
    #[gc(skip)]
    log: Arc<Log>,
}

#[derive(Default)]
struct Log {
    finalized: AtomicUsize,
    dropped: AtomicUsize,
    events: Mutex<Vec<String>>,
}

impl Log {
    fn event(&self, e: String) {
        self.events.lock().unwrap().push(e);
    }
    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }
}

impl Finalize for Probe {
    fn finalize(this: &Gc<Self>) {
        this.log.finalized.fetch_add(1, Ordering::SeqCst);
        this.log.event(format!("finalize {}", this.id));
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.log.dropped.fetch_add(1, Ordering::SeqCst);
        self.log.event(format!("drop {}", self.id));
    }
}

fn probe(heap: &Heap, id: usize, log: &Arc<Log>) -> Gc<Probe> {
    heap.alloc(Probe {
        id,
        next: GcCell::new(None),
        log: log.clone(),
    })
}

#[test]
fn clone_and_drop_count_and_the_last_drop_frees_at_once() {
    let heap = Heap::new();
    let log = Arc::new(Log::default());
    let a = probe(&heap, 1, &log);
    assert_eq!(Gc::ref_count(&a), 1);
    let b = a.clone();
    assert!(Gc::ptr_eq(&a, &b));
    assert_eq!(Gc::id(&a), Gc::id(&b));
    assert_eq!(Gc::ref_count(&a), 2);
    drop(b);
    assert_eq!(Gc::ref_count(&a), 1);
    assert_eq!(log.dropped.load(Ordering::SeqCst), 0);
    drop(a);
    assert_eq!(log.finalized.load(Ordering::SeqCst), 1);
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[test]
fn distinct_objects_have_distinct_ids() {
    let heap = Heap::new();
    let a = heap.alloc(1u32);
    let b = heap.alloc(1u32);
    assert!(!Gc::ptr_eq(&a, &b));
    assert_ne!(Gc::id(&a), Gc::id(&b));
    assert_eq!(*a, *b);
}

#[test]
fn counts_go_well_past_two_to_the_sixteen() {
    let heap = Heap::new();
    let log = Arc::new(Log::default());
    let a = probe(&heap, 0, &log);
    let many: Vec<Gc<Probe>> = (0..200_000).map(|_| a.clone()).collect();
    assert_eq!(Gc::ref_count(&a), 200_001);
    let weaks: Vec<Weak<Probe>> = (0..70_000).map(|_| Gc::downgrade(&a)).collect();
    assert_eq!(Gc::weak_count(&a), 70_000);
    drop(many);
    assert_eq!(Gc::ref_count(&a), 1);
    drop(a);
    assert_eq!(log.finalized.load(Ordering::SeqCst), 1);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
}

#[test]
fn weak_upgrade_until_death() {
    let heap = Heap::new();
    let a = heap.alloc(String::from("x"));
    let w = Gc::downgrade(&a);
    assert_eq!(Gc::weak_count(&a), 1);
    assert_eq!(w.upgrade().as_deref().map(String::as_str), Some("x"));
    assert_eq!(w.strong_count(), 1);
    let w2 = w.clone();
    drop(a);
    assert!(w.upgrade().is_none());
    assert!(w2.upgrade().is_none());
    assert_eq!(w.strong_count(), 0);
}

#[test]
fn death_order_is_finalizer_then_callbacks_newest_first_then_drop() {
    let heap = Heap::new();
    let log = Arc::new(Log::default());
    let a = probe(&heap, 7, &log);
    let plain = Gc::downgrade(&a);
    let mut weaks = Vec::new();
    for n in 0..3 {
        let log = log.clone();
        weaks.push(Gc::downgrade_with_callback(&a, move |w| {
            assert!(w.upgrade().is_none());
            log.event(format!("callback {n}"));
        }));
    }
    // A callback whose weak handle dies first never runs.
    let log2 = log.clone();
    drop(Gc::downgrade_with_callback(&a, move |_| {
        log2.event("dead weak".into())
    }));
    drop(a);
    assert_eq!(
        log.events(),
        vec![
            "finalize 7",
            "callback 2",
            "callback 1",
            "callback 0",
            "drop 7"
        ]
    );
    assert!(plain.upgrade().is_none());
}

/// Records whether a weak reference to itself still upgrades inside its finalizer.
#[derive(Trace)]
#[gc(finalize)]
struct Watched {
    #[gc(skip)]
    me: Mutex<Option<Weak<Watched>>>,
    #[gc(skip)]
    seen: Arc<Mutex<Option<bool>>>,
}

impl Finalize for Watched {
    fn finalize(this: &Gc<Self>) {
        let alive = this
            .me
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .upgrade()
            .is_some();
        *this.seen.lock().unwrap() = Some(alive);
    }
}

#[test]
fn weak_references_are_alive_inside_the_finalizer() {
    let heap = Heap::new();
    let seen = Arc::new(Mutex::new(None));
    let w = heap.alloc(Watched {
        me: Mutex::new(None),
        seen: seen.clone(),
    });
    *w.me.lock().unwrap() = Some(Gc::downgrade(&w));
    drop(w);
    assert_eq!(*seen.lock().unwrap(), Some(true));
}

/// Resurrects itself from its finalizer, once.
#[derive(Trace)]
#[gc(finalize)]
struct Lazarus {
    #[gc(skip)]
    saved: Arc<Mutex<Option<Gc<Lazarus>>>>,
    #[gc(skip)]
    runs: Arc<AtomicUsize>,
}

impl Finalize for Lazarus {
    fn finalize(this: &Gc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
        *this.saved.lock().unwrap() = Some(this.clone());
    }
}

#[test]
fn finalizer_resurrects_on_refcount_death_and_never_runs_twice() {
    let heap = Heap::new();
    let saved = Arc::new(Mutex::new(None));
    let runs = Arc::new(AtomicUsize::new(0));
    let l = heap.alloc(Lazarus {
        saved: saved.clone(),
        runs: runs.clone(),
    });
    let weak = Gc::downgrade(&l);
    drop(l);
    let back = saved.lock().unwrap().take().expect("resurrected");
    assert!(Gc::is_finalized(&back));
    assert!(weak.upgrade().is_some());
    drop(back);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(weak.upgrade().is_none());
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[derive(Trace)]
struct Plain {
    a: u64,
    b: String,
}

#[derive(Trace)]
struct Link {
    next: Option<Gc<Link>>,
}

#[test]
fn untracked_objects_are_never_listed() {
    let heap = Heap::new();
    heap.disable();
    let before = heap.count()[0];
    let p = heap.alloc(Plain {
        a: 1,
        b: "b".into(),
    });
    assert!(!Gc::is_tracked(&p));
    assert_eq!(heap.count()[0], before);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
    assert_eq!((p.a, p.b.as_str()), (1, "b"));
    let l = heap.alloc(Link { next: None });
    assert!(Gc::is_tracked(&l));
    assert_eq!(heap.count()[0], before + 1);
}

#[test]
fn a_million_deep_nesting_is_freed_without_overflow() {
    let heap = Heap::new();
    heap.disable();
    let mut top = heap.alloc(Link { next: None });
    for _ in 0..1_000_000 {
        top = heap.alloc(Link { next: Some(top) });
    }
    assert_eq!(heap.count()[0], 1_000_001);
    drop(top);
    assert_eq!(heap.count()[0], 0);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[test]
fn a_million_node_garbage_chain_is_collected_without_overflow() {
    let heap = Heap::new();
    heap.disable();
    let first = heap.alloc(Probe {
        id: 0,
        next: GcCell::new(None),
        log: Arc::new(Log::default()),
    });
    let log = first.log.clone();
    let mut last = first.clone();
    for id in 1..1_000_000 {
        let n = probe(&heap, id, &log);
        *last.next.borrow_mut() = Some(n.clone());
        last = n;
    }
    *last.next.borrow_mut() = Some(first.clone());
    drop((first, last));
    assert_eq!(heap.collect(), 1_000_000);
    assert_eq!(log.finalized.load(Ordering::SeqCst), 1_000_000);
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1_000_000);
}

#[test]
fn gc_cell_borrows_conflict_loudly() {
    let heap = Heap::new();
    let cell = heap.alloc(GcCell::new(vec![heap.alloc(Link { next: None })]));
    {
        let r1 = cell.borrow();
        let r2 = cell.borrow();
        assert_eq!(r1.len() + r2.len(), 2);
        assert!(cell.try_borrow_mut().is_err());
    }
    {
        let mut w = cell.borrow_mut();
        w.push(heap.alloc(Link { next: None }));
        assert!(cell.try_borrow().is_err());
    }
    assert_eq!(cell.borrow().len(), 2);
    let taken = cell.take();
    assert_eq!(taken.len(), 2);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _w = cell.borrow_mut();
        let _r = cell.borrow();
    }));
    assert!(result.is_err());
    assert!(
        cell.try_borrow_mut().is_ok(),
        "the failed borrow left no trace"
    );
}

#[test]
fn gc_lock_shares_edges_between_threads() {
    let heap = Heap::new();
    let shared = heap.alloc(GcLock::new(Vec::<Gc<Link>>::new()));
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..1000 {
                    let l = heap.alloc(Link { next: None });
                    shared.write().push(l);
                }
            });
        }
    });
    assert_eq!(shared.read().len(), 4000);
}

#[test]
fn handles_cross_threads_without_leak_or_double_free() {
    let heap = Heap::new();
    heap.disable();
    let log = Arc::new(Log::default());
    let objects: Vec<Gc<Probe>> = (0..1000).map(|i| probe(&heap, i, &log)).collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let mine: Vec<Gc<Probe>> = objects.iter().map(Gc::clone).collect();
            let heap = &heap;
            s.spawn(move || {
                let m = heap.attach();
                let mut extra = Vec::new();
                for (i, o) in mine.iter().enumerate() {
                    if i % 4 == t {
                        extra.push(o.clone());
                    }
                    m.safepoint();
                }
                drop(mine);
                drop(extra);
            });
        }
    });
    assert_eq!(log.finalized.load(Ordering::SeqCst), 0);
    assert!(objects.iter().all(|o| Gc::ref_count(o) == 1));
    drop(objects);
    assert_eq!(log.finalized.load(Ordering::SeqCst), 1000);
    assert_eq!(log.dropped.load(Ordering::SeqCst), 1000);
}

#[test]
fn dropping_the_last_heap_handle_collects_and_survivors_stay_valid() {
    let log = Arc::new(Log::default());
    let survivor;
    {
        let heap = Heap::new();
        heap.disable();
        let cycle = probe(&heap, 1, &log);
        *cycle.next.borrow_mut() = Some(cycle.clone());
        drop(cycle);
        survivor = probe(&heap, 2, &log);
        let linked = probe(&heap, 3, &log);
        *survivor.next.borrow_mut() = Some(linked);
    }
    assert_eq!(
        log.finalized.load(Ordering::SeqCst),
        1,
        "the cycle was collected"
    );
    let again = survivor.clone();
    assert_eq!(again.next.borrow().as_ref().unwrap().id, 3);
    drop(again);
    drop(survivor);
    assert_eq!(log.finalized.load(Ordering::SeqCst), 3);
    assert_eq!(log.dropped.load(Ordering::SeqCst), 3);
}

#[test]
fn several_heaps_coexist() {
    let h1 = Heap::new();
    let h2 = Heap::with_config(gc_core::Config::default().thresholds(&[10, 5])).unwrap();
    h1.disable();
    h2.disable();
    let a = h1.alloc(Link { next: None });
    let b = h2.alloc(Link {
        next: Some(a.clone()),
    });
    assert_eq!(h1.objects(None).unwrap().len(), 1);
    assert_eq!(h2.objects(None).unwrap().len(), 1);
    assert_eq!(h2.generations(), 2);
    drop(b);
    assert_eq!(h2.objects(None).unwrap().len(), 0);
    assert_eq!(Gc::ref_count(&a), 1);
}
