//! `Gc<T>`: a counted strong handle, CPython's `PyObject *` with `Py_INCREF`/`Py_DECREF`.
//!
//! Cloning is one atomic increment (plus, for a tracked object on a thread that does not hold
//! the world, a short hold so the increment cannot slip between a collector's reads). Dropping
//! a handle is one atomic decrement (under a hold too, for a tracked object on a heap that
//! scans candidates, on such a thread); dropping the last frees the object at once: finalizer,
//! weak callbacks, then the value's `Drop`.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::candidates;
use crate::header::{flag, GcBox, Header};
use crate::reclaim;
use crate::seeded;
use crate::trace::Trace;
use crate::world;

/// A strong, counted handle to an object on a [`Heap`](crate::Heap).
///
/// `Gc<T>` is `Send + Sync` when `T` is. Handles to members of a garbage cycle that is being
/// torn down panic on dereference rather than expose a dropped value.
///
/// `T` may be unsized: a slice (`Gc<[T]>`, from [`Heap::alloc_slice`](crate::Heap::alloc_slice)
/// or `From<Vec<T>>`) or a trait object (`Gc<dyn Trait>`, from
/// [`coerce_gc!`](crate::coerce_gc)). The object keeps the type it was allocated with: the
/// collector traces, finalizes and frees it through its header, never through `T`.
///
/// `repr(transparent)`: a handle is one pointer to its object, which starts with the header, so
/// a slice of handles to sized values reads as a slice of header pointers (`Gc::headers`).
#[repr(transparent)]
pub struct Gc<T: ?Sized> {
    ptr: NonNull<GcBox<T>>,
    _owns: PhantomData<GcBox<T>>,
}

// SAFETY: a `Gc<T>` gives shared access to `T` from any thread holding a clone, and the last
// clone may drop `T` on any thread: exactly `Arc<T>`'s requirements. Counts are atomic.
unsafe impl<T: ?Sized + Send + Sync> Send for Gc<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: ?Sized + Send + Sync> Sync for Gc<T> {}

impl<T> Gc<T> {
    /// Wraps an owned strong reference.
    ///
    /// # Safety
    /// `ptr` must point to a live `GcBox<T>` whose strong count includes one reference that
    /// the new handle now owns.
    pub(crate) unsafe fn from_owned(ptr: NonNull<Header>) -> Self {
        Gc {
            ptr: ptr.cast(),
            _owns: PhantomData,
        }
    }
}

impl<T: ?Sized> Gc<T> {
    /// Wraps an owned strong reference given as a (possibly wide) pointer to the object.
    ///
    /// # Safety
    /// `ptr` must point to a live object whose value is a `T` (its metadata that of the value)
    /// and whose strong count includes one reference that the new handle now owns.
    pub(crate) unsafe fn from_box(ptr: NonNull<GcBox<T>>) -> Self {
        Gc {
            ptr,
            _owns: PhantomData,
        }
    }

    /// The pointer to the object, metadata included.
    #[inline]
    pub(crate) fn box_ptr(this: &Self) -> NonNull<GcBox<T>> {
        this.ptr
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a handle keeps its allocation alive; the header is never dropped in place.
        // The reference covers the header only, never the value.
        unsafe { &(*self.ptr.as_ptr()).header }
    }

