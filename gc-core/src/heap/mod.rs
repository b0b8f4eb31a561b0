//! `Heap`: one collector instance — its shards of generation lists, its trigger, its
//! settings, and its state between collections.
//!
//! The public surface is split by concern, one `impl Heap` each: making a heap, allocating and
//! attaching (here); CPython's `gc` module — collections, thresholds, counts, stats,
//! callbacks, debug flags, freezing (`gc_module`); looking at objects (`inspect`).
//!
//! Allocation puts a tracked object on generation 0 of the shard the calling thread owns
//! (`shards`); its death by reference count takes it off again — directly on the owning thread,
//! through the shard's inbox from any other. Whether a collection is due is the trigger's
//! business (`trigger`).
//!
//! # Lifetime
//!
//! A tracked object points at its heap, so the heap's state must outlive every listed object.
//! When the last `Heap` handle (or `Mutator`) goes, the heap runs a full collection. Objects
//! still alive after it keep working normally — handles, weak references, reference-count death
//! — and the heap's state is freed when the last of them leaves its list. Cycles that become
//! garbage after that are never collected (nothing can call `collect` any more): they leak,
//! safely, as CPython leaks cycles at exit without a final collection.

mod shards;

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::collector::{self, Scratch, Wait};
use crate::config::Config;
use crate::error::GcError;
use crate::generation::Shard;
use crate::handle::Gc;
use crate::header::{flag, GcBox, Header, VTable};
use crate::stats::CollectorState;
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::trace::Trace;
use crate::trigger::AutoTrigger;
use crate::world;

/// A collector instance (CPython's `gc` module state plus its object lists).
///
/// `Clone + Send + Sync`: clones share one heap. Several heaps may coexist; they share the
/// process-wide world lock (a collection of one stops the threads of all).
pub struct Heap {
    pub(crate) inner: Arc<HeapInner>,
}

/// What a heap's handles share.
pub(crate) struct HeapInner {
    config: Config,
    shards: Box<[CachePadded<Shard>]>,
    /// When a collection is due.
    trigger: AutoTrigger,
    /// A collection of this heap is in progress.
    collecting: AtomicBool,
    /// Stats, callbacks, saved garbage, debug flags.
    state: Mutex<CollectorState>,
    /// The collector's workers (`Config::workers` above 1).
    pool: Option<rayon::ThreadPool>,
    /// The collector's buffers, kept from one collection to the next.
    scratch: Mutex<Scratch>,
    /// `Heap` and `Mutator` handles alive.
    handles: AtomicUsize,
    /// Set (under every shard lock) when the last handle went while objects stayed listed.
    orphaned: AtomicBool,
    /// Listed objects left when orphaned; the last one to leave frees the heap.
    orphans: AtomicUsize,
    /// This heap, for the shard claims of threads (released when they exit).
    #[cfg(not(loom))]
    me: crate::sync::Weak<HeapInner>,
}

