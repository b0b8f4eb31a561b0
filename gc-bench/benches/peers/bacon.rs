//! bacon_rajan_cc 0.4 (`Cc`, thread-local; collection only when asked).

use std::cell::RefCell;

use bacon_rajan_cc::{collect_cycles, Cc, Trace, Tracer};
use gc_bench::workloads::{w5_churn, Outcome};

peer_workloads! {
    ptr: Cc,
    cell: RefCell,
    collect: collect_cycles,
    derive: [],
    peer: Bacon,
    w1_link: |_| {},
}

manual_trace!();

/// W5 (no automatic collection exists; one collection at the end).
pub fn w5(p: &w5_churn::Params) -> Outcome {
    churn_then(p)
}
