//! Tracked objects that `Heap::alloc` does not make — slices ([`Heap::alloc_slice`]) and
//! objects built around a weak handle to themselves ([`Gc::new_cyclic`]) — put on generation 0
//! of the calling thread's shard.
//!
//! The calling thread's shard is found (claimed on first use) as `Heap::alloc` finds it, and the
//! object posted to the shard's inbox, with the world held; the thread, its owner, drains the
//! inbox at once, which lists and counts the object exactly as `Heap::alloc` does. A thread
//! that found every shard taken posts it to another shard, as `Heap::alloc` does too: its owner
//! lists it at its next tracked allocation, or the next collection or `objects()` call does
//! (see `generation`).
//!
//! [`Heap::alloc_slice`]: crate::Heap::alloc_slice
//! [`Gc::new_cyclic`]: crate::Gc::new_cyclic

use core::ptr::NonNull;

use crate::generation::Handover;
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::sync::Ordering;
use crate::world::{self, Hold};

impl HeapInner {
    /// Makes a tracked object with `make` and lists it on gen 0, holding the world. `make` is
    /// given the flags that say where the object is listed (`TRACKED | LISTED` and the shard),
    /// which its header must carry when it returns, with its value in place. The automatic
    /// collection, if one is due, runs after the object is listed.
    pub(crate) fn alloc_listed(
        &self,
        make: impl FnOnce(u32) -> NonNull<Header>,
    ) -> NonNull<Header> {
        world::safepoint();
        let object = {
            let _hold = Hold::take();
            let token = world::thread_token();
            let mine = self.my_shard(token);
            let index = mine.unwrap_or(token % self.shards.len());
            let object = make(flag::TRACKED | flag::LISTED | ((index as u32) << flag::SHARD_SHIFT));
            let shard = &self.shards[index];
            shard.post(Handover::List(object, 0));
            if mine.is_some() {
                // SAFETY: this thread owns the shard and holds the world.
                unsafe { self.drain(shard) };
            }
            object
        };
        if self.pending.load(Ordering::Relaxed) {
            self.collect_if_due();
        }
        object
    }
}
