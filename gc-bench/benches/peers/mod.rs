//! The workloads of gc-bench's README on the peer collectors (dev-dependencies only).
//!
//! Each module mirrors `gc_bench::workloads`: the same parameters, the same seeded choices and
//! the same checksum, so `tests/peers.rs` can check them against the `Rc`/`Arc` versions. Each
//! peer ends a workload with its own collection call, inside the measured time. The shapes the
//! peers share are written once, in [`shapes`].

#[macro_use]
mod shapes;

pub mod bacon;
pub mod dumpster_sync;
pub mod dumpster_unsync;
pub mod gcmodule_cc;
pub mod gcmodule_threaded;
pub mod rust_cc;
