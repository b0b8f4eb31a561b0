//! The object header: 32 bytes in front of every value, holding its counts, its flags, its place
//! in a generation list and the operations the collector needs without knowing its type.
//!
//! ```text
//!  0        4        8        12       16                24                32
//!  +--------+--------+--------+--------+-----------------+-----------------+------------
//!  | strong |  weak  | flags  | index  | vtable          | heap            | value: T ...
//!  +--------+--------+--------+--------+-----------------+-----------------+------------
//!   counts   counts   gen/shard list position           type-erased ops   owning heap
//!                     bits                                                 (null: untracked)
//! ```
//!
//! Counts saturate instead of overflowing: a strong count that reaches [`IMMORTAL`] stays there
//! forever and the object is never freed (CPython 3.12's immortal objects), so no sequence of
//! clones can wrap a count to zero.

use core::ptr::NonNull;

use crate::heap::HeapInner;
use crate::sync::{AtomicU32, Ordering};
use crate::trace::{Trace, Tracer};

/// A strong count at or above this is immortal: it never drops back and the object is never
/// freed. The gap to `u32::MAX` absorbs racing increments between the check and the re-pin.
pub(crate) const IMMORTAL: u32 = 1 << 31;
/// Where an immortal count is pinned: far from both `IMMORTAL` and `u32::MAX`.
const IMMORTAL_PIN: u32 = IMMORTAL + (1 << 30);
/// The weak count while [`Header::lock_weak`] checks that a strong handle is the only handle:
/// `Gc::downgrade` waits for it to go (as `Arc::is_unique` locks `Arc`'s weak count).
pub(crate) const WEAK_LOCKED: u32 = u32::MAX;

/// Flag bits in [`Header::flags`].
pub(crate) mod flag {
    /// The object can hold `Gc` edges: it lives on a generation list and is scanned.
    pub(crate) const TRACKED: u32 = 1 << 0;
    /// The type has a finalizer (`Trace::FINALIZER`).
    pub(crate) const HAS_FINALIZER: u32 = 1 << 1;
    /// The finalizer has run (CPython `gc.is_finalized`).
    pub(crate) const FINALIZED: u32 = 1 << 2;
    /// Weak callbacks are registered for this object in the weak registry.
    pub(crate) const HAS_WEAK_CALLBACKS: u32 = 1 << 3;
    /// The object is on a generation list of its heap.
    pub(crate) const LISTED: u32 = 1 << 4;
    /// In a collection's unreachable set; `index` is the position in it.
    pub(crate) const IN_SET: u32 = 1 << 5;
    /// Judged garbage: weak references to it are cleared for good.
    pub(crate) const WEAK_CLEARED: u32 = 1 << 6;
    /// Being torn down as part of a garbage cycle: any access to the value panics.
    pub(crate) const TEARDOWN: u32 = 1 << 7;
    /// Nothing may read the value: it has been dropped in place (only the allocation remains),
    /// or it is borrowed mutably through a [`GcMut`](crate::GcMut) while the object is alive.
    /// Either way the collector never traces it (a root with no edges) and dereferencing a
    /// handle panics.
    pub(crate) const DROPPED: u32 = 1 << 8;
    /// The allocation is a block of the pool (`pool`), not of the system allocator.
    pub(crate) const POOLED: u32 = 1 << 9;
    /// The object's heap collects from candidates (`Scan::Candidates`): a drop that leaves its
    /// strong count above zero records it (`candidates`).
    pub(crate) const CANDIDATES: u32 = 1 << 10;
    /// The object is a recorded candidate, in some shard's candidate list or inbox: if it dies,
    /// its allocation is freed when that entry is gone through, not at its death.
    pub(crate) const BUFFERED: u32 = 1 << 11;
    /// A recorded candidate's death is over: value dropped, off its list. Its entry frees it.
    pub(crate) const DEAD: u32 = 1 << 12;
    /// Bits 16..24: the generation; bits 24..32: the shard.
    pub(crate) const GEN_SHIFT: u32 = 16;
    pub(crate) const GEN_MASK: u32 = 0xff << GEN_SHIFT;
    pub(crate) const SHARD_SHIFT: u32 = 24;
    pub(crate) const SHARD_MASK: u32 = 0xff << SHARD_SHIFT;

    /// The generation recorded in `flags`.
    #[inline]
    pub(crate) const fn generation(flags: u32) -> usize {
        ((flags & GEN_MASK) >> GEN_SHIFT) as usize
    }

    /// The shard recorded in `flags`.
    #[inline]
    pub(crate) const fn shard(flags: u32) -> usize {
        ((flags & SHARD_MASK) >> SHARD_SHIFT) as usize
    }

