//! [`WeakFinalizer`]: CPython's `weakref.finalize`.

use core::fmt;
use std::sync::Arc;

use crate::handle::Gc;
use crate::sync::Mutex;
use crate::weak::Weak;

/// The callback of a [`WeakFinalizer`], as [`WeakFinalizer::detach`] hands it back.
pub type FinalizerCallback = Box<dyn FnOnce() + Send>;

/// A callback run once when an object dies (CPython's `weakref.finalize`), by reference count or
/// in a collection, unless it has been run by hand ([`call`](WeakFinalizer::call)) or
/// cancelled ([`detach`](WeakFinalizer::detach)) first.
///
/// Unlike a weak callback, it does not depend on its handle: dropping the `WeakFinalizer` leaves
/// the callback armed (CPython's registry of finalizers keeps them alive the same way), so
/// `WeakFinalizer::new(&object, cleanup);` on its own is enough. The callback does not receive
/// the object — it is dead by then — so it should capture what it cleans up, never a strong
/// handle to the object itself, which would keep it alive for good. It runs where a weak
/// callback runs: on the thread that dropped the last handle, or on the collecting thread once
/// the world has restarted; a panic there is reported and ignored.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use gc_core::Heap;
/// use gc_core::weak_collections::WeakFinalizer;
///
/// let heap = Heap::new();
/// let closed = Arc::new(AtomicBool::new(false));
/// let file = heap.alloc(String::from("/tmp/report"));
/// let flag = closed.clone();
/// let finalizer = WeakFinalizer::new(&file, move || flag.store(true, Ordering::SeqCst));
/// assert!(finalizer.alive());
/// drop(file);
/// assert!(closed.load(Ordering::SeqCst));
/// assert!(!finalizer.alive());
/// assert!(!finalizer.call(), "runs at most once");
/// ```
pub struct WeakFinalizer<T: ?Sized> {
    state: Arc<State<T>>,
}

/// Shared by the handle and the weak callback, which owns it while it is armed: the armed
/// state holds the weak handle whose callback holds the state, a cycle broken when the callback
/// runs or is taken out.
struct State<T: ?Sized> {
    armed: Mutex<Option<Armed<T>>>,
}

struct Armed<T: ?Sized> {
    /// Its callback runs the finalizer; dropping it cancels that.
    weak: Weak<T>,
    callback: FinalizerCallback,
}

impl<T: ?Sized> State<T> {
    /// Takes the armed callback out, if still there: whoever gets it runs or returns it.
    fn disarm(&self) -> Option<Armed<T>> {
        self.armed.lock().take()
    }
}

impl<T: ?Sized + Send + Sync + 'static> WeakFinalizer<T> {
    /// Arms `callback` to run once when `object` dies.
    pub fn new(object: &Gc<T>, callback: impl FnOnce() + Send + 'static) -> Self {
        let state = Arc::new(State {
            armed: Mutex::new(None),
        });
        let on_death = state.clone();
        let weak = Gc::downgrade_with_callback(object, move |_| {
            if let Some(armed) = on_death.disarm() {
                drop(armed.weak);
                (armed.callback)();
            }
        });
        *state.armed.lock() = Some(Armed {
            weak,
            callback: Box::new(callback),
        });
        WeakFinalizer { state }
    }
}

impl<T: ?Sized> WeakFinalizer<T> {
    /// True until the callback has run or been detached (CPython's `alive`).
    pub fn alive(&self) -> bool {
        self.state.armed.lock().is_some()
    }

    /// Runs the callback now, if it is still armed, and disarms it: false if it had run or
    /// been detached already (CPython's `finalizer()`). The object is not touched.
    pub fn call(&self) -> bool {
        match self.state.disarm() {
            Some(armed) => {
                drop(armed.weak);
                (armed.callback)();
                true
            }
            None => false,
        }
    }

    /// Cancels the callback and hands it back with the object, if the object is alive and the
    /// callback still armed (CPython's `detach()`); otherwise `None`, and nothing changes — a
    /// callback of an object that has just died still runs.
    ///
    /// ```
    /// use gc_core::Heap;
    /// use gc_core::weak_collections::WeakFinalizer;
    ///
    /// let heap = Heap::new();
    /// let object = heap.alloc(3);
    /// let finalizer = WeakFinalizer::new(&object, || unreachable!("detached"));
    /// let (again, _callback) = finalizer.detach().unwrap();
    /// assert_eq!(*again, 3);
    /// assert!(!finalizer.alive());
    /// drop((object, again));
    /// ```
    pub fn detach(&self) -> Option<(Gc<T>, FinalizerCallback)> {
        let object = self.peek()?;
        let armed = self.state.disarm()?;
        drop(armed.weak);
        Some((object, armed.callback))
    }

    /// The object, if it is alive and the callback still armed (CPython's `peek()`, without
    /// the callback).
    pub fn peek(&self) -> Option<Gc<T>> {
        // The weak handle is copied under the lock and upgraded after it: an upgrade may wait
        // for a collection, and an attached thread must never wait for this lock while it does.
        let weak = self.state.armed.lock().as_ref()?.weak.clone();
        weak.upgrade()
    }
}

impl<T: ?Sized> fmt::Debug for WeakFinalizer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakFinalizer")
            .field("alive", &self.alive())
            .finish()
    }
}
