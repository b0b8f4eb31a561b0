//! Loom models of gc-core's concurrent protocols.
//!
//! Every model lives in its own test file under `tests/`, named for the protocol it checks, and
//! runs the real gc-core code: built with `--cfg loom`, gc-core's `sync` facade hands it loom's
//! atomics, locks, condition variables and thread-locals, so loom explores the interleavings of
//! the protocol itself, not of a copy of it.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p gc-loom-tests --release --target-dir target/loom
//! ```
//!
//! Without `--cfg loom` this crate is empty. `docs/loom-models.md` lists the models, the race
//! each one covers, their run times and the seeded bugs each one catches.
//!
//! This library holds what the models share:
//!
//! - `model`: loom's checker with a preemption bound of 2 unless `LOOM_MAX_PREEMPTIONS` says
//!   otherwise (loom's own default is unbounded).
//! - `heap`: a heap small enough to model: one shard, one generation, no worker pool, no
//!   automatic collection.
//! - `Probe`: a field that turns "the collector traced this object while a mutator touched it"
//!   into a loom causality violation. Its `Trace` reads a loom `UnsafeCell`; mutators write it
//!   while they hold the world. Any missing happens-before edge between a stopped-world scan
//!   and a mutator's guarded access is reported by loom, whatever the values involved.
//! - `Counts`: finalizer runs, drops and probe violations, shared by a model's objects through
//!   a loom `Arc` — so an object that is never freed also leaks an `Arc`, which loom reports.
//! - `Node` and `FinalizedNode`: the models' object, a probe and one edge, without and with
//!   a finalizer that counts its runs.
//! - `Blocks`: blocks of gc-core's pool (`gc_core::loom_hooks::pool`) as the pool models'
//!   threads use them, with what they store in each block kept in a loom-checked cell.
#![cfg(loom)]

pub use loom;

use std::collections::HashMap;

use gc_core::loom_hooks::pool;
use gc_core::{Config, Finalize, Gc, GcCell, Heap, Trace, Tracer};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};

/// Runs `f` under loom for every interleaving within the preemption bound
/// (`LOOM_MAX_PREEMPTIONS`, default 2).
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.max_branches = builder.max_branches.max(10_000);
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    let started = std::time::Instant::now();
    builder.check(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom: {}: {} interleavings in {:.2?} (preemption bound {})",
        std::thread::current().name().unwrap_or("model"),
        runs.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed(),
        builder.preemption_bound.unwrap_or(0)
    );
}

/// A heap for models: one shard, one generation, one collector thread, automatic collection
/// off (explicit `collect()` only).
pub fn heap() -> Heap {
    heap_with(Config::default().thresholds(&[0]))
}

/// A heap with `config`, forced to one shard and no worker pool (rayon is not loom-aware).
pub fn heap_with(config: Config) -> Heap {
    Heap::with_config(config.workers(1).shards(1)).expect("a valid model configuration")
}

/// Events a model's objects report.
#[derive(Debug, Default)]
pub struct Counts {
    /// Finalizer runs.
    pub finalized: AtomicUsize,
    /// Values dropped.
    pub dropped: AtomicUsize,
    /// Causality violations met while dropping a [`Probe`] (a drop inside a collection runs
    /// under `catch_unwind`, which would otherwise swallow loom's report).
    pub violations: AtomicUsize,
}

impl Counts {
    /// A fresh set of counters.
    pub fn new() -> Arc<Counts> {
        Arc::new(Counts::default())
    }

    /// Finalizer runs so far.
    pub fn finalized(&self) -> usize {
        self.finalized.load(Ordering::SeqCst)
    }

    /// Values dropped so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Records a finalizer run.
    pub fn finalize(&self) {
        self.finalized.fetch_add(1, Ordering::SeqCst);
    }

