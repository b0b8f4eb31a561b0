//! Cells for mutable edges, taking part in the world-lock protocol.
//!
//! Moving a handle into or out of a cell changes no reference count, so a collector scanning
//! while a cell changes would miss the moved handle (race 2 of `docs/concurrency.md`). Every borrow therefore
//! holds the world for its whole life, and the collector reads a cell only while the world is
//! stopped. A cell borrowed for writing across a safepoint (or by the collecting thread itself)
//! cannot be read: the collector marks its object *blocked* and keeps it, and everything it
//! reaches, alive for that collection (race 5).
//!
//! - [`GcCell`]: `RefCell`-like, for objects one thread uses at a time. A conflicting borrow
//!   panics, it never waits; the message names the type and says whether the other borrow is
//!   this thread's or another's.
//! - [`GcLock`]: `RwLock`-like, for objects threads share. A contended lock is waited for
//!   *detached*, so a thread blocked on it never holds up a collection.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::seeded;
use crate::sync::{AtomicUsize, Ordering, RwLock, RwLockReadGuard, RwLockWriteGuard};
use crate::trace::{Trace, Tracer};
use crate::world::{self, Hold};

/// The borrow flag's writer bit; the bits below it hold the writing thread's token
/// (`world::thread_token`), or, without it, the number of readers.
const WRITER: usize = 1 << (usize::BITS - 1);

/// A mutable slot for handles with dynamically checked borrows that panic on conflict,
/// `RefCell`-like.
///
/// A `GcCell` is for objects one thread uses at a time: a conflicting borrow panics at once,
/// whichever thread holds the other one (the message says which). Objects that threads share
/// and mutate concurrently need a [`GcLock`], which waits instead.
pub struct GcCell<T> {
    /// 0: free; `WRITER | token`: borrowed for writing by the thread `token`; otherwise the
    /// number of read borrows.
    borrow: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: the cell owns its value; moving the cell moves the value.
unsafe impl<T: Send> Send for GcCell<T> {}
// SAFETY: shared access hands out `&T` to several threads (needs `Sync`) or `&mut T` to one
// (needs `Send`), arbitrated by the atomic borrow flag, as `RwLock` does.
unsafe impl<T: Send + Sync> Sync for GcCell<T> {}

/// The error of a borrow that conflicts with another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BorrowError {
    type_name: &'static str,
    held: Held,
}

/// Who holds the borrow that got in the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// A write borrow, by the thread asking.
    WriterHere,
    /// A write borrow, by another thread.
    WriterElsewhere,
    /// This many read borrows, by any thread.
    Readers(usize),
}

impl BorrowError {
    fn new<T>(flag: usize) -> BorrowError {
        let held = if flag & WRITER == 0 {
            Held::Readers(flag)
        } else if flag & !WRITER == world::thread_token() & !WRITER {
            Held::WriterHere
        } else {
            Held::WriterElsewhere
        };
        BorrowError {
            type_name: core::any::type_name::<T>(),
            held,
        }
    }

    /// True when the borrow in the way is another thread's write borrow.
    pub fn held_by_another_thread(&self) -> bool {
        self.held == Held::WriterElsewhere
    }
}

impl fmt::Display for BorrowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.type_name;
        match self.held {
            Held::WriterHere => write!(
                f,
                "GcCell<{name}> is already mutably borrowed, by this thread"
            ),
            Held::WriterElsewhere => write!(
                f,
                "GcCell<{name}> is already mutably borrowed, held by another thread; a GcCell \
                 is for objects one thread uses at a time: objects threads share and mutate \
                 need a GcLock, which waits"
            ),
            Held::Readers(n) => write!(
                f,
                "GcCell<{name}> is already borrowed ({n} read borrow(s), by this thread or \
                 another); objects threads share and mutate need a GcLock, which waits"
            ),
        }
    }
}

impl std::error::Error for BorrowError {}

