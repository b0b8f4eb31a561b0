//! Randomized oracle: random programs of graph mutations run from two or three threads against
//! a real heap, checked against a plain reachability model.
//!
//! Every object carries a probe (alive flag set on construction and cleared in `Drop`, a drop
//! counter, a finalizer counter) that lives outside the heap, so the checks never touch an
//! object that might have been freed. The model is the edge graph, the root table and the
//! resurrection side table. Each operation that changes the graph does so under one mutex,
//! together with the model update, so the real graph and the model agree whenever the mutex is
//! held; collections (explicit, automatic with tiny thresholds, and inside the operations that
//! allocate) and finalizers run concurrently with the other threads.
//!
//! Checked:
//! - at every operation: every object reachable in the model (from the roots and the side
//!   table) is alive; a weak upgrade that succeeds yields a live object with the right label;
//!   a weak upgrade of an object the model has always had reachable succeeds;
//! - from the objects' own code: `Drop` runs once, a finalizer once and only on a live object,
//!   a weak callback once, before the object is dropped, and never sees its referent upgrade;
//! - after each phase (threads joined) and one full `collect()`: exactly the objects
//!   unreachable in the model are gone, and `collect()` reported exactly them; every dead
//!   object with a finalizer ran it exactly once, objects that were never unreachable never
//!   ran it; every model edge is present in the real cells with the right labels, in order;
//!   `objects(None)` lists exactly the reachable objects; strong and weak counts are exact;
//!   weak callbacks ran exactly once for each dead referent whose weak handle is still held;
//!   a second `collect()` finds nothing.
//!
//! The run is seeded (`ProptestConfig::rng_seed`), so the same programs are generated on every
//! run; `PROPTEST_RNG_SEED=<u64>` and `PROPTEST_CASES=<n>` override the seed and the number of
//! programs. Thread interleavings are not reproducible, so shrinking stops at the smallest
//! program that still failed in the shrinking run. A watchdog ends the process (printing the
//! program) if no operation completes for a minute.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gc_core::{Config, Finalize, Gc, GcCell, GcLock, Heap, Mutator, Trace, Weak};
use proptest::prelude::*;
use proptest::strategy::Union;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestRunner};

/// What the programs exercised, summed over all cases of a test (printed at its end, so a
/// change that makes the generator degenerate is visible).
#[derive(Default)]
struct Coverage {
    ops: AtomicUsize,
    objects: AtomicUsize,
    collections: [AtomicUsize; 3],
    collected: AtomicUsize,
    resurrected: AtomicUsize,
    finalized: AtomicUsize,
    callbacks_run: AtomicUsize,
    upgrades: AtomicUsize,
    failed_upgrades: AtomicUsize,
    revived: AtomicUsize,
    walked: AtomicUsize,
    missed: AtomicUsize,
}

impl Coverage {
    fn add(counter: &AtomicUsize, n: usize) {
        counter.fetch_add(n, SeqCst);
    }

    fn report(&self, test: &str) {
        let get = |c: &AtomicUsize| c.load(SeqCst);
        eprintln!(
            "{test}: {} ops, {} objects, collections per generation {:?} ({} missed), \
             {} collected, {} finalized, {} resurrected, {} weak callbacks, \
             {} upgrades ({} failed, {} revived garbage), {} walk steps",
            get(&self.ops),
            get(&self.objects),
            self.collections.iter().map(get).collect::<Vec<_>>(),
            get(&self.missed),
            get(&self.collected),
            get(&self.finalized),
            get(&self.resurrected),
            get(&self.callbacks_run),
            get(&self.upgrades),
            get(&self.failed_upgrades),
            get(&self.revived),
            get(&self.walked),
        );
    }
}

/// Upper bound on objects (and on weak callbacks) one program can create.
const UNIVERSE: usize = 1024;

/// State of one object, kept outside the heap.
#[derive(Default)]
struct Probe {
    alive: AtomicBool,
    drops: AtomicUsize,
    finalized: AtomicUsize,
}

/// Everything the objects' own code (Drop, finalizers, weak callbacks) reports to.
struct Ctx {
    probes: Vec<Probe>,
    callback_runs: Vec<AtomicUsize>,
    /// Labels handed out so far.
    allocated: AtomicUsize,
    /// Where resurrecting finalizers store their object.
    side: Mutex<Vec<Gc<Fin>>>,
    violations: Mutex<Vec<String>>,
}

impl Ctx {
    fn new() -> Arc<Ctx> {
        Arc::new(Ctx {
            probes: (0..UNIVERSE).map(|_| Probe::default()).collect(),
            callback_runs: (0..UNIVERSE).map(|_| AtomicUsize::new(0)).collect(),
            allocated: AtomicUsize::new(0),
            side: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        })
    }

    fn violation(&self, what: String) {
        lock(&self.violations).push(what);
    }

    fn side_labels(&self) -> Vec<usize> {
        lock(&self.side).iter().map(|g| g.body.label).collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Trace)]
struct Body {
    #[gc(skip)]
    label: usize,
    #[gc(skip)]
    ctx: Arc<Ctx>,
    cell: GcCell<Vec<Ref>>,
    lock: GcLock<Vec<Ref>>,
}

impl Drop for Body {
    fn drop(&mut self) {
        let probe = &self.ctx.probes[self.label];
        if !probe.alive.swap(false, SeqCst) {
            self.ctx
                .violation(format!("object {} dropped while not alive", self.label));
        }
        probe.drops.fetch_add(1, SeqCst);
    }
}

