//! Collector throughput against CPython (C1–C4 of gc-bench's README): the same graph shapes
//! built in gc-core (here, in-process) and in CPython (`python/cpython_gc.py`, shipped inside
//! this binary and run with `python3`), one full collection timed in each.
//!
//! | id | graph | timed |
//! |---|---|---|
//! | C1 | a container holding N empty containers (a list of N lists) | a full collection that finds nothing (median of repetitions, after one untimed collection) |
//! | C2 | N objects, all cyclic garbage: rings of 21 doubly linked nodes | the collection that frees them (median over fresh graphs) |
//! | C3 | pyperformance `gc_traversal`: lists of 0 to 999 references to the previous list (499,500 references; the benchmark's first empty list is dropped at level 0, so 1,000 lists stay live) | a full collection that finds nothing |
//! | C4 | N empty containers appended to a root, automatic collection on (default thresholds) | the whole build, and the time spent in collections |
//!
//! gc-core is timed with `Instant` around `Heap::collect`, CPython with `perf_counter_ns`
//! around `gc.collect()`; both build their graphs with automatic collection disabled (except
//! C4). In C1–C3 gc-core scans whole generations, as CPython does; its default scan, from
//! candidates, would find C1 and C3 with nothing to examine. The ratio is CPython's time over gc-core's: above 1, gc-core is faster.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gc_core::{CallbackId, Config, Gc, GcCell, Heap, Phase, PhaseTimes, Scan, Trace};
use serde::{Deserialize, Serialize};

use gc_bench::study::Mode;

/// The CPython script, shipped inside the binary and written next to the results.
pub const SCRIPT: &str = include_str!("../../python/cpython_gc.py");
/// Its file name in the output folder.
pub const SCRIPT_NAME: &str = "cpython_gc.py";

/// A comparison case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Case {
    C1,
    C2,
    C3,
    C4,
}

impl Case {
    pub fn id(self) -> &'static str {
        match self {
            Case::C1 => "C1",
            Case::C2 => "C2",
            Case::C3 => "C3",
            Case::C4 => "C4",
        }
    }

    fn arg(self) -> &'static str {
        match self {
            Case::C1 => "c1",
            Case::C2 => "c2",
            Case::C3 => "c3",
            Case::C4 => "c4",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Case::C1 => "live containers, full collection finds nothing",
            Case::C2 => "all cyclic garbage (rings of 21)",
            Case::C3 => "gc_traversal: 1,000 lists, 499,500 refs",
            Case::C4 => "heap growth, automatic collection on",
        }
    }
}

/// Objects counts and repetitions for a mode.
pub struct Plan {
    pub sizes: Vec<usize>,
    pub reps: fn(Case, usize) -> usize,
}

impl Plan {
    pub fn for_mode(mode: Mode) -> Plan {
        let sizes = match mode {
            Mode::Smoke => vec![10_000],
            Mode::Quick => vec![100_000],
            Mode::Default => vec![100_000, 1_000_000],
            Mode::Full => vec![100_000, 1_000_000, 10_000_000],
        };
        let reps: fn(Case, usize) -> usize = match mode {
            Mode::Smoke => |_, _| 1,
            // Medians over enough repetitions to ride out a shared machine's noise.
            _ => |case, n| match case {
                Case::C1 | Case::C3 => 11,
                Case::C2 if n >= 10_000_000 => 1,
                Case::C2 => 7,
                Case::C4 if n >= 10_000_000 => 1,
                Case::C4 => 3,
            },
        };
        Plan { sizes, reps }
    }

    /// The cases and object counts, in order (C3 has one fixed size).
    pub fn cases(&self) -> Vec<(Case, usize)> {
        let mut out = Vec::new();
        for case in [Case::C1, Case::C2] {
            for &n in &self.sizes {
                out.push((case, n));
            }
        }
        out.push((Case::C3, C3_LISTS));
        for &n in &self.sizes {
            out.push((Case::C4, n));
        }
        out
    }
}

