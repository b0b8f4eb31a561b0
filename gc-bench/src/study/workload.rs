//! What the study measures: a [`Workload`], run once per setting on a fresh heap, reporting
//! its [`Work`] through the [`Run`] context it is handed.

use gc_core::hdrhistogram::Histogram;
use gc_core::{Heap, Mutator};

use super::probe::Probe;
use super::Mode;

/// A workload the study can measure.
///
/// [`run`](Workload::run) is called once per setting, in a fresh process, on a fresh heap
/// configured for that setting. It sets up what it needs, calls [`Run::begin`] when the
/// measured phase starts (what happened before is forgotten: collections, pauses, the
/// live-object peak), does its work — stopping early once [`Run::expired`] — and calls
/// [`Run::end`] before tearing down. Its types may carry a [`Live`](super::Live) token to
/// have their peak live objects reported.
pub trait Workload: Send + Sync {
    /// A short name: the `shape` column of `results.csv` and the plots' file names.
    fn name(&self) -> &str;

    /// One line for the summary's headings and the plots' titles.
    fn describe(&self) -> String {
        self.name().to_owned()
    }

    /// What one operation is, plural: the unit of throughput (`requests` → requests/s).
    fn op_unit(&self) -> &str {
        "ops"
    }

    /// What one run does at `mode`'s size, for the summary (empty: nothing to say).
    fn size(&self, mode: Mode) -> String {
        let _ = mode;
        String::new()
    }

    /// Does the work on `heap`.
    fn run(&self, heap: &Heap, run: &Run<'_>) -> Work;
}

/// What a workload did in its measured phase.
#[derive(Debug, Default)]
pub struct Work {
    /// Operations done (the unit is [`Workload::op_unit`]).
    pub ops: u64,
    /// Stopped at the wall-clock budget before doing all its work.
    pub capped: bool,
    /// Latency of each operation in ns, if the workload times them (the server shape times
    /// its requests).
    pub latency: Option<Histogram<u64>>,
    /// A checksum of values read, so the work cannot be optimised away.
    pub checksum: u64,
}

/// The context of one run: its size, seed and wall-clock budget, and the marks of its
/// measured phase.
pub struct Run<'a> {
    pub(super) probe: &'a Probe,
    pub(super) mode: Mode,
    pub(super) seed: u64,
}

impl Run<'_> {
    /// The study's mode: how big the work should be.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The seed for the workload's random choices.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Starts the measured phase; call it once.
    pub fn begin(&self) {
        self.probe.begin();
    }

    /// True once the measured phase has used up the run's budget.
    pub fn expired(&self) -> bool {
        self.probe.expired()
    }

    /// Ends the measured phase (otherwise it ends when `run` returns).
    pub fn end(&self) {
        self.probe.end();
    }
}

/// A workload made of a function of an attached thread ([`from_fn`]).
pub struct FnWorkload<F> {
    name: String,
    op_unit: String,
    f: F,
}

/// A workload from `f`, which runs attached as `m` and returns the operations it did; all of
/// `f` is measured, and the run counts as capped if it returns after the budget ran out.
pub fn from_fn<F>(name: &str, op_unit: &str, f: F) -> FnWorkload<F>
where
    F: Fn(&Mutator, &Run<'_>) -> u64 + Send + Sync,
{
    FnWorkload {
        name: name.to_owned(),
        op_unit: op_unit.to_owned(),
        f,
    }
}

impl<F> Workload for FnWorkload<F>
where
    F: Fn(&Mutator, &Run<'_>) -> u64 + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn op_unit(&self) -> &str {
        &self.op_unit
    }

    fn run(&self, heap: &Heap, run: &Run<'_>) -> Work {
        let m = heap.attach();
        run.begin();
        let ops = (self.f)(&m, run);
        run.end();
        Work {
            ops,
            capped: run.expired(),
            ..Work::default()
        }
    }
}
