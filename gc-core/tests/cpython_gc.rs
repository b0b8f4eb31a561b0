//! CPython's `Lib/test/test_gc.py` behaviours, restated for a gc-core heap.
//!
//! "collect()" is a full collection with automatic collection disabled unless said otherwise.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gc_core::{
    CollectionInfo, Config, DebugFlags, Finalize, Gc, GcAny, GcCell, GcError, Heap, Phase, Trace,
    Weak,
};

/// A traced object with a cell holding edges.
#[derive(Trace)]
struct Node {
    label: u32,
    edges: GcCell<Vec<Gc<Node>>>,
}

fn heap() -> Heap {
    let heap = Heap::new();
    heap.disable();
    heap
}

fn node(heap: &Heap, label: u32) -> Gc<Node> {
    heap.alloc(Node {
        label,
        edges: GcCell::new(Vec::new()),
    })
}

fn link(from: &Gc<Node>, to: &Gc<Node>) {
    from.edges.borrow_mut().push(to.clone());
}

fn self_cycle(heap: &Heap, label: u32) -> Gc<Node> {
    let n = node(heap, label);
    link(&n, &n);
    n
}

#[test]
fn s01_self_cycle_is_collected_once() {
    let heap = heap();
    drop(self_cycle(&heap, 1));
    assert_eq!(heap.collect(), 1);
    assert_eq!(heap.collect(), 0);
}

#[derive(Trace)]
struct Map {
    entries: GcCell<HashMap<String, Gc<Map>>>,
}

#[test]
fn s02_map_holding_itself() {
    let heap = heap();
    let d = heap.alloc(Map {
        entries: GcCell::new(HashMap::new()),
    });
    d.entries.borrow_mut().insert("me".into(), d.clone());
    drop(d);
    assert_eq!(heap.collect(), 1);
}

#[derive(Trace)]
struct A {
    pair: GcCell<Option<Gc<APair>>>,
}

/// Immutable once made: no cell.
#[derive(Trace)]
struct APair(Gc<A>, u32);

#[test]
fn s03_object_holding_an_immutable_pair_that_holds_it() {
    let heap = heap();
    let a = heap.alloc(A {
        pair: GcCell::new(None),
    });
    *a.pair.borrow_mut() = Some(heap.alloc(APair(a.clone(), 1)));
    drop(a);
    assert_eq!(heap.collect(), 2);
}

#[derive(Trace)]
struct Atomic {
    n: u64,
    s: String,
    v: Vec<f64>,
}

#[test]
fn s04_atomic_objects_are_untracked() {
    let heap = heap();
    let atomic = heap.alloc(Atomic {
        n: 1,
        s: "x".into(),
        v: vec![1.0],
    });
    assert!(!heap.is_tracked(&atomic));
    assert_eq!((atomic.n, atomic.s.as_str(), atomic.v[0]), (1, "x", 1.0));
    let n = node(&heap, 0);
    assert!(heap.is_tracked(&n));
    assert!(heap.objects(None).unwrap().iter().all(|o| o.is::<Node>()));
}

#[test]
fn s05_saveall_keeps_the_garbage() {
    let heap = heap();
    heap.set_debug(DebugFlags::SAVEALL);
    let n = self_cycle(&heap, 5);
    let id = Gc::id(&n);
    drop(n);
    assert_eq!(heap.collect(), 1);
    let garbage = heap.garbage();
    assert_eq!(garbage.len(), 1);
    assert_eq!(garbage[0].id(), id);
    let alive = garbage[0].downcast::<Node>().expect("a Node");
    assert_eq!(alive.label, 5);
    drop(alive);
    drop(garbage);
    heap.set_debug(DebugFlags::empty());
    drop(heap.take_garbage());
    assert_eq!(heap.collect(), 1);
}

#[test]
fn s06_count_after_collect() {
    let heap = heap();
    let _keep: Vec<_> = (0..10).map(|i| node(&heap, i)).collect();
    heap.collect();
    let c = heap.count();
    assert!(c[0] < 5, "{c:?}");
    assert_eq!(&c[1..], &[0, 0]);
    let _one = node(&heap, 99);
    assert_eq!(heap.count()[0], c[0] + 1);
}

