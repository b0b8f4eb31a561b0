//! The pool for the loom models in `gc-loom-tests` (`gc_core::loom_hooks::pool`); compiled only
//! under `cfg(loom)`.
//!
//! A model's threads take blocks and give them back through the pool's own entry points
//! ([`allocate`], [`give_back`], [`Batch`]), end as a thread's exit ends ([`exit`]), and check
//! the protocol's state: [`unfiled`] while they run, [`left`] at the end. Nothing here
//! re-implements a step of the pool.

use core::alloc::Layout;
use core::ptr::NonNull;

use super::page::{Page, BLOCKS_AT, PAGE};
use super::{arena, registry, shared, Local, PagePtr, LOCAL, MAX_BLOCK, STEP};
use crate::sync::Ordering;
use crate::world;

/// A block of the pool, out until given back. A model keeps what it stores in a block on the
/// side: the block's memory is the pool's, which loom does not see.
pub struct Block(NonNull<u8>);

// SAFETY: a block is plain memory, which any thread may give back.
unsafe impl Send for Block {}

impl Block {
    /// The block's address.
    pub fn addr(&self) -> usize {
        self.0.as_ptr().addr()
    }

    /// The address of the block's page.
    pub fn page(&self) -> usize {
        // SAFETY: a block of the pool.
        unsafe { Page::of(self.0) }.as_ptr().addr()
    }
}

/// The layout of the largest blocks of which a page holds `n` (under loom a page is 1 KiB).
pub fn layout(n: usize) -> Layout {
    let room = PAGE - BLOCKS_AT;
    let size = (room / n / STEP * STEP).min(MAX_BLOCK);
    assert_eq!(room / size, n, "no block size gives {n} blocks a page");
    Layout::from_size_align(size, STEP).expect("a valid layout")
}

/// A block of `layout` from the calling thread's pages: `pool::allocate`, fast path or slow.
pub fn allocate(layout: Layout) -> Block {
    Block(super::allocate(layout).expect("the pool serves the layout"))
}

/// Gives a block back as an object's `dealloc` does (`pool::deallocate`): to the calling
/// thread's page, or onto the page's remote stack.
pub fn give_back(block: Block) {
    // SAFETY: from `allocate`, and given back once: the block is consumed.
    unsafe { super::deallocate(block.0) };
}

/// Blocks given back one after another, as a teardown does (`pool::Batch`); what is gathered
/// is pushed when the batch is dropped.
pub struct Batch(super::Batch);

impl Batch {
    /// A batch for the calling thread.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Batch {
        Batch(super::Batch::new())
    }

    /// Gives a block back through the batch.
    pub fn give_back(&mut self, block: Block) {
        // SAFETY: from `allocate`, and given back once: the block is consumed.
        unsafe { self.0.give_back(block.0) };
    }
}

/// What the calling thread's exit does to its pages (the destructor of its books), done now,
/// leaving the thread with no page. Loom takes all of a thread's thread-locals away before it
/// drops any (the destructor could not read the thread's token), and does so after `join` has
/// returned, possibly once the model has ended and the registry is gone: a model's thread that
/// took blocks calls this last.
pub fn exit() {
    let books = LOCAL.with(|local| local.replace(Local::new()));
    drop(books);
}

/// The pages of the calling thread with blocks waiting on their remote stacks that are not
/// filed for it: none, whenever the registry is locked. (A push onto a stack that is not empty
/// takes no lock because the page was filed by the push that found it empty.)
pub fn unfiled() -> usize {
    let token = world::thread_token();
    let registry = registry();
    let filed: &[PagePtr] = registry
        .filed
        .iter()
        .find(|(owner, _)| *owner == token)
        .map_or(&[], |(_, pages)| pages);
    LOCAL.with(|local| {
        local
            .borrow()
            .owned
            .iter()
            .filter(|&&page| {
                // SAFETY: the thread's own pages are alive.
                unsafe { page.as_ref() }.has_remote() && !filed.iter().any(|f| f.0 == page)
            })
            .count()
    })
}

/// What is left in the pool; all zero once every block came back and every thread exited,
/// and a thread needing a page has looked at the abandoned ones.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Left {
    /// Pages filed for their owners.
    pub filed: usize,
    /// Abandoned pages.
    pub abandoned: usize,
    /// The registry's count of both (`Shared::pending`).
    pub pending: usize,
    /// Pages not back in their arenas.
    pub pages: usize,
}

/// What is left in the pool now.
pub fn left() -> Left {
    let registry = registry();
    Left {
        filed: registry.filed.iter().map(|(_, pages)| pages.len()).sum(),
        abandoned: registry.abandoned.iter().map(Vec::len).sum(),
        pending: shared().pending.load(Ordering::Relaxed),
        pages: arena::pages_in_use(),
    }
}
