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

use gc_core::{Config, Scan, Trigger};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

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
    /// long-lived rule on/off, `wN` for N collector workers, then the scan (`cand`: candidates,
    /// `gens`: whole generations) and the trigger (`alloc`: allocations, `cand`: candidates, or
    /// a byte count such as `256KiB`). Settings not said otherwise scan candidates and count
    /// allocations, gc-core's defaults; [`TRIGGERS`] are the triggers crossed with the scans.
    ///
    /// - smoke (tests only): CPython's 700/10/10 +25% w1 gens alloc; 700/10/10 +25% w1 cand
    ///   alloc; 100/2/2 -25% w2 cand cand.
    /// - quick (11 settings): 700/10/10 +25% with 1 and 2 workers; gen-0 thresholds 100, 2,000
    ///   and 10,000 (10/10, +25%, w2); 700/100/100 +25% w2; 700/2/2 -25% w2; CPython's
    ///   700/10/10 +25% w1 gens alloc; at 700/10/10 +25% w2: gens alloc, cand cand, cand 256KiB.
    /// - default (34 settings): gen-0 thresholds 100, 300, 700, 2,000, 10,000, 100,000 (10/10,
    ///   +25%) × 1 and 2 workers; at 700 +25% w2, gen-1/gen-2 thresholds 2/2, 2/100, 100/2,
    ///   100/100; -25% w2: 700/10/10, 700/2/2, 10,000/10/10; CPython's 700/10/10 +25% w1 gens
    ///   alloc; at 700/10/10 and 10,000/10/10 (+25% w2), every other scan × trigger.
    /// - full: gen-0 100 to 100,000 × gen-1/gen-2 2/2 to 100/100 × the rule on/off × 1, 2, 4, …
    ///   up to the core count workers × both scans × the four triggers.
    pub fn grid(self) -> Vec<Setting> {
        let s = |t: [usize; 3], rule: bool, workers: usize| Setting {
            thresholds: t,
            long_lived_rule: rule,
            workers,
            ..Setting::default()
        };
        let with = |setting: Setting, scan: Scan, trigger: Trigger| Setting {
            scan,
            trigger,
            ..setting
        };
        let all_axes = |setting: Setting| {
            SCANS.into_iter().flat_map(move |scan| {
                TRIGGERS
                    .into_iter()
                    .map(move |trigger| with(setting, scan, trigger))
            })
        };
        match self {
            Mode::Smoke => vec![
                Setting::cpython(),
                s([700, 10, 10], true, 1),
                with(
                    s([100, 2, 2], false, 2),
                    Scan::Candidates,
                    Trigger::Candidates,
                ),
            ],
            Mode::Quick => {
                let base = s([700, 10, 10], true, 2);
                vec![
                    s([700, 10, 10], true, 1),
                    base,
                    s([100, 10, 10], true, 2),
                    s([2_000, 10, 10], true, 2),
                    s([10_000, 10, 10], true, 2),
                    s([700, 100, 100], true, 2),
                    s([700, 2, 2], false, 2),
                    Setting::cpython(),
                    with(base, Scan::Generations, Trigger::Allocations),
                    with(base, Scan::Candidates, Trigger::Candidates),
                    with(base, Scan::Candidates, TRIGGERS[2]),
                ]
            }
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
                grid.push(Setting::cpython());
                for t0 in [700, 10_000] {
                    let base = s([t0, 10, 10], true, 2);
                    grid.extend(all_axes(base).filter(|&setting| setting != base));
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
                                grid.extend(all_axes(s([t0, t1, t2], rule, w)));
                            }
                        }
                    }
                }
                grid
            }
        }
    }
}

/// The scans the grids cross.
pub const SCANS: [Scan; 2] = [Scan::Candidates, Scan::Generations];

/// The triggers the grids cross: allocations, candidates, and 256 KiB and 4 MiB of tracked
/// objects allocated (an object's bytes include its 32-byte header, so 256 KiB is a few
/// thousand small objects, near the gen-0 thresholds of 700 to 10,000; 4 MiB some tens of
/// thousands).
pub const TRIGGERS: [Trigger; 4] = [
    Trigger::Allocations,
    Trigger::Candidates,
    Trigger::Bytes(256 << 10),
    Trigger::Bytes(4 << 20),
];

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
    /// Which objects a collection examines; `"candidates"` or `"generations"` in JSON.
    #[serde(serialize_with = "ser_scan", deserialize_with = "de_scan")]
    pub scan: Scan,
    /// What makes a gen-0 collection due; `"allocations"`, `"candidates"` or `"bytes:N"` in
    /// JSON.
    #[serde(serialize_with = "ser_trigger", deserialize_with = "de_trigger")]
    pub trigger: Trigger,
}