#[test]
fn s07_counts_of_older_generations() {
    let heap = heap();
    heap.collect();
    let _x = node(&heap, 0);
    heap.collect_generation(0).unwrap();
    assert_eq!(&heap.count()[1..], &[1, 0]);
    heap.collect_generation(1).unwrap();
    assert_eq!(&heap.count()[1..], &[0, 1]);
    heap.collect_generation(2).unwrap();
    assert_eq!(&heap.count()[1..], &[0, 0]);
}

fn in_generation(heap: &Heap, gen: usize, id: usize) -> bool {
    heap.objects(Some(gen))
        .unwrap()
        .iter()
        .any(|o| o.id() == id)
}

#[test]
fn s08_objects_per_generation() {
    let heap = heap();
    let n = self_cycle(&heap, 0);
    let id = Gc::id(&n);
    let only = |g: usize| (0..3).all(|k| in_generation(&heap, k, id) == (k == g));
    assert!(only(0));
    heap.collect_generation(0).unwrap();
    assert!(only(1));
    heap.collect_generation(1).unwrap();
    assert!(only(2));
    heap.collect();
    assert!(only(2));
    assert!(heap.objects(None).unwrap().iter().any(|o| o.id() == id));
    assert_eq!(
        heap.objects(Some(3)).unwrap_err(),
        GcError::GenerationOutOfRange {
            generation: 3,
            generations: 3
        }
    );
    assert!(heap.collect_generation(7).is_err());
}

#[test]
fn s09_freeze() {
    let heap = heap();
    let n = self_cycle(&heap, 0);
    heap.freeze();
    assert!(heap.freeze_count() > 0);
    drop(n);
    assert_eq!(heap.collect(), 0);
    heap.unfreeze();
    assert_eq!(heap.freeze_count(), 0);
    assert_eq!(heap.collect(), 1);
}

#[test]
fn s10_stats() {
    let heap = heap();
    let before = heap.stats();
    assert_eq!(before.len(), 3);
    heap.collect_generation(0).unwrap();
    let after = heap.stats();
    assert_eq!(after[0].collections, before[0].collections + 1);
    assert_eq!(after[1].collections, before[1].collections);
    assert_eq!(after[2].collections, before[2].collections);
    heap.collect();
    let full = heap.stats();
    assert_eq!(full[0].collections, after[0].collections);
    assert_eq!(full[1].collections, after[1].collections);
    assert_eq!(full[2].collections, after[2].collections + 1);
}

/// A self-cycle whose finalizer counts its runs and may resurrect the object.
#[derive(Trace)]
#[gc(finalize)]
struct Phoenix {
    me: GcCell<Option<Gc<Phoenix>>>,
    cargo: GcCell<Option<Gc<Node>>>,
    #[gc(skip)]
    runs: Arc<AtomicUsize>,
    #[gc(skip)]
    saved: Arc<Mutex<Vec<Gc<Phoenix>>>>,
    #[gc(skip)]
    resurrect: bool,
}

impl Finalize for Phoenix {
    fn finalize(this: &Gc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
        if this.resurrect {
            this.saved.lock().unwrap().push(this.clone());
        }
    }
}

struct PhoenixKit {
    runs: Arc<AtomicUsize>,
    saved: Arc<Mutex<Vec<Gc<Phoenix>>>>,
}

