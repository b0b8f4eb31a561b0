//! The one door to synchronisation primitives.
//!
//! Every atomic, lock, condition variable and thread-local in gc-core comes from here. Under
//! `cfg(loom)` they are loom's model-checked versions, so the models in `gc-loom-tests` run the
//! real protocol code, not a re-implementation of it.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Weak};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicI32, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

use std::time::Duration;

#[cfg(loom)]
use loom::sync as imp;
#[cfg(not(loom))]
use std::sync as imp;

/// A mutex whose `lock` never reports poisoning: gc-core never leaves shared state half-updated
/// across user code, so a panic elsewhere cannot break the invariants it protects.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(imp::Mutex<T>);

pub(crate) type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A new mutex; `const` outside loom, for statics.
    #[cfg(not(loom))]
    pub(crate) const fn new(value: T) -> Self {
        Mutex(imp::Mutex::new(value))
    }

    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        Mutex(imp::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A reader–writer lock whose guards never report poisoning.
#[derive(Debug, Default)]
pub(crate) struct RwLock<T>(imp::RwLock<T>);

pub(crate) type RwLockReadGuard<'a, T> = imp::RwLockReadGuard<'a, T>;
pub(crate) type RwLockWriteGuard<'a, T> = imp::RwLockWriteGuard<'a, T>;

impl<T> RwLock<T> {
    pub(crate) fn new(value: T) -> Self {
        RwLock(imp::RwLock::new(value))
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        match self.0.try_read() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poison)) => Some(poison.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    pub(crate) fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        match self.0.try_write() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poison)) => Some(poison.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    pub(crate) fn into_inner(self) -> T {
        self.0
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.0
            .get_mut()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar(imp::Condvar);

impl Condvar {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Condvar(imp::Condvar::new())
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Condvar(imp::Condvar::new())
    }

    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0
            .wait(guard)
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Waits at most `timeout`; returns the guard and whether the wait timed out.
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let (guard, result) = self
            .0
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|poison| poison.into_inner());
        (guard, result.timed_out())
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// A cell whose exclusive access a protocol provides rather than a lock: a shard's generation
/// lists and candidates, touched only by the owner holding the world or by a collector with the
/// world stopped. Under loom it is loom's cell, which reports any two accesses the protocol
/// failed to order; otherwise it is a plain `UnsafeCell`, and [`ExclusiveCell::get_mut`] costs
/// nothing.
pub(crate) struct ExclusiveCell<T> {
    #[cfg(not(loom))]
    value: core::cell::UnsafeCell<T>,
    #[cfg(loom)]
    value: loom::cell::UnsafeCell<T>,
}

/// Exclusive access to an [`ExclusiveCell`]'s value, for as long as the guard lives.
pub(crate) struct ExclusiveMut<'a, T> {
    #[cfg(not(loom))]
    value: &'a mut T,
    #[cfg(loom)]
    value: loom::cell::MutPtr<T>,
    #[cfg(loom)]
    _cell: core::marker::PhantomData<&'a mut T>,
}

impl<T> ExclusiveCell<T> {
    pub(crate) fn new(value: T) -> Self {
        ExclusiveCell {
            #[cfg(not(loom))]
            value: core::cell::UnsafeCell::new(value),
            #[cfg(loom)]
            value: loom::cell::UnsafeCell::new(value),
        }
    }

    /// The value, exclusively.
    ///
    /// # Safety
    /// No other access to the value, on any thread, overlaps the guard's life: the protocol
    /// guarding the cell orders them all before or after it.
    #[inline]
    pub(crate) unsafe fn get_mut(&self) -> ExclusiveMut<'_, T> {
        ExclusiveMut {
            // SAFETY: per the contract, the access is exclusive.
            #[cfg(not(loom))]
            value: unsafe { &mut *self.value.get() },
            #[cfg(loom)]
            value: self.value.get_mut(),
            #[cfg(loom)]
            _cell: core::marker::PhantomData,
        }
    }
}

impl<T> core::ops::Deref for ExclusiveMut<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        #[cfg(not(loom))]
        return self.value;
        // SAFETY: the guard was made under `get_mut`'s exclusive access, which loom tracks for
        // the guard's life.
        #[cfg(loom)]
        return unsafe { self.value.deref() };
    }
}

impl<T> core::ops::DerefMut for ExclusiveMut<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        #[cfg(not(loom))]
        return self.value;
        // SAFETY: as for `deref`.
        #[cfg(loom)]
        return unsafe { self.value.deref() };
    }
}