    #[inline]
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr.cast()
    }

    /// True when a handle is one pointer wide (`T` is sized), decided at compile time.
    pub(crate) const THIN: bool =
        core::mem::size_of::<Gc<T>>() == core::mem::size_of::<NonNull<Header>>();

    /// The header pointers of a slice of handles, in place; `None` for wide handles (to a
    /// slice or a trait object), which carry metadata beside the pointer.
    #[inline]
    pub(crate) fn headers(handles: &[Gc<T>]) -> Option<&[NonNull<Header>]> {
        if !Self::THIN {
            return None;
        }
        // SAFETY: a handle is one pointer wide (checked above): `Gc<T>` is `repr(transparent)`
        // over a thin `NonNull<GcBox<T>>`, a pointer of the layout of `NonNull<Header>`, and
        // `GcBox` is `repr(C)` with the header first, so each element read as a header pointer
        // points at its object's header. Same length, and the slice keeps the borrow's
        // lifetime.
        Some(unsafe { core::slice::from_raw_parts(handles.as_ptr().cast(), handles.len()) })
    }

    /// Gives the handle up without dropping its reference.
    pub(crate) fn into_raw(this: Self) -> NonNull<Header> {
        let ptr = this.header_ptr();
        core::mem::forget(this);
        ptr
    }

    /// True when both handles name the same object (Python's `is`). Only the addresses are
    /// compared, not the metadata of wide handles.
    #[inline]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr.cast::<u8>() == b.ptr.cast::<u8>()
    }

    /// The object's identity (Python's `id()`): its address, stable for its lifetime.
    #[inline]
    pub fn id(this: &Self) -> usize {
        this.ptr.cast::<u8>().as_ptr() as usize
    }

    /// The number of strong handles (`sys.getrefcount(x) - 1`). An immortal object (one whose
    /// count saturated) reports `u32::MAX`.
    pub fn ref_count(this: &Self) -> usize {
        let header = this.header();
        if header.is_immortal() {
            u32::MAX as usize
        } else {
            header.strong_count() as usize
        }
    }

    /// The number of [`Weak`](crate::Weak) handles.
    pub fn weak_count(this: &Self) -> usize {
        this.header().weak_handles()
    }

    /// True when the object is immortal ([`Gc::make_immortal`], or its count saturated): it
    /// will never be freed.
    pub fn is_immortal(this: &Self) -> bool {
        this.header().is_immortal()
    }

    /// Makes the object immortal, as CPython 3.12 does its interned strings and built-in types
    /// (PEP 683): for a runtime's objects that every thread touches — globals, functions,
    /// types. From then on a clone or a drop of any handle to it writes nothing (no count, no
    /// hold, no candidate), so threads that share it never write its cache line, and
    /// dereferencing reads only lines nobody writes.
    ///
    /// The price is that it is never freed: its finalizer and `Drop` never run, and everything
    /// it references stays alive with it (every collection takes it for a root; its cells can
    /// still be written, and what they lose is collected as usual). Its heap outlives its last
    /// `Heap` handle, as for any object still alive then.
    ///
    /// ```
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let global = heap.alloc(String::from("print"));
    /// Gc::make_immortal(&global);
    /// let copy = global.clone(); // no write to the object
    /// assert!(Gc::is_immortal(&copy));
    /// drop((global, copy));
    /// assert_eq!(heap.collect(), 0);
    /// ```
    pub fn make_immortal(this: &Self) {
        this.header().make_immortal();
    }

    /// The name of the value's type.
    pub fn type_name(this: &Self) -> &'static str {
        this.header().type_name()
    }
}

impl<T: ?Sized> Gc<T> {
    /// True when the object lives on a generation list and is scanned by the collector
    /// (CPython `gc.is_tracked`): its type can hold handles.
    pub fn is_tracked(this: &Self) -> bool {
        this.header().has(flag::TRACKED)
    }

    /// True when the object's finalizer has run (CPython `gc.is_finalized`).
    pub fn is_finalized(this: &Self) -> bool {
        this.header().has(flag::FINALIZED)
    }
}

#[cold]
#[inline(never)]
fn torn_down(header: &Header) -> ! {
    if !header.has(flag::TEARDOWN) && header.strong_count() > 0 {
        // `DROPPED` on a live object outside any teardown: a `GcMut` has the value.
        panic!(
            "gc-core: accessed a {} that is borrowed mutably through Gc::get_mut or \
             Gc::make_mut (a handle to it was made afterwards, by Heap::objects or a Weak)",
            header.type_name()
        )
    }
    panic!(
        "gc-core: accessed a {} that belongs to a garbage cycle being torn down; \
         Drop impls must not reach other members of their cycle (use a finalizer)",
        header.type_name()
    )
}

