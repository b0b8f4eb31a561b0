//! One page of the pool: 64 KiB, aligned to its size, holding blocks of one size class.
//!
//! ```text
//!  page start (aligned to PAGE)
//!  +---------------- 64 bytes ----------------+-------+-------+-------+-----+-------+------
//!  | owner | remote | free | used | fresh ... | block | block | block | ... | block | slack
//!  +-------------------------------------------+-------+-------+-------+-----+-------+------
//!    atomic  atomic   owner's thread only        0       1       2             capacity-1
//! ```
//!
//! A block pointer finds its page by clearing the low bits of its address. The owning thread
//! takes blocks from `free` (blocks given back) or, while any remain, from the never-used ones
//! at `fresh`; it gives a block back by pushing it on `free`. Any other thread gives a block
//! back by pushing it on `remote`, a lock-free stack the owner takes whole. A free block holds
//! the next one of its list in its first word.
//!
//! `used` counts the blocks given out and not yet back on `free`: blocks in use and blocks on
//! `remote`. A page whose `used` is zero has no block anywhere but with its owner, so no other
//! thread can touch it: the owner may free it then.
//!
//! Under loom a page is 1 KiB, so that a model's page holds a few blocks, and its header holds
//! a loom-checked cell standing for the page's memory (`Page::memory`).

use core::cell::Cell;
use core::ptr::{self, NonNull};

use crate::seeded;
use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// Bytes in a page, and its alignment.
pub(crate) const PAGE: usize = if cfg!(loom) { 1024 } else { 64 * 1024 };

/// Where the first block starts: the page header, rounded up to a cache line (two under loom,
/// whose atomics are larger).
pub(crate) const BLOCKS_AT: usize = if cfg!(loom) { 128 } else { 64 };

/// A free block: the next free block of the same list.
#[repr(C)]
pub(crate) struct Block {
    next: *mut Block,
}

/// Free blocks linked through their first words, first to last, not yet on any page's list.
#[derive(Clone, Copy)]
pub(crate) struct Chain {
    first: NonNull<Block>,
    last: NonNull<Block>,
}

impl Chain {
    /// A chain of one block.
    pub(crate) fn one(block: NonNull<u8>) -> Chain {
        let block = block.cast();
        Chain {
            first: block,
            last: block,
        }
    }

    /// The chain with `block` in front.
    ///
    /// # Safety
    /// `block` is free, pointer-sized and in no list; the caller owns the chain's blocks.
    pub(crate) unsafe fn with_front(self, block: NonNull<u8>) -> Chain {
        let block = block.cast::<Block>();
        // SAFETY: per the contract.
        unsafe {
            block.as_ptr().write(Block {
                next: self.first.as_ptr(),
            })
        };
        Chain {
            first: block,
            last: self.last,
        }
    }

    /// One try at pushing the chain onto the stack `remote` whose head was seen as `head`;
    /// the head seen instead if it moved.
    ///
    /// # Safety
    /// The chain's blocks are free and the caller's; after a success, they are not its any more.
    unsafe fn push_onto(
        self,
        remote: &AtomicPtr<Block>,
        head: *mut Block,
    ) -> Result<(), *mut Block> {
        // SAFETY: the last block is free and the caller's.
        unsafe { self.last.as_ptr().write(Block { next: head }) };
        // Release: the writes to the blocks, and the values' drops before them, happen before
        // the owner reuses them.
        remote
            .compare_exchange_weak(
                head,
                self.first.as_ptr(),
                seeded::REMOTE_PUSH,
                Ordering::Relaxed,
            )
            .map(drop)
    }
}

/// The header at the start of every page.
#[repr(C)]
pub(crate) struct Page {
    /// The token of the owning thread; 0 once the owner exited and left the page abandoned.
    /// Only the owner changes it from its own token, so a thread that reads its own token here
    /// owns the page.
    pub(crate) owner: AtomicUsize,
    /// Blocks given back by other threads, newest first.
    remote: AtomicPtr<Block>,
    /// Blocks given back by the owner, newest first.
    free: Cell<*mut Block>,
    /// Blocks given out and not back on `free`.
    used: Cell<u32>,
    /// Blocks never given out start at this index.
    fresh: Cell<u32>,
    /// Blocks the page holds.
    capacity: u32,
    /// Bytes per block.
    block: u32,
    /// The size class (`pool::class_of`).
    pub(crate) class: u32,
    /// Position in the owner's list of pages with blocks to give ([`UNLISTED`] if not there).
    pub(crate) available_at: Cell<u32>,
    /// Position in the owner's list of all its pages.
    pub(crate) owned_at: Cell<u32>,
    /// Under loom, the page's memory as loom sees it (true while the page is in use): created
    /// with the page, written when the page goes back to its arena ([`Page::freed`]), read at
    /// every touch that a wrong protocol could make after that ([`Page::touch`]). A page freed
    /// under such a touch is a loom causality violation, and one touched after it was freed
    /// fails the touch's check: what Miri's race detector reports for memory of the global
    /// allocator.
    #[cfg(loom)]
    memory: loom::cell::UnsafeCell<bool>,
}

