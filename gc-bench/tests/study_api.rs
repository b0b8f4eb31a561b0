//! The study as a library: a workload of the test's own, run in this process over a small
//! grid, written out as the binary writes its shapes.

use std::path::PathBuf;
use std::time::Duration;

use gc_bench::study::{from_fn, Live, Mode, Run, Setting, Study, Work, Workload};
use gc_core::{Gc, GcCell, Heap, Mutator, Trace};

#[derive(Trace)]
struct Node {
    next: GcCell<Option<Gc<Node>>>,
    #[gc(skip)]
    _live: Live,
}

fn node(m: &Mutator) -> Gc<Node> {
    m.alloc(Node {
        next: GcCell::new(None),
        _live: Live::new(),
    })
}

/// 20,000 two-node cycles, 500 of them kept.
fn pairs(m: &Mutator, _: &Run<'_>) -> u64 {
    let mut kept = Vec::new();
    for i in 0..20_000 {
        let (a, b) = (node(m), node(m));
        a.next.set(Some(b.clone()));
        b.next.set(Some(a.clone()));
        if i % 40 == 0 {
            kept.push(a);
        }
    }
    20_000
}

/// A workload that forgets to start its measured phase.
struct Unmeasured;

impl Workload for Unmeasured {
    fn name(&self) -> &str {
        "unmeasured"
    }

    fn run(&self, _: &Heap, _: &Run<'_>) -> Work {
        Work::default()
    }
}

fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gc-bench-study-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_workload_of_ones_own_is_studied_and_written_out() {
    let dir = out_dir();
    let setting = |t0, workers| Setting {
        thresholds: [t0, 10, 10],
        workers,
        ..Setting::default()
    };
    let sweep = Study::new(Mode::Smoke)
        .workload(from_fn("pairs", "cycles", pairs))
        .workload(Unmeasured)
        .grid([setting(700, 1), setting(100, 2)])
        .cap(Duration::from_secs(5))
        .in_process()
        .run(&dir)
        .unwrap();

    assert_eq!(sweep.results.len(), 2);
    for r in &sweep.results {
        assert_eq!(r.shape, "pairs");
        assert_eq!(r.ops, 20_000);
        assert!(!r.capped);
        let collections: u64 = r.collections.iter().sum();
        assert!(collections > 0, "{:?}", r.collections);
        assert_eq!(r.pause.count, collections);
        let collected: u64 = r.collected.iter().sum();
        assert!(collected >= 30_000, "collected {collected}");
        // 500 cycles are kept, and the garbage never piles up far past a few collections' worth.
        assert!(r.peak_live_objects >= 1_000, "{}", r.peak_live_objects);
        assert!(r.peak_live_objects < 20_000, "{}", r.peak_live_objects);
    }
    assert_eq!(sweep.results[1].label, "100/10/10 +25% w2 cand alloc");
    assert_eq!(sweep.failures.len(), 2);
    assert!(sweep.failures[0]
        .error
        .contains("unmeasured returned without calling Run::begin"));

    let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv
        .lines()
        .all(|l| l.starts_with("shape,") || l.starts_with("pairs,")));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["meta"]["workloads"][0]["op_unit"], "cycles");
    assert_eq!(json["failures"].as_array().unwrap().len(), 2);
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("| setting | cycles/s |"), "{summary}");
    assert!(summary.contains("### Runs without a result"));
    for kind in ["pareto", "pauses", "mmu"] {
        let plot = std::fs::read_to_string(dir.join(format!("plots/{kind}-pairs.svg"))).unwrap();
        assert!(plot.starts_with("<svg"));
    }
    assert!(sweep.terminal().contains("pairs"));
    let _ = std::fs::remove_dir_all(&dir);
}
