//! dumpster 2.1, `sync` (thread-safe `Gc`, concurrent collector, automatic collection by its
//! default condition). Cells are `Mutex`es, as `sync::Gc` needs `Sync` contents.

use std::sync::Mutex;

use dumpster::sync::{collect, default_collect_condition, set_collect_condition, Gc};
use dumpster::Trace;
use gc_bench::workloads::{w6_threaded_churn as w6, w8_parallel_trees as w8, Outcome};

use super::shapes::{w6_timed, w8_trees};

peer_workloads! {
    ptr: Gc,
    cell: Mutex,
    collect: collect,
    derive: [Trace],
    peer: DumpsterSync,
    w1_link: |_| {},
}

dumpster_w5!();

/// W6: the threaded phase is timed; the final collection runs after it.
pub fn w6(p: &w6::Params) -> w6::Timed {
    w6_timed::<DumpsterSync, _, _>(&(), p, |_| (), collect)
}

/// W8.
pub fn w8(p: &w8::Params) -> Outcome {
    w8_trees(p, || (), |_, depth| Tree::build(depth).check(), collect)
}
