//! rust-cc 0.6 (`Cc`, thread-local collector with automatic collection). W1 calls `mark_alive`
//! on the old head as rust-cc's own benchmark does; W4 is shaped as rust-cc's own stress test
//! (`Cc<RefCell<node>>`).

use std::cell::RefCell;

use gc_bench::workloads::{w5_churn, Outcome};
use rust_cc::{collect_cycles, Cc, Finalize, Trace};

peer_workloads! {
    ptr: Cc,
    cell: RefCell,
    collect: collect_cycles,
    derive: [Trace, Finalize],
    peer: RustCc,
    w1_link: |head| {
        if let ListNode::Cons { next, .. } = &**head {
            next.mark_alive();
        }
    },
}

/// W5 with rust-cc's automatic collection on or off; a final collection either way.
pub fn w5(p: &w5_churn::Params, automatic: bool) -> Outcome {
    set_auto_collect(automatic);
    let outcome = churn_then(p);
    set_auto_collect(true);
    outcome
}

fn set_auto_collect(on: bool) {
    rust_cc::config::config(|c| c.set_auto_collect(on)).expect("rust-cc config is reachable");
}
