//! `Gc<[T]>`: a slice allocated in one piece with its header, as `Arc<[T]>`.
//!
//! The collector knows an object only by its header, and a header has no room for a length.
//! So a slice object carries its length in front of the header:
//!
//! ```text
//!  start               start + A (A = the alignment of GcBox<[T]>, at least 8)
//!  +--------+- - - - - +------------------------+- - - -+-----------------------+
//!  | len    | padding  | header (32 bytes)      | pad   | [T; len]              |
//!  +--------+- - - - - +------------------------+- - - -+-----------------------+
//!                      ^ every handle points here: a Gc<[T]> is a GcBox<[T]> pointer
//! ```
//!
//! Handles see an ordinary `GcBox<[T]>` (their wide pointer carries the length); only the
//! slice's table — trace, drop, free, made once per element type — reads the length before the
//! header, which it may: the header pointers it is given carry the provenance of the whole
//! allocation. Slice objects come from the global allocator, never from the pool: the pool
//! (and a teardown's batched frees) take an object's header for the start of its block.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::handle::Gc;
use crate::header::{GcBox, Header, VTable};
use crate::heap::{Heap, HeapInner};
use crate::trace::{Trace, Tracer};

/// Where the parts of a slice object of `len` elements lie.
struct SliceLayout {
    /// The whole allocation.
    whole: Layout,
    /// The header's offset from the start (the length is at the start).
    header: usize,
    /// The elements' offset from the header.
    values: usize,
}

impl SliceLayout {
    /// The layout of `len` values of `T`; `GcBox<[T]>`'s, with the length in front.
    fn of<T>(len: usize) -> SliceLayout {
        fn too_large(len: usize) -> ! {
            panic!("gc-core: a slice of {len} elements is too large")
        }
        let array = Layout::array::<T>(len).unwrap_or_else(|_| too_large(len));
        let (boxed, values) = Layout::new::<Header>()
            .extend(array)
            .unwrap_or_else(|_| too_large(len));
        let (whole, header) = Layout::new::<usize>()
            .extend(boxed.pad_to_align())
            .unwrap_or_else(|_| too_large(len));
        SliceLayout {
            whole: whole.pad_to_align(),
            header,
            values,
        }
    }
}

/// The table of slices of `T`.
fn table<T: Trace + 'static>() -> &'static VTable {
    struct Of<T>(core::marker::PhantomData<T>);
    impl<T: Trace + 'static> Of<T> {
        const TABLE: VTable = VTable {
            trace: trace_slice::<T>,
            drop_value: drop_slice::<T>,
            dealloc: dealloc_slice::<T>,
            finalize: None,
            type_name: core::any::type_name::<[T]>,
            type_id: core::any::TypeId::of::<[T]>,
        };
    }
    &Of::<T>::TABLE
}

/// The elements of a slice object, and where its allocation starts.
///
/// # Safety
/// `header` heads a slice object of `T`s made by [`allocate`], with the provenance of its
/// whole allocation.
unsafe fn parts<T>(header: *const Header) -> (*mut [T], *mut u8) {
    let offsets = SliceLayout::of::<T>(0);
    // SAFETY: per the contract, the allocation starts `offsets.header` bytes before the header
    // (the offsets do not depend on the length) and begins with the length.
    unsafe {
        let start = header.cast_mut().cast::<u8>().sub(offsets.header);
        let len = start.cast::<usize>().read();
        let values = header
            .cast_mut()
            .cast::<u8>()
            .add(offsets.values)
            .cast::<T>();
        (core::ptr::slice_from_raw_parts_mut(values, len), start)
    }
}

/// # Safety
/// As for [`parts`], and the values are alive.
unsafe fn trace_slice<T: Trace>(header: *const Header, tracer: &mut Tracer<'_>) {
    if T::TRACKED || tracer.wants_untracked() {
        // SAFETY: per the contract; the values are read, never written.
        let values: &[T] = unsafe { &*parts::<T>(header).0 };
        T::trace_slice(values, tracer);
    }
}

/// # Safety
/// As for [`parts`]; nobody else can reach the values; they are dropped once.
unsafe fn drop_slice<T>(header: *const Header) {
    // SAFETY: per the contract.
    unsafe { core::ptr::drop_in_place(parts::<T>(header).0) };
}

/// # Safety
/// As for [`parts`]; the values are dropped (or moved out) and no handle references the
/// object any more.
unsafe fn dealloc_slice<T>(header: *const Header) {
    // SAFETY: per the contract.
    let (values, start) = unsafe { parts::<T>(header) };
    let layout = SliceLayout::of::<T>(values.len()).whole;
    // SAFETY: allocated in `allocate` with this layout, outside the pool; not used after.
    unsafe { crate::alloc::deallocate(NonNull::new_unchecked(start), layout, false) };
}

