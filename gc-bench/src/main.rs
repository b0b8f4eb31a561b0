//! `gc-bench`: gc-core's threshold study and its full-collection comparison with CPython.
//!
//! ```text
//! cargo run --release -p gc-bench                 # the comparison, then the study (a few minutes)
//! cargo run --release -p gc-bench -- --quick      # the same, under a minute on 2 cores
//! cargo run --release -p gc-bench -- --full       # bigger sizes and grid, for bigger machines
//! cargo run --release -p gc-bench -- cpython      # only the CPython comparison (C1–C4)
//! ```
//!
//! Results go to `--out DIR` (default `gc-bench-out/<UTC timestamp>`): `summary.md`,
//! `results.csv`/`results.json` (study), `cpython.csv`/`cpython.json`/`cpython.md`, `plots/*.svg`
//! and `runs.log` (the study runs' standard error).

mod cpython;
mod report;
mod study;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::study::shapes::Shape;
use crate::study::{Failure, Mode, RunResult, RunSpec};

#[derive(Parser, Debug)]
#[command(
    name = "gc-bench",
    version,
    about = "gc-core's threshold study (throughput, pauses, MMU, memory per collector setting) \
             and its full-collection comparison with CPython",
    after_help = "Without a subcommand, runs `study`."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// A small run: under a minute on a 2-core machine.
    #[arg(long, global = true, conflicts_with = "full")]
    quick: bool,
    /// A large run for bigger machines (10^7 objects in C1/C2, the full grid).
    #[arg(long, global = true)]
    full: bool,
    /// Shrinks everything to seconds (for tests).
    #[arg(long, global = true, hide = true)]
    smoke: bool,
    /// Output folder [default: gc-bench-out/<UTC timestamp>].
    #[arg(long, global = true, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The CPython interpreter to compare with.
    #[arg(long, global = true, default_value = "python3", value_name = "PATH")]
    python: String,
    /// Study only these shapes (comma-separated).
    #[arg(long, global = true, value_enum, value_delimiter = ',')]
    shapes: Vec<Shape>,
    /// Study without the CPython comparison first.
    #[arg(long, global = true)]
    no_cpython: bool,
    /// In the CPython comparison, gc-core's objects from the system allocator (mimalloc with
    /// `--features mimalloc`) instead of its pool.
    #[arg(long, global = true)]
    no_pool: bool,
    /// Also write every collection of every study run (start, end, pause, generation) to
    /// `traces/<shape>-<setting>.csv`.
    #[arg(long, global = true)]
    traces: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The CPython comparison (C1–C4), then the threshold study over shapes W3, W5, W6, W7 and
    /// "server" (the default).
    Study,
    /// Only the CPython comparison: one full collection of the same graph in gc-core (1 and 2
    /// workers) and in CPython.
    Cpython,
    /// Runs one study setting and prints its result (used by `study`, one process per run).
    #[command(hide = true)]
    RunOne {
        #[arg(long)]
        spec: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mode = if cli.smoke {
        Mode::Smoke
    } else if cli.quick {
        Mode::Quick
    } else if cli.full {
        Mode::Full
    } else {
        Mode::Default
    };
    let result = match &cli.command {
        Some(Cmd::RunOne { spec }) => run_one(spec),
        Some(Cmd::Cpython) => main_job(&cli, mode, false),
        Some(Cmd::Study) | None => main_job(&cli, mode, true),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gc-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The child side of the study: run one spec, print its result, exit without tearing down.
fn run_one(spec: &str) -> Result<(), String> {
    let spec: RunSpec = serde_json::from_str(spec).map_err(|e| format!("bad --spec: {e}"))?;
    let result = study::run_one(&spec)?;
    let json = serde_json::to_string(&result).map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}{json}", study::RESULT_PREFIX).map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    // The heap still holds the shape's objects; the process ends here rather than collect them.
    std::process::exit(0)
}

fn main_job(cli: &Cli, mode: Mode, with_study: bool) -> Result<(), String> {
    let started = Instant::now();
    let stamp = utc_timestamp(SystemTime::now());
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("gc-bench-out").join(stamp.replace(':', "-")));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "gc-bench: {} run on {} cores; results go to {}",
        mode.name(),
        study::cores(),
        out.display()
    );

    let comparison = if with_study && cli.no_cpython {
        None
    } else {
        let c = run_comparison(mode, &cli.python, !cli.no_pool, &out);
        report::write_cpython(&out, &c)?;
        println!("\nFull collections against CPython (C1–C4)\n");
        println!("{}", report::cpython_markdown(&c));
        Some(c)
    };

    let mut meta = report::Meta {
        mode,
        started_utc: stamp,
        cores: study::cores(),
        python: comparison.as_ref().and_then(|c| c.python.clone().ok()),
        sizes: mode.sizes(),
        cap_s: mode.cap().as_secs_f64(),
        settings_per_shape: mode.grid().len(),
        seconds: 0.0,
    };
    let study_md = if with_study {
        let shapes: Vec<Shape> = if cli.shapes.is_empty() {
            Shape::ALL.to_vec()
        } else {
            Shape::ALL
                .into_iter()
                .filter(|s| cli.shapes.contains(s))
                .collect()
        };
        let (results, failures) = sweep(mode, &shapes, &out, cli.traces);
        meta.seconds = started.elapsed().as_secs_f64();
        let md = report::write_study(&out, &results, &failures, &meta)?;
        let pareto = report::frontier_flags(&results);
        println!("\nThreshold study: CPython's default setting and the Pareto frontier (★) of each shape\n");
        println!("{}", report::study_terminal(&results, &pareto));
        if !failures.is_empty() {
            println!("{} run(s) without a result:", failures.len());
            for f in &failures {
                println!("  {} {}: {}", f.shape.name(), f.setting.label(), f.error);
            }
        }
        Some(md)
    } else {
        None
    };
    meta.seconds = started.elapsed().as_secs_f64();
    report::write_summary(&out, &meta, comparison.as_ref(), study_md.as_deref())?;
    println!(
        "Done in {:.0} s. Results: {}",
        meta.seconds,
        out.join("summary.md").display()
    );
    println!("{}", out.display());
    Ok(())
}

