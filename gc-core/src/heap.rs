//! `Heap`: one collector instance — its shards of generation lists, its counters and settings.
//!
//! Allocation puts a tracked object on generation 0 of the shard the calling thread owns (see
//! `generation`); its death by reference count takes it off again — directly on the owning
//! thread, through the shard's inbox from any other. Gen-0 counts are kept per shard and
//! published to the heap in batches, so the hot paths touch no shared cache line.
//!
//! # Lifetime
//!
//! A tracked object points at its heap, so the heap's state must outlive every listed object.
//! When the last `Heap` handle (or `Mutator`) goes, the heap runs a full collection. Objects
//! still alive after it keep working normally — handles, weak references, reference-count death
//! — and the heap's state is freed when the last of them leaves its list. Cycles that become
//! garbage after that are never collected (nothing can call `collect` any more): they leak,
//! safely, as CPython leaks cycles at exit without a final collection.

use std::time::Duration;

use crossbeam_utils::CachePadded;

use crate::collector::{CollectorState, Scratch};
use crate::config::Config;
use crate::error::GcError;
use crate::generation::{self, Counters, Handover, Shard};
use crate::handle::Gc;
use crate::header::{flag, GcBox, Header, VTable};
use core::cell::Cell;
use core::ptr::NonNull;

use crate::sync::{Arc, AtomicBool, AtomicIsize, AtomicU32, AtomicUsize, Mutex, Ordering};
use crate::trace::Trace;
use crate::world::{self, Hold};

/// After automatic collections missed in a row, retries wait at most this many thresholds.
const MAX_BACKOFF: u32 = 64;

/// A collector instance (CPython's `gc` module state plus its object lists).
///
/// `Clone + Send + Sync`: clones share one heap. Several heaps may coexist; they share the
/// process-wide world lock (a collection of one stops the threads of all).
pub struct Heap {
    pub(crate) inner: Arc<HeapInner>,
}

pub(crate) struct HeapInner {
    pub(crate) config: Config,
    pub(crate) shards: Box<[CachePadded<Shard>]>,
    /// `Heap` and `Mutator` handles alive.
    handles: AtomicUsize,
    /// Published part of `count()[0]`.
    young: AtomicIsize,
    /// Batch size for publishing shard counts.
    publish_batch: AtomicIsize,
    /// Gen-0 threshold (0 disables automatic collection).
    pub(crate) threshold0: AtomicUsize,
    /// Gen-0 count above which a collection is due: the threshold, or later after a miss.
    trigger_at: AtomicUsize,
    /// Automatic collections missed in a row.
    misses: AtomicU32,
    pub(crate) enabled: AtomicBool,
    /// An automatic collection is due; run at the next safepoint that is at rest.
    pub(crate) pending: AtomicBool,
    /// A collection of this heap is in progress.
    pub(crate) collecting: AtomicBool,
    pub(crate) counters: Mutex<Counters>,
    pub(crate) state: Mutex<CollectorState>,
    pub(crate) pool: Option<rayon::ThreadPool>,
    /// The collector's buffers, kept from one collection to the next (`collector::scratch`).
    pub(crate) scratch: Mutex<Scratch>,
    /// Set (under every shard lock) when the last handle went while objects stayed listed.
    orphaned: AtomicBool,
    /// Listed objects left when orphaned; the last one to leave frees the heap.
    orphans: AtomicUsize,
    /// This heap, for the shard claims of threads (released when they exit).
    #[cfg(not(loom))]
    me: std::sync::Weak<HeapInner>,
}

impl HeapInner {
    fn new(
        config: Config,
        pool: Option<rayon::ThreadPool>,
        #[cfg(not(loom))] me: std::sync::Weak<HeapInner>,
    ) -> HeapInner {
        let generations = config.thresholds.len();
        let inner = HeapInner {
            shards: (0..config.shards)
                .map(|_| CachePadded::new(Shard::new(generations)))
                .collect(),
            handles: AtomicUsize::new(1),
            young: AtomicIsize::new(0),
            publish_batch: AtomicIsize::new(1),
            threshold0: AtomicUsize::new(0),
            trigger_at: AtomicUsize::new(0),
            misses: AtomicU32::new(0),
            enabled: AtomicBool::new(true),
            pending: AtomicBool::new(false),
            collecting: AtomicBool::new(false),
            counters: Mutex::new(Counters::new(config.thresholds.clone())),
            state: Mutex::new(CollectorState::new(generations)),
            pool,
            scratch: Mutex::new(Scratch::default()),
            orphaned: AtomicBool::new(false),
            orphans: AtomicUsize::new(0),
            #[cfg(not(loom))]
            me,
            config,
        };
        inner.set_threshold0(inner.config.thresholds[0]);
        inner
    }