/// Allocates a slice object holding `values`, its header `header` (whose table must be the
/// one of slices of `T`), with one strong and one weak reference.
fn allocate<T>(header: Header, mut values: Vec<T>) -> NonNull<GcBox<[T]>> {
    let len = values.len();
    let layout = SliceLayout::of::<T>(len);
    // SAFETY: the layout is not zero-sized (it holds a header).
    let (start, _) = unsafe { crate::alloc::allocate(layout.whole, false) };
    // SAFETY: the allocation has room for the length at its start, the header at
    // `layout.header` and `len` values after it, each place aligned (`Layout::extend`). The
    // values are moved: the vector forgets them before it frees its buffer.
    unsafe {
        start.cast::<usize>().write(len);
        let header_at = start.add(layout.header).cast::<Header>();
        header_at.write(header);
        let at = header_at.cast::<u8>().add(layout.values).cast::<T>();
        core::ptr::copy_nonoverlapping(values.as_ptr(), at.as_ptr(), len);
        values.set_len(0);
        wide(header_at, len)
    }
}

/// The handle's pointer to the slice object headed by `header`.
fn wide<T>(header: NonNull<Header>, len: usize) -> NonNull<GcBox<[T]>> {
    let slice = NonNull::slice_from_raw_parts(header.cast::<T>(), len);
    // SAFETY: a cast keeps the address (not null) and the length, which becomes the length of
    // the box's value: `GcBox<[T]>` ends with the slice.
    unsafe { NonNull::new_unchecked(slice.as_ptr() as *mut GcBox<[T]>) }
}

/// A slice object on no heap's lists, for values that cannot hold handles.
fn unlisted<T: Trace + 'static>(values: Vec<T>) -> Gc<[T]> {
    let header = Header::new(table::<T>(), 0, core::ptr::null());
    // SAFETY: a fresh object owns one strong reference; its value is a `[T]`.
    unsafe { Gc::from_box(allocate(header, values)) }
}

/// [`unlisted`], refusing at compile time values that can hold handles.
fn untracked<T: Trace + 'static>(values: Vec<T>) -> Gc<[T]> {
    const {
        assert!(
            !T::TRACKED,
            "a slice of values that can hold handles needs a heap: use Heap::alloc_slice"
        )
    };
    unlisted(values)
}

impl HeapInner {
    /// [`Heap::alloc_slice`].
    pub(crate) fn alloc_slice<T: Trace + Send + 'static>(&self, values: Vec<T>) -> Gc<[T]> {
        if !T::TRACKED {
            return unlisted(values);
        }
        let len = values.len();
        let bytes = SliceLayout::of::<T>(len).whole.size();
        let object = self.list_new(bytes, |listing| {
            allocate(Header::new(table::<T>(), listing, self), values).cast()
        });
        // SAFETY: the object just listed owns one strong reference; its value is a `[T]` of
        // `len` elements.
        unsafe { Gc::from_box(wide(object, len)) }
    }
}

impl Heap {
    /// Allocates `values` as one slice object on this heap (as `Arc<[T]>::from`). Slices of
    /// values that can hold handles are tracked, and traced element by element (a slice of
    /// handles is read in place, as a `Vec<Gc<T>>` is), so they can be part of a collected
    /// cycle; others need no heap: `Gc::<[T]>::from(vec)`.
    ///
    /// ```
    /// use gc_core::{Gc, GcCell, Heap, Trace};
    ///
    /// #[derive(Trace)]
    /// struct Node {
    ///     edges: GcCell<Option<Gc<[Gc<Node>]>>>,
    /// }
    ///
    /// let heap = Heap::new();
    /// let a = heap.alloc(Node { edges: GcCell::new(None) });
    /// let b = heap.alloc(Node { edges: GcCell::new(None) });
    /// let edges: Gc<[Gc<Node>]> = heap.alloc_slice(vec![a.clone(), b.clone()]);
    /// assert_eq!(edges.len(), 2);
    /// *a.edges.borrow_mut() = Some(edges.clone()); // a -> [a, b]
    /// *b.edges.borrow_mut() = Some(edges);         // b -> [a, b]
    /// drop((a, b));
    /// assert_eq!(heap.collect(), 3, "the nodes and the slice");
    /// ```
    pub fn alloc_slice<T: Trace + Send + 'static>(&self, values: Vec<T>) -> Gc<[T]> {
        self.inner.alloc_slice(values)
    }

    /// Allocates the values of an iterator as one slice object ([`Heap::alloc_slice`]).
    ///
    /// ```
    /// let heap = gc_core::Heap::new();
    /// let squares = heap.alloc_from_iter((1..=4).map(|i| i * i));
    /// assert_eq!(&*squares, &[1, 4, 9, 16]);
    /// ```
    pub fn alloc_from_iter<T, I>(&self, values: I) -> Gc<[T]>
    where
        T: Trace + Send + 'static,
        I: IntoIterator<Item = T>,
    {
        self.alloc_slice(values.into_iter().collect())
    }
}

