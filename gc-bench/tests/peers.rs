//! The peer versions of the workloads (under `benches/peers/`) compute what the `Rc`/`Arc`
//! versions compute, so the benches compare the same work.

#[path = "../benches/peers/mod.rs"]
mod peers;

use gc_bench::workloads::{
    w1_linked_lists as w1, w2_binary_trees as w2, w3_parent_trees as w3, w4_stress_graph as w4,
    w5_churn as w5, w6_threaded_churn as w6, w7_self_cycles as w7, w8_parallel_trees as w8,
    Outcome,
};
use peers::{bacon, dumpster_sync, dumpster_unsync, gcmodule_cc, gcmodule_threaded, rust_cc};

#[track_caller]
fn check(name: &str, peer: Outcome, expected: &Outcome) {
    assert_eq!(peer.comparable(), expected.comparable(), "{name}");
}

#[test]
fn w1_peers() {
    let p = w1::Params::small();
    let e = w1::rc(&p);
    check("rust-cc", rust_cc::w1(&p), &e);
    check("bacon", bacon::w1(&p), &e);
    check("gcmodule", gcmodule_cc::w1(&p), &e);
    check("dumpster unsync", dumpster_unsync::w1(&p), &e);
    check("dumpster sync", dumpster_sync::w1(&p), &e);
}

#[test]
fn w2_and_w3_peers() {
    let p = w2::Params::small();
    let e = w2::rc(&p);
    check("rust-cc", rust_cc::w2(&p), &e);
    check("bacon", bacon::w2(&p), &e);
    check("gcmodule", gcmodule_cc::w2(&p), &e);
    check("dumpster unsync", dumpster_unsync::w2(&p), &e);
    check("dumpster sync", dumpster_sync::w2(&p), &e);
    let e = w3::rc(&p);
    check("rust-cc", rust_cc::w3(&p), &e);
    check("bacon", bacon::w3(&p), &e);
    check("gcmodule", gcmodule_cc::w3(&p), &e);
    check("dumpster unsync", dumpster_unsync::w3(&p), &e);
    check("dumpster sync", dumpster_sync::w3(&p), &e);
}

#[test]
fn w4_peers() {
    let p = w4::Params::small();
    let e = w4::expected(&p);
    check("rust-cc", rust_cc::w4(&p), &e);
    check("bacon", bacon::w4(&p), &e);
    check("gcmodule", gcmodule_cc::w4(&p), &e);
    check("dumpster unsync", dumpster_unsync::w4(&p), &e);
    check("dumpster sync", dumpster_sync::w4(&p), &e);
}

#[test]
fn w5_peers() {
    let p = w5::Params::small();
    let e = w5::rc(&p);
    for automatic in [true, false] {
        check("rust-cc", rust_cc::w5(&p, automatic), &e);
        check("dumpster unsync", dumpster_unsync::w5(&p, automatic), &e);
        check("dumpster sync", dumpster_sync::w5(&p, automatic), &e);
    }
    check("bacon", bacon::w5(&p), &e);
    check("gcmodule", gcmodule_cc::w5(&p), &e);
}

#[test]
fn w6_peers() {
    let p = w6::Params::small(1);
    let e = w6::arc(&p).outcome;
    check("dumpster sync", dumpster_sync::w6(&p).outcome, &e);
    check("gcmodule threaded", gcmodule_threaded::w6(&p).outcome, &e);
    let p = w6::Params::small(2);
    assert_eq!(dumpster_sync::w6(&p).outcome.ops, p.total_ops());
    assert_eq!(gcmodule_threaded::w6(&p).outcome.ops, p.total_ops());
}

#[test]
fn w7_peers() {
    let p = w7::Params::small();
    let e = w7::rc(&p);
    check("rust-cc", rust_cc::w7(&p), &e);
    check("bacon", bacon::w7(&p), &e);
    check("gcmodule", gcmodule_cc::w7(&p), &e);
    check("dumpster unsync", dumpster_unsync::w7(&p), &e);
    check("dumpster sync", dumpster_sync::w7(&p), &e);
}

#[test]
fn w8_peers() {
    let e = w2::rc(&w2::Params::small());
    for threads in [1, 2] {
        let p = w8::Params::small(threads);
        check("dumpster sync", dumpster_sync::w8(&p), &e);
        check("gcmodule threaded", gcmodule_threaded::w8(&p), &e);
    }
}