    /// Asserts the end state of a model: `objects` values dropped, `finalized` finalizer runs,
    /// no probe violation.
    #[track_caller]
    pub fn assert_end(&self, objects: usize, finalized: usize) {
        assert_eq!(
            self.violations.load(Ordering::SeqCst),
            0,
            "probe violations"
        );
        assert_eq!(self.dropped(), objects, "values dropped");
        assert_eq!(self.finalized(), finalized, "finalizer runs");
    }
}

/// A field whose `Trace` reads a loom-checked cell and which mutators write while they hold
/// the world. See the crate docs.
pub struct Probe {
    value: UnsafeCell<u64>,
    counts: Arc<Counts>,
}

// SAFETY: every access to `value` goes through loom's checked `with`/`with_mut`; a concurrent
// access is exactly what the models look for, and loom reports it instead of racing.
unsafe impl Sync for Probe {}

impl Probe {
    /// A probe reporting to `counts`.
    pub fn new(counts: &Arc<Counts>) -> Probe {
        Probe {
            value: UnsafeCell::new(0),
            counts: counts.clone(),
        }
    }

    /// A mutator's write. The caller must hold the world: attached, or inside a gc-cell borrow.
    pub fn write(&self) {
        // SAFETY: loom checks the access; the protocol under test must exclude the collector.
        self.value.with_mut(|p| unsafe { *p += 1 });
    }

    /// Reads the value (as the collector's trace does).
    pub fn read(&self) -> u64 {
        // SAFETY: loom checks the access.
        self.value.with(|p| unsafe { *p })
    }

    /// The counters this probe reports to.
    pub fn counts(&self) -> &Arc<Counts> {
        &self.counts
    }
}

