//! `Trace`: how an object reports the `Gc` edges it owns (CPython's `tp_traverse`).
//!
//! The collector never recurses through the object graph: `trace` reports an object's *direct*
//! edges into a [`Tracer`], which only records them; each collector phase then walks the
//! recorded edges with an explicit work list. Deep structures therefore trace in constant stack.
//!
//! Types that can never hold a `Gc` say so with `TRACKED = false`: their objects are *untracked*
//! (CPython's atomic objects), never listed in a generation and never scanned. The derive
//! computes `TRACKED` from the field types; any field holding a `Gc` makes a type tracked.

use core::ptr::NonNull;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};

use crate::handle::Gc;
use crate::header::Header;

/// Reports every `Gc` edge a value owns.
///
/// Implement it with `#[derive(Trace)]`. By hand, call `Trace::trace` on every field that may
/// hold a handle, and set `TRACKED = false` only if the type can never hold one.
///
/// # Safety
///
/// `trace` must report each edge the value *owns* at most once, and never a handle the value
/// does not own (one shared through an `Rc`/`Arc`, a global, another object's field). Reporting
/// too few edges is safe — the objects behind a missed edge look externally referenced and are
/// kept (a leak). Reporting too many makes the collector believe references are internal when
/// they are not, and it could then free a live object. `TRACKED = false` on a type that does hold
/// handles is likewise only a leak.
///
/// `trace` runs while the world is stopped, possibly on another thread than the owner's: it must
/// not clone, drop or allocate handles, borrow gc cells other than through their `Trace` impls,
/// or call into the heap. Doing so panics with a clear message rather than deadlocking.
///
/// The edges reported must stay as they are until the world restarts: handles that change are
/// held in gc cells ([`GcCell`](crate::GcCell)), whose writers wait for the world, never behind
/// other interior mutability. The collector reads a reported slice of handles (a
/// `Vec<Gc<T>>`'s buffer) in place after `trace` has returned.
pub unsafe trait Trace: Sized {
    /// `false` when the type can never hold a `Gc` (an atomic, untracked type).
    const TRACKED: bool = true;
    /// The finalizer (CPython `__del__`), if any: `#[gc(finalize)]` on the derive sets it to
    /// [`Finalize::finalize`](crate::Finalize::finalize).
    const FINALIZER: Option<fn(&Gc<Self>)> = None;
    /// Reports the value's direct edges by calling `Trace::trace` on each field.
    fn trace(&self, tracer: &mut Tracer<'_>);

    /// Reports the edges of a slice of values, what `Vec<Self>`, `[Self; N]` and `Box<[Self]>`
    /// report: each value's in turn. A slice of handles overrides it to report the handles as
    /// they lie, one run, which the collector may read in place instead of copying. An
    /// override must report exactly the edges of the values' `trace`.
    #[doc(hidden)]
    #[inline]
    fn trace_slice(values: &[Self], tracer: &mut Tracer<'_>) {
        for value in values {
            value.trace(tracer);
        }
    }
}

/// Records the edges an object reports. Handed to [`Trace::trace`].
///
/// gc-core makes tracers for three purposes — the collector's scan, finding the weak handles
/// inside the garbage, and `Heap::referents` — each with its own constructor, so that only the
/// legal combinations of what a tracer does exist.
pub struct Tracer<'a> {
    /// The edges reported, copied, unless they are one run left in place.
    edges: &'a mut Vec<NonNull<Header>>,
    /// The object's edges when they are one slice of handles reported as it lies in the value
    /// (only while collecting, and only while `edges` is empty).
    run: Option<InPlace>,
    mode: Mode<'a>,
    /// A cell could not be read; the object must be treated as reachable.
    blocked: bool,
}