impl<T: ?Sized> Deref for Gc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        let header = self.header();
        if header.flags() & (flag::TEARDOWN | flag::DROPPED) != 0 {
            torn_down(header);
        }
        // SAFETY: the value is alive (not torn down, checked above) while a handle exists.
        unsafe { &self.ptr.as_ref().value }
    }
}

impl<T: ?Sized> Clone for Gc<T> {
    /// One more strong reference. For a tracked object (the header's flag, set at allocation:
    /// a `Gc<dyn Trait>` has no `Trace::TRACKED` to ask), on a thread that does not hold the
    /// world, the increment is made under a short hold.
    #[inline]
    fn clone(&self) -> Self {
        clone_reference(self.header());
        Gc {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

/// Takes one more strong reference to `header`'s object for a new handle: nothing for an
/// immortal object (its count is never written), one increment otherwise — under a short hold
/// for a tracked object on a thread that does not hold the world.
#[inline]
fn clone_reference(header: &Header) {
    if header.is_immortal() {
        return;
    }
    if header.has(flag::TRACKED) && !world::is_holding() && !seeded::CLONE_NO_HOLD {
        world::held(|| header.inc_strong());
    } else {
        header.inc_strong();
    }
}

impl<T: ?Sized> Drop for Gc<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the handle owns a strong reference and is going.
        unsafe { drop_reference(self.header_ptr()) }
    }
}

/// Gives up a handle's strong reference to `object`, recording the object as a candidate if
/// it may now head a garbage cycle, and reclaiming it if this was the last reference.
///
/// On a heap that scans candidates, a thread that does not hold the world drops a handle to a
/// tracked object under a short hold, as it clones one: a decrement made while a collection
/// has the world stopped could turn an object the collection has just counted as referenced
/// into garbage, after the collection took it off the candidate lists or without recording it
/// (it is in the collection's region), and no later collection would look at it.
///
/// # Safety
/// The caller owns a strong reference to `object` and gives it up with this call.
#[inline]
unsafe fn drop_reference(object: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the object alive.
    let header = unsafe { object.as_ref() };
    if header.is_immortal() {
        // Never counted down, never recorded: an immortal object cannot become garbage.
        return;
    }
    if header.has(flag::CANDIDATES) && !world::is_holding() && !seeded::DROP_NO_HOLD {
        // SAFETY: forwarded.
        return unsafe { drop_reference_unheld(object) };
    }
    // SAFETY: forwarded.
    unsafe { drop_reference_held(object) }
}

/// [`drop_reference`] on a thread that must take a hold first: out of line, so that the drop
/// of an attached thread inlines.
///
/// # Safety
/// As for [`drop_reference`].
#[cold]
#[inline(never)]
unsafe fn drop_reference_unheld(object: NonNull<Header>) {
    // SAFETY: forwarded.
    world::held(|| unsafe { drop_reference_held(object) })
}

/// [`drop_reference`] once the world is held if it must be.
///
/// # Safety
/// As for [`drop_reference`].
#[inline]
unsafe fn drop_reference_held(object: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the object alive.
    let header = unsafe { object.as_ref() };
    if candidates::worth_recording(header) {
        // SAFETY: the caller's reference is not given up yet; only tracked objects are
        // recorded (`CANDIDATES` is set on tracked objects alone).
        unsafe { candidates::record(object) };
    }
    if header.dec_strong() {
        // SAFETY: the count just reached zero, so this was the last strong reference.
        unsafe { reclaim::last_reference_gone(object) }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

impl<T: ?Sized + PartialEq> PartialEq for Gc<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: ?Sized + Eq> Eq for Gc<T> {}

impl<T: ?Sized + core::hash::Hash> core::hash::Hash for Gc<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: ?Sized + PartialOrd> PartialOrd for Gc<T> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: ?Sized + Ord> Ord for Gc<T> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: ?Sized> AsRef<T> for Gc<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: ?Sized> core::borrow::Borrow<T> for Gc<T> {
    fn borrow(&self) -> &T {
        self
    }
}

/// A strong handle to an object of any type, as the inspection calls return them
/// ([`Heap::objects`](crate::Heap::objects), [`Heap::garbage`](crate::Heap::garbage), ...).
///
/// It gives no access to the value except through [`downcast`](GcAny::downcast), which
/// requires a `Send + Sync` type.
pub struct GcAny {
    ptr: NonNull<Header>,
}

// SAFETY: every heap object is `Send` (`Heap::alloc` requires it), so the last handle may drop
// it on any thread; counts are atomic; and the value is only reachable through `downcast`, whose
// `Send + Sync` bound makes the typed handle safe to share.
unsafe impl Send for GcAny {}
// SAFETY: as for `Send`.
unsafe impl Sync for GcAny {}

impl GcAny {
    /// Takes a new strong reference to a listed object, unless it is already dying.
    ///
    /// # Safety
    /// `ptr` must be a live object (its allocation not freed) for the duration of the call.
    pub(crate) unsafe fn try_new(ptr: NonNull<Header>) -> Option<GcAny> {
        // SAFETY: per the contract.
        let header = unsafe { ptr.as_ref() };
        header.try_inc_strong().then_some(GcAny { ptr })
    }

    /// Wraps a strong reference the caller owns.
    ///
    /// # Safety
    /// As for [`Gc::from_owned`].
    pub(crate) unsafe fn from_owned(ptr: NonNull<Header>) -> GcAny {
        GcAny { ptr }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a strong handle keeps the allocation alive.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    /// The object's identity, equal to [`Gc::id`] of its typed handles.
    pub fn id(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The name of the object's type.
    pub fn type_name(&self) -> &'static str {
        self.header().type_name()
    }

    /// Strong handles to the object, this one included (`u32::MAX` once immortal).
    pub fn ref_count(&self) -> usize {
        let header = self.header();
        if header.is_immortal() {
            u32::MAX as usize
        } else {
            header.strong_count() as usize
        }
    }

    /// True when the finalizer has run.
    pub fn is_finalized(&self) -> bool {
        self.header().has(flag::FINALIZED)
    }

    /// True when the object is on a generation list.
    pub fn is_tracked(&self) -> bool {
        self.header().has(flag::TRACKED)
    }

    /// True when the object's type is `T`.
    pub fn is<T: 'static>(&self) -> bool {
        (self.header().vtable.type_id)() == core::any::TypeId::of::<T>()
    }

    /// A typed handle, if the object is a `T`.
    pub fn downcast<T: Trace + Send + Sync + 'static>(&self) -> Option<Gc<T>> {
        self.is::<T>().then(|| {
            let any = self.clone();
            // SAFETY: the type matches and `any` owns a strong reference, handed over.
            unsafe { Gc::from_owned(GcAny::into_raw(any)) }
        })
    }

    fn into_raw(this: Self) -> NonNull<Header> {
        let ptr = this.ptr;
        core::mem::forget(this);
        ptr
    }

    /// True when both handles name the same object.
    pub fn ptr_eq(a: &GcAny, b: &GcAny) -> bool {
        a.ptr == b.ptr
    }
}

impl<T: ?Sized + 'static> From<Gc<T>> for GcAny {
    fn from(gc: Gc<T>) -> GcAny {
        // SAFETY: the handle's strong reference is handed over.
        unsafe { GcAny::from_owned(Gc::into_raw(gc)) }
    }
}

impl<T: ?Sized + 'static> From<&Gc<T>> for GcAny {
    fn from(gc: &Gc<T>) -> GcAny {
        GcAny::from(gc.clone())
    }
}

impl Clone for GcAny {
    fn clone(&self) -> Self {
        clone_reference(self.header());
        GcAny { ptr: self.ptr }
    }
}

impl Drop for GcAny {
    fn drop(&mut self) {
        // SAFETY: the handle owns a strong reference and is going.
        unsafe { drop_reference(self.ptr) }
    }
}

impl PartialEq for GcAny {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}

impl Eq for GcAny {}

impl fmt::Debug for GcAny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} at {:#x}>", self.type_name(), self.id())
    }
}
