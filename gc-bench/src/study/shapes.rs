//! The built-in shapes of the threshold study: W3, W5, W6, W7 and W9, the "server", of
//! gc-bench's README, and "interp", a service written in Scheme; each a [`Workload`] sized by
//! the study's [`Mode`].
//!
//! Every node carries a [`Live`] token, so the study can report peak live objects. W5 and W6
//! run the benches' own drivers ([`w5_churn::churn`], [`w6_threaded_churn::run`]) through their
//! `Multiref` trait on such a node, so they make exactly the operations the benches make. W3,
//! W7 and the server are driven here: they stop at the run's wall-clock budget, the server
//! marks where its measured phase begins (after building its long-lived graph) and times every
//! request. W3 uses the workloads' binary-tree schedule.
//!
//! | shape | one operation | live set |
//! |---|---|---|
//! | W3 | one tree node allocated (trees of depth 4, 6, 8, 10 with parent pointers: one cycle each) | one long-lived tree of depth 10 per pass |
//! | W5 | one random op on "multiref" nodes (allocate, add edge, drop root, drop edge), 50 roots at the start | the roots and what they reach |
//! | W6 | as W5, split over threads sharing `10 × threads` mutex-protected root vectors of 50 | the roots and what they reach |
//! | W7 | allocate a node, point it at itself, drop it | none |
//! | server | one request: 32–96 objects, 10 % of requests cyclic, 1 % replace a long-lived entry | 10^6 long-lived entries (fewer in quick runs) |
//! | interp | one procedure call of a Scheme service (`service.scm`, on [`crate::interp`]): requests that build, map, filter and fold lists with closures and leave a cyclic environment each, a ring of pairs every tenth | 10^5 accounts, closures over their own state in a tree (fewer in quick runs) |
//!
//! W5 and W6 always do their whole operation count; the others stop at the budget. The server
//! and interp shapes end their setup with a full collection and time each request.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use crate::interp::{Interp, Machine, Value};
use crate::workloads::w5_churn::{self, Multiref};
use crate::workloads::w6_threaded_churn::{self, make_roots};
use crate::workloads::{below, rng, tree_depths, tree_nodes};
use gc_core::{Gc, GcCell, Heap, Mutator, Trace};
use serde::{Deserialize, Serialize};

use super::live::{self, Live};
use super::measure::histogram;
use super::workload::{Run, Work, Workload};
use super::{cores, Mode};

/// A shape of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    W3,
    W5,
    W6,
    W7,
    Server,
    Interp,
}

impl Shape {
    /// Every shape, in the order the study runs them.
    pub const ALL: [Shape; 6] = [
        Shape::W3,
        Shape::W5,
        Shape::W6,
        Shape::W7,
        Shape::Server,
        Shape::Interp,
    ];

    /// The shape's name: `w3`, …, `server`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::W3 => "w3",
            Shape::W5 => "w5",
            Shape::W6 => "w6",
            Shape::W7 => "w7",
            Shape::Server => "server",
            Shape::Interp => "interp",
        }
    }

    /// What the shape does and what one operation is.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::W3 => "W3 binary trees with parent pointers (op = node)",
            Shape::W5 => "W5 random multiref churn, 1 thread (op = random operation)",
            Shape::W6 => {
                "W6 multiref churn over threads sharing locked root vectors (op = random operation)"
            }
            Shape::W7 => "W7 self-cycle churn (op = allocate, self-link, drop)",
            Shape::Server => "server: long-lived entries + request-sized garbage (op = request)",
            Shape::Interp => "interp: a Scheme service on gc_bench::interp (op = procedure call)",
        }
    }

    /// What one operation is, plural.
    pub fn op_unit(self) -> &'static str {
        match self {
            Shape::W3 => "nodes",
            Shape::W5 | Shape::W6 => "ops",
            Shape::W7 => "iterations",
            Shape::Server => "requests",
            Shape::Interp => "calls",
        }
    }
}

/// How much work each shape does in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// W3: passes over the tree schedule (`max_depth` 11: ≈ 262,000 nodes a pass).
    pub w3_passes: usize,
    pub w3_max_depth: usize,
    /// W5: random operations.
    pub w5_ops: u64,
    /// W6: random operations over all threads, and the threads.
    pub w6_ops: u64,
    pub w6_threads: usize,
    /// W7: iterations.
    pub w7_iterations: u64,
    /// Server: long-lived entries and requests.
    pub server_entries: usize,
    pub server_requests: u64,
    /// Interp: accounts of the service's long-lived table, and requests.
    pub interp_entries: usize,
    pub interp_requests: u64,
}

