//! Bad input: user code that panics or breaks the rules at every point where gc-core calls it,
//! collections requested at awkward moments, threads that exit while attached, and very large
//! reference counts. Each must end in a clear panic message or a reported-and-ignored panic,
//! with the heap consistent and usable afterwards — never a double free, a lost object or a
//! deadlock.
//!
//! Extends `collector.rs` (which covers a `Trace` that clones, a `Drop` reaching its cycle, one
//! panicking finalizer and callback in a collection, `collect()` from a finalizer during a
//! collection, a write borrow held across `collect()`, and a thread that exits attached) without
//! repeating it.
//!
//! The tests take a process-wide lock so they do not overlap: an unbounded stop from a thread
//! that holds the world can deadlock against a concurrent stop of another heap (see
//! `attached_threads_collecting_different_heaps_do_not_deadlock`), and several tests here
//! collect while holding the world on purpose. Tests that could wedge the process-wide world
//! run in a child process with a deadline (`isolated`).

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use gc_core::{Config, Finalize, Gc, GcCell, GcLock, Heap, Trace, Tracer, Weak};

mod common;
use common::{isolated, message, panics, quiet_heap, serial};

/// What happened to the objects of one test.
#[derive(Default)]
struct Log {
    drops: AtomicUsize,
    finalized: AtomicUsize,
    callbacks: AtomicUsize,
    order: Mutex<Vec<String>>,
}

impl Log {
    fn new() -> Arc<Log> {
        Arc::new(Log::default())
    }
    fn drops(&self) -> usize {
        self.drops.load(SeqCst)
    }
    fn finalized(&self) -> usize {
        self.finalized.load(SeqCst)
    }
    fn callbacks(&self) -> usize {
        self.callbacks.load(SeqCst)
    }
    fn note(&self, what: String) {
        self.order.lock().unwrap().push(what);
    }
}

// ---------------------------------------------------------------------------------------------
// A panicking `Trace`.

/// A node whose `Trace` panics when its fuse runs out: `fuse` is the number of trace calls
/// that still succeed (negative: never panics).
struct Fragile {
    edges: GcCell<Vec<Gc<Fragile>>>,
    fuse: AtomicIsize,
    log: Arc<Log>,
}

// SAFETY: reports its edges (its cell) exactly once, unless it panics first.
unsafe impl Trace for Fragile {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.fuse.fetch_sub(1, SeqCst) == 0 {
            panic!("Fragile::trace blew its fuse");
        }
        self.edges.trace(tracer);
    }
}

impl Drop for Fragile {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, SeqCst);
    }
}

fn fragile(heap: &Heap, log: &Arc<Log>) -> Gc<Fragile> {
    heap.alloc(Fragile {
        edges: GcCell::new(Vec::new()),
        fuse: AtomicIsize::new(-1),
        log: log.clone(),
    })
}

