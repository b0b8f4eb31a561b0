//! The workloads W1–W8 and W11 of gc-bench's README, gc-core beside every baseline and peer that
//! can express each one, one criterion group per workload so one run gives the ratios.
//!
//! Anchors: `Rc`(+`Weak`) for W1–W3, `Arc` for W5–W8 (W5/W6's `Arc` leaks its cycles, as in
//! dumpster's benchmark); W4 has none (peers only). W6 times the threaded phase alone; W7 runs a
//! reduced iteration count (the full run is the `gc-bench` binary's). Every implementation
//! uses the system allocator (gc-core without its `mimalloc` feature).

mod peers;
mod ratios;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
};
use gc_bench::workloads::{
    w11_shared_globals as w11, w1_linked_lists as w1, w2_binary_trees as w2, w3_parent_trees as w3,
    w4_stress_graph as w4, w5_churn as w5, w6_threaded_churn as w6, w7_self_cycles as w7,
    w8_parallel_trees as w8,
};
use gc_core::Heap;
use peers::{bacon, dumpster_sync, dumpster_unsync, gcmodule_cc, gcmodule_threaded, rust_cc};
use ratios::Group;

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn bench_w1(c: &mut Criterion) {
    let p = w1::Params::default();
    let heap = Heap::new();
    let mut g = group(c, "W1_linked_lists");
    g.bench_function("gc-core", |b| b.iter(|| black_box(w1::gc_core(&heap, &p))));
    g.bench_function("Rc+Weak", |b| b.iter(|| black_box(w1::rc(&p))));
    g.bench_function("Arc+Weak", |b| b.iter(|| black_box(w1::arc(&p))));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(rust_cc::w1(&p))));
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w1(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w1(&p))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(dumpster_unsync::w1(&p)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(dumpster_sync::w1(&p)))
    });
    g.finish();
}

fn bench_w2(c: &mut Criterion) {
    let p = w2::Params::default();
    let heap = Heap::new();
    let mut g = group(c, "W2_binary_trees");
    g.bench_function("gc-core", |b| b.iter(|| black_box(w2::gc_core(&heap, &p))));
    g.bench_function("Rc", |b| b.iter(|| black_box(w2::rc(&p))));
    g.bench_function("Arc", |b| b.iter(|| black_box(w2::arc(&p))));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(rust_cc::w2(&p))));
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w2(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w2(&p))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(dumpster_unsync::w2(&p)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(dumpster_sync::w2(&p)))
    });
    g.finish();
}

fn bench_w3(c: &mut Criterion) {
    let p = w3::Params::default();
    let heap = Heap::new();
    let mut g = group(c, "W3_parent_trees");
    g.bench_function("gc-core", |b| b.iter(|| black_box(w3::gc_core(&heap, &p))));
    g.bench_function("Rc+Weak", |b| b.iter(|| black_box(w3::rc(&p))));
    g.bench_function("Arc+Weak", |b| b.iter(|| black_box(w3::arc(&p))));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(rust_cc::w3(&p))));
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w3(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w3(&p))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(dumpster_unsync::w3(&p)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(dumpster_sync::w3(&p)))
    });
    g.finish();
}

fn bench_w4(c: &mut Criterion) {
    let p = w4::Params::default();
    let heap = Heap::new();
    let mut g = group(c, "W4_stress_graph");
    g.bench_function("gc-core", |b| b.iter(|| black_box(w4::gc_core(&heap, &p))));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(rust_cc::w4(&p))));
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w4(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w4(&p))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(dumpster_unsync::w4(&p)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(dumpster_sync::w4(&p)))
    });
    g.finish();
}

fn bench_w5(c: &mut Criterion) {
    let p = w5::Params::default();
    let heap = Heap::new();
    let mut g = group(c, "W5_churn");
    g.bench_function("gc-core auto", |b| {
        b.iter(|| black_box(w5::gc_core_trigger(&heap, &p, true)))
    });
    g.bench_function("gc-core manual", |b| {
        b.iter(|| black_box(w5::gc_core_trigger(&heap, &p, false)))
    });
    g.bench_function("Arc", |b| b.iter(|| black_box(w5::arc(&p))));
    g.bench_function("Rc", |b| b.iter(|| black_box(w5::rc(&p))));
    g.bench_function("rust-cc auto", |b| {
        b.iter(|| black_box(rust_cc::w5(&p, true)))
    });
    g.bench_function("rust-cc manual", |b| {
        b.iter(|| black_box(rust_cc::w5(&p, false)))
    });
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w5(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w5(&p))));
    g.bench_function("dumpster-unsync auto", |b| {
        b.iter(|| black_box(dumpster_unsync::w5(&p, true)))
    });
    g.bench_function("dumpster-unsync manual", |b| {
        b.iter(|| black_box(dumpster_unsync::w5(&p, false)))
    });
    g.bench_function("dumpster-sync auto", |b| {
        b.iter(|| black_box(dumpster_sync::w5(&p, true)))
    });
    g.bench_function("dumpster-sync manual", |b| {
        b.iter(|| black_box(dumpster_sync::w5(&p, false)))
    });
    g.finish();
}

