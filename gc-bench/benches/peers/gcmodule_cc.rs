//! gcmodule 0.3 (`Cc`, thread-local object space; collection only when asked). Node types are
//! recursive, so `Trace` is written by hand with `is_type_tracked() -> true`, as gcmodule asks.

use std::cell::RefCell;

use gc_bench::workloads::{w5_churn, Outcome};
use gcmodule::{collect_thread_cycles as collect_cycles, Cc, Trace, Tracer};

peer_workloads! {
    ptr: Cc,
    cell: RefCell,
    collect: collect_cycles,
    derive: [],
    peer: Gcmodule,
    w1_link: |_| {},
}

manual_trace! {
    fn is_type_tracked() -> bool {
        true
    }
}

/// W5 (no automatic collection exists; one collection at the end).
pub fn w5(p: &w5_churn::Params) -> Outcome {
    churn_then(p)
}
