//! The threads the world knows: each one's slot, name and the place it attached, so that a
//! stop kept waiting can name the thread that holds it up; and what happens when one exits.
//!
//! A thread is registered when it first takes its slot. A stop that runs out of time (or an
//! unbounded one past a second) names the threads of the slots still held: "attached at
//! src/main.rs:10" for a `Mutator`, otherwise a borrow, lock guard or free path in progress.
//! Each thread's stalls are counted ([`stalls`]); an automatic collection's stall is printed the
//! first time only.
//!
//! At exit, a thread that still holds the world (a `Mutator` kept in another thread-local whose
//! destructor has not run yet, or a forgotten one) gives its slot up for good; a leaked cell
//! borrow or lock guard is reported.

use core::panic::Location;
use std::time::Duration;

#[cfg(not(loom))]
use crate::sync::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering};

/// What the world knows of one thread.
#[cfg(not(loom))]
struct Record {
    slot: usize,
    name: Option<String>,
    id: std::thread::ThreadId,
    /// Where its outermost live `Mutator` was made; `None` when it is not attached.
    attached_at: Mutex<Option<&'static Location<'static>>>,
    /// Stops it kept waiting past their deadline, or past a second.
    stalls: AtomicUsize,
    /// Its first stall of an automatic collection was printed.
    reported: AtomicBool,
}

#[cfg(not(loom))]
impl Record {
    /// "thread 'name' (ThreadId(n))".
    fn who(&self) -> String {
        match &self.name {
            Some(name) => format!("thread '{name}' ({:?})", self.id),
            None => format!("thread {:?}", self.id),
        }
    }

    /// Who it is, and what holds the world: where it attached, or a guard.
    fn describe(&self) -> String {
        let who = self.who();
        match *self.attached_at.lock() {
            Some(at) => format!("{who}, attached at {at} and not reaching a safepoint"),
            None => format!(
                "{who}, holding a gc cell borrow, a GcLock guard or an object's free path \
                 without being attached"
            ),
        }
    }
}

/// A thread that kept stops of the world waiting ([`stalls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The thread's name, if it has one.
    pub name: Option<String>,
    /// Its id.
    pub id: std::thread::ThreadId,
    /// Where it attached (the [`Heap::attach`](crate::Heap::attach) call), if it is attached.
    pub attached_at: Option<&'static Location<'static>>,
    /// How many stops it kept waiting past their deadline (automatic collections, or
    /// [`Heap::collect_within`](crate::Heap::collect_within)) or past a second (explicit ones).
    pub stalls: usize,
}

#[cfg(not(loom))]
static THREADS: Mutex<Vec<Arc<Record>>> = Mutex::new(Vec::new());

/// This thread's registration, whose destructor runs the exit checks.
struct Entry {
    #[cfg(not(loom))]
    record: core::cell::OnceCell<Arc<Record>>,
}

crate::sync::thread_local_facade! {
    static ENTRY: Entry = Entry {
        #[cfg(not(loom))]
        record: core::cell::OnceCell::new(),
    };
}

/// Registers the calling thread, which just took slot `slot`.
pub(super) fn register(slot: usize) {
    #[cfg(not(loom))]
    {
        let current = std::thread::current();
        let record = Arc::new(Record {
            slot,
            name: current.name().map(str::to_owned),
            id: current.id(),
            attached_at: Mutex::new(None),
            stalls: AtomicUsize::new(0),
            reported: AtomicBool::new(false),
        });
        // A thread that first holds the world while its thread-locals are being destroyed is
        // not registered: it cannot be named, but works as any other.
        let registered = ENTRY.try_with(|entry| entry.record.set(record.clone()).is_ok());
        if registered == Ok(true) {
            THREADS.lock().push(record);
        }
    }
    #[cfg(loom)]
    {
        let _ = slot;
        // Registers the exit checks.
        ENTRY.with(|_| ());
    }
}

#[cfg(not(loom))]
fn my_record() -> Option<Arc<Record>> {
    ENTRY
        .try_with(|entry| entry.record.get().cloned())
        .ok()
        .flatten()
}

/// The thread attached at `location` (its outermost live `Mutator`).
pub(crate) fn attached_at(location: &'static Location<'static>) {
    #[cfg(not(loom))]
    if let Some(record) = my_record() {
        record.attached_at.lock().get_or_insert(location);
    }
    #[cfg(loom)]
    let _ = location;
}