    /// `flags` with the generation `gen` recorded instead.
    #[inline]
    pub(crate) const fn with_generation(flags: u32, gen: usize) -> u32 {
        (flags & !GEN_MASK) | ((gen as u32) << GEN_SHIFT)
    }
}

/// Type-erased operations on a `GcBox<T>`, one static table per type.
pub(crate) struct VTable {
    /// Reports the value's edges.
    pub(crate) trace: unsafe fn(*const Header, &mut Tracer<'_>),
    /// Drops the value in place (not the allocation).
    pub(crate) drop_value: unsafe fn(*const Header),
    /// Frees the allocation (the value must already be dropped).
    pub(crate) dealloc: unsafe fn(*const Header),
    /// Runs the finalizer through a temporary strong handle.
    pub(crate) finalize: Option<unsafe fn(*const Header)>,
    /// `std::any::type_name` of the value.
    pub(crate) type_name: fn() -> &'static str,
    /// `TypeId` of the value, for downcasts.
    pub(crate) type_id: fn() -> core::any::TypeId,
}

impl VTable {
    /// The table for `GcBox<T>`.
    pub(crate) fn of<T: Trace + 'static>() -> &'static VTable {
        struct Of<T>(core::marker::PhantomData<T>);
        impl<T: Trace + 'static> Of<T> {
            const TABLE: VTable = VTable {
                trace: trace_value::<T>,
                drop_value: drop_value::<T>,
                dealloc: dealloc_box::<T>,
                finalize: if T::FINALIZER.is_some() {
                    Some(crate::finalize::finalize_erased::<T>)
                } else {
                    None
                },
                type_name: core::any::type_name::<T>,
                type_id: core::any::TypeId::of::<T>,
            };
        }
        &Of::<T>::TABLE
    }
}

/// # Safety
/// `header` heads a live `GcBox<T>` whose value has not been dropped.
unsafe fn trace_value<T: Trace>(header: *const Header, tracer: &mut Tracer<'_>) {
    // SAFETY: per the contract; the value is read, never written.
    let value: &T = unsafe { &(*header.cast::<GcBox<T>>()).value };
    value.trace(tracer);
}

/// # Safety
/// `header` heads a live `GcBox<T>`; nobody else can reach the value; it is dropped once.
unsafe fn drop_value<T>(header: *const Header) {
    let boxed = header.cast::<GcBox<T>>().cast_mut();
    // SAFETY: per the contract: exclusive access, dropped exactly once.
    unsafe { core::mem::ManuallyDrop::drop(&mut (*boxed).value) };
}

/// # Safety
/// `header` heads a `GcBox<T>` allocated by [`GcBox::allocate`], whose value is dropped and
/// which no handle references any more.
unsafe fn dealloc_box<T>(header: *const Header) {
    // SAFETY: the header is alive until the allocation is freed below; nobody else writes the
    // flags of an object no handle references.
    let pooled = unsafe { (*header).flags() } & flag::POOLED != 0;
    // SAFETY: per the contract; the layout is the one it was allocated with, from where
    // `POOLED` says.
    unsafe {
        crate::alloc::deallocate(
            core::ptr::NonNull::new_unchecked(header.cast_mut().cast()),
            core::alloc::Layout::new::<GcBox<T>>(),
            pooled,
        )
    };
}

/// The header in front of every object. See the module docs for the layout.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) strong: AtomicU32,
    /// Weak handles plus one for all strong handles together (as in `Arc`).
    pub(crate) weak: AtomicU32,
    pub(crate) flags: AtomicU32,
    /// Position in the generation list (in the unreachable set while `IN_SET`).
    pub(crate) index: AtomicU32,
    pub(crate) vtable: &'static VTable,
    /// The owning heap for tracked objects; null for untracked ones.
    pub(crate) heap: *const HeapInner,
}

// SAFETY: every mutable field is atomic; `vtable` is immutable and `'static`; `heap` is only
// dereferenced under the protocol documented in `heap` (a listed object keeps its heap alive).
unsafe impl Send for Header {}
// SAFETY: as for `Send`.
unsafe impl Sync for Header {}

impl Header {
    pub(crate) fn new(vtable: &'static VTable, flags: u32, heap: *const HeapInner) -> Self {
        Header {
            strong: AtomicU32::new(1),
            weak: AtomicU32::new(1),
            flags: AtomicU32::new(flags),
            index: AtomicU32::new(0),
            vtable,
            heap,
        }
    }

    #[inline]
    pub(crate) fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn has(&self, bits: u32) -> bool {
        self.flags() & bits != 0
    }