impl HeapInner {
    fn new(
        config: Config,
        pool: Option<rayon::ThreadPool>,
        #[cfg(not(loom))] me: crate::sync::Weak<HeapInner>,
    ) -> HeapInner {
        let generations = config.thresholds.len();
        HeapInner {
            shards: (0..config.shards)
                .map(|_| CachePadded::new(Shard::new(generations)))
                .collect(),
            trigger: AutoTrigger::new(&config.thresholds, config.shards, config.trigger),
            collecting: AtomicBool::new(false),
            state: Mutex::new(CollectorState::new(generations)),
            pool,
            scratch: Mutex::new(Scratch::default()),
            handles: AtomicUsize::new(1),
            orphaned: AtomicBool::new(false),
            orphans: AtomicUsize::new(0),
            #[cfg(not(loom))]
            me,
            config,
        }
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn generations(&self) -> usize {
        self.config.thresholds.len()
    }

    /// The shards: their lists are for the shard's owner holding the world, or a stopper.
    pub(crate) fn shards(&self) -> &[CachePadded<Shard>] {
        &self.shards
    }

    pub(crate) fn trigger(&self) -> &AutoTrigger {
        &self.trigger
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, CollectorState> {
        self.state.lock()
    }

    pub(crate) fn scratch(&self) -> MutexGuard<'_, Scratch> {
        self.scratch.lock()
    }

    /// Marks a collection of this heap in progress; false if one already is.
    pub(crate) fn begin_collection(&self) -> bool {
        self.collecting
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    pub(crate) fn end_collection(&self) {
        self.collecting.store(false, Ordering::Release);
    }

    /// `count()[0]`: published plus unpublished, never below zero.
    pub(crate) fn young_count(&self) -> usize {
        self.trigger.young_count(
            self.shards
                .iter()
                .map(|s| s.unpublished.load(Ordering::Relaxed)),
        )
    }

    /// Counts the objects of each generation into CPython's counters. The world is stopped.
    pub(crate) fn recount(&self) {
        let mut sizes = vec![0; self.generations()];
        for shard in self.shards.iter() {
            // SAFETY: the world is stopped.
            let lists = unsafe { shard.lists() };
            for (size, list) in sizes.iter_mut().zip(lists.iter()) {
                *size += list.len();
            }
        }
        self.trigger.counters().sizes = sizes;
    }

    /// Zeroes gen 0's count (after a collection or a freeze, with the world stopped).
    pub(crate) fn reset_young(&self) {
        for shard in self.shards.iter() {
            shard.unpublished.store(0, Ordering::Relaxed);
            shard.unpublished_due.store(0, Ordering::Relaxed);
        }
        self.trigger.reset_young(0, 0);
    }

    /// The worker pool, when a set of `len` objects is worth scanning in parallel.
    pub(crate) fn parallel_pool(&self, len: usize) -> Option<&rayon::ThreadPool> {
        self.pool
            .as_ref()
            .filter(|_| len >= self.config.parallel_cutoff)
    }

    /// Allocates an object; tracked ones go on gen 0 of the calling thread's shard.
    #[inline]
    pub(crate) fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        let vtable = VTable::of::<T>();
        let flags = if T::FINALIZER.is_some() {
            flag::HAS_FINALIZER
        } else {
            0
        };
        if !T::TRACKED {
            let header = Header::new(vtable, flags, core::ptr::null());
            // SAFETY: a fresh box owns one strong reference.
            return unsafe { Gc::from_owned(GcBox::allocate(header, value, self.config.pool)) };
        }
        let object = self.list_new(core::mem::size_of::<GcBox<T>>(), |listing| {
            let header = Header::new(vtable, flags | listing, self);
            GcBox::allocate(header, value, self.config.pool)
        });
        // SAFETY: a fresh box owns one strong reference.
        unsafe { Gc::from_owned(object) }
    }

    /// True once the last handle has gone with objects still listed.
    pub(crate) fn is_orphaned(&self) -> bool {
        self.orphaned.load(Ordering::Acquire)
    }

    /// The last handle went: collect, then free the heap or leave it to its survivors.
    fn orphan(this: &Arc<HeapInner>) {
        let _ = collector::collect(this, this.generations() - 1, Wait::Unbounded);
        let stopped = world::stop(None).expect("an unbounded wait never runs out");
        // SAFETY: the world is stopped.
        let listed: usize = unsafe {
            this.drain_all();
            // No collection will go through candidates any more: let them all go now (the
            // recording of new ones stops with `orphaned`, set below with the world stopped).
            for shard in this.shards.iter() {
                let mut candidates = shard.candidates();
                candidates.let_all_go();
                shard.recount_candidates(&candidates);
            }
            this.shards
                .iter()
                .map(|s| s.lists().iter().map(Vec::len).sum::<usize>())
                .sum()
        };
        if listed > 0 {
            this.orphans.store(listed, Ordering::Release);
            this.orphaned.store(true, Ordering::Release);
            // The survivors' share of the heap, released by the last of them to leave.
            let _ = Arc::into_raw(this.clone());
        }
        drop(stopped);
    }
}

impl Heap {
    /// A heap with CPython's defaults (thresholds 700, 10, 10).
    pub fn new() -> Heap {
        Heap::with_config(Config::default()).expect("the default configuration is valid")
    }

    /// A heap with the given configuration.
    pub fn with_config(config: Config) -> Result<Heap, GcError> {
        config.validate()?;
        let pool = if config.workers > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(config.workers)
                    .thread_name(|i| format!("gc-worker-{i}"))
                    .start_handler(|_| world::become_collector_worker())
                    .build()
                    .map_err(|e| GcError::InvalidConfig(format!("collector workers: {e}")))?,
            )
        } else {
            None
        };
        #[cfg(not(loom))]
        let inner = Arc::new_cyclic(|me| HeapInner::new(config, pool, me.clone()));
        #[cfg(loom)]
        let inner = Arc::new(HeapInner::new(config, pool));
        Ok(Heap { inner })
    }

    /// Allocates `value` on this heap. Types that can hold handles are tracked (put on
    /// generation 0); others are plain reference-counted objects.
    #[inline]
    pub fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        self.inner.alloc(value)
    }

    /// The configuration the heap was built with (thresholds as at creation).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Number of generations.
    pub fn generations(&self) -> usize {
        self.inner.generations()
    }

    /// Attaches the calling thread: operations inside the returned `Mutator` pay no lock,
    /// and collections wait for it to reach a safepoint. Where it is called from is what a
    /// stalled collection names.
    #[track_caller]
    pub fn attach(&self) -> crate::Mutator {
        crate::Mutator::new(self.clone(), core::panic::Location::caller())
    }

    /// A bound on how long automatic collections wait for safepoints.
    pub fn safepoint_timeout(&self) -> Duration {
        self.inner.config.safepoint_timeout
    }

    pub(crate) fn from_inner(inner: &Arc<HeapInner>) -> Heap {
        inner.handles.fetch_add(1, Ordering::Relaxed);
        Heap {
            inner: inner.clone(),
        }
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Clone for Heap {
    fn clone(&self) -> Self {
        Heap::from_inner(&self.inner)
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            HeapInner::orphan(&self.inner);
        }
    }
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap")
            .field("generations", &self.generations())
            .field("count", &self.count())
            .field("enabled", &self.is_enabled())
            .finish()
    }
}