/// What a [`Tracer`] is for, set by its constructor:
///
/// | made with | the world | reports | slices of handles |
/// |---|---|---|---|
/// | [`Tracer::collecting`] | stopped | tracked edges | left in place |
/// | [`Tracer::weak_callbacks`] | stopped | weak handles with callbacks too | copied |
/// | [`Tracer::referents`] | running | every edge, untracked ones too | copied |
enum Mode<'a> {
    /// The collector's scan: the world is stopped, cells are read without their borrow,
    /// untracked containers are skipped, slices of handles are left in place.
    Collecting,
    /// The registrations of weak handles with callbacks inside the garbage (target, id), with
    /// the world stopped; untracked containers are looked into, for the weak handles.
    WeakCallbacks(&'a mut Vec<(NonNull<Header>, u64)>),
    /// `referents`: every edge, untracked ones included, the world running (cells borrowed).
    Referents,
}

impl<'a> Tracer<'a> {
    fn with(edges: &'a mut Vec<NonNull<Header>>, mode: Mode<'a>) -> Self {
        Tracer {
            edges,
            run: None,
            mode,
            blocked: false,
        }
    }

    /// A tracer for the collector's scan, which leaves an object's edges where they lie when
    /// they are one slice of handles ([`Tracer::traced`], [`Tracer::take_traced`]).
    ///
    /// # Safety
    /// The world is stopped, and stays stopped as long as any edges this tracer records are
    /// used: its [`traced`](Tracer::traced) ones and every [`MemberEdges`] taken from it. Until
    /// then nothing can change or free a member's value (the [`Trace`] contract).
    pub(crate) unsafe fn collecting(edges: &'a mut Vec<NonNull<Header>>) -> Self {
        Tracer::with(edges, Mode::Collecting)
    }

    /// A tracer that finds the weak handles with callbacks inside an object, into `found`.
    ///
    /// # Safety
    /// The world is stopped while it is used: cells are read without their borrow.
    pub(crate) unsafe fn weak_callbacks(
        edges: &'a mut Vec<NonNull<Header>>,
        found: &'a mut Vec<(NonNull<Header>, u64)>,
    ) -> Self {
        Tracer::with(edges, Mode::WeakCallbacks(found))
    }

    /// A tracer for `referents`: every edge, with the world running.
    pub(crate) fn referents(edges: &'a mut Vec<NonNull<Header>>) -> Self {
        Tracer::with(edges, Mode::Referents)
    }

    /// The world is stopped: a cell not borrowed for writing may be read without its borrow.
    #[inline]
    pub(crate) fn world_stopped(&self) -> bool {
        !matches!(self.mode, Mode::Referents)
    }

    /// Edges to untracked objects are wanted too (the collector's scan skips them).
    #[inline]
    pub(crate) fn wants_untracked(&self) -> bool {
        !matches!(self.mode, Mode::Collecting)
    }

    /// A cell could not be read: the object must be treated as reachable.
    #[inline]
    pub(crate) fn blocked(&self) -> bool {
        self.blocked
    }

    #[inline]
    pub(crate) fn edge<T: ?Sized>(&mut self, gc: &Gc<T>) {
        if self.run.is_some() {
            self.copy_run();
        }
        self.edges.push(gc.header_ptr());
    }

    /// Records a slice of handles: left in place if they are the object's first edges and the
    /// tracer allows it, else copied; an empty one is skipped. Wide handles (to slices or
    /// trait objects) do not read as header pointers: they are recorded one by one.
    #[inline]
    fn edges_of<T: ?Sized>(&mut self, handles: &[Gc<T>]) {
        if handles.is_empty() {
            return;
        }
        let Some(headers) = Gc::headers(handles) else {
            handles.iter().for_each(|gc| self.edge(gc));
            return;
        };
        let in_place = matches!(self.mode, Mode::Collecting);
        if in_place && self.run.is_none() && self.edges.is_empty() {
            self.run = Some(InPlace(NonNull::from(headers)));
            return;
        }
        if self.run.is_some() {
            self.copy_run();
        }
        self.edges.extend_from_slice(headers);
    }

    /// The object reports more edges after a run left in place: the run is copied first, so
    /// `edges` holds them all in order.
    #[cold]
    fn copy_run(&mut self) {
        if let Some(run) = self.run.take() {
            // SAFETY: the run was recorded by this tracer, made with `collecting`.
            self.edges.extend_from_slice(unsafe { run.edges() });
        }
    }