    pub(crate) fn generations(&self) -> usize {
        self.config.thresholds.len()
    }

    /// Allocates an object; tracked ones go on gen 0 of the calling thread's shard.
    pub(crate) fn alloc<T: Trace + Send + 'static>(&self, value: T) -> Gc<T> {
        let vtable = VTable::of::<T>();
        let mut flags = if T::FINALIZER.is_some() {
            flag::HAS_FINALIZER
        } else {
            0
        };
        if !T::TRACKED {
            let header = Header::new(vtable, flags, core::ptr::null());
            // SAFETY: a fresh box owns one strong reference.
            return unsafe { Gc::from_owned(GcBox::allocate(header, value, self.config.pool)) };
        }
        world::safepoint();
        let gc = {
            let _hold = Hold::take();
            let token = world::thread_token();
            let (index, owned) = match self.my_shard(token) {
                Some(index) => (index, true),
                None => (token % self.shards.len(), false),
            };
            flags |= flag::TRACKED | flag::LISTED | ((index as u32) << flag::SHARD_SHIFT);
            let header = Header::new(vtable, flags, self);
            let object = GcBox::allocate(header, value, self.config.pool);
            let shard = &self.shards[index];
            if owned {
                // SAFETY: this thread owns the shard and holds the world.
                unsafe {
                    if shard.has_mail() {
                        self.drain(shard);
                    }
                    generation::push_new(shard.lists(), object);
                    self.count_young(shard, 1);
                }
            } else {
                shard.post(Handover::List(object, 0));
            }
            // SAFETY: a fresh box owns one strong reference.
            unsafe { Gc::from_owned(object) }
        };
        if self.pending.load(Ordering::Relaxed) {
            self.collect_if_due();
        }
        gc
    }

    /// The shard this thread owns in this heap, claiming a free one on first use; `None` when
    /// every shard is taken (the thread then hands its objects over through inboxes).
    #[inline]
    pub(crate) fn my_shard(&self, token: usize) -> Option<usize> {
        let me: *const HeapInner = self;
        LAST_SHARD.with(|last| {
            let (heap, index) = last.get();
            if heap == me && self.shards[index].owner.load(Ordering::Relaxed) == token {
                return Some(index);
            }
            let index = self.claim(token)?;
            last.set((me, index));
            Some(index)
        })
    }

    #[cold]
    fn claim(&self, token: usize) -> Option<usize> {
        if let Some(index) = self
            .shards
            .iter()
            .position(|s| s.owner.load(Ordering::Relaxed) == token)
        {
            return Some(index);
        }
        let index = self.shards.iter().position(|s| {
            s.owner
                .compare_exchange(0, token, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })?;
        #[cfg(not(loom))]
        CLAIMS.with(|claims| claims.0.borrow_mut().push((self.me.clone(), index)));
        Some(index)
    }

    /// Adds to a shard's gen-0 count, publishing a full batch.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    unsafe fn count_young(&self, shard: &Shard, delta: isize) {
        // SAFETY: forwarded.
        let n = unsafe { shard.count(delta) };
        if n.abs() >= self.publish_batch.load(Ordering::Relaxed) {
            // SAFETY: forwarded.
            unsafe { shard.count(-n) };
            self.publish(n);
        }
    }

    /// Processes what other threads handed over to `shard`.
    ///
    /// # Safety
    /// As for [`Shard::lists`].
    pub(crate) unsafe fn drain(&self, shard: &Shard) {
        for handover in shard.take_mail() {
            // SAFETY: forwarded; handed-over objects are alive until processed here.
            unsafe {
                match handover {
                    Handover::List(object, gen) => {
                        generation::push(shard.lists(), gen, object);
                        if gen == 0 {
                            self.count_young(shard, 1);
                        }
                    }
                    Handover::Dead(object) => {
                        let header = object.as_ref();
                        generation::remove(shard.lists(), header);
                        self.count_young(shard, -1);
                        if header.dec_weak() {
                            (header.vtable.dealloc)(object.as_ptr());
                        }
                    }
                }
            }
        }
    }

    /// Drains every shard (with the world stopped).
    ///
    /// # Safety
    /// The caller has the world stopped.
    pub(crate) unsafe fn drain_all(&self) {
        for shard in self.shards.iter() {
            if shard.has_mail() {
                // SAFETY: the world is stopped.
                unsafe { self.drain(shard) };
            }
        }
    }

    /// Adds a shard's batch to the gen-0 count (never below zero) and flags a due collection.
    fn publish(&self, delta: isize) {
        let young = self
            .young
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |y| {
                Some((y + delta).max(0))
            })
            .map_or(0, |y| (y + delta).max(0));
        let threshold = self.threshold0.load(Ordering::Relaxed);
        let trigger = self.trigger_at.load(Ordering::Relaxed);
        if threshold > 0 && young as usize > trigger && self.enabled.load(Ordering::Relaxed) {
            self.pending.store(true, Ordering::Relaxed);
        }
    }

    /// `count()[0]`: published plus unpublished, never below zero.
    pub(crate) fn young_count(&self) -> usize {
        let unpublished: isize = self
            .shards
            .iter()
            .map(|s| s.unpublished.load(Ordering::Relaxed))
            .sum();
        (self.young.load(Ordering::Relaxed) + unpublished).max(0) as usize
    }

    /// Zeroes gen 0's count (after a collection, with the world stopped).
    pub(crate) fn reset_young(&self) {
        for shard in self.shards.iter() {
            shard.unpublished.store(0, Ordering::Relaxed);
        }
        self.young.store(0, Ordering::Relaxed);
        self.trigger_at
            .store(self.threshold0.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// An automatic collection missed its safepoint deadline: retry only after more
    /// allocations — a threshold's worth after the first miss in a row, twice as many after
    /// each further one, up to [`MAX_BACKOFF`] thresholds — so a blocked thread costs a few
    /// waits, not one per threshold.
    pub(crate) fn defer_retry(&self) {
        let misses = self
            .misses
            .fetch_add(1, Ordering::Relaxed)
            .min(MAX_BACKOFF.ilog2());
        let young = self.young.load(Ordering::Relaxed).max(0) as usize;
        let threshold = self.threshold0.load(Ordering::Relaxed).max(1);
        self.trigger_at
            .store(young + (threshold << misses), Ordering::Relaxed);
        self.pending.store(false, Ordering::Relaxed);
    }

    /// A collection ran: the retries start over from one threshold.
    pub(crate) fn retry_succeeded(&self) {
        if self.misses.load(Ordering::Relaxed) != 0 {
            self.misses.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_threshold0(&self, threshold: usize) {
        self.threshold0.store(threshold, Ordering::Relaxed);
        self.trigger_at.store(threshold, Ordering::Relaxed);
        let batch = (threshold / (4 * self.shards.len())).clamp(1, 32);
        self.publish_batch.store(batch as isize, Ordering::Relaxed);
    }

    /// The worker pool, when a set of `len` objects is worth scanning in parallel.
    pub(crate) fn parallel_pool(&self, len: usize) -> Option<&rayon::ThreadPool> {
        self.pool
            .as_ref()
            .filter(|_| len >= self.config.parallel_cutoff)
    }

    /// Takes a dying object off its list if this thread owns its shard; false if the list
    /// must be left to the owner ([`HeapInner::hand_over_dead`] once the value is dropped).
    /// The caller holds the world.
    ///
    /// # Safety
    /// `object` is listed on this heap and dying (no strong handle left).
    pub(crate) unsafe fn unlist_if_mine(&self, object: NonNull<Header>) -> bool {
        // SAFETY: per the contract.
        let header = unsafe { object.as_ref() };
        let shard = &self.shards[header.shard()];
        if self.orphaned.load(Ordering::Acquire) {
            // SAFETY: per the contract; with the heap orphaned, the inbox mutex guards lists.
            unsafe { self.unlist_orphan(shard, header) };
            return true;
        }
        if shard.owner.load(Ordering::Relaxed) != world::thread_token() {
            return false;
        }
        // SAFETY: this thread owns the shard and holds the world.
        unsafe {
            // The object may still wait in the inbox to be listed (allocated by a thread
            // without a shard): list it first.
            if shard.has_mail() {
                self.drain(shard);
            }
            generation::remove(shard.lists(), header);
            self.count_young(shard, -1);
        }
        true
    }

    /// Hands a dead object whose value is dropped to its shard's owner, who unlists and frees it.
    pub(crate) fn hand_over_dead(&self, object: NonNull<Header>) {
        // SAFETY: the object is alive until the owner processes the handover.
        let shard = unsafe { object.as_ref() }.shard();
        self.shards[shard].post(Handover::Dead(object));
    }

    /// Unlisting once the heap is orphaned: no allocation or collection can run any more, so
    /// the shard's inbox mutex serialises the remaining frees. The last one frees the heap.
    ///
    /// # Safety
    /// As for [`HeapInner::unlist_if_mine`]; nothing may touch the heap after this returns.
    #[cold]
    unsafe fn unlist_orphan(&self, shard: &Shard, header: &Header) {
        {
            let _lists = shard.lock_inbox();
            // SAFETY: the inbox mutex is the lists' lock for an orphaned heap.
            unsafe { generation::remove(shard.lists(), header) };
        }
        if self.orphans.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the orphaned heap's last listed object just left; `orphan` leaked one
            // `Arc` for exactly this moment, and nothing else refers to the heap any more.
            unsafe { drop(Arc::from_raw(self as *const HeapInner)) };
        }
    }

    /// Runs the automatic collection if one is due. Cells this thread holds borrowed are
    /// taken as roots, as in an explicit collection; a thread that has the world stopped (a
    /// `Trace`, a collector worker) never collects.
    pub(crate) fn collect_if_due(&self) {
        if !world::stopping_here() {
            self.collect_automatic();
        }
    }

    /// The last handle went: collect, then free the heap or leave it to its survivors.
    fn orphan(this: &Arc<HeapInner>) {
        this.collect_full_now();
        let stopped = world::stop(None).expect("an unbounded wait never runs out");
        // SAFETY: the world is stopped.
        let listed: usize = unsafe {
            this.drain_all();
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

    /// Turns automatic collection on (CPython `gc.enable`).
    pub fn enable(&self) {
        self.inner.enabled.store(true, Ordering::Relaxed);
    }

    /// Turns automatic collection off (CPython `gc.disable`); explicit collections still run.
    pub fn disable(&self) {
        self.inner.enabled.store(false, Ordering::Relaxed);
        self.inner.pending.store(false, Ordering::Relaxed);
    }

    /// CPython `gc.isenabled`.
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled.load(Ordering::Relaxed)
    }

    /// CPython `gc.get_threshold`.
    pub fn thresholds(&self) -> Vec<usize> {
        self.inner.counters.lock().thresholds.clone()
    }

    /// CPython `gc.set_threshold`: one value per generation. A gen-0 threshold of zero
    /// disables automatic collection.
    pub fn set_thresholds(&self, thresholds: &[usize]) -> Result<(), GcError> {
        let mut counters = self.inner.counters.lock();
        if thresholds.len() != counters.generations() {
            return Err(GcError::ThresholdCount {
                given: thresholds.len(),
                generations: counters.generations(),
            });
        }
        counters.thresholds = thresholds.to_vec();
        self.inner.set_threshold0(thresholds[0]);
        Ok(())
    }

    /// CPython `gc.get_count`: gen-0 allocations minus deallocations, then for each older
    /// generation the collections of the next younger one since its own last collection.
    pub fn count(&self) -> Vec<usize> {
        let young = self.inner.young_count();
        let counters = self.inner.counters.lock();
        let mut counts = counters.counts.clone();
        counts[0] = young;
        counts
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

crate::sync::thread_local_facade! {
    /// The last (heap, shard) this thread allocated into: the allocation fast path.
    static LAST_SHARD: Cell<(*const HeapInner, usize)> = Cell::new((core::ptr::null(), 0));
}

/// The shards this thread owns, given back when it exits.
#[cfg(not(loom))]
struct Claims(core::cell::RefCell<Vec<(std::sync::Weak<HeapInner>, usize)>>);

#[cfg(not(loom))]
impl Drop for Claims {
    fn drop(&mut self) {
        for (heap, index) in self.0.get_mut().drain(..) {
            if let Some(heap) = heap.upgrade() {
                heap.shards[index].owner.store(0, Ordering::Release);
            }
        }
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static CLAIMS: Claims = const { Claims(core::cell::RefCell::new(Vec::new())) };
}
