//! `Gc<dyn Trait>` on stable Rust: [`coerce_gc!`] unsizes a handle, [`Gc::downcast`] gives the
//! concrete type back.
//!
//! `Arc<T>` becomes `Arc<dyn Trait>` through `CoerceUnsized`, which only the standard library
//! may implement on stable. What is stable is the unsizing of a raw pointer: a
//! `*const GcBox<T>` coerces to a `*const GcBox<dyn Trait>` wherever `T: Trait`, and to a
//! `*const GcBox<[E]>` from `[E; N]`. The macro takes the handle apart into that pointer, lets
//! a `let` with the target type perform the coercion (a `let` admits no other conversion: no
//! cast, no transmute), and puts the handle back together from the wide pointer.
//!
//! Nothing else changes: the object's header was made at allocation for the concrete type, so
//! the collector traces, finalizes, drops and frees it through that type's table, whatever the
//! handle's type says, and a tracked object stays tracked (`Clone` and `Weak::upgrade` read
//! the header's flag, not `Trace::TRACKED`, which a trait object does not have).

use core::any::TypeId;
use core::ptr::NonNull;

use crate::handle::Gc;
use crate::header::GcBox;
use crate::trace::Trace;
use crate::weak::Weak;

/// Unsizes a [`Gc<T>`](crate::Gc) or a [`Weak<T>`](crate::Weak) into one of a trait object
/// (`dyn Trait`) that `T` implements, or of a slice from an array: the coercion `Arc` gets from
/// `CoerceUnsized`, on stable Rust.
///
/// `coerce_gc!(handle, Target)` consumes `handle` (no count changes) and returns a `Gc<Target>`
/// (or `Weak<Target>`) naming the same object. Only an unsizing coercion compiles: `Target`
/// must be `T` itself, `dyn Trait` for a trait `T` implements (with the auto traits `T` has), or
/// `[E]` for `T = [E; N]`.
///
/// The object is still traced, finalized and dropped as the `T` it was allocated as, and a
/// `Gc<dyn Trait>` field makes its owner tracked, as any `Gc` field does.
///
/// ```
/// use gc_core::{coerce_gc, Gc, GcCell, Heap, Trace};
///
/// trait Shape: Send + Sync {
///     fn area(&self) -> f64;
/// }
///
/// #[derive(Trace)]
/// struct Square(f64);
/// impl Shape for Square {
///     fn area(&self) -> f64 { self.0 * self.0 }
/// }
///
/// /// A shape that holds other shapes: it can be part of a cycle.
/// #[derive(Trace)]
/// struct Group {
///     members: GcCell<Vec<Gc<dyn Shape>>>,
/// }
/// impl Shape for Group {
///     fn area(&self) -> f64 { self.members.borrow().iter().map(|s| s.area()).sum() }
/// }
///
/// let heap = Heap::new();
/// let square: Gc<dyn Shape> = coerce_gc!(heap.alloc(Square(2.0)), dyn Shape);
/// let group = heap.alloc(Group { members: GcCell::new(vec![square]) });
/// let shape: Gc<dyn Shape> = coerce_gc!(group.clone(), dyn Shape);
/// assert_eq!(shape.area(), 4.0);
///
/// // A cycle through a trait object, collected through the object's own table (the square,
/// // untracked, goes with the group's value).
/// group.members.borrow_mut().push(shape);
/// drop(group);
/// assert_eq!(heap.collect(), 1);
/// ```
///
/// Anything but an unsizing coercion is rejected at compile time:
///
/// ```compile_fail
/// use gc_core::{coerce_gc, Gc, Heap};
/// let heap = Heap::new();
/// let n: Gc<u32> = heap.alloc(7);
/// let f: Gc<f32> = coerce_gc!(n, f32);
/// ```
#[macro_export]
macro_rules! coerce_gc {
    ($handle:expr, $target:ty $(,)?) => {{
        let (raw, parts) = $crate::__private::Unsize::into_parts($handle);
        let raw: *const $crate::__private::GcBox<$target> = raw;
        // SAFETY: `raw` is the pointer `into_parts` gave out, changed by nothing but the
        // coercion the `let` above performs: the same object, with metadata for its value.
        unsafe { parts.rebuild(raw) }
    }};
}