impl Sizes {
    /// The work of one run at `mode`.
    pub fn for_mode(mode: Mode) -> Sizes {
        let threads = match mode {
            Mode::Full => cores().max(2),
            _ => 2,
        };
        match mode {
            Mode::Smoke => Sizes {
                w3_passes: 1,
                w3_max_depth: 8,
                w5_ops: 30_000,
                w6_ops: 30_000,
                w6_threads: threads,
                w7_iterations: 100_000,
                server_entries: 10_000,
                server_requests: 500,
                interp_entries: 1_000,
                interp_requests: 2_000,
            },
            Mode::Quick => Sizes {
                w3_passes: 6,
                w3_max_depth: 11,
                w5_ops: 5_000_000,
                w6_ops: 4_000_000,
                w6_threads: threads,
                w7_iterations: 3_000_000,
                server_entries: 100_000,
                server_requests: 60_000,
                interp_entries: 10_000,
                interp_requests: 40_000,
            },
            Mode::Default => Sizes {
                w3_passes: 15,
                w3_max_depth: 11,
                w5_ops: 15_000_000,
                w6_ops: 10_000_000,
                w6_threads: threads,
                w7_iterations: 8_000_000,
                server_entries: 1_000_000,
                server_requests: 150_000,
                interp_entries: 100_000,
                interp_requests: 100_000,
            },
            Mode::Full => Sizes {
                w3_passes: 40,
                w3_max_depth: 11,
                w5_ops: 40_000_000,
                w6_ops: 40_000_000,
                w6_threads: threads,
                w7_iterations: 32_000_000,
                server_entries: 2_000_000,
                server_requests: 600_000,
                interp_entries: 1_000_000,
                interp_requests: 600_000,
            },
        }
    }
}

impl Workload for Shape {
    fn name(&self) -> &str {
        Shape::name(*self)
    }

    fn describe(&self) -> String {
        Shape::describe(*self).to_owned()
    }

    fn op_unit(&self) -> &str {
        Shape::op_unit(*self)
    }

    fn size(&self, mode: Mode) -> String {
        let sz = Sizes::for_mode(mode);
        let count = |n: u64| super::report::fmt_count(n as f64);
        match self {
            Shape::W3 => format!(
                "{} pass(es) over trees of depth 4 to {}",
                sz.w3_passes,
                sz.w3_max_depth - 1
            ),
            Shape::W5 => format!("{} operations", count(sz.w5_ops)),
            Shape::W6 => format!(
                "{} operations on {} threads",
                count(sz.w6_ops),
                sz.w6_threads
            ),
            Shape::W7 => format!("{} iterations", count(sz.w7_iterations)),
            Shape::Server => format!(
                "{} long-lived entries, {} requests",
                count(sz.server_entries as u64),
                count(sz.server_requests)
            ),
            Shape::Interp => format!(
                "{} accounts, {} requests",
                count(sz.interp_entries as u64),
                count(sz.interp_requests)
            ),
        }
    }

    fn run(&self, heap: &Heap, run: &Run<'_>) -> Work {
        let sizes = Sizes::for_mode(run.mode());
        match self {
            Shape::W3 => w3(heap, &sizes, run),
            Shape::W5 => w5(heap, &sizes, run),
            Shape::W6 => w6(heap, &sizes, run),
            Shape::W7 => w7(heap, &sizes, run),
            Shape::Server => server(heap, &sizes, run),
            Shape::Interp => interp(heap, &sizes, run),
        }
    }
}

/// How often (in operations) the drivers look at the clock.
const CHECK_EVERY: u64 = 256;

// ---------------------------------------------------------------------------------------------
// W3: binary trees whose nodes point back at their parents.

#[derive(Trace)]
struct Tree {
    left: Option<Gc<Tree>>,
    right: Option<Gc<Tree>>,
    parent: GcCell<Option<Gc<Tree>>>,
    #[gc(skip)]
    _live: Live,
}

impl Tree {
    fn build(m: &Mutator, depth: usize) -> Gc<Tree> {
        let (left, right) = if depth == 0 {
            (None, None)
        } else {
            (
                Some(Tree::build(m, depth - 1)),
                Some(Tree::build(m, depth - 1)),
            )
        };
        let node = m.alloc(Tree {
            left,
            right,
            parent: GcCell::new(None),
            _live: Live::new(),
        });
        for child in node.left.iter().chain(node.right.iter()) {
            child.parent.set(Some(node.clone()));
        }
        node
    }

    fn check(&self) -> u64 {
        1 + self.left.as_ref().map_or(0, |t| t.check())
            + self.right.as_ref().map_or(0, |t| t.check())
    }
}

fn w3(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let m = heap.attach();
    run.begin();
    let mut work = Work::default();
    'passes: for _ in 0..sizes.w3_passes {
        let long_lived = Tree::build(&m, sizes.w3_max_depth - 1);
        work.ops += tree_nodes(sizes.w3_max_depth - 1);
        for (depth, iterations) in tree_depths(sizes.w3_max_depth) {
            for _ in 0..iterations {
                let tree = Tree::build(&m, depth);
                work.checksum = work.checksum.wrapping_add(tree.check());
                work.ops += tree_nodes(depth);
                drop(tree);
                m.safepoint();
                if run.expired() {
                    work.capped = true;
                    break 'passes;
                }
            }
        }
        work.checksum = work.checksum.wrapping_add(long_lived.check());
    }
    run.end();
    work
}

