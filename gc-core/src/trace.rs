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
pub unsafe trait Trace: Sized {
    /// `false` when the type can never hold a `Gc` (an atomic, untracked type).
    const TRACKED: bool = true;
    /// The finalizer (CPython `__del__`), if any: `#[gc(finalize)]` on the derive sets it to
    /// [`Finalize::finalize`](crate::Finalize::finalize).
    const FINALIZER: Option<fn(&Gc<Self>)> = None;
    /// Reports the value's direct edges by calling `Trace::trace` on each field.
    fn trace(&self, tracer: &mut Tracer<'_>);
}

/// Records the edges an object reports. Handed to [`Trace::trace`].
pub struct Tracer<'a> {
    pub(crate) edges: &'a mut Vec<NonNull<Header>>,
    /// Record edges to untracked objects too (for `referents`); the collector skips them.
    pub(crate) all: bool,
    /// The world is stopped: cells are read without taking their borrow.
    pub(crate) stopped: bool,
    /// A cell could not be read; the object must be treated as reachable.
    pub(crate) blocked: bool,
    /// Ids of weak-callback registrations found inside the object, when asked for.
    pub(crate) weak_callbacks: Option<&'a mut Vec<u64>>,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(edges: &'a mut Vec<NonNull<Header>>, stopped: bool) -> Self {
        Tracer {
            edges,
            all: false,
            stopped,
            blocked: false,
            weak_callbacks: None,
        }
    }

    #[inline]
    pub(crate) fn edge<T: Trace>(&mut self, gc: &Gc<T>) {
        self.edges.push(gc.header_ptr());
    }

    /// The value holds data the tracer cannot read now (a cell borrowed for writing); the
    /// collector keeps the object and everything it reaches.
    pub fn mark_blocked(&mut self) {
        self.blocked = true;
    }

    pub(crate) fn weak_callback(&mut self, id: u64) {
        if let Some(ids) = self.weak_callbacks.as_deref_mut() {
            ids.push(id);
        }
    }
}

/// The [`Gc::id`]s of every edge `value` reports, in trace order — a way to check a `Trace`
/// implementation.
pub fn edges<T: Trace>(value: &T) -> Vec<usize> {
    let mut out = Vec::new();
    let mut tracer = Tracer::new(&mut out, false);
    tracer.all = true;
    value.trace(&mut tracer);
    out.into_iter().map(|p| p.as_ptr() as usize).collect()
}

// SAFETY: a handle owns exactly one edge, which it reports once. It is always tracked:
// `T::TRACKED` here would make every recursive type's `TRACKED` depend on itself.
unsafe impl<T: Trace> Trace for Gc<T> {
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        tracer.edge(self);
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

// SAFETY: an array owns each element once.
unsafe impl<T: Trace, const N: usize> Trace for [T; N] {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.all {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

// SAFETY: a boxed slice owns each element once.
unsafe impl<T: Trace> Trace for Box<[T]> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.all {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

macro_rules! sequence {
    ($($ty:ident),*) => {$(
        // SAFETY: the collection owns each element once.
        unsafe impl<T: Trace> Trace for $ty<T> {
            const TRACKED: bool = T::TRACKED;
            fn trace(&self, tracer: &mut Tracer<'_>) {
                if T::TRACKED || tracer.all {
                    self.iter().for_each(|v| v.trace(tracer));
                }
            }
        }
    )*};
}

sequence!(Vec, VecDeque, LinkedList, BTreeSet);

// SAFETY: the set owns each element once.
unsafe impl<T: Trace, S> Trace for HashSet<T, S> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.all {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

// SAFETY: the heap owns each element once.
unsafe impl<T: Trace + Ord> Trace for BinaryHeap<T> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if T::TRACKED || tracer.all {
            self.iter().for_each(|v| v.trace(tracer));
        }
    }
}

// SAFETY: the map owns each key and value once.
unsafe impl<K: Trace, V: Trace, S> Trace for HashMap<K, V, S> {
    const TRACKED: bool = K::TRACKED || V::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if Self::TRACKED || tracer.all {
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
        if Self::TRACKED || tracer.all {
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
