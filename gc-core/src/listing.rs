//! Listing a new tracked object on generation 0 of the calling thread's shard: the path every
//! tracked allocation takes — [`Heap::alloc`], slices ([`Heap::alloc_slice`]) and objects built
//! around a weak handle to themselves ([`Gc::new_cyclic`]).
//!
//! With the world held, the thread's shard is found (claimed on first use), the object is made
//! with the flags that say where it is listed, pushed on the shard's gen 0 and counted for the
//! trigger. A thread that found every shard taken posts the object to another shard instead:
//! its owner lists it at its next tracked allocation, or the next collection or `objects()`
//! call does (see `generation`); it is counted as it is posted. The automatic collection, if
//! one is due, runs after the object is listed and the hold given back.
//!
//! [`Heap::alloc`]: crate::Heap::alloc
//! [`Heap::alloc_slice`]: crate::Heap::alloc_slice
//! [`Gc::new_cyclic`]: crate::Gc::new_cyclic

use core::ptr::NonNull;

use crate::config::Scan;
use crate::generation::{self, Handover};
use crate::header::{flag, Header};
use crate::heap::HeapInner;
use crate::world::{self, Hold};

impl HeapInner {
    /// Makes a tracked object of `bytes` bytes with `make` and lists it on gen 0. `make` is
    /// given the flags that say where the object is listed (`TRACKED | LISTED`, the shard, and
    /// `CANDIDATES` on a heap that scans candidates), which its header must carry when it
    /// returns, with its value in place and one strong reference, the caller's.
    #[inline]
    pub(crate) fn list_new(
        &self,
        bytes: usize,
        make: impl FnOnce(u32) -> NonNull<Header>,
    ) -> NonNull<Header> {
        world::safepoint();
        let object = {
            let _hold = Hold::take();
            let token = world::thread_token();
            let mine = self.my_shard(token);
            let index = mine.unwrap_or_else(|| token % self.shards().len());
            let mut listing = flag::TRACKED | flag::LISTED | ((index as u32) << flag::SHARD_SHIFT);
            if self.config().scan == Scan::Candidates {
                listing |= flag::CANDIDATES;
            }
            let object = make(listing);
            let shard = &self.shards()[index];
            if mine.is_some() {
                // SAFETY: this thread owns the shard and holds the world.
                unsafe {
                    if shard.has_mail() {
                        self.drain(shard);
                    }
                    generation::push_new(&mut shard.lists(), object);
                    self.trigger().count_young(shard, 1);
                    self.trigger().count_bytes(shard, bytes);
                }
            } else {
                shard.post(Handover::List(object, 0));
                self.trigger().count_handed_over(1);
            }
            object
        };
        if self.trigger().pending() {
            self.collect_if_due();
        }
        object
    }
}
