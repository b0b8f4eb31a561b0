//! W5: random churn on "multiref" nodes (a node holds a vector of handles), single thread, as
//! in dumpster's benchmark. Start with 50 roots; each operation, chosen uniformly with a seeded
//! generator, allocates a root, adds an edge between two roots, drops a root, or drops an edge
//! of a root. Then the roots are dropped and a final collection runs (inside the timing). Run on
//! gc-core with the automatic trigger on and off.
//!
//! The driver [`churn`] is generic over [`Multiref`], so every implementation makes exactly the
//! same random choices. Checksum: the ids of the nodes each operation touches, read through the
//! handles, folded in order.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use gc_core::{Gc, GcCell, Heap, Mutator, Trace};

use super::{below, collections, gc_core_outcome, mix, rng, Outcome, Rng, SEED};

/// Sizes of W5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Random operations.
    pub ops: usize,
    /// Roots at the start.
    pub initial_roots: usize,
    /// Seed of the operation choice.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            ops: 1_000_000,
            initial_roots: 50,
            seed: SEED,
        }
    }
}

impl Params {
    /// A size for tests.
    pub fn small() -> Self {
        Params {
            ops: 20_000,
            ..Params::default()
        }
    }
}

/// One implementation of the multiref node: how to allocate it, read its id and edit its edges.
///
/// Implemented on marker types (so implementations of other crates' handles can live outside
/// this crate). `Ctx` is what a thread needs to allocate: gc-core's [`Mutator`], `()` for the
/// standard library.
pub trait Multiref {
    /// The strong handle to a node.
    type Handle: Clone;
    /// Per-thread allocation context.
    type Ctx;

    /// A new node with no edges.
    fn alloc(ctx: &Self::Ctx, id: u64) -> Self::Handle;

    /// The node's id, read through the handle.
    fn id(node: &Self::Handle) -> u64;

    /// Runs `f` on the node's edge vector, borrowed mutably.
    fn edit<R>(
        ctx: &Self::Ctx,
        node: &Self::Handle,
        f: impl FnOnce(&mut Vec<Self::Handle>) -> R,
    ) -> R;

    /// Called between operations (gc-core: a safepoint).
    #[inline]
    fn safepoint(_ctx: &Self::Ctx) {}

    /// Locks a root vector of the multi-threaded variant (gc-core detaches while it waits).
    #[inline]
    fn lock<'a, T>(_ctx: &Self::Ctx, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the W5 operations and drops the roots; returns the checksum. Collection is left to
/// the caller.
pub fn churn<M: Multiref>(ctx: &M::Ctx, p: &Params) -> u64 {
    let mut rng = rng(p.seed);
    let mut next_id = 0u64;
    let mut fresh = |ctx: &M::Ctx| {
        next_id += 1;
        M::alloc(ctx, next_id)
    };
    let mut roots: Vec<M::Handle> = (0..p.initial_roots).map(|_| fresh(ctx)).collect();
    let mut checksum = 0;
    for _ in 0..p.ops {
        M::safepoint(ctx);
        checksum = step::<M>(ctx, &mut rng, &mut roots, &mut fresh, checksum);
    }
    drop(roots);
    checksum
}

#[inline]
fn step<M: Multiref>(
    ctx: &M::Ctx,
    rng: &mut Rng,
    roots: &mut Vec<M::Handle>,
    fresh: &mut impl FnMut(&M::Ctx) -> M::Handle,
    checksum: u64,
) -> u64 {
    if roots.is_empty() {
        roots.push(fresh(ctx));
        return mix(checksum, 0);
    }
    match below(rng, 4) {
        0 => {
            let node = fresh(ctx);
            let id = M::id(&node);
            roots.push(node);
            mix(checksum, id)
        }
        1 => {
            if roots.len() > 1 {
                let from = below(rng, roots.len());
                let to = below(rng, roots.len());
                let target = roots[to].clone();
                let id = M::id(&target);
                M::edit(ctx, &roots[from], |edges| edges.push(target));
                mix(checksum, id)
            } else {
                checksum
            }
        }
        2 => {
            let gone = roots.swap_remove(below(rng, roots.len()));
            mix(checksum, M::id(&gone))
        }
        _ => {
            let from = below(rng, roots.len());
            let removed = M::edit(ctx, &roots[from], |edges| {
                (!edges.is_empty()).then(|| {
                    let at = below(rng, edges.len());
                    edges.swap_remove(at)
                })
            });
            // Dropped after the borrow of the edge vector ends.
            removed.map_or(checksum, |gone| mix(checksum, M::id(&gone)))
        }
    }
}

/// gc-core's multiref node.
#[derive(Trace)]
pub struct Node {
    /// The node's id.
    pub id: u64,
    /// Edges to other nodes.
    pub edges: GcCell<Vec<Gc<Node>>>,
}

/// gc-core: nodes on the mutator's heap, edges in a [`GcCell`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GcCore;

impl Multiref for GcCore {
    type Handle = Gc<Node>;
    type Ctx = Mutator;

