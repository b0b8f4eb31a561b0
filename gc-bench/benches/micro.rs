//! Micro-benchmarks of the reference-counting fast paths, against `Arc`, their anchor:
//!
//! - `clone_drop`: one clone and one drop of a handle to a live object — gc-core attached
//!   (inside a `Mutator`), not attached, and for an untracked type; `Arc`, `Rc` and the peers.
//!   Target: gc-core attached ≤ 1.1× `Arc`.
//! - `alloc_free_small`: allocate and free an untracked two-word object. Target ≤ 1.3× `Arc`.
//! - `alloc_free_tracked`: allocate and free a node that can hold an edge (tracked: it goes on
//!   and off a generation list), against an `Arc` node with a `Mutex` slot.
//! - `cell`: borrow a cell holding a handle, clone the handle, drop both — an interpreter
//!   reading a local. `GcCell` attached and not, against `RefCell<Rc>` (its anchor: the
//!   single-threaded ideal) and `RefCell<Arc>` (the same count, atomic); `GcLock::read`
//!   against `parking_lot::RwLock<Arc>` and `std::sync::RwLock<Arc>`. Target: `GcCell`
//!   attached ≤ 1.5× `RefCell`.
//!
//! gc-core is measured twice: with its defaults, its objects from its pool (`docs/allocation.md`),
//! and with `Config::pool(false)` ("system allocator"), its objects from the global allocator as
//! every other implementation's — the fair comparison with `Arc`, on the same allocator.
//! gc-bench builds gc-core without its `mimalloc` feature. (The `mimalloc` crate as global
//! allocator is not used here: it sends every request through `mi_malloc_aligned`, whose fast
//! path misses for sizes that are not powers of two, which would penalise whichever
//! implementation's object sizes happen to be odd.)

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use gc_core::{Config, Gc, GcCell, GcLock, Heap, Trace};
use ratios::Group;

mod ratios;

/// Untracked: holds no handles.
#[derive(Trace)]
struct Small {
    a: u64,
    b: u64,
}

/// Tracked: can hold an edge to another node.
#[derive(Trace)]
struct Node {
    value: u64,
    next: GcCell<Option<Gc<Node>>>,
}

struct ArcSmall {
    a: u64,
    b: u64,
}

struct ArcNode {
    value: u64,
    next: Mutex<Option<Arc<ArcNode>>>,
}

fn small(a: u64) -> Small {
    Small { a, b: a + 1 }
}

fn node(value: u64) -> Node {
    Node {
        value,
        next: GcCell::new(None),
    }
}

fn arc_node(value: u64) -> ArcNode {
    ArcNode {
        value,
        next: Mutex::new(None),
    }
}

mod peer_types {
    use std::cell::RefCell;
    use std::sync::Mutex;

    #[derive(rust_cc::Trace, rust_cc::Finalize)]
    pub struct RustCcNode {
        pub value: u64,
        pub next: RefCell<Option<rust_cc::Cc<RustCcNode>>>,
    }

    #[derive(dumpster::Trace)]
    pub struct DumpsterUnsyncNode {
        pub value: u64,
        pub next: RefCell<Option<dumpster::unsync::Gc<DumpsterUnsyncNode>>>,
    }

    #[derive(dumpster::Trace)]
    pub struct DumpsterSyncNode {
        pub value: u64,
        pub next: Mutex<Option<dumpster::sync::Gc<DumpsterSyncNode>>>,
    }

    pub struct GcmoduleNode {
        pub value: u64,
        pub next: RefCell<Option<gcmodule::Cc<GcmoduleNode>>>,
    }

    impl gcmodule::Trace for GcmoduleNode {
        fn trace(&self, tracer: &mut gcmodule::Tracer) {
            self.next.trace(tracer);
        }

        fn is_type_tracked() -> bool {
            true
        }
    }

    pub struct BaconNode {
        pub value: u64,
        pub next: RefCell<Option<bacon_rajan_cc::Cc<BaconNode>>>,
    }

    impl bacon_rajan_cc::Trace for BaconNode {
        fn trace(&self, tracer: &mut bacon_rajan_cc::Tracer) {
            self.next.trace(tracer);
        }
    }
}

use peer_types::*;

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(30)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
}

