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
//!
//! The study is `gc_bench::study` run on the built-in shapes; each of its runs is this binary
//! started again with the same arguments (see `gc_bench::study::sweep`).

mod cpython;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use clap::{Parser, Subcommand};
use gc_bench::study::report::utc_timestamp;
use gc_bench::study::shapes::Shape;
use gc_bench::study::sweep::progress_bar;
use gc_bench::study::{cores, Mode, Study};

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
    /// The CPython comparison (C1–C4), then the threshold study over shapes W3, W5, W6, W7,
    /// "server" and "interp" (the default).
    Study,
    /// Only the CPython comparison: one full collection of the same graph in gc-core (1 and 2
    /// workers) and in CPython.
    Cpython,
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
    let study = study(&cli, mode);
    // A run of the sweep is this binary started again: it runs and exits here.
    study.serve_child();
    let result = match &cli.command {
        Some(Cmd::Cpython) => main_job(&cli, mode, None),
        Some(Cmd::Study) | None => main_job(&cli, mode, Some(&study)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gc-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The threshold study of the shapes `--shapes` names (all by default).
fn study(cli: &Cli, mode: Mode) -> Study {
    Shape::ALL
        .into_iter()
        .filter(|s| cli.shapes.is_empty() || cli.shapes.contains(s))
        .fold(Study::new(mode).traces(cli.traces), Study::workload)
}

fn main_job(cli: &Cli, mode: Mode, study: Option<&Study>) -> Result<(), String> {
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
        cores(),
        out.display()
    );

    let comparison = if study.is_some() && cli.no_cpython {
        None
    } else {
        let c = run_comparison(mode, &cli.python, !cli.no_pool, &out);
        report::write_cpython(&out, &c)?;
        println!("\nFull collections against CPython (C1–C4)\n");
        println!("{}", report::cpython_markdown(&c));
        Some(c)
    };

    let study_md = match study {
        Some(study) => {
            let sweep = study.run(&out)?;
            println!("\nThreshold study: CPython's default setting and the Pareto frontier (★) of each shape\n");
            println!("{}", sweep.terminal());
            if !sweep.failures.is_empty() {
                println!("{} run(s) without a result:", sweep.failures.len());
                for f in &sweep.failures {
                    println!("  {} {}: {}", f.shape, f.setting.label(), f.error);
                }
            }
            Some(sweep.markdown)
        }
        None => None,
    };
    let header = report::Header {
        started_utc: stamp,
        mode,
        cores: cores(),
        seconds: started.elapsed().as_secs_f64(),
        python: comparison.as_ref().and_then(|c| c.python.clone().ok()),
    };
    report::write_summary(&out, &header, comparison.as_ref(), study_md.as_deref())?;
    println!(
        "Done in {:.0} s. Results: {}",
        header.seconds,
        out.join("summary.md").display()
    );
    println!("{}", out.display());
    Ok(())
}

fn run_comparison(mode: Mode, python: &str, pool: bool, out: &Path) -> cpython::Comparison {
    let pb = progress_bar(None);
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

#[cfg(test)]
mod tests {
    use super::*;

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