    #[inline]
    pub(crate) fn set(&self, bits: u32) {
        self.flags.fetch_or(bits, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn clear(&self, bits: u32) {
        self.flags.fetch_and(!bits, Ordering::Relaxed);
    }

    pub(crate) fn generation(&self) -> usize {
        flag::generation(self.flags())
    }

    pub(crate) fn shard(&self) -> usize {
        flag::shard(self.flags())
    }

    /// Sets the generation bits. Only the owner of the object's shard list may call this.
    pub(crate) fn set_generation(&self, gen: usize) {
        // Other bits may be flipped concurrently (`HAS_WEAK_CALLBACKS`, `FINALIZED`).
        let _ = self
            .flags
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |flags| {
                Some(flag::with_generation(flags, gen))
            });
    }

    /// Pins the strong count at immortal: the object is never freed, and its counts are never
    /// written again (a clone or drop racing this one lands within the pin's margin).
    pub(crate) fn make_immortal(&self) {
        self.strong.store(IMMORTAL_PIN, Ordering::Relaxed);
    }

    /// One more strong reference. Saturates at [`IMMORTAL`].
    #[inline]
    pub(crate) fn inc_strong(&self) {
        let old = self.strong.fetch_add(1, Ordering::Relaxed);
        if old >= IMMORTAL - 1 {
            self.strong.store(IMMORTAL_PIN, Ordering::Relaxed);
        }
    }

    /// One strong reference fewer; true when this was the last one and the object must die.
    #[inline]
    pub(crate) fn dec_strong(&self) -> bool {
        let old = self.strong.fetch_sub(1, Ordering::Release);
        if old == 1 {
            // Acquire the other handles' releases (an acquire load rather than a fence, so
            // ThreadSanitizer sees the synchronisation too).
            self.strong.load(Ordering::Acquire);
            return true;
        }
        if old >= IMMORTAL {
            self.strong.store(IMMORTAL_PIN, Ordering::Relaxed);
        }
        false
    }

    /// Takes a strong reference only if the count is not zero (`Weak::upgrade`).
    pub(crate) fn try_inc_strong(&self) -> bool {
        let mut cur = self.strong.load(Ordering::Relaxed);
        loop {
            if cur == 0 {
                return false;
            }
            if cur >= IMMORTAL {
                return true;
            }
            match self.strong.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    #[inline]
    pub(crate) fn strong_count(&self) -> u32 {
        self.strong.load(Ordering::Relaxed)
    }

    /// One more weak reference made from a strong handle (`Gc::downgrade`): waits while
    /// [`lock_weak`](Header::lock_weak) holds the count. A weak count that would overflow
    /// leaks the allocation instead.
    pub(crate) fn downgrade_weak(&self) {
        let mut cur = self.weak.load(Ordering::Relaxed);
        loop {
            if cur == WEAK_LOCKED {
                crate::sync::spin_loop();
                cur = self.weak.load(Ordering::Relaxed);
                continue;
            }
            if cur >= IMMORTAL {
                // Saturated: pinned for good, nothing to count.
                return;
            }
            // Acquire: a uniqueness check that unlocked the count happens before.
            match self.weak.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Locks the weak count if no weak handle exists (it is 1: the strong handles' own), so
    /// that none can be made until [`unlock_weak`](Header::unlock_weak); false if a weak handle
    /// exists. The caller owns a strong handle, so the count cannot drop to 0 meanwhile.
    pub(crate) fn lock_weak(&self) -> bool {
        self.weak
            .compare_exchange(1, WEAK_LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Undoes [`lock_weak`](Header::lock_weak).
    pub(crate) fn unlock_weak(&self) {
        self.weak.store(1, Ordering::Release);
    }

    /// The weak handles, not counting the strong handles' own reference (0 while the count is
    /// locked: none exists then).
    pub(crate) fn weak_handles(&self) -> usize {
        match self.weak.load(Ordering::Relaxed) {
            WEAK_LOCKED => 0,
            weak => (weak as usize).saturating_sub(1),
        }
    }

    /// One more weak reference. A weak count that would overflow leaks the allocation instead.
    pub(crate) fn inc_weak(&self) {
        let old = self.weak.fetch_add(1, Ordering::Relaxed);
        if old >= IMMORTAL - 1 {
            self.weak.store(IMMORTAL_PIN, Ordering::Relaxed);
        }
    }

    /// One weak reference fewer (or the implicit one of the strong handles); true when the
    /// allocation must be freed now.
    #[inline]
    pub(crate) fn dec_weak(&self) -> bool {
        // The last reference of any kind: nobody is left to race with, skip the RMW.
        if self.weak.load(Ordering::Acquire) == 1 {
            return true;
        }
        let old = self.weak.fetch_sub(1, Ordering::Release);
        if old == 1 {
            self.weak.load(Ordering::Acquire);
            return true;
        }
        if old >= IMMORTAL {
            self.weak.store(IMMORTAL_PIN, Ordering::Relaxed);
        }
        false
    }

    #[inline]
    pub(crate) fn is_immortal(&self) -> bool {
        self.strong_count() >= IMMORTAL
    }

    #[inline]
    pub(crate) fn type_name(&self) -> &'static str {
        (self.vtable.type_name)()
    }
}

/// A pointer to a tracked object's header, as the generation lists and the collector's sets
/// hold them. Lists are only read with the world stopped or by their owner, so a `HeaderPtr`
/// may cross to collector workers.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct HeaderPtr(pub(crate) NonNull<Header>);

// SAFETY: objects are shared between the collecting thread and its workers only while the
// collector owns the lists (world stopped) or the set; every field they touch is atomic.
unsafe impl Send for HeaderPtr {}
// SAFETY: as for `Send`.
unsafe impl Sync for HeaderPtr {}

impl HeaderPtr {
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: listed objects are alive (they cannot be freed while the world is stopped,
        // and only their shard's owner frees them otherwise), and a collection holds its
        // garbage until torn down.
        unsafe { self.0.as_ref() }
    }

    /// Edges as recorded by a `Tracer`, seen as objects (to share them among workers).
    #[inline]
    pub(crate) fn from_edges(edges: &[NonNull<Header>]) -> &[HeaderPtr] {
        // SAFETY: `HeaderPtr` is `repr(transparent)` over `NonNull<Header>`: same layout, and the
        // slice keeps its lifetime.
        unsafe { core::slice::from_raw_parts(edges.as_ptr().cast::<HeaderPtr>(), edges.len()) }
    }
}

/// An object: header, then value. `#[repr(C)]` so a `*const Header` is a `*const GcBox<T>`.
///
/// Public only for [`coerce_gc!`](crate::coerce_gc), which unsizes a `*const GcBox<T>` into a
/// `*const GcBox<dyn Trait>` (a raw-pointer coercion, stable where `CoerceUnsized` is not); its
/// fields stay private.
#[doc(hidden)]
#[repr(C)]
pub struct GcBox<T: ?Sized> {
    pub(crate) header: Header,
    pub(crate) value: core::mem::ManuallyDrop<T>,
}

impl<T> GcBox<T> {
    /// Allocates a box holding `value`, from the pool if `pooled` and it serves the size; its
    /// strong and weak counts start at one.
    #[inline]
    pub(crate) fn allocate(header: Header, value: T, pooled: bool) -> core::ptr::NonNull<Header> {
        let layout = core::alloc::Layout::new::<GcBox<T>>();
        // SAFETY: `GcBox` is never zero-sized (it has a header).
        let (raw, pooled) = unsafe { crate::alloc::allocate(layout, pooled) };
        let raw = raw.cast::<GcBox<T>>();
        if pooled {
            header
                .flags
                .store(header.flags() | flag::POOLED, Ordering::Relaxed);
        }
        // SAFETY: freshly allocated with `GcBox<T>`'s layout.
        unsafe {
            raw.as_ptr().write(GcBox {
                header,
                value: core::mem::ManuallyDrop::new(value),
            })
        };
        raw.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_at_most_32_bytes() {
        assert_eq!(core::mem::size_of::<Header>(), 32);
        assert!(core::mem::align_of::<Header>() <= 8);
    }

    fn table() -> &'static VTable {
        unsafe fn nothing(_: *const Header) {}
        unsafe fn no_trace(_: *const Header, _: &mut Tracer<'_>) {}
        static TABLE: VTable = VTable {
            trace: no_trace,
            drop_value: nothing,
            dealloc: nothing,
            finalize: None,
            type_name: || "test",
            type_id: core::any::TypeId::of::<()>,
        };
        &TABLE
    }

    #[test]
    fn strong_count_saturates_to_immortal_and_never_dies() {
        let h = Header::new(table(), 0, core::ptr::null());
        h.strong.store(IMMORTAL - 2, Ordering::Relaxed);
        h.inc_strong();
        h.inc_strong();
        assert!(h.is_immortal());
        for _ in 0..10 {
            assert!(!h.dec_strong());
        }
        assert!(h.is_immortal());
        assert!(h.try_inc_strong());
    }

    #[test]
    fn strong_count_reaches_zero_exactly_once() {
        let h = Header::new(table(), 0, core::ptr::null());
        h.inc_strong();
        assert!(!h.dec_strong());
        assert!(h.dec_strong());
        assert!(!h.try_inc_strong());
    }

    #[test]
    fn generation_and_shard_bits_round_trip() {
        let h = Header::new(
            table(),
            5 << flag::SHARD_SHIFT | flag::TRACKED,
            core::ptr::null(),
        );
        h.set_generation(2);
        assert_eq!(h.generation(), 2);
        assert_eq!(h.shard(), 5);
        assert!(h.has(flag::TRACKED));
    }
}