/// An object without a finalizer.
#[derive(Trace)]
struct Plain {
    body: Body,
}

/// An object with a finalizer; `resurrect` ones store themselves in the side table.
#[derive(Trace)]
#[gc(finalize)]
struct Fin {
    body: Body,
    #[gc(skip)]
    resurrect: bool,
}

impl Finalize for Fin {
    fn finalize(this: &Gc<Self>) {
        let ctx = &this.body.ctx;
        let label = this.body.label;
        let probe = &ctx.probes[label];
        if !probe.alive.load(SeqCst) {
            ctx.violation(format!("finalizer of {label} ran after its Drop"));
        }
        if probe.finalized.fetch_add(1, SeqCst) != 0 {
            ctx.violation(format!("finalizer of {label} ran twice"));
        }
        if this.resurrect {
            let keep = this.clone();
            lock(&ctx.side).push(keep);
        }
    }
}

#[derive(Trace, Clone)]
enum Ref {
    Plain(Gc<Plain>),
    Fin(Gc<Fin>),
}

enum WeakRef {
    Plain(Weak<Plain>),
    Fin(Weak<Fin>),
}

impl Ref {
    fn body(&self) -> &Body {
        match self {
            Ref::Plain(g) => &g.body,
            Ref::Fin(g) => &g.body,
        }
    }

    fn label(&self) -> usize {
        self.body().label
    }

    fn weak_count(&self) -> usize {
        match self {
            Ref::Plain(g) => Gc::weak_count(g),
            Ref::Fin(g) => Gc::weak_count(g),
        }
    }

    fn is_finalized(&self) -> bool {
        match self {
            Ref::Plain(g) => Gc::is_finalized(g),
            Ref::Fin(g) => Gc::is_finalized(g),
        }
    }

    fn downgrade(&self, callback: Option<usize>, ctx: &Arc<Ctx>) -> WeakRef {
        fn with_callback<T: Trace + Send + Sync + 'static>(
            g: &Gc<T>,
            id: usize,
            label: usize,
            ctx: Arc<Ctx>,
        ) -> Weak<T> {
            Gc::downgrade_with_callback(g, move |w: &Weak<T>| {
                if ctx.callback_runs[id].fetch_add(1, SeqCst) != 0 {
                    ctx.violation(format!("weak callback {id} ran twice"));
                }
                if !ctx.probes[label].alive.load(SeqCst) {
                    ctx.violation(format!("weak callback {id} ran after {label} was dropped"));
                }
                if w.upgrade().is_some() {
                    ctx.violation(format!("weak callback {id} could upgrade its referent"));
                }
            })
        }
        let label = self.label();
        match (self, callback) {
            (Ref::Plain(g), None) => WeakRef::Plain(Gc::downgrade(g)),
            (Ref::Fin(g), None) => WeakRef::Fin(Gc::downgrade(g)),
            (Ref::Plain(g), Some(id)) => WeakRef::Plain(with_callback(g, id, label, ctx.clone())),
            (Ref::Fin(g), Some(id)) => WeakRef::Fin(with_callback(g, id, label, ctx.clone())),
        }
    }
}

