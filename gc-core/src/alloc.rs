//! Where object memory comes from: the pool (`pool`) for small objects unless the heap's
//! [`Config::pool`](crate::Config::pool) is off, and otherwise the global allocator, or
//! mimalloc with the `mimalloc` feature (so benchmarks can compare allocators without changing
//! the program's global one). Under loom every object comes from the global allocator: the
//! collector's models keep to the collector's protocols (the pool's have models of their own,
//! through `loom_hooks::pool`), and a model's main thread could not give its pages up (loom
//! drops its thread-locals after the pool's registry).

use core::alloc::Layout;
use core::ptr::NonNull;

#[cfg(not(loom))]
use crate::header::flag;
use crate::header::Header;

#[cfg(feature = "mimalloc")]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether an object outside the pool may be freed on a thread other than the one that
/// allocated it at about the cost of freeing it on that one, so that a collector worker can
/// free the garbage while the collecting thread drops it (`teardown`). True of the system
/// allocator; not of mimalloc, whose frees from another thread go through a list the owner
/// collects later (measured: a worker freeing behind the drops made teardown slower than
/// freeing on the collecting thread). Objects from the pool are not concerned: their teardown
/// shares the drops as well as the frees.
pub(crate) const FREE_ANYWHERE: bool = !cfg!(feature = "mimalloc");

/// Allocates `layout` — from the pool if `pooled` and the pool serves the layout — aborting
/// through `handle_alloc_error` when memory runs out. Returns whether the pool served it.
///
/// # Safety
/// `layout` has a non-zero size.
#[inline]
pub(crate) unsafe fn allocate(layout: Layout, pooled: bool) -> (NonNull<u8>, bool) {
    #[cfg(not(loom))]
    if pooled {
        if let Some(block) = crate::pool::allocate(layout) {
            return (block, true);
        }
    }
    #[cfg(loom)]
    let _ = pooled;
    #[cfg(feature = "mimalloc")]
    // SAFETY: forwarded; non-zero size.
    let raw = unsafe { core::alloc::GlobalAlloc::alloc(&ALLOCATOR, layout) };
    #[cfg(not(feature = "mimalloc"))]
    // SAFETY: forwarded; non-zero size.
    let raw = unsafe { std::alloc::alloc(layout) };
    let raw = NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
    (raw, false)
}

/// Frees memory from [`allocate`].
///
/// # Safety
/// `ptr` came from [`allocate`] with this `layout`, which answered `pooled`, and is not used
/// afterwards.
#[inline]
pub(crate) unsafe fn deallocate(ptr: NonNull<u8>, layout: Layout, pooled: bool) {
    #[cfg(not(loom))]
    if pooled {
        // SAFETY: forwarded: a block of the pool.
        unsafe { crate::pool::deallocate(ptr) };
        return;
    }
    #[cfg(loom)]
    let _ = pooled;
    #[cfg(feature = "mimalloc")]
    // SAFETY: forwarded.
    unsafe {
        core::alloc::GlobalAlloc::dealloc(&ALLOCATOR, ptr.as_ptr(), layout)
    };
    #[cfg(not(feature = "mimalloc"))]
    // SAFETY: forwarded.
    unsafe {
        std::alloc::dealloc(ptr.as_ptr(), layout)
    };
}

/// Frees objects one after another on one thread, as a teardown does: blocks of the pool on
/// pages another thread owns are given back a page's run at a time (`pool::Batch`), the rest
/// through each object's `dealloc`.
pub(crate) struct Frees {
    #[cfg(not(loom))]
    batch: crate::pool::Batch,
}

impl Frees {
    pub(crate) fn new() -> Frees {
        Frees {
            #[cfg(not(loom))]
            batch: crate::pool::Batch::new(),
        }
    }

    /// Frees the allocation of `object`.
    ///
    /// # Safety
    /// As for `VTable::dealloc`: the value is dropped and no handle of either kind remains.
    #[inline]
    pub(crate) unsafe fn free(&mut self, object: NonNull<Header>) {
        // SAFETY: the header is alive until the allocation is freed.
        let header = unsafe { object.as_ref() };
        #[cfg(not(loom))]
        if header.has(flag::POOLED) {
            // SAFETY: a block of the pool (`POOLED`), not used any more: the header's `dealloc`
            // would give it back the same way, one at a time.
            unsafe { self.batch.give_back(object.cast()) };
            return;
        }
        // SAFETY: forwarded.
        unsafe { (header.vtable.dealloc)(object.as_ptr()) };
    }
}