/// What [`coerce_gc!`] uses; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::header::GcBox;

    /// A handle [`coerce_gc!`] can take apart: its pointer, and what rebuilds a handle of the
    /// same kind from it. Sealed: the macro trusts the pointer it returns.
    pub trait Unsize: super::sealed::Sealed {
        /// The type the handle names.
        type Pointee: ?Sized;
        /// What rebuilds the handle.
        type Parts;
        /// Gives the handle up, its counts untouched.
        fn into_parts(self) -> (*const GcBox<Self::Pointee>, Self::Parts);
    }

    /// Rebuilds a [`Gc`](crate::Gc).
    pub struct GcParts(pub(crate) ());

    /// Rebuilds a [`Weak`](crate::Weak), with the callback registration it owned.
    pub struct WeakParts(pub(crate) Option<u64>);
}

use self::__private::{GcParts, Unsize, WeakParts};

mod sealed {
    /// Only gc-core's handles are [`Unsize`](super::__private::Unsize).
    pub trait Sealed: Sized {}
    impl<T: ?Sized> Sealed for crate::Gc<T> {}
    impl<T: ?Sized> Sealed for crate::Weak<T> {}
}

impl<T: ?Sized> Unsize for Gc<T> {
    type Pointee = T;
    type Parts = GcParts;

    fn into_parts(self) -> (*const GcBox<T>, GcParts) {
        let ptr = Gc::box_ptr(&self);
        core::mem::forget(self);
        (ptr.as_ptr(), GcParts(()))
    }
}

impl<T: ?Sized> Unsize for Weak<T> {
    type Pointee = T;
    type Parts = WeakParts;

    fn into_parts(self) -> (*const GcBox<T>, WeakParts) {
        let (ptr, callback) = Weak::into_parts(self);
        (ptr.as_ptr(), WeakParts(callback))
    }
}

impl GcParts {
    /// The handle again, with the type `ptr` names.
    ///
    /// # Safety
    /// `ptr` is the pointer [`Unsize::into_parts`] returned with `self`, unchanged but for an
    /// unsizing coercion.
    pub unsafe fn rebuild<U: ?Sized>(self, ptr: *const GcBox<U>) -> Gc<U> {
        // SAFETY: per the contract: the pointer of a strong handle given up by `into_parts`
        // (not null), its metadata made by the compiler for the value it points at.
        unsafe { Gc::from_box(NonNull::new_unchecked(ptr.cast_mut())) }
    }
}

impl WeakParts {
    /// The handle again, with the type `ptr` names.
    ///
    /// # Safety
    /// As for [`GcParts::rebuild`].
    pub unsafe fn rebuild<U: ?Sized>(self, ptr: *const GcBox<U>) -> Weak<U> {
        // SAFETY: per the contract: the pointer and registration of a weak handle given up by
        // `into_parts` (not null: the sentinel of `Weak::new` is not zero either).
        unsafe { Weak::from_parts(NonNull::new_unchecked(ptr.cast_mut()), self.0) }
    }
}

impl<U: ?Sized> Gc<U> {
    /// The handle as a `Gc<T>` if the object was allocated as a `T`, else the handle back — a
    /// `Gc<dyn Trait>` (or any other) turned back into its concrete type, as
    /// `Arc::downcast`. The check is the object's own: its header records the type it was
    /// allocated with, so any `Gc<dyn Trait>` can be asked, not only a `dyn Any`.
    ///
    /// ```
    /// use gc_core::{coerce_gc, Gc, Heap};
    /// use std::fmt::Debug;
    ///
    /// let heap = Heap::new();
    /// let shown: Gc<dyn Debug + Send + Sync> = coerce_gc!(heap.alloc(42u8), dyn Debug + Send + Sync);
    /// let shown = Gc::downcast::<String>(shown).unwrap_err();
    /// let byte: Gc<u8> = Gc::downcast(shown).unwrap();
    /// assert_eq!(*byte, 42);
    /// ```
    pub fn downcast<T: Trace + 'static>(this: Self) -> Result<Gc<T>, Self> {
        if (this.header().vtable.type_id)() != TypeId::of::<T>() {
            return Err(this);
        }
        let ptr = this.header_ptr();
        core::mem::forget(this);
        // SAFETY: the object was allocated as a `T` (its table says so), and the strong
        // reference `this` owned is handed over.
        Ok(unsafe { Gc::from_owned(ptr) })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_support::quiet_heap;
    use crate::{Finalize, Gc, GcCell, Trace, Weak};

    trait Shape: Send + Sync {
        fn sides(&self) -> usize;
    }

    #[derive(Trace)]
    #[gc(finalize)]
    struct Polygon {
        sides: usize,
        /// Other shapes: a heterogeneous graph.
        next: GcCell<Vec<Gc<dyn Shape>>>,
        #[gc(skip)]
        finalized: Arc<AtomicUsize>,
    }

