//! Which shard a thread's objects go to, and how objects move between threads' shards.
//!
//! A thread claims a free shard on its first tracked allocation in a heap and gives it back
//! when it exits (`Claims`). Only the owner touches a shard's lists — holding the world — or a
//! collector with the world stopped. Another thread that frees an object of a shard it does not
//! own drops the value at once but posts the header to the shard's inbox; the owner drains it at
//! its next allocation, the collector at the start of every scan. A thread that found every
//! shard taken posts its allocations the same way.

use core::cell::Cell;
use core::ptr::NonNull;

use super::HeapInner;
use crate::generation::{self, Handover, Shard};
use crate::header::{Header, HeaderPtr};
use crate::sync::{Arc, Ordering};
use crate::world;

impl HeapInner {
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
        if CLAIMS
            .try_with(|claims| claims.0.borrow_mut().push((self.me.clone(), index)))
            .is_err()
        {
            // The thread is exiting (its claims are already given back): no shard for it.
            self.shards[index].owner.store(0, Ordering::Release);
            return None;
        }
        Some(index)
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
                    // Counted as they were handed over (`count_handed_over`).
                    Handover::List(object, gen) => {
                        generation::push(&mut shard.lists(), gen, object)
                    }
                    Handover::Dead(object) => {
                        let header = object.as_ref();
                        generation::remove(&mut shard.lists(), header);
                        // A recorded candidate's entry frees it (`candidates::let_go`).
                        if !crate::candidates::dead(header) && header.dec_weak() {
                            (header.vtable.dealloc)(object.as_ptr());
                        }
                    }
                    Handover::Candidate(object) => {
                        // Noted when posted.
                        shard.candidates().push(HeaderPtr(object));
                        self.trigger.count_candidate(shard);
                    }
                    Handover::Promote(gen) => {
                        let dest = (gen + 1).min(self.generations() - 1);
                        for g in (0..=gen).filter(|&g| g != dest) {
                            shard.merge(g, dest);
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

    /// Takes a dying object off its list if this thread owns its shard; false if the list
    /// must be left to the owner ([`HeapInner::hand_over_dead`] once the value is dropped).
    /// The caller holds the world.
    ///
    /// # Safety
    /// `object` is listed on this heap and dying (no strong handle left).
    #[inline]
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
            generation::remove(&mut shard.lists(), header);
            self.trigger.count_young(shard, -1);
        }
        true
    }

    /// Hands a dead object whose value is dropped to its shard's owner, who unlists and frees it.
    pub(crate) fn hand_over_dead(&self, object: NonNull<Header>) {
        // SAFETY: the object is alive until the owner processes the handover.
        let shard = unsafe { object.as_ref() }.shard();
        self.shards[shard].post(Handover::Dead(object));
        self.trigger.count_handed_over(-1);
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
            unsafe { generation::remove(&mut shard.lists(), header) };
        }
        if self.orphans.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: the orphaned heap's last listed object just left; `orphan` leaked one
            // `Arc` for exactly this moment, and nothing else refers to the heap any more.
            unsafe { drop(Arc::from_raw(self as *const HeapInner)) };
        }
    }
}

crate::sync::thread_local_facade! {
    /// The last (heap, shard) this thread allocated into: the allocation fast path.
    static LAST_SHARD: Cell<(*const HeapInner, usize)> = Cell::new((core::ptr::null(), 0));
}

/// The shards this thread owns, given back when it exits.
#[cfg(not(loom))]
struct Claims(core::cell::RefCell<Vec<(crate::sync::Weak<HeapInner>, usize)>>);

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
crate::sync::thread_local_facade! {
    static CLAIMS: Claims = Claims(core::cell::RefCell::new(Vec::new()));
}
