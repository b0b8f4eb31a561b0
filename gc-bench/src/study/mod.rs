//! The threshold study: every workload shape under every collector setting of the grid, each
//! run in a fresh child process of this binary (`gc-bench run-one`), so that peak resident
//! memory, the world lock and the allocator start clean for every setting.

pub mod live;
pub mod metrics;
pub mod probe;
pub mod shapes;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gc_core::hdrhistogram::Histogram;
use gc_core::{Config, Heap};
use serde::{Deserialize, Serialize};

use self::metrics::{cdf, Interval, Mmu, Percentiles};
use self::shapes::{Shape, Sizes};

/// How big a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Seconds in all: for the integration test.
    Smoke,
    /// Under a minute on a 2-core machine.
    Quick,
    /// A few minutes on a 2-core machine.
    Default,
    /// For bigger machines.
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Smoke => "smoke",
            Mode::Quick => "quick",
            Mode::Default => "default",
            Mode::Full => "full",
        }
    }

    /// Work per run.
    pub fn sizes(self) -> Sizes {
        let threads = match self {
            Mode::Full => cores().max(2),
            _ => 2,
        };
        match self {
            Mode::Smoke => Sizes {
                w3_passes: 1,
                w3_max_depth: 8,
                w5_ops: 30_000,
                w6_ops: 30_000,
                w6_threads: threads,
                w7_iterations: 100_000,
                server_entries: 10_000,
                server_requests: 500,
            },
            Mode::Quick => Sizes {
                w3_passes: 6,
                w3_max_depth: 11,
                w5_ops: 5_000_000,
                w6_ops: 4_000_000,
                w6_threads: threads,
                w7_iterations: 3_000_000,
                server_entries: 100_000,
                server_requests: 60_000,
            },
            Mode::Default => Sizes {
                w3_passes: 15,
                w3_max_depth: 11,
                w5_ops: 15_000_000,
                w6_ops: 10_000_000,
                w6_threads: threads,
                w7_iterations: 8_000_000,
                server_entries: 1_000_000,
                server_requests: 150_000,
            },
            Mode::Full => Sizes {
                w3_passes: 40,
                w3_max_depth: 11,
                w5_ops: 40_000_000,
                w6_ops: 40_000_000,
                w6_threads: threads,
                w7_iterations: 32_000_000,
                server_entries: 2_000_000,
                server_requests: 600_000,
            },
        }
    }

    /// Wall-clock budget of one run's measured phase: a setting that makes a shape crawl
    /// stops there (marked `capped`) instead of holding the sweep up.
    pub fn cap(self) -> Duration {
        Duration::from_secs(match self {
            Mode::Smoke => 1,
            Mode::Quick => 2,
            Mode::Default => 5,
            Mode::Full => 30,
        })
    }

    /// The settings swept, documented in [`GRID_DOC`].
    pub fn grid(self) -> Vec<Setting> {
        let s = |t: [usize; 3], rule: bool, workers: usize| Setting {
            thresholds: t,
            long_lived_rule: rule,
            workers,
        };
        match self {
            Mode::Smoke => vec![s([700, 10, 10], true, 1), s([100, 2, 2], false, 2)],
            Mode::Quick => vec![
                s([700, 10, 10], true, 1),
                s([700, 10, 10], true, 2),
                s([100, 10, 10], true, 2),
                s([2_000, 10, 10], true, 2),
                s([10_000, 10, 10], true, 2),
                s([700, 100, 100], true, 2),
                s([700, 2, 2], false, 2),
            ],
            Mode::Default => {
                let mut grid = Vec::new();
                for t0 in [100, 300, 700, 2_000, 10_000, 100_000] {
                    for workers in [1, 2] {
                        grid.push(s([t0, 10, 10], true, workers));
                    }
                }
                for (t1, t2) in [(2, 2), (2, 100), (100, 2), (100, 100)] {
                    grid.push(s([700, t1, t2], true, 2));
                }
                for t in [[700, 10, 10], [700, 2, 2], [10_000, 10, 10]] {
                    grid.push(s(t, false, 2));
                }
                grid
            }
            Mode::Full => {
                let mut workers = vec![1, 2];
                let mut w = 4;
                while w <= cores() {
                    workers.push(w);
                    w *= 2;
                }
                let mut grid = Vec::new();
                for t0 in [100, 300, 700, 2_000, 10_000, 30_000, 100_000] {
                    for (t1, t2) in [
                        (2, 2),
                        (5, 5),
                        (10, 10),
                        (25, 25),
                        (100, 100),
                        (2, 100),
                        (100, 2),
                    ] {
                        for rule in [true, false] {
                            for &w in &workers {
                                grid.push(s([t0, t1, t2], rule, w));
                            }
                        }
                    }
                }
                grid
            }
        }
    }
}