/// A panic in the `Trace` of a live object (`in_garbage` false) or of a garbage one during a
/// collection on a heap built from `config` (objects are traced once per collection, in
/// `subtract_refs`): it propagates out of `collect()` with its own message; nothing is freed,
/// nothing moves; the next collection (the fuse spent) frees exactly the garbage, each object
/// once.
fn panicking_trace_leaves_the_heap_usable(config: Config, in_garbage: bool) {
    let heap = Heap::with_config(config).unwrap();
    heap.disable();
    let log = Log::new();
    // Live: a chain from a root; garbage: self-cycles and a ring.
    let root = fragile(&heap, &log);
    let mut tail = root.clone();
    for _ in 0..20 {
        let next = fragile(&heap, &log);
        tail.edges.borrow_mut().push(next.clone());
        tail = next;
    }
    drop(tail);
    let mut weaks = Vec::new();
    for _ in 0..30 {
        let g = fragile(&heap, &log);
        g.edges.borrow_mut().push(g.clone());
        weaks.push(Gc::downgrade(&g));
    }
    let ring: Vec<Gc<Fragile>> = (0..10).map(|_| fragile(&heap, &log)).collect();
    for (i, g) in ring.iter().enumerate() {
        g.edges
            .borrow_mut()
            .push(ring[(i + 1) % ring.len()].clone());
    }
    weaks.push(Gc::downgrade(&ring[0]));
    // The next trace call of the armed object panics; the ones after it do not.
    let armed = if in_garbage { &ring[3] } else { &root };
    armed.fuse.store(0, SeqCst);
    drop(ring);
    let listed = heap.objects(None).unwrap().len();
    assert_eq!(listed, 21 + 30 + 10);

    let msg = panics(|| {
        heap.collect();
    });
    assert!(
        msg.contains("blew its fuse"),
        "the user's panic comes out: {msg}"
    );
    assert_eq!(log.drops(), 0, "nothing freed by the failed collection");
    assert_eq!(
        heap.objects(None).unwrap().len(),
        listed,
        "every object back on a list"
    );
    assert!(
        weaks.iter().all(|w| w.upgrade().is_some()),
        "the garbage was not judged: weak references still work"
    );

    assert_eq!(heap.collect(), 40);
    assert_eq!(log.drops(), 40, "each garbage object dropped exactly once");
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    assert_eq!(heap.objects(None).unwrap().len(), 21);
    // The live chain is intact.
    let mut n = 1;
    let mut cur = root.clone();
    loop {
        let next = cur.edges.borrow().first().cloned();
        match next {
            Some(next) => cur = next,
            None => break,
        }
        n += 1;
    }
    assert_eq!(n, 21);
    drop(cur);
    assert_eq!(heap.collect(), 0);
    drop(root);
    assert_eq!(
        log.drops(),
        61,
        "the chain goes by reference counting, once each"
    );
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[test]
fn a_panicking_trace_propagates_out_of_collect_and_the_heap_stays_usable() {
    let _serial = serial();
    for in_garbage in [false, true] {
        panicking_trace_leaves_the_heap_usable(Config::default().workers(1), in_garbage);
    }
}

#[test]
fn a_panicking_trace_in_the_parallel_subtract_phase_propagates() {
    let _serial = serial();
    isolated(
        "a_panicking_trace_in_the_parallel_subtract_phase_propagates",
        Duration::from_secs(20),
        || {
            let config = Config::default().workers(2).parallel_cutoff(0);
            panicking_trace_leaves_the_heap_usable(config.clone(), false);
            panicking_trace_leaves_the_heap_usable(config, true);
        },
    );
}

/// A `Trace` that calls into the heap (collects, or allocates) while the world is stopped.
struct Meddler {
    me: GcCell<Option<Gc<Meddler>>>,
    heap: Heap,
    collect: bool,
    armed: AtomicBool,
}

// SAFETY: reports its one edge once; the heap call it makes when armed is the bug under test.
unsafe impl Trace for Meddler {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.armed.swap(false, SeqCst) {
            if self.collect {
                self.heap.collect();
            } else {
                drop(self.heap.alloc(Fragile {
                    edges: GcCell::new(Vec::new()),
                    fuse: AtomicIsize::new(-1),
                    log: Log::new(),
                }));
            }
        }
        self.me.trace(tracer);
    }
}

#[test]
fn a_trace_that_collects_or_allocates_fails_loudly() {
    let _serial = serial();
    for collect in [true, false] {
        let heap = quiet_heap();
        let m = heap.alloc(Meddler {
            me: GcCell::new(None),
            heap: heap.clone(),
            collect,
            armed: AtomicBool::new(true),
        });
        *m.me.borrow_mut() = Some(m.clone());
        // A candidate (its count fell), so that any scan traces it.
        drop(m.clone());
        let msg = panics(|| {
            heap.collect();
        });
        assert!(
            msg.contains("world stopped"),
            "collect={collect}: a clear message: {msg}"
        );
        assert_eq!(heap.objects(None).unwrap().len(), 1);
        let w = Gc::downgrade(&m);
        drop(m);
        assert_eq!(heap.collect(), 1, "collect={collect}: the heap still works");
        assert!(w.upgrade().is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// A panicking `Drop`.

#[derive(Trace)]
struct Brittle {
    #[gc(skip)]
    name: usize,
    #[gc(skip)]
    explode: bool,
    edges: GcCell<Vec<Gc<Brittle>>>,
    #[gc(skip)]
    log: Arc<Log>,
}

impl Drop for Brittle {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, SeqCst);
        if self.explode {
            panic!("Brittle {} refuses to drop", self.name);
        }
    }
}

fn brittle(heap: &Heap, name: usize, explode: bool, log: &Arc<Log>) -> Gc<Brittle> {
    heap.alloc(Brittle {
        name,
        explode,
        edges: GcCell::new(Vec::new()),
        log: log.clone(),
    })
}

#[test]
fn a_panicking_drop_in_a_garbage_cycle_is_counted_and_the_rest_is_freed() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    // A ring of five, one of which panics in Drop, plus a leaf only the panicking one holds.
    let ring: Vec<Gc<Brittle>> = (0..5).map(|i| brittle(&heap, i, i == 2, &log)).collect();
    for (i, g) in ring.iter().enumerate() {
        g.edges.borrow_mut().push(ring[(i + 1) % 5].clone());
    }
    let leaf = brittle(&heap, 99, false, &log);
    ring[2].edges.borrow_mut().push(leaf.clone());
    let leaf_weak = Gc::downgrade(&leaf);
    let bad_weak = Gc::downgrade(&ring[2]);
    drop((ring, leaf));
    let before = heap.stats()[2];
    assert_eq!(heap.collect(), 6);
    let after = heap.stats()[2];
    assert_eq!(after.uncollectable - before.uncollectable, 1);
    assert_eq!(after.collected - before.collected, 5);
    assert_eq!(
        log.drops(),
        6,
        "every Drop ran once, the panicking one included"
    );
    assert!(leaf_weak.upgrade().is_none() && bad_weak.upgrade().is_none());
    assert_eq!(heap.objects(None).unwrap().len(), 0);
    // Still usable.
    let c = brittle(&heap, 7, false, &log);
    c.edges.borrow_mut().push(c.clone());
    drop(c);
    assert_eq!(heap.collect(), 1);
    assert_eq!(log.drops(), 7);
}