fn clone_drop(c: &mut Criterion) {
    let heap = Heap::new();
    let tracked = heap.alloc(node(1));
    let untracked = heap.alloc(small(1));
    let arc = Arc::new(arc_node(1));
    let rc = Rc::new(1u64);
    let rust_cc = rust_cc::Cc::new(RustCcNode {
        value: 1,
        next: RefCell::new(None),
    });
    let dumpster_unsync = dumpster::unsync::Gc::new(DumpsterUnsyncNode {
        value: 1,
        next: RefCell::new(None),
    });
    let dumpster_sync = dumpster::sync::Gc::new(DumpsterSyncNode {
        value: 1,
        next: Mutex::new(None),
    });
    let gcmodule = gcmodule::Cc::new(GcmoduleNode {
        value: 1,
        next: RefCell::new(None),
    });
    let bacon = bacon_rajan_cc::Cc::new(BaconNode {
        value: 1,
        next: RefCell::new(None),
    });

    let mut g = c.benchmark_group("clone_drop");
    configure(&mut g);
    {
        let _m = heap.attach();
        g.bench_function("gc-core attached", |b| {
            b.iter(|| black_box(&tracked).clone())
        });
    }
    g.bench_function("gc-core not attached", |b| {
        b.iter(|| black_box(&tracked).clone())
    });
    g.bench_function("gc-core untracked", |b| {
        b.iter(|| black_box(&untracked).clone())
    });
    g.bench_function("Arc", |b| b.iter(|| black_box(&arc).clone()));
    g.bench_function("Rc", |b| b.iter(|| black_box(&rc).clone()));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(&rust_cc).clone()));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(&dumpster_unsync).clone())
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(&dumpster_sync).clone())
    });
    g.bench_function("gcmodule", |b| b.iter(|| black_box(&gcmodule).clone()));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(&bacon).clone()));
    g.finish();

    // The payloads only give the objects their size; read them once for the compiler.
    black_box((
        tracked.value,
        untracked.a,
        untracked.b,
        arc.value,
        rust_cc.value,
    ));
    black_box((
        dumpster_unsync.value,
        dumpster_sync.value,
        gcmodule.value,
        bacon.value,
    ));
    drop((tracked, untracked, arc, rc, rust_cc, gcmodule, bacon));
    drop((dumpster_unsync, dumpster_sync));
    heap.collect();
    rust_cc::collect_cycles();
    bacon_rajan_cc::collect_cycles();
    gcmodule::collect_thread_cycles();
    dumpster::unsync::collect();
    dumpster::sync::collect();
}

/// A heap whose objects come from the global allocator, as `Arc`'s do.
fn system_heap() -> Heap {
    Heap::with_config(Config::default().pool(false)).expect("a valid configuration")
}

fn alloc_free_small(c: &mut Criterion) {
    let (heap, system) = (Heap::new(), system_heap());
    let mut g = c.benchmark_group("alloc_free_small");
    configure(&mut g);
    g.bench_function("gc-core", |b| b.iter(|| heap.alloc(small(black_box(1)))));
    g.bench_function("gc-core system allocator", |b| {
        b.iter(|| system.alloc(small(black_box(1))))
    });
    g.bench_function("Arc", |b| {
        b.iter(|| {
            Arc::new(ArcSmall {
                a: black_box(1),
                b: 2,
            })
        })
    });
    g.bench_function("Rc", |b| {
        b.iter(|| {
            Rc::new(ArcSmall {
                a: black_box(1),
                b: 2,
            })
        })
    });
    g.bench_function("rust-cc", |b| b.iter(|| rust_cc::Cc::new(black_box(1u64))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| dumpster::unsync::Gc::new(black_box(1u64)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| dumpster::sync::Gc::new(black_box(1u64)))
    });
    g.bench_function("gcmodule", |b| {
        b.iter(|| gcmodule::Cc::new(black_box(1u64)))
    });
    g.bench_function("bacon_rajan_cc", |b| {
        b.iter(|| bacon_rajan_cc::Cc::new(black_box(1u64)))
    });
    g.finish();
    let a = ArcSmall { a: 3, b: 4 };
    black_box((a.a, a.b));
}

/// Benches allocating and freeing one tracked peer node (`next` empty) in group `$g`.
macro_rules! tracked {
    ($g:ident, $name:literal, $new:path, $node:ident, $cell:ident) => {
        $g.bench_function($name, |b| {
            b.iter(|| {
                $new($node {
                    value: black_box(1),
                    next: $cell::new(None),
                })
            })
        });
    };
}

