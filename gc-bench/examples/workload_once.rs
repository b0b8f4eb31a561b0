//! Runs one workload's gc-core side once, on a fresh heap with its default parameters: a
//! program to count instructions with, where the criterion benches time many runs.
//!
//! ```sh
//! cargo build --release -p gc-bench --example workload_once
//! GC_CORE_SCAN=generations valgrind --tool=callgrind target/release/examples/workload_once w4
//! ```
//!
//! The workload is `w1`, `w3`, `w4` or `w7` (W7 with 200,000 iterations); `GC_CORE_SCAN` picks
//! the scan (`candidates`, the default, or `generations`).

use std::hint::black_box;

use gc_bench::workloads::{
    w1_linked_lists as w1, w3_parent_trees as w3, w4_stress_graph as w4, w7_self_cycles as w7,
};
use gc_core::Heap;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let heap = Heap::new();
    let ops = match which.as_str() {
        "w1" => w1::gc_core(&heap, &w1::Params::default()),
        "w3" => w3::gc_core(&heap, &w3::Params::default()),
        "w4" => w4::gc_core(&heap, &w4::Params::default()),
        "w7" => w7::gc_core(
            &heap,
            &w7::Params {
                iterations: 200_000,
                ..w7::Params::default()
            },
        ),
        other => {
            eprintln!("workload_once: unknown workload {other:?}; one of w1, w3, w4, w7");
            std::process::exit(2);
        }
    };
    black_box(ops);
}