impl PhoenixKit {
    fn new() -> Self {
        PhoenixKit {
            runs: Arc::new(AtomicUsize::new(0)),
            saved: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn make(&self, heap: &Heap, resurrect: bool) -> Gc<Phoenix> {
        let p = heap.alloc(Phoenix {
            me: GcCell::new(None),
            cargo: GcCell::new(None),
            runs: self.runs.clone(),
            saved: self.saved.clone(),
            resurrect,
        });
        *p.me.borrow_mut() = Some(p.clone());
        p
    }
}

#[test]
fn s11_resurrection_runs_the_finalizer_once() {
    let heap = heap();
    let kit = PhoenixKit::new();
    drop(kit.make(&heap, true));
    assert_eq!(heap.collect(), 0, "the resurrected object is not garbage");
    assert_eq!(kit.runs.load(Ordering::SeqCst), 1);
    let saved = kit.saved.lock().unwrap().pop().expect("resurrected");
    assert!(heap.is_finalized(&saved));
    drop(saved);
    assert_eq!(heap.collect(), 1);
    assert_eq!(
        kit.runs.load(Ordering::SeqCst),
        1,
        "finalizers never run twice"
    );
}

#[test]
fn s12_resurrection_is_transitive() {
    let heap = heap();
    let kit = PhoenixKit::new();
    let l = kit.make(&heap, true);
    let c = self_cycle(&heap, 42);
    link(&c, &node(&heap, 43));
    *l.cargo.borrow_mut() = Some(c.clone());
    drop((l, c));
    assert_eq!(heap.collect(), 0);
    let l = kit.saved.lock().unwrap().pop().unwrap();
    let cargo = l.cargo.borrow().clone().expect("cargo kept");
    assert_eq!(cargo.label, 42);
    let edges = cargo.edges.borrow();
    assert_eq!(edges.len(), 2, "fields intact");
    assert!(Gc::ptr_eq(&edges[0], &cargo));
    assert_eq!(edges[1].label, 43);
}

#[test]
fn s13_plain_cycles_and_one_resurrected() {
    let heap = heap();
    let kit = PhoenixKit::new();
    for i in 0..100 {
        drop(self_cycle(&heap, i));
    }
    drop(kit.make(&heap, true));
    let collected_before = heap.stats()[2].collected;
    assert_eq!(heap.collect(), 100);
    assert_eq!(heap.stats()[2].collected, collected_before + 100);
    kit.saved.lock().unwrap().clear();
    assert_eq!(heap.collect(), 1);
}

#[test]
fn s14_callbacks_see_start_and_stop() {
    let heap = heap();
    let seen: Arc<Mutex<Vec<(Phase, CollectionInfo)>>> = Arc::default();
    let ids: Vec<_> = (0..2)
        .map(|_| {
            let seen = seen.clone();
            heap.add_callback(move |phase, info| seen.lock().unwrap().push((phase, *info)))
        })
        .collect();
    drop(self_cycle(&heap, 0));
    heap.collect();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen.iter().filter(|(p, _)| *p == Phase::Start).count(), 2);
    for (phase, info) in seen.iter().filter(|(p, _)| *p == Phase::Stop) {
        assert_eq!(*phase, Phase::Stop);
        assert_eq!(info.generation, 2);
        assert_eq!(info.collected, 1);
        assert!(info.examined >= 1);
    }
    assert!(heap.remove_callback(ids[0]));
    assert!(!heap.remove_callback(ids[0]));
}

#[derive(Trace)]
struct Three {
    a: Gc<Node>,
    b: Gc<Node>,
    c: Gc<Node>,
}

#[test]
fn s15_referents_in_trace_order() {
    let heap = heap();
    let (a, b, c) = (node(&heap, 1), node(&heap, 2), node(&heap, 3));
    let three: GcAny = heap
        .alloc(Three {
            a: a.clone(),
            b: b.clone(),
            c: c.clone(),
        })
        .into();
    let ids: Vec<usize> = heap.referents(&three).iter().map(GcAny::id).collect();
    assert_eq!(ids, vec![Gc::id(&a), Gc::id(&b), Gc::id(&c)]);
}

#[test]
fn s16_referrers() {
    let heap = heap();
    let x = node(&heap, 0);
    let a = node(&heap, 1);
    let b = node(&heap, 2);
    let _other = node(&heap, 3);
    link(&a, &x);
    link(&b, &x);
    let mut ids: Vec<usize> = heap
        .referrers(&[GcAny::from(&x)])
        .iter()
        .map(GcAny::id)
        .collect();
    ids.sort();
    let mut want = vec![Gc::id(&a), Gc::id(&b)];
    want.sort();
    assert_eq!(ids, want);
}

fn auto_collections(heap: &Heap, allocations: u32) -> u64 {
    let before: u64 = heap.stats().iter().map(|s| s.collections).sum();
    for i in 0..allocations {
        drop(self_cycle(heap, i));
    }
    heap.stats().iter().map(|s| s.collections).sum::<u64>() - before
}

#[test]
fn s17_automatic_collection() {
    let heap = Heap::with_config(Config::default().thresholds(&[1000, 0, 0])).unwrap();
    assert!(auto_collections(&heap, 10_000) > 0);
    heap.collect();
    heap.disable();
    assert_eq!(auto_collections(&heap, 10_000), 0);
    heap.collect();
    heap.enable();
    heap.set_thresholds(&[0, 0, 0]).unwrap();
    assert_eq!(auto_collections(&heap, 10_000), 0);
}

#[test]
fn s18_long_chain_is_freed_without_overflow() {
    let heap = heap();
    let mut head = node(&heap, 0);
    for i in 1..1_000_000 {
        let n = node(&heap, i);
        link(&n, &head);
        head = n;
    }
    assert_eq!(heap.objects(None).unwrap().len(), 1_000_000);
    drop(head);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
    assert_eq!(heap.count()[0], 0);
}

#[test]
fn s19_weak_callback_on_refcount_death() {
    let heap = heap();
    let runs = Arc::new(AtomicUsize::new(0));
    let n = node(&heap, 0);
    let r = runs.clone();
    let weak = Gc::downgrade_with_callback(&n, move |w: &Weak<Node>| {
        assert!(w.upgrade().is_none());
        r.fetch_add(1, Ordering::SeqCst);
    });
    drop(n);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(weak.upgrade().is_none());
}

#[derive(Trace)]
#[gc(finalize)]
struct Counted {
    me: GcCell<Option<Gc<Counted>>>,
    #[gc(skip)]
    runs: Arc<AtomicUsize>,
}

impl Finalize for Counted {
    fn finalize(this: &Gc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn s20_weak_reference_into_a_garbage_cycle() {
    let heap = heap();
    let runs = Arc::new(AtomicUsize::new(0));
    let c = heap.alloc(Counted {
        me: GcCell::new(None),
        runs: runs.clone(),
    });
    *c.me.borrow_mut() = Some(c.clone());
    let weak = Gc::downgrade(&c);
    assert!(weak.upgrade().is_some());
    drop(c);
    assert_eq!(heap.collect(), 1);
    assert!(weak.upgrade().is_none());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// An object in a cycle, holding the only strong reference to `target` and a weak reference
/// with a callback to it (CPython's bpo-38006).
#[derive(Trace)]
struct Watcher {
    me: GcCell<Option<Gc<Watcher>>>,
    target: GcCell<Option<Gc<Node>>>,
    watch: GcCell<Option<Weak<Node>>>,
}

#[test]
fn weak_references_inside_the_garbage_never_call_back() {
    let heap = heap();
    let calls = Arc::new(AtomicUsize::new(0));
    let old = node(&heap, 1);
    heap.collect();
    assert!(in_generation(&heap, 2, Gc::id(&old)), "an old object");
    let watcher = heap.alloc(Watcher {
        me: GcCell::new(None),
        target: GcCell::new(Some(old.clone())),
        watch: GcCell::new(None),
    });
    watcher.me.set(Some(watcher.clone()));
    let counted = calls.clone();
    let weak = Gc::downgrade_with_callback(&old, move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    watcher.watch.set(Some(weak));
    let old_weak = Gc::downgrade(&old);
    drop((old, watcher));
    // The young cycle is garbage; the old object dies by reference count while it is torn
    // down, and the weak reference inside the garbage must not call back.
    assert_eq!(heap.collect_generation(0).unwrap(), 1);
    assert!(
        old_weak.upgrade().is_none(),
        "the old object died in the teardown"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A node whose `Drop` panics: torn down in a collection, it counts as uncollectable.
#[derive(Trace)]
struct Explosive {
    edges: GcCell<Vec<Gc<Explosive>>>,
    #[gc(skip)]
    explode: bool,
}

impl Drop for Explosive {
    fn drop(&mut self) {
        if self.explode {
            panic!("Explosive refuses to drop");
        }
    }
}

#[test]
fn an_uncollectable_object_is_counted_once_by_collect_stats_and_callbacks() {
    let heap = heap();
    let (a, b) = (
        heap.alloc(Explosive {
            edges: GcCell::new(Vec::new()),
            explode: true,
        }),
        heap.alloc(Explosive {
            edges: GcCell::new(Vec::new()),
            explode: false,
        }),
    );
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    drop((a, b));
    let seen = Arc::new(Mutex::new(None));
    let stop = seen.clone();
    heap.add_callback(move |phase, info| {
        if phase == Phase::Stop {
            *stop.lock().unwrap() = Some((info.collected, info.uncollectable));
        }
    });
    let before = heap.stats()[2];
    assert_eq!(
        heap.collect(),
        2,
        "collect() counts every unreachable object"
    );
    let after = heap.stats()[2];
    assert_eq!(after.collected - before.collected, 1);
    assert_eq!(after.uncollectable - before.uncollectable, 1);
    assert_eq!(*seen.lock().unwrap(), Some((1, 1)), "the callback's split");
}