/// A one-shot signal between two threads: set once, waited for until set.
#[derive(Debug, Default)]
pub(crate) struct Latch {
    set: Mutex<bool>,
    signalled: Condvar,
}

impl Latch {
    pub(crate) fn set(&self) {
        *self.set.lock() = true;
        self.signalled.notify_all();
    }

    pub(crate) fn wait(&self) {
        let mut set = self.set.lock();
        while !*set {
            set = self.signalled.wait(set);
        }
    }
}

/// Atomics shared only by the collector's rayon workers in its parallel phases, which loom never
/// runs (rayon is not loom-aware): std's under loom too, so that the sequential paths the models
/// do run (which share these types with the parallel ones) add no interleavings. What the
/// parallel phases share that decides their result — the side array's slots — uses the
/// modelled atomics above, and `parallel_phases` plays the workers over it.
pub(crate) mod unmodelled {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize};
}

/// A process-wide counter handing out ids unique for the life of the process. It orders
/// nothing, so loom does not model it.
pub(crate) struct Ids(std::sync::atomic::AtomicU64);

impl Ids {
    pub(crate) const fn new() -> Ids {
        Ids(std::sync::atomic::AtomicU64::new(1))
    }

    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A pause inside a spin loop; under loom, a yield so the model explores the other threads.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Lets other threads run while this one waits for a state change it cannot sleep on.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Waiting for another thread's progress where there is nothing to sleep on: a few spins, then
/// a yield of the core at every further try (the other thread may need it).
#[derive(Default)]
pub(crate) struct Backoff {
    spins: u32,
}

impl Backoff {
    /// Spins before a wait starts yielding.
    const SPINS: u32 = 64;

    /// One more try without progress.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.spins < Self::SPINS {
            self.spins += 1;
            spin_loop();
        } else {
            yield_now();
        }
    }

    /// Progress was made: the next wait starts with spins again.
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.spins = 0;
    }
}

/// Monotonic time for bounded waits and pause measurement. Under loom time does not advance.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Instant(#[cfg(not(loom))] std::time::Instant);

impl Instant {
    pub(crate) fn now() -> Self {
        #[cfg(not(loom))]
        return Instant(std::time::Instant::now());
        #[cfg(loom)]
        return Instant();
    }

    pub(crate) fn elapsed(&self) -> Duration {
        #[cfg(not(loom))]
        return self.0.elapsed();
        #[cfg(loom)]
        return Duration::ZERO;
    }

    pub(crate) fn duration_since(&self, earlier: Instant) -> Duration {
        #[cfg(not(loom))]
        return self.0.duration_since(earlier.0);
        #[cfg(loom)]
        return {
            let _ = earlier;
            Duration::ZERO
        };
    }
}

/// Declares a process-wide value behind a function returning it: a `static` with a `const`
/// initialiser (or, with `lazy`, one made on first use), and under `cfg(loom)` a `lazy_static`
/// that loom makes anew in every interleaving.
macro_rules! gc_global {
    ($vis:vis fn $name:ident() -> &'static $t:ty = $init:expr;) => {
        #[cfg(not(loom))]
        $vis fn $name() -> &'static $t {
            static VALUE: $t = $init;
            &VALUE
        }
        #[cfg(loom)]
        $vis fn $name() -> &'static $t {
            loom::lazy_static! {
                static ref VALUE: $t = $init;
            }
            &VALUE
        }
    };
    ($vis:vis fn $name:ident() -> &'static $t:ty = lazy $init:expr;) => {
        #[cfg(not(loom))]
        $vis fn $name() -> &'static $t {
            static VALUE: std::sync::OnceLock<$t> = std::sync::OnceLock::new();
            VALUE.get_or_init(|| $init)
        }
        #[cfg(loom)]
        $vis fn $name() -> &'static $t {
            loom::lazy_static! {
                static ref VALUE: $t = $init;
            }
            &VALUE
        }
    };
}

pub(crate) use gc_global as global;

/// Declares thread-locals: std's (const-initialised) normally, loom's under `cfg(loom)` so each
/// modelled thread gets its own.
macro_rules! gc_thread_local {
    ($($(#[$attr:meta])* static $name:ident: $t:ty = $init:expr;)*) => {
        #[cfg(not(loom))]
        std::thread_local! {
            $($(#[$attr])* static $name: $t = const { $init };)*
        }
        #[cfg(loom)]
        loom::thread_local! {
            $($(#[$attr])* static $name: $t = $init;)*
        }
    };
}

pub(crate) use gc_thread_local as thread_local_facade;