impl WeakRef {
    fn upgrade(&self) -> Option<Ref> {
        match self {
            WeakRef::Plain(w) => w.upgrade().map(Ref::Plain),
            WeakRef::Fin(w) => w.upgrade().map(Ref::Fin),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Plain,
    Fin,
    Resurrect,
}

/// One operation. Indices are taken modulo the current length of the table they index (the
/// operation does nothing when it is empty), so every program is valid whatever the
/// interleaving.
#[derive(Clone, Debug)]
enum Op {
    /// A new object, pushed as a root; optionally born with an edge to a root.
    Alloc {
        kind: Kind,
        link_to: Option<usize>,
    },
    /// Push an edge `from -> to` between two roots' objects, through the cell or the lock.
    Link {
        from: usize,
        to: usize,
        lock: bool,
    },
    /// Remove one edge of a root's object.
    Unlink {
        from: usize,
        at: usize,
        lock: bool,
    },
    /// Clone the target of an edge out of a cell into the root table.
    Promote {
        from: usize,
        at: usize,
        lock: bool,
    },
    /// Move every edge out of a root's cell into the root table (no count changes).
    MoveOut {
        from: usize,
        lock: bool,
    },
    DropRoot(usize),
    DupRoot(usize),
    MakeWeak {
        of: usize,
        callback: bool,
    },
    DropWeak(usize),
    /// Upgrade a weak handle; keep the result as a root or drop it at once.
    Upgrade {
        slot: usize,
        keep: bool,
    },
    /// Drop one resurrected object from the side table (or all of them).
    ClearSide(Option<usize>),
    /// Move one resurrected object from the side table into the root table.
    TakeSide(usize),
    /// An explicit collection (full when `None`), outside the mutex.
    Collect(Option<usize>),
    /// A full collection while this thread holds a write borrow of a root's cell.
    CollectBorrowed(usize),
    /// Follow random edges from a root outside the mutex, checking every object met.
    Walk {
        from: usize,
        steps: u8,
        seed: u32,
    },
}

#[derive(Clone, Debug)]
struct HeapShape {
    thresholds: [usize; 3],
    workers: usize,
    parallel: bool,
    shards: usize,
    long_lived_rule: bool,
    /// Bit `t`: thread `t` runs attached (a `Mutator`).
    attached: u8,
}

#[derive(Clone, Debug)]
struct Program {
    shape: HeapShape,
    /// phase -> thread -> operations
    phases: Vec<Vec<Vec<Op>>>,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let i = || 0usize..64;
    let kind = prop_oneof![Just(Kind::Plain), Just(Kind::Fin), Just(Kind::Resurrect)];
    Union::new_weighted(vec![
        (
            6,
            (kind, proptest::option::of(i()))
                .prop_map(|(kind, link_to)| Op::Alloc { kind, link_to })
                .boxed(),
        ),
        (
            7,
            (i(), i(), any::<bool>())
                .prop_map(|(from, to, lock)| Op::Link { from, to, lock })
                .boxed(),
        ),
        (
            3,
            (i(), i(), any::<bool>())
                .prop_map(|(from, at, lock)| Op::Unlink { from, at, lock })
                .boxed(),
        ),
        (
            3,
            (i(), i(), any::<bool>())
                .prop_map(|(from, at, lock)| Op::Promote { from, at, lock })
                .boxed(),
        ),
        (
            1,
            (i(), any::<bool>())
                .prop_map(|(from, lock)| Op::MoveOut { from, lock })
                .boxed(),
        ),
        (5, i().prop_map(Op::DropRoot).boxed()),
        (1, i().prop_map(Op::DupRoot).boxed()),
        (
            2,
            (i(), any::<bool>())
                .prop_map(|(of, callback)| Op::MakeWeak { of, callback })
                .boxed(),
        ),
        (1, i().prop_map(Op::DropWeak).boxed()),
        (
            2,
            (i(), any::<bool>())
                .prop_map(|(slot, keep)| Op::Upgrade { slot, keep })
                .boxed(),
        ),
        (1, proptest::option::of(i()).prop_map(Op::ClearSide).boxed()),
        (1, i().prop_map(Op::TakeSide).boxed()),
        (
            2,
            proptest::option::of(0usize..3)
                .prop_map(Op::Collect)
                .boxed(),
        ),
        (1, i().prop_map(Op::CollectBorrowed).boxed()),
        (
            2,
            (i(), 1u8..12, any::<u32>())
                .prop_map(|(from, steps, seed)| Op::Walk { from, steps, seed })
                .boxed(),
        ),
    ])
}

fn program_strategy() -> impl Strategy<Value = Program> {
    let shape = (
        prop_oneof![1 => Just(0usize), 3 => 1usize..8],
        1usize..4,
        1usize..4,
        1usize..=2,
        any::<bool>(),
        1usize..=4,
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(
            |(t0, t1, t2, workers, parallel, shards, long_lived_rule, attached)| HeapShape {
                thresholds: [t0, t1, t2],
                workers,
                parallel,
                shards,
                long_lived_rule,
                attached,
            },
        );
    (shape, 2usize..=3).prop_flat_map(|(shape, threads)| {
        let phases = proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(op_strategy(), 0..40), threads),
            1..=4,
        );
        (Just(shape), phases).prop_map(|(shape, phases)| Program { shape, phases })
    })
}

/// The reachability model, plus the real handles it describes, behind one mutex.
struct Shared {
    roots: Vec<Ref>,
    weaks: Vec<WeakSlot>,
    model: Model,
}

struct WeakSlot {
    label: usize,
    weak: WeakRef,
    callback: Option<usize>,
}

#[derive(Default)]
struct Model {
    kinds: Vec<Kind>,
    cell: Vec<Vec<usize>>,
    lock: Vec<Vec<usize>>,
    roots: Vec<usize>,
    /// The side table as last synchronised (finalizers add to it asynchronously).
    side: Vec<usize>,
    /// The object was unreachable in the model at some point: it may have been finalized.
    ever_unreachable: Vec<bool>,
    /// The object has been put in the side table (a finalizer resurrects at most once).
    entered_side: Vec<bool>,
    /// Per weak callback id: its referent, and whether its weak handle was dropped.
    callbacks: Vec<(usize, bool)>,
}

impl Model {
    fn objects(&self) -> usize {
        self.kinds.len()
    }

    fn edges(&self, label: usize, lock: bool) -> &Vec<usize> {
        if lock {
            &self.lock[label]
        } else {
            &self.cell[label]
        }
    }

    fn edges_mut(&mut self, label: usize, lock: bool) -> &mut Vec<usize> {
        if lock {
            &mut self.lock[label]
        } else {
            &mut self.cell[label]
        }
    }

    /// Objects reachable from the roots and the side table.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.objects()];
        let mut stack: Vec<usize> = self.roots.iter().chain(&self.side).copied().collect();
        while let Some(x) = stack.pop() {
            if std::mem::replace(&mut seen[x], true) {
                continue;
            }
            stack.extend(self.cell[x].iter().chain(&self.lock[x]).copied());
        }
        seen
    }

    fn mark_unreachable(&mut self) {
        let reachable = self.reachable();
        for (x, r) in reachable.into_iter().enumerate() {
            if !r {
                self.ever_unreachable[x] = true;
            }
        }
    }

    /// A new side-table entry must be a legitimate resurrection.
    fn admit(&mut self, ctx: &Ctx, x: usize) -> Result<(), String> {
        if self.kinds[x] != Kind::Resurrect {
            return Err(format!(
                "object {x} ({:?}) in the side table",
                self.kinds[x]
            ));
        }
        if std::mem::replace(&mut self.entered_side[x], true) {
            return Err(format!("object {x} resurrected twice"));
        }
        if !self.ever_unreachable[x] {
            return Err(format!("object {x} finalized while always reachable"));
        }
        if ctx.probes[x].finalized.load(SeqCst) != 1 {
            return Err(format!("object {x} resurrected without one finalizer run"));
        }
        Ok(())
    }