fn alloc_free_tracked(c: &mut Criterion) {
    let (heap, system) = (Heap::new(), system_heap());
    let mut g = c.benchmark_group("alloc_free_tracked");
    configure(&mut g);
    {
        let m = heap.attach();
        g.bench_function("gc-core attached", |b| {
            b.iter(|| m.alloc(node(black_box(1))))
        });
    }
    {
        let m = system.attach();
        g.bench_function("gc-core attached system allocator", |b| {
            b.iter(|| m.alloc(node(black_box(1))))
        });
    }
    g.bench_function("gc-core not attached", |b| {
        b.iter(|| heap.alloc(node(black_box(1))))
    });
    g.bench_function("Arc", |b| b.iter(|| Arc::new(arc_node(black_box(1)))));
    tracked!(g, "rust-cc", rust_cc::Cc::new, RustCcNode, RefCell);
    tracked!(
        g,
        "dumpster-unsync",
        dumpster::unsync::Gc::new,
        DumpsterUnsyncNode,
        RefCell
    );
    tracked!(
        g,
        "dumpster-sync",
        dumpster::sync::Gc::new,
        DumpsterSyncNode,
        Mutex
    );
    tracked!(g, "gcmodule", gcmodule::Cc::new, GcmoduleNode, RefCell);
    tracked!(
        g,
        "bacon_rajan_cc",
        bacon_rajan_cc::Cc::new,
        BaconNode,
        RefCell
    );
    g.finish();
    heap.collect();
    rust_cc::collect_cycles();
    bacon_rajan_cc::collect_cycles();
    gcmodule::collect_thread_cycles();
    dumpster::unsync::collect();
    dumpster::sync::collect();
    let a = arc_node(2);
    black_box(a.next.lock().unwrap().is_none());
}

fn cell(c: &mut Criterion) {
    let heap = Heap::new();
    let gc_cell = GcCell::new(Some(heap.alloc(node(1))));
    let gc_lock = GcLock::new(Some(heap.alloc(node(2))));
    let rc_cell = RefCell::new(Rc::new(1u64));
    let arc_cell = RefCell::new(Arc::new(arc_node(1)));
    let parking_lot = parking_lot::RwLock::new(Arc::new(arc_node(2)));
    let std_lock = std::sync::RwLock::new(Arc::new(arc_node(3)));

    let mut g = c.benchmark_group("cell");
    configure(&mut g);
    {
        let _m = heap.attach();
        g.bench_function("GcCell attached", |b| {
            b.iter(|| black_box(&gc_cell).borrow().clone())
        });
        g.bench_function("GcLock attached", |b| {
            b.iter(|| black_box(&gc_lock).read().clone())
        });
    }
    g.bench_function("GcCell not attached", |b| {
        b.iter(|| black_box(&gc_cell).borrow().clone())
    });
    g.bench_function("RefCell<Rc>", |b| {
        b.iter(|| Rc::clone(&black_box(&rc_cell).borrow()))
    });
    g.bench_function("RefCell<Arc>", |b| {
        b.iter(|| Arc::clone(&black_box(&arc_cell).borrow()))
    });
    g.bench_function("parking_lot RwLock<Arc>", |b| {
        b.iter(|| Arc::clone(&black_box(&parking_lot).read()))
    });
    g.bench_function("std RwLock<Arc>", |b| {
        b.iter(|| Arc::clone(&black_box(&std_lock).read().unwrap()))
    });
    g.finish();
    drop((gc_cell, gc_lock));
    heap.collect();
}

fn summary(_: &mut Criterion) {
    ratios::print(&[
        Group {
            name: "clone_drop",
            anchor: Some("Arc"),
        },
        Group {
            name: "alloc_free_small",
            anchor: Some("Arc"),
        },
        Group {
            name: "alloc_free_tracked",
            anchor: Some("Arc"),
        },
        Group {
            name: "cell",
            anchor: Some("RefCell<Rc>"),
        },
    ]);
}

criterion_group! {
    name = micro;
    config = Criterion::default().without_plots();
    targets = ratios::mark_start, clone_drop, alloc_free_small, alloc_free_tracked, cell, summary
}
criterion_main!(micro);
