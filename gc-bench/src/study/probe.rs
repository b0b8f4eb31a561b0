//! What one study run records while it runs: the start and end of every collection (through
//! `Heap::add_callback`), the heap's pause histograms and statistics from the start of the
//! measured phase, the live-object peak, and the wall-clock budget.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gc_core::{CollectionInfo, GenerationStats, Heap, Phase};

use super::live;

/// One collection as seen by the callbacks, in ns from the start of the measured phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    /// When the `Start` callback ran.
    pub start: u64,
    /// When the `Stop` callback ran.
    pub end: u64,
    /// Time the world was stopped (`CollectionInfo::pause`).
    pub pause: u64,
    /// Of that, the wait for safepoints.
    pub time_to_safepoint: u64,
    pub generation: usize,
    pub examined: usize,
    pub collected: usize,
}

#[derive(Default)]
struct Log {
    origin: Option<Instant>,
    open: Option<Instant>,
    collections: Vec<Collection>,
    /// `Start` callbacks never followed by a `Stop`: collections abandoned because a thread
    /// did not reach a safepoint in time (gc-core reports no `Stop` for them).
    unmatched_starts: u64,
}

impl Log {
    fn on(&mut self, phase: Phase, info: &CollectionInfo) {
        let now = Instant::now();
        match phase {
            Phase::Start => {
                if self.open.replace(now).is_some() {
                    self.unmatched_starts += 1;
                }
            }
            Phase::Stop => {
                let start = self
                    .open
                    .take()
                    .unwrap_or_else(|| now.checked_sub(info.duration).unwrap_or(now));
                let Some(origin) = self.origin else { return };
                let ns = |t: Instant| t.saturating_duration_since(origin).as_nanos() as u64;
                self.collections.push(Collection {
                    start: ns(start),
                    end: ns(now),
                    pause: info.pause.as_nanos() as u64,
                    time_to_safepoint: info.time_to_safepoint.as_nanos() as u64,
                    generation: info.generation,
                    examined: info.examined,
                    collected: info.collected,
                });
            }
        }
    }
}

/// The recorder of one run. `Sync`: threads of a multi-threaded shape share it.
pub struct Probe {
    heap: Heap,
    log: Arc<Mutex<Log>>,
    cap: Duration,
    started: OnceLock<Instant>,
    ended: OnceLock<Instant>,
    baseline: Mutex<Vec<GenerationStats>>,
}

/// What the probe saw once the measured phase is over.
pub struct Observed {
    pub elapsed: Duration,
    pub collections: Vec<Collection>,
    pub unmatched_starts: u64,
    /// Heap statistics of the measured phase only.
    pub stats: Vec<GenerationStats>,
    pub histograms: Vec<gc_core::PauseHistograms>,
    pub peak_live: i64,
}

impl Probe {
    /// Registers the callbacks on `heap`. `cap` bounds the measured phase (shapes check
    /// [`expired`](Probe::expired) and stop early).
    pub fn new(heap: &Heap, cap: Duration) -> Probe {
        let log = Arc::new(Mutex::new(Log::default()));
        let sink = log.clone();
        heap.add_callback(move |phase, info| sink.lock().unwrap().on(phase, info));
        Probe {
            heap: heap.clone(),
            log,
            cap,
            started: OnceLock::new(),
            ended: OnceLock::new(),
            baseline: Mutex::new(Vec::new()),
        }
    }

    /// Starts the measured phase: what happened before (a shape's setup) is forgotten.
    pub fn begin(&self) {
        self.heap.reset_pause_histograms();
        *self.baseline.lock().unwrap() = self.heap.stats();
        live::reset_peak();
        let now = Instant::now();
        {
            let mut log = self.log.lock().unwrap();
            log.origin = Some(now);
            log.collections.clear();
            log.unmatched_starts = 0;
        }
        self.started.set(now).expect("a run begins once");
    }

    /// Whether the measured phase has started.
    pub fn has_begun(&self) -> bool {
        self.started.get().is_some()
    }

    /// The start of the measured phase (`begin` must have been called).
    pub fn started(&self) -> Instant {
        *self.started.get().expect("begin() first")
    }

    /// True once the measured phase has used up its budget.
    pub fn expired(&self) -> bool {
        self.started.get().is_some_and(|s| s.elapsed() >= self.cap)
    }

    /// Marks the end of the measured phase (a shape calls it before tearing its roots down;
    /// otherwise [`finish`](Probe::finish) does).
    pub fn end(&self) {
        let _ = self.ended.set(Instant::now());
    }

    /// Ends the measured phase and reports it.
    pub fn finish(&self) -> Observed {
        self.end();
        let elapsed = self.ended.get().unwrap().duration_since(self.started());
        live::flush();
        let baseline = self.baseline.lock().unwrap().clone();
        let stats = self
            .heap
            .stats()
            .iter()
            .zip(
                baseline
                    .iter()
                    .chain(std::iter::repeat(&GenerationStats::default())),
            )
            .map(|(now, before)| GenerationStats {
                collections: now.collections - before.collections,
                collected: now.collected - before.collected,
                uncollectable: now.uncollectable - before.uncollectable,
                examined: now.examined - before.examined,
                pause: now.pause.saturating_sub(before.pause),
                max_pause: now.max_pause,
                time: now.time.saturating_sub(before.time),
                missed: now.missed - before.missed,
            })
            .collect();
        let mut log = self.log.lock().unwrap();
        let mut unmatched_starts = log.unmatched_starts;
        if log.open.is_some() {
            unmatched_starts += 1;
        }
        Observed {
            elapsed,
            collections: std::mem::take(&mut log.collections),
            unmatched_starts,
            stats,
            histograms: self.heap.pause_histograms(),
            peak_live: live::peak(),
        }
    }
}