    /// Takes the side table's current content, admitting new entries.
    fn sync_side(&mut self, ctx: &Ctx) -> Result<(), String> {
        let real = ctx.side_labels();
        let mut old = self.side.clone();
        for &x in &real {
            match old.iter().position(|&y| y == x) {
                Some(pos) => {
                    old.swap_remove(pos);
                }
                None => self.admit(ctx, x)?,
            }
        }
        if !old.is_empty() {
            return Err(format!("side table entries {old:?} vanished"));
        }
        self.side = real;
        Ok(())
    }

    /// An entry taken out of the side table by an operation.
    fn take_side(&mut self, ctx: &Ctx, x: usize) -> Result<(), String> {
        match self.side.iter().position(|&y| y == x) {
            Some(pos) => {
                self.side.remove(pos);
                Ok(())
            }
            // Resurrected since the last sync.
            None => self.admit(ctx, x),
        }
    }
}

fn lock_shared(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Waiting for the mutex detached, as for any blocking call: a thread holding it may be
    // collecting.
    gc_core::blocking(|| lock(shared))
}

struct Runner<'a> {
    heap: &'a Heap,
    ctx: &'a Arc<Ctx>,
    shared: &'a Mutex<Shared>,
    mutator: Option<Mutator>,
    coverage: &'a Coverage,
}