fn spinner(len: Option<u64>) -> ProgressBar {
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

fn run_comparison(mode: Mode, python: &str, pool: bool, out: &Path) -> cpython::Comparison {
    let pb = spinner(None);
    let c = cpython::compare(mode, python, pool, out, |msg| {
        pb.set_message(format!("CPython comparison: {msg}"));
        if pb.is_hidden() {
            eprintln!("CPython comparison: {msg}");
        }
    });
    pb.finish_and_clear();
    if let Err(e) = &c.python {
        println!("CPython is not measured: {e}");
    }
    c
}

/// Runs every shape under every setting of the grid, one child process each.
fn sweep(mode: Mode, shapes: &[Shape], out: &Path, traces: bool) -> (Vec<RunResult>, Vec<Failure>) {
    let grid = mode.grid();
    let trace_dir = out.join("traces");
    if traces {
        if let Err(e) = std::fs::create_dir_all(&trace_dir) {
            eprintln!("{}: {e}; no traces", trace_dir.display());
        }
    }
    let total = (grid.len() * shapes.len()) as u64;
    let log = out.join("runs.log");
    let timeout = mode.cap() * 4 + Duration::from_secs(120);
    let pb = spinner(Some(total));
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for &shape in shapes {
        for setting in &grid {
            pb.set_message(format!("{} {}", shape.name(), setting.label()));
            let spec = RunSpec {
                shape,
                setting: *setting,
                sizes: mode.sizes(),
                cap_ms: mode.cap().as_millis() as u64,
                seed: gc_bench::workloads::SEED,
                trace: traces.then(|| {
                    let name = setting.label().replace(['/', ' ', '%'], "_");
                    trace_dir.join(format!("{}-{name}.csv", shape.name()))
                }),
            };
            match study::run_child(&spec, &log, timeout) {
                Ok(r) => {
                    if pb.is_hidden() {
                        eprintln!(
                            "[{}/{total}] {} {}: {} {}/s, p99 pause {}",
                            pb.position() + 1,
                            shape.name(),
                            setting.label(),
                            report::fmt_count(r.throughput_ops_s),
                            shape.op_unit(),
                            report::fmt_ns(r.pause.p99 as f64)
                        );
                    }
                    results.push(r);
                }
                Err(error) => {
                    pb.println(format!("{} {}: {error}", shape.name(), setting.label()));
                    failures.push(Failure {
                        shape,
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

/// `2026-05-01T12:30:05Z` for `t`.
fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // a leap day
        assert_eq!(utc_timestamp(t), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn the_cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["gc-bench", "cpython", "--quick", "--out", "x"]).unwrap();
        assert!(matches!(cli.command, Some(Cmd::Cpython)) && cli.quick);
        let cli = Cli::try_parse_from(["gc-bench", "--shapes", "w3,server"]).unwrap();
        assert_eq!(cli.shapes, vec![Shape::W3, Shape::Server]);
        assert!(Cli::try_parse_from(["gc-bench", "--quick", "--full"]).is_err());
    }
}