/// `Page::available_at` of a page not on the owner's list of pages with blocks to give.
pub(crate) const UNLISTED: u32 = u32::MAX;

const _: () = assert!(core::mem::size_of::<Page>() <= BLOCKS_AT);
const _: () = assert!(
    PAGE - BLOCKS_AT >= super::MAX_BLOCK,
    "a page holds a block of each class"
);

impl Page {
    /// Sets up a page of blocks of `block` bytes (a multiple of 16) for class `class`, owned by
    /// `owner`, in `memory`.
    ///
    /// # Safety
    /// `memory` is `PAGE` bytes aligned to `PAGE` (from `arena::take`), and nothing else uses
    /// it.
    pub(crate) unsafe fn init(
        memory: NonNull<u8>,
        block: usize,
        class: usize,
        owner: usize,
    ) -> NonNull<Page> {
        let page = memory.cast::<Page>();
        let capacity = ((PAGE - BLOCKS_AT) / block) as u32;
        // SAFETY: per the contract: PAGE bytes aligned to PAGE, ours alone.
        unsafe {
            page.as_ptr().write(Page {
                owner: AtomicUsize::new(owner),
                remote: AtomicPtr::new(ptr::null_mut()),
                free: Cell::new(ptr::null_mut()),
                used: Cell::new(0),
                fresh: Cell::new(0),
                capacity,
                block: block as u32,
                class: class as u32,
                available_at: Cell::new(UNLISTED),
                owned_at: Cell::new(0),
                #[cfg(loom)]
                memory: loom::cell::UnsafeCell::new(true),
            })
        };
        page
    }

    /// The page holding `block`.
    ///
    /// # Safety
    /// `block` was given out by a page of the pool.
    #[inline]
    pub(crate) unsafe fn of(block: NonNull<u8>) -> NonNull<Page> {
        let page = block.as_ptr().map_addr(|a| a & !(PAGE - 1));
        // SAFETY: the start of an allocated page is not null.
        unsafe { NonNull::new_unchecked(page) }.cast()
    }

    /// Gives out a block of `page`; `None` if none is left with the owner (some may be on
    /// `remote`).
    ///
    /// # Safety
    /// `page` is alive and owned by the calling thread.
    #[inline]
    pub(crate) unsafe fn pop(page: NonNull<Page>) -> Option<NonNull<u8>> {
        // SAFETY: alive, per the contract; the owner's fields are ours alone.
        let this = unsafe { page.as_ref() };
        let head = this.free.get();
        let block = if let Some(block) = NonNull::new(head) {
            // SAFETY: a block on `free` is free and holds the next one.
            this.free.set(unsafe { (*block.as_ptr()).next });
            block.cast()
        } else {
            let fresh = this.fresh.get();
            if fresh == this.capacity {
                return None;
            }
            this.fresh.set(fresh + 1);
            let at = BLOCKS_AT + fresh as usize * this.block as usize;
            // SAFETY: block `fresh` lies inside the page, and `page` carries the provenance of
            // the whole page (it is never made from a reference).
            unsafe { page.cast::<u8>().add(at) }
        };
        this.used.set(this.used.get() + 1);
        Some(block)
    }

    /// Takes back a block from the owner; true if the page is now empty. Owner only.
    ///
    /// # Safety
    /// `block` was given out by this page and is not used any more.
    #[inline]
    pub(crate) unsafe fn push(&self, block: NonNull<u8>) -> bool {
        let block = block.cast::<Block>();
        // SAFETY: the block is ours again, and at least pointer-sized.
        unsafe {
            block.as_ptr().write(Block {
                next: self.free.get(),
            })
        };
        self.free.set(block.as_ptr());
        let used = self.used.get() - 1;
        self.used.set(used);
        used == 0
    }

