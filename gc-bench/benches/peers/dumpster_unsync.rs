//! dumpster 2.1, `unsync` (thread-local `Gc`, automatic collection by its default condition).

use std::cell::RefCell;

use dumpster::unsync::{collect, default_collect_condition, set_collect_condition, Gc};
use dumpster::Trace;
use gc_bench::workloads::Outcome;

peer_workloads! {
    ptr: Gc,
    cell: RefCell,
    collect: collect,
    derive: [Trace],
    peer: DumpsterUnsync,
    w1_link: |_| {},
}

dumpster_w5!();
