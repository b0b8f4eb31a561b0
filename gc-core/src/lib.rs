//! # gc-core
//!
//! CPython's memory model for multi-threaded Rust: reference counting with immediate
//! reclamation, backed by a generational trial-deletion cycle collector with the `gc` module's
//! controls.
//!
//! - [`Gc<T>`] is a counted handle: dropping the last one frees the object at once (finalizer,
//!   weak callbacks, then `Drop`), exactly like a CPython refcount death.
//! - Cycles are found by [`Heap::collect`] (or automatically, by CPython's thresholds): copy the
//!   counts, subtract the references internal to the generation, mark what is still referenced
//!   from outside, and tear down the rest — after finalizers had their chance to resurrect.
//! - Threads share objects freely. A collection stops the world through a per-thread sharded
//!   lock that attached threads ([`Mutator`]) hold for long stretches at no cost.
//! - What a Rust user expects of `Arc`: [`Gc::new_cyclic`], [`Gc::try_unwrap`],
//!   [`Gc::get_mut`], [`Gc::make_mut`], slices (`Gc<[T]>`, [`Heap::alloc_slice`]) and trait
//!   objects (`Gc<dyn Trait>`, [`coerce_gc!`]); and CPython's `weakref` containers in
//!   [`weak_collections`].
//!
//! ```
//! use gc_core::{Gc, GcCell, Heap, Trace};
//!
//! #[derive(Trace)]
//! struct Node {
//!     name: String,
//!     next: GcCell<Option<Gc<Node>>>,
//! }
//!
//! let heap = Heap::new();
//! let a = heap.alloc(Node { name: "a".into(), next: GcCell::new(None) });
//! let b = heap.alloc(Node { name: "b".into(), next: GcCell::new(Some(a.clone())) });
//! *a.next.borrow_mut() = Some(b.clone());        // a <-> b: a cycle
//! assert_eq!(Gc::ref_count(&a), 2);
//!
//! drop((a, b));                                  // reference counting cannot free it...
//! assert_eq!(heap.collect(), 2);                 // ...the cycle collector does
//! ```
//!
//! [`GcCell`] is for objects one thread uses at a time (`RefCell`-like: a conflicting borrow
//! panics, naming the type and whether another thread holds it); [`GcLock`] for objects threads
//! share and mutate (`RwLock`-like: it waits, detached, so a waiting thread never holds up a
//! collection).
//!
//! See `docs/embedding.md` for the rules a runtime follows, `docs/architecture.md` for the
//! modules and `docs/concurrency.md` for the protocol.

#![warn(missing_docs)]

extern crate self as gc_core;

mod alloc;
mod candidates;
mod cell;
mod census;
mod coerce;
mod collector;
mod config;
mod cyclic;
mod error;
pub mod finalize;
mod gc_module;
mod generation;
mod handle;
mod header;
mod heap;
mod inspect;
mod listing;
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_hooks;
mod mutator;
pub mod objgraph;
#[cfg(feature = "pause-histogram")]
mod pauses;
mod pool;
mod reclaim;
mod seeded;
mod slice;
mod stats;
mod sync;
#[cfg(test)]
mod test_support;
pub mod trace;
mod trigger;
mod unique;
mod weak;
pub mod weak_collections;
mod world;

pub use cell::{BorrowError, GcCell, GcLock, GcLockReadGuard, GcLockWriteGuard, GcRef, GcRefMut};
pub use census::ObjectCount;
#[doc(hidden)]
pub use coerce::__private;
pub use config::{Config, Scan, Trigger, MAX_GENERATIONS, MAX_SHARDS};
pub use error::GcError;
pub use finalize::Finalize;
pub use gc_derive::Trace;
pub use handle::{Gc, GcAny};
#[cfg(feature = "pause-histogram")]
pub use hdrhistogram;
pub use heap::Heap;
pub use mutator::{blocking, Mutator};
#[cfg(feature = "pause-histogram")]
pub use pauses::PauseHistograms;
pub use stats::{CallbackId, CollectionInfo, DebugFlags, GenerationStats, Phase, PhaseTimes};
pub use trace::{Trace, Tracer};
pub use unique::GcMut;
pub use weak::Weak;
pub use world::{stalls, Stall};

/// The examples of `docs/embedding.md`, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/embedding.md")]
pub struct EmbeddingGuide;

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;
