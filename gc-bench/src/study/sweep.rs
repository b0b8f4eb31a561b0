//! The [`Study`] builder: every workload under every setting of a grid, each run in a fresh
//! child process, written out as the [`Sweep`] it returns.
//!
//! A child is this same program started again with the same arguments and, in the environment
//! variable [`CHILD_ENV`], the [`RunSpec`] of its one run. Building the same study and calling
//! [`Study::run`] (or [`Study::serve_child`]) there runs it, prints its [`RunResult`] as one
//! JSON line after [`RESULT_PREFIX`] and exits; its standard error goes to `runs.log` in the
//! output folder.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};

use super::measure::{self, Failure, RunResult, RunSpec};
use super::report::{self, Meta, WorkloadInfo};
use super::workload::Workload;
use super::{cores, Mode, Setting};
use crate::workloads::SEED;

/// The environment variable that makes a process a child run of a sweep.
pub const CHILD_ENV: &str = "GC_BENCH_STUDY_RUN";

/// The marker before a child's result on its standard output.
pub const RESULT_PREFIX: &str = "RESULT ";

/// A threshold study: workloads, the settings to run them under, and how.
pub struct Study {
    workloads: Vec<Box<dyn Workload>>,
    mode: Mode,
    grid: Vec<Setting>,
    cap: Duration,
    seed: u64,
    traces: bool,
    in_process: bool,
}

/// What a study measured, as written to its output folder.
#[derive(Debug)]
pub struct Sweep {
    /// One per workload and setting that produced a result, in the order run.
    pub results: Vec<RunResult>,
    /// The runs without a result, and why.
    pub failures: Vec<Failure>,
    pub meta: Meta,
    /// The study's Markdown (the body of `summary.md`).
    pub markdown: String,
}

impl Study {
    /// A study without workloads, with `mode`'s grid ([`Mode::grid`]) and budget per run
    /// ([`Mode::cap`]).
    pub fn new(mode: Mode) -> Study {
        Study {
            workloads: Vec::new(),
            mode,
            grid: mode.grid(),
            cap: mode.cap(),
            seed: SEED,
            traces: false,
            in_process: false,
        }
    }

    /// Adds a workload; they run in the order added.
    pub fn workload(mut self, workload: impl Workload + 'static) -> Study {
        self.workloads.push(Box::new(workload));
        self
    }

    /// Replaces the settings to run every workload under.
    pub fn grid(mut self, settings: impl IntoIterator<Item = Setting>) -> Study {
        self.grid = settings.into_iter().collect();
        self
    }

    /// Replaces the wall-clock budget of one run's measured phase.
    pub fn cap(mut self, cap: Duration) -> Study {
        self.cap = cap;
        self
    }

    /// Replaces the seed handed to the workloads ([`Run::seed`](super::Run::seed)).
    pub fn seed(mut self, seed: u64) -> Study {
        self.seed = seed;
        self
    }

    /// Also writes every collection of every run to `traces/<workload>-<setting>.csv`.
    pub fn traces(mut self, on: bool) -> Study {
        self.traces = on;
        self
    }

    /// Runs every setting in this process, one after the other, instead of in child processes:
    /// quicker to start, but the runs share the process, so peak resident memory (`VmHWM`)
    /// only ever grows.
    pub fn in_process(mut self) -> Study {
        self.in_process = true;
        self
    }

