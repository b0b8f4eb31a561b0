//! Leak-hunting tools in the spirit of Python's `objgraph`, on a heap's live objects.
//!
//! | objgraph | here |
//! |---|---|
//! | `show_refs(objs)` | [`show_refs`] → [`RefGraph`] (DOT text, `.dot` file, SVG/PNG through Graphviz) |
//! | `show_backrefs(objs)` | [`show_backrefs`] |
//! | `typestats()`, `most_common_types()`, `show_most_common_types()` | [`type_stats`], [`most_common_types`], [`show_most_common_types`] |
//! | `by_type(name)` | [`by_type`] |
//! | `growth()`, `show_growth()` | [`GrowthTracker::growth`], [`GrowthTracker::show_growth`] |
//! | `find_backref_chain(obj, predicate)` | [`find_backref_chain`] (with [`held_from_outside`] as the usual predicate) |
//! | (leak report) | [`Baseline::take`] then [`Baseline::leak_report`] → [`LeakReport`] |
//!
//! Like objgraph, which sees what `gc.get_objects()` sees, the tools see the *tracked* objects
//! ([`Heap::objects`](crate::Heap::objects)); untracked ones (strings, numbers) appear only as
//! the referents of tracked ones. They hold strong handles only while they run, and the counts
//! they show leave those handles out; a [`GcAny`](crate::GcAny) you pass in is a handle like
//! any other and is counted. Everything is a snapshot of a running heap: other threads may
//! change it meanwhile.
//!
//! # Roots held from outside
//!
//! Python's object graph has modules at its top. Here the top is whatever holds a handle from
//! *outside* the heap's objects: a local variable, a global, a handle inside an untraced field
//! (`#[gc(skip)]`, an `Arc`). The tools compute, for each tracked object, its strong count minus
//! the references other tracked objects hold to it — its *outside references* — which is exactly
//! what the cycle collector uses to find roots. An object that survives a collection with no
//! outside reference is kept by some object that has one; [`find_backref_chain`] finds the
//! chain, and a leak report names the outside-held object that keeps each new survivor.
//!
//! # Names
//!
//! Nodes and reports name types by [`short_type_name`] (`Vec<Node>` rather than
//! `alloc::vec::Vec<my_crate::Node>`). A type can give its own name and a per-object
//! description by implementing [`Describe`], registered in the [`Labels`] of the
//! [`GraphOptions`]; [`Labels::with`] takes a closure instead.
//!
//! ```
//! use gc_core::objgraph::{self, GraphOptions};
//! use gc_core::{Gc, GcAny, GcCell, Heap, Trace};
//!
//! #[derive(Trace)]
//! struct Node {
//!     next: GcCell<Option<Gc<Node>>>,
//! }
//!
//! let heap = Heap::new();
//! let a = heap.alloc(Node { next: GcCell::new(None) });
//! let b = heap.alloc(Node { next: GcCell::new(Some(a.clone())) });
//! *a.next.borrow_mut() = Some(b.clone());
//!
//! let graph = objgraph::show_refs(&heap, &[GcAny::from(&a)], &GraphOptions::default());
//! assert_eq!(graph.nodes().len(), 2);
//! assert!(graph.nodes().iter().all(|n| n.in_cycle));
//! assert!(graph.to_dot().starts_with("digraph ObjectGraph {"));
//! # a.next.borrow_mut().take();
//! ```

mod chain;
mod dot;
mod graph;
mod growth;
mod index;
mod labels;
mod leaks;
mod types;

pub use chain::{find_backref_chain, held_from_outside, Candidate};
pub use dot::RenderError;
pub use graph::{
    show_backrefs, show_refs, Direction, GraphEdge, GraphNode, GraphOptions, RefGraph,
};
pub use growth::{Growth, GrowthTracker};
pub use labels::{short_type_name, Describe, Label, Labels};
pub use leaks::{Baseline, LeakReport, Survivor};
pub use types::{by_type, most_common_types, show_most_common_types, type_stats, TypeCount};