#[test]
fn a_panicking_drop_on_refcount_death_reaches_the_dropper_and_frees_the_rest() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    let parent = brittle(&heap, 1, true, &log);
    let child = brittle(&heap, 2, false, &log);
    parent.edges.borrow_mut().push(child.clone());
    let (pw, cw) = (Gc::downgrade(&parent), Gc::downgrade(&child));
    drop(child);
    // Like `Box` or `Arc`: the panic of a value's Drop comes out of the drop of its owner.
    let msg = panics(|| drop(parent));
    assert!(msg.contains("refuses to drop"), "{msg}");
    assert_eq!(
        log.drops(),
        2,
        "the child, owned by a field, was still dropped"
    );
    assert!(pw.upgrade().is_none() && cw.upgrade().is_none());
    assert_eq!(heap.objects(None).unwrap().len(), 0, "both unlisted");
    assert_eq!(heap.collect(), 0);
    assert_eq!(heap.count()[0], 0);
}

#[test]
fn a_panicking_drop_deep_in_a_long_chain_frees_every_other_node_once() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    // Deeper than the trashcan's depth, so part of the chain is freed from its deferred queue.
    let n = 1000;
    let mut head: Option<Gc<Brittle>> = None;
    for i in (0..n).rev() {
        let node = brittle(&heap, i, i == 500, &log);
        if let Some(next) = head.take() {
            node.edges.borrow_mut().push(next);
        }
        head = Some(node);
    }
    let msg = panics(|| drop(head));
    assert!(msg.contains("Brittle 500"), "{msg}");
    // Whatever the trashcan left queued when the panic unwound is freed by this thread's next
    // reference-count death.
    drop(brittle(&heap, n, false, &log));
    assert_eq!(log.drops(), n + 1, "every node dropped exactly once");
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Panicking finalizers and weak callbacks.

#[derive(Trace)]
#[gc(finalize)]
struct Touchy {
    #[gc(skip)]
    name: usize,
    /// 0: finalizer fine; 1: panics; 2: resurrects, then panics.
    #[gc(skip)]
    mode: u8,
    edges: GcCell<Vec<Gc<Touchy>>>,
    #[gc(skip)]
    log: Arc<Log>,
    #[gc(skip)]
    saved: Arc<Mutex<Vec<Gc<Touchy>>>>,
}

impl Finalize for Touchy {
    fn finalize(this: &Gc<Self>) {
        this.log.finalized.fetch_add(1, SeqCst);
        this.log.note(format!("finalize {}", this.name));
        match this.mode {
            1 => panic!("Touchy {} finalizer", this.name),
            2 => {
                this.saved.lock().unwrap().push(this.clone());
                panic!("Touchy {} finalizer after resurrecting", this.name);
            }
            _ => {}
        }
    }
}