impl<T: Trace + Send + 'static> From<Vec<T>> for Gc<[T]> {
    /// A slice object of values that cannot hold handles (`Trace::TRACKED` is false): such an
    /// object is never listed, so it needs no heap. Any other element type is a compile-time
    /// error, pointing at [`Heap::alloc_slice`].
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let primes: Gc<[u32]> = Gc::from(vec![2, 3, 5]);
    /// let copy = primes.clone();
    /// assert_eq!(&*copy, &[2, 3, 5]);
    /// ```
    ///
    /// ```compile_fail
    /// use gc_core::{Gc, Heap};
    ///
    /// let heap = Heap::new();
    /// let edges: Gc<[Gc<Vec<Gc<u8>>>]> = Gc::from(vec![heap.alloc(Vec::new())]);
    /// ```
    fn from(values: Vec<T>) -> Self {
        untracked(values)
    }
}

impl<T: Trace + Send + 'static> FromIterator<T> for Gc<[T]> {
    /// Collects into a slice object of values that cannot hold handles, as `From<Vec<T>>`.
    ///
    /// ```
    /// use gc_core::Gc;
    ///
    /// let words: Gc<[String]> = "a b c".split(' ').map(String::from).collect();
    /// assert_eq!(words.join("-"), "a-b-c");
    /// ```
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> Self {
        untracked(values.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use crate::test_support::quiet_heap;
    use crate::{Gc, GcCell, Trace};

    #[derive(Trace)]
    struct Node {
        edges: GcCell<Option<Gc<[Gc<Node>]>>>,
        #[gc(skip)]
        drops: Arc<AtomicUsize>,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Counts its drops; over-aligned, so the header sits further in.
    #[derive(Trace)]
    #[repr(align(32))]
    struct Wide(#[gc(skip)] Arc<AtomicUsize>, u8);

    impl Drop for Wide {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_slice_of_edges_is_traced_and_collected_in_a_cycle() {
        let heap = quiet_heap();
        let drops = Arc::new(AtomicUsize::new(0));
        let nodes: Vec<Gc<Node>> = (0..3)
            .map(|_| {
                heap.alloc(Node {
                    edges: GcCell::new(None),
                    drops: drops.clone(),
                })
            })
            .collect();
        let edges = heap.alloc_from_iter(nodes.iter().cloned());
        assert!(Gc::is_tracked(&edges));
        assert_eq!(crate::trace::edges(&edges).len(), 1);
        let ids: Vec<usize> = nodes.iter().map(Gc::id).collect();
        let referents: Vec<usize> = heap
            .referents(&crate::GcAny::from(&edges))
            .iter()
            .map(crate::GcAny::id)
            .collect();
        assert_eq!(referents, ids);
        for node in &nodes {
            node.edges.set(Some(edges.clone()));
        }
        drop((nodes, edges));
        assert_eq!(heap.collect(), 4);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn untracked_and_over_aligned_slices_drop_their_values_and_free() {
        let drops = Arc::new(AtomicUsize::new(0));
        let values: Gc<[Wide]> = (0..5).map(|i| Wide(drops.clone(), i)).collect();
        assert_eq!(values.len(), 5);
        assert_eq!(values[4].1, 4);
        assert_eq!(core::ptr::from_ref(&values[0]).align_offset(32), 0);
        assert!(!Gc::is_tracked(&values));
        let weak = Gc::downgrade(&values);
        let other = values.clone();
        drop(values);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(other);
        assert_eq!(drops.load(Ordering::SeqCst), 5);
        assert!(weak.upgrade().is_none());
        drop(weak);
        let empty: Gc<[u64]> = Gc::from(Vec::new());
        assert!(empty.is_empty());
        let units: Gc<[()]> = Gc::from(vec![(); 3]);
        assert_eq!(units.len(), 3);
    }

    #[test]
    fn a_tracked_slice_dies_by_count_and_from_another_thread() {
        let heap = quiet_heap();
        let drops = Arc::new(AtomicUsize::new(0));
        let node = heap.alloc(Node {
            edges: GcCell::new(None),
            drops: drops.clone(),
        });
        let edges = heap.alloc_slice(vec![node.clone(), node]);
        assert_eq!(heap.objects(None).unwrap().len(), 2);
        std::thread::spawn(move || drop(edges)).join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(heap.objects(None).unwrap().is_empty());
    }
}