/// One implementation's measurement of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub case: Case,
    pub n: usize,
    /// Objects in the graph (C1: N plus the root; C2: whole rings).
    pub objects: usize,
    /// `cpython <version>` or `gc-core`.
    pub implementation: String,
    /// Collector workers (gc-core), 1 for CPython.
    pub workers: usize,
    pub reps: usize,
    /// Median of the timed repetitions.
    pub time_ns: u64,
    pub times_ns: Vec<u64>,
    pub ns_per_object: f64,
    /// Unreachable objects the (last) timed collection found.
    pub found: usize,
    /// C4: collections per generation during the build.
    pub collections: Option<Vec<u64>>,
    /// C4: time spent in collections during the build (median).
    pub gc_ns: Option<u64>,
    /// gc-core, C1–C3: the timed collections' time by phase.
    pub phases: Option<PhaseSplit>,
}

/// gc-core's time per object in each phase of a collection (`CollectionInfo::phases`), the
/// median over the timed collections of each phase on its own.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PhaseSplit {
    pub take: f64,
    pub subtract: f64,
    pub mark: f64,
    pub relist: f64,
    pub finalize: f64,
    pub teardown: f64,
}

impl PhaseSplit {
    /// The split of `collections` over `objects`.
    fn of(collections: &[PhaseTimes], objects: usize) -> PhaseSplit {
        let per_object = |phase: fn(&PhaseTimes) -> std::time::Duration| {
            let times: Vec<u64> = collections
                .iter()
                .map(|p| phase(p).as_nanos() as u64)
                .collect();
            median(&times) as f64 / objects as f64
        };
        PhaseSplit {
            take: per_object(|p| p.take),
            subtract: per_object(|p| p.subtract),
            mark: per_object(|p| p.mark),
            relist: per_object(|p| p.relist),
            finalize: per_object(|p| p.finalize),
            teardown: per_object(|p| p.teardown),
        }
    }

    /// The phases, named, in order.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("take", self.take),
            ("subtract", self.subtract),
            ("mark", self.mark),
            ("relist", self.relist),
            ("finalize", self.finalize),
            ("teardown", self.teardown),
        ]
    }
}

/// A row of the comparison table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub case: Case,
    pub n: usize,
    pub objects: usize,
    pub cpython_ns_per_object: Option<f64>,
    pub gc_core_1w_ns_per_object: f64,
    pub gc_core_2w_ns_per_object: f64,
    /// CPython time / gc-core time.
    pub ratio_1w: Option<f64>,
    pub ratio_2w: Option<f64>,
    pub cpython_ms: Option<f64>,
    pub gc_core_1w_ms: f64,
    pub gc_core_2w_ms: f64,
    /// C4: time in collections per object.
    pub cpython_gc_ns_per_object: Option<f64>,
    pub gc_core_1w_gc_ns_per_object: Option<f64>,
    pub gc_core_2w_gc_ns_per_object: Option<f64>,
    /// C4: collections per generation.
    pub cpython_collections: Option<Vec<u64>>,
    pub gc_core_1w_collections: Option<Vec<u64>>,
    pub gc_core_2w_collections: Option<Vec<u64>>,
}

/// Where gc-core's objects come from: its pool (objects up to 512 bytes; CPython's pymalloc
/// plays that part there), or without it the system allocator, or mimalloc with
/// `--features mimalloc`.
pub fn allocator(pool: bool) -> &'static str {
    match (pool, cfg!(feature = "mimalloc")) {
        (true, _) => "gc-core's pool",
        (false, true) => "mimalloc",
        (false, false) => "the system allocator",
    }
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// `Python 3.11.7`, or why CPython was not measured.
    pub python: Result<String, String>,
    /// Where gc-core's objects come from: [`allocator`].
    pub allocator: String,
    pub measurements: Vec<Measurement>,
    pub rows: Vec<Row>,
}

// ---------------------------------------------------------------------------------------------
// gc-core's side.

/// A container: CPython's list.
#[derive(Trace)]
struct List {
    items: Vec<Gc<List>>,
}