/// The grids, for the summary.
pub const GRID_DOC: &str = "\
- **smoke** (tests only): 700/10/10 with the 25 % rule and 1 worker; 100/2/2 without it, 2 workers.
- **quick** (7 settings per shape): 700/10/10 +25 % with 1 and 2 workers; gen-0 threshold 100, 2,000 and 10,000 (10/10, +25 %, 2 workers); 700/100/100 +25 % (2 workers); 700/2/2 without the 25 % rule (2 workers).
- **default** (19 settings per shape): gen-0 threshold 100, 300, 700, 2,000, 10,000, 100,000 (gen 1/2 at 10/10, +25 %) × 1 and 2 workers; at 700 with +25 % and 2 workers, gen-1/gen-2 thresholds 2/2, 2/100, 100/2, 100/100; without the 25 % rule (2 workers): 700/10/10, 700/2/2, 10,000/10/10.
- **full**: gen-0 100, 300, 700, 2,000, 10,000, 30,000, 100,000 × gen-1/gen-2 2/2, 5/5, 10/10, 25/25, 100/100, 2/100, 100/2 × the 25 % rule on/off × 1, 2, 4, … up to the core count workers.";

/// Cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One collector setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Setting {
    pub thresholds: [usize; 3],
    pub long_lived_rule: bool,
    pub workers: usize,
}

impl Setting {
    /// e.g. `700/10/10 +25% w2`.
    pub fn label(&self) -> String {
        let [t0, t1, t2] = self.thresholds;
        format!(
            "{t0}/{t1}/{t2} {}25% w{}",
            if self.long_lived_rule { '+' } else { '-' },
            self.workers
        )
    }

    /// CPython's thresholds and rule (any worker count).
    pub fn is_cpython_default(&self) -> bool {
        self.thresholds == [700, 10, 10] && self.long_lived_rule
    }

    pub fn config(&self) -> Config {
        Config::default()
            .thresholds(&self.thresholds)
            .workers(self.workers)
            .long_lived_rule(self.long_lived_rule)
    }
}

/// What a child process is asked to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSpec {
    pub shape: Shape,
    pub setting: Setting,
    pub sizes: Sizes,
    pub cap_ms: u64,
    pub seed: u64,
    /// Write every collection of the measured phase to this CSV file.
    #[serde(default)]
    pub trace: Option<std::path::PathBuf>,
}

/// Everything measured in one run (one shape under one setting). Times in the field names'
/// units; percentiles in ns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub shape: Shape,
    pub setting: Setting,
    pub label: String,
    /// Operations done in the measured phase (see `Shape::op_unit`).
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
    /// Server only: per-request latency.
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
    pub shape: Shape,
    pub setting: Setting,
    pub error: String,
}

/// Runs one spec in this process (the child side of `run-one`).
pub fn run_one(spec: &RunSpec) -> Result<RunResult, String> {
    let heap = Heap::with_config(spec.setting.config()).map_err(|e| e.to_string())?;
    let probe = probe::Probe::new(&heap, Duration::from_millis(spec.cap_ms));
    let work = shapes::run(spec.shape, &heap, &spec.sizes, spec.seed, &probe);
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
        shape: spec.shape,
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

pub(crate) fn histogram() -> Histogram<u64> {
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

/// The marker before a child's result on its standard output.
pub const RESULT_PREFIX: &str = "RESULT ";

/// Runs `spec` in a child process of this binary, its standard error appended to `log`.
pub fn run_child(spec: &RunSpec, log: &Path, timeout: Duration) -> Result<RunResult, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new(exe)
        .args(["run-one", "--spec", &json])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .map_err(|e| format!("cannot start a run: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix(RESULT_PREFIX).map(str::to_owned))
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Err(format!("timed out after {:.0} s", timeout.as_secs_f64()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for a run: {e}")),
        }
    };
    let line = reader.join().ok().flatten();
    match line {
        Some(json) if status.success() => {
            serde_json::from_str(&json).map_err(|e| format!("unreadable result: {e}"))
        }
        _ => Err(format!("the run failed ({status}); see {}", log.display())),
    }
}