impl Default for Setting {
    /// gc-core's defaults with one worker: 700/10/10 +25% w1, candidate scan, allocation
    /// trigger.
    fn default() -> Self {
        Setting {
            thresholds: [700, 10, 10],
            long_lived_rule: true,
            workers: 1,
            scan: Scan::Candidates,
            trigger: Trigger::Allocations,
        }
    }
}

impl Setting {
    /// CPython's collector: 700/10/10, the 25 % rule, one worker, whole generations scanned,
    /// collections due after allocations.
    pub fn cpython() -> Setting {
        Setting {
            scan: Scan::Generations,
            ..Setting::default()
        }
    }

    /// e.g. `700/10/10 +25% w2 cand alloc`: the thresholds, the long-lived rule, the workers,
    /// the scan ([`scan_label`]) and the trigger ([`trigger_label`]).
    pub fn label(&self) -> String {
        let [t0, t1, t2] = self.thresholds;
        format!(
            "{t0}/{t1}/{t2} {}25% w{} {} {}",
            if self.long_lived_rule { '+' } else { '-' },
            self.workers,
            scan_label(self.scan),
            trigger_label(self.trigger)
        )
    }

    /// CPython's thresholds, rule, scan and trigger (any worker count).
    pub fn is_cpython_default(&self) -> bool {
        self.thresholds == [700, 10, 10]
            && self.long_lived_rule
            && self.scan == Scan::Generations
            && self.trigger == Trigger::Allocations
    }

    /// The heap configuration of this setting.
    pub fn config(&self) -> Config {
        Config::default()
            .thresholds(&self.thresholds)
            .workers(self.workers)
            .long_lived_rule(self.long_lived_rule)
            .scan(self.scan)
            .trigger(self.trigger)
    }
}

/// `candidates` or `generations`: a scan's name in `results.csv` and `results.json`.
pub fn scan_name(scan: Scan) -> &'static str {
    match scan {
        Scan::Candidates => "candidates",
        Scan::Generations => "generations",
    }
}

/// `allocations`, `candidates` or `bytes:N`: a trigger's name in `results.csv` and
/// `results.json`.
pub fn trigger_name(trigger: Trigger) -> String {
    match trigger {
        Trigger::Allocations => "allocations".into(),
        Trigger::Candidates => "candidates".into(),
        Trigger::Bytes(n) => format!("bytes:{n}"),
    }
}

/// The scan [`scan_name`] names.
pub fn parse_scan(name: &str) -> Result<Scan, String> {
    match name {
        "candidates" => Ok(Scan::Candidates),
        "generations" => Ok(Scan::Generations),
        _ => Err(format!(
            "unknown scan {name:?}: \"candidates\" or \"generations\""
        )),
    }
}

/// The trigger [`trigger_name`] names.
pub fn parse_trigger(name: &str) -> Result<Trigger, String> {
    match name {
        "allocations" => Ok(Trigger::Allocations),
        "candidates" => Ok(Trigger::Candidates),
        _ => name
            .strip_prefix("bytes:")
            .and_then(|n| n.parse().ok())
            .map(Trigger::Bytes)
            .ok_or_else(|| {
                format!("unknown trigger {name:?}: \"allocations\", \"candidates\" or \"bytes:N\"")
            }),
    }
}

/// `cand` or `gens`: a scan in a setting's label.
pub fn scan_label(scan: Scan) -> &'static str {
    match scan {
        Scan::Candidates => "cand",
        Scan::Generations => "gens",
    }
}

/// `alloc`, `cand`, or a byte count such as `256KiB`: a trigger in a setting's label.
pub fn trigger_label(trigger: Trigger) -> String {
    match trigger {
        Trigger::Allocations => "alloc".into(),
        Trigger::Candidates => "cand".into(),
        Trigger::Bytes(n) if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        Trigger::Bytes(n) if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        Trigger::Bytes(n) => format!("{n}B"),
    }
}

fn ser_scan<S: Serializer>(scan: &Scan, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(scan_name(*scan))
}

fn de_scan<'de, D: Deserializer<'de>>(d: D) -> Result<Scan, D::Error> {
    parse_scan(&String::deserialize(d)?).map_err(de::Error::custom)
}