/// pyperformance's `Node`: next and previous, both strong.
#[derive(Trace)]
struct RingNode {
    next: GcCell<Option<Gc<RingNode>>>,
    prev: GcCell<Option<Gc<RingNode>>>,
}

/// Lists alive in C3.
const C3_LISTS: usize = 1_000;

/// Nodes per ring in C2.
const RING: usize = 21;

/// The heap for `case`: C1–C3 time the scan CPython makes, of whole generations
/// (`Scan::Generations`) — with gc-core's default candidate scan, C1 and C3 have nothing to
/// examine and cost nothing, and C2 examines the same rings. C4 times the default
/// configuration, whose automatic collections are what it measures.
fn heap(case: Case, workers: usize, pool: bool) -> Heap {
    let config = Config::default().workers(workers).pool(pool);
    let config = match case {
        Case::C4 => config,
        Case::C1 | Case::C2 | Case::C3 => config.scan(Scan::Generations),
    };
    Heap::with_config(config).expect("a valid configuration")
}

fn median(times: &[u64]) -> u64 {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn timed_collect(heap: &Heap) -> (u64, usize) {
    let t = Instant::now();
    let found = heap.collect();
    (t.elapsed().as_nanos() as u64, found)
}

/// The phase times of every collection of `heap` from now on, until the callback returned is
/// removed.
fn record_phases(heap: &Heap) -> (Arc<Mutex<Vec<PhaseTimes>>>, CallbackId) {
    let phases = Arc::new(Mutex::new(Vec::new()));
    let sink = phases.clone();
    let id = heap.add_callback(move |phase, info| {
        if phase == Phase::Stop {
            sink.lock().expect("not poisoned").push(info.phases);
        }
    });
    (phases, id)
}

/// Measures `case` on gc-core with `workers` collector workers, its objects from the pool or
/// not.
pub fn gc_core(case: Case, n: usize, workers: usize, reps: usize, pool: bool) -> Measurement {
    let heap = heap(case, workers, pool);
    let m = heap.attach();
    let mut times = Vec::with_capacity(reps);
    let mut found = 0;
    let mut collections = None;
    let mut gc_ns = None;
    let mut phases = None;
    let objects;
    match case {
        Case::C1 => {
            heap.disable();
            let items: Vec<Gc<List>> = (0..n)
                .map(|_| m.alloc(List { items: Vec::new() }))
                .collect();
            let root = m.alloc(List { items });
            heap.collect();
            let (recorded, _) = record_phases(&heap);
            for _ in 0..reps {
                let (t, f) = timed_collect(&heap);
                times.push(t);
                found = f;
            }
            objects = root.items.len() + 1;
            phases = Some(PhaseSplit::of(
                &recorded.lock().expect("not poisoned"),
                objects,
            ));
        }
        Case::C2 => {
            heap.disable();
            let rings = (n / RING).max(1);
            objects = rings * RING;
            let mut timed = Vec::with_capacity(reps);
            for _ in 0..reps {
                heap.collect();
                {
                    let mut firsts = Vec::with_capacity(rings);
                    for _ in 0..rings {
                        let first = m.alloc(RingNode {
                            next: GcCell::new(None),
                            prev: GcCell::new(None),
                        });
                        let mut current = first.clone();
                        for _ in 1..RING {
                            let next = m.alloc(RingNode {
                                next: GcCell::new(None),
                                prev: GcCell::new(Some(current.clone())),
                            });
                            current.next.set(Some(next.clone()));
                            current = next;
                        }
                        current.next.set(Some(first.clone()));
                        first.prev.set(Some(current));
                        firsts.push(first);
                    }
                }
                let (recorded, id) = record_phases(&heap);
                let (t, f) = timed_collect(&heap);
                times.push(t);
                found = f;
                heap.remove_callback(id);
                timed.extend(recorded.lock().expect("not poisoned").iter().copied());
            }
            phases = Some(PhaseSplit::of(&timed, objects));
        }
        Case::C3 => {
            heap.disable();
            let mut current = m.alloc(List { items: Vec::new() });
            for level in 0..1000 {
                let items = vec![current; level];
                current = m.alloc(List { items });
            }
            objects = C3_LISTS;
            heap.collect();
            let (recorded, _) = record_phases(&heap);
            for _ in 0..reps {
                let (t, f) = timed_collect(&heap);
                times.push(t);
                found = f;
            }
            phases = Some(PhaseSplit::of(
                &recorded.lock().expect("not poisoned"),
                objects,
            ));
            drop(current);
        }
        Case::C4 => {
            objects = n;
            let spent = Arc::new(AtomicU64::new(0));
            let sink = spent.clone();
            heap.add_callback(move |phase, info| {
                if phase == Phase::Stop {
                    sink.fetch_add(info.duration.as_nanos() as u64, Ordering::Relaxed);
                }
            });
            let mut gc_times = Vec::with_capacity(reps);
            for _ in 0..reps {
                heap.disable();
                heap.collect();
                heap.enable();
                let before: Vec<u64> = heap.stats().iter().map(|s| s.collections).collect();
                spent.store(0, Ordering::Relaxed);
                let t = Instant::now();
                let mut root = Vec::new();
                for _ in 0..n {
                    root.push(m.alloc(List { items: Vec::new() }));
                }
                times.push(t.elapsed().as_nanos() as u64);
                heap.disable();
                gc_times.push(spent.load(Ordering::Relaxed));
                collections = Some(
                    heap.stats()
                        .iter()
                        .zip(before)
                        .map(|(s, b)| s.collections - b)
                        .collect(),
                );
                drop(root);
            }
            gc_ns = Some(median(&gc_times));
        }
    }
    drop(m);
    let time_ns = median(&times);
    Measurement {
        case,
        n,
        objects,
        implementation: "gc-core".into(),
        workers,
        reps,
        time_ns,
        times_ns: times,
        ns_per_object: time_ns as f64 / objects as f64,
        found,
        collections,
        gc_ns,
        phases,
    }
}

// ---------------------------------------------------------------------------------------------
// CPython's side.

#[derive(Deserialize)]
struct PyResult {
    objects: usize,
    times_ns: Vec<u64>,
    found: usize,
    gc_ns: Option<Vec<u64>>,
    collections: Option<Vec<u64>>,
    version: String,
}

/// The interpreter's version (`Python 3.11.7`), or why it cannot be run.
pub fn python_version(python: &str) -> Result<String, String> {
    match Command::new(python).arg("--version").output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            let text = if text.is_empty() {
                String::from_utf8_lossy(&out.stderr).trim().to_owned()
            } else {
                text
            };
            Ok(text)
        }
        Ok(out) => Err(format!("`{python} --version` failed ({})", out.status)),
        Err(e) => Err(format!("`{python}` cannot be run: {e}")),
    }
}