impl Runner<'_> {
    fn safepoint(&self) {
        if let Some(m) = &self.mutator {
            m.safepoint();
        }
    }

    /// An explicit collection from this thread (which may hold the world).
    fn explicit_collect(&self, gen: Option<usize>) {
        match gen {
            None => self.heap.collect(),
            Some(g) => self.heap.collect_generation(g).unwrap(),
        };
    }

    fn alloc(&self, label: usize, kind: Kind, first: Option<Ref>) -> Ref {
        let probe = &self.ctx.probes[label];
        assert!(
            !probe.alive.swap(true, SeqCst),
            "label {label} allocated twice"
        );
        self.ctx.allocated.fetch_max(label + 1, SeqCst);
        let body = Body {
            label,
            ctx: self.ctx.clone(),
            cell: GcCell::new(first.into_iter().collect()),
            lock: GcLock::new(Vec::new()),
        };
        match (kind, &self.mutator) {
            (Kind::Plain, Some(m)) => Ref::Plain(m.alloc(Plain { body })),
            (Kind::Plain, None) => Ref::Plain(self.heap.alloc(Plain { body })),
            (kind, m) => {
                let fin = Fin {
                    body,
                    resurrect: kind == Kind::Resurrect,
                };
                Ref::Fin(match m {
                    Some(m) => m.alloc(fin),
                    None => self.heap.alloc(fin),
                })
            }
        }
    }

    fn borrow_cell_mut<'b>(&self, obj: &'b Ref) -> gc_core::GcRefMut<'b, Vec<Ref>> {
        loop {
            // A walker on another thread may hold a short read borrow.
            if let Ok(b) = obj.body().cell.try_borrow_mut() {
                return b;
            }
            self.safepoint();
            std::thread::yield_now();
        }
    }

    fn check_walked(&self, obj: &Ref) {
        let label = obj.label();
        assert!(
            label < self.ctx.allocated.load(SeqCst),
            "walked into an object with a garbage label {label}"
        );
        assert!(
            self.ctx.probes[label].alive.load(SeqCst),
            "walked into object {label}, which was dropped: a live object was freed"
        );
    }

    fn run(&self, op: &Op) {
        Coverage::add(&self.coverage.ops, 1);
        let mut garbage: Vec<Ref> = Vec::new();
        let mut walk: Option<(Ref, u8, u32)> = None;
        let mut collect: Option<Option<usize>> = None;
        {
            let mut guard = lock_shared(self.shared);
            let sh = &mut *guard;
            if let Err(e) = sh.model.sync_side(self.ctx) {
                panic!("{e}");
            }
            let reachable = sh.model.reachable();
            for (x, &r) in reachable.iter().enumerate() {
                assert!(
                    !r || self.ctx.probes[x].alive.load(SeqCst),
                    "object {x} is reachable but was dropped"
                );
            }
            let nroots = sh.roots.len();
            let root = |i: usize| i % nroots.max(1);
            match *op {
                Op::Alloc { kind, link_to } => {
                    let label = sh.model.objects();
                    assert!(label < UNIVERSE, "program too long for the universe");
                    let first = link_to.filter(|_| nroots > 0).map(root);
                    let obj = self.alloc(label, kind, first.map(|r| sh.roots[r].clone()));
                    sh.model.kinds.push(kind);
                    sh.model
                        .cell
                        .push(first.map(|r| sh.model.roots[r]).into_iter().collect());
                    sh.model.lock.push(Vec::new());
                    sh.model.ever_unreachable.push(false);
                    sh.model.entered_side.push(false);
                    sh.model.roots.push(label);
                    sh.roots.push(obj);
                }
                Op::Link { from, to, lock } if nroots > 0 => {
                    let (from, to) = (root(from), root(to));
                    let target = sh.roots[to].clone();
                    let obj = &sh.roots[from];
                    if lock {
                        obj.body().lock.write().push(target);
                    } else {
                        self.borrow_cell_mut(obj).push(target);
                    }
                    let (f, t) = (sh.model.roots[from], sh.model.roots[to]);
                    sh.model.edges_mut(f, lock).push(t);
                }
                Op::Unlink { from, at, lock } if nroots > 0 => {
                    let from = root(from);
                    let f = sh.model.roots[from];
                    let n = sh.model.edges(f, lock).len();
                    if n > 0 {
                        let at = at % n;
                        let obj = &sh.roots[from];
                        let removed = if lock {
                            obj.body().lock.write().remove(at)
                        } else {
                            self.borrow_cell_mut(obj).remove(at)
                        };
                        let t = sh.model.edges_mut(f, lock).remove(at);
                        assert_eq!(removed.label(), t, "edge {f} -> {t} had another target");
                        garbage.push(removed);
                    }
                }
                Op::Promote { from, at, lock } if nroots > 0 => {
                    let from = root(from);
                    let f = sh.model.roots[from];
                    let n = sh.model.edges(f, lock).len();
                    if n > 0 {
                        let at = at % n;
                        let obj = &sh.roots[from];
                        let target = if lock {
                            obj.body().lock.read()[at].clone()
                        } else {
                            obj.body().cell.borrow()[at].clone()
                        };
                        let t = sh.model.edges(f, lock)[at];
                        assert_eq!(target.label(), t, "edge {f} -> {t} had another target");
                        sh.roots.push(target);
                        sh.model.roots.push(t);
                    }
                }
                Op::MoveOut { from, lock } if nroots > 0 => {
                    let from = root(from);
                    let f = sh.model.roots[from];
                    let obj = sh.roots[from].clone();
                    let moved = if lock {
                        std::mem::take(&mut *obj.body().lock.write())
                    } else {
                        std::mem::take(&mut *self.borrow_cell_mut(&obj))
                    };
                    let labels = std::mem::take(sh.model.edges_mut(f, lock));
                    let real: Vec<usize> = moved.iter().map(Ref::label).collect();
                    assert_eq!(real, labels, "edges of {f}");
                    sh.roots.extend(moved);
                    sh.model.roots.extend(labels);
                    garbage.push(obj);
                }
                Op::DropRoot(i) if nroots > 0 => {
                    let i = root(i);
                    garbage.push(sh.roots.swap_remove(i));
                    sh.model.roots.swap_remove(i);
                }
                Op::DupRoot(i) if nroots > 0 => {
                    let i = root(i);
                    let dup = sh.roots[i].clone();
                    sh.roots.push(dup);
                    sh.model.roots.push(sh.model.roots[i]);
                }
                Op::MakeWeak { of, callback } if nroots > 0 => {
                    let of = root(of);
                    let label = sh.model.roots[of];
                    let id = callback.then_some(sh.model.callbacks.len());
                    if let Some(id) = id {
                        assert!(id < UNIVERSE, "too many weak callbacks");
                        sh.model.callbacks.push((label, false));
                    }
                    let weak = sh.roots[of].downgrade(id, self.ctx);
                    sh.weaks.push(WeakSlot {
                        label,
                        weak,
                        callback: id,
                    });
                }
                Op::DropWeak(i) if !sh.weaks.is_empty() => {
                    let slot = sh.weaks.swap_remove(i % sh.weaks.len());
                    if let Some(id) = slot.callback {
                        sh.model.callbacks[id].1 = true;
                    }
                }
                Op::Upgrade { slot, keep } if !sh.weaks.is_empty() => {
                    let slot = &sh.weaks[slot % sh.weaks.len()];
                    let label = slot.label;
                    let upgraded = slot.weak.upgrade();
                    Coverage::add(&self.coverage.upgrades, 1);
                    match upgraded {
                        Some(obj) => {
                            if !reachable[label] {
                                Coverage::add(&self.coverage.revived, 1);
                            }
                            assert_eq!(
                                obj.label(),
                                label,
                                "a weak handle upgraded to another object"
                            );
                            assert!(
                                self.ctx.probes[label].alive.load(SeqCst),
                                "a weak handle upgraded to dropped object {label}"
                            );
                            if keep {
                                sh.roots.push(obj);
                                sh.model.roots.push(label);
                            } else {
                                garbage.push(obj);
                            }
                        }
                        None => {
                            Coverage::add(&self.coverage.failed_upgrades, 1);
                            assert!(
                                !reachable[label] || sh.model.ever_unreachable[label],
                                "weak upgrade of {label} failed though it was always reachable"
                            );
                        }
                    }
                }
                Op::ClearSide(which) => {
                    let taken: Vec<Gc<Fin>> = {
                        let mut side = lock(&self.ctx.side);
                        match which {
                            None => std::mem::take(&mut *side),
                            Some(_) if side.is_empty() => Vec::new(),
                            Some(i) => {
                                let n = side.len();
                                vec![side.remove(i % n)]
                            }
                        }
                    };
                    for g in taken {
                        if let Err(e) = sh.model.take_side(self.ctx, g.body.label) {
                            panic!("{e}");
                        }
                        garbage.push(Ref::Fin(g));
                    }
                }
                Op::TakeSide(i) => {
                    let taken = {
                        let mut side = lock(&self.ctx.side);
                        let n = side.len();
                        (n > 0).then(|| side.remove(i % n))
                    };
                    if let Some(g) = taken {
                        let x = g.body.label;
                        if let Err(e) = sh.model.take_side(self.ctx, x) {
                            panic!("{e}");
                        }
                        sh.roots.push(Ref::Fin(g));
                        sh.model.roots.push(x);
                    }
                }
                Op::Collect(gen) => collect = Some(gen),
                Op::CollectBorrowed(i) if nroots > 0 => {
                    let obj = &sh.roots[root(i)];
                    let borrowed = self.borrow_cell_mut(obj);
                    // Conservative: the borrowed object (reachable anyway) and what it reaches
                    // are kept; unrelated garbage is still found.
                    self.explicit_collect(None);
                    drop(borrowed);
                }
                Op::Walk { from, steps, seed } if nroots > 0 => {
                    walk = Some((sh.roots[root(from)].clone(), steps, seed));
                }
                _ => {}
            }
            sh.model.mark_unreachable();
        }
        drop(garbage);
        if let Some(gen) = collect {
            self.explicit_collect(gen);
        }
        if let Some((mut cur, steps, mut seed)) = walk {
            for _ in 0..steps {
                self.check_walked(&cur);
                Coverage::add(&self.coverage.walked, 1);
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let pick =
                    |v: &Vec<Ref>| (!v.is_empty()).then(|| v[seed as usize % v.len()].clone());
                let next = if seed & (1 << 16) == 0 {
                    match cur.body().cell.try_borrow() {
                        Ok(edges) => pick(&edges),
                        Err(_) => None,
                    }
                } else {
                    pick(&cur.body().lock.read())
                };
                match next {
                    Some(next) => cur = next,
                    None => break,
                }
                self.safepoint();
            }
            self.check_walked(&cur);
        }
        self.safepoint();
    }
}