    /// If this process is a child run of a sweep, does that run, prints its result and exits;
    /// otherwise returns at once. [`run`](Study::run) calls it first; a program that does
    /// other work before `run` (which its children would repeat) calls it earlier.
    pub fn serve_child(&self) {
        let Ok(json) = std::env::var(CHILD_ENV) else {
            return;
        };
        let code = match self.serve(&json) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("study run: {e}");
                1
            }
        };
        // The heap may still hold the workload's objects: the process ends here rather than
        // tear them down.
        std::process::exit(code)
    }

    fn serve(&self, json: &str) -> Result<(), String> {
        let spec: RunSpec =
            serde_json::from_str(json).map_err(|e| format!("bad {CHILD_ENV}: {e}"))?;
        let result = measure::run_one(self.find(&spec.shape)?, &spec)?;
        let json = serde_json::to_string(&result).map_err(|e| e.to_string())?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{RESULT_PREFIX}{json}").map_err(|e| e.to_string())?;
        stdout.flush().map_err(|e| e.to_string())
    }

    fn find(&self, name: &str) -> Result<&dyn Workload, String> {
        self.workloads
            .iter()
            .find(|w| w.name() == name)
            .map(|w| &**w)
            .ok_or_else(|| format!("no workload named {name} in this study"))
    }

    /// Runs every workload under every setting and writes `results.json`, `results.csv`,
    /// `plots/*.svg`, `summary.md` and `runs.log` into `out` (created if missing). In a child
    /// run of a sweep, does that run and exits instead ([`serve_child`](Study::serve_child)).
    pub fn run(&self, out: impl AsRef<Path>) -> Result<Sweep, String> {
        self.serve_child();
        let out = out.as_ref();
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let started = Instant::now();
        let started_utc = report::utc_timestamp(SystemTime::now());
        let (results, failures) = self.sweep(out);
        let meta = Meta {
            mode: self.mode,
            started_utc,
            cores: cores(),
            cap_s: self.cap.as_secs_f64(),
            settings: self.grid.iter().map(Setting::label).collect(),
            seconds: started.elapsed().as_secs_f64(),
            workloads: self
                .workloads
                .iter()
                .map(|w| WorkloadInfo::of(&**w, self.mode))
                .collect(),
        };
        let markdown = report::write_study(out, &results, &failures, &meta)?;
        report::write_summary(out, &meta, &markdown)?;
        Ok(Sweep {
            results,
            failures,
            meta,
            markdown,
        })
    }

    fn sweep(&self, out: &Path) -> (Vec<RunResult>, Vec<Failure>) {
        let trace_dir = out.join("traces");
        if self.traces {
            if let Err(e) = std::fs::create_dir_all(&trace_dir) {
                eprintln!("{}: {e}; no traces", trace_dir.display());
            }
        }
        let total = (self.grid.len() * self.workloads.len()) as u64;
        let log = out.join("runs.log");
        let timeout = self.cap * 4 + Duration::from_secs(120);
        let pb = progress_bar(Some(total));
        let mut results = Vec::new();
        let mut failures = Vec::new();
        for workload in &self.workloads {
            let name = workload.name();
            for setting in &self.grid {
                pb.set_message(format!("{name} {}", setting.label()));
                let spec = RunSpec {
                    shape: name.to_owned(),
                    setting: *setting,
                    mode: self.mode,
                    cap_ms: self.cap.as_millis() as u64,
                    seed: self.seed,
                    trace: self.traces.then(|| {
                        let label = setting.label().replace(['/', ' ', '%'], "_");
                        trace_dir.join(format!("{name}-{label}.csv"))
                    }),
                };
                let outcome = if self.in_process {
                    measure::run_one(&**workload, &spec)
                } else {
                    run_child(&spec, &log, timeout)
                };
                match outcome {
                    Ok(r) => {
                        if pb.is_hidden() {
                            eprintln!(
                                "[{}/{total}] {name} {}: {} {}/s, p99 pause {}",
                                pb.position() + 1,
                                setting.label(),
                                report::fmt_count(r.throughput_ops_s),
                                workload.op_unit(),
                                report::fmt_ns(r.pause.p99 as f64)
                            );
                        }
                        results.push(r);
                    }
                    Err(error) => {
                        pb.println(format!("{name} {}: {error}", setting.label()));
                        failures.push(Failure {
                            shape: name.to_owned(),
                            setting: *setting,
                            error,
                        });
                    }
                }
                pb.inc(1);
            }
        }
        pb.finish_and_clear();
        (results, failures)
    }
}

impl Sweep {
    /// A short terminal summary: per workload, CPython's default setting and the Pareto
    /// frontier.
    pub fn terminal(&self) -> String {
        report::study_terminal(&self.results, &self.meta.workloads)
    }
}

/// A progress bar of `len` steps, or a spinner; hidden when standard error is not a terminal.
pub fn progress_bar(len: Option<u64>) -> ProgressBar {
    let pb = match len {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:32.cyan/blue} {pos}/{len} (eta {eta}) {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("a valid template"),
        ),
    };
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Runs `spec` in a child process of this program, its standard error appended to `log`.
fn run_child(spec: &RunSpec, log: &Path, timeout: Duration) -> Result<RunResult, String> {
    let exe: PathBuf =
        std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, json)
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