/// Measures `case` on CPython by running the script at `script`.
pub fn cpython(
    python: &str,
    script: &Path,
    case: Case,
    n: usize,
    reps: usize,
) -> Result<Measurement, String> {
    let out = Command::new(python)
        .arg(script)
        .args([case.arg(), &n.to_string(), &reps.to_string()])
        .output()
        .map_err(|e| format!("`{python}` cannot be run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{python} {} {} failed: {}",
            case.arg(),
            n,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r: PyResult = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("unreadable output of {SCRIPT_NAME} ({e}): {stdout}"))?;
    let time_ns = median(&r.times_ns);
    Ok(Measurement {
        case,
        n,
        objects: r.objects,
        implementation: format!("cpython {}", r.version),
        workers: 1,
        reps,
        time_ns,
        ns_per_object: time_ns as f64 / r.objects as f64,
        times_ns: r.times_ns,
        found: r.found,
        collections: r.collections,
        gc_ns: r.gc_ns.as_deref().map(median),
        phases: None,
    })
}

// ---------------------------------------------------------------------------------------------

/// Runs the comparison: for every case, CPython (if it can be run), then gc-core with 1 and 2
/// workers, its objects from its pool or not. `script_dir` receives the script; `progress` is
/// told about each step.
pub fn compare(
    mode: Mode,
    python: &str,
    pool: bool,
    script_dir: &Path,
    mut progress: impl FnMut(&str),
) -> Comparison {
    let plan = Plan::for_mode(mode);
    let script = script_dir.join(SCRIPT_NAME);
    let mut python_status = python_version(python);
    if python_status.is_ok() {
        if let Err(e) = std::fs::write(&script, SCRIPT) {
            python_status = Err(format!("cannot write {}: {e}", script.display()));
        }
    }
    let mut measurements = Vec::new();
    let mut rows = Vec::new();
    for (case, n) in plan.cases() {
        let reps = (plan.reps)(case, n);
        progress(&format!("{} N={n}", case.id()));
        let py = match &python_status {
            Ok(_) => match cpython(python, &script, case, n, reps) {
                Ok(m) => Some(m),
                Err(e) => {
                    progress(&format!("CPython {} N={n}: {e}", case.id()));
                    None
                }
            },
            Err(_) => None,
        };
        let w1 = gc_core(case, n, 1, reps, pool);
        let w2 = gc_core(case, n, 2, reps, pool);
        let ratio = |w: &Measurement| {
            py.as_ref()
                .map(|p| p.time_ns as f64 / w.time_ns.max(1) as f64)
        };
        let per_object = |m: &Measurement| m.gc_ns.map(|g| g as f64 / m.objects as f64);
        rows.push(Row {
            case,
            n,
            objects: w1.objects,
            cpython_ns_per_object: py.as_ref().map(|p| p.ns_per_object),
            gc_core_1w_ns_per_object: w1.ns_per_object,
            gc_core_2w_ns_per_object: w2.ns_per_object,
            ratio_1w: ratio(&w1),
            ratio_2w: ratio(&w2),
            cpython_ms: py.as_ref().map(|p| p.time_ns as f64 / 1e6),
            gc_core_1w_ms: w1.time_ns as f64 / 1e6,
            gc_core_2w_ms: w2.time_ns as f64 / 1e6,
            cpython_gc_ns_per_object: py.as_ref().and_then(per_object),
            gc_core_1w_gc_ns_per_object: per_object(&w1),
            gc_core_2w_gc_ns_per_object: per_object(&w2),
            cpython_collections: py.as_ref().and_then(|p| p.collections.clone()),
            gc_core_1w_collections: w1.collections.clone(),
            gc_core_2w_collections: w2.collections.clone(),
        });
        measurements.extend(py);
        measurements.push(w1);
        measurements.push(w2);
    }
    Comparison {
        python: python_status,
        allocator: allocator(pool).to_string(),
        measurements,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_core_cases_find_what_they_should() {
        let c1 = gc_core(Case::C1, 1_000, 1, 1, true);
        assert_eq!((c1.objects, c1.found), (1_001, 0));
        // The phases of the timed collection, not of the untimed ones around it.
        let split = c1.phases.unwrap();
        let timed = c1.time_ns as f64 / c1.objects as f64;
        let phases: f64 = split.named().iter().map(|(_, t)| t).sum();
        assert!(phases > 0.0 && phases <= timed, "{split:?} of {timed} ns");
        let c2 = gc_core(Case::C2, 2_100, 2, 2, true);
        assert_eq!((c2.objects, c2.found), (2_100, 2_100));
        let c3 = gc_core(Case::C3, C3_LISTS, 1, 1, true);
        assert_eq!((c3.objects, c3.found), (C3_LISTS, 0));
        let c4 = gc_core(Case::C4, 10_000, 1, 1, true);
        let collections = c4.collections.unwrap();
        assert!(collections[0] > 0, "{collections:?}");
    }

    #[test]
    fn median_takes_the_middle() {
        assert_eq!(median(&[5, 1, 3]), 3);
        assert_eq!(median(&[7]), 7);
    }
}