impl Drop for Touchy {
    fn drop(&mut self) {
        self.log.drops.fetch_add(1, SeqCst);
        self.log.note(format!("drop {}", self.name));
    }
}

struct Kit {
    heap: Heap,
    log: Arc<Log>,
    saved: Arc<Mutex<Vec<Gc<Touchy>>>>,
}

impl Kit {
    fn new() -> Kit {
        Kit {
            heap: quiet_heap(),
            log: Log::new(),
            saved: Arc::default(),
        }
    }

    fn make(&self, name: usize, mode: u8) -> Gc<Touchy> {
        self.heap.alloc(Touchy {
            name,
            mode,
            edges: GcCell::new(Vec::new()),
            log: self.log.clone(),
            saved: self.saved.clone(),
        })
    }

    fn callback(&self, obj: &Gc<Touchy>, name: &'static str, panic: bool) -> Weak<Touchy> {
        let log = self.log.clone();
        Gc::downgrade_with_callback(obj, move |_| {
            log.callbacks.fetch_add(1, SeqCst);
            log.note(format!("callback {name}"));
            if panic {
                panic!("callback {name} panics");
            }
        })
    }
}

#[test]
fn a_panicking_finalizer_on_refcount_death_is_reported_and_the_object_still_dies() {
    let _serial = serial();
    let kit = Kit::new();
    let t = kit.make(1, 1);
    let _w = kit.callback(&t, "w", false);
    drop(t); // does not unwind into the dropper
    assert_eq!(
        *kit.log.order.lock().unwrap(),
        ["finalize 1", "callback w", "drop 1"],
        "callbacks and Drop still run, in order"
    );
    assert_eq!(kit.heap.objects(None).unwrap().len(), 0);
}

#[test]
fn a_finalizer_that_resurrects_then_panics_keeps_the_object_and_never_runs_again() {
    let _serial = serial();
    let kit = Kit::new();
    // By reference count.
    drop(kit.make(1, 2));
    let back = kit
        .saved
        .lock()
        .unwrap()
        .pop()
        .expect("resurrected before the panic");
    assert!(Gc::is_finalized(&back));
    assert_eq!(kit.log.drops(), 0);
    drop(back);
    assert_eq!((kit.log.finalized(), kit.log.drops()), (1, 1));
    // In a collection.
    let c = kit.make(2, 2);
    c.edges.borrow_mut().push(c.clone());
    drop(c);
    assert_eq!(kit.heap.collect(), 0, "resurrected");
    let back = kit
        .saved
        .lock()
        .unwrap()
        .pop()
        .expect("resurrected before the panic");
    assert_eq!(back.edges.borrow().len(), 1, "intact");
    drop(back);
    assert_eq!(kit.heap.collect(), 1);
    assert_eq!((kit.log.finalized(), kit.log.drops()), (2, 2));
}

#[test]
fn panicking_finalizers_in_a_collection_do_not_stop_the_others() {
    let _serial = serial();
    let kit = Kit::new();
    // A ring of six: every other member's finalizer panics.
    let ring: Vec<Gc<Touchy>> = (0..6).map(|i| kit.make(i, (i % 2) as u8)).collect();
    for (i, g) in ring.iter().enumerate() {
        g.edges.borrow_mut().push(ring[(i + 1) % 6].clone());
    }
    let weaks: Vec<Weak<Touchy>> = ring
        .iter()
        .enumerate()
        .map(|(i, g)| kit.callback(g, ["a", "b", "c", "d", "e", "f"][i], i % 3 == 0))
        .collect();
    drop(ring);
    assert_eq!(kit.heap.collect(), 6);
    assert_eq!(kit.log.finalized(), 6, "every finalizer ran once");
    assert_eq!(kit.log.callbacks(), 6, "every callback ran once");
    assert_eq!(kit.log.drops(), 6);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    let order = kit.log.order.lock().unwrap().clone();
    let last_callback = order
        .iter()
        .rposition(|e| e.starts_with("callback"))
        .unwrap();
    let first_finalizer = order
        .iter()
        .position(|e| e.starts_with("finalize"))
        .unwrap();
    let last_finalizer = order
        .iter()
        .rposition(|e| e.starts_with("finalize"))
        .unwrap();
    let first_drop = order.iter().position(|e| e.starts_with("drop")).unwrap();
    assert!(
        last_callback < first_finalizer && last_finalizer < first_drop,
        "callbacks, then finalizers, then drops: {order:?}"
    );
    assert_eq!(kit.heap.collect(), 0);
}