fn ser_trigger<S: Serializer>(trigger: &Trigger, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&trigger_name(*trigger))
}

fn de_trigger<'de, D: Deserializer<'de>>(d: D) -> Result<Trigger, D::Error> {
    parse_trigger(&String::deserialize(d)?).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_json_with_short_names() {
        for trigger in [
            Trigger::Allocations,
            Trigger::Candidates,
            Trigger::Bytes(256 << 10),
        ] {
            for scan in [Scan::Candidates, Scan::Generations] {
                let setting = Setting {
                    scan,
                    trigger,
                    ..Setting::default()
                };
                let json = serde_json::to_string(&setting).unwrap();
                assert!(
                    json.contains(&format!("\"scan\":\"{}\"", scan_name(scan))),
                    "{json}"
                );
                assert!(
                    json.contains(&format!("\"trigger\":\"{}\"", trigger_name(trigger))),
                    "{json}"
                );
                assert_eq!(serde_json::from_str::<Setting>(&json).unwrap(), setting);
            }
        }
        assert!(trigger_name(Trigger::Bytes(65_536)) == "bytes:65536");
        assert!(parse_trigger("bytes:x").is_err());
        assert!(parse_scan("all").is_err());
    }

    #[test]
    fn labels_are_compact_and_cpython_is_recognised() {
        let cpython = Setting::cpython();
        assert_eq!(cpython.label(), "700/10/10 +25% w1 gens alloc");
        assert!(cpython.is_cpython_default());
        let w2 = Setting {
            workers: 2,
            ..cpython
        };
        assert!(w2.is_cpython_default());
        assert!(!Setting::default().is_cpython_default());
        let bytes = Setting {
            trigger: Trigger::Bytes(4 << 20),
            ..cpython
        };
        assert!(!bytes.is_cpython_default());
        assert_eq!(bytes.label(), "700/10/10 +25% w1 gens 4MiB");
        assert_eq!(trigger_label(Trigger::Bytes(256 << 10)), "256KiB");
        assert_eq!(trigger_label(Trigger::Bytes(1000)), "1000B");
        assert_eq!(
            Setting {
                trigger: Trigger::Candidates,
                ..Setting::default()
            }
            .label(),
            "700/10/10 +25% w1 cand cand"
        );
    }

    #[test]
    fn the_grids_cover_the_axes_as_documented() {
        let combos = |grid: &[Setting]| {
            let mut c: Vec<String> = grid
                .iter()
                .map(|s| format!("{} {}", scan_label(s.scan), trigger_label(s.trigger)))
                .collect();
            c.sort();
            c.dedup();
            c
        };
        let smoke = Mode::Smoke.grid();
        assert_eq!(smoke.len(), 3);
        assert!(smoke.contains(&Setting::cpython()));
        assert!(SCANS
            .iter()
            .all(|&scan| smoke.iter().any(|s| s.scan == scan)));
        let quick = Mode::Quick.grid();
        assert_eq!(quick.len(), 11);
        assert_eq!(
            combos(&quick),
            ["cand 256KiB", "cand alloc", "cand cand", "gens alloc"]
        );
        let default = Mode::Default.grid();
        assert_eq!(default.len(), 34);
        for t0 in [700, 10_000] {
            let at: Vec<Setting> = default
                .iter()
                .copied()
                .filter(|s| s.thresholds == [t0, 10, 10] && s.long_lived_rule && s.workers == 2)
                .collect();
            assert_eq!(at.len(), 8, "{t0}");
            assert_eq!(combos(&at).len(), 8, "{t0}");
        }
        let full = Mode::Full.grid();
        assert_eq!(combos(&full).len(), 8);
        for grid in [smoke, quick, default, full] {
            let mut unique = grid.clone();
            unique.sort_by_key(Setting::label);
            unique.dedup();
            assert_eq!(unique.len(), grid.len(), "a setting twice");
        }
    }

    #[test]
    fn the_config_carries_the_scan_and_the_trigger() {
        let config = Setting {
            trigger: Trigger::Bytes(4096),
            ..Setting::cpython()
        }
        .config();
        assert_eq!(
            config,
            Config::default()
                .thresholds(&[700, 10, 10])
                .workers(1)
                .long_lived_rule(true)
                .scan(Scan::Generations)
                .trigger(Trigger::Bytes(4096))
        );
        assert_ne!(config, Config::default().scan(Scan::Generations).workers(1));
    }
}