/// Full collection at a quiescent point, then every check against the model.
fn check_quiescent(heap: &Heap, ctx: &Ctx, shared: &Mutex<Shared>, phase: usize) {
    let mut guard = lock(shared);
    let sh = &mut *guard;
    let n = sh.model.objects();
    let alive = |x: usize| ctx.probes[x].alive.load(SeqCst);
    let alive_before = (0..n).filter(|&x| alive(x)).count();
    let found = heap.collect();
    let alive_after = (0..n).filter(|&x| alive(x)).count();
    assert_eq!(
        found,
        alive_before - alive_after,
        "phase {phase}: collect() reported {found} unreachable objects, {} died",
        alive_before - alive_after
    );
    let violations = std::mem::take(&mut *lock(&ctx.violations));
    assert!(violations.is_empty(), "phase {phase}: {violations:?}");
    if let Err(e) = sh.model.sync_side(ctx) {
        panic!("phase {phase}: {e}");
    }
    let model = &sh.model;
    let reachable = model.reachable();

    // Exactly the unreachable objects are gone, each dropped once.
    for (x, &live) in reachable.iter().enumerate() {
        let probe = &ctx.probes[x];
        let drops = probe.drops.load(SeqCst);
        if live {
            assert!(alive(x), "phase {phase}: reachable object {x} was freed");
            assert_eq!(drops, 0, "phase {phase}: live object {x} was dropped");
        } else {
            assert!(
                !alive(x),
                "phase {phase}: unreachable object {x} ({:?}) survived a full collection",
                model.kinds[x]
            );
            assert_eq!(
                drops, 1,
                "phase {phase}: dead object {x} dropped {drops} times"
            );
        }
        let finalized = probe.finalized.load(SeqCst);
        match model.kinds[x] {
            Kind::Plain => assert_eq!(finalized, 0),
            Kind::Fin | Kind::Resurrect => {
                assert!(
                    finalized <= 1,
                    "phase {phase}: {x} finalized {finalized} times"
                );
                if !live {
                    assert_eq!(finalized, 1, "phase {phase}: dead {x} was never finalized");
                }
                if finalized == 1 {
                    assert!(
                        model.ever_unreachable[x],
                        "phase {phase}: {x} was finalized but always reachable"
                    );
                }
            }
        }
    }

    // Exact strong counts: roots, edges from live objects and side-table entries.
    let mut expected = vec![0usize; n];
    for &x in model.roots.iter().chain(&model.side) {
        expected[x] += 1;
    }
    for x in (0..n).filter(|&x| reachable[x]) {
        for &y in model.cell[x].iter().chain(&model.lock[x]) {
            expected[y] += 1;
        }
    }
    let listed = heap.objects(None).unwrap();
    let per_generation: usize = (0..3).map(|g| heap.objects(Some(g)).unwrap().len()).sum();
    assert_eq!(
        per_generation,
        listed.len(),
        "phase {phase}: generations add up"
    );
    let mut listed_labels = Vec::new();
    for any in &listed {
        // Our own `GcAny` is one of the handles.
        let count = any.ref_count() - 1;
        let label = match (any.downcast::<Plain>(), any.downcast::<Fin>()) {
            (Some(p), None) => p.body.label,
            (None, Some(f)) => f.body.label,
            _ => panic!("phase {phase}: a listed object of an unknown type"),
        };
        assert_eq!(
            count, expected[label],
            "phase {phase}: strong count of {label}"
        );
        listed_labels.push(label);
    }
    drop(listed);
    listed_labels.sort_unstable();
    let want: Vec<usize> = (0..n).filter(|&x| reachable[x]).collect();
    assert_eq!(
        listed_labels, want,
        "phase {phase}: objects(None) lists the reachable objects"
    );
    assert_eq!(
        heap.count()[0],
        0,
        "phase {phase}: count()[0] after collect()"
    );

    // Every model edge is present, with the right labels, in order.
    let mut live_callbacks = vec![0usize; n];
    for (id, &(x, dropped)) in model.callbacks.iter().enumerate() {
        if !dropped && ctx.callback_runs[id].load(SeqCst) == 0 {
            live_callbacks[x] += 1;
        }
    }
    let mut weak_handles = vec![0usize; n];
    for slot in &sh.weaks {
        weak_handles[slot.label] += 1;
    }
    for (i, r) in sh.roots.iter().enumerate() {
        assert_eq!(r.label(), model.roots[i], "phase {phase}: root {i}");
    }
    let mut seen = vec![false; n];
    let side: Vec<Ref> = lock(&ctx.side).iter().cloned().map(Ref::Fin).collect();
    let mut stack: Vec<Ref> = sh.roots.iter().cloned().chain(side).collect();
    while let Some(obj) = stack.pop() {
        let x = obj.label();
        if std::mem::replace(&mut seen[x], true) {
            continue;
        }
        assert!(
            alive(x),
            "phase {phase}: followed an edge to freed object {x}"
        );
        let cell: Vec<Ref> = obj.body().cell.borrow().clone();
        let locked: Vec<Ref> = obj.body().lock.read().clone();
        let labels = |v: &[Ref]| v.iter().map(Ref::label).collect::<Vec<_>>();
        assert_eq!(
            labels(&cell),
            model.cell[x],
            "phase {phase}: cell edges of {x}"
        );
        assert_eq!(
            labels(&locked),
            model.lock[x],
            "phase {phase}: lock edges of {x}"
        );
        assert_eq!(
            obj.is_finalized(),
            ctx.probes[x].finalized.load(SeqCst) == 1,
            "phase {phase}: is_finalized of {x}"
        );
        assert_eq!(
            obj.weak_count(),
            weak_handles[x] + live_callbacks[x],
            "phase {phase}: weak count of {x}"
        );
        stack.extend(cell);
        stack.extend(locked);
    }
    assert_eq!(
        seen, reachable,
        "phase {phase}: the real graph reaches the model's objects"
    );

    // Weak handles and their callbacks.
    for slot in &sh.weaks {
        let x = slot.label;
        match slot.weak.upgrade() {
            Some(obj) => {
                assert!(reachable[x], "phase {phase}: weak upgrade of dead {x}");
                assert_eq!(obj.label(), x);
            }
            None => assert!(
                model.ever_unreachable[x],
                "phase {phase}: weak upgrade of always-reachable {x} failed"
            ),
        }
    }
    for (id, &(x, dropped)) in model.callbacks.iter().enumerate() {
        let runs = ctx.callback_runs[id].load(SeqCst);
        assert!(runs <= 1, "phase {phase}: callback {id} ran {runs} times");
        if !reachable[x] && !dropped {
            assert_eq!(
                runs, 1,
                "phase {phase}: callback {id} of dead {x} never ran"
            );
        }
        if !model.ever_unreachable[x] {
            assert_eq!(runs, 0, "phase {phase}: callback {id} of live {x} ran");
        }
    }
    assert_eq!(
        heap.collect(),
        0,
        "phase {phase}: a second collection finds nothing"
    );
    sh.model.mark_unreachable();
}