    #[inline]
    fn alloc(ctx: &Mutator, id: u64) -> Gc<Node> {
        ctx.alloc(Node {
            id,
            edges: GcCell::new(Vec::new()),
        })
    }

    #[inline]
    fn id(node: &Gc<Node>) -> u64 {
        node.id
    }

    #[inline]
    fn edit<R>(_: &Mutator, node: &Gc<Node>, f: impl FnOnce(&mut Vec<Gc<Node>>) -> R) -> R {
        f(&mut node.edges.borrow_mut())
    }

    #[inline]
    fn safepoint(ctx: &Mutator) {
        ctx.safepoint();
    }

    #[inline]
    fn lock<'a, T>(ctx: &Mutator, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        match mutex.try_lock() {
            Ok(guard) => guard,
            // Wait detached, so a collection another thread starts meanwhile is not held up.
            Err(_) => ctx.blocking(|| mutex.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

/// W5 on gc-core, with the heap's automatic trigger as it is set (see [`gc_core_trigger`]).
pub fn gc_core(heap: &Heap, p: &Params) -> Outcome {
    let before = collections(heap);
    let m = heap.attach();
    let checksum = churn::<GcCore>(&m, p);
    gc_core_outcome(heap, before, m, checksum, p.ops as u64)
}

/// W5 on gc-core with the automatic trigger switched on or off for the run (restored after).
pub fn gc_core_trigger(heap: &Heap, p: &Params, automatic: bool) -> Outcome {
    let was = heap.is_enabled();
    if automatic {
        heap.enable();
    } else {
        heap.disable();
    }
    let outcome = gc_core(heap, p);
    if was {
        heap.enable();
    } else {
        heap.disable();
    }
    outcome
}

/// A standard-library multiref node (`$Node` on `$Ptr`, edges in `$Cell`, reached through
/// `$write`) and its [`Multiref`] implementation `$Impl`.
macro_rules! std_multiref {
    ($Node:ident, $Impl:ident, $Ptr:ident, $Cell:ident, |$node:ident| $write:expr) => {
        #[doc = concat!("An `", stringify!($Ptr), "` multiref node (cycles leak).")]
        pub struct $Node {
            /// The node's id.
            pub id: u64,
            /// Edges to other nodes.
            pub edges: $Cell<Vec<$Ptr<$Node>>>,
        }

        #[doc = concat!("`", stringify!($Ptr), "` with `", stringify!($Cell), "` edges. Random cycles cannot use weak edges, so they leak.")]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $Impl;

        impl Multiref for $Impl {
            type Handle = $Ptr<$Node>;
            type Ctx = ();

            #[inline]
            fn alloc(_: &(), id: u64) -> $Ptr<$Node> {
                $Ptr::new($Node {
                    id,
                    edges: $Cell::new(Vec::new()),
                })
            }

            #[inline]
            fn id(node: &$Ptr<$Node>) -> u64 {
                node.id
            }

            #[inline]
            fn edit<R>(_: &(), $node: &$Ptr<$Node>, f: impl FnOnce(&mut Vec<$Ptr<$Node>>) -> R) -> R {
                f(&mut $write)
            }
        }
    };
}

std_multiref!(RcNode, RcImpl, Rc, RefCell, |node| node.edges.borrow_mut());
std_multiref!(ArcNode, ArcImpl, Arc, Mutex, |node| node
    .edges
    .lock()
    .unwrap_or_else(PoisonError::into_inner));

/// W5 with `Rc` (leaks its cycles).
pub fn rc(p: &Params) -> Outcome {
    Outcome::new(churn::<RcImpl>(&(), p), p.ops as u64)
}

/// W5 with `Arc` (leaks its cycles).
pub fn arc(p: &Params) -> Outcome {
    Outcome::new(churn::<ArcImpl>(&(), p), p.ops as u64)
}