    /// Empties the tracer for the next object.
    #[inline]
    pub(crate) fn clear(&mut self) {
        self.edges.clear();
        self.run = None;
        self.blocked = false;
    }

    /// The edges recorded since the last [`clear`](Tracer::clear), in the order reported.
    #[inline]
    pub(crate) fn traced(&self) -> &[NonNull<Header>] {
        match self.run {
            // SAFETY: a run is recorded only by a tracer made with `collecting`, whose caller
            // keeps the world stopped while its edges are used.
            Some(run) => unsafe { run.edges() },
            None => self.edges,
        }
    }

    /// Takes the edges recorded since the last [`clear`](Tracer::clear) out of the tracer (its
    /// buffer with them, if they were copied).
    pub(crate) fn take_traced(&mut self) -> MemberEdges {
        match self.run.take() {
            Some(run) => MemberEdges::InPlace(run),
            None => MemberEdges::Buffer(core::mem::take(self.edges)),
        }
    }

    /// The value holds data the tracer cannot read now (a cell borrowed for writing); the
    /// collector keeps the object and everything it reaches.
    pub fn mark_blocked(&mut self) {
        self.blocked = true;
    }

    /// A weak handle to `target` with callback registration `id` is inside the object.
    pub(crate) fn weak_callback(&mut self, target: NonNull<Header>, id: u64) {
        if let Mode::WeakCallbacks(found) = &mut self.mode {
            found.push((target, id));
        }
    }
}

/// A slice of handles left where it lies in an object's value, as header pointers.
#[derive(Clone, Copy)]
pub(crate) struct InPlace(NonNull<[NonNull<Header>]>);

impl InPlace {
    /// # Safety
    /// Recorded by a tracer made with [`Tracer::collecting`], while its world is still stopped:
    /// the value it lies in is unchanged.
    unsafe fn edges<'e>(self) -> &'e [NonNull<Header>] {
        // SAFETY: it was a live slice of header pointers, unchanged since (per the contract).
        unsafe { self.0.as_ref() }
    }
}

/// The edges of one object, taken out of a tracer: its buffer, or a run left in place.
pub(crate) enum MemberEdges {
    Buffer(Vec<NonNull<Header>>),
    InPlace(InPlace),
}

impl MemberEdges {
    #[inline]
    pub(crate) fn edges(&self) -> &[NonNull<Header>] {
        match self {
            MemberEdges::Buffer(edges) => edges,
            // SAFETY: taken from a tracer made with `collecting`, whose caller keeps the world
            // stopped while these edges are used.
            MemberEdges::InPlace(run) => unsafe { run.edges() },
        }
    }
}

/// The [`Gc::id`]s of every edge `value` reports, in trace order — a way to check a `Trace`
/// implementation.
pub fn edges<T: Trace>(value: &T) -> Vec<usize> {
    let mut out = Vec::new();
    let mut tracer = Tracer::referents(&mut out);
    value.trace(&mut tracer);
    out.into_iter().map(|p| p.as_ptr() as usize).collect()
}

// SAFETY: a handle owns exactly one edge, which it reports once. It is always tracked:
// `T::TRACKED` here would make every recursive type's `TRACKED` depend on itself, and a
// `Gc<dyn Trait>` has none to ask. Its target is traced through its own header, whatever `T`.
unsafe impl<T: ?Sized> Trace for Gc<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.edge(self);
    }

    #[inline]
    fn trace_slice(handles: &[Self], tracer: &mut Tracer<'_>) {
        tracer.edges_of(handles);
    }
}

macro_rules! atomic {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: holds no handles.
        unsafe impl Trace for $t {
            const TRACKED: bool = false;
            #[inline]
            fn trace(&self, _: &mut Tracer<'_>) {}
        }
    )*};
}

atomic!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    Box<str>,
    std::ffi::CString,
    std::ffi::OsString,
    std::path::PathBuf,
    std::time::Duration,
    std::time::Instant,
    core::num::NonZeroU32,
    core::num::NonZeroU64,
    core::num::NonZeroUsize,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicU32,
    std::sync::atomic::AtomicU64,
    std::sync::atomic::AtomicUsize,
    std::sync::atomic::AtomicI32,
    std::sync::atomic::AtomicI64,
    std::sync::atomic::AtomicIsize,
);