// ---------------------------------------------------------------------------------------------
// W5 and W6: the benches' own drivers (`w5_churn::churn`, `w6_threaded_churn::run`), run on a
// node type that also counts itself.

/// The multiref node of W5/W6 with a live-object token.
#[derive(Trace)]
pub struct CountedNode {
    id: u64,
    edges: GcCell<Vec<Gc<CountedNode>>>,
    #[gc(skip)]
    _live: Live,
}

/// gc-core's `Multiref` implementation (as `w5_churn::GcCore`) on [`CountedNode`].
pub struct Counted;

/// A thread's context: its mutator; publishes the thread's live-object count when dropped.
pub struct CountedCtx(Mutator);

impl Drop for CountedCtx {
    fn drop(&mut self) {
        live::flush();
    }
}

impl Multiref for Counted {
    type Handle = Gc<CountedNode>;
    type Ctx = CountedCtx;

    #[inline]
    fn alloc(ctx: &CountedCtx, id: u64) -> Gc<CountedNode> {
        ctx.0.alloc(CountedNode {
            id,
            edges: GcCell::new(Vec::new()),
            _live: Live::new(),
        })
    }

    #[inline]
    fn id(node: &Gc<CountedNode>) -> u64 {
        node.id
    }

    #[inline]
    fn edit<R>(
        _: &CountedCtx,
        node: &Gc<CountedNode>,
        f: impl FnOnce(&mut Vec<Gc<CountedNode>>) -> R,
    ) -> R {
        f(&mut node.edges.borrow_mut())
    }

    #[inline]
    fn safepoint(ctx: &CountedCtx) {
        ctx.0.safepoint();
    }