fn run_program(program: &Program, coverage: &Coverage) {
    let shape = &program.shape;
    let mut config = Config::default()
        .thresholds(&shape.thresholds)
        .workers(shape.workers)
        .shards(shape.shards)
        .long_lived_rule(shape.long_lived_rule)
        .safepoint_timeout(Duration::from_millis(20));
    if shape.parallel {
        config = config.parallel_cutoff(0);
    }
    let heap = Heap::with_config(config).unwrap();
    let ctx = Ctx::new();
    let shared = Mutex::new(Shared {
        roots: Vec::new(),
        weaks: Vec::new(),
        model: Model::default(),
    });
    for (phase, threads) in program.phases.iter().enumerate() {
        std::thread::scope(|s| {
            for (t, ops) in threads.iter().enumerate() {
                let (heap, ctx, shared) = (&heap, &ctx, &shared);
                let attached = shape.attached & (1 << t) != 0;
                s.spawn(move || {
                    let runner = Runner {
                        heap,
                        ctx,
                        shared,
                        mutator: attached.then(|| heap.attach()),
                        coverage,
                    };
                    for op in ops {
                        runner.run(op);
                    }
                });
            }
        });
        check_quiescent(&heap, &ctx, &shared, phase);
    }

    // Tear everything down: every object dies, every finalizer ran exactly once.
    let (roots, weaks, callbacks) = {
        let mut sh = lock(&shared);
        let sh = &mut *sh;
        sh.model.roots.clear();
        sh.model.side.clear();
        sh.model.mark_unreachable();
        (
            std::mem::take(&mut sh.roots),
            std::mem::take(&mut sh.weaks),
            sh.model.callbacks.clone(),
        )
    };
    drop(roots);
    // Objects finalized for the first time now may resurrect once more; each only once.
    for round in 0.. {
        let side = std::mem::take(&mut *lock(&ctx.side));
        if round > 0 && side.is_empty() {
            break;
        }
        assert!(round <= UNIVERSE, "resurrections never stop");
        drop(side);
        heap.collect();
    }
    let sh = lock(&shared);
    Coverage::add(&coverage.objects, sh.model.objects());
    let stats = heap.stats();
    for (g, st) in stats.iter().enumerate() {
        Coverage::add(&coverage.collections[g], st.collections as usize);
        Coverage::add(&coverage.collected, st.collected as usize);
        Coverage::add(&coverage.missed, st.missed as usize);
    }
    let resurrected = sh.model.entered_side.iter().filter(|&&e| e).count();
    Coverage::add(&coverage.resurrected, resurrected);
    for x in 0..sh.model.objects() {
        Coverage::add(&coverage.finalized, ctx.probes[x].finalized.load(SeqCst));
    }
    for id in 0..sh.model.callbacks.len() {
        Coverage::add(&coverage.callbacks_run, ctx.callback_runs[id].load(SeqCst));
    }
    for x in 0..sh.model.objects() {
        let probe = &ctx.probes[x];
        assert!(!probe.alive.load(SeqCst), "object {x} leaked");
        assert_eq!(probe.drops.load(SeqCst), 1, "object {x} dropped once");
        let finalized = probe.finalized.load(SeqCst);
        match sh.model.kinds[x] {
            Kind::Plain => assert_eq!(finalized, 0),
            _ => assert_eq!(finalized, 1, "finalizer of {x} ran exactly once"),
        }
    }
    for (id, &(_, dropped)) in callbacks.iter().enumerate() {
        let runs = ctx.callback_runs[id].load(SeqCst);
        if dropped {
            assert!(runs <= 1);
        } else {
            assert_eq!(runs, 1, "callback {id} ran once");
        }
    }
    assert!(weaks.iter().all(|w| w.weak.upgrade().is_none()));
    drop(weaks);
    assert!(
        heap.objects(None).unwrap().is_empty(),
        "nothing left listed"
    );
    let violations = lock(&ctx.violations).clone();
    assert!(violations.is_empty(), "{violations:?}");
}

