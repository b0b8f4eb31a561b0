//! One run of a workload under one setting, in this process: the heap built for the setting,
//! the workload run while the probe records, and everything measured, as a [`RunResult`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use gc_core::hdrhistogram::Histogram;
use gc_core::Heap;
use serde::{Deserialize, Serialize};

use super::metrics::{cdf, Interval, Mmu, Percentiles};
use super::probe::{self, Probe};
use super::workload::{Run, Workload};
use super::{Mode, Setting};

/// What one run is asked to do (sent to a child process as JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    /// The workload's name.
    pub shape: String,
    pub setting: Setting,
    pub mode: Mode,
    pub cap_ms: u64,
    pub seed: u64,
    /// Write every collection of the measured phase to this CSV file.
    #[serde(default)]
    pub trace: Option<PathBuf>,
}

/// Everything measured in one run (one workload under one setting). Times in the field names'
/// units; percentiles in ns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// The workload's name.
    pub shape: String,
    pub setting: Setting,
    pub label: String,
    /// Operations done in the measured phase (see [`Workload::op_unit`]).
    pub ops: u64,
    pub elapsed_s: f64,
    pub throughput_ops_s: f64,
    /// Stopped at the wall-clock budget before finishing its work.
    pub capped: bool,
    /// Per generation, measured phase only.
    pub collections: Vec<u64>,
    pub collected: Vec<u64>,
    pub examined: Vec<u64>,
    pub missed: Vec<u64>,
    /// Collection `Start` callbacks without a `Stop` (abandoned waits for safepoints).
    pub unmatched_starts: u64,
    /// Stop-the-world pauses, all generations (gc-core's histograms).
    pub pause: Percentiles,
    pub pause_time_to_safepoint: Percentiles,
    pub pause_work: Percentiles,
    /// Stop-the-world pauses per generation.
    pub pause_by_generation: Vec<Percentiles>,
    /// What gc-core's own `pause_histograms()` held (all generations), to cross-check.
    pub gc_core_histogram: HistogramCheck,
    /// Whole collections as the collecting thread lives them (callback `Start` to `Stop`:
    /// scan, finalizers and tear-down).
    pub collection: Percentiles,
    /// Share of the measured phase spent in collections (callback `Start` to `Stop`).
    pub gc_fraction: f64,
    pub mmu_1ms: f64,
    pub mmu_10ms: f64,
    pub mmu_100ms: f64,
    /// MMU counting only the stops of the world (`Start` + `pause`): what every mutator thread
    /// loses. The `mmu_*` fields also count the collecting thread's finalizers and tear-down,
    /// which in a single-threaded shape is time its only mutator loses too.
    pub mmu_stw_1ms: f64,
    pub mmu_stw_10ms: f64,
    pub mmu_stw_100ms: f64,
    /// `(window ms, mmu)`.
    pub mmu_curve: Vec<(f64, f64)>,
    /// `(pause ms, fraction of pauses ≤)`.
    pub pause_cdf: Vec<(f64, f64)>,
    pub peak_live_objects: i64,
    pub peak_rss_kb: u64,
    pub final_rss_kb: u64,
    /// Per-operation latency, for workloads that time their operations (the server shape's
    /// requests).
    pub request_latency: Option<Percentiles>,
    pub checksum: u64,
}

/// Count and maximum of gc-core's pause histograms for one run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct HistogramCheck {
    pub count: u64,
    pub max_ns: u64,
}

/// A run of the sweep: its result, or why it has none.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// The workload's name.
    pub shape: String,
    pub setting: Setting,
    pub error: String,
}

