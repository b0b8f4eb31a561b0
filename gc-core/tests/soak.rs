//! Soak test: W6-style multi-threaded churn (gc-bench/README.md) plus garbage cycles,
//! finalizers and resurrection, with automatic collections on, for a fixed time.
//!
//! Ignored by default. The short version (5 s, as CI would run it):
//!
//! ```text
//! cargo test -p gc-core --release --test soak -- --ignored --nocapture
//! ```
//!
//! A long run (here 10 minutes on 8 threads):
//!
//! ```text
//! GC_SOAK_SECS=600 GC_SOAK_THREADS=8 cargo test -p gc-core --release --test soak -- --ignored --nocapture
//! ```
//!
//! `GC_SOAK_SEED` changes the random streams. The threads share `10 × threads` mutex-protected
//! root vectors of 50 slots and, at random: allocate into a slot, link two slots' nodes (locking
//! the lower vector first), unlink, clear a slot, follow edges checking every node met, make and
//! drop garbage self-cycles, and drain the resurrection table. One thread in four runs
//! detached (no `Mutator`), the others attached with a safepoint per operation.
//!
//! Every node carries its label and a checksum derived from it, every edge the label of its
//! target, and a node's state word is flipped in `Drop`; every access checks all three, so a
//! use of a freed object shows up as a label mismatch (and under ThreadSanitizer or Miri as a
//! report). At the end all roots are dropped and the heap must be empty: every node made was
//! dropped exactly once, every finalizer ran exactly once. A watchdog fails the run if no
//! operation completes for 60 s (a deadlock).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gc_core::{Config, Finalize, Gc, GcCell, GcLock, Heap, Mutator, Trace};

const SLOTS: usize = 50;
const MAX_EDGES: usize = 8;
const ALIVE: u64 = 0x0a11_7e00_0a11_7e00;
const DEAD: u64 = 0xdead_dead_dead_dead;

fn checksum(label: u64) -> u64 {
    label.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29) ^ 0x5bd1_e995
}

#[derive(Default)]
struct Counters {
    made_plain: AtomicUsize,
    made_fin: AtomicUsize,
    dropped: AtomicUsize,
    finalized: AtomicUsize,
    resurrected: AtomicUsize,
    violations: AtomicUsize,
    ops: AtomicU64,
    walked: AtomicU64,
    next_label: AtomicU64,
}

struct Ctx {
    counters: Counters,
    /// Where resurrecting finalizers put their object.
    side: Mutex<Vec<Ref>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Trace)]
struct Body {
    #[gc(skip)]
    label: u64,
    #[gc(skip)]
    check: u64,
    #[gc(skip)]
    state: AtomicU64,
    #[gc(skip)]
    finalized: AtomicBool,
    #[gc(skip)]
    ctx: Arc<Ctx>,
    /// Shared edges, used from every thread.
    edges: GcLock<Vec<Edge>>,
    /// Used only by the thread that made the node (self-cycles).
    own: GcCell<Option<Ref>>,
}

impl Body {
    fn verify(&self, expected: u64) {
        let state = self.state.load(Relaxed);
        assert!(
            self.label == expected && self.check == checksum(expected) && state == ALIVE,
            "node {expected} is corrupt or freed: label {}, check ok {}, state {state:#x}",
            self.label,
            self.check == checksum(expected)
        );
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if self.state.swap(DEAD, SeqCst) != ALIVE {
            self.ctx.counters.violations.fetch_add(1, SeqCst);
            eprintln!("soak: node {} dropped twice", self.label);
        }
        self.ctx.counters.dropped.fetch_add(1, Relaxed);
    }
}

#[derive(Trace)]
struct Plain {
    body: Body,
}

#[derive(Trace)]
#[gc(finalize)]
struct Fin {
    body: Body,
    #[gc(skip)]
    resurrect: bool,
}

impl Finalize for Fin {
    fn finalize(this: &Gc<Self>) {
        let body = &this.body;
        let counters = &body.ctx.counters;
        if body.finalized.swap(true, SeqCst) || body.state.load(SeqCst) != ALIVE {
            counters.violations.fetch_add(1, SeqCst);
            eprintln!("soak: finalizer of {} ran twice or after Drop", body.label);
        }
        counters.finalized.fetch_add(1, Relaxed);
        if this.resurrect {
            counters.resurrected.fetch_add(1, Relaxed);
            let keep = Ref::Fin(this.clone());
            lock(&body.ctx.side).push(keep);
        }
    }
}

#[derive(Trace, Clone)]
enum Ref {
    Plain(Gc<Plain>),
    Fin(Gc<Fin>),
}

impl Ref {
    fn body(&self) -> &Body {
        match self {
            Ref::Plain(g) => &g.body,
            Ref::Fin(g) => &g.body,
        }
    }
}

#[derive(Trace)]
struct Edge {
    #[gc(skip)]
    label: u64,
    to: Ref,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

type Roots = Vec<Mutex<Vec<Option<Ref>>>>;

struct Worker<'a> {
    heap: &'a Heap,
    ctx: &'a Arc<Ctx>,
    roots: &'a Roots,
    mutator: Option<Mutator>,
    rng: Rng,
}

