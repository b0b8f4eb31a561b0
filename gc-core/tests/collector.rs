//! The cycle collector under pressure: tear-down safety, bad user code, borrows held across a
//! collection, blocked threads, parallel phases, and threads mutating a shared cyclic graph.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gc_core::{Config, Finalize, Gc, GcCell, GcLock, Heap, Phase, PhaseTimes, Trace, Tracer};

fn quiet_heap() -> Heap {
    let heap = Heap::new();
    heap.disable();
    heap
}

/// A two-node cycle member whose `Drop` reads its sibling.
#[derive(Trace)]
struct Nosy {
    name: String,
    sibling: GcCell<Option<Gc<Nosy>>>,
    #[gc(skip)]
    read_in_drop: Arc<Mutex<Vec<String>>>,
}

impl Drop for Nosy {
    fn drop(&mut self) {
        if let Some(s) = self.sibling.get_mut() {
            // Reaches into another member of the garbage cycle: must panic, never read freed
            // or dropped memory.
            let name = s.name.clone();
            self.read_in_drop.lock().unwrap().push(name);
        }
    }
}

#[test]
fn a_drop_reaching_a_sibling_in_its_garbage_cycle_panics_cleanly() {
    let heap = quiet_heap();
    let read = Arc::new(Mutex::new(Vec::new()));
    let make = |name: &str| {
        heap.alloc(Nosy {
            name: name.into(),
            sibling: GcCell::new(None),
            read_in_drop: read.clone(),
        })
    };
    let (a, b) = (make("a"), make("b"));
    *a.sibling.borrow_mut() = Some(b.clone());
    *b.sibling.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(heap.collect(), 2);
    assert!(read.lock().unwrap().is_empty(), "no sibling was read");
    assert_eq!(heap.stats()[2].uncollectable, 2, "both Drops panicked");
    assert_eq!(heap.objects(None).unwrap().len(), 0);
    // The heap is still usable.
    let c = make("c");
    *c.sibling.borrow_mut() = Some(c.clone());
    c.sibling.borrow_mut().take();
    drop(c);
    assert_eq!(heap.collect(), 0);
}

#[derive(Trace)]
#[gc(finalize)]
struct Polite {
    name: String,
    sibling: GcCell<Option<Gc<Polite>>>,
    #[gc(skip)]
    seen: Arc<Mutex<Vec<String>>>,
}

impl Finalize for Polite {
    fn finalize(this: &Gc<Self>) {
        let sibling = this.sibling.borrow().clone().unwrap();
        this.seen
            .lock()
            .unwrap()
            .push(format!("{} sees {}", this.name, sibling.name));
    }
}

#[test]
fn a_finalizer_reading_a_sibling_sees_it_intact() {
    let heap = quiet_heap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let make = |name: &str| {
        heap.alloc(Polite {
            name: name.into(),
            sibling: GcCell::new(None),
            seen: seen.clone(),
        })
    };
    let (a, b) = (make("a"), make("b"));
    *a.sibling.borrow_mut() = Some(b.clone());
    *b.sibling.borrow_mut() = Some(a.clone());
    drop((a, b));
    assert_eq!(heap.collect(), 2);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, vec!["a sees b", "b sees a"]);
}

/// A type whose `Trace` breaks the rules once: it clones a handle.
struct Rogue {
    next: GcCell<Option<Gc<Rogue>>>,
    armed: AtomicBool,
}

// SAFETY: reports its one edge once; the clone it makes when armed is the bug under test.
unsafe impl Trace for Rogue {
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if self.armed.swap(false, Ordering::SeqCst) {
            if let Some(n) = &*self.next.borrow() {
                drop(n.clone());
            }
        }
        self.next.trace(tracer);
    }
}

#[test]
fn a_trace_that_clones_fails_loudly_and_the_heap_survives() {
    let heap = quiet_heap();
    let r = heap.alloc(Rogue {
        next: GcCell::new(None),
        armed: AtomicBool::new(false),
    });
    *r.next.borrow_mut() = Some(r.clone());
    // A candidate (its count fell), so that any scan traces it.
    drop(r.clone());
    r.armed.store(true, Ordering::SeqCst);
    let listed = heap.objects(None).unwrap().len();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| heap.collect()));
    let message = result.unwrap_err();
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| message.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(message.contains("world stopped"), "{message}");
    assert_eq!(
        heap.objects(None).unwrap().len(),
        listed,
        "objects put back"
    );
    drop(r);
    assert_eq!(heap.collect(), 1);
}