impl<T> GcCell<T> {
    /// A new cell holding `value`.
    pub fn new(value: T) -> Self {
        GcCell {
            borrow: AtomicUsize::new(0),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// The value through a unique reference: no borrow is needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// True when no write borrow is out: the collector may read the value in place.
    #[inline]
    fn readable(&self) -> bool {
        self.borrow.load(Ordering::Acquire) & WRITER == 0
    }
}

impl<T: Trace> GcCell<T> {
    fn hold() -> Option<Hold> {
        (T::TRACKED && !seeded::CELL_NO_HOLD).then(Hold::take)
    }

    /// Borrows the value for reading; `Err` if it is borrowed for writing.
    pub fn try_borrow(&self) -> Result<GcRef<'_, T>, BorrowError> {
        let hold = Self::hold();
        let mut cur = self.borrow.load(Ordering::Relaxed);
        loop {
            if cur & WRITER != 0 || cur + 1 == WRITER {
                return Err(BorrowError::new::<T>(cur));
            }
            match self.borrow.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(GcRef {
                        cell: self,
                        _hold: hold,
                    })
                }
                Err(seen) => cur = seen,
            }
        }
    }

    /// Borrows the value for writing; `Err` if it is borrowed at all.
    pub fn try_borrow_mut(&self) -> Result<GcRefMut<'_, T>, BorrowError> {
        let hold = Self::hold();
        let writer = WRITER | world::thread_token();
        match self
            .borrow
            .compare_exchange(0, writer, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => Ok(GcRefMut {
                cell: self,
                _hold: hold,
            }),
            Err(seen) => Err(BorrowError::new::<T>(seen)),
        }
    }

    /// Borrows the value for reading.
    ///
    /// # Panics
    /// If the value is borrowed for writing.
    #[track_caller]
    pub fn borrow(&self) -> GcRef<'_, T> {
        self.try_borrow().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Borrows the value for writing.
    ///
    /// # Panics
    /// If the value is borrowed.
    #[track_caller]
    pub fn borrow_mut(&self) -> GcRefMut<'_, T> {
        self.try_borrow_mut().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Replaces the value, returning the old one.
    #[track_caller]
    pub fn replace(&self, value: T) -> T {
        core::mem::replace(&mut *self.borrow_mut(), value)
    }

    /// Stores `value`, dropping the old one after the borrow ends.
    #[track_caller]
    pub fn set(&self, value: T) {
        drop(self.replace(value));
    }

    /// Takes the value, leaving `T::default()`.
    #[track_caller]
    pub fn take(&self) -> T
    where
        T: Default,
    {
        self.replace(T::default())
    }
}

impl<T: Default> Default for GcCell<T> {
    fn default() -> Self {
        GcCell::new(T::default())
    }
}

impl<T: Trace + fmt::Debug> fmt::Debug for GcCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_borrow() {
            Ok(value) => f.debug_tuple("GcCell").field(&*value).finish(),
            Err(_) => f.write_str("GcCell(<borrowed>)"),
        }
    }
}

// SAFETY: reports what the content reports. With the world stopped no borrow can start, so a
// cell not borrowed for writing is stable and read in place; one borrowed for writing is left
// unread and its object blocked (kept alive). Otherwise the content is read under a borrow.
unsafe impl<T: Trace> Trace for GcCell<T> {
    const TRACKED: bool = T::TRACKED;
    #[inline]
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if !T::TRACKED && !tracer.wants_untracked() {
            return;
        }
        if tracer.world_stopped() && self.readable() {
            // SAFETY: no writer exists and none can start while the world is stopped.
            unsafe { (*self.value.get()).trace(tracer) };
        } else {
            self.trace_rarely(tracer);
        }
    }
}

impl<T: Trace> GcCell<T> {
    /// `trace` when the world is not stopped (`referents`) or the cell is borrowed for writing:
    /// out of line, so that the collector's path inlines.
    #[cold]
    #[inline(never)]
    fn trace_rarely(&self, tracer: &mut Tracer<'_>) {
        if tracer.world_stopped() {
            tracer.mark_blocked();
            return;
        }
        match self.try_borrow() {
            Ok(value) => value.trace(tracer),
            Err(_) => tracer.mark_blocked(),
        }
    }
}

/// A read borrow of a [`GcCell`].
pub struct GcRef<'a, T: Trace> {
    cell: &'a GcCell<T>,
    _hold: Option<Hold>,
}

impl<T: Trace> Deref for GcRef<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read borrow is registered in the flag; no writer exists.
        unsafe { &*self.cell.value.get() }
    }
}

impl<T: Trace> Drop for GcRef<'_, T> {
    fn drop(&mut self) {
        self.cell.borrow.fetch_sub(1, Ordering::Release);
    }
}

