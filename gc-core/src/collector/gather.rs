//! The stopped-world part of a collection: take generations `0..=gen` off every shard, run
//! trial deletion over them, promote the survivors and hold the unreachable.
//!
//! ```text
//!  before:  shard k:  gen0 [a b c]  gen1 [d e]  gen2 [f]        collecting gen 1
//!  gather:  set = [a b c d e]   (IN_SET; gc_refs in `index`)
//!  mark:    reachable {a d e}, unreachable {b c}
//!  after:   shard k:  gen0 [ ]    gen1 [ ]    gen2 [f a d e]    unreachable [b c] (+1 held)
//! ```
//!
//! If a `Trace` panics meanwhile, every object goes back on its list unchanged and the panic
//! continues once the world has restarted: the heap stays consistent and usable.

use std::collections::HashSet;
use std::time::Duration;

use super::{hold_all, mark, subtract_refs, update_refs, Object};
use crate::generation::{self, Handover};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::trace::Tracer;
use crate::world::{self, StopError};

/// What the stopped-world scan found.
pub(crate) struct Scan {
    pub(crate) gen: usize,
    /// Unreachable objects, each held by one extra strong reference, flagged `IN_SET` and
    /// `WEAK_CLEARED`, off their lists.
    pub(crate) unreachable: Vec<Object>,
    /// Weak-callback registrations owned by unreachable objects: garbage themselves, they
    /// must not be called.
    pub(crate) garbage_callbacks: HashSet<u64>,
    pub(crate) examined: usize,
    pub(crate) pause: Duration,
    pub(crate) time_to_safepoint: Duration,
}

/// Stops the world and runs trial deletion over generations `0..=gen`.
pub(crate) fn scan(
    heap: &HeapInner,
    gen: usize,
    timeout: Option<Duration>,
) -> Result<Scan, StopError> {
    let stopped = world::stop(timeout)?;
    let set = take(heap, gen);
    let phases = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        update_refs::run(heap, &set);
        subtract_refs::run(heap, &set);
        mark::run(heap, &set);
    }));
    if let Err(panic) = phases {
        restore(heap, &set);
        drop(stopped);
        std::panic::resume_unwind(panic);
    }
    let dest = (gen + 1).min(heap.generations() - 1);
    let mut unreachable = Vec::new();
    let mut survivors = 0;
    let dest_bits = (dest as u32) << flag::GEN_SHIFT;
    for &object in &set {
        let header = object.header();
        // The world is stopped and the workers are done: this thread alone writes flags.
        let flags = header.flags() & !(flag::IN_SET | flag::PINNED);
        if flags & flag::REACHABLE != 0 {
            let flags = (flags & !(flag::REACHABLE | flag::GEN_MASK)) | dest_bits;
            header.flags.store(flags, Ordering::Relaxed);
            let shard = &heap.shards[header.shard()];
            // SAFETY: the world is stopped.
            let list = unsafe { &mut shard.lists()[dest] };
            header.index.store(list.len() as u32, Ordering::Relaxed);
            list.push(object.0);
            survivors += 1;
        } else {
            let flags = (flags & !flag::LISTED) | flag::WEAK_CLEARED | flag::IN_SET;
            #[cfg(gc_seeded_bug = "weak_not_cleared")]
            let flags = flags & !flag::WEAK_CLEARED;
            header.flags.store(flags, Ordering::Relaxed);
            unreachable.push(object);
        }
    }
    hold_all(&unreachable);
    let garbage_callbacks = weak_registrations(&unreachable);
    heap.counters.lock().collected(gen, survivors);
    heap.reset_young();
    let scan = Scan {
        gen,
        examined: set.len(),
        unreachable,
        garbage_callbacks,
        pause: stopped.started().elapsed(),
        time_to_safepoint: stopped.time_to_safepoint,
    };
    drop(stopped);
    Ok(scan)
}

/// Drains lists `0..=gen` of every shard into one set, flagging each object `IN_SET`. The
/// world is stopped.
fn take(heap: &HeapInner, gen: usize) -> Vec<Object> {
    let mut set = Vec::new();
    for shard in heap.shards.iter() {
        // SAFETY: the world is stopped.
        unsafe {
            heap.drain(shard);
            for list in &mut shard.lists()[..=gen] {
                set.extend(list.drain(..).map(Object));
            }
        }
    }
    for object in &set {
        let header = object.header();
        // The world is stopped: this thread alone writes flags.
        header
            .flags
            .store(header.flags() | flag::IN_SET, Ordering::Relaxed);
    }
    set
}

/// Puts objects back on list `gen` of their own shards, with the world stopped.
pub(crate) fn relist(heap: &HeapInner, objects: impl Iterator<Item = Object>, gen: usize) {
    for object in objects {
        let shard = &heap.shards[object.header().shard()];
        // SAFETY: the world is stopped.
        unsafe { generation::push(shard.lists(), gen, object.0) };
    }
}

/// Puts objects back on list `gen` of their own shards with the world running: each owner
/// lists them at its next allocation, the collector before its next scan.
pub(crate) fn hand_back(heap: &HeapInner, objects: impl Iterator<Item = Object>, gen: usize) {
    for object in objects {
        object.header().set(flag::LISTED);
        heap.shards[object.header().shard()].post(Handover::List(object.0, gen));
    }
}

/// Undoes `take` after a panic: each object back on the list of its own generation.
fn restore(heap: &HeapInner, set: &[Object]) {
    for &object in set {
        let header = object.header();
        header.clear(flag::IN_SET | flag::REACHABLE | flag::PINNED);
        let gen = header.generation();
        relist(heap, core::iter::once(object), gen);
    }
}

/// The weak-callback registrations held inside `objects` (only needed when one of them has
/// callbacks that could run).
fn weak_registrations(objects: &[Object]) -> HashSet<u64> {
    if !objects
        .iter()
        .any(|o| o.header().has(flag::HAS_WEAK_CALLBACKS))
    {
        return HashSet::new();
    }
    let mut ids = Vec::new();
    let mut edges = Vec::new();
    for object in objects {
        let header: &Header = object.header();
        let mut tracer = Tracer::new(&mut edges, true);
        // Weak handles are untracked: containers skip them unless asked for everything.
        tracer.all = true;
        tracer.weak_callbacks = Some(&mut ids);
        // SAFETY: the object is alive (held) and its value intact; the world is stopped.
        unsafe { (header.vtable.trace)(object.0.as_ptr(), &mut tracer) };
        edges.clear();
    }
    ids.into_iter().collect()
}