#[derive(Trace)]
#[gc(finalize)]
struct Collector {
    me: GcCell<Option<Gc<Collector>>>,
    #[gc(skip)]
    heap: Mutex<Option<Heap>>,
    #[gc(skip)]
    nested: Arc<AtomicUsize>,
}

impl Finalize for Collector {
    fn finalize(this: &Gc<Self>) {
        let heap = this.heap.lock().unwrap().take().unwrap();
        this.nested.store(heap.collect() + 100, Ordering::SeqCst);
    }
}

#[test]
fn collect_from_a_finalizer_returns_zero_without_deadlock() {
    let heap = quiet_heap();
    let nested = Arc::new(AtomicUsize::new(0));
    let c = heap.alloc(Collector {
        me: GcCell::new(None),
        heap: Mutex::new(Some(heap.clone())),
        nested: nested.clone(),
    });
    *c.me.borrow_mut() = Some(c.clone());
    drop(c);
    assert_eq!(heap.collect(), 1);
    assert_eq!(
        nested.load(Ordering::SeqCst),
        100,
        "the nested collect returned 0"
    );
}

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
fn collecting_while_this_thread_holds_a_cell_borrow_is_conservative() {
    let heap = quiet_heap();
    let a = node(&heap, 1);
    let b = node(&heap, 2);
    a.edges.borrow_mut().push(b.clone());
    b.edges.borrow_mut().push(a.clone());
    let b_weak = Gc::downgrade(&b);
    drop(b);
    {
        let mut borrowed = a.edges.borrow_mut();
        // The collector cannot read a's cell: a is kept, and so is b behind it.
        assert_eq!(heap.collect(), 0);
        assert_eq!(borrowed.len(), 1);
        borrowed.push(b_weak.upgrade().expect("b kept"));
    }
    assert_eq!(a.edges.borrow().len(), 2);
    drop(a);
    assert_eq!(heap.collect(), 2);
    assert!(b_weak.upgrade().is_none());
}

#[test]
fn a_thread_that_exits_while_attached_does_not_block_collections() {
    let heap = quiet_heap();
    let h = heap.clone();
    std::thread::spawn(move || {
        let m = h.attach();
        std::mem::forget(m);
    })
    .join()
    .unwrap();
    drop(node(&heap, 0));
    let n = node(&heap, 1);
    n.edges.borrow_mut().push(n.clone());
    drop(n);
    assert_eq!(heap.collect(), 1);
}

/// Builds the same seeded random graph on `heap`, keeping every `keep`-th node as a root.
fn random_graph(heap: &Heap, n: usize, seed: u64) -> Vec<Gc<Node>> {
    let mut state = seed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as usize
    };
    let nodes: Vec<Gc<Node>> = (0..n).map(|i| node(heap, i)).collect();
    for _ in 0..n * 2 {
        let (a, b) = (next() % n, next() % n);
        nodes[a].edges.borrow_mut().push(nodes[b].clone());
    }
    nodes.into_iter().filter(|_| next() % 17 == 0).collect()
}

fn survivors(heap: &Heap) -> HashSet<usize> {
    heap.objects(None)
        .unwrap()
        .iter()
        .map(|o| o.downcast::<Node>().unwrap().label)
        .collect()
}

#[test]
fn parallel_and_sequential_collections_agree() {
    // Graphs of one to several chunks of parallel work (4,096 objects each), split among two
    // and three workers.
    for (seed, n, workers) in [
        (1u64, 5000, 2),
        (7, 5000, 3),
        (42, 30_000, 2),
        (1234, 30_000, 3),
    ] {
        let seq = Heap::with_config(Config::default().workers(1)).unwrap();
        let par = Heap::with_config(Config::default().workers(workers).parallel_cutoff(0)).unwrap();
        seq.disable();
        par.disable();
        let roots_seq = random_graph(&seq, n, seed);
        let roots_par = random_graph(&par, n, seed);
        assert_eq!(seq.collect(), par.collect(), "seed {seed}");
        assert_eq!(survivors(&seq), survivors(&par), "seed {seed}");
        drop((roots_seq, roots_par));
        assert_eq!(seq.collect(), par.collect(), "seed {seed}");
        assert!(survivors(&par).is_empty());
    }
}