#[test]
fn a_panicking_weak_callback_on_refcount_death_does_not_stop_the_others() {
    let _serial = serial();
    let kit = Kit::new();
    let t = kit.make(1, 0);
    let _a = kit.callback(&t, "a", false);
    let _b = kit.callback(&t, "b", true);
    let _c = kit.callback(&t, "c", false);
    drop(t);
    assert_eq!(
        *kit.log.order.lock().unwrap(),
        [
            "finalize 1",
            "callback c",
            "callback b",
            "callback a",
            "drop 1"
        ],
        "newest first, the panic reported and skipped"
    );
}

// ---------------------------------------------------------------------------------------------
// Re-entrant and awkwardly timed collections.

#[derive(Trace)]
#[gc(finalize)]
struct Recollector {
    me: GcCell<Option<Gc<Recollector>>>,
    #[gc(skip)]
    heap: Mutex<Option<Heap>>,
    #[gc(skip)]
    result: Arc<Mutex<Vec<usize>>>,
}

impl Finalize for Recollector {
    fn finalize(this: &Gc<Self>) {
        if let Some(heap) = this.heap.lock().unwrap().take() {
            let full = heap.collect();
            let young = heap.collect_generation(0).unwrap();
            this.result.lock().unwrap().extend([full, young]);
        }
    }
}

#[test]
fn collect_from_a_finalizer_on_refcount_death_runs_a_real_collection() {
    let _serial = serial();
    let heap = quiet_heap();
    let result = Arc::new(Mutex::new(Vec::new()));
    let log = Log::new();
    let garbage = fragile(&heap, &log);
    garbage.edges.borrow_mut().push(garbage.clone());
    drop(garbage);
    let r = heap.alloc(Recollector {
        me: GcCell::new(None),
        heap: Mutex::new(Some(heap.clone())),
        result: result.clone(),
    });
    // No collection is running: the finalizer's collect() is not re-entrant and finds the
    // cycle; the dying object itself is held by the finalizer's handle and survives it.
    drop(r);
    assert_eq!(*result.lock().unwrap(), [1, 0]);
    assert_eq!(log.drops(), 1);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

#[test]
fn collect_from_weak_callbacks_and_gc_callbacks_during_a_collection_returns_zero() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    let nested = Arc::new(Mutex::new(Vec::new()));
    let g = fragile(&heap, &log);
    g.edges.borrow_mut().push(g.clone());
    let w = {
        let (heap, nested) = (heap.clone(), nested.clone());
        Gc::downgrade_with_callback(&g, move |_| {
            nested
                .lock()
                .unwrap()
                .push(("weak callback", heap.collect()));
        })
    };
    let id = {
        let (h, nested) = (heap.clone(), nested.clone());
        heap.add_callback(move |phase, _| {
            let n = h.collect_generation(1).unwrap();
            nested.lock().unwrap().push(match phase {
                gc_core::Phase::Start => ("start", n),
                gc_core::Phase::Stop => ("stop", n),
            });
        })
    };
    drop(g);
    assert_eq!(heap.collect(), 1);
    assert!(heap.remove_callback(id));
    assert_eq!(
        *nested.lock().unwrap(),
        [("start", 0), ("weak callback", 0), ("stop", 0)]
    );
    assert!(w.upgrade().is_none());
    assert_eq!(log.drops(), 1);
}

#[derive(Trace)]
struct Node {
    label: usize,
    edges: GcCell<Vec<Gc<Node>>>,
    locked: GcLock<Vec<Gc<Node>>>,
}

fn node(heap: &Heap, label: usize) -> Gc<Node> {
    heap.alloc(Node {
        label,
        edges: GcCell::new(Vec::new()),
        locked: GcLock::new(Vec::new()),
    })
}

fn self_cycle(heap: &Heap, label: usize) -> Gc<Node> {
    let n = node(heap, label);
    n.edges.borrow_mut().push(n.clone());
    n
}