    #[inline]
    fn lock<'a, T>(ctx: &CountedCtx, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        match mutex.try_lock() {
            Ok(guard) => guard,
            // Wait detached, so a collection another thread starts meanwhile is not held up.
            Err(_) => ctx
                .0
                .blocking(|| mutex.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

fn w5(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let ctx = CountedCtx(heap.attach());
    let p = w5_churn::Params {
        ops: sizes.w5_ops as usize,
        seed: run.seed(),
        ..w5_churn::Params::default()
    };
    run.begin();
    let checksum = w5_churn::churn::<Counted>(&ctx, &p);
    run.end();
    Work {
        ops: p.ops as u64,
        checksum,
        ..Work::default()
    }
}

fn w6(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let p = w6_threaded_churn::Params {
        ops: sizes.w6_ops as usize,
        threads: sizes.w6_threads.max(1),
        seed: run.seed(),
        ..w6_threaded_churn::Params::default()
    };
    let roots = make_roots::<Counted>(&CountedCtx(heap.attach()), &p);
    run.begin();
    let (checksum, _) =
        w6_threaded_churn::run::<Counted, _>(&roots, &p, |_| CountedCtx(heap.attach()));
    run.end();
    drop(roots);
    Work {
        ops: p.total_ops(),
        checksum,
        ..Work::default()
    }
}

// ---------------------------------------------------------------------------------------------
// W7: self-cycle churn.

#[derive(Trace)]
struct SelfLoop {
    me: GcCell<Option<Gc<SelfLoop>>>,
    #[gc(skip)]
    _live: Live,
}

fn w7(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let m = heap.attach();
    run.begin();
    let mut work = Work::default();
    for i in 0..sizes.w7_iterations {
        let node = m.alloc(SelfLoop {
            me: GcCell::new(None),
            _live: Live::new(),
        });
        node.me.set(Some(node.clone()));
        drop(node);
        work.ops += 1;
        if i % CHECK_EVERY == 0 && run.expired() {
            work.capped = true;
            break;
        }
    }
    run.end();
    work
}

// ---------------------------------------------------------------------------------------------
// Server: a large long-lived graph and a steady stream of request-sized garbage.

#[derive(Trace)]
struct Entry {
    links: GcCell<Vec<Gc<Entry>>>,
    payload: u64,
    #[gc(skip)]
    _live: Live,
}

#[derive(Trace)]
struct Request {
    items: GcCell<Vec<Gc<Item>>>,
    #[gc(skip)]
    _live: Live,
}

#[derive(Trace)]
struct Item {
    /// A long-lived entry the request looked at (young → old reference).
    entry: Option<Gc<Entry>>,
    /// Set in cyclic requests: the item points back at its request.
    request: GcCell<Option<Gc<Request>>>,
    value: u64,
    #[gc(skip)]
    _live: Live,
}

fn entry(m: &Mutator, payload: u64) -> Gc<Entry> {
    m.alloc(Entry {
        links: GcCell::new(Vec::new()),
        payload,
        _live: Live::new(),
    })
}

/// Objects per request: 32 to 96 items plus the request.
const REQUEST_ITEMS: (usize, usize) = (32, 96);
/// Percentage of requests whose objects form a cycle.
const CYCLIC_PERCENT: usize = 10;
/// Percentage of requests that replace a long-lived entry.
const UPDATE_PERCENT: usize = 1;
/// Links from each long-lived entry to random others (so the long-lived graph has cycles).
const ENTRY_LINKS: usize = 2;

fn server(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let m = heap.attach();
    let mut rng = rng(run.seed());
    let n = sizes.server_entries.max(1);
    let mut table: Vec<Gc<Entry>> = (0..n).map(|i| entry(&m, i as u64)).collect();
    for e in &table {
        let mut links = e.links.borrow_mut();
        for _ in 0..ENTRY_LINKS {
            links.push(table[below(&mut rng, n)].clone());
        }
    }
    // Setup ends with a full collection: the long-lived graph sits in the oldest generation
    // when measuring starts, as in a server that has been up for a while.
    heap.collect();
    let mut latency = histogram();
    run.begin();
    let mut work = Work::default();
    for r in 0..sizes.server_requests {
        let t = Instant::now();
        let items = REQUEST_ITEMS.0 + below(&mut rng, REQUEST_ITEMS.1 - REQUEST_ITEMS.0 + 1);
        let cyclic = below(&mut rng, 100) < CYCLIC_PERCENT;
        let request = m.alloc(Request {
            items: GcCell::new(Vec::with_capacity(items)),
            _live: Live::new(),
        });
        for k in 0..items {
            let looked_at = (k % 2 == 0).then(|| table[below(&mut rng, n)].clone());
            let value = looked_at.as_ref().map_or(k as u64, |e| e.payload);
            let item = m.alloc(Item {
                entry: looked_at,
                request: GcCell::new(cyclic.then(|| request.clone())),
                value,
                _live: Live::new(),
            });
            request.items.borrow_mut().push(item);
        }
        let sum: u64 = request.items.borrow().iter().map(|i| i.value).sum();
        work.checksum = work.checksum.wrapping_add(sum);
        if below(&mut rng, 100) < UPDATE_PERCENT {
            let replaced = entry(&m, sum);
            {
                let mut links = replaced.links.borrow_mut();
                for _ in 0..ENTRY_LINKS {
                    links.push(table[below(&mut rng, n)].clone());
                }
            }
            let k = below(&mut rng, n);
            table[k] = replaced;
        }
        drop(request);
        m.safepoint();
        latency.saturating_record(t.elapsed().as_nanos() as u64);
        work.ops += 1;
        if r % 16 == 0 && run.expired() {
            work.capped = true;
            break;
        }
    }
    run.end();
    work.latency = Some(latency);
    // The run's process exits next: tearing the long-lived graph down would only cost time.
    std::mem::forget(table);
    work
}

// ---------------------------------------------------------------------------------------------
// Interp: a Scheme service on the interpreter, one procedure call an operation.

/// The service's program.
const SERVICE: &str = include_str!("service.scm");

fn interp(heap: &Heap, sizes: &Sizes, run: &Run<'_>) -> Work {
    let m = heap.attach();
    let scheme = Interp::new(heap);
    let open = format!("(open! {})", sizes.interp_entries.max(1));
    let handle = scheme
        .run(&m, SERVICE)
        .and_then(|_| scheme.run(&m, &open))
        .and_then(|_| scheme.eval_str(&m, "handle"))
        .unwrap_or_else(|e| panic!("service.scm: {e}"));
    // As the server's: the long-lived table sits in the oldest generation when measuring starts.
    heap.collect();
    let machine = Machine::new(&scheme, &m);
    let setup_calls = scheme.calls();
    let mut latency = histogram();
    run.begin();
    let mut work = Work::default();
    for k in 0..sizes.interp_requests {
        let t = Instant::now();
        let arg = Value::Int(i64::try_from(k).expect("fewer than 2^63 requests"));
        match machine.apply(handle.clone(), vec![arg]) {
            Ok(Value::Int(balance)) => work.checksum = work.checksum.wrapping_add(balance as u64),
            Ok(other) => panic!("request {k} returned {other:?}"),
            Err(e) => panic!("request {k}: {e}"),
        }
        latency.saturating_record(t.elapsed().as_nanos() as u64);
        if k % 16 == 0 && run.expired() {
            work.capped = true;
            break;
        }
    }
    run.end();
    drop(machine);
    work.ops = scheme.calls() - setup_calls;
    work.latency = Some(latency);
    work
}