impl<T: Trace + fmt::Debug> fmt::Debug for GcRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A write borrow of a [`GcCell`].
pub struct GcRefMut<'a, T: Trace> {
    cell: &'a GcCell<T>,
    _hold: Option<Hold>,
}

impl<T: Trace> Deref for GcRefMut<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this is the only borrow (`WRITING`).
        unsafe { &*self.cell.value.get() }
    }
}

impl<T: Trace> DerefMut for GcRefMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this is the only borrow (`WRITING`).
        unsafe { &mut *self.cell.value.get() }
    }
}

impl<T: Trace> Drop for GcRefMut<'_, T> {
    fn drop(&mut self) {
        self.cell.borrow.store(0, Ordering::Release);
    }
}

impl<T: Trace + fmt::Debug> fmt::Debug for GcRefMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A blocking reader–writer lock for handles shared between threads.
///
/// Waiting for a contended lock happens detached from the world, so a collection can run while
/// this thread is blocked; a lock held for writing at that moment keeps its object alive.
pub struct GcLock<T> {
    lock: RwLock<T>,
}

impl<T> GcLock<T> {
    /// A new lock holding `value`.
    pub fn new(value: T) -> Self {
        GcLock {
            lock: RwLock::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.lock.into_inner()
    }

    /// The value through a unique reference.
    pub fn get_mut(&mut self) -> &mut T {
        self.lock.get_mut()
    }
}

impl<T: Trace> GcLock<T> {
    /// Locks for reading, waiting (detached) while a writer holds it.
    pub fn read(&self) -> GcLockReadGuard<'_, T> {
        let hold = GcCell::<T>::hold();
        let guard = match self.lock.try_read() {
            Some(guard) => guard,
            None => world::detached(|| self.lock.read()),
        };
        GcLockReadGuard { guard, _hold: hold }
    }

    /// Locks for writing, waiting (detached) while anyone holds it.
    pub fn write(&self) -> GcLockWriteGuard<'_, T> {
        let hold = GcCell::<T>::hold();
        let guard = match self.lock.try_write() {
            Some(guard) => guard,
            None => world::detached(|| self.lock.write()),
        };
        GcLockWriteGuard { guard, _hold: hold }
    }

    /// Locks for reading if that is possible without waiting.
    pub fn try_read(&self) -> Option<GcLockReadGuard<'_, T>> {
        let hold = GcCell::<T>::hold();
        self.lock
            .try_read()
            .map(|guard| GcLockReadGuard { guard, _hold: hold })
    }

    /// Locks for writing if that is possible without waiting.
    pub fn try_write(&self) -> Option<GcLockWriteGuard<'_, T>> {
        let hold = GcCell::<T>::hold();
        self.lock
            .try_write()
            .map(|guard| GcLockWriteGuard { guard, _hold: hold })
    }
}

impl<T: Default> Default for GcLock<T> {
    fn default() -> Self {
        GcLock::new(T::default())
    }
}

impl<T: Trace + fmt::Debug> fmt::Debug for GcLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(value) => f.debug_tuple("GcLock").field(&*value).finish(),
            None => f.write_str("GcLock(<locked>)"),
        }
    }
}

// SAFETY: reports what the content reports, read under the lock; a lock that cannot be taken
// without waiting blocks its object (kept alive) instead.
unsafe impl<T: Trace> Trace for GcLock<T> {
    const TRACKED: bool = T::TRACKED;
    fn trace(&self, tracer: &mut Tracer<'_>) {
        if !T::TRACKED && !tracer.wants_untracked() {
            return;
        }
        match self.lock.try_read() {
            Some(value) => value.trace(tracer),
            None => tracer.mark_blocked(),
        }
    }
}

/// A read guard of a [`GcLock`]. Fields drop in order: the lock, then the world hold.
pub struct GcLockReadGuard<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    _hold: Option<Hold>,
}

impl<T> Deref for GcLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

/// A write guard of a [`GcLock`]. Fields drop in order: the lock, then the world hold.
pub struct GcLockWriteGuard<'a, T> {
    guard: RwLockWriteGuard<'a, T>,
    _hold: Option<Hold>,
}

impl<T> Deref for GcLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for GcLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}