#[test]
fn collecting_while_holding_a_gc_lock_write_guard_is_conservative() {
    let _serial = serial();
    let heap = quiet_heap();
    let a = node(&heap, 1);
    let b = node(&heap, 2);
    a.locked.write().push(b.clone());
    b.locked.write().push(a.clone());
    let bw = Gc::downgrade(&b);
    drop(b);
    drop(self_cycle(&heap, 3));
    {
        let mut guard = a.locked.write();
        // a's lock cannot be read: a and b are kept; the unrelated cycle is found.
        assert_eq!(heap.collect(), 1);
        guard.push(bw.upgrade().expect("b kept alive"));
    }
    {
        // A read borrow does not stop the collector reading the cell.
        let _read = a.edges.borrow();
        drop(self_cycle(&heap, 4));
        assert_eq!(heap.collect(), 1);
    }
    drop(a);
    assert_eq!(heap.collect(), 2);
    assert!(bw.upgrade().is_none());
}

#[test]
fn a_borrow_held_across_blocking_on_another_thread_keeps_its_object_alive() {
    let _serial = serial();
    let heap = quiet_heap();
    let a = node(&heap, 1);
    let b = node(&heap, 2);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    let (aw, bw) = (Gc::downgrade(&a), Gc::downgrade(&b));
    drop(b);
    let borrowed = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let t = {
        let (heap, borrowed, release) = (heap.clone(), borrowed.clone(), release.clone());
        std::thread::spawn(move || {
            let m = heap.attach();
            let mut edges = a.edges.borrow_mut();
            // Blocks detached while holding the write borrow.
            m.blocking(|| {
                borrowed.wait();
                release.wait();
            });
            edges.clear();
            drop(edges);
            drop(a);
        })
    };
    borrowed.wait();
    assert_eq!(heap.collect(), 0, "the borrowed cell keeps a and b");
    assert!(bw.upgrade().is_some());
    release.wait();
    t.join().unwrap();
    // a died by reference count once its edge to b was cleared; b is now unreferenced.
    assert!(aw.upgrade().is_none() && bw.upgrade().is_none());
    assert_eq!(heap.collect(), 0);
}

