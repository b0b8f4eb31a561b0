//! Shared code of the gc-core benchmarks; gc-bench's README describes the workloads.
//!
//! - [`workloads`] holds W1–W8 for gc-core and for the standard-library baselines (`Rc`/`Arc`,
//!   with `Weak` back edges where the shape allows it). The criterion benches, the tests and the
//!   threshold study all call these functions, so what is timed is also what is verified. Peer
//!   collectors (rust-cc, dumpster, gcmodule, bacon_rajan_cc) are dev-dependencies only: their
//!   versions of the workloads live under `benches/peers/`.
//! - [`study`] is the threshold study: any workload under a grid of collector settings, with
//!   its CSV/JSON, Markdown and plots. The `gc-bench` binary runs it on the built-in shapes.
//! - [`interp`] is a small Scheme interpreter on gc-core's public API, a runtime's workload.

pub mod interp;
pub mod study;
pub mod workloads;