// SAFETY: a probe owns no handle and reports no edge; reading it is the point.
unsafe impl Trace for Probe {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {
        self.read();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let value = &self.value;
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: loom checks the access; dropping is a write.
            value.with_mut(|p| unsafe { *p = u64::MAX })
        }));
        if checked.is_err() {
            self.counts.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.counts.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A single-use barrier for `n` loom threads (loom's own `Barrier` is a stub).
#[derive(Debug)]
pub struct Barrier {
    arrived: Mutex<usize>,
    all_in: Condvar,
    n: usize,
}

impl Barrier {
    /// A barrier for `n` threads.
    pub fn new(n: usize) -> Barrier {
        Barrier {
            arrived: Mutex::new(0),
            all_in: Condvar::new(),
            n,
        }
    }

    /// Blocks until `n` threads have called `wait`.
    pub fn wait(&self) {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        if *arrived == self.n {
            self.all_in.notify_all();
        }
        while *arrived < self.n {
            arrived = self.all_in.wait(arrived).unwrap();
        }
    }
}

/// Asserts that `heap` has no tracked object left after a full collection.
#[track_caller]
pub fn assert_heap_empty(heap: &Heap) {
    heap.collect();
    let left = heap.objects(None).expect("all generations").len();
    assert_eq!(left, 0, "objects left on the heap");
}

/// The models' object: a probe, a label to tell objects apart, and one edge.
#[derive(Trace)]
pub struct Node {
    pub probe: Probe,
    pub label: u32,
    pub edge: GcCell<Option<Gc<Node>>>,
}

impl Node {
    /// A node with no edge, reporting to `counts`.
    pub fn new(heap: &Heap, counts: &Arc<Counts>, label: u32) -> Gc<Node> {
        heap.alloc(Node {
            probe: Probe::new(counts),
            label,
            edge: GcCell::new(None),
        })
    }
}

/// A [`Node`] with a finalizer, which counts its runs in [`Counts::finalized`].
#[derive(Trace)]
#[gc(finalize)]
pub struct FinalizedNode {
    pub probe: Probe,
    pub label: u32,
    pub edge: GcCell<Option<Gc<FinalizedNode>>>,
}

impl FinalizedNode {
    /// A node with no edge, reporting to `counts`.
    pub fn new(heap: &Heap, counts: &Arc<Counts>, label: u32) -> Gc<FinalizedNode> {
        heap.alloc(FinalizedNode {
            probe: Probe::new(counts),
            label,
            edge: GcCell::new(None),
        })
    }
}

impl Finalize for FinalizedNode {
    fn finalize(this: &Gc<Self>) {
        this.probe.counts().finalize();
    }
}

/// Blocks of gc-core's pool as a model's threads use them.
///
/// A block's memory is the pool's, which loom does not see, so what a thread stores in a block
/// is a loom `UnsafeCell` kept on the side, one per block address: the thread that takes a
/// block writes it, and so does the one that gives it back (the block's last use, as a value's
/// drop). If a block is handed out again without the push that gave it back happening before,
/// the two writes are a causality violation. The side table, a `std` mutex invisible to loom
/// (its threads run one at a time), also says which blocks are out: a block handed out while
/// out fails at once, and [`Blocks::assert_end`] checks every block came back.
pub struct Blocks {
    layout: std::alloc::Layout,
    table: std::sync::Mutex<HashMap<usize, Entry>>,
}

struct Entry {
    out: bool,
    contents: std::sync::Arc<Contents>,
}

/// What a thread stores in a block.
struct Contents(UnsafeCell<u64>);

// SAFETY: every access goes through loom's checked `with_mut`; a concurrent access is what the
// models look for, and loom reports it instead of racing.
unsafe impl Sync for Contents {}
// SAFETY: as above.
unsafe impl Send for Contents {}

impl Contents {
    fn write(&self) {
        // SAFETY: loom checks the access.
        self.0.with_mut(|value| unsafe { *value += 1 });
    }
}

/// A block a model's thread holds.
pub struct Held {
    block: pool::Block,
    contents: std::sync::Arc<Contents>,
}

impl Held {
    /// The address of the block's page.
    pub fn page(&self) -> usize {
        self.block.page()
    }
}

impl Blocks {
    /// Blocks of the largest size of which a page holds `per_page`.
    pub fn new(per_page: usize) -> Arc<Blocks> {
        Arc::new(Blocks {
            layout: pool::layout(per_page),
            table: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Takes a block from the calling thread's pages and writes it.
    #[track_caller]
    pub fn take(&self) -> Held {
        let block = pool::allocate(self.layout);
        let contents = {
            let mut table = self.table.lock().unwrap();
            let entry = table.entry(block.addr()).or_insert_with(|| Entry {
                out: false,
                contents: std::sync::Arc::new(Contents(UnsafeCell::new(0))),
            });
            assert!(!entry.out, "block {:#x} handed out twice", block.addr());
            entry.out = true;
            entry.contents.clone()
        };
        contents.write();
        Held { block, contents }
    }

    /// Writes the block a last time and gives it back (`dealloc`'s way).
    pub fn give_back(&self, held: Held) {
        pool::give_back(self.last_use(held));
    }

    /// Writes the block a last time and gives it back through `batch` (a teardown's way).
    pub fn give_back_in(&self, batch: &mut pool::Batch, held: Held) {
        batch.give_back(self.last_use(held));
    }

    fn last_use(&self, held: Held) -> pool::Block {
        held.contents.write();
        let mut table = self.table.lock().unwrap();
        table
            .get_mut(&held.block.addr())
            .expect("a block taken")
            .out = false;
        held.block
    }

    /// Asserts the end state of a pool model, once every thread that took blocks has called
    /// `pool::exit`: every block came back, and the pool holds nothing (no page filed or
    /// abandoned, every page back in its arena).
    #[track_caller]
    pub fn assert_end(&self) {
        let out = self
            .table
            .lock()
            .unwrap()
            .values()
            .filter(|e| e.out)
            .count();
        assert_eq!(out, 0, "blocks still out");
        assert_eq!(
            pool::left(),
            pool::Left::default(),
            "what the pool holds at the end"
        );
    }
}