#[test]
fn an_automatic_collection_due_while_a_borrow_is_held_runs_with_the_cell_a_root() {
    let _serial = serial();
    let heap = Heap::with_config(Config::default().thresholds(&[10, 10, 10])).unwrap();
    let m = heap.attach();
    let holder = node(&heap, 0);
    let collections = |h: &Heap| h.stats().iter().map(|s| s.collections).sum::<u64>();
    let before = collections(&heap);
    {
        let mut edges = holder.edges.borrow_mut();
        for i in 1..100 {
            // The self-cycles pushed into the borrowed cell are kept (the cell is a root);
            // the ones dropped at once are collected.
            edges.push(self_cycle(&heap, i));
            drop(self_cycle(&heap, 1000 + i));
            m.safepoint();
        }
        assert!(
            collections(&heap) > before,
            "automatic collections ran while borrowed"
        );
        assert!(edges.iter().all(|n| n.label < 100));
    }
    holder.edges.borrow_mut().clear();
    drop(m);
    heap.collect();
    assert_eq!(heap.objects(None).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Threads that exit while attached.

#[test]
fn a_thread_that_exits_attached_while_a_collection_waits_for_it_releases_it() {
    let _serial = serial();
    let heap = quiet_heap();
    let (attached_tx, attached_rx) = mpsc::channel();
    let t = {
        let heap = heap.clone();
        std::thread::spawn(move || {
            let m = heap.attach();
            attached_tx.send(()).unwrap();
            // Attached and never reaching a safepoint, then gone without detaching.
            std::thread::sleep(Duration::from_millis(300));
            std::mem::forget(m);
        })
    };
    attached_rx.recv().unwrap();
    drop(self_cycle(&heap, 1));
    let started = Instant::now();
    assert_eq!(
        heap.collect(),
        1,
        "the explicit collection waited for the exit"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    t.join().unwrap();
    drop(self_cycle(&heap, 2));
    assert_eq!(heap.collect(), 1);
}

#[test]
fn a_thread_that_exits_holding_a_forgotten_borrow_pins_its_object_but_blocks_nothing() {
    let _serial = serial();
    let heap = quiet_heap();
    let a = self_cycle(&heap, 1);
    let aw = Gc::downgrade(&a);
    {
        let (heap, a) = (heap.clone(), a.clone());
        std::thread::spawn(move || {
            let m = heap.attach();
            let m2 = heap.attach();
            std::mem::forget(a.edges.borrow_mut());
            std::mem::forget((m, m2));
        })
        .join()
        .unwrap();
    }
    drop(a);
    drop(self_cycle(&heap, 2));
    // The cell stays borrowed for good: its object is kept (a leak, never a free of a borrowed
    // object); the other cycle is found, and nothing waits for the dead thread.
    assert_eq!(heap.collect(), 1);
    let a = aw.upgrade().expect("kept");
    let msg = panics(|| drop(a.edges.borrow()));
    assert!(msg.contains("already mutably borrowed"), "{msg}");
    assert_eq!(a.label, 1);
}

#[test]
fn a_thread_that_panics_while_attached_detaches_on_unwind() {
    let _serial = serial();
    let heap = quiet_heap();
    let h = heap.clone();
    let joined = std::thread::spawn(move || {
        let m = h.attach();
        let n = self_cycle(m.heap(), 1);
        let _borrow = n.edges.borrow_mut();
        panic!("mutator thread dies");
    })
    .join();
    assert_eq!(message(joined.unwrap_err()), "mutator thread dies");
    // The unwound borrow was released too, so the cycle is collectable.
    assert_eq!(heap.collect(), 1);
}

// ---------------------------------------------------------------------------------------------
// Reference counts far past small-integer limits. Saturation at 2^31 (the object becomes
// immortal, `Gc::is_immortal`) is unit-tested on the header in gc-core/src/header.rs; the
// ignored test below reaches it through the public API in a release build.

#[test]
fn two_million_clones_from_four_threads_keep_exact_counts() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    let obj = fragile(&heap, &log);
    let per_thread = 500_000;
    let heap = &heap;
    let clones: Vec<Vec<Gc<Fragile>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let obj = &obj;
                s.spawn(move || {
                    let m = heap.attach();
                    let v: Vec<Gc<Fragile>> = (0..per_thread).map(|_| obj.clone()).collect();
                    drop(m);
                    v
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(Gc::ref_count(&obj), 4 * per_thread + 1);
    assert!(!Gc::is_immortal(&obj));
    let weaks: Vec<Weak<Fragile>> = (0..1_000_000).map(|_| Gc::downgrade(&obj)).collect();
    assert_eq!(Gc::weak_count(&obj), 1_000_000);
    // Dropped on other threads than the ones that made them.
    std::thread::scope(|s| {
        for v in clones {
            s.spawn(move || drop(v));
        }
    });
    assert_eq!(Gc::ref_count(&obj), 1);
    drop(obj);
    assert_eq!(log.drops(), 1);
    assert!(weaks.iter().all(|w| w.upgrade().is_none()));
}

#[test]
#[ignore = "slow: 2^31 increments; run in release with \
            `cargo test -p gc-core --release --test bad_input -- --ignored saturat`"]
fn a_count_that_saturates_makes_the_object_immortal() {
    let _serial = serial();
    let heap = quiet_heap();
    let log = Log::new();
    let obj = fragile(&heap, &log);
    let weak = Gc::downgrade(&obj);
    {
        // Attached, a clone is one increment.
        let _m = heap.attach();
        for _ in 0..(1u64 << 31) {
            std::mem::forget(obj.clone());
        }
    }
    assert!(Gc::is_immortal(&obj));
    assert_eq!(Gc::ref_count(&obj), u32::MAX as usize);
    for _ in 0..1000 {
        drop(obj.clone());
    }
    drop(obj);
    assert_eq!(log.drops(), 0, "an immortal object is never freed");
    let again = weak.upgrade().expect("still alive");
    assert!(Gc::is_immortal(&again));
    // Collections treat it as a root.
    again.edges.borrow_mut().push(again.clone());
    drop(again);
    assert_eq!(heap.collect(), 0);
    assert!(weak.upgrade().is_some());
}

// ---------------------------------------------------------------------------------------------
// Known deadlock.

#[test]
fn attached_threads_collecting_different_heaps_do_not_deadlock() {
    isolated(
        "attached_threads_collecting_different_heaps_do_not_deadlock",
        Duration::from_secs(60),
        || {
            std::thread::scope(|s| {
                for _ in 0..3 {
                    s.spawn(|| {
                        let kit = Kit::new();
                        let m = kit.heap.attach();
                        for i in 0..60_000 {
                            // A finalizer makes each collection stop the world twice.
                            let t = kit.make(i, 0);
                            t.edges.borrow_mut().push(t.clone());
                            drop(t);
                            m.heap().collect();
                        }
                    });
                }
            });
        },
    );
}