fn lock_roots(roots: &Roots, v: usize) -> MutexGuard<'_, Vec<Option<Ref>>> {
    match roots[v].try_lock() {
        Ok(guard) => guard,
        // Wait detached: the holder may be collecting.
        Err(_) => gc_core::blocking(|| lock(&roots[v])),
    }
}

impl Worker<'_> {
    fn alloc(&mut self) -> Ref {
        let counters = &self.ctx.counters;
        let label = counters.next_label.fetch_add(1, Relaxed);
        let body = Body {
            label,
            check: checksum(label),
            state: AtomicU64::new(ALIVE),
            finalized: AtomicBool::new(false),
            ctx: self.ctx.clone(),
            edges: GcLock::new(Vec::new()),
            own: GcCell::new(None),
        };
        let heap = self.heap;
        let m = self.mutator.as_ref();
        if self.rng.below(3) == 0 {
            counters.made_fin.fetch_add(1, Relaxed);
            let fin = Fin {
                body,
                resurrect: self.rng.below(16) == 0,
            };
            Ref::Fin(match m {
                Some(m) => m.alloc(fin),
                None => heap.alloc(fin),
            })
        } else {
            counters.made_plain.fetch_add(1, Relaxed);
            let plain = Plain { body };
            Ref::Plain(match m {
                Some(m) => m.alloc(plain),
                None => heap.alloc(plain),
            })
        }
    }

    fn step(&mut self) {
        let roots = self.roots;
        let vectors = roots.len();
        let v = self.rng.below(vectors);
        let s = self.rng.below(SLOTS);
        match self.rng.below(100) {
            // Allocate into a slot (the old node loses a root).
            0..=24 => {
                let node = self.alloc();
                let old = lock_roots(roots, v)[s].replace(node);
                drop(old);
            }
            // Link two slots' nodes, locking the lower vector first.
            25..=49 => {
                let (v2, s2) = (self.rng.below(vectors), self.rng.below(SLOTS));
                let (lo, hi) = (v.min(v2), v.max(v2));
                let low = lock_roots(roots, lo);
                let high = (hi != lo).then(|| lock_roots(roots, hi));
                let slot = |vector: usize, slot: usize| match &high {
                    Some(high) if vector == hi => high[slot].as_ref(),
                    _ => low[slot].as_ref(),
                };
                if let (Some(from), Some(to)) = (slot(v, s), slot(v2, s2)) {
                    let mut edges = from.body().edges.write();
                    if edges.len() < MAX_EDGES {
                        edges.push(Edge {
                            label: to.body().label,
                            to: to.clone(),
                        });
                    }
                }
            }
            // Unlink.
            50..=64 => {
                let removed = {
                    let slots = lock_roots(roots, v);
                    slots[s].as_ref().and_then(|node| {
                        let mut edges = node.body().edges.write();
                        (!edges.is_empty()).then(|| {
                            let k = self.rng.below(edges.len());
                            edges.swap_remove(k)
                        })
                    })
                };
                drop(removed);
            }
            // Clear a slot.
            65..=74 => {
                let old = lock_roots(roots, v)[s].take();
                drop(old);
            }
            // Follow edges from a root, checking every node met.
            75..=89 => {
                let start = lock_roots(roots, v)[s].clone();
                if let Some(mut cur) = start {
                    cur.body().verify(cur.body().label);
                    for _ in 0..8 {
                        let next = {
                            let edges = cur.body().edges.read();
                            (!edges.is_empty()).then(|| {
                                let e = &edges[self.rng.below(edges.len())];
                                (e.label, e.to.clone())
                            })
                        };
                        let Some((label, next)) = next else { break };
                        next.body().verify(label);
                        cur = next;
                        self.ctx.counters.walked.fetch_add(1, Relaxed);
                    }
                }
            }
            // A garbage self-cycle (W7), sometimes reaching into the shared graph.
            90..=97 => {
                let node = self.alloc();
                *node.body().own.borrow_mut() = Some(node.clone());
                if let Some(other) = lock_roots(roots, v)[s].clone() {
                    node.body().edges.write().push(Edge {
                        label: other.body().label,
                        to: other,
                    });
                }
                drop(node);
            }
            // Drain the resurrection table.
            _ => {
                let taken = std::mem::take(&mut *lock(&self.ctx.side));
                drop(taken);
            }
        }
        self.ctx.counters.ops.fetch_add(1, Relaxed);
        if let Some(m) = &self.mutator {
            m.safepoint();
        }
    }
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Follows every edge from the roots, checking each node, and counts the nodes reached.
fn verify_graph(roots: &Roots) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(u64, Ref)> = Vec::new();
    for v in roots {
        for node in lock(v).iter().flatten() {
            stack.push((node.body().label, node.clone()));
        }
    }
    while let Some((label, node)) = stack.pop() {
        node.body().verify(label);
        if !seen.insert(label) {
            continue;
        }
        for e in node.body().edges.read().iter() {
            stack.push((e.label, e.to.clone()));
        }
    }
    seen.len()
}