/// Runs `workload` as `spec` says, in this process.
pub fn run_one(workload: &dyn Workload, spec: &RunSpec) -> Result<RunResult, String> {
    let heap = Heap::with_config(spec.setting.config()).map_err(|e| e.to_string())?;
    let probe = Probe::new(&heap, Duration::from_millis(spec.cap_ms));
    let run = Run {
        probe: &probe,
        mode: spec.mode,
        seed: spec.seed,
    };
    let work = workload.run(&heap, &run);
    if !probe.has_begun() {
        return Err(format!(
            "workload {} returned without calling Run::begin",
            workload.name()
        ));
    }
    let seen = probe.finish();
    let rss = |key| read_status_kb(key).unwrap_or(0);
    let (peak_rss_kb, final_rss_kb) = (rss("VmHWM"), rss("VmRSS"));

    // Pause histograms are built from the collection callbacks, which carry the same pause and
    // time-to-safepoint values gc-core records in `pause_histograms()`. gc-core's own histograms
    // are only cross-checked: they start with a range of 1..2 ns and record with
    // `saturating_record`, which clamps instead of growing, so every pause of 2,048 ns or more
    // lands in their top bucket.
    let generations = seen.stats.len();
    let mut by_gen: Vec<[Histogram<u64>; 3]> = (0..generations)
        .map(|_| [histogram(), histogram(), histogram()])
        .collect();
    let mut wall = histogram();
    let mut intervals = Vec::with_capacity(seen.collections.len());
    let mut stopped = Vec::with_capacity(seen.collections.len());
    for c in &seen.collections {
        let [total, tts, work] = &mut by_gen[c.generation.min(generations - 1)];
        total.saturating_record(c.pause.max(1));
        tts.saturating_record(c.time_to_safepoint.max(1));
        work.saturating_record(c.pause.saturating_sub(c.time_to_safepoint).max(1));
        wall.saturating_record((c.end - c.start).max(1));
        intervals.push(Interval {
            start: c.start,
            end: c.end,
        });
        // The scan stops the world right after the `Start` callback.
        stopped.push(Interval {
            start: c.start,
            end: (c.start + c.pause).min(c.end),
        });
    }
    let merge = |k: usize| {
        let mut all = histogram();
        for h in &by_gen {
            all.add(&h[k]).expect("same range");
        }
        all
    };
    let total = merge(0);
    let gc_core_max = seen
        .histograms
        .iter()
        .map(|h| h.total.max())
        .max()
        .unwrap_or(0);
    let gc_core_count: u64 = seen.histograms.iter().map(|h| h.total.len()).sum();
    if let Some(path) = &spec.trace {
        write_trace(path, &seen.collections)?;
    }
    let elapsed_ns = seen.elapsed.as_nanos() as u64;
    let mmu = Mmu::new(elapsed_ns, &intervals);
    let mmu_stw = Mmu::new(elapsed_ns, &stopped);
    const MS: u64 = 1_000_000;
    let elapsed_s = seen.elapsed.as_secs_f64();
    Ok(RunResult {
        shape: spec.shape.clone(),
        setting: spec.setting,
        label: spec.setting.label(),
        ops: work.ops,
        elapsed_s,
        throughput_ops_s: work.ops as f64 / elapsed_s.max(1e-9),
        capped: work.capped,
        collections: seen.stats.iter().map(|s| s.collections).collect(),
        collected: seen.stats.iter().map(|s| s.collected).collect(),
        examined: seen.stats.iter().map(|s| s.examined).collect(),
        missed: seen.stats.iter().map(|s| s.missed).collect(),
        unmatched_starts: seen.unmatched_starts,
        pause: Percentiles::of(&total),
        pause_time_to_safepoint: Percentiles::of(&merge(1)),
        pause_work: Percentiles::of(&merge(2)),
        pause_by_generation: by_gen.iter().map(|h| Percentiles::of(&h[0])).collect(),
        gc_core_histogram: HistogramCheck {
            count: gc_core_count,
            max_ns: gc_core_max,
        },
        collection: Percentiles::of(&wall),
        gc_fraction: mmu.busy() as f64 / elapsed_ns.max(1) as f64,
        mmu_1ms: mmu.at(MS),
        mmu_10ms: mmu.at(10 * MS),
        mmu_100ms: mmu.at(100 * MS),
        mmu_stw_1ms: mmu_stw.at(MS),
        mmu_stw_10ms: mmu_stw.at(10 * MS),
        mmu_stw_100ms: mmu_stw.at(100 * MS),
        mmu_curve: mmu
            .curve(MS / 10, 10)
            .into_iter()
            .map(|(w, u)| (w as f64 / MS as f64, u))
            .collect(),
        pause_cdf: cdf(&total, 200)
            .into_iter()
            .map(|(v, f)| (v as f64 / MS as f64, f))
            .collect(),
        peak_live_objects: seen.peak_live,
        peak_rss_kb,
        final_rss_kb,
        request_latency: work.latency.as_ref().map(Percentiles::of),
        checksum: work.checksum,
    })
}

/// One line per collection: when it started and ended (ns into the measured phase), its stop
/// of the world, and what it did.
fn write_trace(path: &Path, collections: &[probe::Collection]) -> Result<(), String> {
    #[derive(Serialize)]
    struct Line {
        start_ns: u64,
        end_ns: u64,
        pause_ns: u64,
        time_to_safepoint_ns: u64,
        generation: usize,
        examined: usize,
        collected: usize,
    }
    let err = |e: csv::Error| format!("{}: {e}", path.display());
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    for c in collections {
        w.serialize(Line {
            start_ns: c.start,
            end_ns: c.end,
            pause_ns: c.pause,
            time_to_safepoint_ns: c.time_to_safepoint,
            generation: c.generation,
            examined: c.examined,
            collected: c.collected,
        })
        .map_err(err)?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

/// An empty histogram for nanoseconds, 1 ns to an hour.
pub fn histogram() -> Histogram<u64> {
    // 1 ns to an hour, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("a valid range")
}

/// A `kB` field of `/proc/self/status` (`VmHWM`: peak resident set; `VmRSS`: current).
pub fn read_status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}
