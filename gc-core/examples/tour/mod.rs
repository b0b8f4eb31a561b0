//! The tour: the experiments of the classic articles on Python's memory management, redone on
//! a gc-core heap, each printing what the Python version prints.
//!
//! Every step is a function writing to a [`Tour`]; the `tour_NN_*` examples run one step each,
//! `tour` runs them all in order, and `tests/tour.rs` checks their output.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod intern;
mod s01_names;
mod s02_small_values;
mod s03_refcounts;
mod s04_finalizers;
mod s05_cycles;
mod s06_gc_module;
mod s07_saveall;
mod s08_weakrefs;
mod s09_show_refs;
mod s10_leaks;

/// One experiment of the tour.
pub struct Step {
    /// What `run` selects it by.
    pub name: &'static str,
    /// The heading printed above its output.
    pub title: &'static str,
    run: fn(&mut Tour<'_>) -> io::Result<()>,
}

/// The steps, in order.
pub const STEPS: [Step; 10] = [
    Step {
        name: "names",
        title: "01 Variables are labels, not boxes",
        run: s01_names::run,
    },
    Step {
        name: "small_values",
        title: "02 Small values are shared",
        run: s02_small_values::run,
    },
    Step {
        name: "refcounts",
        title: "03 Reference counts through assignment, containers, calls and del",
        run: s03_refcounts::run,
    },
    Step {
        name: "finalizers",
        title: "04 A finalizer runs the moment the count hits zero",
        run: s04_finalizers::run,
    },
    Step {
        name: "cycles",
        title: "05 A cycle outlives reference counting; the collector finds it",
        run: s05_cycles::run,
    },
    Step {
        name: "gc_module",
        title: "06 The gc module: enabled, thresholds, counts, objects",
        run: s06_gc_module::run,
    },
    Step {
        name: "saveall",
        title: "07 DEBUG_SAVEALL and gc.garbage",
        run: s07_saveall::run,
    },
    Step {
        name: "weakrefs",
        title: "08 Weak references and their callbacks",
        run: s08_weakrefs::run,
    },
    Step {
        name: "show_refs",
        title: "09 A picture of the reference graph (objgraph.show_refs)",
        run: s09_show_refs::run,
    },
    Step {
        name: "leaks",
        title: "10 Hunting a leak: growth, back-reference chains, a leak report",
        run: s10_leaks::run,
    },
];

/// Runs the step named `only`, or every step in order, printing to `out`. Files (graphs) go
/// to `dir`, by default `gc-core-tour` in the system's temporary directory.
pub fn run(out: &mut dyn Write, only: Option<&str>, dir: Option<&Path>) -> io::Result<()> {
    let dir = dir.map_or_else(
        || std::env::temp_dir().join("gc-core-tour"),
        Path::to_path_buf,
    );
    let steps: Vec<&Step> = STEPS
        .iter()
        .filter(|s| only.is_none_or(|name| s.name == name))
        .collect();
    if steps.is_empty() {
        let names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no tour step {only:?}; the steps are {}", names.join(", ")),
        ));
    }
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "== {} ==", step.title)?;
        let mut tour = Tour {
            out: &mut *out,
            log: Log::default(),
            dir: dir.clone(),
        };
        (step.run)(&mut tour)?;
        tour.flush()?;
    }
    Ok(())
}

/// Lines written by finalizers, weak callbacks and gc callbacks, which cannot reach the
/// tour's writer: they are printed before the next line of the step, so the output reads in
/// the order things happened.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Records a line.
    pub fn say(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

/// Where a step prints.
pub struct Tour<'a> {
    out: &'a mut dyn Write,
    log: Log,
    dir: PathBuf,
}

impl Tour<'_> {
    /// Prints a line, after whatever the log holds.
    pub fn say(&mut self, line: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.flush()?;
        writeln!(self.out, "{line}")
    }

    /// Prints the log.
    pub fn flush(&mut self) -> io::Result<()> {
        let lines = std::mem::take(&mut *self.log.0.lock().unwrap());
        for line in lines {
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    /// The log, for objects and callbacks to write to.
    pub fn log(&self) -> Log {
        self.log.clone()
    }

    /// The directory for files the step writes (created on demand).
    pub fn dir(&self) -> io::Result<&Path> {
        std::fs::create_dir_all(&self.dir)?;
        Ok(&self.dir)
    }
}

/// `tour.say(format_args!(...))`.
macro_rules! say {
    ($tour:expr, $($arg:tt)*) => {
        $tour.say(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// Python's spelling of a boolean.
pub fn py(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// A Python tuple: `(700, 10, 10)`.
pub fn tuple(values: &[usize]) -> String {
    let items: Vec<String> = values.iter().map(usize::to_string).collect();
    format!("({})", items.join(", "))
}
