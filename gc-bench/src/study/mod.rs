//! The threshold study as a library: any [`Workload`] under a grid of collector settings
//! (generation thresholds, the 25 % long-lived rule, collector workers), measured for
//! throughput, stop-the-world pauses, minimum mutator utilisation and memory, written as
//! `results.csv`/`results.json`, a Markdown summary and SVG plots.
//!
//! The `gc-bench` binary studies its built-in [`shapes`] with it; a program studies its own
//! workload the same way:
//!
//! ```no_run
//! use gc_bench::study::{self, Mode, Study};
//! use gc_core::{Gc, GcCell, Mutator, Trace};
//!
//! #[derive(Trace)]
//! struct Node {
//!     next: GcCell<Option<Gc<Node>>>,
//! }
//!
//! /// Two-node cycles until the budget is spent; one operation is one cycle.
//! fn pairs(m: &Mutator, run: &study::Run<'_>) -> u64 {
//!     let mut ops = 0;
//!     while !run.expired() {
//!         let a = m.alloc(Node { next: GcCell::new(None) });
//!         let b = m.alloc(Node { next: GcCell::new(Some(a.clone())) });
//!         a.next.set(Some(b));
//!         ops += 1;
//!     }
//!     ops
//! }
//!
//! fn main() -> Result<(), String> {
//!     let sweep = Study::new(Mode::Quick)
//!         .workload(study::from_fn("pairs", "cycles", pairs))
//!         .run("pairs-study")?;
//!     println!("{}", sweep.terminal());
//!     Ok(())
//! }
//! ```
//!
//! Each run goes to a fresh child process — this same program, started again with the same
//! arguments and told through the environment which run to do — so that peak resident memory,
//! the world lock and the allocator start clean for every setting. [`Study::run`] does that
//! run in the child and exits there; a program that does other work before it calls
//! [`Study::serve_child`] first.
//!
//! | module | one idea |
//! |---|---|
//! | [`workload`] | what the study measures: the [`Workload`] trait, its [`Run`] context |
//! | [`sweep`] | the [`Study`] builder, the child processes, the [`Sweep`] it returns |
//! | [`measure`] | one run in this process: the [`RunResult`] |
//! | [`probe`] | what a run records while it runs |
//! | [`live`] | a process-wide count of live objects that carry a [`Live`] token |
//! | [`metrics`] | MMU, percentiles, the Pareto frontier |
//! | [`report`], [`plots`] | CSV, JSON, Markdown and SVG |
//! | [`shapes`] | the built-in shapes W3, W5, W6, W7, server and interp |

pub mod live;
pub mod measure;
pub mod metrics;
pub mod plots;
pub mod probe;
pub mod report;
pub mod shapes;
pub mod sweep;
pub mod workload;

use std::time::Duration;

use gc_core::Config;
use serde::{Deserialize, Serialize};

pub use self::live::Live;
pub use self::measure::{Failure, RunResult};
pub use self::sweep::{Study, Sweep};
pub use self::workload::{from_fn, Run, Work, Workload};

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
    /// `smoke`, `quick`, `default` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Smoke => "smoke",
            Mode::Quick => "quick",
            Mode::Default => "default",
            Mode::Full => "full",
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

    /// The settings swept by default. Settings read `gen0/gen1/gen2`, `+25%`/`-25%` for the
    /// long-lived rule on/off, `wN` for N collector workers.
    ///
    /// - smoke (tests only): 700/10/10 +25% w1; 100/2/2 -25% w2.
    /// - quick (7 settings): 700/10/10 +25% with 1 and 2 workers; gen-0 thresholds 100, 2,000
    ///   and 10,000 (10/10, +25%, w2); 700/100/100 +25% w2; 700/2/2 -25% w2.
    /// - default (19 settings): gen-0 thresholds 100, 300, 700, 2,000, 10,000, 100,000 (10/10,
    ///   +25%) × 1 and 2 workers; at 700 +25% w2, gen-1/gen-2 thresholds 2/2, 2/100, 100/2,
    ///   100/100; -25% w2: 700/10/10, 700/2/2, 10,000/10/10.
    /// - full: gen-0 100 to 100,000 × gen-1/gen-2 2/2 to 100/100 × the rule on/off × 1, 2, 4, …
    ///   up to the core count workers.
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

    /// The heap configuration of this setting.
    pub fn config(&self) -> Config {
        Config::default()
            .thresholds(&self.thresholds)
            .workers(self.workers)
            .long_lived_rule(self.long_lived_rule)
    }
}
