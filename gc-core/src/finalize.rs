//! Finalizers: CPython's `__del__` with PEP 442 semantics.
//!
//! A finalizer runs at most once per object (`FINALIZED` in the header), while the object and —
//! for a garbage cycle — every other member of the cycle are still intact. It receives a strong
//! handle, so it may *resurrect* the object by storing a clone somewhere reachable; the object
//! then lives on and its finalizer never runs again. A panicking finalizer is reported on stderr
//! and otherwise ignored, as CPython ignores exceptions raised in `__del__`.

use core::ptr::NonNull;
use std::any::Any;

use crate::handle::Gc;
use crate::header::{flag, Header};
use crate::trace::Trace;

/// A finalizer, CPython's `__del__`. Wire it to the type with `#[gc(finalize)]` on
/// `#[derive(Trace)]` (or `const FINALIZER` in a hand-written `Trace`).
///
/// ```
/// use gc_core::{Finalize, Gc, Heap, Trace};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static DIED: AtomicUsize = AtomicUsize::new(0);
///
/// #[derive(Trace)]
/// #[gc(finalize)]
/// struct Noisy(u32);
///
/// impl Finalize for Noisy {
///     fn finalize(this: &Gc<Self>) {
///         DIED.fetch_add(this.0 as usize, Ordering::SeqCst);
///     }
/// }
///
/// let heap = Heap::new();
/// drop(heap.alloc(Noisy(7)));
/// assert_eq!(DIED.load(Ordering::SeqCst), 7);
/// ```
pub trait Finalize: Trace {
    /// Runs once, before the object is destroyed. Cloning `this` into a reachable place
    /// resurrects the object.
    fn finalize(this: &Gc<Self>);
}

/// The finalizer entry of a type's vtable.
///
/// # Safety
/// `header` must belong to a live `GcBox<T>` whose strong count includes a reference owned by
/// the caller for the duration of the call.
pub(crate) unsafe fn finalize_erased<T: Trace>(header: *const Header) {
    if let Some(finalizer) = T::FINALIZER {
        // SAFETY: the caller owns a strong reference for the call; `ManuallyDrop` keeps this
        // borrowed handle from giving it up.
        let this = core::mem::ManuallyDrop::new(unsafe {
            Gc::<T>::from_owned(NonNull::new_unchecked(header.cast_mut()))
        });
        finalizer(&this);
    }
}

/// Marks the object finalized and runs its finalizer, reporting a panic instead of unwinding.
/// The caller owns a strong reference for the duration.
///
/// # Safety
/// As for [`finalize_erased`], with the object's finalizer not yet run. `object` must carry
/// the provenance of the whole allocation (not one derived from a `&Header`).
pub(crate) unsafe fn run(object: NonNull<Header>) {
    // SAFETY: the caller's strong reference keeps the object alive.
    let header = unsafe { object.as_ref() };
    header.set(flag::FINALIZED);
    if let Some(finalize) = header.vtable.finalize {
        let result = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
            // SAFETY: forwarded from the caller.
            unsafe { finalize(object.as_ptr()) }
        }));
        if let Err(payload) = result {
            report_panic("finalizer", header.type_name(), &*payload);
        }
    }
}

/// Prints a panic that gc-core caught in user code, as CPython prints "Exception ignored in".
pub(crate) fn report_panic(what: &str, type_name: &str, payload: &(dyn Any + Send)) {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string());
    eprintln!("gc-core: panic ignored in {what} of {type_name}: {message}");
}