#[test]
#[ignore = "soak test: cargo test -p gc-core --release --test soak -- --ignored --nocapture"]
fn soak_w6_churn_with_cycles_and_finalizers() {
    let secs: u64 = env("GC_SOAK_SECS", 5);
    let threads: usize = env("GC_SOAK_THREADS", 4).max(1);
    let seed: u64 = env("GC_SOAK_SEED", 0x50a4_50a4);
    let heap = Heap::with_config(Config::default().thresholds(&[1000, 10, 10]).workers(2)).unwrap();
    let ctx = Arc::new(Ctx {
        counters: Counters::default(),
        side: Mutex::new(Vec::new()),
    });
    let roots: Roots = (0..10 * threads)
        .map(|_| Mutex::new(vec![None; SLOTS]))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let done = AtomicBool::new(false);
    eprintln!("soak: {threads} threads for {secs}s, seed {seed:#x}");

    std::thread::scope(|s| {
        // Watchdog: no operation for 60 s is a deadlock.
        s.spawn(|| {
            let mut last = (ctx.counters.ops.load(Relaxed), Instant::now());
            while !done.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                let ops = ctx.counters.ops.load(Relaxed);
                if ops != last.0 {
                    last = (ops, Instant::now());
                } else if last.1.elapsed() > Duration::from_secs(60) && !done.load(SeqCst) {
                    // Straight to stderr: the test harness would swallow a captured message.
                    let message =
                        format!("soak: no operation for 60 s after {ops} ops: deadlock\n");
                    let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
                    std::process::exit(2);
                }
            }
        });
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (heap, ctx, roots) = (&heap, &ctx, &roots);
                s.spawn(move || {
                    let mut worker = Worker {
                        heap,
                        ctx,
                        roots,
                        mutator: (t % 4 != 3).then(|| heap.attach()),
                        rng: Rng(seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
                    };
                    while Instant::now() < deadline {
                        for _ in 0..64 {
                            worker.step();
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            if let Err(panic) = w.join() {
                done.store(true, SeqCst);
                std::panic::resume_unwind(panic);
            }
        }
        done.store(true, SeqCst);
    });

    let c = &ctx.counters;
    let ops = c.ops.load(SeqCst);
    let stats = heap.stats();
    eprintln!(
        "soak: {ops} operations ({:.0}/s), {} walk steps, {} nodes made ({} with finalizers), \
         {} resurrected",
        ops as f64 / secs.max(1) as f64,
        c.walked.load(SeqCst),
        c.made_plain.load(SeqCst) + c.made_fin.load(SeqCst),
        c.made_fin.load(SeqCst),
        c.resurrected.load(SeqCst),
    );
    for (g, st) in stats.iter().enumerate() {
        eprintln!(
            "soak: gen {g}: {} collections, {} collected, {} uncollectable, {} missed, \
             {} examined, max pause {:?}, total pause {:?}",
            st.collections,
            st.collected,
            st.uncollectable,
            st.missed,
            st.examined,
            st.max_pause,
            st.pause
        );
    }
    let max_pause = stats.iter().map(|s| s.max_pause).max().unwrap_or_default();
    eprintln!("soak: max pause {max_pause:?}");
    assert!(
        stats.iter().map(|s| s.collections).sum::<u64>() > 0,
        "automatic collections ran"
    );
    assert_eq!(stats.iter().map(|s| s.uncollectable).sum::<u64>(), 0);

    // Nothing lost: every node reachable from the roots (and the resurrection table) is
    // intact, and after a full collection exactly those are listed.
    heap.collect();
    let reachable = verify_graph(&with_side(&ctx, &roots));
    assert_eq!(
        heap.objects(None).unwrap().len(),
        reachable,
        "after a full collection exactly the reachable nodes are listed"
    );

    // Nothing leaked: drop every root; resurrected nodes go back to the table at most once.
    for v in &roots {
        let slots = std::mem::take(&mut *lock(v));
        drop(slots);
    }
    for round in 0.. {
        let taken = std::mem::take(&mut *lock(&ctx.side));
        if round > 0 && taken.is_empty() {
            break;
        }
        assert!(round < 1000, "resurrections never stop");
        drop(taken);
        heap.collect();
    }
    assert_eq!(heap.objects(None).unwrap().len(), 0, "no object leaked");
    let made = c.made_plain.load(SeqCst) + c.made_fin.load(SeqCst);
    assert_eq!(
        c.dropped.load(SeqCst),
        made,
        "every node dropped exactly once"
    );
    assert_eq!(
        c.finalized.load(SeqCst),
        c.made_fin.load(SeqCst),
        "every finalizer ran exactly once"
    );
    assert_eq!(
        c.violations.load(SeqCst),
        0,
        "no double drop or finalization"
    );
    eprintln!("soak: ok, {made} nodes made and freed");
}

/// The roots plus the resurrection table.
fn with_side(ctx: &Ctx, roots: &Roots) -> Roots {
    let side: Vec<Ref> = lock(&ctx.side).clone();
    let mut all: Roots = roots.iter().map(|v| Mutex::new(lock(v).clone())).collect();
    all.push(Mutex::new(side.into_iter().map(Some).collect()));
    all
}