    impl Shape for Polygon {
        fn sides(&self) -> usize {
            self.sides
        }
    }

    impl Finalize for Polygon {
        fn finalize(this: &Gc<Self>) {
            this.finalized.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Over-aligned, so its value sits further from the header than a `Polygon`'s.
    #[derive(Trace)]
    #[repr(align(64))]
    struct Dot(u8);

    impl Shape for Dot {
        fn sides(&self) -> usize {
            usize::from(self.0)
        }
    }

    fn polygon(heap: &crate::Heap, sides: usize, finalized: &Arc<AtomicUsize>) -> Gc<Polygon> {
        heap.alloc(Polygon {
            sides,
            next: GcCell::new(Vec::new()),
            finalized: finalized.clone(),
        })
    }

    #[test]
    fn trait_objects_are_traced_finalized_and_freed_as_their_own_type() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let square = polygon(&heap, 4, &finalized);
        let dot: Gc<dyn Shape> = coerce_gc!(heap.alloc(Dot(0)), dyn Shape);
        let triangle: Gc<dyn Shape> = coerce_gc!(polygon(&heap, 3, &finalized), dyn Shape);
        assert_eq!((dot.sides(), triangle.sides()), (0, 3));
        assert_eq!(Gc::type_name(&dot), core::any::type_name::<Dot>());
        // Cloned as the tracked object it is, with the header's flag.
        assert!(Gc::is_tracked(&triangle.clone()));
        square
            .next
            .borrow_mut()
            .extend([dot.clone(), triangle.clone(), dot.clone()]);
        let ids: Vec<usize> = [&dot, &triangle, &dot].into_iter().map(Gc::id).collect();
        assert_eq!(crate::trace::edges(&*square.next.borrow()), ids);
        // A cycle through the trait objects: square -> triangle -> square.
        let back: Gc<dyn Shape> = coerce_gc!(square.clone(), dyn Shape);
        let triangle = Gc::downcast::<Polygon>(triangle).ok().unwrap();
        triangle.next.borrow_mut().push(back);
        let dot_alive = Gc::downgrade(&dot);
        drop((square, triangle, dot));
        assert_eq!(heap.collect(), 2, "the polygons; the dot is untracked");
        assert_eq!(finalized.load(Ordering::SeqCst), 2);
        assert!(
            dot_alive.upgrade().is_none(),
            "freed with the values that held it"
        );
    }

    #[test]
    fn a_trait_object_dies_by_count_through_its_own_table() {
        let heap = quiet_heap();
        let finalized = Arc::new(AtomicUsize::new(0));
        let shape: Gc<dyn Shape> = coerce_gc!(polygon(&heap, 5, &finalized), dyn Shape);
        let weak: Weak<dyn Shape> = Gc::downgrade(&shape);
        assert_eq!(weak.upgrade().unwrap().sides(), 5);
        drop(shape);
        assert_eq!(finalized.load(Ordering::SeqCst), 1);
        assert!(weak.upgrade().is_none());
        assert!(heap.objects(None).unwrap().is_empty());
    }

    #[test]
    fn weak_handles_coerce_with_their_callbacks() {
        let heap = quiet_heap();
        let called = Arc::new(AtomicUsize::new(0));
        let dot = heap.alloc(Dot(9));
        let seen = called.clone();
        let weak = Gc::downgrade_with_callback(&dot, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let weak: Weak<dyn Shape> = coerce_gc!(weak, dyn Shape);
        assert_eq!(weak.upgrade().unwrap().sides(), 9);
        let nothing: Weak<dyn Shape> = coerce_gc!(Weak::<Dot>::new(), dyn Shape);
        assert!(nothing.upgrade().is_none());
        drop(dot);
        assert_eq!(
            called.load(Ordering::SeqCst),
            1,
            "the registration came along"
        );
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn arrays_unsize_into_slices_and_downcast_back() {
        let heap = quiet_heap();
        let array = heap.alloc([1u16, 2, 3]);
        let slice: Gc<[u16]> = coerce_gc!(array.clone(), [u16]);
        assert_eq!(&*slice, &[1, 2, 3]);
        assert!(Gc::ptr_eq(&slice, &coerce_gc!(array, [u16])));
        let slice = Gc::downcast::<[u16; 2]>(slice).unwrap_err();
        assert_eq!(*Gc::downcast::<[u16; 3]>(slice).unwrap(), [1, 2, 3]);
    }
}