/// The thread's last `Mutator` went.
pub(crate) fn detached_from() {
    #[cfg(not(loom))]
    if let Some(record) = my_record() {
        *record.attached_at.lock() = None;
    }
}

/// Descriptions of the threads of `slots`.
pub(super) fn describe(slots: &[usize]) -> Vec<String> {
    #[cfg(not(loom))]
    {
        let threads = THREADS.lock();
        slots
            .iter()
            .flat_map(|&slot| {
                let on_slot: Vec<String> = threads
                    .iter()
                    .filter(|r| r.slot == slot)
                    .map(|r| r.describe())
                    .collect();
                if on_slot.is_empty() {
                    vec![format!(
                        "a thread of world slot {slot} that cannot be named"
                    )]
                } else {
                    on_slot
                }
            })
            .collect()
    }
    #[cfg(loom)]
    slots
        .iter()
        .map(|slot| format!("world slot {slot}"))
        .collect()
}

/// A stop waited `waited` for the threads of `slots`: counts a stall for each, prints them —
/// for an automatic collection (`bounded`) only a thread's first — and returns their
/// descriptions.
pub(super) fn stalled(slots: &[usize], waited: Duration, bounded: bool) -> Vec<String> {
    let threads = describe(slots);
    #[cfg(not(loom))]
    {
        let mut new = false;
        for record in THREADS.lock().iter().filter(|r| slots.contains(&r.slot)) {
            record.stalls.fetch_add(1, Ordering::Relaxed);
            new |= !record.reported.swap(true, Ordering::Relaxed);
        }
        let list = threads.join("; ");
        let ms = waited.as_secs_f64() * 1e3;
        if !bounded {
            eprintln!(
                "gc-core: a collection has waited {ms:.0} ms for {list}; it keeps waiting. \
                 An attached thread must reach Mutator::safepoint now and then and wrap \
                 blocking calls (joins, I/O, channel receives) in Mutator::blocking"
            );
        } else if new {
            eprintln!(
                "gc-core: a collection with a deadline (automatic, or Heap::collect_within) gave \
                 up after {ms:.0} ms waiting for {list}. Until it gives the world up, automatic \
                 collections are skipped and counted in \
                 stats()[g].missed, and garbage cycles pile up. An attached thread must reach \
                 Mutator::safepoint now and then and wrap blocking calls (joins, I/O, channel \
                 receives) in Mutator::blocking. (Printed once per thread; gc_core::stalls() \
                 counts them.)"
            );
        }
    }
    #[cfg(loom)]
    let _ = (waited, bounded);
    threads
}

/// Every registered thread that has kept a stop of the world waiting, with its count.
///
/// The world is the process's (all heaps share it), so this covers every heap.
pub fn stalls() -> Vec<Stall> {
    #[cfg(not(loom))]
    {
        THREADS
            .lock()
            .iter()
            .filter(|r| r.stalls.load(Ordering::Relaxed) > 0)
            .map(|r| Stall {
                name: r.name.clone(),
                id: r.id,
                attached_at: *r.attached_at.lock(),
                stalls: r.stalls.load(Ordering::Relaxed),
            })
            .collect()
    }
    #[cfg(loom)]
    Vec::new()
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Thread-locals whose destructors have not run yet may still hold the world (a
        // `Mutator` kept in one): they give their holds back later, to the frame kept for
        // them, and take new ones as any thread does.
        let (alive, attached) = super::holds::abandon();
        #[cfg(not(loom))]
        if let Some(record) = self.record.take() {
            // The main thread's holds go with the process (`std::process::exit`, or main
            // returning); an attachment may be dropped by a later destructor. A borrow or lock
            // guard alive now was leaked.
            if alive > attached && record.name.as_deref() != Some("main") {
                eprintln!(
                    "gc-core: {} exited with {} gc cell borrow(s) or GcLock guard(s) never \
                     dropped (mem::forget?): its hold on the world is released, and a cell it \
                     held borrowed stays borrowed for good",
                    record.who(),
                    alive - attached
                );
            }
            THREADS.lock().retain(|r| !Arc::ptr_eq(r, &record));
        }
        #[cfg(loom)]
        let _ = (alive, attached);
    }
}
