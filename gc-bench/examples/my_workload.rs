//! The threshold study on a workload of your own: a document store that keeps 1,000 documents,
//! each a root whose 20 children point back at it (a cycle), and replaces one per operation.
//!
//! ```text
//! cargo run --release -p gc-bench --example my_workload [-- OUT_DIR]
//! ```
//!
//! Three settings, one second each, every run in a fresh process (this program, started
//! again); the results go to `OUT_DIR` (default `gc-bench-out/my-workload`): `summary.md`,
//! `results.csv`, `results.json` and `plots/`.

use std::path::PathBuf;
use std::time::Duration;

use gc_bench::study::{from_fn, Live, Mode, Run, Setting, Study};
use gc_core::{Gc, GcCell, Mutator, Trace};

#[derive(Trace)]
struct Doc {
    parent: GcCell<Option<Gc<Doc>>>,
    children: GcCell<Vec<Gc<Doc>>>,
    /// Counts the document in the study's peak of live objects.
    #[gc(skip)]
    _live: Live,
}

fn doc(m: &Mutator) -> Gc<Doc> {
    m.alloc(Doc {
        parent: GcCell::new(None),
        children: GcCell::new(Vec::new()),
        _live: Live::new(),
    })
}

/// A document: a root and its children, each pointing back at it.
fn document(m: &Mutator) -> Gc<Doc> {
    let root = doc(m);
    for _ in 0..20 {
        let child = doc(m);
        child.parent.set(Some(root.clone()));
        root.children.borrow_mut().push(child);
    }
    root
}

/// One operation: replace a document of the store. Runs until the study's budget is spent.
fn documents(m: &Mutator, run: &Run<'_>) -> u64 {
    let mut store: Vec<Gc<Doc>> = (0..1_000).map(|_| document(m)).collect();
    let mut ops = 0;
    while !run.expired() {
        let slot = ops % store.len();
        store[slot] = document(m);
        ops += 1;
    }
    ops as u64
}

fn main() -> Result<(), String> {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("gc-bench-out/my-workload"), PathBuf::from);
    let setting = |t0, workers| Setting {
        thresholds: [t0, 10, 10],
        workers,
        ..Setting::default()
    };
    let sweep = Study::new(Mode::Quick)
        .workload(from_fn("documents", "documents", documents))
        .grid([setting(700, 1), setting(100, 1), setting(5_000, 2)])
        .cap(Duration::from_secs(1))
        .run(&out)?;
    println!("{}", sweep.terminal());
    println!("{}", out.join("summary.md").display());
    Ok(())
}