/// Times only the threaded phase of W6 (what each run reports as `elapsed`).
fn timed(iters: u64, mut run: impl FnMut() -> w6::Timed) -> Duration {
    (0..iters).map(|_| black_box(run()).elapsed).sum()
}

fn bench_w6(c: &mut Criterion) {
    let heap = Heap::new();
    let mut g = group(c, "W6_threaded_churn");
    for threads in [1, 2] {
        let p = w6::Params::with_threads(threads);
        let t = if threads == 1 {
            "1 thread".to_owned()
        } else {
            format!("{threads} threads")
        };
        g.bench_function(BenchmarkId::new("gc-core", &t), |b| {
            b.iter_custom(|n| timed(n, || w6::gc_core(&heap, &p)))
        });
        g.bench_function(BenchmarkId::new("Arc", &t), |b| {
            b.iter_custom(|n| timed(n, || w6::arc(&p)))
        });
        g.bench_function(BenchmarkId::new("dumpster-sync", &t), |b| {
            b.iter_custom(|n| timed(n, || dumpster_sync::w6(&p)))
        });
        g.bench_function(BenchmarkId::new("gcmodule-threaded", &t), |b| {
            b.iter_custom(|n| timed(n, || gcmodule_threaded::w6(&p)))
        });
    }
    g.finish();
}

fn bench_w7(c: &mut Criterion) {
    let p = w7::Params::bench();
    let heap = Heap::new();
    let mut g = group(c, "W7_self_cycles");
    g.bench_function("gc-core", |b| b.iter(|| black_box(w7::gc_core(&heap, &p))));
    g.bench_function("Rc+Weak", |b| b.iter(|| black_box(w7::rc(&p))));
    g.bench_function("rust-cc", |b| b.iter(|| black_box(rust_cc::w7(&p))));
    g.bench_function("gcmodule", |b| b.iter(|| black_box(gcmodule_cc::w7(&p))));
    g.bench_function("bacon_rajan_cc", |b| b.iter(|| black_box(bacon::w7(&p))));
    g.bench_function("dumpster-unsync", |b| {
        b.iter(|| black_box(dumpster_unsync::w7(&p)))
    });
    g.bench_function("dumpster-sync", |b| {
        b.iter(|| black_box(dumpster_sync::w7(&p)))
    });
    g.finish();
}

fn bench_w8(c: &mut Criterion) {
    let heap = Heap::new();
    let mut g = group(c, "W8_parallel_trees");
    for threads in [1, 2] {
        let p = w8::Params::with_threads(threads);
        let t = if threads == 1 {
            "1 thread".to_owned()
        } else {
            format!("{threads} threads")
        };
        g.bench_function(BenchmarkId::new("gc-core", &t), |b| {
            b.iter(|| black_box(w8::gc_core(&heap, &p)))
        });
        g.bench_function(BenchmarkId::new("Arc", &t), |b| {
            b.iter(|| black_box(w8::arc(&p)))
        });
        g.bench_function(BenchmarkId::new("dumpster-sync", &t), |b| {
            b.iter(|| black_box(dumpster_sync::w8(&p)))
        });
        g.bench_function(BenchmarkId::new("gcmodule-threaded", &t), |b| {
            b.iter(|| black_box(gcmodule_threaded::w8(&p)))
        });
    }
    g.finish();
}

fn bench_w11(c: &mut Criterion) {
    let heap = Heap::new();
    let mut g = group(c, "W11_shared_globals");
    for threads in [1, 2] {
        let p = w11::Params::with_threads(threads);
        let t = if threads == 1 {
            "1 thread".to_owned()
        } else {
            format!("{threads} threads")
        };
        g.bench_function(BenchmarkId::new("gc-core", &t), |b| {
            b.iter(|| black_box(w11::gc_core(&heap, &p, false)))
        });
        g.bench_function(BenchmarkId::new("gc-core immortal", &t), |b| {
            b.iter(|| black_box(w11::gc_core(&heap, &p, true)))
        });
        g.bench_function(BenchmarkId::new("Arc", &t), |b| {
            b.iter(|| black_box(w11::arc(&p)))
        });
    }
    g.finish();
}

fn summary(_: &mut Criterion) {
    let group = |name, anchor| Group { name, anchor };
    ratios::print(&[
        group("W1_linked_lists", Some("Rc+Weak")),
        group("W2_binary_trees", Some("Rc")),
        group("W3_parent_trees", Some("Rc+Weak")),
        group("W4_stress_graph", None),
        group("W5_churn", Some("Arc")),
        group("W6_threaded_churn", Some("Arc")),
        group("W7_self_cycles", Some("Rc+Weak")),
        group("W8_parallel_trees", Some("Arc")),
        group("W11_shared_globals", Some("Arc")),
    ]);
}

criterion_group! {
    name = workloads;
    config = Criterion::default().without_plots();
    targets = ratios::mark_start, bench_w1, bench_w2, bench_w3, bench_w4, bench_w5, bench_w6,
        bench_w7, bench_w8, bench_w11, summary
}
criterion_main!(workloads);