/// One root holding 50,000 nodes, allocated before them (`root_last` false) or after: then its
/// edges are located piece by piece after the chunks they reach. The first 10,000 edges go in
/// reverse order, so the guess of where they lead is wrong; every third is repeated and
/// followed by an edge to another heap's node. The held nodes link in rings and back to the
/// root; rings of 10,000 unheld nodes are garbage.
fn wide_root(heap: &Heap, other: &Gc<Node>, root_last: bool) -> Gc<Node> {
    let first = (!root_last).then(|| node(heap, usize::MAX));
    let held: Vec<Gc<Node>> = (0..50_000).map(|i| node(heap, i)).collect();
    let unheld: Vec<Gc<Node>> = (0..10_000).map(|i| node(heap, 100_000 + i)).collect();
    let root = first.unwrap_or_else(|| node(heap, usize::MAX));
    for ring in [&held, &unheld] {
        for (i, n) in ring.iter().enumerate() {
            n.edges
                .borrow_mut()
                .push(ring[(i + 7) % ring.len()].clone());
        }
    }
    held[0].edges.borrow_mut().push(root.clone());
    let mut edges = root.edges.borrow_mut();
    for i in 0..held.len() {
        let n = &held[if i < 10_000 { 9_999 - i } else { i }];
        edges.push(n.clone());
        if i % 3 == 0 {
            edges.push(n.clone());
            edges.push(other.clone());
        }
    }
    drop(edges);
    root
}

#[test]
fn a_member_with_very_many_edges_is_located_by_several_workers_and_after_its_targets() {
    let elsewhere = Heap::new();
    let other = node(&elsewhere, 0);
    for root_last in [false, true] {
        let seq = Heap::with_config(Config::default().workers(1)).unwrap();
        seq.disable();
        let root_seq = wide_root(&seq, &other, root_last);
        assert_eq!(seq.collect(), 10_000, "root last: {root_last}");
        for workers in [2, 3] {
            let par =
                Heap::with_config(Config::default().workers(workers).parallel_cutoff(0)).unwrap();
            par.disable();
            let root_par = wide_root(&par, &other, root_last);
            let case = format!("{workers} workers, root last: {root_last}");
            assert_eq!(par.collect(), 10_000, "{case}");
            assert_eq!(survivors(&par), survivors(&seq), "{case}");
            drop(root_par);
            assert_eq!(par.collect(), 50_001, "{case}: the root and all it held");
        }
        drop(root_seq);
        assert_eq!(seq.collect(), 50_001, "root last: {root_last}");
    }
}

/// A shared graph node for the multi-threaded test: edges behind a lock, and a count of
/// finalizer runs.
#[derive(Trace)]
#[gc(finalize)]
struct Shared {
    label: usize,
    edges: GcLock<Vec<Gc<Shared>>>,
    #[gc(skip)]
    deaths: Arc<AtomicUsize>,
}