// SAFETY: shared ownership could report one handle through several owners, so an `Arc` reports
// nothing and is untracked: cycles through it leak, never break.
unsafe impl<T: ?Sized> Trace for std::sync::Arc<T> {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: `PhantomData` owns nothing.
unsafe impl<T: ?Sized> Trace for core::marker::PhantomData<T> {
    const TRACKED: bool = false;
    fn trace(&self, _: &mut Tracer<'_>) {}
}

// SAFETY: a box owns its content and reports what the content reports.
unsafe impl<T: Trace> Trace for Box<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        (**self).trace(tracer);
    }
}

// SAFETY: an option owns at most one value and reports it.
unsafe impl<T: Trace> Trace for Option<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if let Some(value) = self {
            value.trace(tracer);
        }
    }
}

// SAFETY: a result owns exactly one of its two values and reports it.
unsafe impl<T: Trace, E: Trace> Trace for Result<T, E> {
    const TRACKED: bool = T::TRACKED || E::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        match self {
            Ok(value) => value.trace(tracer),
            Err(error) => error.trace(tracer),
        }
    }
}

macro_rules! slice {
    ($(($($generics:tt)*) $ty:ty),* $(,)?) => {$(
        // SAFETY: the collection owns each element once, and reports the elements as a slice.
        unsafe impl<$($generics)*> Trace for $ty {
            const TRACKED: bool = T::TRACKED;
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if T::TRACKED || tracer.wants_untracked() {
                    T::trace_slice(self, tracer);
                }
            }
        }
    )*};
}

slice!((T: Trace, const N: usize) [T; N], (T: Trace) Box<[T]>, (T: Trace) Vec<T>);

// SAFETY: the deque owns each element once, and reports them as its two slices.
unsafe impl<T: Trace> Trace for VecDeque<T> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.wants_untracked() {
            let (front, back) = self.as_slices();
            T::trace_slice(front, tracer);
            T::trace_slice(back, tracer);
        }
    }
}

macro_rules! sequence {
    ($($ty:ident),*) => {$(
        // SAFETY: the collection owns each element once.
        unsafe impl<T: Trace> Trace for $ty<T> {
            const TRACKED: bool = T::TRACKED;
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if T::TRACKED || tracer.wants_untracked() {
                    self.iter().for_each(|v| v.trace(tracer));
                }
            }
        }
    )*};
}

sequence!(LinkedList, BTreeSet);

// SAFETY: the set owns each element once.
unsafe impl<T: Trace, S> Trace for HashSet<T, S> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.wants_untracked() {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

// SAFETY: the heap owns each element once.
unsafe impl<T: Trace + Ord> Trace for BinaryHeap<T> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.wants_untracked() {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

// SAFETY: the map owns each key and value once.
unsafe impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    const TRACKED: bool = K::TRACKED || V::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::TRACKED || tracer.wants_untracked() {
            for (k, v) in self {
                k.trace(tracer);
                v.trace(tracer);
            }
        }
    }
}

// SAFETY: the map owns each key and value once.
unsafe impl<K: Trace, V: Trace> Trace for BTreeMap<K, V> {
    const TRACKED: bool = K::TRACKED || V::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::TRACKED || tracer.wants_untracked() {
            for (k, v) in self {
                k.trace(tracer);
                v.trace(tracer);
            }
        }
    }
}

macro_rules! tuple {
    ($(($($name:ident $idx:tt),+))*) => {$(
        // SAFETY: a tuple owns each field once.
        unsafe impl<$($name: Trace),+> Trace for ($($name,)+) {
            const TRACKED: bool = false $(|| $name::TRACKED)+;
            #[inline]
            fn trace(&self, tracer: &mut Tracer<'_>) {
                $(self.$idx.trace(tracer);)+
            }
        }
    )*};
}