fn runner_config(cases: u32, seed: u64) -> ProptestConfig {
    proptest::test_runner::contextualize_config(ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    })
}

fn check(test: &str, cases: u32, seed: u64, strategy: impl Strategy<Value = Program>) {
    let mut runner = TestRunner::new(runner_config(cases, seed));
    let coverage = Coverage::default();
    let current = Mutex::new(String::new());
    let finished = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        // A deadlock fails the run (with the program that hung) instead of hanging it.
        s.spawn(|| watchdog(test, &coverage.ops, &finished, &current));
        struct Finished<'a>(&'a AtomicBool);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.store(true, SeqCst);
            }
        }
        let _finished = Finished(&finished);
        // A panic in the program (or in one of its threads) fails the case.
        runner.run(&strategy, |program| {
            *lock(&current) = format!("{program:#?}");
            run_program(&program, &coverage);
            Ok(())
        })
    });
    coverage.report(test);
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn watchdog(test: &str, ops: &AtomicUsize, finished: &AtomicBool, current: &Mutex<String>) {
    const STALL: Duration = Duration::from_secs(60);
    let mut last = (ops.load(SeqCst), std::time::Instant::now());
    while !finished.load(SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        let now = ops.load(SeqCst);
        if now != last.0 {
            last = (now, std::time::Instant::now());
        } else if last.1.elapsed() > STALL && !finished.load(SeqCst) {
            // Straight to stderr: the test harness would swallow a captured message.
            let message = format!(
                "{test}: no operation completed for {STALL:?} (deadlock) in program:\n{}\n",
                lock(current)
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            std::process::exit(3);
        }
    }
}

#[test]
fn random_programs_from_several_threads_match_the_reachability_model() {
    check(
        "several threads",
        256,
        0x6763_2d6f_7261_636c,
        program_strategy(),
    );
}

/// Single-threaded programs with automatic collection off: a cleaner signal when the
/// multi-threaded test fails.
#[test]
fn random_single_threaded_programs_match_the_reachability_model() {
    let strategy = proptest::collection::vec(op_strategy(), 0..120).prop_map(|ops| Program {
        shape: HeapShape {
            thresholds: [0, 10, 10],
            workers: 1,
            parallel: false,
            shards: 1,
            long_lived_rule: true,
            attached: 0,
        },
        phases: vec![vec![ops]],
    });
    check("one thread", 128, 0x5eed_0001, strategy);
}

/// Found by the oracle in the thread-owned shards (`generation.rs`, `heap.rs`): with every shard
/// owned, a second thread's allocation is handed to the owner's inbox; if the owner
/// frees that object before draining its inbox, it "unlists" an object that is not on its list
/// yet (a debug assertion in `generation::remove`; in release the wrong object is taken off
/// the list and the process aborts on heap corruption).
#[test]
fn a_thread_without_a_shard_frees_an_object_handed_to_the_owner() {
    isolated(
        "a_thread_without_a_shard_frees_an_object_handed_to_the_owner",
        || {
            let heap = Heap::with_config(Config::default().shards(1).workers(1)).unwrap();
            heap.disable();
            let ctx = Ctx::new();
            let body = |label: usize| Body {
                label,
                ctx: ctx.clone(),
                cell: GcCell::new(Vec::new()),
                lock: GcLock::new(Vec::new()),
            };
            for label in 0..2 {
                ctx.probes[label].alive.store(true, SeqCst);
            }
            // This thread owns the only shard.
            let a = heap.alloc(Plain { body: body(0) });
            // Another thread's allocation goes through the owner's inbox.
            let b = std::thread::scope(|s| s.spawn(|| heap.alloc(Plain { body: body(1) })).join())
                .unwrap();
            drop(b);
            assert_eq!(heap.objects(None).unwrap().len(), 1);
            assert_eq!(a.body.label, 0);
            drop(a);
            assert_eq!(heap.objects(None).unwrap().len(), 0);
            assert_eq!(heap.collect(), 0);
        },
    );
}

/// Runs `body` in a child process (this test binary, filtered to `name`), so an abort there
/// fails this test instead of killing the test binary.
fn isolated(name: &str, body: impl FnOnce()) {
    const VAR: &str = "GC_CORE_ISOLATED_TEST";
    if std::env::var(VAR).as_deref() == Ok(name) {
        body();
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--include-ignored", "--nocapture"])
        .env(VAR, name)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} failed in its child process ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