impl Finalize for Shared {
    fn finalize(this: &Gc<Self>) {
        this.deaths.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn threads_mutating_a_shared_cyclic_graph_lose_nothing_and_leak_nothing() {
    let heap = Heap::with_config(Config::default().thresholds(&[200, 5, 5]).workers(2)).unwrap();
    let deaths = Arc::new(AtomicUsize::new(0));
    let made = Arc::new(AtomicUsize::new(0));
    let roots: Vec<Gc<Shared>> = (0..8)
        .map(|label| {
            made.fetch_add(1, Ordering::SeqCst);
            heap.alloc(Shared {
                label,
                edges: GcLock::new(Vec::new()),
                deaths: deaths.clone(),
            })
        })
        .collect();
    std::thread::scope(|s| {
        for t in 0..3usize {
            let (heap, roots, deaths, made) = (&heap, &roots, &deaths, &made);
            s.spawn(move || {
                let m = heap.attach();
                let mut seed = 0x9e3779b97f4a7c15u64 ^ t as u64;
                for i in 0..4000 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let r = &roots[seed as usize % roots.len()];
                    match seed % 4 {
                        0 | 1 => {
                            made.fetch_add(1, Ordering::SeqCst);
                            let n = m.alloc(Shared {
                                label: 1000 + t * 10_000 + i,
                                edges: GcLock::new(vec![r.clone()]),
                                deaths: deaths.clone(),
                            });
                            r.edges.write().push(n);
                        }
                        2 => {
                            let mut edges = r.edges.write();
                            if !edges.is_empty() {
                                let k = (seed >> 8) as usize % edges.len();
                                edges.swap_remove(k);
                            }
                        }
                        _ => {
                            // Follow an edge and check it is intact.
                            let first = r.edges.read().first().cloned();
                            if let Some(n) = first {
                                assert!(n.label >= 1000);
                                let back = n.edges.read();
                                assert_eq!(back.len(), 1);
                                assert!(Gc::ptr_eq(&back[0], r));
                            }
                        }
                    }
                    m.safepoint();
                }
            });
        }
    });
    let collections: u64 = heap.stats().iter().map(|s| s.collections).sum();
    assert!(collections > 0, "automatic collections ran");
    // Everything reachable from the roots is intact, and a full collection keeps exactly it.
    let mut reachable = roots.len();
    for r in &roots {
        for n in r.edges.read().iter() {
            let back = n.edges.read();
            assert_eq!(back.len(), 1);
            assert!(Gc::ptr_eq(&back[0], r));
            reachable += 1;
        }
    }
    heap.collect();
    assert_eq!(heap.objects(None).unwrap().len(), reachable);
    assert_eq!(
        deaths.load(Ordering::SeqCst),
        made.load(Ordering::SeqCst) - reachable
    );
    drop(roots);
    heap.collect();
    assert_eq!(heap.objects(None).unwrap().len(), 0, "no garbage leaked");
    assert_eq!(
        deaths.load(Ordering::SeqCst),
        made.load(Ordering::SeqCst),
        "each died once"
    );
}

#[derive(Trace)]
#[gc(finalize)]
struct Grumpy {
    me: GcCell<Option<Gc<Grumpy>>>,
}

impl Finalize for Grumpy {
    fn finalize(_: &Gc<Self>) {
        panic!("grumpy finalizer");
    }
}

#[test]
fn panicking_finalizers_and_callbacks_are_reported_and_collection_goes_on() {
    let heap = quiet_heap();
    let g = heap.alloc(Grumpy {
        me: GcCell::new(None),
    });
    *g.me.borrow_mut() = Some(g.clone());
    let _w = Gc::downgrade_with_callback(&g, |_| panic!("grumpy callback"));
    drop(g);
    assert_eq!(heap.collect(), 1);
    assert_eq!(heap.objects(None).unwrap().len(), 0);
}

/// A link of a garbage ring.
#[derive(Trace)]
struct Link {
    next: GcCell<Option<Gc<Link>>>,
}

/// A link of a garbage ring with a finalizer (which does nothing).
#[derive(Trace)]
#[gc(finalize)]
struct FinalLink {
    next: GcCell<Option<Gc<FinalLink>>>,
}

impl Finalize for FinalLink {
    fn finalize(_: &Gc<Self>) {}
}

/// Makes 1,000 garbage rings of 10 links each, `make(next)` making a link.
fn garbage_rings<T: Trace + Send + 'static>(
    heap: &Heap,
    make: impl Fn(Option<Gc<T>>) -> T,
    next: impl Fn(&T) -> &GcCell<Option<Gc<T>>>,
) {
    for _ in 0..1_000 {
        let first = heap.alloc(make(None));
        let mut link = first.clone();
        for _ in 1..10 {
            link = heap.alloc(make(Some(link)));
        }
        *next(&first).borrow_mut() = Some(link);
    }
}

#[test]
fn a_collection_reports_its_time_by_phase() {
    let heap = quiet_heap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    heap.add_callback(move |phase, info| sink.lock().unwrap().push((phase, *info)));
    garbage_rings(
        &heap,
        |next| Link {
            next: GcCell::new(next),
        },
        |link| &link.next,
    );
    assert_eq!(heap.collect(), 10_000);
    garbage_rings(
        &heap,
        |next| FinalLink {
            next: GcCell::new(next),
        },
        |link| &link.next,
    );
    assert_eq!(heap.collect(), 10_000);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    for (phase, info) in seen.iter() {
        let p = info.phases;
        if *phase == Phase::Start {
            assert_eq!(p, PhaseTimes::default(), "nothing timed at the start");
            continue;
        }
        let stopped = p.take + p.subtract + p.mark + p.relist;
        assert!(
            stopped + info.time_to_safepoint <= info.pause,
            "the stopped phases fit in the pause: {info:?}"
        );
        assert!(
            stopped + p.finalize + p.teardown <= info.duration,
            "every phase fits in the collection: {info:?}"
        );
        for (name, time) in [
            ("subtract", p.subtract),
            ("mark", p.mark),
            ("relist", p.relist),
            ("teardown", p.teardown),
        ] {
            assert!(time > Duration::ZERO, "{name} took no time: {info:?}");
        }
    }
    let with_finalizers = seen[3].1.phases;
    assert!(
        with_finalizers.finalize > Duration::ZERO,
        "finalizers and the resurrection check took time: {with_finalizers:?}"
    );
}