tuple! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::test_support::quiet_heap;

    #[derive(crate::Trace)]
    struct Leaf;

    #[derive(crate::Trace)]
    struct Mixed {
        first: Vec<Gc<Leaf>>,
        one: Gc<Leaf>,
        second: Box<[Gc<Leaf>]>,
    }

    #[derive(crate::Trace)]
    struct Two {
        first: Vec<Gc<Leaf>>,
        second: [Gc<Leaf>; 2],
    }

    /// Traces `value` with a tracer that leaves runs in place: its edges (as object ids), and
    /// whether they were left in place.
    fn traced<T: Trace>(value: &T) -> (Vec<usize>, bool) {
        let mut buffer = Vec::new();
        // SAFETY: nothing else runs in this test: the values stay as they are while their
        // edges are read, as the stopped world guarantees the collector.
        let mut tracer = unsafe { Tracer::collecting(&mut buffer) };
        tracer.clear();
        value.trace(&mut tracer);
        let edges = tracer.take_traced();
        let ids = edges.edges().iter().map(|e| e.as_ptr() as usize).collect();
        (ids, matches!(edges, MemberEdges::InPlace(_)))
    }

    #[test]
    fn a_slice_of_handles_is_read_where_it_lies_and_anything_more_is_copied_in_order() {
        let heap = quiet_heap();
        let leaves: Vec<Gc<Leaf>> = (0..6).map(|_| heap.alloc(Leaf)).collect();
        let ids: Vec<usize> = leaves.iter().map(Gc::id).collect();

        // One slice: the handles as they lie in the vector's buffer, nothing copied.
        assert_eq!(traced(&leaves), (ids.clone(), true));
        let mut buffer = Vec::new();
        // SAFETY: as in `traced`.
        let mut tracer = unsafe { Tracer::collecting(&mut buffer) };
        leaves.trace(&mut tracer);
        assert_eq!(tracer.traced().as_ptr().cast(), leaves.as_ptr());
        assert!(tracer.edges.is_empty());

        // A slice, then an edge, then a slice: all copied, in the order reported.
        let mixed = Mixed {
            first: leaves[..2].to_vec(),
            one: leaves[2].clone(),
            second: leaves[3..].to_vec().into_boxed_slice(),
        };
        assert_eq!(traced(&mixed), (ids.clone(), false));
        // Two slices: the first, left in place, is copied before the second.
        let two = Two {
            first: leaves[..4].to_vec(),
            second: [leaves[4].clone(), leaves[5].clone()],
        };
        assert_eq!(traced(&two), (ids.clone(), false));
        // A deque that wraps around reports two slices.
        let mut deque: VecDeque<Gc<Leaf>> = leaves[3..].iter().cloned().collect();
        for leaf in leaves[..3].iter().rev() {
            deque.push_front(leaf.clone());
        }
        assert_eq!(
            traced(&deque),
            (ids.clone(), deque.as_slices().1.is_empty())
        );
        // A tracer made for other uses always copies; an empty slice records nothing.
        assert_eq!(super::edges(&leaves), ids);
        assert_eq!(traced(&Vec::<Gc<Leaf>>::new()), (vec![], false));
        let empty_first = Two {
            first: Vec::new(),
            second: [leaves[0].clone(), leaves[1].clone()],
        };
        assert_eq!(traced(&empty_first), (ids[..2].to_vec(), true));
    }

    #[test]
    fn wide_handles_are_copied_one_by_one_never_read_in_place() {
        let heap = quiet_heap();
        let leaves: Vec<Gc<dyn Send + Sync>> = (0..3)
            .map(|_| crate::coerce_gc!(heap.alloc(Leaf), dyn Send + Sync))
            .collect();
        let slices: Vec<Gc<[u8]>> = vec![Gc::from(vec![1]), Gc::from(vec![2, 3])];
        const { assert!(!Gc::<dyn Send + Sync>::THIN && Gc::<Leaf>::THIN) };
        let ids: Vec<usize> = leaves.iter().map(Gc::id).collect();
        assert_eq!(traced(&leaves), (ids, false));
        let ids: Vec<usize> = slices.iter().map(Gc::id).collect();
        assert_eq!(super::edges(&slices), ids);
    }
}