    /// Gives back a chain of blocks from a thread that does not own the page, if `remote` is
    /// not empty: its owner has been told of the page then (`pool`). False, with nothing done,
    /// if `remote` is empty.
    ///
    /// # Safety
    /// As for [`Page::push_remote`].
    #[inline]
    pub(crate) unsafe fn push_remote_if_filed(page: NonNull<Page>, chain: Chain) -> bool {
        // SAFETY: the page is alive while the chain's blocks are out.
        let this = unsafe { page.as_ref() };
        this.touch();
        let remote = &this.remote;
        let mut head = remote.load(Ordering::Relaxed);
        while !head.is_null() {
            // SAFETY: forwarded.
            match unsafe { chain.push_onto(remote, head) } {
                Ok(()) => return true,
                Err(seen) => head = seen,
            }
        }
        false
    }

    /// Gives back a chain of blocks from a thread that does not own the page; true if
    /// `remote` was empty (the caller then tells the owner, see `pool`).
    ///
    /// # Safety
    /// The chain's blocks were given out by this page and are not used any more. Until this
    /// returns, the page stays allocated (the blocks count in `used`); after, the caller must
    /// not touch it.
    pub(crate) unsafe fn push_remote(page: NonNull<Page>, chain: Chain) -> bool {
        // SAFETY: the page is alive while the chain's blocks are out.
        let this = unsafe { page.as_ref() };
        this.touch();
        let remote = &this.remote;
        let mut head = remote.load(Ordering::Relaxed);
        loop {
            // SAFETY: forwarded.
            match unsafe { chain.push_onto(remote, head) } {
                Ok(()) => return head.is_null(),
                Err(seen) => head = seen,
            }
        }
    }

    /// Moves the blocks on `remote` to `free`; true if the page is now empty. The owner, or
    /// whoever holds the pool's registry while the page is abandoned.
    pub(crate) fn collect(&self) -> bool {
        self.touch();
        // Acquire: pairs with the release of `push_remote`.
        let mut block = self.remote.swap(ptr::null_mut(), seeded::TAKE_REMOTE);
        let mut taken = 0;
        while !block.is_null() {
            // SAFETY: blocks on `remote` are free and each holds the next one.
            let next = unsafe { (*block).next };
            // SAFETY: as above; the block is the owner's now.
            unsafe { (*block).next = self.free.get() };
            self.free.set(block);
            block = next;
            taken += 1;
        }
        let used = self.used.get() - taken;
        self.used.set(used);
        used == 0
    }

    /// Whether a push by the owner leaves nothing to do in its books: the page is on its list
    /// of pages with blocks to give, and another block stays out. Owner only.
    #[inline]
    pub(crate) fn stays_listed_after_push(&self) -> bool {
        self.available_at.get() != UNLISTED && self.used.get() > 1
    }

    /// Whether blocks wait on `remote`.
    #[cfg(loom)]
    pub(crate) fn has_remote(&self) -> bool {
        !self.remote.load(Ordering::Relaxed).is_null()
    }

    /// Whether the owner has a block to give without collecting `remote`.
    #[inline]
    pub(crate) fn has_free(&self) -> bool {
        !self.free.get().is_null() || self.fresh.get() < self.capacity
    }

    /// The owner's token, read by a thread that may or may not own the page.
    #[inline]
    pub(crate) fn owner(&self) -> usize {
        self.touch();
        self.owner.load(Ordering::Relaxed)
    }

    /// A touch of the page that a wrong protocol could make after the page was freed: by a
    /// thread that may not own it, or taking `remote`. Under loom, a read of [`Page::memory`],
    /// which must still be in use; nothing otherwise.
    #[inline(always)]
    fn touch(&self) {
        #[cfg(loom)]
        {
            // SAFETY: loom checks the access against the write of `freed`.
            let in_use = self.memory.with(|in_use| unsafe { *in_use });
            assert!(in_use, "a page of the pool touched after it was freed");
        }
    }

    /// The page goes back to its arena: under loom, a write of [`Page::memory`]; nothing
    /// otherwise.
    #[inline(always)]
    pub(crate) fn freed(&self) {
        #[cfg(loom)]
        // SAFETY: loom checks the access against every touch.
        self.memory.with_mut(|in_use| unsafe { *in_use = false });
    }
}
